/**
 * Consumes a scheduler's `creationAck{sid}` topic: every record is read
 * with {@linkcode readCreationAck}, handed on synchronously, and its offset
 * committed on an interval. A malformed record is logged and skipped, never
 * blocking the partition.
 *
 * @module
 */
import { type Bus, type BusRecord, OffsetTracker, type Subscription } from "@faas/bus";
import { getLogger } from "@std/log";
import { abortable, describe } from "./_abortable.ts";
import { type CreationAck, readCreationAck } from "./creation_message.ts";

const logger = getLogger("scheduler", "creation");

/** Options for {@linkcode AckFeed.start}. */
export interface AckFeedOptions {
  readonly bus: Bus;
  /** The topic, also the consumer group: a restarted scheduler resumes where it stopped. */
  readonly topic: string;
  /** Receives each well-formed ack; should return quickly. */
  readonly onAck: (ack: Extract<CreationAck, { kind: "ack" }>) => void;
  /** How often handled offsets are committed. @default {200} */
  readonly commitIntervalMs?: number;
  /** Cancels starting; `start` then rejects with its reason and leaves nothing running. */
  readonly signal?: AbortSignal;
}

/** A running ack consumer; dispose to stop it. */
export class AckFeed implements AsyncDisposable {
  readonly #tracker = new OffsetTracker();
  readonly #onAck: AckFeedOptions["onAck"];
  #subscription: Subscription | undefined;
  #committer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(onAck: AckFeedOptions["onAck"]) {
    this.#onAck = onAck;
  }

  /** Creates the topic if needed and resolves once the consumer has its partitions. */
  static async start(options: AckFeedOptions): Promise<AckFeed> {
    const { bus, topic, onAck, commitIntervalMs = 200, signal } = options;
    const feed = new AckFeed(onAck);
    await abortable(bus.ensureTopics([topic]), signal);
    feed.#subscription = await bus.subscribe({
      groupId: topic,
      topics: [topic],
      onRecord: (record) => feed.#receive(record),
      onRevoke: (partitions) => feed.#tracker.forget(partitions),
    });
    try {
      await abortable(feed.#subscription.ready, signal);
    } catch (error) {
      await feed.close();
      throw error;
    }
    feed.#committer = setInterval(() => void feed.#commit(), commitIntervalMs);
    return feed;
  }

  /** Stops consuming after committing what was handled. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#committer);
      await this.#subscription?.close();
      await this.#commit();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #receive(record: BusRecord): void {
    const done = this.#tracker.track(record);
    try {
      const ack = readCreationAck(record.value);
      if (ack.kind === "ack") this.#onAck(ack);
      else {
        logger.warn("Skipped malformed creation ack {topic}/{partition}@{offset}: {reason}", {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          reason: ack.reason,
        });
      }
    } finally {
      done();
    }
  }

  async #commit(): Promise<void> {
    if (!this.#subscription) return;
    try {
      await this.#tracker.commitTo(this.#subscription);
    } catch (error) {
      logger.warn("Cannot commit creation acks yet: {error}", { error: describe(error) });
    }
  }
}
