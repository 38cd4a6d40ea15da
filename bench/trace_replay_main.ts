/**
 * Runs the trace replay alone and writes `bench/reports/trace-replay.{md,json}`:
 *
 * ```sh
 * bash scripts/services.sh run deno run -A bench/trace_replay_main.ts [seed]
 * ```
 *
 * @module
 */
import { progress } from "./stats.ts";
import { type PolicyResult, traceReplayBenchmark, type TraceReplayResult } from "./trace_replay.ts";

const env = Deno.env.toObject();
const etcdEndpoints = (env.FAAS_ETCD_ENDPOINTS ?? "http://127.0.0.1:23790").split(",");
const kafkaBrokers = (env.FAAS_KAFKA_BROKERS ?? "127.0.0.1:29092").split(",");
const seedArg = Deno.args[0];

/** The result as a Markdown report. */
function markdown(result: TraceReplayResult): string {
  const t = result.trace;
  const rows: [string, (p: PolicyResult) => string | number][] = [
    ["invocations (succeeded)", (p) => `${p.invocations} (${p.succeeded})`],
    ["failed by status / missing", (p) => `${JSON.stringify(p.failedByStatus)} / ${p.missing}`],
    ["cold starts", (p) => p.coldStarts],
    ["cold-start ratio", (p) => p.coldStartRatio],
    ["idle (wasted) container-s", (p) => p.idleContainerSeconds],
    ["busy container-s", (p) => p.busyContainerSeconds],
    ["idle share of container time", (p) => p.wastedShare],
    ["containers created", (p) => p.containersCreated],
    ["latency p50 / p99 ms", (p) => `${p.latency.p50Ms} / ${p.latency.p99Ms}`],
    ["overhead p50 / p99 ms", (p) => `${p.overhead.p50Ms} / ${p.overhead.p99Ms}`],
    ["run time per replay s", (p) => Math.round(p.runMs / 100) / 10],
  ];
  return [
    "# Trace replay: keep-alive policies",
    "",
    `Seed ${result.seed}: ${t.functions} functions (${t.invoked} invoked, ` +
    `${t.atMostHourly} not at all), ${t.invocations} invocations over ${t.minutes} trace minutes; ` +
    `the busiest tenth of the functions make ${Math.round(t.topTenthShare * 100)} % of them; ` +
    `${t.activeMeanContainers} activations run at once on average. Triggers: ` +
    `${Object.entries(t.byTrigger).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
    result.note,
    "",
    "| | fixed | adaptive |",
    "| --- | --- | --- |",
    ...rows.map(([name, get]) => `| ${name} | ${get(result.fixed)} | ${get(result.adaptive)} |`),
    "",
    `Fixed: ${JSON.stringify(result.fixed.settings)}`,
    "",
    `Adaptive: ${JSON.stringify(result.adaptive.settings)}`,
    "",
    "Each replay:",
    "",
    "| policy | cold starts | idle container-s | busy container-s | containers | overhead p50 ms |",
    "| --- | --- | --- | --- | --- | --- |",
    ...result.runs.map((p) =>
      `| ${p.policy} | ${p.coldStarts} | ${p.idleContainerSeconds} | ${p.busyContainerSeconds} | ` +
      `${p.containersCreated} | ${p.overhead.p50Ms} |`
    ),
    "",
    `All replays took ${Math.round(result.replayMs / 1_000)} s.`,
    "",
  ].join("\n");
}

const result = await traceReplayBenchmark({
  etcdEndpoints,
  kafkaBrokers,
  ...(seedArg ? { seed: Number(seedArg) } : {}),
});
const text = markdown(result);
await Deno.writeTextFile(new URL("./reports/trace-replay.md", import.meta.url), text);
await Deno.writeTextFile(
  new URL("./reports/trace-replay.json", import.meta.url),
  JSON.stringify(result, null, 2) + "\n",
);
Deno.stdout.writeSync(new TextEncoder().encode(text));
progress("wrote bench/reports/trace-replay.{md,json}");
// Kafka and gRPC clients can leave handles behind after close.
Deno.exit(0);
