/**
 * The {@linkcode Bus} on Apache Kafka through the `kafkajs` client. This is the
 * only module that imports `kafkajs`; everything else sees the `Bus` port.
 *
 * One producer and one admin client are shared per bus; every subscription is
 * its own kafkajs consumer (group member) with manual commits.
 *
 * @module
 */
import {
  type Admin,
  type Consumer,
  type EachMessagePayload,
  Kafka,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
} from "kafkajs";
import { getLogger } from "@std/log";
import {
  type Bus,
  BusUnavailableError,
  type CommitPosition,
  type OutgoingRecord,
  type SubscribeOptions,
  type Subscription,
} from "./bus.ts";
import { GroupCommit } from "@faas/async";
import type { TopicPartition } from "./offset_tracker.ts";

const logger = getLogger("bus", "kafka");
const decoder = new TextDecoder();

/** Options for {@linkcode connectKafka}. */
export interface KafkaBusOptions {
  /** Bootstrap brokers as `host:port`. */
  readonly brokers: readonly string[];
  /** Names this client in broker logs and quotas. */
  readonly clientId: string;
  /** A member silent for this long is dropped and its partitions move, in ms. @default {10_000} */
  readonly sessionTimeout?: number;
  /** Heartbeat period of group members in ms; must be below `sessionTimeout`. @default {1_000} */
  readonly heartbeatInterval?: number;
  /** How long a rebalance waits for live members to rejoin, in ms. @default {10_000} */
  readonly rebalanceTimeout?: number;
  /**
   * Longest time the broker holds a fetch with no data, in ms. Members notice a
   * rebalance and finish closing only between fetches, so this bounds both.
   * @default {500}
   */
  readonly maxWaitTime?: number;
  /** TCP connect timeout in ms. @default {3_000} */
  readonly connectionTimeout?: number;
  /** Timeout of one broker request in ms. @default {30_000} */
  readonly requestTimeout?: number;
  /** Retries of a failing request (exponential backoff) before giving up. @default {5} */
  readonly retries?: number;
  /** Aborts connecting; the returned promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

type Settings = Required<Omit<KafkaBusOptions, "signal" | "brokers">> & { brokers: string[] };

function settingsOf(options: KafkaBusOptions): Settings {
  const settings: Settings = {
    brokers: [...options.brokers],
    clientId: options.clientId,
    sessionTimeout: options.sessionTimeout ?? 10_000,
    heartbeatInterval: options.heartbeatInterval ?? 1_000,
    rebalanceTimeout: options.rebalanceTimeout ?? 10_000,
    maxWaitTime: options.maxWaitTime ?? 500,
    connectionTimeout: options.connectionTimeout ?? 3_000,
    requestTimeout: options.requestTimeout ?? 30_000,
    retries: options.retries ?? 5,
  };
  if (settings.brokers.length === 0) throw new RangeError("At least one broker is required");
  if (settings.heartbeatInterval >= settings.sessionTimeout) {
    throw new RangeError(
      `Heartbeat interval "${settings.heartbeatInterval}" must be below session timeout "${settings.sessionTimeout}"`,
    );
  }
  return settings;
}

/**
 * kafkajs logs every error response at ERROR, including expected ones (topic
 * exists, group rebalancing); the caller of the request sees and handles them.
 */
function isHandledResponse(namespace: string, message: string): boolean {
  return namespace === "Connection" && message.startsWith("Response ");
}

/** kafkajs warns on every rebalance, which is routine for a consumer group. */
function isRoutine(namespace: string, message: string): boolean {
  return namespace === "Runner" && message.startsWith("The group is rebalancing");
}

/** Routes kafkajs logs into ours; its INFO level is per-connection chatter, so it becomes debug. */
function logCreator(): (entry: LogEntry) => void {
  return ({ namespace, level, log }) => {
    const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
    const properties = { namespace, message, ...fields };
    const text = "kafkajs {namespace}: {message}";
    if (isHandledResponse(namespace, message)) logger.debug(text, properties);
    else if (isRoutine(namespace, message)) logger.info(text, properties);
    else if (level === logLevel.ERROR) logger.error(text, properties);
    else if (level === logLevel.WARN) logger.warn(text, properties);
    else logger.debug(text, properties);
  };
}

/** Error types with which Kafka rejects a commit because the group is rebalancing. */
const REBALANCE_ERRORS = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
  "NOT_COORDINATOR",
  "NOT_COORDINATOR_FOR_GROUP",
]);

