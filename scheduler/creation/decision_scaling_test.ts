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

const fairness: Row[] = [
  {
    name: "an action without containers starts in a namespace at its limit (no starvation)",
    snapshot: snapshot({ queued: 1, namespaceLimit: 10, namespaceExisting: 10 }),
    expected: add(1, "first_container"),
  },
  {
    name: "the first container that fills the over-provision margin also throttles the namespace",
    snapshot: snapshot({ queued: 1, namespaceLimit: 10, namespaceExisting: 14 }),
    expected: { kind: "throttle_namespace", add: 1 },
  },
  {
    name: "an action without containers is throttled once the margin is used up",
    snapshot: snapshot({ queued: 1, namespaceLimit: 10, namespaceExisting: 15 }),
    expected: { kind: "throttle_namespace", add: 0 },
  },
  {
    name: "a namespace limit of 1 still leaves a margin of one first container",
    snapshot: snapshot({ queued: 1, namespaceLimit: 1, namespaceExisting: 1 }),
    expected: { kind: "throttle_namespace", add: 1 },
  },
  {
    name: "a throttled queue without room stays throttled",
    snapshot: snapshot({
      state: "namespace_throttled",
      queued: 1,
      namespaceLimit: 10,
      namespaceExisting: 15,
    }),
    expected: none,
  },
  {
    name: "a throttled queue without containers is unthrottled with its first container",
    snapshot: snapshot({
      state: "namespace_throttled",
      queued: 1,
      namespaceLimit: 10,
      namespaceExisting: 12,
    }),
    expected: { kind: "unthrottle_namespace", add: 1 },
  },
  {
    name: "a throttled queue takes the last margin slot and stays throttled",
    snapshot: snapshot({
      state: "namespace_throttled",
      queued: 1,
      namespaceLimit: 10,
      namespaceExisting: 14,
    }),
    expected: add(1, "first_container"),
  },
  {
    name: "a throttled queue with containers is unthrottled and scales when room returns",
    snapshot: snapshot({
      state: "namespace_throttled",
      existing: 1,
      queued: 3,
      stale: 3,
      namespaceLimit: 10,
      namespaceExisting: 8,
    }),
    expected: { kind: "unthrottle_namespace", add: 2 },
  },
  {
    name: "an action with containers does not grow past the namespace limit into the margin",
    snapshot: snapshot({
      existing: 2,
      queued: 9,
      stale: 9,
      namespaceLimit: 10,
      namespaceExisting: 10,
    }),
    expected: none,
  },
  {
    name: "a namespace over its margin throttles a queue that has containers",
    snapshot: snapshot({
      existing: 2,
      queued: 9,
      stale: 9,
      namespaceLimit: 10,
      namespaceExisting: 15,
    }),
    expected: { kind: "throttle_namespace", add: 0 },
  },
];

const scaling: Row[] = [
  {
    name: "without a duration, one container per stale activation minus those in progress",
    snapshot: snapshot({ existing: 1, inProgress: 1, queued: 6, stale: 4 }),
    expected: add(3, "scale_up"),
  },
  {
    name: "without a duration, stale activations are shared by concurrency",
    snapshot: snapshot({ existing: 1, queued: 7, stale: 7, concurrency: 3 }),
    expected: add(3, "scale_up"),
  },
  {
    name: "without a duration and nothing stale, no container is added",
    snapshot: snapshot({ existing: 1, queued: 6 }),
    expected: none,
  },
  {
    name: "without a duration, creations in progress cover the stale activations",
    snapshot: snapshot({ existing: 1, inProgress: 4, queued: 4, stale: 4 }),
    expected: none,
  },
  {
    name: "a slow action adds one container per waiting activation beyond the current one",
    snapshot: snapshot({ existing: 1, queued: 2, incoming: 4, averageDurationMs: 1_000 }),
    expected: add(5, "scale_up"),
  },
  {
    name: "a fast action adds containers for stale activations by throughput",
    snapshot: snapshot({ existing: 1, queued: 6, stale: 6, averageDurationMs: 50 }),
    expected: add(3, "scale_up"),
  },
  {
    name: "fresh and stale needs add up",
    snapshot: snapshot({ existing: 1, queued: 8, stale: 2, averageDurationMs: 1_000 }),
    expected: add(7, "scale_up"),
  },
  {
    name: "a duration of 0 counts one window per container",
    snapshot: snapshot({ existing: 1, queued: 4, stale: 4, averageDurationMs: 0 }),
    expected: add(4, "scale_up"),
  },
  {
    name: "fresh activations are shared by concurrency",
    snapshot: snapshot({ existing: 1, queued: 25, averageDurationMs: 1_000, concurrency: 10 }),
    expected: add(2, "scale_up"),
  },
  {
    name: "containers that keep up with the fresh backlog are enough",
    snapshot: snapshot({ existing: 5, queued: 4, averageDurationMs: 10 }),
    expected: none,
  },
  {
    name: "the action instance limit caps the growth",
    snapshot: snapshot({ existing: 2, queued: 20, stale: 20, actionLimit: 5 }),
    expected: add(3, "scale_up"),
  },
  {
    name: "the namespace limit caps the growth",
    snapshot: snapshot({
      existing: 2,
      queued: 20,
      stale: 20,
      namespaceLimit: 10,
      namespaceExisting: 6,
    }),
    expected: add(4, "scale_up"),
  },
  {
    name: "an action-throttled queue with containers keeps scaling",
    snapshot: snapshot({ state: "action_throttled", existing: 3, queued: 10_000, stale: 5 }),
    expected: add(5, "scale_up"),
  },
];

for (
  const [group, rows] of Object.entries({ fairness, scaling })
) {
  for (const row of rows) {
    Deno.test(`decide() ${group}: ${row.name}`, () => {
      assertEquals(decide(row.snapshot, NOW), row.expected);
    });
  }
}

Deno.test("decide() turns odd inputs into whole, finite counts", () => {
  const fractional = snapshot({ existing: 1, queued: 9, stale: 9, namespaceLimit: 3.5 });
  assertEquals(decide(fractional, NOW), add(2, "scale_up"));
  const broken = snapshot({ existing: 1, queued: 9, averageDurationMs: Number.NaN });
  assertEquals(decide(broken, NOW), none);
});
