/**
 * The recent change log of the in-memory store, so watches can start from a
 * past revision the way etcd's do.
 *
 * @module
 */
import type { WatchEvent } from "./store.ts";

/** The revision a watch event happened at. */
export function eventRevision(event: WatchEvent): number {
  return event.type === "put" ? event.kv.modRevision : event.revision;
}

/** The key a watch event is about. */
export function eventKey(event: WatchEvent): string {
  return event.type === "put" ? event.kv.key : event.key;
}

/**
 * The last `limit` events, oldest first. Older ones are dropped ("compacted"),
 * and replaying from a dropped revision is refused rather than silently
 * skipping changes.
 */
export class EventHistory {
  #events: WatchEvent[] = [];
  #limit: number;
  /** Every event after this revision is still held. */
  #compactedThrough = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`History limit must be a positive integer, got "${limit}"`);
    }
    this.#limit = limit;
  }

  /** Records events, dropping the oldest beyond the limit. */
  append(events: readonly WatchEvent[]): void {
    this.#events.push(...events);
    const excess = this.#events.length - this.#limit;
    if (excess <= 0) return;
    const dropped = this.#events.splice(0, excess);
    this.#compactedThrough = eventRevision(dropped[dropped.length - 1]!);
  }

  /**
   * Events under `prefix` at `fromRevision` or later.
   *
   * @throws {RangeError} when events at `fromRevision` were already dropped
   */
  since(fromRevision: number, prefix: string): WatchEvent[] {
    if (fromRevision <= this.#compactedThrough) {
      throw new RangeError(
        `Revision "${fromRevision}" was compacted; the oldest revision still held is "${
          this.#compactedThrough + 1
        }"`,
      );
    }
    return this.#events.filter((event) =>
      eventRevision(event) >= fromRevision && eventKey(event).startsWith(prefix)
    );
  }
}
