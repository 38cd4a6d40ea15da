/**
 * The in-memory log of one topic for `MemoryBus`: partitions as
 * append-only arrays whose indexes are the offsets.
 *
 * @module
 */
import type { BusRecord, OutgoingRecord } from "./bus.ts";

const encoder = new TextEncoder();

/** FNV-1a over the UTF-8 bytes: stable across runs, so a key always maps to the same partition. */
function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** One topic: a fixed number of partitions, each an append-only list of records. */
export class MemoryTopic {
  readonly name: string;
  #partitions: BusRecord[][];
  #nextRoundRobin = 0;

  constructor(name: string, partitions: number) {
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new RangeError(`Partition count must be a positive integer, got "${partitions}"`);
    }
    this.name = name;
    this.#partitions = Array.from({ length: partitions }, () => []);
  }

  /** The number of partitions. */
  get partitionCount(): number {
    return this.#partitions.length;
  }

  /** Appends records: keyed ones by key hash, unkeyed ones round robin. */
  append(records: readonly OutgoingRecord[]): void {
    for (const { key, value } of records) {
      const partition = this.#partitionFor(key);
      const log = this.#partitions[partition]!;
      log.push({ topic: this.name, partition, offset: String(log.length), key, value });
    }
  }

  /** The record at `offset`, or undefined when the partition has not reached it yet. */
  read(partition: number, offset: number): BusRecord | undefined {
    return this.#partitions[partition]?.[offset];
  }

  /** The offset the next appended record of `partition` will get. */
  end(partition: number): number {
    return this.#partitions[partition]?.length ?? 0;
  }

  #partitionFor(key: string | undefined): number {
    const count = this.#partitions.length;
    if (key !== undefined) return hashKey(key) % count;
    const partition = this.#nextRoundRobin;
    this.#nextRoundRobin = (partition + 1) % count;
    return partition;
  }
}
