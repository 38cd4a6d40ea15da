/**
 * Every program serves Prometheus metrics, and they move under load: a
 * scheduler, an invoker and a controller in their own processes on real etcd
 * and Kafka, 30 invocations through the REST API, each `/metrics` scraped
 * before and after.
 */
import { assert, assertEquals, assertGreater, assertGreaterOrEqual } from "@std/assert";
import { parseSamples, type Sample, sampleSum } from "@faas/metrics";
import { ETCD_ENDPOINTS, eventually, GUEST_HEADERS, testCluster } from "./_harness.ts";
import { freePort, spawnProgram } from "./_processes.ts";

const AUTH = GUEST_HEADERS.authorization;
const INVOCATIONS = 30;
const PARALLEL = 5;

async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assertEquals(response.status, 200);
  assert(response.headers.get("content-type")?.startsWith("text/plain; version=0.0.4"));
  return parseSamples(await response.text());
}

const answers = (url: string) => async () => {
  const response = await fetch(url).catch(() => undefined);
  await response?.body?.cancel();
  return response?.ok === true;
};

Deno.test("metrics: every program's /metrics moves under load", async () => {
  await using cluster = await testCluster();
  const common = { cluster: cluster.name, etcdEndpoints: ETCD_ENDPOINTS };
  const ports = { scheduler: freePort(), invoker: freePort(), controller: freePort() };
  const apiPort = freePort();
  await using _scheduler = await spawnProgram({
    ...common,
    program: "scheduler",
    env: { SCHEDULER_ID: "0", SCHEDULER_RPC_PORT: "0", METRICS_PORT: String(ports.scheduler) },
    ready: async () =>
      (await cluster.store.get(`${cluster.name}/scheduler/0`)) !== undefined &&
      await answers(`http://127.0.0.1:${ports.scheduler}/healthz`)(),
  });
  await using _invoker = await spawnProgram({
    ...common,
    program: "invoker",
    env: { INVOKER_ID: "0", CONTAINER_IDLE_MS: "15000", METRICS_PORT: String(ports.invoker) },
    ready: async () =>
      (await cluster.store.get(`${cluster.name}/invokers/0`)) !== undefined &&
      await answers(`http://127.0.0.1:${ports.invoker}/healthz`)(),
  });
  await using _controller = await spawnProgram({
    ...common,
    program: "controller",
    env: { CONTROLLER_PORT: String(apiPort), METRICS_PORT: String(ports.controller) },
    ready: async () =>
      await answers(`http://127.0.0.1:${apiPort}/api/v1`)() &&
      await answers(`http://127.0.0.1:${ports.controller}/healthz`)(),
  });
  const before = {
    scheduler: await scrape(ports.scheduler),
    invoker: await scrape(ports.invoker),
    controller: await scrape(ports.controller),
  };
  assertEquals(sampleSum(before.scheduler, "faas_scheduler_lease_up"), 1);
  assertEquals(sampleSum(before.scheduler, "faas_scheduler_queues"), 0);
  assertEquals(sampleSum(before.invoker, "faas_invoker_lease_up"), 1);
  assertGreater(sampleSum(before.invoker, "faas_invoker_memory_mb", { kind: "free" }) ?? 0, 0);

  const api = `http://127.0.0.1:${apiPort}/api/v1/namespaces/_/actions/metered`;
  const headers = { authorization: AUTH, "content-type": "application/json" };
  const created = await fetch(`${api}?overwrite=true`, {
    method: "PUT",
    headers,
    body: JSON.stringify({
      exec: { kind: "nodejs:20", code: "function main(p) { return { n: p.n }; }" },
    }),
  });
  assertEquals(created.status, 200, await created.text());
  let containersDuringLoad = 0;
  for (let round = 0; round < INVOCATIONS / PARALLEL; round++) {
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, async (_, i) => {
        const n = round * PARALLEL + i;
        const response = await fetch(`${api}?blocking=true&result=true`, {
          method: "POST",
          headers,
          body: JSON.stringify({ n }),
        });
        return [response.status, await response.json()] as const;
      }),
    );
    for (const [status, body] of results) assertEquals(status, 200, JSON.stringify(body));
    if (round === 0) {
      const during = await scrape(ports.invoker);
      containersDuringLoad = sampleSum(during, "faas_invoker_containers") ?? 0;
    }
  }

  // Completions reach the invoker's counter as they are published; scrape until all are in.
  let after: typeof before | undefined;
  await eventually("every activation in the invoker's metrics", async () => {
    const invoker = await scrape(ports.invoker);
    const done = sampleSum(invoker, "faas_invoker_activations_total", { outcome: "success" }) ?? 0;
    if (done < INVOCATIONS) return false;
    after = {
      scheduler: await scrape(ports.scheduler),
      invoker,
      controller: await scrape(ports.controller),
    };
    return true;
  }, 10_000);
  const { scheduler, invoker, controller } = after!;
  const delta = (now: Sample[], then: Sample[], name: string, labels = {}) =>
    (sampleSum(now, name, labels) ?? 0) - (sampleSum(then, name, labels) ?? 0);

  // Controller: requests by route template, invocations by outcome.
  const invokeRoute = "POST /api/v1/namespaces/:ns/actions/:name";
  assertEquals(
    delta(controller, before.controller, "faas_controller_requests_total", {
      route: invokeRoute,
      status: "200",
    }),
    INVOCATIONS,
  );
  assertEquals(
    delta(controller, before.controller, "faas_controller_activations_total", {
      outcome: "success",
    }),
    INVOCATIONS,
  );
  assertEquals(
    delta(controller, before.controller, "faas_controller_request_duration_seconds_count", {
      route: invokeRoute,
    }),
    INVOCATIONS,
  );

  // Scheduler: routed activations, fetches answered with an activation, the queue and containers.
  assertGreaterOrEqual(
    delta(scheduler, before.scheduler, "faas_scheduler_activations_total", { outcome: "routed" }),
    INVOCATIONS,
  );
  assertGreaterOrEqual(
    delta(scheduler, before.scheduler, "faas_scheduler_fetch_duration_seconds_count", {
      outcome: "activation",
    }),
    INVOCATIONS,
  );
  const queue = scheduler.find((s) =>
    s.name === "faas_scheduler_queue_length" && s.labels.action?.endsWith("metered")
  );
  assert(queue, "a queue_length series for the action");
  assertEquals(sampleSum(scheduler, "faas_scheduler_queues"), 1);
  assertGreaterOrEqual(
    delta(scheduler, before.scheduler, "faas_scheduler_creation_jobs_total", {
      outcome: "created",
    }),
    1,
  );
  assertGreater(sampleSum(scheduler, "faas_scheduler_containers", { state: "containers" }) ?? 0, 0);

  // Invoker: completions by status, their durations, containers and memory.
  assertEquals(
    delta(invoker, before.invoker, "faas_invoker_activations_total", { outcome: "success" }),
    INVOCATIONS,
  );
  assertEquals(
    delta(invoker, before.invoker, "faas_invoker_activation_duration_seconds_count"),
    INVOCATIONS,
  );
  assertGreaterOrEqual(
    delta(invoker, before.invoker, "faas_invoker_container_creations_total", {
      outcome: "created",
    }),
    1,
  );
  assertGreater(containersDuringLoad, 0);
  assertGreater(sampleSum(invoker, "faas_invoker_memory_mb", { kind: "busy" }) ?? 0, 0);
});
