/**
 * How long an idle container is kept before it is removed, per action.
 *
 * - {@linkcode fixedKeepAlive}: the same time for every action (`CONTAINER_IDLE_MS`).
 * - {@linkcode adaptiveKeepAlive}: learns each action's idle gaps — the time
 *   from the moment none of its activations runs until the next one starts —
 *   in a bounded histogram, and keeps its containers for about the 99th
 *   percentile gap plus a margin, within a minimum and a maximum. Until an
 *   action has enough gaps it gets the fixed time. Most actions are either
 *   invoked often (short gaps: the fixed time wastes memory) or rarely (gaps
 *   longer than any keep-alive: keeping them only wastes memory), so per-action
 *   times cut idle container time without adding cold starts.
 *
 * Time is injected, so the policies are pure and testable.
 *
 * @module
 */
import { GapHistogram } from "./gap_histogram.ts";

/** Why an action's containers are kept as long as they are. */
export type KeepAliveDecision =
  /** Not enough gaps seen yet: the fixed time. */
  | { readonly kind: "fixed"; readonly keepAliveMs: number; readonly samples: number }
  /** Most gaps are longer than the maximum: keeping would not spare a cold start. */
  | { readonly kind: "rare"; readonly keepAliveMs: number; readonly samples: number }
  /** The percentile gap, with the margin, clamped to the bounds. */
  | {
    readonly kind: "learned";
    readonly keepAliveMs: number;
    readonly samples: number;
    readonly percentileGapMs: number;
  };

/** Decides how long idle containers live; told when each action's activations start and end. */
export interface KeepAlivePolicy {
  /** An activation of `action` starts running in one of its containers. */
  started(action: string): void;
  /** That activation ended; its container is idle. */
  finished(action: string): void;
  /** How long an idle container of `action` is kept after its last activation ended. */
  keepAliveMs(action: string): number;
  /** The same, with the reason. */
  decide(action: string): KeepAliveDecision;
}

/** Every action's containers are kept `ms` after their last activation. */
export function fixedKeepAlive(ms: number): KeepAlivePolicy {
  const decision: KeepAliveDecision = Object.freeze({ kind: "fixed", keepAliveMs: ms, samples: 0 });
  return {
    started() {},
    finished() {},
    keepAliveMs: () => ms,
    decide: () => decision,
  };
}

/** Options for {@linkcode adaptiveKeepAlive}. */
export interface AdaptiveKeepAliveOptions {
  /** The keep-alive of actions with too few gaps recorded. */
  readonly fallbackMs: number;
  /** Lower bound of a learned keep-alive. */
  readonly minMs: number;
  /** Upper bound of a learned keep-alive, and the histogram's range. */
  readonly maxMs: number;
  /** Gaps an action needs before its own keep-alive applies. @default {10} */
  readonly minSamples?: number;
  /** Added to the percentile gap, in percent of it. @default {10} */
  readonly marginPercent?: number;
  /** The share of gaps a keep-alive should cover. @default {0.99} */
  readonly percentile?: number;
  /** Histogram buckets per action. @default {240} */
  readonly buckets?: number;
  /** Actions remembered; the least recently used is forgotten beyond this. @default {10_000} */
  readonly maxActions?: number;
  /** The clock, in ms. */
  readonly now: () => number;
}

interface ActionGaps {
  readonly histogram: GapHistogram;
  /** Activations running now. */
  running: number;
  /** When the last running activation ended; undefined before the first. */
  idleSince: number | undefined;
}

// Most gaps beyond the range: the action is rare, not merely irregular.
const RARE_SHARE = 0.5;

/** A per-action keep-alive learned from the action's idle gaps (see the module doc). */
export function adaptiveKeepAlive(options: AdaptiveKeepAliveOptions): KeepAlivePolicy {
  const {
    fallbackMs,
    minMs,
    maxMs,
    minSamples = 10,
    marginPercent = 10,
    percentile = 0.99,
    buckets = 240,
    maxActions = 10_000,
    now,
  } = options;
  if (!(0 < minMs && minMs <= maxMs)) {
    throw new RangeError(`Keep-alive bounds must satisfy 0 < min <= max: ${minMs}, ${maxMs}`);
  }
  const actions = new Map<string, ActionGaps>();

  // Map order is insertion order: re-inserting on use keeps the oldest first.
  const touch = (action: string): ActionGaps => {
    let gaps = actions.get(action);
    if (gaps) actions.delete(action);
    else {gaps = {
        histogram: new GapHistogram({ rangeMs: maxMs, buckets }),
        running: 0,
        idleSince: undefined,
      };}
    actions.set(action, gaps);
    if (actions.size > maxActions) {
      const oldest = actions.keys().next().value;
      if (oldest !== undefined) actions.delete(oldest);
    }
    return gaps;
  };

  const decide = (action: string): KeepAliveDecision => {
    const gaps = actions.get(action);
    const samples = gaps?.histogram.samples ?? 0;
    if (!gaps || samples < minSamples) return { kind: "fixed", keepAliveMs: fallbackMs, samples };
    const gapMs = gaps.histogram.quantileMs(percentile);
    if (gapMs === undefined || gaps.histogram.outOfRangeShare > RARE_SHARE) {
      return { kind: "rare", keepAliveMs: minMs, samples };
    }
    const keepAliveMs = Math.round(
      Math.min(maxMs, Math.max(minMs, gapMs * (1 + marginPercent / 100))),
    );
    return { kind: "learned", keepAliveMs, samples, percentileGapMs: gapMs };
  };

  return {
    started(action) {
      const gaps = touch(action);
      if (gaps.running === 0 && gaps.idleSince !== undefined) {
        gaps.histogram.record(now() - gaps.idleSince);
      }
      gaps.running++;
    },
    finished(action) {
      const gaps = actions.get(action);
      // Forgotten while running: the next gap is unknown, so none is recorded.
      if (!gaps) return;
      gaps.running = Math.max(0, gaps.running - 1);
      if (gaps.running === 0) gaps.idleSince = now();
    },
    keepAliveMs: (action) => decide(action).keepAliveMs,
    decide,
  };
}

/** The keep-alive part of the invoker configuration. */
export interface KeepAliveSettings {
  /** `fixed`: `CONTAINER_IDLE_MS` for every action; `adaptive`: learned per action. */
  readonly policy: "fixed" | "adaptive";
  /** Bounds of a learned keep-alive; the maximum is also the longest gap recorded. */
  readonly minMs: number;
  readonly maxMs: number;
  /** Gaps an action needs before its own keep-alive applies. */
  readonly minSamples: number;
  /** Added to the percentile gap, in percent of it. */
  readonly marginPercent: number;
}

/** The policy `settings` name; `fixedMs` is the fixed time and the adaptive fallback. */
export function keepAlivePolicy(
  settings: KeepAliveSettings,
  fixedMs: number,
  now: () => number = Date.now,
): KeepAlivePolicy {
  switch (settings.policy) {
    case "fixed":
      return fixedKeepAlive(fixedMs);
    case "adaptive":
      return adaptiveKeepAlive({ ...settings, fallbackMs: fixedMs, now });
    default:
      return settings.policy satisfies never;
  }
}
