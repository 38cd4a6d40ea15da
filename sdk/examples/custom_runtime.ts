/**
 * A custom runtime that pulls for itself: it runs one action (here, a greeting
 * function), reports each result to the controller over Kafka, and exits when
 * the SDK says the queue is gone or the container is outdated.
 *
 * Run it with the container environment an invoker would give it:
 *
 * ```sh
 * FAAS_ETCD_ENDPOINTS=http://127.0.0.1:2379 FAAS_KAFKA_BROKERS=127.0.0.1:9092 \
 * FAAS_CLUSTER=whisk INVOCATION_NAMESPACE=guest \
 * ACTION='{"path":"guest","name":"hello","version":"0.0.1"}' REVISION=1-a \
 * CONTAINER_ID=custom-1 FETCH_TOKEN=... deno run -A sdk/examples/custom_runtime.ts
 * ```
 *
 * @module
 */
import { connectKafka } from "@faas/bus";
import { connectEtcd } from "@faas/coordination";
import {
  type ActivationMessage,
  encodeCompletion,
  FullyQualifiedName,
  StatusCode,
  topics,
  type WhiskActivation,
} from "@faas/proto";
import { ContainerProxy, storeLeaderResolver } from "@faas/sdk";

/** The action this runtime serves. */
function main(params: Record<string, unknown>): Record<string, unknown> {
  return { greeting: `Hello, ${params.name ?? "stranger"}!` };
}

const env = (name: string) => {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`Missing environment variable "${name}"`);
  return value;
};

await using store = await connectEtcd({ endpoints: env("FAAS_ETCD_ENDPOINTS").split(",") });
await using bus = await connectKafka({
  brokers: env("FAAS_KAFKA_BROKERS").split(","),
  clientId: "custom-runtime",
});
const names = topics(Deno.env.get("FAAS_KAFKA_TOPIC_PREFIX") ?? "");
const action = FullyQualifiedName.parse(JSON.parse(env("ACTION")));

async function run(message: ActivationMessage): Promise<void> {
  const start = Date.now();
  const result = main(message.content ?? {});
  const record: WhiskActivation = {
    namespace: message.user.namespace.name,
    name: action.name,
    subject: message.user.subject,
    activationId: message.activationId,
    start,
    end: Date.now(),
    response: { statusCode: StatusCode.success, result },
    logs: [],
    version: action.version ?? "0.0.1",
    publish: false,
    annotations: [],
    duration: Date.now() - start,
  };
  const value = encodeCompletion(message, record, { instanceType: "invoker", instance: 0 });
  await bus.send(names.completed(message.rootControllerIndex.asString), [{
    key: message.activationId,
    value,
  }]);
}

const proxy = ContainerProxy.start({
  invocationNamespace: env("INVOCATION_NAMESPACE"),
  action,
  revision: Deno.env.get("REVISION") ?? null,
  containerId: env("CONTAINER_ID"),
  fetchToken: env("FETCH_TOKEN"),
  resolver: storeLeaderResolver(store, Deno.env.get("FAAS_CLUSTER") ?? "whisk"),
  idleTimeoutMs: 10_000,
}, run);
Deno.addSignalListener("SIGTERM", () => void proxy.close());
const reason = await proxy.closed;
Deno.stderr.writeSync(new TextEncoder().encode(`custom runtime stopped: ${reason.kind}\n`));
