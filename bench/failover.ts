/**
 * Failover: SIGKILL of the scheduler leading most queues among 3 scheduler
 * processes under 200 activations/s over 20 actions; how long until every
 * queue has a leader again, and what was redelivered, duplicated or lost.
 *
 * @module
 */
import { type FailoverResult, failoverRound, LEASE_TTL_MS } from "../tests/_chaos.ts";
import { progress, summarize } from "./stats.ts";

/** SIGKILL of the busiest leader among 3 scheduler processes under 200 activations/s. */
export async function failovers(rounds: number) {
  const results: FailoverResult[] = [];
  for (let i = 1; i <= rounds; i++) {
    progress(`failover round ${i} of ${rounds}`);
    results.push(await failoverRound());
  }
  const times = summarize(results.map((r) => r.failoverMs));
  return {
    rounds: results,
    leaseTtlMs: LEASE_TTL_MS,
    failoverP50Ms: times.p50Ms,
    failoverMaxMs: times.maxMs,
    redeliveredPerFailover: Math.round(results.reduce((a, r) => a + r.redelivered, 0) / rounds),
    duplicatesPerFailover: Math.round(results.reduce((a, r) => a + r.duplicates, 0) / rounds),
    lost: results.reduce((a, r) => a + r.lost, 0),
  };
}
