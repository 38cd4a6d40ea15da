/**
 * Actions as stored and as they travel with container commands: the code to
 * run (`exec`), its limits, parameters and annotations.
 *
 * @module
 */
import { z } from "zod";
import { MAX_NAME_LENGTH } from "./names.ts";

/** Per-action limits. */
export const ActionLimits = z.object({
  /** Longest a single run may take, in ms. */
  timeout: z.number().int().min(100).max(300_000).default(60_000),
  /** Memory of one container, in MB. */
  memory: z.number().int().min(128).max(4_096).default(256),
  /** Log size limit, in MB. */
  logs: z.number().int().min(0).max(100).default(10),
  /** Activations one container runs at once. */
  concurrency: z.number().int().min(1).max(500).default(1),
  /** Most containers of this action at once; unset means the namespace limit. */
  instances: z.number().int().min(1).optional(),
});
/** Per-action limits. */
export type ActionLimits = z.infer<typeof ActionLimits>;

/** What the container runs. `kind` selects the runtime, e.g. `nodejs:20` or `deno:2`. */
export const ActionExec = z.object({
  kind: z.string().min(1).max(64).regex(/^[a-z][a-z0-9.-]*(:[A-Za-z0-9._-]+)?$/),
  /** Source text (or base64 when `binary`); absent in metadata-only copies. */
  code: z.string().optional(),
  /** Exported function to call. @default {"main"} */
  main: z.string().max(256).optional(),
  binary: z.boolean().default(false),
  /** Image for `blackbox` actions. */
  image: z.string().max(512).optional(),
});
/** What the container runs. */
export type ActionExec = z.infer<typeof ActionExec>;

/** `{"key": …, "value": …}` pairs, as OpenWhisk stores parameters and annotations. */
export const KeyValuePair = z.object({ key: z.string().min(1).max(256), value: z.unknown() });
/** A key/value pair. */
export type KeyValuePair = z.infer<typeof KeyValuePair>;

/** A stored action. `rev` changes on every update: `{generation}-{hash}`. */
export const ActionDoc = z.object({
  namespace: z.string().min(1).max(2 * MAX_NAME_LENGTH + 1),
  name: z.string().min(1).max(MAX_NAME_LENGTH),
  version: z.string().default("0.0.1"),
  rev: z.string().min(1),
  exec: ActionExec,
  parameters: z.array(KeyValuePair).default([]),
  limits: ActionLimits,
  annotations: z.array(KeyValuePair).default([]),
  publish: z.boolean().default(false),
  updated: z.number().int().nonnegative(),
});
/** A stored action. */
export type ActionDoc = z.infer<typeof ActionDoc>;

/** An action without its code: what schedulers and container commands carry. */
export type ActionMetadata = Omit<ActionDoc, "exec"> & { exec: Omit<ActionExec, "code"> };

/** Drops the code from an action. */
export function actionMetadata(doc: ActionDoc): ActionMetadata {
  const { code: _code, ...exec } = doc.exec;
  return { ...doc, exec };
}

/** The metadata schema (code optional, so a full doc also parses). */
export const ActionMetadata = ActionDoc;

/** The value of annotation `key`, if present. */
export function annotation(doc: Pick<ActionDoc, "annotations">, key: string): unknown {
  return doc.annotations.find((a) => a.key === key)?.value;
}
