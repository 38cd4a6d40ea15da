import { assert, assertEquals, assertGreater, assertNotEquals, assertThrows } from "@std/assert";
import {
  generateTrace,
  parseDurationsCsv,
  parseInvocationsCsv,
  sampleDurationMs,
  summarizeTrace,
  TraceFormatError,
  traceFromCsv,
} from "./azure_trace.ts";
import { seededRandom } from "./random.ts";

Deno.test("generateTrace() gives the same trace for the same seed and another for another", () => {
  const options = { seed: 7, functions: 40, minutes: 30 };
  assertEquals(generateTrace(options), generateTrace(options));
  assertNotEquals(generateTrace(options), generateTrace({ ...options, seed: 8 }));
});

Deno.test("generateTrace() has the dataset's shape", () => {
  const trace = generateTrace({ seed: 1, functions: 1_000, minutes: 1_440 });
  const s = summarizeTrace(trace);
  const share = (n: number) => n / s.functions;
  // About 45 % at most hourly, about 80 % at most once a minute, a few functions dominate.
  assert(share(s.atMostHourly) > 0.35 && share(s.atMostHourly) < 0.55, `${s.atMostHourly}`);
  assert(share(s.atMostPerMinute) > 0.7 && share(s.atMostPerMinute) < 0.9, `${s.atMostPerMinute}`);
  assertGreater(s.topTenthShare, 0.85);
  assert(share(s.byTrigger.http ?? 0) > 0.45 && share(s.byTrigger.http ?? 0) < 0.65);
  for (const f of trace.functions) {
    assertEquals(f.hashFunction.length, 64);
    assertEquals(f.invocationsPerMinute.length, 1_440);
    const p = f.durations.percentilesMs;
    assert(p.every((v, i) => i === 0 || v >= p[i - 1]!), `percentiles ${p}`);
    assertEquals(f.durations.count, f.invocationsPerMinute.reduce((a, b) => a + b, 0));
  }
  // Average run times: median under about a second, a long tail.
  const averages = trace.functions.map((f) => f.durations.averageMs).sort((a, b) => a - b);
  const median = averages[averages.length / 2]!;
  assert(median > 300 && median < 1_500, `median ${median} ms`);
  assertGreater(averages[Math.floor(averages.length * 0.95)]!, 20_000);
});

Deno.test("generateTrace() fires timers on a fixed period", () => {
  const trace = generateTrace({ seed: 3, functions: 300, minutes: 240 });
  const timers = trace.functions.filter((f) => f.trigger === "timer");
  assertGreater(timers.length, 20);
  for (const timer of timers) {
    const fired = timer.invocationsPerMinute.flatMap((n, m) => (n > 0 ? [m] : []));
    const gaps = new Set(fired.slice(1).map((m, i) => m - fired[i]!));
    assert(gaps.size <= 1, `timer gaps ${[...gaps]}`);
  }
});

Deno.test("sampleDurationMs() stays within the percentiles and follows them", () => {
  const durations = {
    averageMs: 1_200,
    count: 100,
    minimumMs: 10,
    maximumMs: 9_000,
    percentilesMs: [10, 20, 500, 1_000, 1_500, 6_000, 9_000],
  };
  const random = seededRandom(5);
  const samples = Array.from({ length: 10_000 }, () => sampleDurationMs(durations, random));
  assert(samples.every((ms) => ms >= 10 && ms <= 9_000));
  const below = (ms: number) => samples.filter((s) => s <= ms).length / samples.length;
  assert(Math.abs(below(1_000) - 0.5) < 0.03, `${below(1_000)}`);
  assert(Math.abs(below(500) - 0.25) < 0.03, `${below(500)}`);
  assert(Math.abs(below(6_000) - 0.99) < 0.01, `${below(6_000)}`);
});

// The real files' layout, with 5 minutes instead of 1440.
const INVOCATIONS = `HashOwner,HashApp,HashFunction,Trigger,1,2,3,4,5
o1,a1,f1,http,0,3,1,0,2
o1,a1,f2,timer,1,0,1,0,1
o2,a2,f3,queue,0,0,0,0,0
o2,a2,f4,event,5,5,5,5,5
`;
const DURATIONS =
  `HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100
o1,a1,f1,250,6,100,900,100,110,180,240,300,850,900
o1,a1,f2,60000,3,55000,65000,55000,55100,58000,60000,62000,64900,65000
o2,a2,f3,12,1,12,12,12,12,12,12,12,12,12
`;

Deno.test("traceFromCsv() joins the dataset's invocations and durations files", () => {
  const trace = traceFromCsv(INVOCATIONS, DURATIONS, { fromMinute: 2, minutes: 3 });
  assertEquals(trace.minutes, 3);
  // f4 has no durations row.
  assertEquals(trace.functions.map((f) => f.hashFunction), ["f1", "f2", "f3"]);
  assertEquals(trace.functions[0], {
    hashOwner: "o1",
    hashApp: "a1",
    hashFunction: "f1",
    trigger: "http",
    invocationsPerMinute: [3, 1, 0],
    durations: {
      averageMs: 250,
      count: 6,
      minimumMs: 100,
      maximumMs: 900,
      percentilesMs: [100, 110, 180, 240, 300, 850, 900],
    },
  });
  assertEquals(trace.functions[1]?.trigger, "timer");
  assertEquals(traceFromCsv(INVOCATIONS, DURATIONS).minutes, 5);
});

Deno.test("the dataset parsers refuse files they do not understand", () => {
  const cases: (() => unknown)[] = [
    () => parseInvocationsCsv("Owner,App,Function,Trigger,1\no,a,f,http,1"),
    () => parseInvocationsCsv("HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1"),
    () => parseInvocationsCsv("HashOwner,HashApp,HashFunction,Trigger,1\no,a,f,cron,1"),
    () => parseInvocationsCsv("HashOwner,HashApp,HashFunction,Trigger,1\no,a,f,http,-1"),
    () => parseDurationsCsv("HashOwner,HashApp,HashFunction,Average\no,a,f,1"),
    () => parseDurationsCsv(DURATIONS.replace("250,6", "fast,6")),
  ];
  for (const parse of cases) assertThrows(parse, TraceFormatError);
});
