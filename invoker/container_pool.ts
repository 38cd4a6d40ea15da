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

  /** Stops every container gracefully and waits until all are removed. */
  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((c) => c.stop()));
  }
}
