import { assertEquals } from "@std/assert";
import { type Bus, connectKafka, MemoryBus } from "@faas/bus";
import { connectEtcd, MemoryStore, type Store } from "@faas/coordination";
import {
  type ActionMetadata,
  clusterKeys,
  FetchTokens,
  type InvokerResourceMessage,
  topics,
} from "@faas/proto";
import {
  ContainerProvisioner,
  type ContainerProvisionerOptions,
  type ProvisionDemand,
} from "./container_provisioner.ts";
import type { CreationOutcome } from "./creation_outcome.ts";
import { type FakeAnswer, FakeInvoker } from "./_fake_invoker.ts";
import { actionFixture, ETCD_ENDPOINTS, KAFKA_BROKERS, uniqueName, waitFor } from "./_testing.ts";

interface Setup {
  readonly store: Store;
  readonly bus: Bus;
  readonly cluster: string;
  readonly topicPrefix: string;
}

interface Harness extends AsyncDisposable {
  readonly provisioner: ContainerProvisioner;
  readonly outcomes: CreationOutcome[];
  readonly clock: { now: number };
  invoker(
    id: string,
    answer?: () => FakeAnswer,
    resource?: Partial<InvokerResourceMessage>,
  ): Promise<FakeInvoker>;
  /** Puts a live container of `fqn` in namespace guest, as an invoker would. */
  container(fqn: string, id: string): Promise<void>;
}

const memory = (): Setup => ({
  store: new MemoryStore(),
  bus: new MemoryBus(),
  cluster: "whisk",
  topicPrefix: "",
});

async function harness(setup: Setup, options: ContainerProvisionerOptions = {}): Promise<Harness> {
  const { store, bus } = setup;
  const keys = clusterKeys(setup.cluster);
  const names = topics(setup.topicPrefix);
  const lease = await store.grantLease(30);
  const outcomes: CreationOutcome[] = [];
  const clock = { now: 1_000_000 };
  const invokers: FakeInvoker[] = [];
  const provisioner = await ContainerProvisioner.start({
    store,
    bus,
    keys,
    topics: names,
    tokens: new FetchTokens("a-test-secret-of-some-length"),
    leaseId: () => lease.id,
    self: () => ({ host: "127.0.0.1", rpcPort: 13001, sid: "0" }),
    onOutcome: (outcome) => outcomes.push(outcome),
  }, { now: () => clock.now, ...options });
  return {
    provisioner,
    outcomes,
    clock,
    async invoker(id, answer, resource) {
      const fake = await FakeInvoker.start({
        store,
        bus,
        keys,
        topics: names,
        id,
        leaseId: lease.id,
        ...(answer ? { answer } : {}),
        ...(resource ? { resource } : {}),
      });
      invokers.push(fake);
      return fake;
    },
    container: (fqn, id) =>
      store.put(keys.existingContainer("guest", fqn, "1-a", "9", id), "", { leaseId: lease.id }),
    async [Symbol.asyncDispose]() {
      await provisioner.close();
      for (const fake of invokers) await fake.close();
      await store.revokeLease(lease.id);
      if (setup.cluster !== "whisk") await store.deletePrefix(`${setup.cluster}/`);
      await bus.close();
      await store.close();
    },
  };
}

const demand = (overrides: Partial<ProvisionDemand> = {}): ProvisionDemand => ({
  invocationNamespace: "guest",
  action: actionFixture(),
  state: "running",
  queued: 1,
  stale: 0,
  averageDurationMs: undefined,
  ...overrides,
});

const named = (name: string): ActionMetadata => actionFixture({ name });

/** Provisions once to retain the namespace, then waits for its counts. */
async function warmUp(h: Harness, first: ProvisionDemand): Promise<void> {
  assertEquals(h.provisioner.provision(first), { kind: "none" }); // counts still loading
  await h.provisioner.reconcile();
}

Deno.test("ContainerProvisioner creates a first container, then scales on the counted one", async () => {
  await using h = await harness(memory());
  const invoker = await h.invoker("0");
  await warmUp(h, demand());
  assertEquals(h.provisioner.provision(demand()), {
    kind: "add",
    count: 1,
    reason: "first_container",
  });
  await waitFor("the container", () => h.outcomes.length === 1);
  assertEquals([h.outcomes[0]?.kind, invoker.received.length], ["created", 1]);
  await h.provisioner.reconcile();
  const backlog = demand({ queued: 4, stale: 4 });
  assertEquals(h.provisioner.provision(backlog), { kind: "add", count: 4, reason: "scale_up" });
});

