import { assertEquals, assertThrows } from "@std/assert";
import {
  adaptiveKeepAlive,
  type AdaptiveKeepAliveOptions,
  fixedKeepAlive,
  type KeepAliveDecision,
  type KeepAlivePolicy,
  keepAlivePolicy,
} from "./keep_alive.ts";

/** A policy on a hand-driven clock. */
function adaptive(options: Partial<AdaptiveKeepAliveOptions> = {}) {
  let t = 0;
  const policy = adaptiveKeepAlive({
    fallbackMs: 600,
    minMs: 60,
    maxMs: 2_400,
    minSamples: 3,
    buckets: 240,
    now: () => t,
    ...options,
  });
  /** Runs activations of `action` `runMs` long, `gapMs` apart (end to start). */
  const replay = (action: string, gapsMs: readonly number[], runMs = 5) => {
    policy.started(action);
    t += runMs;
    policy.finished(action);
    for (const gap of gapsMs) {
      t += gap;
      policy.started(action);
      t += runMs;
      policy.finished(action);
    }
  };
  return { policy, replay, advance: (ms: number) => (t += ms) };
}

Deno.test("fixedKeepAlive() keeps every action the same time", () => {
  const policy = fixedKeepAlive(10_000);
  policy.started("a");
  policy.finished("a");
  assertEquals(policy.keepAliveMs("a"), 10_000);
  assertEquals(policy.decide("b"), { kind: "fixed", keepAliveMs: 10_000, samples: 0 });
});

Deno.test("adaptiveKeepAlive() decides from the action's idle gaps", () => {
  const cases: { name: string; gaps: number[]; want: KeepAliveDecision }[] = [
    { name: "unknown action", gaps: [], want: { kind: "fixed", keepAliveMs: 600, samples: 0 } },
    {
      name: "too few gaps",
      gaps: [100, 100],
      want: { kind: "fixed", keepAliveMs: 600, samples: 2 },
    },
    {
      // 10 ms buckets: 95 ends in the bucket up to 100, plus 10 %.
      name: "regular gaps",
      gaps: [95, 95, 95, 95],
      want: { kind: "learned", keepAliveMs: 110, samples: 4, percentileGapMs: 100 },
    },
    {
      name: "the tail sets it",
      gaps: [15, 15, 15, 15, 1_495],
      want: { kind: "learned", keepAliveMs: 1_650, samples: 5, percentileGapMs: 1_500 },
    },
    {
      name: "short gaps get the minimum",
      gaps: [1, 2, 3, 4],
      want: { kind: "learned", keepAliveMs: 60, samples: 4, percentileGapMs: 10 },
    },
    {
      name: "the margin is capped at the maximum",
      gaps: [2_350, 2_350, 2_350],
      want: { kind: "learned", keepAliveMs: 2_400, samples: 3, percentileGapMs: 2_360 },
    },
    {
      name: "gaps mostly beyond the maximum: rare",
      gaps: [5_000, 9_000, 100, 7_000],
      want: { kind: "rare", keepAliveMs: 60, samples: 4 },
    },
    {
      name: "a few gaps beyond the maximum do not make it rare",
      gaps: [195, 195, 195, 9_000],
      want: { kind: "learned", keepAliveMs: 220, samples: 4, percentileGapMs: 200 },
    },
  ];
  for (const { name, gaps, want } of cases) {
    const { policy, replay } = adaptive();
    if (gaps.length > 0) replay("a", gaps);
    assertEquals(policy.decide("a"), want, name);
    assertEquals(policy.keepAliveMs("a"), want.keepAliveMs, name);
  }
});

Deno.test("adaptiveKeepAlive() counts a gap only while none of the action's activations runs", () => {
  const { policy, advance } = adaptive({ minSamples: 1 });
  policy.started("a");
  advance(50);
  policy.started("a"); // concurrent: not a gap
  advance(10);
  policy.finished("a");
  advance(500); // one still runs: not idle
  policy.finished("a");
  assertEquals(policy.decide("a").samples, 0);
  advance(295);
  policy.started("a");
  assertEquals(policy.decide("a"), {
    kind: "learned",
    keepAliveMs: 330,
    samples: 1,
    percentileGapMs: 300,
  });
});

Deno.test("adaptiveKeepAlive() keeps actions apart and forgets the least recently used", () => {
  const { policy, replay } = adaptive({ maxActions: 2 });
  replay("a", [95, 95, 95]);
  replay("b", [495, 495, 495]);
  assertEquals(policy.keepAliveMs("a"), 110);
  assertEquals(policy.keepAliveMs("b"), 550);
  replay("c", [95, 95, 95]);
  assertEquals(policy.decide("a").kind, "fixed", "a should be forgotten");
  assertEquals(policy.keepAliveMs("b"), 550);
  // An end without a start (forgotten while running) is ignored.
  policy.finished("zzz");
});

Deno.test("adaptiveKeepAlive() refuses bounds that cannot hold", () => {
  const now = () => 0;
  assertThrows(() => adaptiveKeepAlive({ fallbackMs: 1, minMs: 10, maxMs: 5, now }), RangeError);
  assertThrows(() => adaptiveKeepAlive({ fallbackMs: 1, minMs: 0, maxMs: 5, now }), RangeError);
});

Deno.test("keepAlivePolicy() builds the configured policy", () => {
  const settings = { minMs: 60, maxMs: 2_400, minSamples: 1, marginPercent: 0 };
  let t = 0;
  const run = (policy: KeepAlivePolicy) => {
    policy.started("a");
    policy.finished("a");
    t += 995;
    policy.started("a");
    policy.finished("a");
    return policy.keepAliveMs("a");
  };
  assertEquals(run(keepAlivePolicy({ ...settings, policy: "fixed" }, 500, () => t)), 500);
  assertEquals(run(keepAlivePolicy({ ...settings, policy: "adaptive" }, 500, () => t)), 1_000);
});
