import { assertEquals } from "@std/assert";
import { decide, type Decision, type QueueSnapshot } from "./decision.ts";
import { snapshotFixture as snapshot } from "./_testing.ts";

const NOW = 1_000_000;

interface Row {
  readonly name: string;
  readonly snapshot: QueueSnapshot;
  readonly expected: Decision;
}

const none: Decision = { kind: "none" };
const add = (count: number, reason: "first_container" | "scale_up" | "retry_after_failure") =>
  ({ kind: "add", count, reason }) as const;

const lifecycle: Row[] = [
  {
    name: "an idle queue adds nothing",
    snapshot: snapshot({ state: "idle", initialized: false }),
    expected: none,
  },
  {
    name: "a queue being removed hands its backlog back instead of adding containers",
    snapshot: snapshot({ state: "removing", queued: 5, stale: 5 }),
    expected: none,
  },
  {
    name: "a removed queue adds nothing",
    snapshot: snapshot({ state: "removed", queued: 1 }),
    expected: none,
  },
];

const limits: Row[] = [
  {
    name: "a namespace limit of 0 fails waiting activations at once",
    snapshot: snapshot({ namespaceLimit: 0, queued: 1 }),
    expected: {
      kind: "fail",
      error: "ZeroNamespaceLimit",
      reason: 'Cannot create containers: the namespace limit is "0"',
    },
  },
  {
    name: "a namespace limit of 0 with nothing waiting decides nothing",
    snapshot: snapshot({ namespaceLimit: 0 }),
    expected: none,
  },
  {
    name: "a flushing queue keeps failing new activations under a namespace limit of 0",
    snapshot: snapshot({ state: "flushing", namespaceLimit: 0, incoming: 2 }),
    expected: {
      kind: "fail",
      error: "ZeroNamespaceLimit",
      reason: 'Cannot create containers: the namespace limit is "0"',
    },
  },
  {
    name: "an action instance limit of 0 fails waiting activations at once",
    snapshot: snapshot({ actionLimit: 0, queued: 3 }),
    expected: {
      kind: "fail",
      error: "InvalidActionLimitError",
      reason: 'Cannot create containers: the action instance limit is "0"',
    },
  },
  {
    name: "an action instance limit of 0 with nothing waiting decides nothing",
    snapshot: snapshot({ actionLimit: 0 }),
    expected: none,
  },
];

const firstContainers: Row[] = [
  {
    name: "an action without containers gets exactly one for its backlog",
    snapshot: snapshot({ queued: 50, stale: 50 }),
    expected: add(1, "first_container"),
  },
  {
    name: "incoming activations count as work for the first container",
    snapshot: snapshot({ incoming: 1 }),
    expected: add(1, "first_container"),
  },
  {
    name: "a new queue gets its first container before any activation arrives",
    snapshot: snapshot({ initialized: false }),
    expected: add(1, "first_container"),
  },
  {
    name: "an initialized queue with no container and no work stays empty",
    snapshot: snapshot(),
    expected: none,
  },
  {
    name: "an action-throttled queue without containers still gets one",
    snapshot: snapshot({ state: "action_throttled", queued: 10_000 }),
    expected: add(1, "first_container"),
  },
];

const flushing: Row[] = [
  {
    name: "a flushing queue retries its first container when activations wait",
    snapshot: snapshot({ state: "flushing", queued: 2 }),
    expected: add(1, "retry_after_failure"),
  },
  {
    name: "a flushing queue rests after a recent failure",
    snapshot: snapshot({ state: "flushing", queued: 2, lastFailureAt: NOW - 999 }),
    expected: none,
  },
  {
    name: "a flushing queue retries once the rest after a failure is over",
    snapshot: snapshot({ state: "flushing", queued: 2, lastFailureAt: NOW - 1_000 }),
    expected: add(1, "retry_after_failure"),
  },
  {
    name: "a flushing queue with nothing waiting adds nothing",
    snapshot: snapshot({ state: "flushing", initialized: false }),
    expected: none,
  },
  {
    name: "a flushing queue waits for the creation in progress",
    snapshot: snapshot({ state: "flushing", queued: 40, stale: 40, inProgress: 1 }),
    expected: none,
  },
];

for (
  const [group, rows] of Object.entries({ lifecycle, limits, firstContainers, flushing })
) {
  for (const row of rows) {
    Deno.test(`decide() ${group}: ${row.name}`, () => {
      assertEquals(decide(row.snapshot, NOW), row.expected);
    });
  }
}

Deno.test("decide() honours its options", () => {
  const slow = snapshot({ existing: 1, queued: 2, averageDurationMs: 400 });
  assertEquals(decide(slow, NOW), add(1, "scale_up"));
  assertEquals(decide(slow, NOW, { staleThresholdMs: 1_000 }), none);
  const fair = snapshot({ queued: 1, namespaceLimit: 10, namespaceExisting: 12 });
  assertEquals(decide(fair, NOW, { overProvisionRatio: 1.2 }), {
    kind: "throttle_namespace",
    add: 0,
  });
  const failed = snapshot({ state: "flushing", queued: 1, lastFailureAt: NOW - 200 });
  assertEquals(decide(failed, NOW, { flushRetryDelayMs: 100 }), add(1, "retry_after_failure"));
});
