/**
 * The scheduler: per-action memory queues fed from Kafka, served to containers
 * over the ActivationService gRPC, with leader keys and state in etcd.
 *
 * @module
 */
export { createScheduler, type Scheduler, type SchedulerDeps } from "./scheduler.ts";
export { ConfigError, loadSchedulerConfig, type SchedulerConfig } from "./config.ts";
export {
  type ActionFetch,
  QueueManager,
  type QueueManagerDeps,
  type QueueManagerOptions,
} from "./queue/queue_manager.ts";
export {
  type FetchQuery,
  MemoryQueue,
  type MemoryQueueOptions,
  type QueueCounts,
  type QueuedActivation,
  type QueueEffects,
  type QueueKey,
  type QueueState,
} from "./queue/memory_queue.ts";
export {
  activationService,
  type ActivationServiceOptions,
  type ActivationSource,
} from "./rpc/activation_service.ts";
export { type ActivationFeed, startActivationFeed } from "./activation_feed.ts";
