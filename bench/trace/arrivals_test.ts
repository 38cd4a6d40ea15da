import { assert, assertEquals } from "@std/assert";
import { traceArrivals } from "./arrivals.ts";
import { generateTrace, summarizeTrace } from "./azure_trace.ts";
import { seededRandom } from "./random.ts";

Deno.test("traceArrivals() places every invocation in its minute, in time order, reproducibly", () => {
  const trace = generateTrace({ seed: 11, functions: 30, minutes: 20 });
  const arrivals = traceArrivals(trace, seededRandom(1));
  assertEquals(arrivals, traceArrivals(trace, seededRandom(1)));
  assertEquals(arrivals.length, summarizeTrace(trace).invocations);
  assert(arrivals.every((a, i) => i === 0 || a.atMs >= arrivals[i - 1]!.atMs));
  for (let fn = 0; fn < trace.functions.length; fn++) {
    const f = trace.functions[fn]!;
    const perMinute = new Array(trace.minutes).fill(0);
    for (const a of arrivals.filter((a) => a.fn === fn)) {
      perMinute[Math.floor(a.atMs / 60_000)]++;
      const p = f.durations.percentilesMs;
      assert(a.durationMs >= p[0]! - 1 && a.durationMs <= p[p.length - 1]! + 1);
      if (f.trigger === "timer") assert(a.atMs % 60_000 <= 1_000, "timers fire on the minute");
    }
    assertEquals(perMinute, [...f.invocationsPerMinute]);
  }
});
