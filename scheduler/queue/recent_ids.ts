/**
 * A bounded set of recently seen activation ids, to drop redelivered duplicates.
 *
 * @module
 */

/** Remembers the last `capacity` ids; the oldest are forgotten first. */
export class RecentIds {
  readonly #capacity: number;
  readonly #ids = new Set<string>();

  /** @param capacity how many ids to remember @default {100_000} */
  constructor(capacity = 100_000) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Cannot remember ${capacity} ids: capacity must be a positive integer`);
    }
    this.#capacity = capacity;
  }

  /** Records `id`; returns false if it was already there. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) {
      // Sets iterate in insertion order, so the first one is the oldest.
      this.#ids.delete(this.#ids.values().next().value as string);
    }
    return true;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Forgets `id`, e.g. for an activation handed to another scheduler. */
  delete(id: string): void {
    this.#ids.delete(id);
  }
}
