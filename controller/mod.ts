/**
 * The controller: the front door of the platform. It serves the subset of
 * the OpenWhisk REST API that clients use (actions, invoke blocking and
 * non-blocking, activations, namespaces) with Basic authentication, routes
 * each activation to the scheduler leading its queue (or the least loaded
 * one), and collects completions from Kafka `completed{controllerId}`.
 *
 * @example
 * ```ts ignore
 * import { createController, loadControllerConfig } from "@faas/controller";
 * import { MemoryBus } from "@faas/bus";
 * import { MemoryStore } from "@faas/coordination";
 *
 * await using store = new MemoryStore();
 * await using bus = new MemoryBus();
 * const config = loadControllerConfig({ CONTROLLER_PORT: "0" });
 * await using controller = await createController(config, { store, bus });
 * const info = await fetch(`http://127.0.0.1:${controller.port}/api/v1`);
 * ```
 *
 * @module
 */
export { type Controller, type ControllerDeps, createController } from "./controller.ts";
export { ConfigError, type ControllerConfig, loadControllerConfig } from "./config.ts";
export {
  type AuthKey,
  type AuthKeysParse,
  GUEST_AUTH_KEY,
  GUEST_KEY,
  parseAuthKeys,
} from "./auth/auth_keys.ts";
export type { Caller } from "./auth/authenticator.ts";
export {
  type ActivationQuery,
  type ActivationStore,
  type ActivationSummary,
} from "./activations/activation_store.ts";
export {
  MemoryActivationStore,
  type MemoryActivationStoreOptions,
} from "./activations/memory_activation_store.ts";
export {
  StoreActivationStore,
  type StoreActivationStoreOptions,
} from "./activations/store_activation_store.ts";
export {
  type Invocation,
  type Placement,
  PoolBalancer,
  type PoolBalancerDeps,
  type Published,
  type ThrottleCheck,
} from "./pool_balancer.ts";
export { BLACKBOX_KIND, type RuntimeFamily, RUNTIMES } from "./actions/runtimes.ts";
export {
  AuthenticationError,
  type AuthenticationFailure,
  ForbiddenNamespaceError,
  MalformedRequestError,
  NoSchedulerError,
  NotFoundError,
  PayloadTooLargeError,
  ThrottledError,
} from "./errors.ts";