function isRebalanceError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (REBALANCE_ERRORS.has((e as { type?: string }).type ?? "")) return true;
  }
  return false;
}

/** Rejects with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Connects to a Kafka cluster and returns a {@linkcode KafkaBus}.
 *
 * @throws {BusUnavailableError} when the brokers cannot be reached within the retries.
 * @example
 * ```ts
 * await using bus = await connectKafka({ brokers: ["127.0.0.1:9092"], clientId: "scheduler" });
 * await bus.send("jobs", [{ key: "a", value: "hello" }]);
 * ```
 */
export function connectKafka(options: KafkaBusOptions): Promise<KafkaBus> {
  return KafkaBus.connect(options);
}

interface Outgoing {
  readonly topic: string;
  readonly records: readonly OutgoingRecord[];
}

/** A {@linkcode Bus} on Apache Kafka; create it with {@linkcode connectKafka}. */
export class KafkaBus implements Bus {
  #settings: Settings;
  #kafka: Kafka;
  #producer: Producer;
  #admin: Admin;
  #subscriptions = new Set<KafkaSubscription>();
  #closing: Promise<void> | undefined;
  // Sends issued while a produce request is in flight share the next request.
  readonly #produce = new GroupCommit<Outgoing>((batch) => this.#sendBatch(batch));

  private constructor(settings: Settings, kafka: Kafka, producer: Producer, admin: Admin) {
    this.#settings = settings;
    this.#kafka = kafka;
    this.#producer = producer;
    this.#admin = admin;
  }

  /** See {@linkcode connectKafka}. */
  static async connect(options: KafkaBusOptions): Promise<KafkaBus> {
    const settings = settingsOf(options);
    options.signal?.throwIfAborted();
    const kafka = new Kafka({
      clientId: settings.clientId,
      brokers: settings.brokers,
      connectionTimeout: settings.connectionTimeout,
      requestTimeout: settings.requestTimeout,
      retry: { retries: settings.retries },
      logLevel: logLevel.INFO,
      logCreator,
    });
    // An explicit partitioner keeps kafkajs from warning about its v2 default change.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const admin = kafka.admin();
    const disconnect = () => Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    const connecting = Promise.allSettled([producer.connect(), admin.connect()]);
    let results: PromiseSettledResult<void>[];
    try {
      results = await abortable(connecting, options.signal);
    } catch (error) {
      // kafkajs cannot cancel a connect in progress: clean up once it settles.
      void connecting.then(disconnect);
      throw error;
    }
    const failure = results.find((result) => result.status === "rejected");
    if (failure) {
      await disconnect();
      throw new BusUnavailableError(
        `Cannot connect to Kafka brokers "${settings.brokers.join(",")}"`,
        { cause: failure.reason },
      );
    }
    return new KafkaBus(settings, kafka, producer, admin);
  }

