/**
 * `GET /api/v1` (the API description, no credentials needed) and
 * `GET /api/v1/namespaces` (the caller's namespaces).
 *
 * @module
 */
import { ActionLimits } from "@faas/proto";
import { RUNTIMES } from "../actions/runtimes.ts";
import { jsonResponse } from "../http/json_response.ts";
import type { PublicContext, RequestContext } from "./context.ts";

const API_VERSION = "1.0.0";
const MB_BYTES = 1_048_576;

/** `GET /api/v1`: what this API is, its runtimes and its action limits. */
export function apiInfo(_context: PublicContext): Promise<Response> {
  return Promise.resolve(jsonResponse(200, {
    description: "OpenWhisk API",
    api_version: API_VERSION,
    api_version_path: "v1",
    build: "faas-controller",
    runtimes: runtimesJson(),
    limits: limitsJson(),
  }));
}

/** `GET /api/v1/namespaces`: the caller may use exactly its own namespace. */
export function listNamespaces(context: RequestContext): Promise<Response> {
  return Promise.resolve(jsonResponse(200, [context.caller.namespace]));
}

function runtimesJson(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(RUNTIMES).map(([family, runtime]) => [
      family,
      runtime.kinds.map((kind) => ({ kind, default: kind === runtime.defaultKind })),
    ]),
  );
}

// Units as OpenWhisk reports them: durations in ms, sizes in bytes.
function limitsJson(): Record<string, number | null> {
  const { timeout, memory, logs, concurrency } = ActionLimits.shape;
  const bytes = (mb: number | null) => mb === null ? null : mb * MB_BYTES;
  return {
    min_action_duration: timeout.unwrap().minValue,
    max_action_duration: timeout.unwrap().maxValue,
    min_action_memory: bytes(memory.unwrap().minValue),
    max_action_memory: bytes(memory.unwrap().maxValue),
    min_action_logs: bytes(logs.unwrap().minValue),
    max_action_logs: bytes(logs.unwrap().maxValue),
    max_action_concurrency: concurrency.unwrap().maxValue,
  };
}
