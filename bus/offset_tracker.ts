/**
 * Turns out-of-order completion of consumed records into safe commit positions.
 *
 * @module
 */
import type { BusRecord, CommitPosition, Subscription } from "./bus.ts";

/** A topic and partition pair. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

interface Entry {
  readonly offset: bigint;
  done: boolean;
}

/** Records of one partition still being worked on, in offset order. */
class PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Sorted by offset; entries before `#head` are done and only wait for compaction. */
  #entries: Entry[] = [];
  #head = 0;
  #last: bigint;
  /** The last position committed, or the first tracked offset (committing it would change nothing). */
  #committed: bigint;

  constructor(topic: string, partition: number, firstOffset: bigint) {
    this.topic = topic;
    this.partition = partition;
    this.#last = firstOffset - 1n;
    this.#committed = firstOffset;
  }

  add(offset: bigint): Entry {
    const entry: Entry = { offset, done: false };
    if (offset > this.#last) {
      this.#entries.push(entry);
      this.#last = offset;
    } else {
      // A redelivered record: keep the list sorted so the watermark stays correct.
      this.#entries.splice(this.#insertionIndex(offset), 0, entry);
    }
    return entry;
  }

  /** The smallest offset not done yet, or one past the last tracked offset. */
  watermark(): bigint {
    this.#skipDone();
    return this.#entries[this.#head]?.offset ?? this.#last + 1n;
  }

  /** The watermark when it moved beyond the committed position, else undefined. */
  advanced(): bigint | undefined {
    const watermark = this.watermark();
    return watermark > this.#committed ? watermark : undefined;
  }

  markCommitted(offset: bigint): void {
    if (offset > this.#committed) this.#committed = offset;
  }

  #skipDone(): void {
    while (this.#entries[this.#head]?.done) this.#head++;
    // Compact rarely so that skipping stays amortised O(1).
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  #insertionIndex(offset: bigint): number {
    let low = this.#head;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#entries[middle]!.offset <= offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Tracks consumed records that finish in any order and reports, per partition,
 * the position that is safe to commit: the smallest offset still in progress,
 * so that a restart redelivers every unfinished record (at-least-once).
 *
 * @example
 * ```ts
 * const tracker = new OffsetTracker();
 * const done = tracker.track(record);
 * // ... later, when the work for `record` has finished:
 * done();
 * await tracker.commitTo(subscription);
 * ```
 */
export class OffsetTracker {
  #partitions = new Map<string, PartitionState>();

  /** Starts tracking a delivered record; call the returned function once it is done (extra calls are ignored). */
  track(record: Pick<BusRecord, "topic" | "partition" | "offset">): () => void {
    const offset = BigInt(record.offset);
    const key = keyOf(record.topic, record.partition);
    let state = this.#partitions.get(key);
    if (state === undefined) {
      state = new PartitionState(record.topic, record.partition, offset);
      this.#partitions.set(key, state);
    }
    const entry = state.add(offset);
    return () => {
      entry.done = true;
    };
  }

  /** Positions that moved forward since the last {@linkcode OffsetTracker.markCommitted}, one per partition. */
  committable(): CommitPosition[] {
    const positions: CommitPosition[] = [];
    for (const state of this.#partitions.values()) {
      const offset = state.advanced();
      if (offset === undefined) continue;
      positions.push({ topic: state.topic, partition: state.partition, offset: offset.toString() });
    }
    return positions;
  }

  /** Records that `positions` were committed, so they are not reported again. */
  markCommitted(positions: readonly CommitPosition[]): void {
    for (const position of positions) {
      this.#partitions.get(keyOf(position.topic, position.partition))
        ?.markCommitted(BigInt(position.offset));
    }
  }

  /**
   * Commits what moved forward through `subscription` and marks it; resolves
   * with how many partitions were committed. Rejects, marking nothing, when
   * the commit fails: the next call tries the same positions again.
   */
  async commitTo(subscription: Pick<Subscription, "commit">): Promise<number> {
    const positions = this.committable();
    if (positions.length === 0) return 0;
    await subscription.commit(positions);
    this.markCommitted(positions);
    return positions.length;
  }

  /** Drops revoked partitions; their unfinished records will be redelivered elsewhere. */
  forget(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.#partitions.delete(keyOf(topic, partition));
  }
}
