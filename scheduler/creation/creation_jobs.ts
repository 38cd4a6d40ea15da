/**
 * Creation jobs: each requested container from placement to its ack.
 *
 * A job registers itself as in progress in etcd (under the scheduler's lease,
 * so a dead scheduler's jobs vanish), sends a `ContainerCreationMessage` to the
 * chosen invoker and waits for the ack on `creationAck{sid}`. A retryable
 * error is retried on a fresh placement after 100·2^n ms with the same
 * creation id, at most five times; every attempt has its own timeout (the
 * reference keeps the first attempt's timer, so retries time out early). An
 * action no registered invoker can ever host fails at once, not after retries.
 *
 * Invariant: every creation id {@linkcode CreationJobManager.create} returns
 * gets exactly one {@linkcode CreationOutcome}, unless the manager closes first.
 *
 * @module
 */
import type { Bus } from "@faas/bus";
import type { Store } from "@faas/coordination";
import {
  type ClusterKeys,
  type ContainerCreationError,
  entityPath,
  type FetchTokens,
  newCreationId,
  type QueueLeader,
  RETRYABLE_CREATION_ERRORS,
  type Topics,
} from "@faas/proto";
import { getLogger } from "@std/log";
import { abortable, describe } from "./_abortable.ts";
import { actionRequirements, placeContainers, unhostable } from "./container_placement.ts";
import { AckFeed } from "./ack_feed.ts";
import { type CreationAck, creationCommand } from "./creation_message.ts";
import type { CreationOutcome, CreationRequest, CreationResult } from "./creation_outcome.ts";
import { ClosedError } from "./errors.ts";
import { InvokerPool, type InvokerPoolView } from "./invoker_pool.ts";
import { type CreationJob, JobLedger, type PendingCreation } from "./job_ledger.ts";
import { MemoryReservations } from "./memory_reservations.ts";

const logger = getLogger("scheduler", "creation");

/** What the manager needs from the scheduler. */
export interface CreationJobDeps {
  /** Where invokers and in-progress keys live. */
  readonly store: Store;
  /** Carries commands to `invoker{N}` and acks from `creationAck{sid}`. */
  readonly bus: Bus;
  /** The cluster's key schema. */
  readonly keys: ClusterKeys;
  /** The deployment's topic names. */
  readonly topics: Topics;
  /** The lease in-progress keys are bound to. */
  readonly leaseId: () => string;
  /** This scheduler: its id names the ack topic; containers pull from its endpoint. */
  readonly self: () => QueueLeader;
  /** Mints the fetch token each container presents. */
  readonly tokens: FetchTokens;
  /** Receives every outcome; called synchronously, so it should return quickly. */
  readonly onOutcome: (outcome: CreationOutcome) => void;
}

/** Options for {@linkcode CreationJobManager.start}. */
export interface CreationJobOptions {
  /** Time an attempt waits for its ack. @default {20_000} */
  timeoutMs?: number;
  /** Blackbox attempts wait this many times longer (image pulls). @default {15} */
  blackboxTimeoutFactor?: number;
  /** Retries of a retryable error. @default {5} */
  maxRetries?: number;
  /** The first retry waits this long; each further one twice as long. @default {100} */
  retryBaseDelayMs?: number;
  /** How often consumed acks are committed and leftover keys deleted. @default {200} */
  commitIntervalMs?: number;
  /** How long a sent creation holds its memory on the invoker. @default {2_000} */
  reservationMs?: number;
  /** Share of untagged invokers for blackbox actions. @default {0.1} */
  blackboxFraction?: number;
  /** Clock in epoch ms. @default {Date.now} */
  now?: () => number;
  /** Cancels {@linkcode CreationJobManager.start}, which then rejects with its reason. */
  signal?: AbortSignal;
}

type Settings = Required<Omit<CreationJobOptions, "signal">>;

/** Creates containers and tracks each creation to its outcome. */
export class CreationJobManager implements AsyncDisposable {
  readonly #deps: CreationJobDeps;
  readonly #settings: Settings;
  readonly #pool: InvokerPool;
  readonly #ledger: JobLedger;
  readonly #reservations: MemoryReservations;
  readonly #closing = new AbortController();
  #acks: AckFeed | undefined;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed: Promise<void> | undefined;

