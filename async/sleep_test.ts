import { assertEquals, assertLess } from "@std/assert";
import { sleep } from "./sleep.ts";

Deno.test("sleep() waits the given time", async () => {
  const started = performance.now();
  await sleep(30);
  assertEquals(performance.now() - started >= 25, true);
});

Deno.test("sleep() resolves early, without rejecting, when the signal aborts", async () => {
  const stop = new AbortController();
  const started = performance.now();
  const waiting = sleep(10_000, stop.signal);
  stop.abort(new Error("stop"));
  await waiting;
  assertLess(performance.now() - started, 1_000);
  await sleep(10_000, stop.signal);
});
