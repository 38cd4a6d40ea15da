/**
 * The message bus of the scheduler: topics split into partitions, producers,
 * and consumer groups that commit offsets explicitly, with at-least-once
 * delivery.
 *
 * - {@linkcode connectKafka} gives a {@linkcode KafkaBus} on Apache Kafka, for
 *   the cluster mode.
 * - {@linkcode MemoryBus} keeps everything in the process, for the embedded mode.
 * - {@linkcode OffsetTracker} turns records that finish out of order into safe
 *   commit positions.
 *
 * Both buses pass the same contract, exported as `@faas/bus/testing`.
 *
 * @example
 * ```ts
 * import { connectKafka, OffsetTracker } from "@faas/bus";
 *
 * await using bus = await connectKafka({ brokers: ["127.0.0.1:9092"], clientId: "worker" });
 * const tracker = new OffsetTracker();
 * await using subscription = await bus.subscribe({
 *   groupId: "workers",
 *   topics: ["jobs"],
 *   onRecord: (record) => {
 *     const done = tracker.track(record);
 *     void work(record).finally(done); // hand on quickly; finish in any order
 *   },
 *   onRevoke: (partitions) => tracker.forget(partitions),
 * });
 * // Periodically:
 * await tracker.commitTo(subscription);
 * ```
 *
 * @module
 */
export type {
  Bus,
  BusRecord,
  CommitPosition,
  OutgoingRecord,
  SubscribeOptions,
  Subscription,
} from "./bus.ts";
export { BusUnavailableError } from "./bus.ts";
export { connectKafka, KafkaBus, type KafkaBusOptions } from "./kafka_bus.ts";
export { MemoryBus, type MemoryBusOptions } from "./memory_bus.ts";
export { OffsetTracker, type TopicPartition } from "./offset_tracker.ts";
