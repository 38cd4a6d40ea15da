import { assertEquals, assertStrictEquals } from "@std/assert";
import { createMetrics } from "./registry.ts";
import { parseSamples, sampleSum } from "./scrape.ts";

Deno.test("counters, gauges and histograms render with their labels", async () => {
  const metrics = createMetrics();
  const requests = metrics.counter({
    name: "t_requests_total",
    help: "Requests.",
    labelNames: ["route"],
  });
  requests.inc({ route: "/a" });
  requests.bind({ route: "/a" }).inc(2);
  metrics.gauge({ name: "t_up", help: "Up." }).set({}, 1);
  const durations = metrics.histogram({
    name: "t_seconds",
    help: "Durations.",
    labelNames: ["outcome"],
    buckets: [0.1, 1],
  });
  durations.observe({ outcome: "ok" }, 0.05);
  durations.bind({ outcome: "ok" }).observe(0.5);
  const samples = parseSamples(await metrics.render());
  assertEquals(sampleSum(samples, "t_requests_total", { route: "/a" }), 3);
  assertEquals(sampleSum(samples, "t_up"), 1);
  assertEquals(sampleSum(samples, "t_seconds_count", { outcome: "ok" }), 2);
  assertEquals(sampleSum(samples, "t_seconds_bucket", { outcome: "ok", le: "0.1" }), 1);
  assertEquals(sampleSum(samples, "t_missing"), undefined);
  assertEquals(metrics.contentType.startsWith("text/plain"), true);
});

Deno.test("collected gauges add up their sources and forget removed ones", async () => {
  const metrics = createMetrics();
  const gauge = metrics.gauge({ name: "t_queued", help: "Queued.", labelNames: ["action"] });
  assertStrictEquals(
    metrics.gauge({ name: "t_queued", help: "Queued.", labelNames: ["action"] }),
    gauge,
  );
  const first = gauge.collect((add) => add({ action: "a" }, 2));
  gauge.collect((add) => {
    add({ action: "a" }, 3);
    add({ action: "b" }, 1);
  });
  let samples = parseSamples(await metrics.render());
  assertEquals(sampleSum(samples, "t_queued", { action: "a" }), 5);
  assertEquals(sampleSum(samples, "t_queued", { action: "b" }), 1);
  first[Symbol.dispose]();
  samples = parseSamples(await metrics.render());
  assertEquals(sampleSum(samples, "t_queued", { action: "a" }), 3);
});

Deno.test("onCollect hooks run before every render", async () => {
  const metrics = createMetrics();
  const counter = metrics.counter({ name: "t_seen_total", help: "Seen." });
  let source = 0;
  let reported = 0;
  using _hook = metrics.onCollect(() => {
    counter.inc({}, source - reported);
    reported = source;
  });
  source = 4;
  assertEquals(sampleSum(parseSamples(await metrics.render()), "t_seen_total"), 4);
  source = 6;
  assertEquals(sampleSum(parseSamples(await metrics.render()), "t_seen_total"), 6);
});
