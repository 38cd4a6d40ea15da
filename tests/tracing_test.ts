/**
 * Observability across processes: one blocking invoke through separate
 * controller, scheduler and invoker processes (real etcd and Kafka) forms one
 * OpenTelemetry trace, and the programs' JSON log lines name the activation.
 */
import { assert, assertEquals } from "@std/assert";
import { TraceCollector } from "@faas/telemetry/testing";
import { ETCD_ENDPOINTS, eventually, GUEST_HEADERS, testCluster } from "./_harness.ts";
import { freePort, spawnProgram } from "./_processes.ts";

Deno.test("one activation is one trace across controller, scheduler and invoker processes", async () => {
  await using collector = new TraceCollector();
  await using cluster = await testCluster();
  const common = { cluster: cluster.name, etcdEndpoints: ETCD_ENDPOINTS };
  const registered = (key: string) => async () => (await cluster.store.get(key)) !== undefined;
  await using _scheduler = await spawnProgram({
    ...common,
    program: "scheduler",
    env: { SCHEDULER_ID: "0", SCHEDULER_RPC_PORT: "0", ...collector.env("scheduler") },
    ready: registered(`${cluster.name}/scheduler/0`),
  });
  await using _invoker = await spawnProgram({
    ...common,
    program: "invoker",
    env: { INVOKER_ID: "0", ...collector.env("invoker") },
    ready: registered(`${cluster.name}/invokers/0`),
  });
  const port = freePort();
  const api = `http://127.0.0.1:${port}/api/v1/namespaces/_`;
  await using controller = await spawnProgram({
    ...common,
    program: "controller",
    env: { CONTROLLER_PORT: String(port), LOG_LEVEL: "DEBUG", ...collector.env("controller") },
    ready: async () =>
      (await fetch(`http://127.0.0.1:${port}/api/v1`).then((r) => r.body?.cancel().then(() => r.ok))
        .catch(() => false)) === true,
  });
  const created = await fetch(`${api}/actions/traced`, {
    method: "PUT",
    headers: GUEST_HEADERS,
    body: JSON.stringify({ exec: { kind: "nodejs:20", code: "function main(p) { return p; }" } }),
  });
  assertEquals(created.status, 200, await created.text());
  const invoked = await fetch(`${api}/actions/traced?blocking=true`, {
    method: "POST",
    headers: GUEST_HEADERS,
    body: JSON.stringify({ hello: "trace" }),
  });
  const record = await invoked.json();
  assertEquals([invoked.status, record.response.result], [200, { hello: "trace" }]);
  const id: string = record.activationId;

  const names = [
    "activation.publish",
    "activation.receive",
    "activation.dispatch",
    "activation.run",
  ];
  const ofActivation = () =>
    collector.spans.filter((span) => span.attributes["faas.activation_id"] === id);
  await eventually("the spans of all three programs", () => {
    const seen = new Set(ofActivation().map((span) => span.name));
    return Promise.resolve(names.every((name) => seen.has(name)));
  }, 20_000);
  const spans = new Map(ofActivation().map((span) => [span.name, span]));
  const publish = spans.get("activation.publish")!;
  assertEquals(
    names.map((name) => [name, spans.get(name)?.traceId, spans.get(name)?.service]),
    [
      ["activation.publish", publish.traceId, "controller"],
      ["activation.receive", publish.traceId, "scheduler"],
      ["activation.dispatch", publish.traceId, "scheduler"],
      ["activation.run", publish.traceId, "invoker"],
    ],
  );
  const run = spans.get("activation.run")!;
  assertEquals(spans.get("activation.receive")!.parentSpanId, publish.spanId);
  assertEquals(run.parentSpanId, publish.spanId);
  // The controller's HTTP request is the root; the invoker's calls to the container are children.
  const request = collector.spans.find((span) => span.spanId === publish.parentSpanId);
  assertEquals(request?.service, "controller");
  await eventually("the invoker's /run call in the trace", () =>
    Promise.resolve(
      collector.spans.some((span) =>
        span.parentSpanId === run.spanId && span.service === "invoker"
      ),
    ));
  assert(publish.startMs <= run.startMs, "the hops are in order");

  // Log lines are JSON and carry the activation id as a field.
  let logged: string[] = [];
  await eventually("the controller's log line of the activation", async () => {
    const lines = (await Deno.readTextFile(controller.logFile)).split("\n");
    logged = lines.filter((line) => line.includes(id));
    return logged.length > 0;
  });
  assertEquals(JSON.parse(logged[0]!).properties.activationId, id);
});
