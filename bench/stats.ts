/**
 * Latency statistics and report writing for the benchmarks.
 *
 * @module
 */

/** Summary of a latency sample, in ms. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** Summarizes samples in ms. */
export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50Ms: round(at(0.5)),
    p90Ms: round(at(0.9)),
    p99Ms: round(at(0.99)),
    maxMs: round(sorted.at(-1) ?? NaN),
    meanMs: round(sum / sorted.length),
  };
}

/** Rounds to microseconds. */
export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Times `n` sequential calls of `fn`, after `warmup` untimed ones. */
export async function timeSequential(
  n: number,
  warmup: number,
  fn: () => Promise<unknown>,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return samples;
}

/** Runs `total` calls with `window` in flight; returns calls per second. */
export async function throughput(
  total: number,
  window: number,
  fn: () => Promise<unknown>,
): Promise<number> {
  let issued = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: window }, async () => {
    while (issued < total) {
      issued++;
      await fn();
    }
  }));
  return Math.round(total / ((performance.now() - started) / 1000));
}

/** Prints a progress line to stderr. */
export function progress(message: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`[bench] ${message}\n`));
}
