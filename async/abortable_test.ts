import { assertEquals, assertRejects } from "@std/assert";
import { abortable } from "./abortable.ts";

Deno.test("abortable() settles like the promise when the signal stays quiet", async () => {
  assertEquals(await abortable(Promise.resolve(1), new AbortController().signal), 1);
  await assertRejects(() => abortable(Promise.reject(new Error("no")), undefined), Error, "no");
});

Deno.test("abortable() rejects with the reason as soon as the signal aborts", async () => {
  const controller = new AbortController();
  const never = new Promise<number>(() => {});
  const waiting = abortable(never, controller.signal);
  const reason = new Error("stop");
  controller.abort(reason);
  assertEquals(await waiting.catch((e) => e), reason);
  assertEquals(await abortable(never, AbortSignal.abort(reason)).catch((e) => e), reason);
});