  /** Creates missing topics with `partitions` (default: the broker's `num.partitions`). */
  async ensureTopics(
    topics: readonly string[],
    options: { partitions?: number } = {},
  ): Promise<void> {
    this.#assertOpen(`create topics "${topics.join(",")}"`);
    const unique = [...new Set(topics)];
    if (unique.length === 0) return;
    try {
      // Resolves false when some topics existed already, which is what we want.
      await this.#admin.createTopics({
        topics: unique.map((topic) => ({ topic, numPartitions: options.partitions })),
        waitForLeaders: true,
      });
    } catch (error) {
      throw new BusUnavailableError(`Cannot create topics "${unique.join(",")}"`, { cause: error });
    }
  }

  /** Appends records; resolves once all in-sync replicas have them (acks=all). */
  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    this.#assertOpen(`send to topic "${topic}"`);
    if (records.length === 0) return;
    try {
      await this.#produce.submit({ topic, records });
    } catch (error) {
      throw new BusUnavailableError(`Cannot send to topic "${topic}"`, { cause: error });
    }
  }

  /** One produce request for several sends; records keep their order per topic. */
  async #sendBatch(batch: readonly Outgoing[]): Promise<void> {
    const byTopic = new Map<string, { key: string | null; value: string }[]>();
    for (const { topic, records } of batch) {
      const messages = byTopic.get(topic) ?? [];
      for (const { key, value } of records) messages.push({ key: key ?? null, value });
      byTopic.set(topic, messages);
    }
    await this.#producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }

  /** Starts a group member; it joins in the background, see {@linkcode Subscription.ready}. */
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.#assertOpen(`subscribe group "${options.groupId}"`);
    const consumer = this.#kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: this.#settings.sessionTimeout,
      heartbeatInterval: this.#settings.heartbeatInterval,
      rebalanceTimeout: this.#settings.rebalanceTimeout,
      maxWaitTimeInMs: this.#settings.maxWaitTime,
      retry: { retries: this.#settings.retries },
    });
    const subscription = new KafkaSubscription(consumer, this.#admin, options, (closed) => {
      this.#subscriptions.delete(closed);
    });
    this.#subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.#subscriptions.delete(subscription);
      throw error;
    }
    return subscription;
  }

  /** Closes every subscription (leaving their groups), then the producer and admin client. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#subscriptions].map((s) => s.close()));
    const results = await Promise.allSettled([
      this.#producer.disconnect(),
      this.#admin.disconnect(),
    ]);
    for (const result of results) {
      if (result.status === "rejected") {
        logger.warn("Disconnecting from Kafka failed", { error: result.reason });
      }
    }
  }

  #assertOpen(action: string): void {
    if (this.#closing) throw new BusUnavailableError(`Cannot ${action}: the bus is closed`);
  }
}

/** One kafkajs consumer: a member of `options.groupId` with manual commits. */
class KafkaSubscription implements Subscription {
  readonly ready: Promise<void>;
  #consumer: Consumer;
  #admin: Admin;
  #options: SubscribeOptions;
  #onClosed: (subscription: KafkaSubscription) => void;
  #joined = Promise.withResolvers<void>();
  #hasJoined = false;
  #assigned: TopicPartition[] = [];
  #closing: Promise<void> | undefined;

  constructor(
    consumer: Consumer,
    admin: Admin,
    options: SubscribeOptions,
    onClosed: (subscription: KafkaSubscription) => void,
  ) {
    this.#consumer = consumer;
    this.#admin = admin;
    this.#options = options;
    this.#onClosed = onClosed;
    this.ready = this.#joined.promise;
    // Nobody has to await `ready`; a rejection must not become an unhandled one.
    this.ready.catch(() => {});
  }

