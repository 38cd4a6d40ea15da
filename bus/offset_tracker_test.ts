import { assertEquals, assertRejects } from "@std/assert";
import type { CommitPosition } from "./bus.ts";
import { OffsetTracker } from "./offset_tracker.ts";

function record(offset: number, partition = 0, topic = "t") {
  return { topic, partition, offset: String(offset) };
}

Deno.test("OffsetTracker.committable() is empty until a record is done", () => {
  const tracker = new OffsetTracker();
  tracker.track(record(5));
  tracker.track(record(6));
  assertEquals(tracker.committable(), []);
});

Deno.test("OffsetTracker.committable() stops at the oldest record still in progress", () => {
  const tracker = new OffsetTracker();
  const done = [0, 1, 2, 3].map((offset) => tracker.track(record(offset)));
  done[2]!();
  done[3]!();
  assertEquals(tracker.committable(), [], "offset 0 is still in progress");
  done[0]!();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 0, offset: "1" }]);
  done[1]!();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 0, offset: "4" }]);
});

Deno.test("OffsetTracker.committable() reports each partition separately", () => {
  const tracker = new OffsetTracker();
  const a0 = tracker.track(record(10, 0));
  tracker.track(record(11, 0));
  const b0 = tracker.track(record(3, 1));
  const c0 = tracker.track(record(7, 0, "other"));
  a0();
  b0();
  c0();
  assertEquals(tracker.committable(), [
    { topic: "t", partition: 0, offset: "11" },
    { topic: "t", partition: 1, offset: "4" },
    { topic: "other", partition: 0, offset: "8" },
  ]);
});

Deno.test("OffsetTracker.track() returns a done function that is idempotent", () => {
  const tracker = new OffsetTracker();
  const first = tracker.track(record(0));
  tracker.track(record(1));
  first();
  first();
  first();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 0, offset: "1" }]);
});

Deno.test("OffsetTracker.markCommitted() hides positions until they advance again", () => {
  const tracker = new OffsetTracker();
  tracker.track(record(0))();
  const second = tracker.track(record(1));
  const positions = tracker.committable();
  assertEquals(positions, [{ topic: "t", partition: 0, offset: "1" }]);
  tracker.markCommitted(positions);
  assertEquals(tracker.committable(), []);
  second();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 0, offset: "2" }]);
});

Deno.test("OffsetTracker.committable() never moves behind a committed position", () => {
  const tracker = new OffsetTracker();
  tracker.track(record(0))();
  tracker.track(record(1))();
  tracker.markCommitted(tracker.committable());
  // A redelivery of an already committed record must not pull the position back.
  const again = tracker.track(record(0));
  assertEquals(tracker.committable(), []);
  again();
  assertEquals(tracker.committable(), []);
  tracker.track(record(2))();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 0, offset: "3" }]);
});

Deno.test("OffsetTracker.markCommitted() ignores a position older than the last one", () => {
  const tracker = new OffsetTracker();
  for (let offset = 0; offset < 5; offset++) tracker.track(record(offset))();
  tracker.markCommitted([{ topic: "t", partition: 0, offset: "5" }]);
  tracker.markCommitted([{ topic: "t", partition: 0, offset: "2" }]);
  assertEquals(tracker.committable(), []);
});

Deno.test("OffsetTracker.forget() drops revoked partitions and ignores their late completions", () => {
  const tracker = new OffsetTracker();
  const late = tracker.track(record(0, 0));
  tracker.track(record(0, 1))();
  tracker.forget([{ topic: "t", partition: 0 }]);
  late();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 1, offset: "1" }]);
  // Tracking starts afresh after the partition comes back.
  const fresh = tracker.track(record(4, 0));
  tracker.markCommitted(tracker.committable());
  fresh();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 0, offset: "5" }]);
});

Deno.test("OffsetTracker handles offsets beyond 2^53", () => {
  const tracker = new OffsetTracker();
  const big = "9007199254740993";
  tracker.track({ topic: "t", partition: 0, offset: big })();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 0, offset: "9007199254740994" }]);
});

Deno.test("OffsetTracker stays correct over many out-of-order completions", () => {
  const tracker = new OffsetTracker();
  const count = 5000;
  const done = Array.from({ length: count }, (_, offset) => tracker.track(record(offset)));
  // Finish odd offsets first, then even ones from the end, checking the watermark on the way.
  for (let offset = 1; offset < count; offset += 2) done[offset]!();
  assertEquals(tracker.committable(), []);
  done[0]!();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 0, offset: "2" }]);
  for (let offset = count - 2; offset >= 2; offset -= 2) done[offset]!();
  assertEquals(tracker.committable(), [{ topic: "t", partition: 0, offset: String(count) }]);
});

Deno.test("OffsetTracker.commitTo() commits what moved, marks it, and keeps it after a failed commit", async () => {
  const tracker = new OffsetTracker();
  tracker.track({ topic: "t", partition: 0, offset: "5" })();
  const commits: CommitPosition[][] = [];
  let failing = true;
  const subscription = {
    commit: (positions: readonly CommitPosition[]) => {
      if (failing) return Promise.reject(new Error("broker away"));
      commits.push([...positions]);
      return Promise.resolve();
    },
  };
  await assertRejects(() => tracker.commitTo(subscription), Error, "broker away");
  failing = false;
  assertEquals(await tracker.commitTo(subscription), 1);
  assertEquals(commits, [[{ topic: "t", partition: 0, offset: "6" }]]);
  assertEquals(await tracker.commitTo(subscription), 0, "nothing moved since");
});
