/**
 * The message bus port: topics with partitions, producers, and consumer groups
 * that commit offsets explicitly. `kafka_bus.ts` implements it on Apache Kafka
 * and `memory_bus.ts` in memory for the embedded mode; `bus_contract.ts` holds
 * the one test suite both must pass.
 *
 * Delivery is at-least-once: a record is delivered again to the group after a
 * restart or rebalance unless an offset at or beyond it was committed.
 *
 * @module
 */

/** A record to send. Records with the same key land in the same partition, in order. */
export interface OutgoingRecord {
  readonly key?: string;
  readonly value: string;
}

/** A consumed record. */
export interface BusRecord {
  readonly topic: string;
  readonly partition: number;
  /** Position inside the partition; decimal string, as Kafka offsets exceed 2^53 in theory. */
  readonly offset: string;
  readonly key: string | undefined;
  readonly value: string;
}

/** A committed position: the group resumes reading `partition` at `offset`. */
export interface CommitPosition {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read, i.e. one past the last finished record. */
  readonly offset: string;
}

/** Options for {@linkcode Bus.subscribe}. */
export interface SubscribeOptions {
  /** Consumers sharing a group id split the partitions and share committed offsets. */
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. @default {true} (the beginning) */
  readonly fromBeginning?: boolean;
  /**
   * Called for every record, one partition at a time, in offset order. It should
   * return quickly (hand the record on); a throw is logged and the record is
   * treated as handled, so one bad record never blocks a partition.
   */
  readonly onRecord: (record: BusRecord) => void | Promise<void>;
  /** Called when partitions are taken away (rebalance, close); uncommitted work will be redelivered elsewhere. */
  readonly onRevoke?: (partitions: readonly { topic: string; partition: number }[]) => void;
}

/** A running group member. Dispose to leave the group. */
export interface Subscription extends AsyncDisposable {
  /** Commits positions for this group. Positions must not move backwards. */
  commit(positions: readonly CommitPosition[]): Promise<void>;
  /** Resolves when the member has joined its group and been assigned partitions. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** Raised when the bus cannot be reached or a send fails for good. */
export class BusUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BusUnavailableError";
  }
}

/** Producer and consumer factory over one cluster connection. */
export interface Bus extends AsyncDisposable {
  /** Creates topics that do not exist yet; existing ones are left alone. */
  ensureTopics(topics: readonly string[], options?: { partitions?: number }): Promise<void>;
  /** Appends records to a topic; resolves once the broker has them. */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}
