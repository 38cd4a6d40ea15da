/**
 * The body of `PUT /namespaces/{ns}/actions/{name}` and how it becomes a
 * stored action. An update keeps whatever the body leaves out, as OpenWhisk
 * does: exec, parameters and annotations wholesale, limits field by field,
 * and the version moves up one patch level.
 *
 * @module
 */
import type { ActionInput } from "@faas/catalog";
import { type ActionDoc, type ActionExec, ActionLimits, type KeyValuePair } from "@faas/proto";
import { z } from "zod";
import { MalformedRequestError } from "../errors.ts";
import { validate } from "../http/request_body.ts";
import { acceptedKinds, BLACKBOX_KIND, resolveKind } from "./runtimes.ts";

const SEMVER = /^\d{1,9}\.\d{1,9}\.\d{1,9}$/;

const KeyValues = z.array(z.strictObject({ key: z.string().min(1).max(256), value: z.unknown() }))
  .max(1_000);

const ExecBody = z.strictObject({
  kind: z.string().min(1).max(64),
  code: z.string().optional(),
  main: z.string().min(1).max(256).optional(),
  binary: z.boolean().optional(),
  image: z.string().min(1).max(512).optional(),
});

const LimitsBody = z.strictObject({
  timeout: z.number().int().optional(),
  memory: z.number().int().optional(),
  logs: z.number().int().optional(),
  concurrency: z.number().int().optional(),
  instances: z.number().int().optional(),
});

/**
 * What a client may send. Unknown fields are refused so that a misspelt
 * field is reported instead of silently ignored; the fields of a fetched
 * action (`namespace`, `name`, `updated`) are accepted so it can be sent back.
 */
export const ActionPutBody = z.strictObject({
  namespace: z.string().max(512).optional(),
  name: z.string().max(256).optional(),
  version: z.string().regex(SEMVER, "must be a semantic version like 0.0.1").optional(),
  publish: z.boolean().optional(),
  updated: z.number().optional(),
  exec: ExecBody.optional(),
  parameters: KeyValues.optional(),
  annotations: KeyValues.optional(),
  limits: LimitsBody.optional(),
});
/** What a client may send to create or update an action. */
export type ActionPutBody = z.infer<typeof ActionPutBody>;

/** Where an action is stored. */
export interface ActionTarget {
  readonly namespace: string;
  readonly name: string;
}

/**
 * The action to store for `body`, on top of `previous` when updating.
 *
 * @throws {MalformedRequestError} when the exec, kind or limits are invalid
 */
export function toActionInput(
  target: ActionTarget,
  body: ActionPutBody,
  previous: ActionDoc | undefined,
): ActionInput {
  const exec = body.exec ? toExec(body.exec) : previous?.exec;
  if (!exec) throw new MalformedRequestError(`"exec" is required to create an action`);
  const limits = validate(
    z.object({ limits: ActionLimits }),
    { limits: { ...previous?.limits, ...body.limits } },
  ).limits;
  return {
    namespace: target.namespace,
    name: target.name,
    version: body.version ?? (previous ? nextPatch(previous.version) : "0.0.1"),
    publish: body.publish ?? previous?.publish ?? false,
    exec,
    limits,
    parameters: body.parameters ?? previous?.parameters ?? [],
    annotations: withExecAnnotation(body.annotations ?? previous?.annotations ?? [], exec.kind),
  };
}

function toExec(body: z.infer<typeof ExecBody>): ActionExec {
  const kind = resolveKind(body.kind);
  if (!kind) {
    throw new MalformedRequestError(
      `unknown kind "${body.kind}"; expected one of ${acceptedKinds().join(", ")}`,
    );
  }
  if (kind === BLACKBOX_KIND && body.image === undefined) {
    throw new MalformedRequestError(`"exec.image" is required for kind "${BLACKBOX_KIND}"`);
  }
  if (kind !== BLACKBOX_KIND && body.image !== undefined) {
    throw new MalformedRequestError(`"exec.image" is only allowed for kind "${BLACKBOX_KIND}"`);
  }
  if (kind !== BLACKBOX_KIND && body.code === undefined) {
    throw new MalformedRequestError(`"exec.code" is required for kind "${kind}"`);
  }
  return {
    kind,
    ...(body.code !== undefined ? { code: body.code } : {}),
    ...(body.main !== undefined ? { main: body.main } : {}),
    ...(body.image !== undefined ? { image: body.image } : {}),
    binary: body.binary ?? looksLikeZip(body.code),
  };
}

// Clients send a zip archive as base64 without saying so; "UEsDB" is base64 of "PK\x03\x04".
function looksLikeZip(code: string | undefined): boolean {
  return code?.startsWith("UEsDB") ?? false;
}

function nextPatch(version: string): string {
  const [major = "0", minor = "0", patch = "0"] = version.split(".");
  const next = Number.parseInt(patch, 10) + 1;
  return `${major}.${minor}.${Number.isFinite(next) ? next : 1}`;
}

function withExecAnnotation(annotations: readonly KeyValuePair[], kind: string): KeyValuePair[] {
  return [...annotations.filter((a) => a.key !== "exec"), { key: "exec", value: kind }];
}
