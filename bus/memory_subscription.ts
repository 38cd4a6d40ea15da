/**
 * One member of a `MemoryBus` consumer group: holds a cursor per assigned
 * partition and feeds records to the handler, one at a time, asynchronously.
 *
 * @module
 */
import { getLogger } from "@std/log";
import type { BusRecord, CommitPosition, SubscribeOptions, Subscription } from "./bus.ts";
import type { GroupMember, MemoryGroup } from "./memory_group.ts";
import type { MemoryTopic } from "./memory_topic.ts";
import type { TopicPartition } from "./offset_tracker.ts";

const logger = getLogger("bus", "memory");

interface Cursor {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to deliver. */
  next: number;
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Dependencies a {@linkcode MemorySubscription} gets from its bus. */
export interface MemorySubscriptionContext {
  readonly group: MemoryGroup;
  /** Looks a topic up by name, creating it when missing. */
  readonly topic: (name: string) => MemoryTopic;
  /** Called once the member has left its group. */
  readonly onClosed: (subscription: MemorySubscription) => void;
}

/** A `MemoryBus` group member; create it with `MemoryBus.subscribe()`. */
export class MemorySubscription implements Subscription, GroupMember {
  /** The subscribed topics. */
  readonly topics: readonly string[];
  /** Assignment is synchronous in memory, so the member is ready at once. */
  readonly ready: Promise<void> = Promise.resolve();
  #options: SubscribeOptions;
  #context: MemorySubscriptionContext;
  #cursors = new Map<string, Cursor>();
  #turn = 0;
  #wake: (() => void) | undefined;
  #woken = false;
  #stopped = false;
  #pump: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(options: SubscribeOptions, context: MemorySubscriptionContext) {
    this.topics = [...options.topics];
    this.#options = options;
    this.#context = context;
  }

  /** Joins the group and starts delivering. */
  start(): void {
    this.#context.group.join(this);
    this.#pump = this.#run();
  }

  /** Replaces the assigned partitions; called by the group on every rebalance. */
  assign(partitions: readonly TopicPartition[]): void {
    const next = new Map(partitions.map((p) => [keyOf(p.topic, p.partition), p]));
    const revoked: TopicPartition[] = [];
    for (const [key, { topic, partition }] of this.#cursors) {
      if (next.has(key)) continue;
      this.#cursors.delete(key);
      revoked.push({ topic, partition });
    }
    const fromBeginning = this.#options.fromBeginning ?? true;
    for (const [key, { topic, partition }] of next) {
      if (this.#cursors.has(key)) continue;
      const start = this.#context.group.startOffset(topic, partition, fromBeginning);
      this.#cursors.set(key, { topic, partition, next: start });
    }
    if (revoked.length > 0) this.#revoke(revoked);
    this.notify();
  }

  /** Wakes the delivery loop; the bus calls it after appending to a subscribed topic. */
  notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    if (wake) wake();
    else this.#woken = true;
  }

  /** Commits positions of partitions this member still owns; others are ignored, as another member owns them now. */
  commit(positions: readonly CommitPosition[]): Promise<void> {
    if (this.#stopped) {
      logger.debug("Ignoring a commit for group {groupId} after close", {
        groupId: this.#context.group.id,
      });
      return Promise.resolve();
    }
    const invalid = positions.find((p) => !/^\d+$/.test(p.offset));
    if (invalid) return Promise.reject(new RangeError(`Invalid offset "${invalid.offset}"`));
    for (const { topic, partition, offset } of positions) {
      if (!this.#cursors.has(keyOf(topic, partition))) continue;
      this.#context.group.commit(topic, partition, Number(offset));
    }
    return Promise.resolve();
  }

  /** Stops delivery, waits for the record in progress, then leaves the group. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#stopped = true;
    this.notify();
    await this.#pump;
    const revoked = [...this.#cursors.values()].map(({ topic, partition }) => ({
      topic,
      partition,
    }));
    this.#cursors.clear();
    this.#context.group.leave(this);
    if (revoked.length > 0) this.#revoke(revoked);
    this.#context.onClosed(this);
  }

  async #run(): Promise<void> {
    // Never deliver inside the caller's synchronous code (`subscribe`, `send`).
    await Promise.resolve();
    while (!this.#stopped) {
      const record = this.#takeNext();
      if (record) await this.#deliver(record);
      else await this.#sleep();
    }
  }

  /** The next record of the assigned partitions, taking partitions in turn. */
  #takeNext(): BusRecord | undefined {
    const cursors = [...this.#cursors.values()];
    for (let step = 0; step < cursors.length; step++) {
      const index = (this.#turn + step) % cursors.length;
      const cursor = cursors[index]!;
      const record = this.#context.topic(cursor.topic).read(cursor.partition, cursor.next);
      if (record === undefined) continue;
      cursor.next++;
      this.#turn = index + 1;
      return record;
    }
    return undefined;
  }

  async #deliver(record: BusRecord): Promise<void> {
    try {
      await this.#options.onRecord(record);
    } catch (error) {
      logger.error(
        "Record handler failed for topic {topic} partition {partition} offset {offset}",
        { topic: record.topic, partition: record.partition, offset: record.offset, error },
      );
    }
  }

  #sleep(): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#wake = resolve);
  }

  #revoke(partitions: readonly TopicPartition[]): void {
    try {
      this.#options.onRevoke?.(partitions);
    } catch (error) {
      logger.error("Revocation handler failed for group {groupId}", {
        groupId: this.#context.group.id,
        error,
      });
    }
  }
}
