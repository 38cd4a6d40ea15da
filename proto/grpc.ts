/**
 * The gRPC adapter: the only file that imports `@grpc/grpc-js`. It serves and
 * calls the services of `proto/schema/` with the generated codecs, and turns
 * gRPC status codes into {@linkcode RpcError} codes and back.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import {
  FetchRequest,
  FetchResponse,
  RescheduleRequest,
  RescheduleResponse,
} from "./gen/activation.ts";
import {
  CreateQueueRequest,
  CreateQueueResponse,
  JoinQueueRequest,
  JoinQueueResponse,
} from "./gen/queue.ts";

export {
  CreateQueueRequest,
  CreateQueueResponse,
  FetchRequest,
  FetchResponse,
  JoinQueueRequest,
  JoinQueueResponse,
  RescheduleRequest,
  RescheduleResponse,
};

/** The status codes this project uses; named as in gRPC. */
export type RpcCode =
  | "CANCELLED"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "UNAUTHENTICATED";

const TO_GRPC: Record<RpcCode, grpc.status> = {
  CANCELLED: grpc.status.CANCELLED,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  NOT_FOUND: grpc.status.NOT_FOUND,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  INTERNAL: grpc.status.INTERNAL,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
};
const FROM_GRPC = new Map<number, RpcCode>(
  Object.entries(TO_GRPC).map(([name, code]) => [code, name as RpcCode]),
);

/** A failed call, on either side, with its status code. */
export class RpcError extends Error {
  readonly code: RpcCode;
  constructor(code: RpcCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RpcError";
    this.code = code;
  }
}

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** Aborted when the caller cancels or its deadline passes. */
  readonly signal: AbortSignal;
  /** First value of a request metadata key, lowercase. */
  metadata(key: string): string | undefined;
}

/** The server side of `activation.ActivationService`. */
export interface ActivationServiceHandlers {
  fetchActivation(request: FetchRequest, context: CallContext): Promise<FetchResponse>;
  rescheduleActivation(
    request: RescheduleRequest,
    context: CallContext,
  ): Promise<RescheduleResponse>;
}

/** The server side of `queue.QueueService`. */
export interface QueueServiceHandlers {
  createQueue(request: CreateQueueRequest, context: CallContext): Promise<CreateQueueResponse>;
  joinQueue(request: JoinQueueRequest, context: CallContext): Promise<JoinQueueResponse>;
}

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** What the server received when a request's bytes did not decode. */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

function method<Req, Res>(path: string, req: Codec<Req>, res: Codec<Res>) {
  return {
    path,
    requestStream: false as const,
    responseStream: false as const,
    requestSerialize: (m: Req) => toBuffer(req.encode(m).finish()),
    // A throwing deserializer makes grpc-js answer INTERNAL by itself; bytes that
    // do not decode are the caller's fault, answered INVALID_ARGUMENT by bindHandlers.
    requestDeserialize: (b: Buffer): Req | UndecodableRequest => {
      try {
        return req.decode(b);
      } catch (error) {
        return new UndecodableRequest(error instanceof Error ? error.message : String(error));
      }
    },
    responseSerialize: (m: Res) => toBuffer(res.encode(m).finish()),
    responseDeserialize: (b: Buffer) => res.decode(b),
    originalName: path.slice(path.lastIndexOf("/") + 1),
  };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const ACTIVATION_SERVICE = {
  fetchActivation: method(
    "/activation.ActivationService/FetchActivation",
    FetchRequest,
    FetchResponse,
  ),
  rescheduleActivation: method(
    "/activation.ActivationService/RescheduleActivation",
    RescheduleRequest,
    RescheduleResponse,
  ),
} as const;

const QUEUE_SERVICE = {
  createQueue: method("/queue.QueueService/CreateQueue", CreateQueueRequest, CreateQueueResponse),
  joinQueue: method("/queue.QueueService/JoinQueue", JoinQueueRequest, JoinQueueResponse),
} as const;

/** Options for {@linkcode serveRpc}. */
export interface ServeRpcOptions {
  /** Address to listen on. @default {"127.0.0.1"} */
  host?: string;
  /** Port to listen on; 0 picks a free one. @default {0} */
  port?: number;
  /** Largest accepted request, in bytes. @default {4_194_304} */
  maxRequestBytes?: number;
  activation?: ActivationServiceHandlers;
  queue?: QueueServiceHandlers;
  /** Called with errors that are not {@linkcode RpcError}s, before answering INTERNAL. */
  onInternalError?: (error: unknown, path: string) => void;
}

/** A listening gRPC server. */
export interface RpcServer extends AsyncDisposable {
  readonly port: number;
  /** Stops accepting calls, lets running ones finish for up to `graceMs`, then cuts them. */
  close(graceMs?: number): Promise<void>;
}

/** Starts a gRPC server with the given service handlers. */
export async function serveRpc(options: ServeRpcOptions): Promise<RpcServer> {
  const { host = "127.0.0.1", port = 0, maxRequestBytes = 4_194_304 } = options;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": maxRequestBytes,
    "grpc.keepalive_permit_without_calls": 1,
  });
  if (options.activation) {
    server.addService(
      ACTIVATION_SERVICE,
      bindHandlers(ACTIVATION_SERVICE, options.activation, options.onInternalError),
    );
  }
  if (options.queue) {
    server.addService(
      QUEUE_SERVICE,
      bindHandlers(QUEUE_SERVICE, options.queue, options.onInternalError),
    );
  }
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host}:${port}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    );
  });
  return {
    port: bound,
    close: (graceMs = 1_000) => shutdown(server, graceMs),
    [Symbol.asyncDispose]: () => shutdown(server, 1_000),
  };
}

function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.forceShutdown(), graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

type Handler<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

