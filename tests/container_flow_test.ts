/**
 * Container creation end to end with real processes: the scheduler decides
 * how many containers an action needs, invokers create them, they pull the
 * work, and they go away when idle. Also the two ways it must fail clearly:
 * an action nobody can host, and an invoker that dies under load.
 */
import { assertEquals, assertGreater, assertStringIncludes } from "@std/assert";
import {
  ETCD_ENDPOINTS,
  eventually,
  GUEST_HEADERS,
  type TestCluster,
  testCluster,
} from "./_harness.ts";
import { freePort, type ProgramProcess, spawnProgram } from "./_processes.ts";

interface System {
  readonly url: string;
  readonly invokers: ProgramProcess[];
}

async function startSystem(
  cluster: TestCluster,
  stack: AsyncDisposableStack,
  invokerEnv: Record<string, string> = {},
): Promise<System> {
  const common = { cluster: cluster.name, etcdEndpoints: ETCD_ENDPOINTS };
  const registered = (key: string) => async () => (await cluster.store.get(key)) !== undefined;
  stack.use(
    await spawnProgram({
      ...common,
      program: "scheduler",
      env: { SCHEDULER_ID: "0", QUEUE_LOST_CONTAINER_GRACE_MS: "2000" },
      ready: registered(`${cluster.name}/scheduler/0`),
    }),
  );
  const invokers = await Promise.all(["0", "1"].map(async (id) =>
    stack.use(
      await spawnProgram({
        ...common,
        program: "invoker",
        env: {
          INVOKER_ID: id,
          CONTAINER_IDLE_MS: "2000",
          FAAS_LEASE_TTL_SECONDS: "3",
          ...invokerEnv,
        },
        ready: registered(`${cluster.name}/invokers/${id}`),
      }),
    )
  ));
  const port = freePort();
  stack.use(
    await spawnProgram({
      ...common,
      program: "controller",
      env: { CONTROLLER_PORT: String(port) },
      ready: () =>
        fetch(`http://127.0.0.1:${port}/api/v1`)
          .then(async (r) => (await r.body?.cancel(), r.ok))
          .catch(() => false),
    }),
  );
  return { url: `http://127.0.0.1:${port}/api/v1/namespaces/_`, invokers };
}

async function putAction(
  url: string,
  name: string,
  code: string,
  limits: Record<string, number> = {},
) {
  const response = await fetch(`${url}/actions/${name}`, {
    method: "PUT",
    headers: GUEST_HEADERS,
    body: JSON.stringify({ exec: { kind: "nodejs:20", code }, limits }),
  });
  assertEquals(response.status, 200, await response.text());
}

async function invokeAsync(url: string, name: string): Promise<string> {
  const response = await fetch(`${url}/actions/${name}`, {
    method: "POST",
    headers: GUEST_HEADERS,
    body: "{}",
  });
  assertEquals(response.status, 202);
  return (await response.json()).activationId;
}

async function record(
  url: string,
  id: string,
): Promise<{ response: { statusCode: number; result: unknown } } | undefined> {
  const response = await fetch(`${url}/activations/${id}`, { headers: GUEST_HEADERS });
  if (response.status === 404) return void await response.body?.cancel();
  return await response.json();
}

const SLEEP = (ms: number) =>
  `function main() { return new Promise((r) => setTimeout(() => r({ ok: true }), ${ms})); }`;

Deno.test("container flow: a burst scales containers up, all complete, idle containers go away", async () => {
  await using cluster = await testCluster();
  await using stack = new AsyncDisposableStack();
  const { url } = await startSystem(cluster, stack);
  await putAction(url, "burst", SLEEP(100));
  let peak = 0;
  const sampler = setInterval(async () => {
    peak = Math.max(
      peak,
      await cluster.store.countPrefix(`${cluster.name}/namespace/`).catch(() => 0),
    );
  }, 100);
  try {
    const ids: string[] = [];
    for (let i = 0; i < 500; i += 50) {
      ids.push(...await Promise.all(Array.from({ length: 50 }, () => invokeAsync(url, "burst"))));
    }
    const done = new Set<string>();
    await eventually("all 500 activations to complete", async () => {
      for (const id of ids) {
        if (done.has(id)) continue;
        const r = await record(url, id);
        if (r) {
          assertEquals(r.response.statusCode, 0, JSON.stringify(r.response));
          done.add(id);
        }
      }
      return done.size === ids.length;
    }, 90_000);
  } finally {
    clearInterval(sampler);
  }
  assertGreater(peak, 1, "the scheduler never scaled beyond one container");
  await eventually(
    "idle containers to be removed",
    async () =>
      (await cluster.store.countPrefix(`${cluster.name}/namespace/`)) === 0 &&
      (await cluster.store.countPrefix(`${cluster.name}/in-progress/guest/`)) === 0,
    30_000,
  );
});

Deno.test("container flow: an action no invoker can host fails fast with a clear error", async () => {
  await using cluster = await testCluster();
  await using stack = new AsyncDisposableStack();
  const { url } = await startSystem(cluster, stack, { INVOKER_USER_MEMORY_MB: "1024" });
  await putAction(url, "huge", SLEEP(1), { memory: 2048 });
  const started = Date.now();
  const response = await fetch(`${url}/actions/huge?blocking=true`, {
    method: "POST",
    headers: GUEST_HEADERS,
    body: "{}",
    signal: AbortSignal.timeout(30_000),
  });
  const body = await response.json();
  assertEquals(body.response.statusCode, 3, JSON.stringify(body));
  assertStringIncludes(JSON.stringify(body.response.result), "2048");
  // Far below the 20 s creation timeout: nobody waited for an invoker that could never come.
  assertEquals(Date.now() - started < 15_000, true);
});

Deno.test("container flow: SIGKILL of an invoker under load leaves no activation without a record", async () => {
  await using cluster = await testCluster();
  await using stack = new AsyncDisposableStack();
  const { url, invokers } = await startSystem(cluster, stack);
  await putAction(url, "slow", SLEEP(1_500), { timeout: 3_000 });
  const ids = await Promise.all(Array.from({ length: 20 }, () => invokeAsync(url, "slow")));
  await eventually(
    "containers on both invokers",
    async () => (await cluster.store.countPrefix(`${cluster.name}/namespace/`)) >= 2,
    30_000,
  );
  await invokers[0]!.kill("SIGKILL");
  const killedAt = Date.now();
  await eventually(
    "the dead invoker's keys to vanish",
    async () => (await cluster.store.get(`${cluster.name}/invokers/0`)) === undefined,
    10_000,
  );
  assertEquals(Date.now() - killedAt < 6_000, true, "keys outlived the 3 s lease by far");
  const outcomes = new Map<string, number>();
  await eventually("a record for every activation", async () => {
    for (const id of ids) {
      if (outcomes.has(id)) continue;
      const r = await record(url, id);
      if (r) outcomes.set(id, r.response.statusCode);
    }
    return outcomes.size === ids.length;
  }, 60_000);
  // Each either ran or failed with an explicit system error; none silently vanished.
  for (const code of outcomes.values()) assertEquals([0, 3].includes(code), true, `status ${code}`);
});
