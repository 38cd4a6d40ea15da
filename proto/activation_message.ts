/**
 * The ActivationMessage: one invocation on its way from the controller through
 * a scheduler's queue to a container. Travels as JSON on Kafka `scheduler{N}`,
 * inside `FetchResponse.activationMessage` and `RescheduleRequest.activationMessage`.
 *
 * @module
 */
import { z } from "zod";
import { FullyQualifiedName, Revision } from "./names.ts";

/** `[id, startEpochMs, …]`: the id of a request and when the controller received it. */
export const TransactionId = z.tuple([z.string().max(64), z.number().int().nonnegative()]).rest(
  z.unknown(),
);
/** A transaction id. */
export type TransactionId = z.infer<typeof TransactionId>;

/** Activation ids are 32 lowercase hex digits (a UUID without dashes). */
export const ActivationId = z.string().regex(/^[0-9a-f]{32}$/, "must be 32 lowercase hex digits");

/** Returns a fresh activation id. */
export function newActivationId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** `{"asString": "0", "instanceType": "controller"}`: where completions go back to. */
export const ControllerInstanceId = z.object({
  asString: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/),
  instanceType: z.literal("controller"),
});
/** A controller instance id. */
export type ControllerInstanceId = z.infer<typeof ControllerInstanceId>;

/** Per-namespace limits that travel with the invoking identity. */
export const UserLimits = z.looseObject({
  concurrentInvocations: z.number().int().nonnegative().optional(),
  invocationsPerMinute: z.number().int().nonnegative().optional(),
  firesPerMinute: z.number().int().nonnegative().optional(),
});

/** The identity that invoked an activation. */
export const Identity = z.looseObject({
  subject: z.string().min(1).max(256),
  namespace: z.object({ name: z.string().min(1).max(256), uuid: z.string().max(64) }),
  authkey: z.looseObject({ api_key: z.string().max(512) }).optional(),
  rights: z.array(z.string().max(32)).max(16),
  limits: UserLimits,
});
/** An invoking identity. */
export type Identity = z.infer<typeof Identity>;

/** An invocation in flight. Unknown fields are kept so they survive a hop. */
export const ActivationMessage = z.looseObject({
  transid: TransactionId,
  action: FullyQualifiedName,
  revision: Revision,
  user: Identity,
  activationId: ActivationId,
  rootControllerIndex: ControllerInstanceId,
  blocking: z.boolean(),
  content: z.record(z.string(), z.unknown()).nullable().optional(),
  initArgs: z.array(z.string()).default([]),
  lockedArgs: z.record(z.string(), z.string()).default({}),
  cause: ActivationId.optional(),
  traceContext: z.record(z.string(), z.string()).optional(),
});
/** An invocation in flight. */
export type ActivationMessage = z.infer<typeof ActivationMessage>;

/** When the controller accepted the activation, in epoch ms. */
export function acceptedAt(msg: ActivationMessage): number {
  return msg.transid[1];
}
