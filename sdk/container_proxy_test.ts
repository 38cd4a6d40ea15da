import { assertEquals, assertExists } from "@std/assert";
import {
  type ActivationMessage,
  encodeFetchResult,
  FETCH_TOKEN_METADATA_KEY,
  type FetchRequest,
  type FetchResult,
  RpcError,
  type RpcServer,
  type SchedulerEndpoints,
  serveRpc,
} from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import { ContainerProxy, type ContainerProxyOptions } from "./container_proxy.ts";
import { RescheduleActivationError } from "./errors.ts";
import type { LeaderResolver } from "./leader_resolver.ts";

/** A scheduler stand-in that answers fetches from a script and records requests. */
class FakeScheduler implements AsyncDisposable {
  readonly requests: FetchRequest[] = [];
  readonly rescheduled: string[] = [];
  readonly tokens: (string | undefined)[] = [];
  #answers: FetchResult[];
  #fallback: FetchResult;
  #server!: RpcServer;

  constructor(answers: FetchResult[], fallback: FetchResult = { kind: "no_activation" }) {
    this.#answers = answers;
    this.#fallback = fallback;
  }

  static async start(answers: FetchResult[], fallback?: FetchResult): Promise<FakeScheduler> {
    const fake = new FakeScheduler(answers, fallback);
    fake.#server = await serveRpc({
      activation: {
        fetchActivation: async (request, context) => {
          fake.requests.push(request);
          fake.tokens.push(context.metadata(FETCH_TOKEN_METADATA_KEY));
          if (context.metadata(FETCH_TOKEN_METADATA_KEY) === "bad") {
            throw new RpcError("PERMISSION_DENIED", "The fetch token does not grant this action");
          }
          const answer = fake.#answers.shift() ?? fake.#fallback;
          if (answer.kind === "no_activation") await new Promise((r) => setTimeout(r, 20));
          return { activationMessage: encodeFetchResult(answer) };
        },
        rescheduleActivation: (request) => {
          fake.rescheduled.push(JSON.parse(request.activationMessage).activationId);
          return Promise.resolve({ isRescheduled: true });
        },
      },
    });
    return fake;
  }

  get endpoint(): SchedulerEndpoints {
    return { host: "127.0.0.1", rpcPort: this.#server.port };
  }

  close(): Promise<void> {
    return this.#server.close(0);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const fixedResolver = (endpoint: SchedulerEndpoints | undefined): LeaderResolver => ({
  resolve: () => Promise.resolve(endpoint),
});

function options(overrides: Partial<ContainerProxyOptions>): ContainerProxyOptions {
  return {
    invocationNamespace: "guest",
    action: { path: "guest", name: "hello", version: "0.0.1" },
    revision: "1-a",
    containerId: "c1",
    fetchToken: "token",
    resolver: fixedResolver(undefined),
    retryDelayMs: 5,
    noLeaderGraceMs: 0,
    ...overrides,
  };
}

const activation = (): FetchResult => ({ kind: "activation", message: activationFixture() });

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("ContainerProxy reports warmed, lastDuration and the token, and says goodbye with alive=false", async () => {
  await using scheduler = await FakeScheduler.start([activation(), activation()]);
  const ran: string[] = [];
  const proxy = ContainerProxy.start(
    options({ endpoint: scheduler.endpoint }),
    async (message: ActivationMessage) => {
      await new Promise((r) => setTimeout(r, 30));
      ran.push(message.activationId);
    },
  );
  await waitFor(() => scheduler.requests.length >= 3);
  assertEquals(await proxy.close(), { kind: "stopped" });
  const [first, second, third] = scheduler.requests;
  assertEquals([first?.warmed, first?.lastDuration, first?.alive], [false, undefined, true]);
  assertEquals(second?.warmed, true);
  assertEquals((second?.lastDuration ?? 0) >= 25, true, `lastDuration ${second?.lastDuration}`);
  assertEquals(third?.alive, true);
  // The goodbye carries a duration only if the last run was not reported yet.
  assertEquals(scheduler.requests.at(-1)?.alive, false);
  assertEquals(ran.length, 2);
  assertEquals(new Set(scheduler.tokens), new Set(["token"]));
});

