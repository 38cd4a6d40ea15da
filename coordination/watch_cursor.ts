/**
 * Where a watch stands: the first revision it has not delivered yet. A watch
 * that reconnects starts from there, so it neither skips nor repeats events.
 *
 * @module
 */

/** Tracks the next revision a watch must deliver. */
export class WatchCursor {
  #next: number | undefined;

  /** @param fromRevision the first revision wanted; omitted means "from creation on" */
  constructor(fromRevision?: number) {
    this.#next = fromRevision;
  }

  /** The first revision not delivered yet; `undefined` until the first creation. */
  get next(): number | undefined {
    return this.#next;
  }

  /**
   * Notes that the server created the watch at store revision `revision`. Only
   * the first creation of a watch without `fromRevision` fixes the start: a
   * re-created watch may still be catching up to `revision`.
   */
  created(revision: number): void {
    this.#next ??= revision + 1;
  }

  /** Keeps the events not delivered yet, in order, and moves past them. */
  admit<E>(events: readonly E[], revisionOf: (event: E) => number): E[] {
    const next = this.#next ?? 0;
    const fresh = events.filter((event) => revisionOf(event) >= next);
    const last = fresh.at(-1);
    if (last !== undefined) this.#next = revisionOf(last) + 1;
    return fresh;
  }

  /** Notes a progress report: every change through `revision` has been sent. */
  progressed(revision: number): void {
    if (this.#next !== undefined) this.#next = Math.max(this.#next, revision + 1);
  }
}
