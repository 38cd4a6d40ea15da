/**
 * What an invoker publishes about itself at `{cluster}/invokers/{id}`.
 *
 * @module
 */
import { z } from "zod";

/** Health of an invoker; only `up` invokers get containers. */
export const InvokerStatus = z.enum(["up", "unhealthy", "down"]);
/** Health of an invoker. */
export type InvokerStatus = z.infer<typeof InvokerStatus>;

/** The value of `{cluster}/invokers/{id}`; memory in MB. */
export const InvokerResourceMessage = z.object({
  status: InvokerStatus,
  freeMemory: z.number().int().nonnegative(),
  busyMemory: z.number().int().nonnegative(),
  inProgressMemory: z.number().int().nonnegative(),
  tags: z.array(z.string().max(64)).default([]),
  dedicatedNamespaces: z.array(z.string().max(256)).default([]),
});
/** The value of `{cluster}/invokers/{id}`. */
export type InvokerResourceMessage = z.infer<typeof InvokerResourceMessage>;