  /** Connects and subscribes, then lets kafkajs join the group in the background. */
  async start(): Promise<void> {
    const consumer = this.#consumer;
    consumer.on(
      consumer.events.GROUP_JOIN,
      ({ payload }) => this.#onJoin(payload.memberAssignment),
    );
    consumer.on(consumer.events.REBALANCING, () => this.#revokeAll());
    consumer.on(consumer.events.STOP, () => this.#revokeAll());
    consumer.on(consumer.events.CRASH, ({ payload }) => this.#onCrash(payload));
    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: [...this.#options.topics],
        fromBeginning: this.#options.fromBeginning ?? true,
      });
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw new BusUnavailableError(`Cannot subscribe group "${this.#options.groupId}"`, {
        cause: error,
      });
    }
    if (this.#closing) {
      // Closed while connecting: the disconnect in close() may have run too early.
      await consumer.disconnect().catch(() => {});
      return;
    }
    // run() resolves only after the first join; `ready` reports that instead.
    consumer.run({ autoCommit: false, eachMessage: (payload) => this.#handle(payload) })
      .catch((error) => this.#failJoin(error));
  }

  /** Commits positions of partitions this member owns; others are skipped, as another member owns them now. */
  async commit(positions: readonly CommitPosition[]): Promise<void> {
    if (this.#closing) {
      logger.debug("Ignoring a commit for group {groupId} after close", this.#logFields());
      return;
    }
    const invalid = positions.find((p) => !/^\d+$/.test(p.offset));
    if (invalid) throw new RangeError(`Invalid offset "${invalid.offset}"`);
    const owned = positions.filter((p) => this.#owns(p));
    if (owned.length === 0) return;
    try {
      await this.#consumer.commitOffsets(
        owned.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
      );
    } catch (error) {
      if (!isRebalanceError(error)) {
        throw new BusUnavailableError(
          `Cannot commit offsets for group "${this.#options.groupId}"`,
          { cause: error },
        );
      }
      // The partitions are being revoked; their records will be redelivered (at-least-once).
      logger.warn("Commit for group {groupId} lost to a rebalance", {
        ...this.#logFields(),
        error,
      });
    }
  }

  /** Waits for the record in progress, leaves the group and disconnects. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    try {
      await this.#consumer.disconnect();
    } catch (error) {
      logger.warn("Leaving group {groupId} failed", { ...this.#logFields(), error });
    }
    this.#revokeAll();
    this.#failJoin(
      new BusUnavailableError(`Group "${this.#options.groupId}" closed before joining`),
    );
    this.#onClosed(this);
  }

  #onJoin(assignment: Record<string, number[]>): void {
    // A member that was dropped (e.g. UNKNOWN_MEMBER_ID) rejoins without a
    // REBALANCING event, yet kafkajs restarts every partition from its commit.
    this.#revokeAll();
    this.#assigned = Object.entries(assignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => ({ topic, partition }))
    );
    if (this.#hasJoined) return;
    this.#hasJoined = true;
    const pinned = this.#options.fromBeginning === false
      ? this.#pinStart(this.#assigned)
      : Promise.resolve();
    pinned.then(() => this.#joined.resolve());
  }

  /**
   * kafkajs looks up the end of a partition lazily, at its first fetch, which can
   * come after `ready`: records sent in between would be skipped. Committing the
   * end now fixes where an uncommitted group starts before `ready` resolves.
   */
  async #pinStart(partitions: readonly TopicPartition[]): Promise<void> {
    try {
      const missing = await this.#uncommitted(partitions);
      if (missing.length === 0) return;
      const ends = new Map<string, string>();
      for (const topic of new Set(missing.map((p) => p.topic))) {
        for (const { partition, high } of await this.#admin.fetchTopicOffsets(topic)) {
          ends.set(`${topic}\u0000${partition}`, high);
        }
      }
      await this.#consumer.commitOffsets(missing.map(({ topic, partition }) => ({
        topic,
        partition,
        offset: ends.get(`${topic}\u0000${partition}`) ?? "0",
      })));
    } catch (error) {
      logger.warn("Cannot pin the start of group {groupId}", { ...this.#logFields(), error });
    }
  }

  /** The partitions for which the group has no committed offset. */
  async #uncommitted(partitions: readonly TopicPartition[]): Promise<TopicPartition[]> {
    const topics = [...new Set(partitions.map((p) => p.topic))];
    if (topics.length === 0) return [];
    const committed = await this.#admin.fetchOffsets({ groupId: this.#options.groupId, topics });
    const missing = new Set<string>();
    for (const { topic, partitions: offsets } of committed) {
      for (const { partition, offset } of offsets) {
        if (BigInt(offset) < 0n) missing.add(`${topic}\u0000${partition}`);
      }
    }
    return partitions.filter((p) => missing.has(`${p.topic}\u0000${p.partition}`));
  }

  async #handle({ topic, partition, message }: EachMessagePayload): Promise<void> {
    const record = {
      topic,
      partition,
      offset: message.offset,
      key: message.key === null ? undefined : decoder.decode(message.key),
      value: message.value === null ? "" : decoder.decode(message.value),
    };
    try {
      await this.#options.onRecord(record);
    } catch (error) {
      // Never hand the error to kafkajs: it would re-fetch and retry the partition forever.
      logger.error(
        "Record handler failed for topic {topic} partition {partition} offset {offset}",
        { topic, partition, offset: message.offset, error },
      );
    }
  }

  #onCrash(payload: { error: Error; restart: boolean }): void {
    const fields = { ...this.#logFields(), error: payload.error };
    if (payload.restart) {
      logger.warn("Consumer of group {groupId} crashed and restarts", fields);
      return;
    }
    logger.error("Consumer of group {groupId} crashed for good", fields);
    this.#failJoin(
      new BusUnavailableError(`Group "${this.#options.groupId}" consumer crashed`, {
        cause: payload.error,
      }),
    );
  }

  #failJoin(error: Error): void {
    if (!this.#hasJoined) this.#joined.reject(error);
  }

  #revokeAll(): void {
    const revoked = this.#assigned;
    this.#assigned = [];
    if (revoked.length === 0) return;
    try {
      this.#options.onRevoke?.(revoked);
    } catch (error) {
      logger.error("Revocation handler failed for group {groupId}", {
        ...this.#logFields(),
        error,
      });
    }
  }

  #owns({ topic, partition }: TopicPartition): boolean {
    return this.#assigned.some((p) => p.topic === topic && p.partition === partition);
  }

  #logFields(): { groupId: string } {
    return { groupId: this.#options.groupId };
  }
}
