/**
 * Runs activations in one container: `/init` once with the action's code,
 * then `/run` per activation, each bounded by the action's time limit, and
 * turns the outcome and the container's logs into the activation record.
 *
 * @module
 */
import { deadline } from "./_deadline.ts";
import { type ActionDoc, type ActivationMessage, type WhiskActivation } from "@faas/proto";
import { ActionClient, type ProtocolResult } from "./action_client.ts";
import {
  activationRecord,
  type ActivationResponse,
  explainCrash,
  formatLogs,
  interpretInit,
  interpretRun,
} from "./activation_record.ts";
import type { Container } from "./container/container_factory.ts";

/** What running one activation produced. */
export type RunOutcome =
  /** The activation ran (or failed in the container); `record` reports it. */
  | {
    readonly kind: "ran";
    readonly record: WhiskActivation;
    /** False when the container must be removed (failed init, timeout, crash). */
    readonly containerUsable: boolean;
  }
  /** The container was gone before the activation reached it: nothing ran. */
  | { readonly kind: "not_started" };

/** Options for {@linkcode ActivationRunner}. */
export interface ActivationRunnerOptions {
  /** How long to wait for the end-of-activation log sentinels. @default {2_000} */
  readonly logWaitMs?: number;
  /** Longest result accepted from the action. @default {1_048_576} */
  readonly maxResponseBytes?: number;
  /**
   * After a refused connection, how long to wait for the container to be seen
   * exited; an exited container means the activation never started. @default {100}
   */
  readonly exitCheckMs?: number;
}

const MB = 1_048_576;
// After a crash or timeout no sentinel will come; only take what is already there.
const BROKEN_LOG_WAIT_MS = 100;

/** Runs the activations of one action in one container, one at a time. */
export class ActivationRunner implements Disposable {
  readonly #container: Container;
  readonly #action: ActionDoc;
  readonly #client: ActionClient;
  readonly #logWaitMs: number;
  readonly #exitCheckMs: number;
  #initialized = false;

  /** Prepares to run `action` (with its code) in `container`. */
  constructor(container: Container, action: ActionDoc, options: ActivationRunnerOptions = {}) {
    this.#container = container;
    this.#action = action;
    this.#logWaitMs = options.logWaitMs ?? 2_000;
    this.#exitCheckMs = options.exitCheckMs ?? 100;
    this.#client = new ActionClient(container.url, {
      maxResponseBytes: options.maxResponseBytes ?? MB,
    });
  }

  /** Whether `/init` has succeeded (the container is warm). */
  get initialized(): boolean {
    return this.#initialized;
  }

  /** Runs `message`, initializing the code first on a cold start. */
  async run(message: ActivationMessage): Promise<RunOutcome> {
    const startMs = Date.now();
    const timeoutMs = this.#action.limits.timeout;
    const { runParams, initEnv } = this.#params(message);
    const fields = this.#activationFields(message, startMs + timeoutMs);
    let initMs: number | undefined;
    if (!this.#initialized) {
      const outcome = await this.#init(initEnv, fields, timeoutMs);
      initMs = Date.now() - startMs;
      if (await this.#gone(outcome)) return { kind: "not_started" };
      const failure = interpretInit(outcome, timeoutMs);
      if (failure) return await this.#finish(message, failure, startMs, initMs);
      this.#initialized = true;
    }
    const outcome = await this.#client.run({ value: runParams, ...fields }, timeoutMs);
    // A warm container that refuses the call died since its last run.
    if (await this.#gone(outcome)) return { kind: "not_started" };
    return await this.#finish(message, interpretRun(outcome, timeoutMs), startMs, initMs);
  }

  [Symbol.dispose](): void {
    this.#client[Symbol.dispose]();
  }

  async #init(
    initEnv: Record<string, unknown>,
    fields: Record<string, string>,
    timeoutMs: number,
  ): Promise<ProtocolResult> {
    const { exec } = this.#action;
    const env: Record<string, unknown> = { ...initEnv };
    for (const [key, value] of Object.entries(fields)) env[`__OW_${key.toUpperCase()}`] = value;
    return await this.#client.init({
      name: this.#action.name,
      main: exec.main ?? "main",
      code: exec.code ?? "",
      binary: exec.binary,
      env,
    }, timeoutMs);
  }

  /** Whether the call was refused because the container has exited. */
  async #gone(outcome: ProtocolResult): Promise<boolean> {
    if (outcome.kind !== "unreachable") return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const alive = new Promise<false>((resolve) =>
      timer = setTimeout(resolve, this.#exitCheckMs, false)
    );
    try {
      return await Promise.race([this.#container.exited.then(() => true), alive]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #finish(
    message: ActivationMessage,
    response: ActivationResponse,
    startMs: number,
    initMs: number | undefined,
  ): Promise<RunOutcome> {
    const endMs = Date.now();
    const waitMs = response.containerUsable ? this.#logWaitMs : BROKEN_LOG_WAIT_MS;
    using wait = deadline(waitMs);
    const logs = await this.#container.logs({ signal: wait.signal });
    const limitBytes = this.#action.limits.logs * MB;
    const record = activationRecord({
      message,
      action: this.#action,
      response: explainCrash(response, logs),
      startMs,
      endMs,
      ...(initMs === undefined ? {} : { initMs }),
      logs: formatLogs(logs, limitBytes),
    });
    return { kind: "ran", record, containerUsable: response.containerUsable };
  }

  /**
   * Run parameters are the action's defaults overridden by the activation's
   * content; the parameters named in `initArgs` go to `/init` as environment.
   */
  #params(message: ActivationMessage) {
    const params: Record<string, unknown> = {};
    for (const { key, value } of this.#action.parameters) params[key] = value;
    Object.assign(params, message.content ?? {});
    const initEnv: Record<string, unknown> = {};
    for (const name of message.initArgs) {
      if (!(name in params)) continue;
      initEnv[name] = params[name];
      delete params[name];
    }
    return { runParams: params, initEnv };
  }

  /** The per-activation fields of `/run` (and, prefixed `__OW_`, of the init environment). */
  #activationFields(message: ActivationMessage, deadlineMs: number): Record<string, string> {
    const action = this.#action;
    const fields: Record<string, string> = {
      namespace: message.user.namespace.name,
      action_name: `/${action.namespace}/${action.name}`,
      action_version: action.version,
      activation_id: message.activationId,
      transaction_id: message.transid[0],
      deadline: String(deadlineMs),
    };
    const apiKey = message.user.authkey?.api_key;
    const provide = action.annotations.find((a) => a.key === "provide-api-key")?.value === true;
    if (provide && apiKey) fields.api_key = apiKey;
    return fields;
  }
}
