/**
 * Runs the burst benchmark alone:
 * `bash scripts/services.sh run deno run -A bench/burst_main.ts [activations] [actions] [namespace container limit]`
 * (default 10000 over 100); prints the result as JSON on stdout, the system's
 * warnings (`LOG_LEVEL`, default WARN) as JSON lines on stderr.
 *
 * @module
 */
import { setup } from "@std/log";
import { burstBenchmark } from "./burst.ts";

const env = Deno.env.toObject();
// The system's own warnings (lost leases, failed creations) explain a bad run.
await setup({ level: (env.LOG_LEVEL as "INFO" | undefined) ?? "WARN" });
const [activations = 10_000, actions = 100, namespaceContainerLimit] = Deno.args.map(Number);
const result = await burstBenchmark({
  etcdEndpoints: (env.FAAS_ETCD_ENDPOINTS ?? "http://127.0.0.1:23790").split(","),
  kafkaBrokers: (env.FAAS_KAFKA_BROKERS ?? "127.0.0.1:29092").split(","),
  activations,
  actions,
  ...(namespaceContainerLimit ? { namespaceContainerLimit } : {}),
});
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(result, null, 2) + "\n"));
