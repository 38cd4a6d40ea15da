/**
 * The container proxy SDK: what a container (or the invoker on its behalf)
 * uses to pull activations of one action from the scheduler leading its queue.
 *
 * - {@linkcode ContainerProxy.start} runs the pull loop: fetch (long poll), run
 *   the handler, report `lastDuration` and `warmed` in the next fetch.
 * - On a failed call or `no_queue` it looks the leader up again through the
 *   {@linkcode LeaderResolver} (etcd) and follows the queue to its new home.
 * - When no scheduler leads the queue any more, it stops and `closed` resolves
 *   with `{ kind: "no_leader" }`: the container should terminate.
 * - On shutdown it sends a last fetch with `alive: false` so the queue forgets it.
 * - A handler that throws {@linkcode RescheduleActivationError} hands its
 *   activation back with RescheduleActivation.
 *
 * See `sdk/examples/custom_runtime.ts` for a complete custom runtime.
 *
 * @module
 */
export {
  type ActivationContext,
  type ActivationHandler,
  type CloseReason,
  ContainerProxy,
  type ContainerProxyOptions,
} from "./container_proxy.ts";
export { type LeaderResolver, storeLeaderResolver } from "./leader_resolver.ts";
export { RescheduleActivationError } from "./errors.ts";
