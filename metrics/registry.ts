/**
 * A small typed facade over prom-client, the only file that imports it:
 * counters, gauges and histograms with typed label names, gauges computed at
 * scrape time, and the Prometheus text rendering.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Label values of a metric with label names `L`. */
export type Labels<L extends string> = Readonly<Record<L, string | number>>;

/** Options shared by every metric. */
export interface MetricOptions<L extends string> {
  /** Prometheus name, e.g. `faas_scheduler_queues`. */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

/** Options of {@linkcode Metrics.histogram}. */
export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Bucket upper bounds in the metric's unit. @default {DURATION_BUCKETS_SECONDS} */
  readonly buckets?: readonly number[];
}

/** A monotonically increasing count. */
export interface CounterMetric<L extends string> {
  inc(labels?: Labels<L>, value?: number): void;
  /** A handle bound to fixed labels: no label lookup on the hot path. */
  bind(labels: Labels<L>): { inc(value?: number): void };
}

/** Adds `value` to the gauge's series of `labels` during one scrape. */
export type GaugeSink<L extends string> = (labels: Labels<L>, value: number) => void;

/** A value that goes up and down. */
export interface GaugeMetric<L extends string> {
  set(labels: Labels<L>, value: number): void;
  /**
   * Computes values at scrape time. The gauge is reset before its callbacks run
   * and their values for the same labels add up, so several sources (e.g. the
   * programs of an embedded system) share one gauge. Dispose to remove.
   */
  collect(fn: (add: GaugeSink<L>) => void): Disposable;
}

/** A distribution of observed values. */
export interface HistogramMetric<L extends string> {
  observe(labels: Labels<L>, value: number): void;
  /** A handle bound to fixed labels: no label lookup on the hot path. */
  bind(labels: Labels<L>): { observe(value: number): void };
}

/** One registry of metrics and the helpers to define them. */
export interface Metrics {
  /** The prom-client registry (opaque to callers). */
  readonly registry: unknown;
  /** The content type of {@linkcode Metrics.render}'s text. */
  readonly contentType: string;
  /** A counter; asking again for a name returns the same metric. */
  counter<L extends string = never>(options: MetricOptions<L>): CounterMetric<L>;
  /** A gauge; asking again for a name returns the same metric. */
  gauge<L extends string = never>(options: MetricOptions<L>): GaugeMetric<L>;
  /** A histogram; asking again for a name returns the same metric. */
  histogram<L extends string = never>(options: HistogramOptions<L>): HistogramMetric<L>;
  /** Runs `fn` before every render (e.g. to add counter deltas read from elsewhere). */
  onCollect(fn: () => void): Disposable;
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>;
}

/** Default histogram buckets for durations in seconds, 1 ms to 60 s. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
]);

/** Creates an empty registry. */
export function createMetrics(): Metrics {
  return new PromMetrics();
}

type Any = string;

class PromMetrics implements Metrics {
  readonly #registry = new Registry();
  readonly #metrics = new Map<string, unknown>();
  readonly #hooks = new Set<() => void>();

  get registry(): unknown {
    return this.#registry;
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  counter<L extends string = never>(options: MetricOptions<L>): CounterMetric<L> {
    return this.#once(options.name, () => {
      const counter = new Counter<Any>({ ...base(options), registers: [this.#registry] });
      return {
        inc: (labels, value = 1) => counter.inc(labels ?? {}, value),
        bind: (labels) => {
          const child = counter.labels(labels);
          return { inc: (value = 1) => child.inc(value) };
        },
      } satisfies CounterMetric<Any>;
    }) as CounterMetric<L>;
  }

  gauge<L extends string = never>(options: MetricOptions<L>): GaugeMetric<L> {
    return this.#once(options.name, () => {
      const collectors = new Set<(add: GaugeSink<Any>) => void>();
      let collected = false;
      const gauge: Gauge<Any> = new Gauge<Any>({
        ...base(options),
        registers: [this.#registry],
        collect() {
          if (!collected) return;
          gauge.reset();
          const add: GaugeSink<Any> = (labels, value) => gauge.inc(labels, value);
          for (const fn of collectors) fn(add);
        },
      });
      return {
        set: (labels, value) => gauge.set(labels, value),
        collect: (fn) => {
          collectors.add(fn);
          collected = true;
          return { [Symbol.dispose]: () => void collectors.delete(fn) };
        },
      } satisfies GaugeMetric<Any>;
    }) as GaugeMetric<L>;
  }

  histogram<L extends string = never>(options: HistogramOptions<L>): HistogramMetric<L> {
    return this.#once(options.name, () => {
      const histogram = new Histogram<Any>({
        ...base(options),
        buckets: [...(options.buckets ?? DURATION_BUCKETS_SECONDS)],
        registers: [this.#registry],
      });
      return {
        observe: (labels, value) => histogram.observe(labels, value),
        bind: (labels) => {
          const child = histogram.labels(labels);
          return { observe: (value) => child.observe(value) };
        },
      } satisfies HistogramMetric<Any>;
    }) as HistogramMetric<L>;
  }

  onCollect(fn: () => void): Disposable {
    this.#hooks.add(fn);
    return { [Symbol.dispose]: () => void this.#hooks.delete(fn) };
  }

  render(): Promise<string> {
    for (const hook of this.#hooks) hook();
    return this.#registry.metrics();
  }

  #once<T>(name: string, make: () => T): T {
    let metric = this.#metrics.get(name) as T | undefined;
    if (metric === undefined) {
      metric = make();
      this.#metrics.set(name, metric);
    }
    return metric;
  }
}

function base<L extends string>(options: MetricOptions<L>) {
  return { name: options.name, help: options.help, labelNames: [...(options.labelNames ?? [])] };
}
