/**
 * An in-process {@linkcode Bus} for the embedded single-process mode and for
 * tests: same semantics as the Kafka bus (partitions, consumer groups, explicit
 * commits, at-least-once redelivery), no durability.
 *
 * @module
 */
import {
  type Bus,
  BusUnavailableError,
  type OutgoingRecord,
  type SubscribeOptions,
  type Subscription,
} from "./bus.ts";
import { MemoryGroup } from "./memory_group.ts";
import { MemorySubscription } from "./memory_subscription.ts";
import { MemoryTopic } from "./memory_topic.ts";

/** Options for {@linkcode MemoryBus}. */
export interface MemoryBusOptions {
  /** Partitions of topics created without an explicit count, including by `send` and `subscribe`. @default {1} */
  readonly defaultPartitions?: number;
}

/**
 * A {@linkcode Bus} held in memory. Topics missing on `send` or `subscribe` are
 * created with {@linkcode MemoryBusOptions.defaultPartitions}, like a broker with
 * automatic topic creation.
 *
 * @example
 * ```ts
 * await using bus = new MemoryBus();
 * await using subscription = await bus.subscribe({
 *   groupId: "workers",
 *   topics: ["jobs"],
 *   onRecord: (record) => handle(record),
 * });
 * await bus.send("jobs", [{ key: "a", value: "hello" }]);
 * ```
 */
export class MemoryBus implements Bus {
  #defaultPartitions: number;
  #topics = new Map<string, MemoryTopic>();
  #groups = new Map<string, MemoryGroup>();
  #subscriptions = new Set<MemorySubscription>();
  #closing: Promise<void> | undefined;

  constructor(options: MemoryBusOptions = {}) {
    this.#defaultPartitions = options.defaultPartitions ?? 1;
  }

  /** Creates the topics that do not exist yet. */
  ensureTopics(topics: readonly string[], options: { partitions?: number } = {}): Promise<void> {
    if (this.#closing) return this.#rejectClosed(`create topics`);
    const partitions = options.partitions ?? this.#defaultPartitions;
    try {
      for (const name of topics) {
        if (!this.#topics.has(name)) this.#topics.set(name, new MemoryTopic(name, partitions));
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  /** Appends records; subscribers receive them asynchronously. */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (this.#closing) return this.#rejectClosed(`send to topic "${topic}"`);
    this.#topic(topic).append(records);
    for (const subscription of this.#subscriptions) {
      if (subscription.topics.includes(topic)) subscription.notify();
    }
    return Promise.resolve();
  }

  /** Joins `options.groupId`; the group rebalances its partitions over its members. */
  subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.#closing) return this.#rejectClosed(`subscribe group "${options.groupId}"`);
    for (const topic of options.topics) this.#topic(topic);
    const subscription = new MemorySubscription(options, {
      group: this.#group(options.groupId),
      topic: (name) => this.#topic(name),
      onClosed: (closed) => this.#subscriptions.delete(closed),
    });
    this.#subscriptions.add(subscription);
    subscription.start();
    return Promise.resolve(subscription);
  }

  /** Closes every subscription; later calls reject with {@linkcode BusUnavailableError}. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([...this.#subscriptions].map((s) => s.close())).then(() => {});
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #topic(name: string): MemoryTopic {
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      topic = new MemoryTopic(name, this.#defaultPartitions);
      this.#topics.set(name, topic);
    }
    return topic;
  }

  #group(id: string): MemoryGroup {
    let group = this.#groups.get(id);
    if (group === undefined) {
      // Groups outlive their members: the committed offsets must survive a restart of all members.
      group = new MemoryGroup(id, (name) => this.#topic(name));
      this.#groups.set(id, group);
    }
    return group;
  }

  #rejectClosed(action: string): Promise<never> {
    return Promise.reject(new BusUnavailableError(`Cannot ${action}: the bus is closed`));
  }
}