Deno.test("ContainerProxy follows the queue to the new leader after no_queue", async () => {
  await using old = await FakeScheduler.start([], { kind: "no_queue" });
  await using next = await FakeScheduler.start([activation()]);
  let ran = 0;
  const proxy = ContainerProxy.start(
    options({ endpoint: old.endpoint, resolver: fixedResolver(next.endpoint) }),
    () => Promise.resolve(void ran++),
  );
  await waitFor(() => ran === 1);
  assertEquals(proxy.address, `127.0.0.1:${next.endpoint.rpcPort}`);
  await proxy.close();
});

Deno.test("ContainerProxy follows the queue after its scheduler fails", async () => {
  const dead = await FakeScheduler.start([]);
  const deadEndpoint = dead.endpoint;
  await dead.close();
  await using next = await FakeScheduler.start([activation()]);
  let ran = 0;
  const proxy = ContainerProxy.start(
    options({ endpoint: deadEndpoint, resolver: fixedResolver(next.endpoint) }),
    () => Promise.resolve(void ran++),
  );
  await waitFor(() => ran === 1);
  await proxy.close();
});

Deno.test("ContainerProxy terminates with no_leader when etcd has no leader for the action", async () => {
  await using scheduler = await FakeScheduler.start([], { kind: "no_queue" });
  const proxy = ContainerProxy.start(
    options({ endpoint: scheduler.endpoint, resolver: fixedResolver(undefined) }),
    () => Promise.resolve(),
  );
  assertEquals(await proxy.closed, { kind: "no_leader" });
  assertEquals(scheduler.requests.at(-1)?.alive, false);
});

Deno.test("ContainerProxy waits out a short gap without a leader instead of terminating", async () => {
  await using scheduler = await FakeScheduler.start([activation()], { kind: "no_queue" });
  const known: { leader?: { host: string; rpcPort: number } } = {};
  let lookups = 0;
  const resolver = {
    resolve: () => {
      lookups++;
      return Promise.resolve(known.leader);
    },
  };
  let ran = 0;
  const proxy = ContainerProxy.start(
    options({ resolver, noLeaderGraceMs: 5_000 }),
    () => Promise.resolve(void ran++),
  );
  await waitFor(() => lookups >= 3); // no leader yet: still looking
  known.leader = scheduler.endpoint;
  await waitFor(() => ran === 1);
  await proxy.close();
  assertEquals(await proxy.closed, { kind: "stopped" });
});

Deno.test("ContainerProxy terminates with no_leader when it has nowhere to start", async () => {
  const proxy = ContainerProxy.start(options({}), () => Promise.resolve());
  assertEquals(await proxy.closed, { kind: "no_leader" });
});

Deno.test("ContainerProxy stops on action_mismatch, as its code is outdated", async () => {
  await using scheduler = await FakeScheduler.start([{ kind: "action_mismatch" }]);
  const proxy = ContainerProxy.start(
    options({ endpoint: scheduler.endpoint }),
    () => Promise.resolve(),
  );
  assertEquals(await proxy.closed, { kind: "action_mismatch" });
});

Deno.test("ContainerProxy stops when the scheduler refuses its token", async () => {
  await using scheduler = await FakeScheduler.start([]);
  const proxy = ContainerProxy.start(
    options({ endpoint: scheduler.endpoint, fetchToken: "bad" }),
    () => Promise.resolve(),
  );
  const reason = await proxy.closed;
  assertEquals(reason.kind, "refused");
  if (reason.kind === "refused") assertEquals(reason.error.code, "PERMISSION_DENIED");
});

Deno.test("ContainerProxy hands back an activation whose handler throws RescheduleActivationError", async () => {
  const answer = activation();
  await using scheduler = await FakeScheduler.start([answer]);
  const proxy = ContainerProxy.start(options({ endpoint: scheduler.endpoint }), () => {
    throw new RescheduleActivationError();
  });
  await waitFor(() => scheduler.rescheduled.length === 1);
  assertExists(answer.kind === "activation" ? answer.message : undefined);
  if (answer.kind === "activation") {
    assertEquals(scheduler.rescheduled, [answer.message.activationId]);
  }
  await proxy.close();
});

Deno.test("ContainerProxy stops after idleTimeoutMs without activations", async () => {
  await using scheduler = await FakeScheduler.start([]);
  const proxy = ContainerProxy.start(
    options({ endpoint: scheduler.endpoint, idleTimeoutMs: 100 }),
    () => Promise.resolve(),
  );
  assertEquals(await proxy.closed, { kind: "idle" });
});