  private constructor(deps: CreationJobDeps, settings: Settings) {
    this.#deps = deps;
    this.#settings = settings;
    this.#pool = new InvokerPool(deps.store, deps.keys);
    this.#reservations = new MemoryReservations({
      holdMs: settings.reservationMs,
      now: settings.now,
    });
    this.#ledger = new JobLedger(deps.store);
  }

  /** Starts consuming `creationAck{sid}`; resolves once acks are received. */
  static async start(
    deps: CreationJobDeps,
    options: CreationJobOptions = {},
  ): Promise<CreationJobManager> {
    const { signal, ...rest } = options;
    const manager = new CreationJobManager(deps, {
      timeoutMs: 20_000,
      blackboxTimeoutFactor: 15,
      maxRetries: 5,
      retryBaseDelayMs: 100,
      commitIntervalMs: 200,
      reservationMs: 2_000,
      blackboxFraction: 0.1,
      now: Date.now,
      ...rest,
    });
    const { bus, topics, self } = deps;
    manager.#acks = await AckFeed.start({
      bus,
      topic: topics.creationAck(self().sid),
      onAck: (ack) => manager.#handleAck(ack),
      commitIntervalMs: manager.#settings.commitIntervalMs,
      ...(signal ? { signal } : {}),
    });
    manager.#sweeper = setInterval(
      () => void manager.#ledger.sweep(),
      manager.#settings.commitIntervalMs,
    );
    return manager;
  }

  /** Creations in `invocationNamespace` without an outcome yet. */
  pending(invocationNamespace: string): readonly PendingCreation[] {
    return this.#ledger.pending(invocationNamespace);
  }

  /**
   * Starts `request.count` creations and returns their ids at once; outcomes
   * follow through `onOutcome`, never before this returns.
   *
   * @throws {RangeError} when `count` is not a positive integer
   * @throws {ClosedError} after {@linkcode CreationJobManager.close}
   */
  create(request: CreationRequest): string[] {
    const { invocationNamespace, action, count, first = false } = request;
    const fqn = entityPath({ path: action.namespace, name: action.name });
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(`Cannot create "${count}" containers: expected a positive integer`);
    }
    if (this.#closing.signal.aborted) {
      throw new ClosedError(`Cannot create containers for "${fqn}"`);
    }
    const jobs = Array.from({ length: count }, () => {
      const creationId = newCreationId();
      const key = this.#deps.keys.inProgressContainer(
        invocationNamespace,
        fqn,
        action.rev,
        this.#deps.self().sid,
        creationId,
      );
      return this.#ledger.add({ creationId, invocationNamespace, action, fqn, key, first });
    });
    // A microtask later, so that outcomes never reach the caller before the ids.
    queueMicrotask(() => void this.#place(jobs));
    return jobs.map((job) => job.creationId);
  }

  /** Stops consuming acks and abandons unfinished jobs, deleting their keys. */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  /** Same as {@linkcode CreationJobManager.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#closing.abort();
    clearInterval(this.#sweeper);
    await this.#acks?.close();
    await this.#ledger.abandonAll();
  }

  async #place(jobs: readonly CreationJob[]): Promise<void> {
    const attempts = jobs.map((job) => this.#beginAttempt(job));
    const { invocationNamespace, action, fqn } = jobs[0]!;
    let view: InvokerPoolView | string;
    try {
      view = await this.#pool.read(invocationNamespace, fqn, action.rev, {
        signal: this.#closing.signal,
      });
    } catch (error) {
      view = describe(error);
    }
    if (this.#closing.signal.aborted) return;
    // Jobs may have timed out while the store answered.
    const live = jobs.filter((job, i) => job.attempt === attempts[i] && !attempts[i].aborted);
    if (live.length === 0) return;
    if (typeof view === "string") {
      const reason = `Cannot read the invokers: ${view}`;
      for (const job of live) this.#attemptFailed(job, "WhiskError", reason);
      return;
    }
    this.#assign(live, view);
  }

  /** Sends each live job to an invoker, or fails the ones that fit nowhere. */
  #assign(live: readonly CreationJob[], view: InvokerPoolView): void {
    const { invocationNamespace, action, fqn } = live[0]!;
    const request = { invocationNamespace, fqn, requirements: actionRequirements(action) };
    const { blackboxFraction } = this.#settings;
    const impossible = unhostable(view.invokers, request, { blackboxFraction });
    if (impossible) {
      for (const job of live) this.#finishFailed(job, impossible.error, impossible.reason, false);
      return;
    }
    const placement = placeContainers(view.invokers, {
      ...request,
      count: live.length,
      warmInvokerIds: view.warmInvokerIds,
      // A retry (one job) avoids the invoker that just refused it, if another fits.
      avoidInvokerIds: live.length === 1 && live[0]!.invokerId ? [live[0]!.invokerId] : [],
      first: live.some((job) => job.first),
    }, { blackboxFraction, reservedMemoryMb: this.#reservations.current() });
    placement.placed.forEach((p, i) => void this.#send(live[i]!, p.invokerId));
    const unplaced = placement.unplaced;
    if (!unplaced) return;
    for (const job of live.slice(placement.placed.length)) {
      this.#attemptFailed(job, unplaced.error, unplaced.reason);
    }
  }

  /** Starts an attempt: a fresh abort signal and a fresh timeout. */
  #beginAttempt(job: CreationJob): AbortSignal {
    const { timeoutMs, blackboxTimeoutFactor } = this.#settings;
    const ms = job.action.exec.kind === "blackbox" ? timeoutMs * blackboxTimeoutFactor : timeoutMs;
    return this.#ledger.beginAttempt(job, ms, () => {
      const reason = `Timed out after ${ms} ms waiting for the ack of creation "${job.creationId}"`;
      this.#finishFailed(job, "TimeoutError", reason, true);
    });
  }

  async #send(job: CreationJob, invokerId: string): Promise<void> {
    const attempt = job.attempt;
    job.invokerId = invokerId;
    job.phase = "sent";
    job.reservation = this.#reservations.hold(invokerId, job.action.limits.memory);
    const { store, bus, topics, tokens, leaseId, self } = this.#deps;
    try {
      job.registration = store.put(job.key, "", { leaseId: leaseId() });
      await abortable(job.registration, attempt);
      const fetchToken = await tokens.mint(job.invocationNamespace, job.fqn);
      const command = creationCommand({
        ...job,
        leader: self(),
        fetchToken,
        now: this.#settings.now(),
      });
      const value = JSON.stringify(command);
      await abortable(
        bus.send(topics.invoker(invokerId), [{ key: job.creationId, value }]),
        attempt,
      );
      logger.debug("Sent creation {creationId} of {fqn} to invoker {invokerId}", {
        creationId: job.creationId,
        fqn: job.fqn,
        invokerId,
        retryCount: job.retryCount,
      });
    } catch (error) {
      if (attempt.aborted) return; // the job ended meanwhile
      const reason = `Cannot send creation "${job.creationId}" to invoker "${invokerId}": ${
        describe(error)
      }`;
      this.#attemptFailed(job, "WhiskError", reason);
    }
  }

  #handleAck(ack: Extract<CreationAck, { kind: "ack" }>): void {
    const job = this.#ledger.get(ack.creationId);
    // Unknown, late (timed out), or an ack of an earlier attempt delivered again.
    if (!job || job.phase !== "sent" || job.retryCount !== ack.retryCount) {
      logger.debug("Ignored ack of creation {creationId}", { creationId: ack.creationId });
      return;
    }
    if (ack.error === undefined) {
      this.#finish(job, { kind: "created", invokerId: job.invokerId ?? "" });
      return;
    }
    this.#attemptFailed(job, ack.error, ack.reason ?? `The invoker reported "${ack.error}"`);
  }

  /** Retries a retryable error with backoff while tries remain, else fails the job. */
  #attemptFailed(job: CreationJob, error: ContainerCreationError, reason: string): void {
    if (this.#ledger.get(job.creationId) !== job) return; // ended meanwhile
    const retryable = RETRYABLE_CREATION_ERRORS.has(error);
    if (!retryable || job.retryCount >= this.#settings.maxRetries) {
      this.#finishFailed(job, error, reason, retryable);
      return;
    }
    const delayMs = this.#settings.retryBaseDelayMs * 2 ** job.retryCount;
    logger.debug("Retrying creation {creationId} in {delayMs} ms after {error}", {
      creationId: job.creationId,
      delayMs,
      error,
      reason,
    });
    this.#reservations.release(job.reservation);
    this.#ledger.backOff(job, delayMs, () => void this.#place([job]));
  }

  #finishFailed(
    job: CreationJob,
    error: ContainerCreationError,
    reason: string,
    retryable: boolean,
  ): void {
    this.#reservations.release(job.reservation);
    logger.warn("Creation {creationId} of {fqn} failed: {reason}", {
      creationId: job.creationId,
      fqn: job.fqn,
      error,
      reason,
      retryable,
    });
    this.#finish(job, { kind: "failed", error, reason, retryable });
  }

  #finish(job: CreationJob, result: CreationResult): void {
    if (!this.#ledger.finish(job)) return;
    const key = {
      creationId: job.creationId,
      invocationNamespace: job.invocationNamespace,
      fqn: job.fqn,
      revision: job.action.rev,
    };
    try {
      this.#deps.onOutcome({ ...key, ...result });
    } catch (error) {
      logger.error("Outcome handler failed for {creationId}: {error}", {
        creationId: job.creationId,
        error: describe(error),
      });
    }
  }
}
