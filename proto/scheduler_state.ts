/**
 * What a scheduler publishes about itself in etcd: where its gRPC services
 * listen (also the value of a queue's leader key) and how loaded it is.
 *
 * @module
 */
import { z } from "zod";

/** Where a scheduler's gRPC services listen. */
export const SchedulerEndpoints = z.object({
  host: z.string().min(1).max(255),
  rpcPort: z.number().int().min(1).max(65535),
});
/** Where a scheduler's gRPC services listen. */
export type SchedulerEndpoints = z.infer<typeof SchedulerEndpoints>;

/** The value of `{cluster}/scheduler/{sid}`. */
export const SchedulerStates = z.object({
  sid: z.object({ asString: z.string().min(1).max(64) }),
  /** Number of queues this scheduler leads. */
  queueSize: z.number().int().nonnegative(),
  endpoints: SchedulerEndpoints,
});
/** The value of `{cluster}/scheduler/{sid}`. */
export type SchedulerStates = z.infer<typeof SchedulerStates>;

/** The value of a queue's leader key: the leading scheduler and where to pull from. */
export const QueueLeader = SchedulerEndpoints.extend({
  sid: z.string().min(1).max(64),
});
/** The value of a queue's leader key. */
export type QueueLeader = z.infer<typeof QueueLeader>;
