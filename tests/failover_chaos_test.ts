/**
 * Chaos: under a steady load of 200 activations/s over 20 actions, SIGKILL
 * the scheduler process that leads most queues. Every accepted activation must
 * still run (0 lost; duplicates are counted and reported), and followers must
 * lead the dead scheduler's queues again within 2 × the lease TTL.
 */
import { assertEquals } from "@std/assert";
import {
  type ActivationMessage,
  QueueLeader,
  QueueServiceClient,
  SchedulerStates,
} from "@faas/proto";
import { type CloseReason, ContainerProxy, storeLeaderResolver } from "@faas/sdk";
import {
  activationFixture,
  ETCD_ENDPOINTS,
  eventually,
  type TestCluster,
  testCluster,
  tokens,
} from "./_harness.ts";
import { spawnScheduler } from "./_processes.ts";

const ACTIONS = Array.from({ length: 20 }, (_, i) => `chaos${i}`);
const RATE_PER_TICK = 10; // every 50 ms: 200 activations/s
const LEASE_TTL_MS = 3_000;
const sentTo = new Map<string, string>();

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
function containerPool(cluster: TestCluster, ran: Map<string, number>, stop: AbortSignal) {
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
  accepted: Set<string>,
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
    await cluster.publish(sid, messages);
    for (const m of messages) {
      accepted.add(m.activationId);
      sentTo.set(m.activationId, `${sid}@${Date.now()}`);
    }
  }));
}

async function createQueues(
  cluster: TestCluster,
  clients: readonly QueueServiceClient[],
): Promise<void> {
  await Promise.all(ACTIONS.map((name, i) =>
    clients[i % clients.length]!.createQueue({
      invocationNamespace: "guest",
      fqn: JSON.stringify({ path: "guest", name, version: "0.0.1" }),
      rev: JSON.stringify("1-a"),
    })
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

async function chaosRound(round: number): Promise<void> {
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
  const accepted = new Set<string>();
  const router = new Router(cluster);
  // Closed only after the schedulers are gone: a closing channel sends GOAWAY,
  // which Deno 2.9.6 may crash on (denoland/deno#36788).
  const clients = schedulers.map((s) => new QueueServiceClient(`127.0.0.1:${s.rpcPort}`));
  let pool: Promise<unknown> = Promise.resolve();
  try {
    await createQueues(cluster, clients);
    await router.refresh();
    pool = containerPool(cluster, ran, stopContainers.signal);
    const refresher = setInterval(() => void router.refresh().catch(() => {}), 250);
    let publishing = Promise.resolve();
    const publisher = setInterval(() => {
      publishing = publishing.then(() => publishTick(cluster, router, accepted)).catch(() => {});
    }, 50);
    try {
      for (let t = 0; t < 3_000; t += 300) {
        await new Promise((r) => setTimeout(r, 300));
        if (Deno.env.get("CHAOS_DEBUG")) {
          report({
            before: t,
            ...Object.fromEntries(
              ACTIONS.slice(0, 8).map((a) => [a, Number(router.leaderOf(a)?.slice(1) ?? -1)]),
            ),
          });
        }
      }
      const victimSid = victimOf(router);
      const affected = ACTIONS.filter((a) => router.leaderOf(a) === victimSid);
      const victim = schedulers.find((s) => s.sid === victimSid)!;
      const killedAt = Date.now();
      await victim.kill("SIGKILL");
      await eventually("followers to lead the dead scheduler's queues", async () => {
        await router.refresh();
        if (Deno.env.get("CHAOS_DEBUG")) {
          report({
            t: Date.now() - killedAt,
            ...Object.fromEntries(
              affected.map((a) => [a, Number(router.leaderOf(a)?.slice(1) ?? -1)]),
            ),
          });
        }
        return affected.every((a) => (router.leaderOf(a) ?? victimSid) !== victimSid);
      }, 20_000);
      const failoverMs = Date.now() - killedAt;
      await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 8_000 - Date.now())));
      clearInterval(publisher);
      await publishing;
      await eventually(
        "every accepted activation to run",
        () => [...accepted].every((id) => ran.has(id)),
        45_000,
      ).catch(() => {});
      const lost = [...accepted].filter((id) => !ran.has(id));
      const duplicates = [...ran.values()].filter((n) => n > 1).length;
      if (Deno.env.get("CHAOS_DEBUG")) {
        for (const id of lost.slice(0, 200)) {
          const [sid, at] = sentTo.get(id)!.split("@");
          report({
            lostSid: Number(sid!.slice(1)),
            ms: Number(at) - killedAt,
            victim: Number(victimSid.slice(1)),
          });
        }
      }
      report({
        round,
        accepted: accepted.size,
        lost: lost.length,
        duplicates,
        failoverMs,
        affected: affected.length,
      });
      assertEquals(
        lost.length,
        0,
        `${lost.length} of ${accepted.size} accepted activations were lost`,
      );
      assertEquals(failoverMs <= 2 * LEASE_TTL_MS, true, `new leaders took ${failoverMs} ms`);
    } finally {
      clearInterval(publisher);
      clearInterval(refresher);
    }
  } finally {
    stopContainers.abort();
    await pool;
    await Promise.all(schedulers.map((s) => s.kill("SIGKILL")));
    for (const c of clients) c.close();
  }
}

function report(result: Record<string, number>): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`chaos: ${JSON.stringify(result)}\n`));
}

for (const round of [1, 2, 3]) {
  Deno.test(`failover chaos: SIGKILL of the busiest leader loses no activation (round ${round})`, () =>
    chaosRound(round));
}
