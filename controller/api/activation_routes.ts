/**
 * `/api/v1/namespaces/{ns}/activations`: list activations (newest first),
 * and get one activation, its result or its logs.
 *
 * @module
 */
import { ActivationId, type WhiskActivation } from "@faas/proto";
import { z } from "zod";
import {
  activationJson,
  activationSummaryJson,
  responseJson,
} from "../activations/activation_json.ts";
import { MalformedRequestError, NotFoundError } from "../errors.ts";
import { jsonResponse } from "../http/json_response.ts";
import { type ApiDeps, entityName, parseQuery, type RequestContext } from "./context.ts";
import { epochMs, flag, limit, skip } from "./query_fields.ts";

const ListQuery = z.object({
  name: z.string().min(1).max(256).optional(),
  limit,
  skip,
  since: epochMs.optional(),
  upto: epochMs.optional(),
  docs: flag.default(false),
  count: flag.default(false),
});

/**
 * `GET …/activations`: summaries newest first, filtered by `name`, `since`
 * and `upto`; full records with `docs=true`; `{"activations": n}` with `count=true`.
 */
export async function listActivations(context: RequestContext, deps: ApiDeps): Promise<Response> {
  const { docs, count, ...query } = parseQuery(context.url, ListQuery);
  if (count) {
    return jsonResponse(200, {
      activations: await deps.activations.count(context.namespace, query),
    });
  }
  const summaries = await deps.activations.list(context.namespace, query);
  if (!docs) return jsonResponse(200, summaries.map(activationSummaryJson));
  const records = await Promise.all(
    summaries.map((s) => deps.activations.get(context.namespace, s.activationId)),
  );
  return jsonResponse(200, records.flatMap((r) => r ? [activationJson(r)] : []));
}

/** `GET …/activations/{id}`: the full record. */
export async function getActivation(context: RequestContext, deps: ApiDeps): Promise<Response> {
  return jsonResponse(200, activationJson(await findActivation(context, deps)));
}

/** `GET …/activations/{id}/result`: `{status, statusCode, success, result}`. */
export async function getActivationResult(
  context: RequestContext,
  deps: ApiDeps,
): Promise<Response> {
  return jsonResponse(200, responseJson(await findActivation(context, deps)));
}

/** `GET …/activations/{id}/logs`: `{"logs": [...]}`. */
export async function getActivationLogs(
  context: RequestContext,
  deps: ApiDeps,
): Promise<Response> {
  return jsonResponse(200, { logs: (await findActivation(context, deps)).logs });
}

async function findActivation(context: RequestContext, deps: ApiDeps): Promise<WhiskActivation> {
  const id = entityName(context.params, "id");
  if (!ActivationId.safeParse(id).success) {
    throw new MalformedRequestError(`"${id}" is not a valid activation id`);
  }
  const record = await deps.activations.get(context.namespace, id);
  if (!record) throw new NotFoundError(`The activation "${id}"`);
  return record;
}
