/**
 * The scheduler side of `activation.ActivationService`: validates requests,
 * checks the caller's fetch token, long-polls the queue and encodes answers.
 * The only scheduler file that knows gRPC status codes.
 *
 * @module
 */
import {
  type ActivationMessage,
  type ActivationServiceHandlers,
  type CallContext,
  encodeFetchResult,
  FETCH_TOKEN_METADATA_KEY,
  type FetchRequest,
  type FetchResult,
  type FetchTokens,
  MalformedFieldError,
  RpcError,
} from "@faas/proto";
import { recordSpan } from "@faas/telemetry";
import type { ActionFetch } from "../queue/queue_manager.ts";
import { parseFetchRequest, parseRescheduleRequest } from "./fetch_request.ts";

/** Where fetches and reschedules go. */
export interface ActivationSource {
  fetch(request: ActionFetch, signal: AbortSignal): Promise<FetchResult>;
  reschedule(message: ActivationMessage): boolean;
}

/** Options for {@linkcode activationService}. */
export interface ActivationServiceOptions {
  /** Checks that a container may pull the action it asks for. */
  readonly tokens: FetchTokens;
  /** How long a fetch waits for an activation before answering `no_activation`. @default {1_000} */
  readonly fetchWaitMs?: number;
  /** Extra time the queue may take to answer before the call fails. @default {5_000} */
  readonly queueTimeoutMs?: number;
  /** Told how each FetchActivation call ended and how long it took, e.g. for metrics. */
  readonly onFetch?: (outcome: FetchResult["kind"] | "error", seconds: number) => void;
}

/** Builds the ActivationService handlers over a source of activations. */
export function activationService(
  source: ActivationSource,
  options: ActivationServiceOptions,
): ActivationServiceHandlers {
  const { tokens, fetchWaitMs = 1_000, queueTimeoutMs = 5_000, onFetch } = options;
  const fetchResult = async (request: FetchRequest, context: CallContext) => {
    const fetch = parse(() => parseFetchRequest(request));
    await authorize(tokens, context, fetch.invocationNamespace, fetch.fqn);
    const result = await fetchWithin(source, fetch, context.signal, fetchWaitMs, queueTimeoutMs);
    if (result.kind === "activation" && result.message.traceContext) {
      const nowMs = Date.now();
      recordSpan("activation.dispatch", {
        kind: "producer",
        parent: result.message.traceContext,
        attributes: {
          "faas.activation_id": result.message.activationId,
          "faas.container_id": fetch.containerId,
        },
        startMs: nowMs,
        endMs: nowMs,
      });
    }
    return result;
  };
  return {
    async fetchActivation(request, context) {
      if (!onFetch) {
        return { activationMessage: encodeFetchResult(await fetchResult(request, context)) };
      }
      const started = performance.now();
      try {
        const result = await fetchResult(request, context);
        onFetch(result.kind, (performance.now() - started) / 1_000);
        return { activationMessage: encodeFetchResult(result) };
      } catch (error) {
        onFetch("error", (performance.now() - started) / 1_000);
        throw error;
      }
    },
    async rescheduleActivation(request, context) {
      const parsed = parse(() => parseRescheduleRequest(request));
      await authorize(tokens, context, parsed.invocationNamespace, parsed.fqn);
      return { isRescheduled: source.reschedule(parsed.message) };
    },
  };
}

function parse<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof MalformedFieldError) throw new RpcError("INVALID_ARGUMENT", error.message);
    throw error;
  }
}

async function authorize(
  tokens: FetchTokens,
  context: CallContext,
  invocationNamespace: string,
  fqn: string,
): Promise<void> {
  const token = context.metadata(FETCH_TOKEN_METADATA_KEY);
  if (token === undefined) {
    throw new RpcError("UNAUTHENTICATED", `Missing "${FETCH_TOKEN_METADATA_KEY}" metadata`);
  }
  if (!(await tokens.verify(token, invocationNamespace, fqn))) {
    throw new RpcError(
      "PERMISSION_DENIED",
      `The fetch token does not grant "${fqn}" in "${invocationNamespace}"`,
    );
  }
}

/**
 * Long-polls the source for up to `waitMs`. A source that has not answered
 * `queueTimeoutMs` after that fails the call; an activation it produces later
 * is put back, so nothing is lost to the late answer.
 */
async function fetchWithin(
  source: ActivationSource,
  fetch: ActionFetch,
  callSignal: AbortSignal,
  waitMs: number,
  queueTimeoutMs: number,
): Promise<FetchResult> {
  const gaveUp = new AbortController();
  // A cleared timer rather than AbortSignal.timeout(): most fetches end early,
  // and a timeout signal's timer would live on for every one of them.
  const waited = new AbortController();
  const waitTimer = setTimeout(() => waited.abort(), waitMs);
  const signal = AbortSignal.any([callSignal, gaveUp.signal, waited.signal]);
  const pending = source.fetch(fetch, signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), waitMs + queueTimeoutMs);
  });
  try {
    const result = await Promise.race([pending, deadline]);
    if (result !== "late") return result;
  } finally {
    clearTimeout(timer);
    clearTimeout(waitTimer);
  }
  gaveUp.abort();
  pending.then((late) => {
    if (late.kind === "activation") source.reschedule(late.message);
  });
  throw new RpcError(
    "DEADLINE_EXCEEDED",
    `The queue of "${fetch.fqn}" did not answer within ${waitMs + queueTimeoutMs} ms`,
  );
}
