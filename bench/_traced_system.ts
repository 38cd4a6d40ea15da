/**
 * The embedded system (controller, scheduler, invoker in one process) on
 * real etcd and Kafka, for benchmarks that need it in a process of its own,
 * e.g. with OpenTelemetry on. Settings come from the environment
 * (FAAS_CLUSTER, FAAS_ETCD_ENDPOINTS, …); prints the controller URL on
 * stdout once it serves, and runs until killed.
 *
 * @module
 */
import { startEmbedded } from "../dev/embedded.ts";

const env = Deno.env.toObject();
const system = await startEmbedded({
  port: 0,
  metricsPort: -1,
  etcdEndpoints: env.FAAS_ETCD_ENDPOINTS!.split(","),
  kafkaBrokers: env.FAAS_KAFKA_BROKERS!.split(","),
  settings: Object.fromEntries(
    Object.entries(env).filter(([key]) =>
      /^(FAAS|CONTROLLER|SCHEDULER|INVOKER|CONTAINER|QUEUE)_/.test(key)
    ),
  ),
});
await Deno.stdout.write(new TextEncoder().encode(`${system.url}\n`));
Deno.addSignalListener("SIGTERM", async () => {
  await system.close();
  Deno.exit(0);
});
