/**
 * The scheduler's Prometheus metrics: definitions, and the scrape-time
 * collectors that read queue and session state (so the hot path only pays
 * for the counters and the fetch histogram).
 *
 * @module
 */
import type { CounterMetric, HistogramMetric, Metrics } from "@faas/metrics";
import type { FetchResult } from "@faas/proto";
import type { QueueManager } from "./queue/queue_manager.ts";

/** How a FetchActivation call ended. */
export type FetchOutcome = FetchResult["kind"] | "error";

/** What happened to an activation the scheduler received. */
export type ActivationOutcome = "routed" | "duplicate" | "forwarded" | "failed" | "malformed";

/** What the scheduler's live state looks like at scrape time. */
export interface SchedulerGauges {
  readonly queues: QueueManager;
  /** Whether the scheduler's etcd session is alive. */
  leaseUp(): boolean;
  /** Malformed activation records skipped so far. */
  malformed(): number;
}

/** The scheduler's metrics, bound to one registry. */
export class SchedulerMetrics implements Disposable {
  readonly #fetch: HistogramMetric<"outcome">;
  readonly #fetchBound = new Map<FetchOutcome, { observe(value: number): void }>();
  readonly activations: CounterMetric<"outcome">;
  readonly creationJobs: CounterMetric<"outcome">;
  readonly reRegistrations: CounterMetric<never>;
  readonly #disposers: Disposable[] = [];

  constructor(metrics: Metrics, gauges: SchedulerGauges) {
    this.#fetch = metrics.histogram({
      name: "faas_scheduler_fetch_duration_seconds",
      help: "Time to answer a FetchActivation call, by outcome.",
      labelNames: ["outcome"],
    });
    this.activations = metrics.counter({
      name: "faas_scheduler_activations_total",
      help: "Activations received, by what became of them.",
      labelNames: ["outcome"],
    });
    this.creationJobs = metrics.counter({
      name: "faas_scheduler_creation_jobs_total",
      help: "Container creations settled, by outcome.",
      labelNames: ["outcome"],
    });
    this.reRegistrations = metrics.counter({
      name: "faas_scheduler_reregistrations_total",
      help: "Times the lease was lost and the scheduler registered again.",
    });
    const queueLength = metrics.gauge({
      name: "faas_scheduler_queue_length",
      help: "Activations queued, by action queue this scheduler leads.",
      labelNames: ["namespace", "action"],
    });
    const queues = metrics.gauge({
      name: "faas_scheduler_queues",
      help: "Action queues this scheduler leads.",
    });
    const containers = metrics.gauge({
      name: "faas_scheduler_containers",
      help: "Containers pulling from this scheduler's queues (all, and warm).",
      labelNames: ["state"],
    });
    const leaseUp = metrics.gauge({
      name: "faas_scheduler_lease_up",
      help: "1 while the scheduler's etcd session is alive.",
    });
    let reportedMalformed = 0;
    this.#disposers.push(
      queueLength.collect((add) => {
        for (const { invocationNamespace, fqn, counts } of gauges.queues.snapshot()) {
          add({ namespace: invocationNamespace, action: fqn }, counts.queued);
        }
      }),
      queues.collect((add) => add({}, gauges.queues.leaderCount)),
      containers.collect((add) => {
        let all = 0;
        let warm = 0;
        for (const { counts } of gauges.queues.snapshot()) {
          all += counts.containers;
          warm += counts.warmContainers;
        }
        add({ state: "containers" }, all);
        add({ state: "warm" }, warm);
      }),
      leaseUp.collect((add) => add({}, gauges.leaseUp() ? 1 : 0)),
      metrics.onCollect(() => {
        const malformed = gauges.malformed();
        if (malformed > reportedMalformed) {
          this.activations.inc({ outcome: "malformed" }, malformed - reportedMalformed);
        }
        reportedMalformed = malformed;
      }),
    );
  }

  /** Records one FetchActivation call. */
  fetched(outcome: FetchOutcome, seconds: number): void {
    let bound = this.#fetchBound.get(outcome);
    if (!bound) this.#fetchBound.set(outcome, bound = this.#fetch.bind({ outcome }));
    bound.observe(seconds);
  }

  /** Stops the scrape-time collectors (the counters stay). */
  [Symbol.dispose](): void {
    for (const disposer of this.#disposers) disposer[Symbol.dispose]();
  }
}
