/**
 * One failover under load: three scheduler processes, 200 activations/s over
 * 20 actions, SIGKILL of the process that leads most queues. Shared by the
 * chaos test and `deno task bench`.
 *
 * @module
 */
import {
  type ActivationMessage,
  QueueLeader,
  QueueServiceClient,
  SchedulerStates,
} from "@faas/proto";
import { type CloseReason, ContainerProxy, storeLeaderResolver } from "@faas/sdk";
import {
  activationFixture,
  clusterCall,
  ETCD_ENDPOINTS,
  eventually,
  type TestCluster,
  testCluster,
  tokens,
} from "./_harness.ts";
import { spawnScheduler } from "./_processes.ts";

const ACTIONS = Array.from({ length: 20 }, (_, i) => `chaos${i}`);
const RATE_PER_TICK = 10; // every 50 ms: 200 activations/s
/** The lease TTL the scheduler processes run with (see `_processes.ts`). */
export const LEASE_TTL_MS = 3_000;

/** The test's stand-in for controllers: routes each activation to its queue's leader. */
class Router {
  readonly #cluster: TestCluster;
  readonly #leaders = new Map<string, string>();
  constructor(cluster: TestCluster) {
    this.#cluster = cluster;
  }

  leaderOf(action: string): string | undefined {
    return this.#leaders.get(action);
  }

  async refresh(): Promise<void> {
    const prefix = `${this.#cluster.name}/queue/guest/guest/`;
    const { kvs } = await this.#cluster.store.getPrefix(prefix);
    this.#leaders.clear();
    for (const kv of kvs) {
      const action = kv.key.slice(prefix.length).split("/")[0]!;
      this.#leaders.set(action, QueueLeader.parse(JSON.parse(kv.value)).sid);
    }
  }

  /** Any live scheduler, for actions without a leader. */
  async anyScheduler(): Promise<string | undefined> {
    const { kvs } = await this.#cluster.store.getPrefix(`${this.#cluster.name}/scheduler/`);
    return kvs.map((kv) => SchedulerStates.parse(JSON.parse(kv.value)).sid.asString)[0];
  }
}

