/**
 * The bookkeeping of creation jobs: the jobs without an outcome, indexed by
 * creation id and by namespace; each job's attempt signal and timer; and the
 * deletion of its in-progress key, retried until etcd takes it, so a key
 * never outlives its job for longer than etcd is unreachable.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import type { ActionMetadata } from "@faas/proto";
import { getLogger } from "@std/log";
import { describe, sleep } from "./_abortable.ts";
import type { Reservation } from "./memory_reservations.ts";

const logger = getLogger("scheduler", "creation");

/** One requested container, from placement to its outcome. */
export interface CreationJob {
  readonly creationId: string;
  readonly invocationNamespace: string;
  readonly action: ActionMetadata;
  /** The action path without version. */
  readonly fqn: string;
  /** Its in-progress key. */
  readonly key: string;
  /** Attempts so far, minus one; sent in the command and echoed by the ack. */
  retryCount: number;
  /** The invoker of the latest attempt. */
  invokerId: string | undefined;
  /** `placing` until sent, `sent` while an ack is due, `backoff` between attempts. */
  phase: "placing" | "sent" | "backoff";
  /** Aborted when the current attempt ends. */
  attempt: AbortSignal;
  /** Memory held on the invoker of the latest attempt. */
  reservation: Reservation | undefined;
  /** The put of the in-progress key, once started. */
  registration: Promise<void> | undefined;
  /** The action's first container (see `CreationRequest.first`). */
  readonly first?: boolean;
}

/** A job as the counts see it. */
export interface PendingCreation {
  /** The action path without version. */
  readonly fqn: string;
  /** The action revision. */
  readonly revision: string;
  /** The in-progress key. */
  readonly key: string;
}

/** What identifies a new job. */
export type NewJob = Pick<
  CreationJob,
  "creationId" | "invocationNamespace" | "action" | "fqn" | "key" | "first"
>;

interface Timing {
  controller: AbortController;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Options for {@linkcode JobLedger}. */
export interface JobLedgerOptions {
  /** Longest {@linkcode JobLedger.abandonAll} waits for key deletions. @default {2_000} */
  abandonTimeoutMs?: number;
}

/** Jobs without an outcome, their timers and their keys. */
export class JobLedger {
  readonly #store: Store;
  readonly #abandonTimeoutMs: number;
  readonly #jobs = new Map<string, CreationJob>();
  readonly #byNamespace = new Map<string, Set<CreationJob>>();
  readonly #timing = new Map<CreationJob, Timing>();
  readonly #leftovers = new Set<string>();
  readonly #deleting = new Set<Promise<void>>();
  #sweeping = false;

  constructor(store: Store, options: JobLedgerOptions = {}) {
    this.#store = store;
    this.#abandonTimeoutMs = options.abandonTimeoutMs ?? 2_000;
  }

  /** Records a new job, before its first attempt. */
  add(init: NewJob): CreationJob {
    const controller = new AbortController();
    const job: CreationJob = {
      ...init,
      retryCount: 0,
      invokerId: undefined,
      phase: "placing",
      attempt: controller.signal,
      reservation: undefined,
      registration: undefined,
    };
    this.#jobs.set(job.creationId, job);
    this.#timing.set(job, { controller, timer: undefined });
    let jobs = this.#byNamespace.get(job.invocationNamespace);
    if (!jobs) this.#byNamespace.set(job.invocationNamespace, jobs = new Set());
    jobs.add(job);
    return job;
  }

  /** The job without an outcome with this id. */
  get(creationId: string): CreationJob | undefined {
    return this.#jobs.get(creationId);
  }

  /** Jobs of a namespace without an outcome. */
  pending(invocationNamespace: string): PendingCreation[] {
    const jobs = this.#byNamespace.get(invocationNamespace) ?? [];
    return [...jobs].map((j) => ({ fqn: j.fqn, revision: j.action.rev, key: j.key }));
  }

  /** Ends the current attempt and starts the next: a fresh signal, a fresh timeout. */
  beginAttempt(job: CreationJob, timeoutMs: number, onTimeout: () => void): AbortSignal {
    const timing = this.#end(job);
    job.phase = "placing";
    job.attempt = timing.controller.signal;
    timing.timer = setTimeout(onTimeout, timeoutMs);
    return job.attempt;
  }

  /** Ends the current attempt and runs `next` after `delayMs`, one retry later. */
  backOff(job: CreationJob, delayMs: number, next: () => void): void {
    const timing = this.#end(job);
    job.phase = "backoff";
    job.retryCount++;
    job.attempt = timing.controller.signal;
    timing.timer = setTimeout(next, delayMs);
  }

  /** Removes a job and deletes its key; false if it had already ended. */
  finish(job: CreationJob): boolean {
    if (this.#jobs.get(job.creationId) !== job) return false;
    this.#remove(job);
    return true;
  }

  /** Retries key deletions that failed. */
  async sweep(): Promise<void> {
    if (this.#sweeping || this.#leftovers.size === 0) return;
    this.#sweeping = true;
    try {
      for (const key of [...this.#leftovers]) {
        await this.#store.delete(key);
        this.#leftovers.delete(key);
      }
    } catch (error) {
      logger.debug("Cannot delete leftover in-progress keys yet: {error}", {
        error: describe(error),
      });
    } finally {
      this.#sweeping = false;
    }
  }

  /** Drops every job without an outcome; waits a bounded time for their keys to go. */
  async abandonAll(): Promise<void> {
    for (const job of [...this.#jobs.values()]) this.#remove(job);
    const giveUp = new AbortController();
    const deletions = Promise.all(this.#deleting);
    await Promise.race([deletions, sleep(this.#abandonTimeoutMs, giveUp.signal)]);
    giveUp.abort();
  }

  #remove(job: CreationJob): void {
    const timing = this.#timing.get(job)!;
    timing.controller.abort();
    clearTimeout(timing.timer);
    this.#jobs.delete(job.creationId);
    this.#timing.delete(job);
    const jobs = this.#byNamespace.get(job.invocationNamespace);
    jobs?.delete(job);
    if (jobs?.size === 0) this.#byNamespace.delete(job.invocationNamespace);
    if (job.registration) this.#unregister(job.key, job.registration);
  }

  /** Aborts the current attempt and clears its timer; returns the job's timing, renewed. */
  #end(job: CreationJob): Timing {
    const timing = this.#timing.get(job)!;
    timing.controller.abort();
    clearTimeout(timing.timer);
    timing.controller = new AbortController();
    timing.timer = undefined;
    return timing;
  }

  #unregister(key: string, registration: Promise<void>): void {
    const deletion = (async () => {
      // A put still in flight would otherwise land after the delete and linger.
      await registration.catch(() => {});
      try {
        await this.#store.delete(key);
      } catch (error) {
        this.#leftovers.add(key);
        logger.warn("Cannot delete in-progress key {key} yet: {error}", {
          key,
          error: describe(error),
        });
      }
    })();
    this.#deleting.add(deletion);
    void deletion.finally(() => this.#deleting.delete(deletion));
  }
}
