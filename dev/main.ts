/**
 * `deno task dev`: runs controller, scheduler and invoker in one process with
 * nothing else to install. `--etcd URL[,URL]` and `--kafka HOST:PORT[,…]` (or
 * FAAS_ETCD_ENDPOINTS / FAAS_KAFKA_BROKERS) use real services instead.
 * `--metrics-port N` (or METRICS_PORT; default 0, any free port; -1 none)
 * places the one Prometheus `/metrics` endpoint of all three programs.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { getLogger, setup } from "@std/log";
import { GUEST_KEY } from "@faas/controller";
import { startEmbedded } from "./embedded.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    etcd: { type: "string" },
    kafka: { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    "metrics-port": { type: "string" },
  },
});
const list = (v: string | undefined) => {
  const items = v?.split(",").map((s) => s.trim()).filter(Boolean) ?? [];
  return items.length ? items : undefined;
};
const etcd = list(values.etcd ?? Deno.env.get("FAAS_ETCD_ENDPOINTS"));
const kafka = list(values.kafka ?? Deno.env.get("FAAS_KAFKA_BROKERS"));
if ((etcd === undefined) !== (kafka === undefined)) {
  Deno.stderr.writeSync(new TextEncoder().encode("Give both --etcd and --kafka, or neither\n"));
  Deno.exit(2);
}
await setup({ level: (Deno.env.get("LOG_LEVEL") as "INFO" | undefined) ?? "WARN" });
const port = Number(values.port ?? Deno.env.get("CONTROLLER_PORT") ?? 3233);
await using system = await startEmbedded({
  host: values.host ?? "127.0.0.1",
  port,
  metricsPort: Number(values["metrics-port"] ?? Deno.env.get("METRICS_PORT") ?? 0),
  ...(etcd ? { etcdEndpoints: etcd } : {}),
  ...(kafka ? { kafkaBrokers: kafka } : {}),
});
const [uuid, key] = GUEST_KEY.split(":");
const banner = [
  `faas is running at ${system.url} (${
    system.external ? "etcd + Kafka" : "in-memory store and bus"
  })`,
  `guest key (namespace "guest"): ${GUEST_KEY}`,
  ...(system.metricsUrl ? [`metrics (Prometheus): ${system.metricsUrl}`] : []),
  "",
  "try:",
  `  curl -u ${uuid}:${key} -X PUT -H 'content-type: application/json' \\`,
  `    -d '{"exec":{"kind":"nodejs:20","code":"function main(p){return {greeting: \\"Hello, \\" + (p.name || \\"world\\")}}"}}' \\`,
  `    ${system.url}/api/v1/namespaces/_/actions/hello`,
  `  curl -u ${uuid}:${key} -X POST -H 'content-type: application/json' -d '{"name":"you"}' \\`,
  `    '${system.url}/api/v1/namespaces/_/actions/hello?blocking=true&result=true'`,
  "",
].join("\n");
Deno.stdout.writeSync(new TextEncoder().encode(banner + "\n"));
const stopped = Promise.withResolvers<void>();
Deno.addSignalListener("SIGINT", () => stopped.resolve());
Deno.addSignalListener("SIGTERM", () => stopped.resolve());
await stopped.promise;
getLogger("dev").info("Stopping");
