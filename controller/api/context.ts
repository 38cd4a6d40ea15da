/**
 * What every API handler receives, and the small request helpers they share.
 *
 * @module
 */
import type { ActionCatalog } from "@faas/catalog";
import type { z } from "zod";
import type { ActivationStore } from "../activations/activation_store.ts";
import type { ResultWaiters } from "../activations/result_waiters.ts";
import { ENTITY_NAME } from "../auth/auth_keys.ts";
import type { Caller } from "../auth/authenticator.ts";
import { MalformedRequestError } from "../errors.ts";
import { validate } from "../http/request_body.ts";
import type { RouteParams } from "../http/router.ts";
import type { Invocation, Published } from "../pool_balancer.ts";

/** Sends activations to schedulers (the PoolBalancer, or a test double). */
export interface ActivationPublisher {
  publish(invocation: Invocation): Promise<Published>;
}

/** The parts of the controller the API uses. */
export interface ApiDeps {
  readonly catalog: ActionCatalog;
  readonly activations: ActivationStore;
  readonly balancer: ActivationPublisher;
  readonly waiters: ResultWaiters;
  /** Larger request bodies are refused with 413. */
  readonly maxBodyBytes: number;
  /** A blocking invoke answers 202 with the activation id after this long. */
  readonly blockingTimeoutMs: number;
  /** Aborted when the controller stops, so blocking invokes answer at once. */
  readonly shutdown: AbortSignal;
}

/** A request to a route that needs no credentials. */
export interface PublicContext {
  readonly request: Request;
  readonly url: URL;
  readonly transactionId: string;
}

/** An authenticated request to a namespaced route. */
export interface RequestContext extends PublicContext {
  readonly params: RouteParams;
  readonly caller: Caller;
  /** The namespace addressed (`_` resolved to the caller's own). */
  readonly namespace: string;
}

/** A route and whether it needs credentials. */
export type RouteEntry =
  | { readonly auth: "none"; readonly handle: (context: PublicContext) => Promise<Response> }
  | { readonly auth: "required"; readonly handle: (context: RequestContext) => Promise<Response> };

/**
 * The path parameter `key` as an entity name.
 *
 * @throws {MalformedRequestError} when it is not a valid OpenWhisk entity name
 */
export function entityName(params: RouteParams, key: string): string {
  const value = params[key] ?? "";
  if (value.length > 256 || !ENTITY_NAME.test(value)) {
    throw new MalformedRequestError(`"${value}" is not a valid ${key}`);
  }
  return value;
}

/**
 * The URL's query parameters validated with `schema` (values are strings).
 *
 * @throws {MalformedRequestError} naming the invalid parameters
 */
export function parseQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
  return validate(schema, Object.fromEntries(url.searchParams));
}
