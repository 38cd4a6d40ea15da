/**
 * Completions and results on Kafka `completed{controllerId}`, and the
 * activation record they carry.
 *
 * @module
 */
import { z } from "zod";
import { type ActivationMessage, TransactionId } from "./activation_message.ts";
import { parseJsonField } from "./json_field.ts";

/** Activation status codes. */
export const StatusCode = {
  success: 0,
  applicationError: 1,
  developerError: 2,
  whiskError: 3,
} as const;
/** An activation status code. */
export type StatusCode = typeof StatusCode[keyof typeof StatusCode];

/** `{"key": …, "value": …}` annotations on records. */
export const Annotation = z.object({ key: z.string(), value: z.unknown() });

/** The record of one finished (or failed) activation. */
export const WhiskActivation = z.looseObject({
  namespace: z.string(),
  name: z.string(),
  subject: z.string(),
  activationId: z.string(),
  start: z.number(),
  end: z.number(),
  response: z.object({
    statusCode: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
    result: z.unknown().optional(),
  }),
  logs: z.array(z.string()).default([]),
  version: z.string().default("0.0.1"),
  publish: z.boolean().default(false),
  annotations: z.array(Annotation).default([]),
  duration: z.number().optional(),
  cause: z.string().optional(),
});
/** The record of one finished (or failed) activation. */
export type WhiskActivation = z.infer<typeof WhiskActivation>;

/** Who produced an acknowledgement. */
export const InstanceId = z.looseObject({
  instanceType: z.enum(["invoker", "scheduler", "controller"]),
});

const Combined = z.object({
  transid: TransactionId,
  response: z.union([WhiskActivation, z.string()]),
  isSystemError: z.boolean(),
  instance: InstanceId,
});
const Completion = z.object({
  transid: TransactionId,
  activationId: z.string(),
  isSystemError: z.boolean(),
  instance: InstanceId,
});
const Result = z.object({ transid: TransactionId, response: WhiskActivation });

/** One message on `completed{N}`, told apart by which fields it has. */
export type Acknowledgement =
  | { readonly kind: "combined"; readonly ack: z.infer<typeof Combined> }
  | { readonly kind: "completion"; readonly ack: z.infer<typeof Completion> }
  | { readonly kind: "result"; readonly ack: z.infer<typeof Result> };

/**
 * Parses a `completed{N}` message: `instance` and `response` → combined,
 * only `instance` → completion, otherwise result.
 *
 * @throws {MalformedFieldError} when the message fits none of them
 */
export function parseAcknowledgement(text: string): Acknowledgement {
  const shape = parseJsonField("acknowledgement", text, z.record(z.string(), z.unknown()));
  if ("instance" in shape && "response" in shape) {
    return { kind: "combined", ack: parseJsonField("acknowledgement", text, Combined) };
  }
  if ("instance" in shape) {
    return { kind: "completion", ack: parseJsonField("acknowledgement", text, Completion) };
  }
  return { kind: "result", ack: parseJsonField("acknowledgement", text, Result) };
}

/** The id of the activation an acknowledgement is about. */
export function acknowledgedActivationId(ack: Acknowledgement): string {
  if (ack.kind === "completion") return ack.ack.activationId;
  const response = ack.ack.response;
  return typeof response === "string" ? response : response.activationId;
}

/** Options for {@linkcode failedActivation}. */
export interface FailedActivationOptions {
  /** Status to record. @default {StatusCode.whiskError} */
  statusCode?: StatusCode;
  /** Time of failure in epoch ms. @default {Date.now()} */
  now?: number;
}

/** Builds the record of an activation that never ran, with `error` as its result. */
export function failedActivation(
  msg: ActivationMessage,
  error: string,
  options: FailedActivationOptions = {},
): WhiskActivation {
  const { statusCode = StatusCode.whiskError, now = Date.now() } = options;
  return {
    namespace: msg.user.namespace.name,
    name: msg.action.name,
    subject: msg.user.subject,
    activationId: msg.activationId,
    start: now,
    end: now,
    response: { statusCode, result: { error } },
    logs: [],
    version: msg.action.version ?? "0.0.1",
    publish: false,
    annotations: [{ key: "path", value: `${msg.action.path}/${msg.action.name}` }],
    duration: 0,
    ...(msg.cause ? { cause: msg.cause } : {}),
  };
}

/**
 * Encodes the acknowledgement for `activation`. The full record always travels,
 * blocking or not: the controller keeps the activation store, so no other
 * program needs a database.
 */
export function encodeCompletion(
  msg: ActivationMessage,
  activation: WhiskActivation,
  instance: z.infer<typeof InstanceId>,
): string {
  const isSystemError = activation.response.statusCode === StatusCode.whiskError;
  return JSON.stringify({
    transid: msg.transid,
    response: activation,
    isSystemError,
    instance,
  });
}
