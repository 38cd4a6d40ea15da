/**
 * The invoker's Prometheus metrics: definitions, and the scrape-time
 * collectors that read the container pool, the memory ledger and the session.
 *
 * @module
 */
import type { CounterMetric, HistogramMetric, Metrics } from "@faas/metrics";
import type { WhiskActivation } from "@faas/proto";
import type { ContainerPool } from "./container_pool.ts";
import { ContainerTime } from "./container_time.ts";
import type { MemorySnapshot } from "./resources.ts";

/** What the invoker's live state looks like at scrape time. */
export interface InvokerGauges {
  readonly pool: ContainerPool;
  memory(): MemorySnapshot;
  /** Whether the invoker's etcd session is alive. */
  leaseUp(): boolean;
}

// Activation status codes (WhiskActivation.response.statusCode) as label values.
const OUTCOMES = ["success", "application_error", "developer_error", "whisk_error"] as const;

/** The invoker's metrics, bound to one registry. */
export class InvokerMetrics implements Disposable {
  readonly #activations: CounterMetric<"outcome">;
  readonly #duration: HistogramMetric<never>;
  readonly containerCreations: CounterMetric<"outcome">;
  /** Clocks of live containers; their busy and idle seconds go to a counter. */
  readonly containerTime: ContainerTime;
  readonly #disposers: Disposable[] = [];

  constructor(metrics: Metrics, gauges: InvokerGauges) {
    this.#activations = metrics.counter({
      name: "faas_invoker_activations_total",
      help: "Activations completed by this invoker's containers, by status.",
      labelNames: ["outcome"],
    });
    this.#duration = metrics.histogram({
      name: "faas_invoker_activation_duration_seconds",
      help: "Run time of completed activations.",
    });
    this.containerCreations = metrics.counter({
      name: "faas_invoker_container_creations_total",
      help: "Container creations, by outcome (created or the error name).",
      labelNames: ["outcome"],
    });
    const seconds = metrics.counter({
      name: "faas_invoker_container_seconds_total",
      help: "Seconds live containers spent running activations (busy) or kept without one (idle).",
      labelNames: ["state"],
    });
    const busy = seconds.bind({ state: "busy" });
    const idle = seconds.bind({ state: "idle" });
    this.containerTime = new ContainerTime((state, s) => (state === "busy" ? busy : idle).inc(s));
    const containers = metrics.gauge({
      name: "faas_invoker_containers",
      help: "Live containers, by state (busy, idle, stopping).",
      labelNames: ["state"],
    });
    const memory = metrics.gauge({
      name: "faas_invoker_memory_mb",
      help: "User memory in MB, by kind (free, busy, in_progress).",
      labelNames: ["kind"],
    });
    const leaseUp = metrics.gauge({
      name: "faas_invoker_lease_up",
      help: "1 while the invoker's etcd session is alive.",
    });
    this.#disposers.push(
      containers.collect((add) => {
        const counts = { busy: 0, idle: 0, stopping: 0 };
        for (const container of gauges.pool.list()) {
          if (container.state !== "running") counts.stopping++;
          else if (container.busy) counts.busy++;
          else counts.idle++;
        }
        for (const [state, count] of Object.entries(counts)) add({ state }, count);
      }),
      memory.collect((add) => {
        const snapshot = gauges.memory();
        add({ kind: "free" }, snapshot.freeMb);
        add({ kind: "busy" }, snapshot.busyMb);
        add({ kind: "in_progress" }, snapshot.inProgressMb);
      }),
      leaseUp.collect((add) => add({}, gauges.leaseUp() ? 1 : 0)),
      // Long-idle containers' seconds show before the containers are removed.
      metrics.onCollect(() => this.containerTime.flush()),
    );
  }

  /** Records one completed activation. */
  completed(record: WhiskActivation): void {
    this.#activations.inc({ outcome: OUTCOMES[record.response.statusCode] ?? "unknown" });
    if (record.duration !== undefined) this.#duration.observe({}, record.duration / 1_000);
  }

  /** Stops the scrape-time collectors (the counters stay). */
  [Symbol.dispose](): void {
    for (const disposer of this.#disposers) disposer[Symbol.dispose]();
  }
}
