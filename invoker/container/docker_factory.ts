/**
 * Containers on a Docker Engine, through its HTTP API on the unix socket. This
 * is the only file that speaks the Docker API. Each container runs the
 * OpenWhisk runtime image of its kind (or a blackbox action's own image),
 * which serves the action protocol on port 8080, published to an ephemeral
 * loopback port of the host.
 *
 * @module
 */
import { deadline } from "../_deadline.ts";
import { lookupKind } from "../config.ts";
import { ContainerStartError } from "../errors.ts";
import type {
  ActivationLogs,
  Container,
  ContainerExit,
  ContainerFactory,
  ContainerLogsOptions,
  ContainerSpec,
  CreateContainerOptions,
} from "./container_factory.ts";
import { LogCollector, type LogStream } from "./log_collector.ts";
import { waitForPort } from "./wait_for_port.ts";

/** Options for {@linkcode DockerContainerFactory}. */
export interface DockerContainerFactoryOptions {
  /** The Docker Engine socket. @default {"/var/run/docker.sock"} */
  readonly socketPath?: string;
  /** Image per kind; `name:*` matches a family. @default {{}} */
  readonly images?: Readonly<Record<string, string>>;
  /** Engine API version prefix. @default {"v1.41"} */
  readonly apiVersion?: string;
  /** A container not serving within this long fails to start. @default {60_000} */
  readonly startTimeoutMs?: number;
}

const ACTION_PORT = "8080/tcp";

/** Sends Docker Engine API requests over the unix socket. */
class DockerApi implements Disposable {
  readonly #client: Deno.HttpClient;
  readonly #prefix: string;

  constructor(socketPath: string, apiVersion: string) {
    this.#client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
    this.#prefix = `http://docker/${apiVersion}`;
  }

  async call(method: string, path: string, init: { body?: unknown; signal?: AbortSignal } = {}) {
    const response = await fetch(`${this.#prefix}${path}`, {
      method,
      client: this.#client,
      ...(init.signal ? { signal: init.signal } : {}),
      ...(init.body === undefined
        ? {}
        : { body: JSON.stringify(init.body), headers: { "content-type": "application/json" } }),
    });
    return response;
  }

  /** Calls and fails on a non-2xx status; resolves with the parsed JSON body (or text). */
  async json(method: string, path: string, init: { body?: unknown; signal?: AbortSignal } = {}) {
    const response = await this.call(method, path, init);
    const text = await response.text();
    if (!response.ok) throw new DockerApiError(method, path, response.status, text);
    return text ? JSON.parse(text) : undefined;
  }

  [Symbol.dispose](): void {
    this.#client.close();
  }
}

/** A Docker API call answered with an error status. */
export class DockerApiError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** Creates the error for one failed call. */
  constructor(method: string, path: string, status: number, body: string, options?: ErrorOptions) {
    super(
      `Docker API "${method} ${path}" failed with ${status}: ${body.trim().slice(0, 300)}`,
      options,
    );
    this.name = "DockerApiError";
    this.status = status;
  }
}

