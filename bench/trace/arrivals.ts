/**
 * A trace turned into invocation times: the dataset only counts invocations
 * per minute, so each lands at a seeded uniform time within its minute, except
 * timer fires, which land at the start of the minute as a cron schedule would.
 * Every invocation also gets a run time drawn from its function's percentiles.
 *
 * @module
 */
import { sampleDurationMs, type Trace } from "./azure_trace.ts";
import type { Random } from "./random.ts";

/** One invocation to replay. */
export interface Arrival {
  /** Trace time, ms from the trace's start. */
  readonly atMs: number;
  /** Index of the function in the trace. */
  readonly fn: number;
  /** How long this invocation runs, trace ms. */
  readonly durationMs: number;
}

// Timers of one schedule do not all fire in the same millisecond.
const TIMER_JITTER_MS = 1_000;

/** The trace's invocations in time order. */
export function traceArrivals(trace: Trace, random: Random): Arrival[] {
  const arrivals: Arrival[] = [];
  trace.functions.forEach((f, fn) => {
    f.invocationsPerMinute.forEach((count, minute) => {
      for (let i = 0; i < count; i++) {
        const within = f.trigger === "timer"
          ? random.next() * TIMER_JITTER_MS
          : random.next() * 60_000;
        arrivals.push({
          atMs: Math.round(minute * 60_000 + within),
          fn,
          durationMs: Math.round(sampleDurationMs(f.durations, random)),
        });
      }
    });
  });
  return arrivals.sort((a, b) => a.atMs - b.atMs || a.fn - b.fn);
}
