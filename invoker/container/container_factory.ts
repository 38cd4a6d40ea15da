/**
 * The container port: one interface over the ways the invoker can run an
 * action's code (child processes, Docker, ...). Every container serves the
 * OpenWhisk action protocol (`POST /init`, then `POST /run`) at its `url`.
 *
 * @module
 */
import type { ActivationLogs } from "./log_collector.ts";

export type { ActivationLogs, LogLine } from "./log_collector.ts";

/** What to start. */
export interface ContainerSpec {
  /** Unique id; also used in etcd keys, so letters, digits, `.`, `_` and `-` only. */
  readonly id: string;
  /** The action kind, e.g. `nodejs:20`, `deno:2`, `python:3` or `blackbox`. */
  readonly kind: string;
  /** Memory limit of the container. */
  readonly memoryMb: number;
  /** Environment of the container process. @default {{}} */
  readonly env?: Readonly<Record<string, string>>;
  /** Image to run, for `blackbox` actions. */
  readonly image?: string;
  /** Log bytes kept per activation; the rest is dropped with a note. @default {10_485_760} */
  readonly logLimitBytes?: number;
}

/** Options for {@linkcode ContainerFactory.create}. */
export interface CreateContainerOptions {
  /** Gives up starting; the container is removed and the call rejects with the reason. */
  readonly signal?: AbortSignal;
}

/** How a container ended. */
export interface ContainerExit {
  /** Exit code, when the container ended by itself. */
  readonly code?: number;
  /** True when {@linkcode Container.destroy} ended it. */
  readonly destroyed: boolean;
}

/** Options for {@linkcode Container.logs}. */
export interface ContainerLogsOptions {
  /** Stops waiting for the end-of-activation sentinels; what was written so far is returned. */
  readonly signal?: AbortSignal;
}

/** A running container. Disposing it destroys it. */
export interface Container extends AsyncDisposable {
  /** The id from the spec. */
  readonly id: string;
  /** HTTP base of the action-protocol server, without a trailing slash. */
  readonly url: string;
  /** Resolves when the container has ended, for any reason. Never rejects. */
  readonly exited: Promise<ContainerExit>;
  /**
   * The log lines of the activation that just ended: everything written since
   * the previous call up to the end-of-activation sentinel on both stdout and
   * stderr. Waits for the sentinels until `signal` aborts.
   */
  logs(options?: ContainerLogsOptions): Promise<ActivationLogs>;
  /** Stops and removes the container; calling it again waits for the first call. */
  destroy(): Promise<void>;
}

/** Starts containers. Disposing the factory destroys the containers it still owns. */
export interface ContainerFactory extends AsyncDisposable {
  /**
   * Starts a container and resolves once its action-protocol server accepts
   * connections.
   *
   * @throws {ContainerStartError} when it cannot be started (unknown kind, no image, crash)
   */
  create(spec: ContainerSpec, options?: CreateContainerOptions): Promise<Container>;
}
