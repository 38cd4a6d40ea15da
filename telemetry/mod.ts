/**
 * Tracing across the programs with the OpenTelemetry support built into
 * Deno. Nothing is recorded unless a program runs with `OTEL_DENO=true`
 * (spans then go over OTLP to `OTEL_EXPORTER_OTLP_ENDPOINT`); without it
 * every call here is a cheap no-op.
 *
 * An activation carries its trace context in `ActivationMessage.traceContext`
 * (W3C `traceparent`), so the controller's request, the scheduler's queue and
 * the invoker's run of one activation form one trace.
 *
 * @example
 * ```ts
 * import { currentTraceContext, inSpan } from "@faas/telemetry";
 *
 * await inSpan("activation.publish", { kind: "producer" }, async () => {
 *   const carried = currentTraceContext(); // put it on the message
 * });
 * ```
 *
 * @module
 */
export {
  currentTraceContext,
  inSpan,
  recordSpan,
  type SpanAttributes,
  type SpanKindName,
  type SpanOptions,
  type TraceContext,
} from "./tracing.ts";
