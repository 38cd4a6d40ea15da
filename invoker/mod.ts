/**
 * The invoker: registers itself and its memory in etcd, takes container
 * commands from Kafka `invoker{id}`, starts a container per creation (a child
 * process by default, or a Docker container), and runs one SDK
 * `ContainerProxy` per container that pulls the action's activations from the
 * scheduler leading its queue. Results go to Kafka `completed{controller}`.
 *
 * - {@linkcode createInvoker} starts the invoker core on a store, a bus, an
 *   action catalog and a {@linkcode ContainerFactory}.
 * - {@linkcode ProcessContainerFactory} runs our JS/TS action runtime (or a
 *   configured OpenWhisk-protocol runtime command) as child processes;
 *   {@linkcode DockerContainerFactory} uses the Docker Engine API.
 * - {@linkcode loadInvokerConfig} reads the environment configuration.
 *
 * @example
 * ```ts ignore
 * import { createInvoker, loadInvokerConfig, ProcessContainerFactory } from "@faas/invoker";
 *
 * const config = loadInvokerConfig({ INVOKER_ID: "0" });
 * await using factory = new ProcessContainerFactory();
 * await using invoker = await createInvoker(config, { store, bus, catalog, factory });
 * await invoker.closed;
 * ```
 *
 * @module
 */
export {
  createInvoker,
  type Invoker,
  type InvokerCoreConfig,
  type InvokerDeps,
  type InvokerOptions,
} from "./invoker.ts";
export {
  ConfigError,
  DEFAULT_DOCKER_IMAGES,
  type InvokerConfig,
  loadInvokerConfig,
} from "./config.ts";
export { ContainerStartError } from "./errors.ts";
export type {
  ActivationLogs,
  Container,
  ContainerExit,
  ContainerFactory,
  ContainerLogsOptions,
  ContainerSpec,
  CreateContainerOptions,
  LogLine,
} from "./container/container_factory.ts";
export { ACTIVATION_SENTINEL, type LogStream } from "./container/log_collector.ts";
export {
  ACTION_RUNTIME_PATH,
  ProcessContainerFactory,
  type ProcessContainerFactoryOptions,
} from "./container/process_factory.ts";
export {
  DockerApiError,
  dockerAvailable,
  DockerContainerFactory,
  type DockerContainerFactoryOptions,
} from "./container/docker_factory.ts";
export type { ActivationRunnerOptions } from "./activation_runner.ts";
export type { MemorySnapshot } from "./resources.ts";
