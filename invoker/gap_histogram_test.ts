import { assertEquals, assertThrows } from "@std/assert";
import { GapHistogram } from "./gap_histogram.ts";

Deno.test("GapHistogram.quantileMs() answers the upper edge of the quantile's bucket", () => {
  const cases: { gaps: number[]; q: number; want: number | undefined }[] = [
    { gaps: [], q: 0.99, want: undefined },
    { gaps: [0], q: 0.99, want: 10 },
    { gaps: [5, 15, 25, 35], q: 0.5, want: 20 },
    { gaps: [5, 15, 25, 35], q: 0.99, want: 40 },
    { gaps: [5, 15, 25, 35], q: 0, want: 10 },
    // Out-of-range gaps do not move the in-range quantile.
    { gaps: [5, 5, 5, 1_000, 5_000], q: 0.99, want: 10 },
    { gaps: [1_000], q: 0.99, want: undefined },
    { gaps: [-3], q: 0.5, want: 10 },
    { gaps: [99.9], q: 0.5, want: 100 },
  ];
  for (const { gaps, q, want } of cases) {
    const histogram = new GapHistogram({ rangeMs: 100, buckets: 10 });
    for (const gap of gaps) histogram.record(gap);
    assertEquals(histogram.quantileMs(q), want, `gaps ${gaps} q ${q}`);
    assertEquals(histogram.samples, gaps.length);
  }
});

Deno.test("GapHistogram reports the share of gaps beyond its range", () => {
  const histogram = new GapHistogram({ rangeMs: 100, buckets: 10 });
  assertEquals(histogram.outOfRangeShare, 0);
  for (const gap of [10, 200, 300, 100]) histogram.record(gap);
  assertEquals(histogram.outOfRangeShare, 0.75);
});

Deno.test("GapHistogram halves its counts past the cap, so new gaps take over", () => {
  const histogram = new GapHistogram({ rangeMs: 100, buckets: 10, maxWeight: 10 });
  for (let i = 0; i < 10; i++) histogram.record(95);
  assertEquals(histogram.quantileMs(0.99), 100);
  for (let i = 0; i < 40; i++) histogram.record(5);
  assertEquals(histogram.samples, 50);
  // The old gaps' weight has halved twice or more: under 1 % of it remains.
  assertEquals(histogram.quantileMs(0.9), 10);
  assertEquals(histogram.outOfRangeShare, 0);
});

Deno.test("GapHistogram refuses an empty range or no buckets", () => {
  assertThrows(() => new GapHistogram({ rangeMs: 0 }), RangeError);
  assertThrows(() => new GapHistogram({ rangeMs: 10, buckets: 0 }), RangeError);
});
