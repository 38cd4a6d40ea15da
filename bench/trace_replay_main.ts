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
import { traceReplayBenchmark, traceReplayMarkdown } from "./trace_replay.ts";

const env = Deno.env.toObject();
const etcdEndpoints = (env.FAAS_ETCD_ENDPOINTS ?? "http://127.0.0.1:23790").split(",");
const kafkaBrokers = (env.FAAS_KAFKA_BROKERS ?? "127.0.0.1:29092").split(",");
const seedArg = Deno.args[0];

const result = await traceReplayBenchmark({
  etcdEndpoints,
  kafkaBrokers,
  ...(seedArg ? { seed: Number(seedArg) } : {}),
});
const text = traceReplayMarkdown(result);
await Deno.writeTextFile(new URL("./reports/trace-replay.md", import.meta.url), text);
await Deno.writeTextFile(
  new URL("./reports/trace-replay.json", import.meta.url),
  JSON.stringify(result, null, 2) + "\n",
);
Deno.stdout.writeSync(new TextEncoder().encode(text));
progress("wrote bench/reports/trace-replay.{md,json}");
// Kafka and gRPC clients can leave handles behind after close.
Deno.exit(0);
