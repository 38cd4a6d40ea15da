/**
 * What an activation's protocol calls mean, and the record that reports it.
 * Pure functions: the OpenWhisk status codes (0 success, 1 application error,
 * 2 developer error, 3 whisk error) decided from the container's answers.
 *
 * @module
 */
import {
  acceptedAt,
  type ActionDoc,
  type ActivationMessage,
  StatusCode,
  type WhiskActivation,
} from "@faas/proto";
import type { ProtocolResult } from "./action_client.ts";
import type { ActivationLogs } from "./container/container_factory.ts";

/** The verdict on one activation (or its failed initialization). */
export interface ActivationResponse {
  readonly statusCode: StatusCode;
  readonly result: Record<string, unknown> | unknown[];
  /** False when the container must not run anything else (timeout, crash, unreachable). */
  readonly containerUsable: boolean;
  /** The action ran out of time. */
  readonly timedOut: boolean;
}

/** The message of an activation whose container ran out of memory. */
export const MEMORY_EXHAUSTED = "The action exhausted its memory and was aborted.";

const CRASHED = "The action did not produce a valid response and exited unexpectedly.";

/** The message of an activation that ran out of time. */
export function timeoutMessage(timeoutMs: number, duringInit = false): string {
  const phase = duringInit ? " during initialization" : "";
  return `The action exceeded its time limits of ${timeoutMs} milliseconds${phase}.`;
}

function verdict(
  statusCode: StatusCode,
  result: Record<string, unknown> | unknown[],
  flags: { containerUsable?: boolean; timedOut?: boolean } = {},
): ActivationResponse {
  const { containerUsable = true, timedOut = false } = flags;
  return { statusCode, result, containerUsable, timedOut };
}

function failure(statusCode: StatusCode, error: unknown, containerUsable = true) {
  return verdict(statusCode, { error }, { containerUsable });
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function snippet(body: string): string {
  return body.length > 200 ? `${body.slice(0, 200)}…` : body;
}

/** Judges a `/init` answer; `undefined` means the code is initialized. */
export function interpretInit(
  outcome: ProtocolResult,
  timeoutMs: number,
): ActivationResponse | undefined {
  switch (outcome.kind) {
    case "response": {
      if (outcome.status >= 200 && outcome.status < 300) return undefined;
      const body = parseJson(outcome.body);
      const error = isObject(body) && "error" in body
        ? body.error
        : `The action failed to initialize: ${snippet(outcome.body)}`;
      return failure(StatusCode.developerError, error, false);
    }
    case "timeout":
      return verdict(StatusCode.developerError, { error: timeoutMessage(timeoutMs, true) }, {
        containerUsable: false,
        timedOut: true,
      });
    case "unreachable":
      return failure(StatusCode.whiskError, "The action's container cannot be reached.", false);
    case "broken":
      return failure(
        StatusCode.developerError,
        "The action did not initialize and exited unexpectedly.",
        false,
      );
    default:
      return outcome satisfies never;
  }
}

/** Judges a `/run` answer. */
export function interpretRun(outcome: ProtocolResult, timeoutMs: number): ActivationResponse {
  switch (outcome.kind) {
    case "response":
      return interpretRunResponse(outcome);
    case "timeout":
      return verdict(StatusCode.developerError, { error: timeoutMessage(timeoutMs) }, {
        containerUsable: false,
        timedOut: true,
      });
    case "unreachable":
      return failure(StatusCode.whiskError, "The action's container cannot be reached.", false);
    case "broken":
      return failure(StatusCode.developerError, CRASHED, false);
    default:
      return outcome satisfies never;
  }
}

/**
 * A run whose container crashed while the output says the heap ran out is
 * reported as memory exhaustion, which tells the developer what to change.
 */
export function explainCrash(
  response: ActivationResponse,
  logs: ActivationLogs,
): ActivationResponse {
  const crashed = isObject(response.result) && response.result.error === CRASHED;
  if (!crashed || !logs.lines.some((l) => /out of memory/i.test(l.text))) return response;
  return { ...response, result: { error: MEMORY_EXHAUSTED } };
}

function interpretRunResponse(
  outcome: Extract<ProtocolResult, { kind: "response" }>,
): ActivationResponse {
  if (outcome.truncated) {
    const { bytes, limit } = outcome.truncated;
    return failure(
      StatusCode.developerError,
      `The action produced a response of ${bytes} bytes, more than the allowed ${limit} bytes.`,
    );
  }
  const ok = outcome.status >= 200 && outcome.status < 300;
  const body = parseJson(outcome.body);
  if (isObject(body)) {
    if (!("error" in body)) {
      return ok ? verdict(StatusCode.success, body) : invalid(outcome.body);
    }
    return failure(ok ? StatusCode.applicationError : StatusCode.developerError, body.error);
  }
  if (ok && Array.isArray(body)) return verdict(StatusCode.success, body);
  return invalid(outcome.body);
}

function invalid(body: string): ActivationResponse {
  return failure(
    StatusCode.developerError,
    `The action did not produce a valid JSON response: ${snippet(body)}`,
  );
}

/** Log lines as OpenWhisk records them: `<ISO time> <stream>: <text>`. */
export function formatLogs(logs: ActivationLogs, limitBytes: number): string[] {
  const lines = logs.lines.map((l) => `${new Date(l.time).toISOString()} ${l.stream}: ${l.text}`);
  const now = new Date().toISOString();
  if (logs.truncated) {
    lines.push(
      `${now} stderr: Logs were truncated: they exceeded the limit of ${limitBytes} bytes.`,
    );
  }
  if (!logs.complete) {
    lines.push(
      `${now} stderr: Logs may be incomplete: the end-of-activation marker did not arrive.`,
    );
  }
  return lines;
}

/** What {@linkcode activationRecord} needs. */
export interface RecordInput {
  readonly message: ActivationMessage;
  readonly action: ActionDoc;
  readonly response: ActivationResponse;
  /** When initialization (on a cold start) or the run began, epoch ms. */
  readonly startMs: number;
  readonly endMs: number;
  /** How long `/init` took; present on a cold start only. */
  readonly initMs?: number;
  readonly logs: readonly string[];
}

/** Builds the WhiskActivation record of one activation. */
export function activationRecord(input: RecordInput): WhiskActivation {
  const { message, action, response, startMs, endMs, initMs } = input;
  const annotations = [
    { key: "limits", value: action.limits },
    { key: "path", value: `${action.namespace}/${action.name}` },
    { key: "kind", value: action.exec.kind },
    { key: "timeout", value: response.timedOut },
    { key: "waitTime", value: Math.max(0, startMs - acceptedAt(message)) },
    ...(initMs === undefined ? [] : [{ key: "initTime", value: initMs }]),
  ];
  return {
    namespace: message.user.namespace.name,
    name: action.name,
    subject: message.user.subject,
    activationId: message.activationId,
    start: startMs,
    end: endMs,
    duration: endMs - startMs,
    response: { statusCode: response.statusCode, result: response.result },
    logs: [...input.logs],
    version: action.version,
    publish: false,
    annotations,
    ...(message.cause ? { cause: message.cause } : {}),
  };
}
