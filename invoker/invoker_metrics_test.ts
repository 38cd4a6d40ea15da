import { assertEquals, assertGreater } from "@std/assert";
import { createMetrics, parseSamples, sampleSum } from "@faas/metrics";
import { ContainerPool } from "./container_pool.ts";
import { InvokerMetrics } from "./invoker_metrics.ts";
import { MemoryLedger } from "./resources.ts";

Deno.test("InvokerMetrics counts live containers' busy and idle seconds at every scrape", async () => {
  const metrics = createMetrics();
  const ledger = new MemoryLedger(256);
  using invokerMetrics = new InvokerMetrics(metrics, {
    pool: new ContainerPool(),
    memory: () => ledger.snapshot(),
    leaseUp: () => true,
  });
  const seconds = async (state: string) =>
    sampleSum(parseSamples(await metrics.render()), "faas_invoker_container_seconds_total", {
      state,
    }) ?? 0;
  const clock = invokerMetrics.containerTime.start();
  await new Promise((r) => setTimeout(r, 30));
  clock.busy();
  await new Promise((r) => setTimeout(r, 30));
  // Neither state has ended, yet both show.
  const busy = await seconds("busy");
  const idle = await seconds("idle");
  assertGreater(busy, 0.02);
  assertGreater(idle, 0.02);
  clock.end();
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(await seconds("idle"), idle);
  assertGreater(await seconds("busy"), busy);
});
