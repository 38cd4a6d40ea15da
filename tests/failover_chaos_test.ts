/**
 * Chaos: under a steady load of 200 activations/s over 20 actions, SIGKILL
 * the scheduler process that leads most queues. Every accepted activation must
 * still run (0 lost; duplicates are counted and reported), and followers must
 * lead the dead scheduler's queues again within 2 × the lease TTL.
 */
import { assertEquals } from "@std/assert";
import { failoverRound, LEASE_TTL_MS } from "./_chaos.ts";

for (const round of [1, 2, 3]) {
  Deno.test(`failover chaos: SIGKILL of the busiest leader loses no activation (round ${round})`, async () => {
    const result = await failoverRound();
    Deno.stderr.writeSync(
      new TextEncoder().encode(`chaos round ${round}: ${JSON.stringify(result)}\n`),
    );
    assertEquals(
      result.lost,
      0,
      `${result.lost} of ${result.accepted} accepted activations were lost`,
    );
    assertEquals(
      result.failoverMs <= 2 * LEASE_TTL_MS,
      true,
      `new leaders took ${result.failoverMs} ms`,
    );
  });
}
