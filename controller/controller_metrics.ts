/**
 * The controller's Prometheus metrics: every API request by coarse route
 * template and status, its duration, and invocations by outcome. Wraps the
 * API handler; the routes themselves know nothing of metrics.
 *
 * @module
 */
import type { Metrics } from "@faas/metrics";
import type { ApiHandler } from "./api/api.ts";

const ID = /^[^/]+$/;

/**
 * The route template of a request path, e.g. `/api/v1/namespaces/:ns/actions/:name`,
 * so label values stay few whatever the paths; `other` for paths outside the API.
 */
export function routeTemplate(pathname: string): string {
  const parts = pathname.split("/").filter(Boolean);
  if (parts[0] !== "api" || parts[1] !== "v1") return "other";
  if (parts.length === 2) return "/api/v1";
  if (parts[2] !== "namespaces") return "other";
  if (parts.length === 3) return "/api/v1/namespaces";
  const base = "/api/v1/namespaces/:ns";
  const [, , , , collection, id, sub] = parts;
  if (collection === undefined) return base;
  if (collection !== "actions" && collection !== "activations") return "other";
  if (id === undefined) return `${base}/${collection}`;
  if (!ID.test(id) || parts.length > 7) return "other";
  const item = `${base}/${collection}/${collection === "actions" ? ":name" : ":id"}`;
  if (sub === undefined) return item;
  return collection === "activations" && (sub === "result" || sub === "logs")
    ? `${item}/${sub}`
    : "other";
}

/** How an invocation request ended, from its HTTP status. */
export function invocationOutcome(status: number): string {
  if (status === 200) return "success";
  if (status === 202) return "accepted";
  if (status === 429) return "throttled";
  if (status === 502) return "action_error";
  if (status >= 400 && status < 500) return "rejected";
  return "error";
}

/** Wraps the API handler to count and time every request. */
export function instrumentApi(handler: ApiHandler, metrics: Metrics): ApiHandler {
  const requests = metrics.counter({
    name: "faas_controller_requests_total",
    help: "API requests, by route template and HTTP status.",
    labelNames: ["route", "status"],
  });
  const duration = metrics.histogram({
    name: "faas_controller_request_duration_seconds",
    help: "Time to answer an API request, by route template.",
    labelNames: ["route"],
  });
  const activations = metrics.counter({
    name: "faas_controller_activations_total",
    help: "Invocation requests (POST on an action), by outcome.",
    labelNames: ["outcome"],
  });
  return async (request) => {
    const started = performance.now();
    const response = await handler(request);
    const route = routeTemplate(new URL(request.url).pathname);
    const label = `${request.method} ${route}`;
    requests.inc({ route: label, status: response.status });
    duration.observe({ route: label }, (performance.now() - started) / 1_000);
    if (request.method === "POST" && route === "/api/v1/namespaces/:ns/actions/:name") {
      activations.inc({ outcome: invocationOutcome(response.status) });
    }
    return response;
  };
}
