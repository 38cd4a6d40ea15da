/**
 * The REST API as one `(Request) => Promise<Response>` function: routing,
 * authentication, the namespace check, and the conversion of every failure
 * into OpenWhisk's error JSON. It never throws and never leaves a request
 * without an answer.
 *
 * @module
 */
import { newActivationId } from "@faas/proto";
import { getLogger } from "@std/log";
import { type Authenticator, type Caller, resolveNamespace } from "../auth/authenticator.ts";
import { MethodNotAllowedError, NotFoundError } from "../errors.ts";
import { errorResponse, statusOfError } from "../http/error_mapping.ts";
import { type RouteParams, Router } from "../http/router.ts";
import { deleteAction, getAction, listActions, putAction } from "./action_routes.ts";
import {
  getActivation,
  getActivationLogs,
  getActivationResult,
  listActivations,
} from "./activation_routes.ts";
import type { ApiDeps, PublicContext, RequestContext, RouteEntry } from "./context.ts";
import { apiInfo, listNamespaces } from "./info_routes.ts";
import { invokeAction } from "./invoke_route.ts";

const logger = getLogger("controller", "api");

const API = "/api/v1";
const NAMESPACE = `${API}/namespaces/:ns`;

/** Handles one HTTP request. */
export type ApiHandler = (request: Request) => Promise<Response>;

/** Builds the API's routes over `deps`. */
export function apiRoutes(deps: ApiDeps): Router<RouteEntry> {
  const open = (handle: (c: PublicContext) => Promise<Response>): RouteEntry => ({
    auth: "none",
    handle,
  });
  const authed = (
    handle: (c: RequestContext, d: ApiDeps) => Promise<Response>,
  ): RouteEntry => ({ auth: "required", handle: (c) => handle(c, deps) });
  return new Router<RouteEntry>()
    .add("GET", API, open(apiInfo))
    .add("GET", `${API}/namespaces`, authed(listNamespaces))
    .add("GET", `${NAMESPACE}/actions`, authed(listActions))
    .add("GET", `${NAMESPACE}/actions/:name`, authed(getAction))
    .add("PUT", `${NAMESPACE}/actions/:name`, authed(putAction))
    .add("DELETE", `${NAMESPACE}/actions/:name`, authed(deleteAction))
    .add("POST", `${NAMESPACE}/actions/:name`, authed(invokeAction))
    .add("GET", `${NAMESPACE}/activations`, authed(listActivations))
    .add("GET", `${NAMESPACE}/activations/:id`, authed(getActivation))
    .add("GET", `${NAMESPACE}/activations/:id/result`, authed(getActivationResult))
    .add("GET", `${NAMESPACE}/activations/:id/logs`, authed(getActivationLogs));
}

/** The API's request handler; `authenticator` checks every route but `GET /api/v1`. */
export function apiHandler(deps: ApiDeps, authenticator: Authenticator): ApiHandler {
  const router = apiRoutes(deps);
  return async (request) => {
    const transactionId = newActivationId();
    let response: Response;
    try {
      response = await dispatch(router, authenticator, request, transactionId);
    } catch (error) {
      response = failure(error, request, transactionId);
    }
    response.headers.set("x-request-id", transactionId);
    return response;
  };
}

async function dispatch(
  router: Router<RouteEntry>,
  authenticator: Authenticator,
  request: Request,
  transactionId: string,
): Promise<Response> {
  const url = new URL(request.url);
  const match = router.match(request.method, url.pathname);
  if (match.kind === "not_found") throw new NotFoundError();
  if (match.kind === "method_not_allowed") {
    throw new MethodNotAllowedError(request.method, match.allowed);
  }
  const entry = match.handler;
  if (entry.auth === "none") return await entry.handle({ request, url, transactionId });
  const caller = authenticator.authenticate(request.headers.get("authorization"));
  const namespace = namespaceOf(match.params, caller);
  return await entry.handle({
    request,
    url,
    transactionId,
    params: match.params,
    caller,
    namespace,
  });
}

function namespaceOf(params: RouteParams, caller: Caller): string {
  return params.ns === undefined ? caller.namespace : resolveNamespace(caller, params.ns);
}

function failure(error: unknown, request: Request, transactionId: string): Response {
  const status = statusOfError(error);
  const fields = {
    transactionId,
    method: request.method,
    path: new URL(request.url).pathname,
    status,
    // A stack helps only with the unexpected; expected refusals log their message.
    error: error instanceof Error && status === 500
      ? (error.stack ?? error.message)
      : String(error),
  };
  if (status === 500) logger.error("Request {method} {path} failed: {error}", fields);
  else if (status >= 500) logger.warn("Request {method} {path} failed: {error}", fields);
  else logger.debug("Request {method} {path} refused with {status}: {error}", fields);
  return errorResponse(error, transactionId);
}
