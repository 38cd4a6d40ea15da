/**
 * The one place that turns outcomes into HTTP statuses: domain errors into
 * OpenWhisk's error JSON `{"error": message, "code": transactionId}`, and
 * activation status codes into the status of a blocking invoke.
 *
 * @module
 */
import { BusUnavailableError } from "@faas/bus";
import { ActionExistsError } from "@faas/catalog";
import { StoreUnavailableError } from "@faas/coordination";
import { StatusCode } from "@faas/proto";
import {
  AuthenticationError,
  ForbiddenNamespaceError,
  MalformedRequestError,
  MethodNotAllowedError,
  NoSchedulerError,
  NotFoundError,
  PayloadTooLargeError,
  ThrottledError,
} from "../errors.ts";
import { jsonResponse } from "./json_response.ts";

/** What an unexpected error tells the caller; details go to the log only. */
export const INTERNAL_ERROR_MESSAGE = "The server encountered an internal error";
const UNAVAILABLE_MESSAGE = "A backing service is unavailable; retry later";

/** The HTTP status for `error`; 500 for anything unexpected. */
export function statusOfError(error: unknown): number {
  if (error instanceof MalformedRequestError) return 400;
  if (error instanceof AuthenticationError) return 401;
  if (error instanceof ForbiddenNamespaceError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof MethodNotAllowedError) return 405;
  if (error instanceof ActionExistsError) return 409;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof ThrottledError) return 429;
  if (error instanceof NoSchedulerError) return 503;
  if (error instanceof StoreUnavailableError || error instanceof BusUnavailableError) return 503;
  return 500;
}

/** OpenWhisk's error response for `error`, tagged with the request's transaction id. */
export function errorResponse(error: unknown, transactionId: string): Response {
  const status = statusOfError(error);
  const headers: Record<string, string> = { "x-request-id": transactionId };
  if (error instanceof MethodNotAllowedError) headers.allow = error.allowed.join(", ");
  return jsonResponse(status, { error: messageOf(error, status), code: transactionId }, headers);
}

/**
 * The status of a blocking invoke's answer: 200 on success, 502 when the
 * action failed (application or developer error), 500 on a platform error.
 */
export function statusOfActivation(statusCode: StatusCode): number {
  switch (statusCode) {
    case StatusCode.success:
      return 200;
    case StatusCode.applicationError:
    case StatusCode.developerError:
      return 502;
    case StatusCode.whiskError:
      return 500;
    default:
      return statusCode satisfies never;
  }
}

function messageOf(error: unknown, status: number): string {
  if (status === 500 || !(error instanceof Error)) return INTERNAL_ERROR_MESSAGE;
  if (error instanceof StoreUnavailableError || error instanceof BusUnavailableError) {
    return UNAVAILABLE_MESSAGE;
  }
  return error.message;
}
