/**
 * Activations as the OpenWhisk API renders them: the response gains
 * `status` and `success` next to `statusCode` and `result`.
 *
 * @module
 */
import type { WhiskActivation } from "@faas/proto";
import type { ActivationSummary } from "./activation_store.ts";

const STATUS_NAMES: readonly string[] = [
  "success",
  "application error",
  "action developer error",
  "whisk internal error",
];

/** `{status, statusCode, success, result}`: what `/activations/{id}/result` returns. */
export function responseJson(record: WhiskActivation): Record<string, unknown> {
  const { statusCode, result } = record.response;
  return {
    status: STATUS_NAMES[statusCode] ?? "whisk internal error",
    statusCode,
    success: statusCode === 0,
    result: result ?? {},
  };
}

/** The full activation record, as `GET /activations/{id}` and blocking invokes return it. */
export function activationJson(record: WhiskActivation): Record<string, unknown> {
  return { ...record, response: responseJson(record) };
}

/** One entry of an activation list (OpenWhisk's `docs=false` form). */
export function activationSummaryJson(summary: ActivationSummary): Record<string, unknown> {
  return { ...summary };
}
