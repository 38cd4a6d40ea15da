/**
 * The behaviour every {@linkcode Bus} must show, as one reusable test suite.
 * Each implementation's test file calls {@linkcode defineBusContract} once.
 *
 * @example
 * ```ts
 * import { defineBusContract } from "@faas/bus/testing";
 * import { MemoryBus } from "@faas/bus";
 *
 * defineBusContract("MemoryBus", () => Promise.resolve(new MemoryBus()));
 * ```
 *
 * @module
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  type Bus,
  type BusRecord,
  BusUnavailableError,
  type SubscribeOptions,
  type Subscription,
} from "./bus.ts";
import type { TopicPartition } from "./offset_tracker.ts";
import { waitUntil } from "./wait_until.ts";

/** Longest wait for an expected delivery; generous, as a rebalance on Kafka takes a few seconds. */
const TIMEOUT_MS = 15_000;

function unique(prefix: string): string {
  return `contract-${prefix}-${crypto.randomUUID()}`;
}

/** Collects what one subscription receives. */
class Inbox {
  readonly records: BusRecord[] = [];
  readonly revoked: TopicPartition[][] = [];
  readonly onRecord = (record: BusRecord): void => {
    this.records.push(record);
  };
  readonly onRevoke = (partitions: readonly TopicPartition[]): void => {
    this.revoked.push([...partitions]);
  };

  get values(): string[] {
    return this.records.map((r) => r.value);
  }

  waitFor(count: number, what = `${count} records`): Promise<void> {
    return waitUntil(() => this.records.length >= count, { timeout: TIMEOUT_MS, what });
  }
}

async function join(
  bus: Bus,
  options: Omit<SubscribeOptions, "onRecord" | "onRevoke">,
  inbox: Inbox,
): Promise<Subscription> {
  const subscription = await bus.subscribe({
    ...options,
    onRecord: inbox.onRecord,
    onRevoke: inbox.onRevoke,
  });
  await subscription.ready;
  return subscription;
}

function valuesByKey(records: readonly BusRecord[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const { key, value } of records) byKey.set(key!, [...byKey.get(key!) ?? [], value]);
  return byKey;
}

/** Records `key-i:seq` for keys `key-0..key-(keys-1)`, seq counting per key. */
function keyedRecords(count: number, keys: number): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const key = `key-${i % keys}`;
    return { key, value: `${key}:${String(Math.floor(i / keys)).padStart(4, "0")}` };
  });
}

function assertOrderedPerKey(records: readonly BusRecord[]): void {
  for (const [key, values] of valuesByKey(records)) {
    assertEquals(values, [...values].sort(), `records of key "${key}" arrived out of order`);
  }
}

/** The position just after `record`. */
function after(record: BusRecord) {
  const { topic, partition, offset } = record;
  return { topic, partition, offset: String(BigInt(offset) + 1n) };
}

type Case = (open: () => Promise<Bus>) => Promise<void>;

