import { assertEquals } from "@std/assert";
import { MemoryStore } from "@faas/coordination";
import { type ActionDoc, clusterKeys } from "@faas/proto";
import type { ContainerFactory } from "./container/container_factory.ts";
import { ContainerPool } from "./container_pool.ts";
import { ContainerCreator, type CreationOutcome } from "./creation.ts";
import { ContainerStartError } from "./errors.ts";
import { LeasedKeys } from "./leased_keys.ts";
import { MemoryLedger } from "./resources.ts";
import { actionFixture, creationFixture } from "./_testing.ts";

const failingFactory: ContainerFactory = {
  create: (spec) => Promise.reject(new ContainerStartError(spec.id, spec.kind, "No way")),
  [Symbol.asyncDispose]: () => Promise.resolve(),
};

async function outcomeOf(
  action: ActionDoc | undefined,
  options: { memoryMb?: number; shuttingDown?: boolean } = {},
): Promise<CreationOutcome> {
  await using store = new MemoryStore();
  const ledger = new MemoryLedger(options.memoryMb ?? 1024);
  const creator = new ContainerCreator({
    invokerId: "0",
    keys: clusterKeys("test"),
    catalog: { getRevision: () => Promise.resolve(action) },
    factory: failingFactory,
    ledger,
    pool: new ContainerPool(),
    evictAfterIdleMs: 0,
    containers: {
      keys: new LeasedKeys(store, (await store.grantLease(10)).id),
      resolver: { resolve: () => Promise.resolve(undefined) },
      publish: () => Promise.resolve(),
      idleTimeoutMs: 0,
    },
    shuttingDown: () => options.shuttingDown ?? false,
    signal: new AbortController().signal,
  });
  const outcome = await creator.create(
    creationFixture(action ?? actionFixture(), 1),
  );
  // Whatever happened, no memory stays reserved for a failed creation.
  if (!outcome.ok) assertEquals(ledger.snapshot().inProgressMb + ledger.snapshot().busyMb, 0);
  return outcome;
}

const errorOf = (outcome: CreationOutcome) => outcome.ok ? "ok" : outcome.error;

Deno.test("ContainerCreator.create() refuses with ShuttingDownError while shutting down", async () => {
  assertEquals(
    errorOf(await outcomeOf(actionFixture(), { shuttingDown: true })),
    "ShuttingDownError",
  );
});

Deno.test("ContainerCreator.create() refuses with ResourceNotEnoughError when memory does not fit", async () => {
  const outcome = await outcomeOf(actionFixture({ memoryMb: 512 }), { memoryMb: 256 });
  assertEquals(outcome, {
    ok: false,
    error: "ResourceNotEnoughError",
    reason: 'Invoker "0" has 256 MB free, the action needs 512 MB',
  });
});

Deno.test("ContainerCreator.create() answers DBFetchError for an action that is not in the catalog", async () => {
  assertEquals(errorOf(await outcomeOf(undefined)), "DBFetchError");
});

Deno.test("ContainerCreator.create() answers NonExecutableActionError for an action without code", async () => {
  const action = actionFixture();
  const { code: _code, ...exec } = action.exec;
  assertEquals(errorOf(await outcomeOf({ ...action, exec })), "NonExecutableActionError");
});

Deno.test("ContainerCreator.create() answers WhiskError, or BlackBoxError for blackbox, when the container fails", async () => {
  const failed = await outcomeOf(actionFixture());
  assertEquals(failed, { ok: false, error: "WhiskError", reason: "No way" });
  const blackbox = actionFixture({ kind: "blackbox" });
  assertEquals(
    errorOf(await outcomeOf({ ...blackbox, exec: { ...blackbox.exec, image: "x" } })),
    "BlackBoxError",
  );
});
