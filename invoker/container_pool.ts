/**
 * The containers an invoker runs, by id. A container leaves the pool on its
 * own once it is removed.
 *
 * @module
 */
import { compareRevisions, type Revision } from "@faas/proto";
import type { ActionContainer } from "./action_container.ts";

/** The live containers of one invoker. */
export class ContainerPool {
  readonly #containers = new Map<string, ActionContainer>();

  /** How many containers are live. */
  get size(): number {
    return this.#containers.size;
  }

  /** Adds a started container; it is dropped when it is removed. */
  add(container: ActionContainer): void {
    this.#containers.set(container.id, container);
    void container.removed.finally(() => this.#containers.delete(container.id));
  }

  /** The live containers. */
  list(): ActionContainer[] {
    return [...this.#containers.values()];
  }

  /** Containers of an action (path/name) in a namespace whose revision is at most `revision`. */
  outdated(invocationNamespace: string, fqn: string, revision: Revision): ActionContainer[] {
    return this.list().filter((c) =>
      c.spec.invocationNamespace === invocationNamespace &&
      `${c.spec.fqn.path}/${c.spec.fqn.name}` === fqn &&
      compareRevisions(c.spec.revision, revision) <= 0
    );
  }

  /**
   * Memory of the containers idle for at least `minIdleMs` at `nowMs`: what
   * new containers may take from them. The threshold keeps a container busy
   * back to back from flickering in and out of it.
   */
  reclaimableMb(nowMs: number, minIdleMs: number): number {
    return this.#idleFor(nowMs, minIdleMs).reduce((mb, c) => mb + c.spec.reservation.memoryMb, 0);
  }

  /**
   * Containers idle for at least `minIdleMs` to stop so that `neededMb` more
   * memory is free, longest idle first, leaving alone the action `keep`
   * (`namespace/path/name`): its scheduler asked for another container, so
   * its idle ones are about to be used. A container between two activations
   * of a busy action is idle for milliseconds only; taking it would make
   * busy actions evict each other's containers in turn. Empty when the idle
   * containers cannot free enough.
   */
  evictable(neededMb: number, keep: string, nowMs: number, minIdleMs: number): ActionContainer[] {
    const idle = this.#idleFor(nowMs, minIdleMs).filter((c) => c.action !== keep);
    const chosen: ActionContainer[] = [];
    let freedMb = 0;
    for (const container of idle) {
      if (freedMb >= neededMb) break;
      chosen.push(container);
      freedMb += container.spec.reservation.memoryMb;
    }
    return freedMb >= neededMb ? chosen : [];
  }

  /**
   * Containers to give up so that `action`, which has none here, gets
   * `neededMb`: one at a time from the action with the most running
   * containers, as long as it keeps at least one; its idle containers first.
   * Empty when that cannot free enough. One busy action must not hold all
   * the memory while another waits for its first container.
   */
  fairShare(neededMb: number, action: string): ActionContainer[] {
    const running = this.list().filter((c) => c.state === "running");
    if (running.some((c) => c.action === action)) return [];
    const byAction = Map.groupBy(running, (c) => c.action);
    const chosen: ActionContainer[] = [];
    let freedMb = 0;
    while (freedMb < neededMb) {
      const largest = [...byAction.values()].sort((a, b) => b.length - a.length)[0];
      if (!largest || largest.length < 2) return [];
      // Idle first (longest idle first), then busy ones.
      largest.sort((a, b) => (a.idleSinceMs ?? Infinity) - (b.idleSinceMs ?? Infinity));
      const victim = largest.shift()!;
      chosen.push(victim);
      freedMb += victim.spec.reservation.memoryMb;
    }
    return chosen;
  }

  /** Running containers idle for at least `minIdleMs` at `nowMs`, longest idle first. */
  #idleFor(nowMs: number, minIdleMs: number): ActionContainer[] {
    return this.list()
      .filter((c) => c.idleSinceMs !== undefined && nowMs - c.idleSinceMs >= minIdleMs)
      .sort((a, b) => a.idleSinceMs! - b.idleSinceMs!);
  }

  /** Stops every container gracefully and waits until all are removed. */
  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((c) => c.stop()));
  }
}
