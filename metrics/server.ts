/**
 * The HTTP endpoint Prometheus scrapes: `GET /metrics` and `GET /healthz`.
 *
 * @module
 */
import { getLogger } from "@std/log";
import type { Metrics } from "./registry.ts";

const logger = getLogger("metrics");

/** Options for {@linkcode serveMetrics}. */
export interface ServeMetricsOptions {
  /** Address to listen on. @default {"127.0.0.1"} */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  readonly metrics: Metrics;
  /** Stops the server when aborted. */
  readonly signal?: AbortSignal;
}

/** A running metrics endpoint. */
export interface MetricsServer extends AsyncDisposable {
  /** The port it listens on. */
  readonly port: number;
  /** e.g. `http://127.0.0.1:9101/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `metrics` on `GET /metrics` (Prometheus text format 0.0.4), `GET /healthz`, 404 otherwise. */
export function serveMetrics(options: ServeMetricsOptions): MetricsServer {
  const { host = "127.0.0.1", port, metrics } = options;
  const server = Deno.serve({
    hostname: host,
    port,
    ...(options.signal ? { signal: options.signal } : {}),
    onListen: () => {},
    onError: (error) => {
      logger.error("Cannot render metrics: {error}", { error: String(error) });
      return new Response("Internal Server Error\n", { status: 500 });
    },
  }, (request) => handle(request, metrics));
  const { port: bound } = server.addr;
  logger.info("Serving metrics on {host}:{port}", { host, port: bound });
  let closing: Promise<void> | undefined;
  const close = () => closing ??= server.shutdown().catch(() => {});
  return {
    port: bound,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}/metrics`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

async function handle(request: Request, metrics: Metrics): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (request.method !== "GET") return new Response("Not Found\n", { status: 404 });
  if (pathname === "/metrics") {
    return new Response(await metrics.render(), {
      headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
    });
  }
  if (pathname === "/healthz") return new Response("ok\n");
  return new Response("Not Found\n", { status: 404 });
}
