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
    let total = 0;
    for (const c of this.#containers.values()) {
      const since = c.idleSinceMs;
      if (since !== undefined && nowMs - since >= minIdleMs) total += c.spec.reservation.memoryMb;
    }
    return total;
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
    const idle = this.list()
      .filter((c) =>
        c.idleSinceMs !== undefined && nowMs - c.idleSinceMs >= minIdleMs && actionOf(c) !== keep
      )
      .sort((a, b) => a.idleSinceMs! - b.idleSinceMs!);
    const chosen: ActionContainer[] = [];
    let freedMb = 0;
    for (const container of idle) {
      if (freedMb >= neededMb) break;
      chosen.push(container);
      freedMb += container.spec.reservation.memoryMb;
    }
    return freedMb >= neededMb ? chosen : [];
  }

  /** Stops every container gracefully and waits until all are removed. */
  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((c) => c.stop()));
  }
}

function actionOf(container: ActionContainer): string {
  const { invocationNamespace, fqn } = container.spec;
  return `${invocationNamespace}/${fqn.path}/${fqn.name}`;
}
