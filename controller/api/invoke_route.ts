/**
 * `POST /api/v1/namespaces/{ns}/actions/{name}`: invoke an action.
 *
 * - non-blocking: 202 `{"activationId": …}` once the activation is on Kafka;
 * - `blocking=true`: the activation record (200, or 502 when the action
 *   failed, 500 on a platform error), or 202 with the id when no result came
 *   within the blocking timeout;
 * - `blocking=true&result=true`: only the result, with the same statuses.
 *
 * @module
 */
import { type ActionDoc, newActivationId } from "@faas/proto";
import { z } from "zod";
import { activationJson } from "../activations/activation_json.ts";
import { NotFoundError } from "../errors.ts";
import { statusOfActivation } from "../http/error_mapping.ts";
import { jsonResponse } from "../http/json_response.ts";
import { readJsonBody } from "../http/request_body.ts";
import { type ApiDeps, entityName, parseQuery, type RequestContext } from "./context.ts";
import { deadline } from "./deadline.ts";
import { flag } from "./query_fields.ts";

const InvokeQuery = z.object({ blocking: flag.default(false), result: flag.default(false) });
const Params = z.record(z.string(), z.unknown());

const ACTIVATION_HEADER = "x-openwhisk-activation-id";

/** Invokes the action; see the module documentation for the answers. */
export async function invokeAction(context: RequestContext, deps: ApiDeps): Promise<Response> {
  const query = parseQuery(context.url, InvokeQuery);
  const name = entityName(context.params, "name");
  const params = await readJsonBody(context.request, Params, {
    maxBytes: deps.maxBodyBytes,
    emptyAs: {},
  });
  const action = await deps.catalog.get(context.namespace, name);
  if (!action) throw new NotFoundError(`The action "${context.namespace}/${name}"`);
  if (!query.blocking) {
    const { message } = await deps.balancer.publish({
      action,
      caller: context.caller,
      blocking: false,
      params,
    });
    return accepted(message.activationId);
  }
  return await invokeBlocking(context, deps, { action, params, resultOnly: query.result });
}

interface BlockingInvocation {
  readonly action: ActionDoc;
  readonly params: Record<string, unknown>;
  readonly resultOnly: boolean;
}

async function invokeBlocking(
  context: RequestContext,
  deps: ApiDeps,
  invocation: BlockingInvocation,
): Promise<Response> {
  const activationId = newActivationId();
  using pending = deps.waiters.register(activationId);
  await deps.balancer.publish({
    action: invocation.action,
    caller: context.caller,
    blocking: true,
    params: invocation.params,
    activationId,
  });
  // Not `request.signal`: reading it makes Deno print a deprecation line (its
  // legacy abort-after-response behaviour). A waiter whose client left only
  // costs a map entry until the deadline, as in OpenWhisk.
  using wait = deadline(deps.blockingTimeoutMs, [deps.shutdown]);
  const outcome = await pending.wait(wait.signal);
  if (outcome.kind === "timed_out") return accepted(activationId);
  const record = outcome.activation;
  const body = invocation.resultOnly ? record.response.result ?? {} : activationJson(record);
  return jsonResponse(statusOfActivation(record.response.statusCode), body, {
    [ACTIVATION_HEADER]: activationId,
  });
}

function accepted(activationId: string): Response {
  return jsonResponse(202, { activationId }, { [ACTIVATION_HEADER]: activationId });
}
