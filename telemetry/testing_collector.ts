/**
 * A tiny OTLP/HTTP JSON receiver for tests and benchmarks: programs started
 * with {@linkcode TraceCollector.env} send their spans here, and
 * {@linkcode TraceCollector.spans} lists them flattened.
 *
 * @module
 */

/** One received span. */
export interface CollectedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** `service.name` of the program that sent it. */
  readonly service: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** The span's error message when its status is ERROR. */
  readonly error?: string;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpAttribute[];
  status?: { code?: number | string; message?: string };
}

interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

/** Receives OTLP/HTTP JSON on a free loopback port. */
export class TraceCollector implements AsyncDisposable {
  readonly #spans: CollectedSpan[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#receive(request),
    );
  }

  /** Environment that makes a Deno program export its traces here as `service`. */
  env(service: string): Record<string, string> {
    return {
      OTEL_DENO: "true",
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${this.#server.addr.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      // Console output stays on the terminal; only traces and metrics are sent.
      OTEL_DENO_CONSOLE: "ignore",
    };
  }

  /** Every span received so far. */
  get spans(): readonly CollectedSpan[] {
    return this.#spans;
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #receive(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    const body = await request.text();
    if (path === "/v1/traces") this.#spans.push(...flatten(JSON.parse(body) as OtlpTraces));
    return Response.json({});
  }
}

function flatten(traces: OtlpTraces): CollectedSpan[] {
  return (traces.resourceSpans ?? []).flatMap((resource) => {
    const service = String(attributes(resource.resource?.attributes)["service.name"] ?? "");
    return (resource.scopeSpans ?? []).flatMap((scope) =>
      (scope.spans ?? []).map((span) => ({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId ?? "",
        name: span.name,
        service,
        startMs: Number(BigInt(span.startTimeUnixNano) / 1_000n) / 1_000,
        endMs: Number(BigInt(span.endTimeUnixNano) / 1_000n) / 1_000,
        attributes: attributes(span.attributes),
        ...(isError(span.status?.code) ? { error: span.status?.message ?? "" } : {}),
      }))
    );
  });
}

// OTLP JSON may spell enums as numbers or names.
function isError(code: number | string | undefined): boolean {
  return code === 2 || code === "STATUS_CODE_ERROR";
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) result[key] = Object.values(value)[0];
  return result;
}
