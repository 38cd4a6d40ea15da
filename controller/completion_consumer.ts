/**
 * Consumes `completed{controllerId}`: hands each activation record to the
 * blocking invoke waiting for it, then stores it. Offsets are committed only once
 * the record is stored, so a controller that dies in between has the
 * completion delivered again; storing twice is harmless.
 *
 * @module
 */
import { sleep } from "@faas/async";
import { type Bus, type BusRecord, OffsetTracker, type Subscription } from "@faas/bus";
import {
  type Acknowledgement,
  MalformedFieldError,
  parseAcknowledgement,
  type WhiskActivation,
} from "@faas/proto";
import { LeaseNotFoundError, StoreUnavailableError } from "@faas/coordination";
import { getLogger } from "@std/log";
import type { ActivationStore } from "./activations/activation_store.ts";
import type { ResultWaiters } from "./activations/result_waiters.ts";

const logger = getLogger("controller", "completions");

/** Options for {@linkcode CompletionConsumer.start}. */
export interface CompletionConsumerOptions {
  readonly bus: Bus;
  /** The topic, `completed{controllerId}` with the deployment's prefix. */
  readonly topic: string;
  /** Consumer group; the topic name, so a restarted controller resumes where it stopped. */
  readonly groupId?: string;
  readonly activations: ActivationStore;
  readonly waiters: ResultWaiters;
  /** How often stored offsets are committed. @default {200} */
  readonly commitIntervalMs?: number;
  /** First delay before storing again after a failure; doubles up to 2 s. @default {100} */
  readonly retryDelayMs?: number;
}

/** A running consumer of completions. */
export class CompletionConsumer implements AsyncDisposable {
  readonly #options: CompletionConsumerOptions;
  readonly #tracker = new OffsetTracker();
  readonly #stop = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #subscription: Subscription | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stored = 0;
  #malformed = 0;
  #unstorable = 0;
  #closing: Promise<void> | undefined;

  private constructor(options: CompletionConsumerOptions) {
    this.#options = options;
  }

  /** Joins the topic's group; await {@linkcode CompletionConsumer.ready} for the first assignment. */
  static async start(options: CompletionConsumerOptions): Promise<CompletionConsumer> {
    const consumer = new CompletionConsumer(options);
    consumer.#subscription = await options.bus.subscribe({
      groupId: options.groupId ?? options.topic,
      topics: [options.topic],
      onRecord: (record) => consumer.#onRecord(record),
      onRevoke: (partitions) => consumer.#tracker.forget(partitions),
    });
    consumer.#timer = setInterval(() => void consumer.#commit(), options.commitIntervalMs ?? 200);
    return consumer;
  }

  /** Resolves once the consumer has joined its group. */
  get ready(): Promise<void> {
    return this.#subscription!.ready;
  }

  /** Records stored so far. */
  get stored(): number {
    return this.#stored;
  }

  /** Malformed messages skipped so far. */
  get malformed(): number {
    return this.#malformed;
  }

  /** Records dropped because the store refuses them (not because it is unreachable). */
  get unstorable(): number {
    return this.#unstorable;
  }

  /** Finishes the stores under way, commits, and leaves the group. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      this.#stop.abort();
      clearInterval(this.#timer);
      await Promise.all(this.#inFlight);
      await this.#commit();
      await this.#subscription?.close();
    })();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #onRecord(record: BusRecord): void {
    const done = this.#tracker.track(record);
    const activation = this.#activationOf(record);
    if (!activation) {
      done();
      return;
    }
    // The waiting caller has its answer now; storing it is the record's business.
    this.#options.waiters.resolve(activation);
    const work = this.#store(activation).then((stored) => {
      if (stored) done();
    });
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  #activationOf(record: BusRecord): WhiskActivation | undefined {
    let ack: Acknowledgement;
    try {
      ack = parseAcknowledgement(record.value);
    } catch (error) {
      // Whatever fails to parse is skipped: throwing here would leave the
      // record tracked but never done, and stall the partition's commits.
      this.#malformed++;
      logger.warn("Skipped malformed completion {topic}/{partition}@{offset}: {reason}", {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        reason: error instanceof MalformedFieldError ? error.message : String(error),
      });
      return undefined;
    }
    if (ack.kind !== "completion" && typeof ack.ack.response !== "string") return ack.ack.response;
    // Every producer sends the full record; a bare id has nothing to store.
    logger.debug("Skipped a completion without its record", { kind: ack.kind });
    return undefined;
  }

  /** Stores `activation`, retrying until it is stored or the consumer closes. */
  async #store(activation: WhiskActivation): Promise<boolean> {
    let delayMs = this.#options.retryDelayMs ?? 100;
    for (let attempt = 1;; attempt++) {
      try {
        await this.#options.activations.put(activation);
        this.#stored++;
        return true;
      } catch (error) {
        // Only an unreachable store is worth waiting for. A record the store
        // refuses (e.g. larger than etcd accepts) would never be stored and
        // would hold back every later offset of the partition.
        if (!(error instanceof StoreUnavailableError || error instanceof LeaseNotFoundError)) {
          this.#unstorable++;
          logger.error("Dropped activation {activationId} the store refuses: {error}", {
            activationId: activation.activationId,
            error: String(error),
          });
          return true;
        }
        logger.warn("Cannot store activation {activationId} (attempt {attempt}): {error}", {
          activationId: activation.activationId,
          attempt,
          error: String(error),
        });
      }
      await sleep(delayMs, this.#stop.signal);
      if (this.#stop.signal.aborted) return false;
      delayMs = Math.min(delayMs * 2, 2_000);
    }
  }

  async #commit(): Promise<void> {
    if (!this.#subscription) return;
    try {
      await this.#tracker.commitTo(this.#subscription);
    } catch (error) {
      logger.warn("Cannot commit completion offsets yet: {error}", { error: String(error) });
    }
  }
}
