/**
 * Actions as the OpenWhisk API renders them.
 *
 * @module
 */
import type { ActionDoc } from "@faas/proto";

/** Options for {@linkcode actionJson}. */
export interface ActionJsonOptions {
  /** Include `exec.code` (OpenWhisk's `?code=false` leaves it out). @default {true} */
  readonly code?: boolean;
}

/** The full action, as `GET`, `PUT` and `DELETE` on one action return it. */
export function actionJson(
  doc: ActionDoc,
  options: ActionJsonOptions = {},
): Record<string, unknown> {
  const { code = true } = options;
  const { code: source, ...exec } = doc.exec;
  return {
    namespace: doc.namespace,
    name: doc.name,
    version: doc.version,
    publish: doc.publish,
    exec: code && source !== undefined ? { ...exec, code: source } : exec,
    annotations: doc.annotations,
    parameters: doc.parameters,
    limits: doc.limits,
    updated: doc.updated,
  };
}

/** One entry of an action list: no code and no parameters. */
export function actionSummaryJson(doc: ActionDoc): Record<string, unknown> {
  return {
    namespace: doc.namespace,
    name: doc.name,
    version: doc.version,
    publish: doc.publish,
    exec: { binary: doc.exec.binary },
    annotations: doc.annotations,
    limits: doc.limits,
    updated: doc.updated,
  };
}