Deno.test("ContainerProvisioner does not create the same containers twice while their keys travel", async () => {
  await using h = await harness(memory());
  const invoker = await h.invoker("0", () => ({ kind: "silent" }));
  await warmUp(h, demand());
  const backlog = demand({ queued: 3, stale: 3 });
  assertEquals(h.provisioner.provision(backlog), {
    kind: "add",
    count: 1,
    reason: "first_container",
  });
  // Same tick, before any watch event: creations in flight count.
  assertEquals(h.provisioner.provision(backlog), { kind: "add", count: 2, reason: "scale_up" });
  assertEquals(h.provisioner.provision(backlog), { kind: "none" });
  await waitFor("the commands", () => invoker.received.length === 3);
  await h.provisioner.reconcile();
  assertEquals(h.provisioner.provision(backlog), { kind: "none" });
});

Deno.test("ContainerProvisioner lets every action of a full namespace start (no starvation)", async () => {
  await using h = await harness(memory());
  await h.invoker("0", () => ({ kind: "silent" }));
  await h.container("guest/busy", "c1");
  await h.container("guest/busy", "c2");
  const limit = { namespaceLimit: 2 };
  await warmUp(h, demand({ action: named("busy"), ...limit }));
  const busy = demand({ action: named("busy"), queued: 50, stale: 50, ...limit });
  assertEquals(h.provisioner.provision(busy), { kind: "none" });
  const second = demand({ action: named("second"), ...limit });
  assertEquals(h.provisioner.provision(second), { kind: "throttle_namespace", add: 1 });
  const third = demand({ action: named("third"), ...limit });
  assertEquals(h.provisioner.provision(third), { kind: "throttle_namespace", add: 0 });
});

Deno.test("ContainerProvisioner fails an action no invoker can host, then rests before retrying", async () => {
  await using h = await harness(memory());
  await h.invoker("0", undefined, { freeMemory: 1024, busyMemory: 1024 });
  const big = actionFixture({ limits: { ...actionFixture().limits, memory: 4096 } });
  await warmUp(h, demand({ action: big }));
  assertEquals(h.provisioner.provision(demand({ action: big })).kind, "add");
  await waitFor("the failure", () => h.outcomes.length === 1);
  const failed = h.outcomes[0]!;
  assertEquals(failed.kind === "failed" && [failed.reason, failed.retryable], [
    'No invoker can host 4096 MB for "guest/hello"; the largest has 2048 MB',
    false,
  ]);
  const flushing = demand({ action: big, state: "flushing" });
  assertEquals(h.provisioner.provision(flushing), { kind: "none" });
  h.clock.now += 1_000;
  assertEquals(h.provisioner.provision(flushing), {
    kind: "add",
    count: 1,
    reason: "retry_after_failure",
  });
});

Deno.test("ContainerProvisioner fails fast on a zero namespace limit and forgets released queues", async () => {
  await using h = await harness(memory());
  await warmUp(h, demand());
  assertEquals(h.provisioner.provision(demand({ namespaceLimit: 0 })), {
    kind: "fail",
    error: "ZeroNamespaceLimit",
    reason: 'Cannot create containers: the namespace limit is "0"',
  });
  h.provisioner.release("guest", "guest/hello", "1-a");
  h.provisioner.release("guest", "guest/hello", "1-a");
  // The namespace is counted afresh: nothing is decided on stale counts.
  assertEquals(h.provisioner.provision(demand()), { kind: "none" });
  await h.provisioner.close();
  assertEquals(h.provisioner.provision(demand()), { kind: "none" });
});

Deno.test("ContainerProvisioner creates and counts a container through real etcd and Kafka", async () => {
  const name = uniqueName();
  const setup: Setup = {
    store: await connectEtcd({ endpoints: ETCD_ENDPOINTS }),
    bus: await connectKafka({ brokers: KAFKA_BROKERS, clientId: name }),
    cluster: name,
    topicPrefix: `${name}-`,
  };
  await using h = await harness(setup);
  await h.invoker("0");
  await warmUp(h, demand());
  assertEquals(h.provisioner.provision(demand()).kind, "add");
  await waitFor("the container", () => h.outcomes.length === 1, 30_000);
  assertEquals(h.outcomes[0]?.kind, "created");
  await h.provisioner.reconcile();
  // One live container, no creation left: the backlog of one needs nothing more.
  assertEquals(h.provisioner.provision(demand()), { kind: "none" });
  assertEquals(h.provisioner.provision(demand({ queued: 3, stale: 3 })), {
    kind: "add",
    count: 3,
    reason: "scale_up",
  });
});
