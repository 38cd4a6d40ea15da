/**
 * The one adapter over `@opentelemetry/api`. Deno registers its built-in
 * tracer provider and W3C propagator with that API when `OTEL_DENO=true`;
 * otherwise the API hands out no-op spans.
 *
 * @module
 */
import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

/** A trace context as carried in a message: W3C `traceparent` (and `tracestate`). */
export type TraceContext = Readonly<Record<string, string>>;

/** Span attributes: flat, scalar values. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/** The OpenTelemetry span kinds, by name. */
export type SpanKindName = "internal" | "server" | "client" | "producer" | "consumer";

/** Options of {@linkcode inSpan} and {@linkcode recordSpan}. */
export interface SpanOptions {
  readonly kind?: SpanKindName;
  readonly attributes?: SpanAttributes;
  /** Continue this carried trace; without it the span is a child of the active one. */
  readonly parent?: TraceContext;
}

const tracer = trace.getTracer("faas");

const KINDS: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/**
 * Runs `fn` in a new active span named `name`, ended when `fn` settles; a
 * thrown error marks the span failed and is thrown on.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  fn: () => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, spanOptions(options), parentOf(options), async (span) => {
    try {
      return await fn();
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Records a span that already happened, between two `Date.now()` instants. */
export function recordSpan(
  name: string,
  options: SpanOptions & { readonly startMs: number; readonly endMs: number },
): void {
  const span = tracer.startSpan(
    name,
    { ...spanOptions(options), startTime: options.startMs },
    parentOf(options),
  );
  span.end(options.endMs);
}

/** The active trace context, to carry in a message; `undefined` when not tracing. */
export function currentTraceContext(): TraceContext | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent === undefined ? undefined : carrier;
}

function spanOptions(options: SpanOptions) {
  return {
    kind: KINDS[options.kind ?? "internal"],
    ...(options.attributes ? { attributes: { ...options.attributes } } : {}),
  };
}

function parentOf(options: SpanOptions): Context {
  if (!options.parent) return context.active();
  return propagation.extract(context.active(), options.parent);
}

function fail(span: Span, error: unknown): void {
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}
