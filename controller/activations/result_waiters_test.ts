import { assertEquals } from "@std/assert";
import { newActivationId, StatusCode, type WhiskActivation } from "@faas/proto";
import { ResultWaiters } from "./result_waiters.ts";

function record(activationId: string): WhiskActivation {
  return {
    namespace: "guest",
    name: "a",
    subject: "guest",
    activationId,
    start: 1,
    end: 2,
    response: { statusCode: StatusCode.success, result: {} },
    logs: [],
    version: "0.0.1",
    publish: false,
    annotations: [],
  };
}

Deno.test("ResultWaiters.resolve() completes the registered wait", async () => {
  const waiters = new ResultWaiters();
  const id = newActivationId();
  using pending = waiters.register(id);
  assertEquals(waiters.resolve(record(newActivationId())), false);
  assertEquals(waiters.resolve(record(id)), true);
  const outcome = await pending.wait(new AbortController().signal);
  assertEquals(outcome.kind === "completed" && outcome.activation.activationId, id);
  assertEquals(waiters.size, 0);
});

Deno.test("PendingResult.wait() ends with timed_out when its signal aborts", async () => {
  const waiters = new ResultWaiters();
  const stop = new AbortController();
  {
    using pending = waiters.register(newActivationId());
    const waiting = pending.wait(stop.signal);
    stop.abort();
    assertEquals(await waiting, { kind: "timed_out" });
    assertEquals(await pending.wait(stop.signal), { kind: "timed_out" });
  }
  assertEquals(waiters.size, 0, "disposing the wait unregisters it");
});