/** Whether a Docker daemon answers `/_ping` on `socketPath`. */
export async function dockerAvailable(socketPath = "/var/run/docker.sock"): Promise<boolean> {
  try {
    using api = new DockerApi(socketPath, "v1.41");
    const response = await api.call("GET", "/_ping", { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** Starts containers on a Docker Engine. */
export class DockerContainerFactory implements ContainerFactory {
  readonly #api: DockerApi;
  readonly #images: Readonly<Record<string, string>>;
  readonly #startTimeoutMs: number;
  readonly #live = new Set<DockerContainer>();

  /** Creates the factory; no request is made before {@linkcode DockerContainerFactory.create}. */
  constructor(options: DockerContainerFactoryOptions = {}) {
    const { socketPath = "/var/run/docker.sock", apiVersion = "v1.41" } = options;
    this.#api = new DockerApi(socketPath, apiVersion);
    this.#images = options.images ?? {};
    this.#startTimeoutMs = options.startTimeoutMs ?? 60_000;
  }

  async create(spec: ContainerSpec, options: CreateContainerOptions = {}): Promise<Container> {
    const image = spec.image ?? lookupKind(this.#images, spec.kind);
    if (!image) {
      throw new ContainerStartError(
        spec.id,
        spec.kind,
        `No image is configured for kind "${spec.kind}"`,
      );
    }
    using limit = deadline(this.#startTimeoutMs);
    const timeout = limit.signal;
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let dockerId: string | undefined;
    try {
      dockerId = await this.#createContainer(spec, image, signal);
      await this.#api.json("POST", `/containers/${dockerId}/start`, { signal });
      const port = await this.#hostPort(dockerId, signal);
      await waitForPort(port, { signal });
      const container = new DockerContainer(this.#api, spec, dockerId, port);
      this.#live.add(container);
      void container.exited.then(() => this.#live.delete(container));
      return container;
    } catch (cause) {
      if (dockerId) {
        await this.#api.call("DELETE", `/containers/${dockerId}?force=true`).catch(() => {});
      }
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ContainerStartError(
        spec.id,
        spec.kind,
        `Cannot start container "${spec.id}" from image "${image}": ${reason}`,
        { cause },
      );
    }
  }

  /** Removes the containers this factory started and closes the API client. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.#live].map((c) => c.destroy()));
    this.#api[Symbol.dispose]();
  }

  async #createContainer(spec: ContainerSpec, image: string, signal: AbortSignal): Promise<string> {
    const body = {
      Image: image,
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      ExposedPorts: { [ACTION_PORT]: {} },
      Labels: { "faas.container-id": spec.id },
      HostConfig: {
        Memory: spec.memoryMb * 1_048_576,
        MemorySwap: spec.memoryMb * 1_048_576,
        PortBindings: { [ACTION_PORT]: [{ HostIp: "127.0.0.1", HostPort: "" }] },
      },
    };
    const path = `/containers/create?name=${encodeURIComponent(spec.id)}`;
    try {
      return (await this.#api.json("POST", path, { body, signal })).Id;
    } catch (error) {
      if (!(error instanceof DockerApiError && error.status === 404)) throw error;
      await this.#pull(image, signal);
      return (await this.#api.json("POST", path, { body, signal })).Id;
    }
  }

  async #pull(image: string, signal: AbortSignal): Promise<void> {
    const slash = image.lastIndexOf("/");
    const colon = image.lastIndexOf(":");
    const [name, tag] = colon > slash
      ? [image.slice(0, colon), image.slice(colon + 1)]
      : [image, "latest"];
    const query = `fromImage=${encodeURIComponent(name)}&tag=${encodeURIComponent(tag)}`;
    // The answer streams progress; the pull is done when the stream ends.
    await this.#api.json("POST", `/images/create?${query}`, { signal }).catch((error) => {
      if (error instanceof SyntaxError) return;
      throw error;
    });
  }

  async #hostPort(dockerId: string, signal: AbortSignal): Promise<number> {
    const info = await this.#api.json("GET", `/containers/${dockerId}/json`, { signal });
    const binding = info?.NetworkSettings?.Ports?.[ACTION_PORT]?.[0]?.HostPort;
    const port = Number(binding);
    if (!Number.isInteger(port) || port <= 0) {
      throw new Error(`no host port is published for ${ACTION_PORT}`);
    }
    return port;
  }
}

/** A container on the Docker Engine. */
class DockerContainer implements Container {
  readonly id: string;
  readonly url: string;
  readonly exited: Promise<ContainerExit>;
  readonly #api: DockerApi;
  readonly #dockerId: string;
  readonly #collector: LogCollector;
  readonly #stop = new AbortController();
  readonly #following: Promise<void>;
  #destroying: Promise<void> | undefined;

  constructor(api: DockerApi, spec: ContainerSpec, dockerId: string, port: number) {
    this.id = spec.id;
    this.url = `http://127.0.0.1:${port}`;
    this.#api = api;
    this.#dockerId = dockerId;
    this.#collector = new LogCollector(
      spec.logLimitBytes ? { limitBytes: spec.logLimitBytes } : {},
    );
    this.#following = this.#followLogs();
    this.exited = this.#wait();
  }

  logs(options: ContainerLogsOptions = {}): Promise<ActivationLogs> {
    return this.#collector.next(options);
  }

  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      await this.#api.call("DELETE", `/containers/${this.#dockerId}?force=true`)
        .then((r) => r.body?.cancel()).catch(() => {});
      this.#stop.abort();
      await Promise.all([this.exited, this.#following]);
    })();
    return this.#destroying;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }

  async #wait(): Promise<ContainerExit> {
    try {
      const path = `/containers/${this.#dockerId}/wait?condition=not-running`;
      const result = await this.#api.json("POST", path, { signal: this.#stop.signal });
      return { code: result?.StatusCode, destroyed: this.#destroying !== undefined };
    } catch {
      return { destroyed: this.#destroying !== undefined };
    }
  }

  // Without a TTY the log stream is multiplexed: 8-byte headers (stream, size) before each frame.
  async #followLogs(): Promise<void> {
    const streams = {
      stdout: new TransformStream<Uint8Array, Uint8Array>(),
      stderr: new TransformStream<Uint8Array, Uint8Array>(),
    };
    const pumps = (["stdout", "stderr"] as const).map((s) =>
      this.#collector.pump(s, streams[s].readable)
    );
    const writers = {
      stdout: streams.stdout.writable.getWriter(),
      stderr: streams.stderr.writable.getWriter(),
    };
    try {
      const path = `/containers/${this.#dockerId}/logs?follow=1&stdout=1&stderr=1`;
      const response = await this.#api.call("GET", path, { signal: this.#stop.signal });
      if (response.body) await demultiplex(response.body, writers);
    } catch {
      // The container is gone or the stream was cut on destroy.
    } finally {
      await Promise.all(Object.values(writers).map((w) => w.close().catch(() => {})));
      await Promise.all(pumps);
    }
  }
}

async function demultiplex(
  body: ReadableStream<Uint8Array>,
  writers: Record<LogStream, WritableStreamDefaultWriter<Uint8Array>>,
): Promise<void> {
  let buffer = new Uint8Array(0);
  for await (const chunk of body) {
    const joined = new Uint8Array(buffer.length + chunk.length);
    joined.set(buffer);
    joined.set(chunk, buffer.length);
    buffer = joined;
    while (buffer.length >= 8) {
      const size = new DataView(buffer.buffer, buffer.byteOffset).getUint32(4);
      if (buffer.length < 8 + size) break;
      const stream: LogStream = buffer[0] === 2 ? "stderr" : "stdout";
      await writers[stream].write(buffer.slice(8, 8 + size));
      buffer = buffer.slice(8 + size);
    }
  }
}
