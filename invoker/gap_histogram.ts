/**
 * A small fixed-size histogram of idle gaps (ms) with equal-width buckets up
 * to a range; longer gaps are only counted. Counts halve once they pass a cap,
 * so old behaviour fades and a changed invocation pattern shows within a few
 * hundred samples.
 *
 * @module
 */

/** Options for {@linkcode GapHistogram}. */
export interface GapHistogramOptions {
  /** Gaps at or above this only count as out of range. */
  readonly rangeMs: number;
  /** Equal-width buckets covering `[0, rangeMs)`. @default {240} */
  readonly buckets?: number;
  /** When the weight of all samples passes this, every count halves. @default {1_000} */
  readonly maxWeight?: number;
}

/** A bounded histogram of gaps. */
export class GapHistogram {
  readonly #width: number;
  readonly #counts: Float64Array;
  readonly #maxWeight: number;
  #inRange = 0;
  #outOfRange = 0;
  #samples = 0;

  constructor(options: GapHistogramOptions) {
    const { rangeMs, buckets = 240, maxWeight = 1_000 } = options;
    if (!(rangeMs > 0) || !Number.isInteger(buckets) || buckets < 1) {
      throw new RangeError(`Invalid histogram: range ${rangeMs} ms, ${buckets} buckets`);
    }
    this.#width = rangeMs / buckets;
    this.#counts = new Float64Array(buckets);
    this.#maxWeight = maxWeight;
  }

  /** Gaps recorded so far (not decayed): whether the histogram has seen enough. */
  get samples(): number {
    return this.#samples;
  }

  /** The share of (decayed) weight that lies beyond the range, 0 when empty. */
  get outOfRangeShare(): number {
    const total = this.#inRange + this.#outOfRange;
    return total === 0 ? 0 : this.#outOfRange / total;
  }

  /** Counts one gap; negative gaps count as 0. */
  record(gapMs: number): void {
    this.#samples++;
    const index = Math.floor(Math.max(0, gapMs) / this.#width);
    if (index >= this.#counts.length) this.#outOfRange++;
    else {
      this.#counts[index]! += 1;
      this.#inRange++;
    }
    if (this.#inRange + this.#outOfRange > this.#maxWeight) this.#halve();
  }

  /**
   * The upper edge of the bucket holding quantile `q` of the in-range gaps, so
   * a keep-alive of this length covers that share of them; undefined when no
   * gap is in range.
   */
  quantileMs(q: number): number | undefined {
    if (this.#inRange === 0) return undefined;
    const target = Math.min(1, Math.max(0, q)) * this.#inRange;
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= target && this.#counts[i]! > 0) return (i + 1) * this.#width;
    }
    return this.#counts.length * this.#width;
  }

  #halve(): void {
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]! *= 0.5;
    this.#inRange *= 0.5;
    this.#outOfRange *= 0.5;
  }
}