/** Two containers per action that come back (like fresh containers) whenever one stops. */
function containerPool(
  cluster: TestCluster,
  ran: Map<string, number>,
  ranAt: Map<string, number>,
  stop: AbortSignal,
) {
  const start = async (action: string, i: number): Promise<void> => {
    while (!stop.aborted) {
      const proxy = ContainerProxy.start({
        invocationNamespace: "guest",
        action: { path: "guest", name: action, version: "0.0.1" },
        revision: "1-a",
        containerId: `${action}-${i}`,
        fetchToken: await tokens.mint("guest", `guest/${action}`),
        resolver: storeLeaderResolver(cluster.store, cluster.name),
        signal: stop,
        retryDelayMs: 50,
      }, async (message: ActivationMessage) => {
        ran.set(message.activationId, (ran.get(message.activationId) ?? 0) + 1);
        if (!ranAt.has(message.activationId)) ranAt.set(message.activationId, Date.now());
        await new Promise((r) => setTimeout(r, 2));
      });
      const reason: CloseReason = await proxy.closed;
      if (reason.kind === "stopped") return;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  return Promise.all(ACTIONS.flatMap((a) => [0, 1].map((i) => start(a, i))));
}

async function publishTick(
  cluster: TestCluster,
  router: Router,
  accepted: Map<string, { sid: string; at: number }>,
): Promise<void> {
  const bySid = new Map<string, ActivationMessage[]>();
  for (let i = 0; i < RATE_PER_TICK; i++) {
    const action = ACTIONS[(accepted.size + i) % ACTIONS.length]!;
    const sid = router.leaderOf(action) ?? await router.anyScheduler();
    if (!sid) continue;
    const list = bySid.get(sid) ?? [];
    list.push(activationFixture({ action: { name: action } }));
    bySid.set(sid, list);
  }
  await Promise.all([...bySid].map(async ([sid, messages]) => {
    const at = Date.now();
    await cluster.publish(sid, messages);
    for (const m of messages) accepted.set(m.activationId, { sid, at });
  }));
}

async function createQueues(
  cluster: TestCluster,
  clients: readonly QueueServiceClient[],
): Promise<void> {
  const options = await clusterCall();
  await Promise.all(ACTIONS.map((name, i) =>
    clients[i % clients.length]!.createQueue({
      invocationNamespace: "guest",
      fqn: JSON.stringify({ path: "guest", name, version: "0.0.1" }),
      rev: JSON.stringify("1-a"),
    }, options)
  ));
  await eventually("every queue to have a leader", async () => {
    const n = await cluster.store.countPrefix(`${cluster.name}/queue/guest/`);
    return n === ACTIONS.length;
  });
}

function victimOf(router: Router): string {
  const counts = new Map<string, number>();
  for (const a of ACTIONS) {
    const sid = router.leaderOf(a);
    if (sid) counts.set(sid, (counts.get(sid) ?? 0) + 1);
  }
  return [...counts].sort((x, y) => y[1] - x[1])[0]![0];
}

/** What one failover round observed. */
export interface FailoverResult {
  /** Activations the publisher got acknowledged by Kafka. */
  readonly accepted: number;
  /** Accepted activations that never ran. */
  readonly lost: number;
  /** Activations that ran more than once. */
  readonly duplicates: number;
  /**
   * Activations on the dead scheduler's topic that ran after the kill: held in
   * its queues, or published there before controllers saw the new leaders, and
   * redelivered through the adopted topic.
   */
  readonly redelivered: number;
  /** From SIGKILL until followers led every queue of the dead scheduler. */
  readonly failoverMs: number;
  /** Queues the dead scheduler led. */
  readonly affectedQueues: number;
}

/** Runs one round on a fresh cluster; resolves once every accepted activation ran or 45 s passed. */
export async function failoverRound(): Promise<FailoverResult> {
  await using cluster = await testCluster();
  const spawn = (sid: string) =>
    spawnScheduler({
      cluster: cluster.name,
      sid,
      etcdEndpoints: ETCD_ENDPOINTS,
      store: cluster.store,
    });
  const schedulers = await Promise.all(["s0", "s1", "s2"].map(spawn));
  const stopContainers = new AbortController();
  const ran = new Map<string, number>();
  const ranAt = new Map<string, number>();
  const accepted = new Map<string, { sid: string; at: number }>();
  const router = new Router(cluster);
  // Closed only after the schedulers are gone: a closing channel sends GOAWAY,
  // which Deno 2.9.6 may crash on (denoland/deno#36788).
  const clients = schedulers.map((s) => new QueueServiceClient(`127.0.0.1:${s.rpcPort}`));
  let pool: Promise<unknown> = Promise.resolve();
  const refresher = setInterval(() => void router.refresh().catch(() => {}), 250);
  let publishing = Promise.resolve();
  let publisher: ReturnType<typeof setInterval> | undefined;
  try {
    await createQueues(cluster, clients);
    await router.refresh();
    pool = containerPool(cluster, ran, ranAt, stopContainers.signal);
    publisher = setInterval(() => {
      publishing = publishing.then(() => publishTick(cluster, router, accepted)).catch(() => {});
    }, 50);
    await new Promise((r) => setTimeout(r, 3_000));
    const victimSid = victimOf(router);
    const affected = ACTIONS.filter((a) => router.leaderOf(a) === victimSid);
    const killedAt = Date.now();
    await schedulers.find((s) => s.sid === victimSid)!.kill("SIGKILL");
    await eventually("followers to lead the dead scheduler's queues", async () => {
      await router.refresh();
      return affected.every((a) => (router.leaderOf(a) ?? victimSid) !== victimSid);
    }, 20_000);
    const failoverMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 8_000 - Date.now())));
    clearInterval(publisher);
    await publishing;
    await eventually(
      "every accepted activation to run",
      () => [...accepted.keys()].every((id) => ran.has(id)),
      45_000,
    )
      .catch(() => {});
    const redelivered = [...accepted].filter(([id, sent]) =>
      sent.sid === victimSid && (ranAt.get(id) ?? 0) > killedAt
    ).length;
    return {
      accepted: accepted.size,
      lost: [...accepted.keys()].filter((id) =>
        !ran.has(id)
      ).length,
      duplicates: [...ran.values()].filter((n) => n > 1).length,
      redelivered,
      failoverMs,
      affectedQueues: affected.length,
    };
  } finally {
    clearInterval(publisher);
    clearInterval(refresher);
    stopContainers.abort();
    await pool;
    await Promise.all(schedulers.map((s) => s.kill("SIGKILL")));
    for (const c of clients) c.close();
  }
}