const cases: Record<string, Case> = {
  async "subscribe() delivers every earlier record, in order per key"(open) {
    await using bus = await open();
    const topic = unique("order");
    await bus.ensureTopics([topic], { partitions: 3 });
    const sent = keyedRecords(30, 5);
    for (let i = 0; i < sent.length; i += 10) await bus.send(topic, sent.slice(i, i + 10));
    const inbox = new Inbox();
    await using _member = await join(bus, { groupId: unique("group"), topics: [topic] }, inbox);
    await inbox.waitFor(sent.length);
    assertEquals(inbox.values.toSorted(), sent.map((r) => r.value).toSorted());
    assertOrderedPerKey(inbox.records);
    for (const record of inbox.records) {
      assertEquals(record.topic, topic);
      assertEquals(record.key, record.value.split(":")[0]);
    }
  },

  async "subscribe() gives every group each record"(open) {
    await using bus = await open();
    const topic = unique("groups");
    await bus.ensureTopics([topic]);
    const first = new Inbox();
    const second = new Inbox();
    await using _a = await join(bus, { groupId: unique("group-a"), topics: [topic] }, first);
    await using _b = await join(bus, { groupId: unique("group-b"), topics: [topic] }, second);
    const sent = keyedRecords(10, 3);
    await bus.send(topic, sent);
    await first.waitFor(sent.length);
    await second.waitFor(sent.length);
    assertEquals(first.values.toSorted(), sent.map((r) => r.value).toSorted());
    assertEquals(second.values.toSorted(), sent.map((r) => r.value).toSorted());
  },

  async "send() keeps records with the same key in one partition, in order"(open) {
    await using bus = await open();
    const topic = unique("keys");
    await bus.ensureTopics([topic], { partitions: 4 });
    const inbox = new Inbox();
    await using _member = await join(bus, { groupId: unique("group"), topics: [topic] }, inbox);
    const sent = keyedRecords(60, 6);
    for (const record of sent.slice(0, 30)) await bus.send(topic, [record]);
    await bus.send(topic, sent.slice(30));
    await inbox.waitFor(sent.length);
    assertOrderedPerKey(inbox.records);
    for (const [key, partitions] of partitionsByKey(inbox.records)) {
      assertEquals(partitions.size, 1, `key "${key}" spread over several partitions`);
    }
  },

  async "subscribe() resumes a group after its committed offset"(open) {
    await using bus = await open();
    const topic = unique("resume");
    const groupId = unique("group");
    await bus.ensureTopics([topic]);
    await bus.send(topic, numbered(0, 10));
    const first = new Inbox();
    const member = await join(bus, { groupId, topics: [topic] }, first);
    await first.waitFor(10);
    await assertRejects(() => member.commit([{ topic, partition: 0, offset: "-1" }]), RangeError);
    await member.commit([after(first.records[5]!)]);
    await member.close();
    const second = new Inbox();
    await using _next = await join(bus, { groupId, topics: [topic] }, second);
    await bus.send(topic, numbered(10, 11));
    await second.waitFor(5);
    assertEquals(second.values, ["6", "7", "8", "9", "10"]);
  },

  async "subscribe() redelivers uncommitted records to the next group member"(open) {
    await using bus = await open();
    const topic = unique("redeliver");
    const groupId = unique("group");
    await bus.ensureTopics([topic]);
    // Starting at the end must still not skip what an earlier member left uncommitted.
    const options = { groupId, topics: [topic], fromBeginning: false };
    const first = new Inbox();
    const member = await join(bus, options, first);
    await bus.send(topic, numbered(0, 5));
    await first.waitFor(5);
    await member.close();
    assertEquals(first.revoked.at(-1), [{ topic, partition: 0 }]);
    const second = new Inbox();
    await using _next = await join(bus, options, second);
    await second.waitFor(5);
    assertEquals(second.values, ["0", "1", "2", "3", "4"]);
  },

  async "subscribe() with fromBeginning false skips earlier records"(open) {
    await using bus = await open();
    const topic = unique("latest");
    await bus.ensureTopics([topic]);
    await bus.send(topic, [{ value: "old-0" }, { value: "old-1" }]);
    const inbox = new Inbox();
    const options = { groupId: unique("group"), topics: [topic], fromBeginning: false };
    await using _member = await join(bus, options, inbox);
    await bus.send(topic, [{ value: "new-0" }, { value: "new-1" }]);
    // One partition: had the old records been delivered, they would have come first.
    await inbox.waitFor(2);
    assertEquals(inbox.values, ["new-0", "new-1"]);
  },

  async "subscribe() keeps delivering after onRecord throws"(open) {
    await using bus = await open();
    const topic = unique("throw");
    await bus.ensureTopics([topic]);
    const seen: string[] = [];
    await using subscription = await bus.subscribe({
      groupId: unique("group"),
      topics: [topic],
      onRecord: async ({ value }) => {
        seen.push(value);
        if (value === "1") throw new Error("Synthetic failure");
        if (value === "3") await Promise.reject(new Error("Synthetic rejection"));
      },
    });
    await subscription.ready;
    await bus.send(topic, numbered(0, 6));
    await waitUntil(() => seen.length >= 6, { timeout: TIMEOUT_MS, what: "6 records" });
    assertEquals(seen, ["0", "1", "2", "3", "4", "5"]);
  },

  async "ensureTopics() leaves existing topics alone"(open) {
    await using bus = await open();
    const [topic, other] = [unique("ensure"), unique("ensure-other")];
    await bus.ensureTopics([topic], { partitions: 2 });
    await bus.ensureTopics([topic, other], { partitions: 2 });
    await bus.ensureTopics([topic], { partitions: 5 });
    await bus.ensureTopics([]);
    const inbox = new Inbox();
    await using _member = await join(bus, { groupId: unique("group"), topics: [topic] }, inbox);
    await bus.send(topic, keyedRecords(20, 20));
    await inbox.waitFor(20);
    assertEquals(new Set(inbox.records.map((r) => r.partition)), new Set([0, 1]));
  },

  async "subscribe() splits a group's partitions between live members"(open) {
    await using bus = await open();
    const topic = unique("split");
    const groupId = unique("group");
    await bus.ensureTopics([topic], { partitions: 2 });
    const [first, second] = [new Inbox(), new Inbox()];
    await using _a = await join(bus, { groupId, topics: [topic] }, first);
    await using _b = await join(bus, { groupId, topics: [topic] }, second);
    const sent = keyedRecords(40, 20);
    await bus.send(topic, sent);
    await waitUntil(() => first.records.length + second.records.length >= sent.length, {
      timeout: TIMEOUT_MS,
      what: `${sent.length} records over both members`,
    });
    const all = [...first.values, ...second.values];
    assertEquals(all.toSorted(), sent.map((r) => r.value).toSorted(), "duplicates or gaps");
    const partitionsOf = (inbox: Inbox) => new Set(inbox.records.map((r) => r.partition));
    assertEquals(partitionsOf(first).size, 1, "each member owns one partition");
    assertEquals(partitionsOf(second).size, 1, "each member owns one partition");
  },

  async "close() runs at the end of an await using block"(open) {
    const topic = unique("dispose");
    const inbox = new Inbox();
    let closedBus: Bus;
    {
      await using bus = await open();
      closedBus = bus;
      await bus.ensureTopics([topic]);
      await using _member = await join(bus, { groupId: unique("group"), topics: [topic] }, inbox);
      await bus.send(topic, [{ value: "x" }]);
      await inbox.waitFor(1);
    }
    assertEquals(inbox.revoked.at(-1), [{ topic, partition: 0 }]);
    await assertRejects(() => closedBus.send(topic, [{ value: "y" }]), BusUnavailableError);
    assert(inbox.records.length === 1);
  },
};

function numbered(from: number, to: number): { value: string }[] {
  return Array.from({ length: to - from }, (_, i) => ({ value: String(from + i) }));
}

function partitionsByKey(records: readonly BusRecord[]): Map<string, Set<number>> {
  const byKey = new Map<string, Set<number>>();
  for (const { key, partition } of records) {
    byKey.set(key!, (byKey.get(key!) ?? new Set()).add(partition));
  }
  return byKey;
}

/**
 * Registers the bus contract as `Deno.test` cases named `${name}.method() …`.
 * `open` must return a fresh, connected bus; every case closes what it opens
 * and uses its own random topic and group names, so suites can share a broker.
 */
export function defineBusContract(name: string, open: () => Promise<Bus>): void {
  for (const [title, run] of Object.entries(cases)) {
    Deno.test(`${name}.${title}`, () => run(open));
  }
}
