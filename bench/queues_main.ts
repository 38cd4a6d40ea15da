/**
 * Runs the queue capacity benchmark alone:
 * `bash scripts/services.sh run deno run -A bench/queues_main.ts [counts…]`
 * (default 1000 10000); prints the results as JSON on stdout. `BENCH_SCHEDULER_FLAGS`
 * adds `deno run` flags to the scheduler process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
 *
 * @module
 */
import { queueCapacityBenchmark } from "./queues.ts";

const env = Deno.env.toObject();
const counts = Deno.args.length > 0 ? Deno.args.map(Number) : [1_000, 10_000];
const result = await queueCapacityBenchmark({
  etcdEndpoints: (env.FAAS_ETCD_ENDPOINTS ?? "http://127.0.0.1:23790").split(","),
  kafkaBrokers: (env.FAAS_KAFKA_BROKERS ?? "127.0.0.1:29092").split(","),
  counts,
  schedulerFlags: env.BENCH_SCHEDULER_FLAGS?.split(" ").filter(Boolean) ?? [],
});
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(result, null, 2) + "\n"));
