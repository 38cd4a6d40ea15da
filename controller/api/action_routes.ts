/**
 * `/api/v1/namespaces/{ns}/actions[/{name}]`: list, get, create or update,
 * and delete actions. Invoking lives in `invoke_route.ts`.
 *
 * @module
 */
import { ActionExistsError } from "@faas/catalog";
import { z } from "zod";
import { ActionPutBody, toActionInput } from "../actions/action_body.ts";
import { actionJson, actionSummaryJson } from "../actions/action_json.ts";
import { NotFoundError } from "../errors.ts";
import { jsonResponse } from "../http/json_response.ts";
import { readJsonBody } from "../http/request_body.ts";
import { type ApiDeps, entityName, parseQuery, type RequestContext } from "./context.ts";
import { flag, limit, skip } from "./query_fields.ts";

const ListQuery = z.object({ limit, skip, count: flag.default(false) });
const GetQuery = z.object({ code: flag.default(true) });
const PutQuery = z.object({ overwrite: flag.default(false) });

/** `GET …/actions`: the namespace's actions, by name, or `{"actions": n}` with `count=true`. */
export async function listActions(context: RequestContext, deps: ApiDeps): Promise<Response> {
  const query = parseQuery(context.url, ListQuery);
  if (query.count) {
    const all = await deps.catalog.list(context.namespace, { limit: Number.MAX_SAFE_INTEGER });
    return jsonResponse(200, { actions: all.length });
  }
  const docs = await deps.catalog.list(context.namespace, query);
  return jsonResponse(200, docs.map(actionSummaryJson));
}

/** `GET …/actions/{name}`: the action, with its code unless `code=false`. */
export async function getAction(context: RequestContext, deps: ApiDeps): Promise<Response> {
  const query = parseQuery(context.url, GetQuery);
  const name = entityName(context.params, "name");
  const doc = await deps.catalog.get(context.namespace, name);
  if (!doc) throw new NotFoundError(`The action "${context.namespace}/${name}"`);
  return jsonResponse(200, actionJson(doc, { code: query.code }));
}

/**
 * `PUT …/actions/{name}`: creates the action, or with `overwrite=true`
 * updates it (creating it when absent); 409 when it exists without overwrite.
 */
export async function putAction(context: RequestContext, deps: ApiDeps): Promise<Response> {
  const { overwrite } = parseQuery(context.url, PutQuery);
  const name = entityName(context.params, "name");
  const body = await readJsonBody(context.request, ActionPutBody, {
    maxBytes: deps.maxBodyBytes,
    emptyAs: {},
  });
  const previous = await deps.catalog.get(context.namespace, name);
  if (previous && !overwrite) throw new ActionExistsError(context.namespace, name);
  const target = { namespace: context.namespace, name };
  const doc = await deps.catalog.put(toActionInput(target, body, previous), { overwrite });
  return jsonResponse(200, actionJson(doc));
}

/** `DELETE …/actions/{name}`: deletes the action and returns what it was. */
export async function deleteAction(context: RequestContext, deps: ApiDeps): Promise<Response> {
  const name = entityName(context.params, "name");
  const doc = await deps.catalog.delete(context.namespace, name);
  if (!doc) throw new NotFoundError(`The action "${context.namespace}/${name}"`);
  return jsonResponse(200, actionJson(doc));
}
