/**
 * Prometheus metrics for every program: a typed registry facade
 * ({@linkcode createMetrics}) and the `/metrics` endpoint
 * ({@linkcode serveMetrics}).
 *
 * @module
 */
export {
  type CounterMetric,
  createMetrics,
  DURATION_BUCKETS_SECONDS,
  type GaugeMetric,
  type GaugeSink,
  type HistogramMetric,
  type HistogramOptions,
  type Labels,
  type MetricOptions,
  type Metrics,
} from "./registry.ts";
export {
  type MetricsServer,
  PROMETHEUS_CONTENT_TYPE,
  serveMetrics,
  type ServeMetricsOptions,
} from "./server.ts";
export { parseSamples, type Sample, sampleSum } from "./scrape.ts";
