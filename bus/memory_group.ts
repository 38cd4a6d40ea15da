/**
 * A consumer group for `MemoryBus`: members, partition assignment and the
 * group's committed offsets.
 *
 * @module
 */
import type { TopicPartition } from "./offset_tracker.ts";
import type { MemoryTopic } from "./memory_topic.ts";

/** What the group needs from a member. */
export interface GroupMember {
  readonly topics: readonly string[];
  /** Replaces the member's partitions with `partitions`. */
  assign(partitions: readonly TopicPartition[]): void;
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Members sharing a group id: they split partitions and share committed offsets. */
export class MemoryGroup {
  readonly id: string;
  #members: GroupMember[] = [];
  #committed = new Map<string, number>();
  #topic: (name: string) => MemoryTopic;

  /** `topic` looks topics up by name (creating missing ones). */
  constructor(id: string, topic: (name: string) => MemoryTopic) {
    this.id = id;
    this.#topic = topic;
  }

  /** The number of members. */
  get size(): number {
    return this.#members.length;
  }

  /** Adds a member and rebalances. */
  join(member: GroupMember): void {
    this.#members.push(member);
    this.#rebalance();
  }

  /** Removes a member and hands its partitions to the others. */
  leave(member: GroupMember): void {
    const index = this.#members.indexOf(member);
    if (index < 0) return;
    this.#members.splice(index, 1);
    this.#rebalance();
  }

  /** Stores the position the group resumes `partition` at. */
  commit(topic: string, partition: number, offset: number): void {
    this.#committed.set(keyOf(topic, partition), offset);
  }

  /**
   * Where a new owner of `partition` starts: the committed offset, else the
   * beginning or the current end. The end is committed at once so that a later
   * owner resumes there too instead of skipping what was appended meanwhile.
   */
  startOffset(topic: string, partition: number, fromBeginning: boolean): number {
    const key = keyOf(topic, partition);
    const committed = this.#committed.get(key);
    if (committed !== undefined) return committed;
    if (fromBeginning) return 0;
    const end = this.#topic(topic).end(partition);
    this.#committed.set(key, end);
    return end;
  }

  /** Spreads each topic's partitions over the members subscribed to it, in join order. */
  #rebalance(): void {
    const assignments = new Map<GroupMember, TopicPartition[]>(
      this.#members.map((member) => [member, []]),
    );
    for (const topic of new Set(this.#members.flatMap((member) => member.topics))) {
      const takers = this.#members.filter((member) => member.topics.includes(topic));
      const count = this.#topic(topic).partitionCount;
      for (let partition = 0; partition < count; partition++) {
        assignments.get(takers[partition % takers.length]!)!.push({ topic, partition });
      }
    }
    for (const [member, partitions] of assignments) member.assign(partitions);
  }
}