// deno-lint-ignore no-explicit-any
function bindHandlers<S extends Record<string, any>>(
  service: S,
  handlers: { [K in keyof S]: Handler<never, unknown> },
  onInternalError: ServeRpcOptions["onInternalError"],
): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(service)) {
    const handler = handlers[name as keyof S] as Handler<unknown, unknown>;
    const path = service[name].path as string;
    impl[name] = (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      if (call.request instanceof UndecodableRequest) {
        const reason = `The request does not decode: ${call.request.reason}`;
        callback(toServiceError(new RpcError("INVALID_ARGUMENT", reason), path, onInternalError));
        return;
      }
      serveUnary(call, (req, ctx) => handler.call(handlers, req, ctx))
        .then((res) => callback(null, res))
        .catch((error) => callback(toServiceError(error, path, onInternalError)));
    };
  }
  return impl;
}

async function serveUnary<Req, Res>(
  call: grpc.ServerUnaryCall<Req, Res>,
  handler: Handler<Req, Res>,
): Promise<Res> {
  const controller = new AbortController();
  const onCancel = () =>
    controller.abort(new RpcError("CANCELLED", "The caller cancelled the call"));
  call.once("cancelled", onCancel);
  try {
    return await handler(call.request, {
      signal: controller.signal,
      metadata: (key) => {
        const value = call.metadata.get(key)[0];
        return value === undefined ? undefined : String(value);
      },
    });
  } finally {
    call.off("cancelled", onCancel);
  }
}

function toServiceError(
  error: unknown,
  path: string,
  onInternalError: ServeRpcOptions["onInternalError"],
): Partial<grpc.StatusObject> {
  // grpc-js passes `details` through encodeURI, which throws on a lone surrogate (one echoed
  // from a request's JSON, say) outside any handler: the whole process would die.
  if (error instanceof RpcError) {
    return { code: TO_GRPC[error.code], details: error.message.toWellFormed() };
  }
  onInternalError?.(error, path);
  return { code: grpc.status.INTERNAL, details: "Internal error while serving the call" };
}

/** Options for one client call. */
export interface CallOptions {
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Gives up after this long. @default {30_000} */
  timeoutMs?: number;
  /** Request metadata. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * Channels shared per address, closed when their last user lets go.
 *
 * Closing a channel sends an HTTP/2 GOAWAY, and Deno 2.9.6's node:http2 can
 * abort the whole receiving process on a GOAWAY (denoland/deno#36788). Sharing
 * one channel per scheduler among all proxies of a process keeps GOAWAYs rare.
 */
const channels = new Map<string, { client: grpc.Client; users: number }>();

function acquireChannel(address: string): grpc.Client {
  let entry = channels.get(address);
  if (!entry) {
    entry = {
      client: new grpc.Client(address, grpc.credentials.createInsecure(), {
        "grpc.max_receive_message_length": 8 * 1_048_576,
      }),
      users: 0,
    };
    channels.set(address, entry);
  }
  entry.users++;
  return entry.client;
}

function releaseChannel(address: string): void {
  const entry = channels.get(address);
  if (!entry || --entry.users > 0) return;
  channels.delete(address);
  entry.client.close();
}

/** A user of the shared channel to one gRPC endpoint; the service clients build on it. */
class RpcChannel implements Disposable {
  readonly #client: grpc.Client;
  #released = false;
  /** The `host:port` this client calls. */
  readonly address: string;

  constructor(address: string) {
    this.address = address;
    this.#client = acquireChannel(address);
  }

  /** Lets go of the channel; it closes when no other client in the process uses it. */
  close(): void {
    if (this.#released) return;
    this.#released = true;
    releaseChannel(this.address);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  protected unary<Req, Res>(
    m: {
      path: string;
      requestSerialize: (m: Req) => Buffer;
      responseDeserialize: (b: Buffer) => Res;
    },
    request: Req,
    options: CallOptions,
  ): Promise<Res> {
    const { signal, timeoutMs = 30_000, metadata = {} } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return new Promise<Res>((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = this.#client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        md,
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(signal?.aborted ? signal.reason : fromServiceError(err, this.address));
          else resolve(res as Res);
        },
      );
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Client of `activation.ActivationService` on one scheduler endpoint. */
export class ActivationServiceClient extends RpcChannel {
  /** Calls FetchActivation. @throws {RpcError} when the call fails */
  fetchActivation(request: FetchRequest, options: CallOptions = {}): Promise<FetchResponse> {
    return this.unary(ACTIVATION_SERVICE.fetchActivation, request, options);
  }

  /** Calls RescheduleActivation. @throws {RpcError} when the call fails */
  rescheduleActivation(
    request: RescheduleRequest,
    options: CallOptions = {},
  ): Promise<RescheduleResponse> {
    return this.unary(ACTIVATION_SERVICE.rescheduleActivation, request, options);
  }
}

/** Client of `queue.QueueService` on one scheduler endpoint. */
export class QueueServiceClient extends RpcChannel {
  /** Calls CreateQueue. @throws {RpcError} when the call fails */
  createQueue(
    request: CreateQueueRequest,
    options: CallOptions = {},
  ): Promise<CreateQueueResponse> {
    return this.unary(QUEUE_SERVICE.createQueue, request, options);
  }

  /** Calls JoinQueue. @throws {RpcError} when the call fails */
  joinQueue(request: JoinQueueRequest, options: CallOptions = {}): Promise<JoinQueueResponse> {
    return this.unary(QUEUE_SERVICE.joinQueue, request, options);
  }
}

function fromServiceError(err: grpc.ServiceError, address: string): RpcError {
  const code = FROM_GRPC.get(err.code) ?? "INTERNAL";
  return new RpcError(code, `Call to "${address}" failed: ${err.details || err.message}`, {
    cause: err,
  });
}
