import { assertEquals, assertRejects } from "@std/assert";
import { GroupCommit } from "./group_commit.ts";

/** A flush the test completes by hand, recording each batch. */
function manualFlush() {
  const batches: number[][] = [];
  const finish: ((error?: Error) => void)[] = [];
  const flush = (items: readonly number[]) => {
    batches.push([...items]);
    return new Promise<void>((resolve, reject) =>
      finish.push((error) => error ? reject(error) : resolve())
    );
  };
  return { batches, finish, flush };
}

Deno.test("GroupCommit flushes a lone item at once", async () => {
  const { batches, finish, flush } = manualFlush();
  const commit = new GroupCommit(flush);
  const done = commit.submit(1);
  assertEquals(batches, [[1]]);
  finish[0]!();
  await done;
});

Deno.test("GroupCommit sends what queued during a flush as the next batch, in order", async () => {
  const { batches, finish, flush } = manualFlush();
  const commit = new GroupCommit(flush);
  const all = [1, 2, 3, 4].map((n) => commit.submit(n));
  assertEquals(batches, [[1]]);
  finish[0]!();
  await all[0];
  assertEquals(batches, [[1], [2, 3, 4]]);
  finish[1]!();
  await Promise.all(all);
});

Deno.test("GroupCommit fails only the items of the failed flush, and keeps going", async () => {
  const { batches, finish, flush } = manualFlush();
  const commit = new GroupCommit(flush, 2);
  const first = commit.submit(1);
  const [second, third, fourth] = [2, 3, 4].map((n) => commit.submit(n));
  finish[0]!(new Error("broker down"));
  await assertRejects(() => first, Error, "broker down");
  assertEquals(batches, [[1], [2, 3]]);
  finish[1]!();
  await Promise.all([second, third]);
  assertEquals(batches, [[1], [2, 3], [4]]);
  finish[2]!();
  await fourth;
});

Deno.test("GroupCommit fails single items when the flush says which", async () => {
  const commit = new GroupCommit<number>((items) =>
    Promise.resolve(items.map((n) => n % 2 ? new Error(`odd ${n}`) : undefined))
  );
  const outcomes = await Promise.allSettled([1, 2, 3].map((n) => commit.submit(n)));
  assertEquals(outcomes.map((o) => o.status), ["rejected", "fulfilled", "rejected"]);
});
