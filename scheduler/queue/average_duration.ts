/**
 * The mean of the last N activation durations a queue's containers reported.
 *
 * @module
 */

/** A ring buffer of durations in ms with a running sum. */
export class AverageDuration {
  readonly #values: number[];
  #next = 0;
  #count = 0;
  #sum = 0;

  /** @param size how many recent durations count @default {10} */
  constructor(size = 10) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Cannot keep ${size} durations: size must be a positive integer`);
    }
    this.#values = new Array(size).fill(0);
  }

  add(durationMs: number): void {
    const size = this.#values.length;
    if (this.#count === size) this.#sum -= this.#values[this.#next] ?? 0;
    else this.#count++;
    this.#values[this.#next] = durationMs;
    this.#sum += durationMs;
    this.#next = (this.#next + 1) % size;
  }

  /** The mean in ms, or `undefined` before the first duration. */
  get valueMs(): number | undefined {
    return this.#count === 0 ? undefined : this.#sum / this.#count;
  }
}
