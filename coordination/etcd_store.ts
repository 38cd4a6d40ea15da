/**
 * The etcd {@linkcode Store}, on the `etcd3` client (the only module that
 * imports it). It uses the client's raw RPCs rather than its `Lease`,
 * `Election` and `Watcher` helpers: those keep leases alive on their own
 * schedule, report a lost lease up to two TTLs late, and (the watcher)
 * count every watch cancellation as a server failure.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  castGrpcError,
  ClientClosedError,
  CompareResult,
  CompareTarget,
  Etcd3,
  EtcdLeaseInvalidError,
  type IDuplexStream,
  type ILeaseKeepAliveResponse,
  type IOptions,
  isRecoverableError,
  type IWatchRequest,
  type IWatchResponse,
} from "etcd3";
import {
  circuitBreaker,
  ConsecutiveBreaker,
  ConstantBackoff,
  handleWhen,
  isBrokenCircuitError,
  noop,
  retry,
  type RetryPolicy,
} from "cockatiel";
import { getLogger } from "@std/log";
import {
  type KeyRange,
  prefixRange,
  type RawEvent,
  toKeyValue,
  toWatchEvent,
} from "./etcd_codec.ts";
import { eventRevision } from "./event_history.ts";
import {
  type CreateResult,
  type KeyValue,
  type LeaseGrant,
  LeaseNotFoundError,
  type PrefixSnapshot,
  type PutEntry,
  type PutOptions,
  type Store,
  StoreUnavailableError,
  type WatchEvent,
  type WatchOptions,
} from "./store.ts";
import { sleep } from "./timing.ts";
import { WatchCursor } from "./watch_cursor.ts";
import { WatchQueue } from "./watch_queue.ts";

const logger = getLogger("coordination");

const PROBE_PAUSE_MS = 200;
const RETRY_DELAY_MS = 100;
const WATCH_BACKOFF_MIN_MS = 100;
const WATCH_BACKOFF_MAX_MS = 2000;

/** Options for {@linkcode connectEtcd}. */
export interface EtcdStoreOptions {
  /** Client URLs of the etcd members, e.g. `["http://127.0.0.1:2379"]`. */
  endpoints: readonly string[];
  /**
   * How long {@linkcode connectEtcd} keeps trying to reach etcd before it
   * rejects with {@linkcode StoreUnavailableError}.
   *
   * @default {5000}
   */
  dialTimeoutMs?: number;
  /** Deadline of each request; a request past it fails as unavailable. @default {3000} */
  callTimeoutMs?: number;
  /**
   * Interval of HTTP/2 pings on a connection with open calls, to notice a
   * half-open connection. etcd closes connections that ping more often than
   * every 5 s (its `--grpc-keepalive-min-time`).
   *
   * @default {6000}
   */
  pingIntervalMs?: number;
  /** How long a ping may go unanswered before the connection is dropped. @default {2000} */
  pingTimeoutMs?: number;
  /** Cancels connecting. */
  signal?: AbortSignal;
}

/** Connects to etcd, failing with {@linkcode StoreUnavailableError} if it cannot be reached in time. */
export function connectEtcd(options: EtcdStoreOptions): Promise<EtcdStore> {
  return EtcdStore.connect(options);
}

interface CallOptions {
  /** Retry once on a transient failure; only for calls whose effect is safe to repeat. */
  retry?: boolean;
  /** The lease a {@linkcode LeaseNotFoundError} would be about. */
  leaseId?: string;
}

/**
 * A {@linkcode Store} on etcd 3. Requests have a deadline and a circuit
 * breaker that re-probes after 500 ms; reads, puts and lease calls are retried
 * once, while transactions and deletes are not, since repeating them after an
 * unknown outcome could report a wrong result.
 *
 * @example
 * ```ts
 * import { connectEtcd } from "@faas/coordination";
 *
 * await using store = await connectEtcd({ endpoints: ["http://127.0.0.1:2379"] });
 * await store.put("greeting", "hello");
 * ```
 */
export class EtcdStore implements Store {
  #client: Etcd3;
  #target: string;
  #callTimeoutMs: number;
  #retry: RetryPolicy;
  #closing = new AbortController();
  #watches = new Set<Promise<void>>();

  private constructor(options: EtcdStoreOptions) {
    if (options.endpoints.length === 0) {
      throw new RangeError("At least one etcd endpoint is needed");
    }
    this.#target = options.endpoints.join(",");
    this.#callTimeoutMs = options.callTimeoutMs ?? 3000;
    this.#client = new Etcd3(clientOptions(options, this.#callTimeoutMs));
    this.#retry = retry(handleWhen(isRecoverableError), {
      maxAttempts: 1,
      backoff: new ConstantBackoff(RETRY_DELAY_MS),
    });
  }

  /** Creates the client and waits until etcd answers; see {@linkcode connectEtcd}. */
  static async connect(options: EtcdStoreOptions): Promise<EtcdStore> {
    const store = new EtcdStore(options);
    try {
      await store.#probe(options.dialTimeoutMs ?? 5000, options.signal);
      return store;
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.#call(async () => {
      const [raw] = (await this.#client.kv.range({ key: bytes(key) })).kvs;
      return raw ? toKeyValue(raw) : undefined;
    }, { retry: true });
  }

  getPrefix(prefix: string): Promise<PrefixSnapshot> {
    return this.#call(async () => {
      // etcd returns a range sorted by key unless asked otherwise.
      const reply = await this.#client.kv.range(wire(prefixRange(prefix)));
      return { kvs: reply.kvs.map(toKeyValue), revision: Number(reply.header.revision) };
    }, { retry: true });
  }

  countPrefix(prefix: string): Promise<number> {
    return this.#call(async () => {
      const reply = await this.#client.kv.range({ ...wire(prefixRange(prefix)), count_only: true });
      return Number(reply.count);
    }, { retry: true });
  }

  put(key: string, value: string, options: PutOptions = {}): Promise<void> {
    const { leaseId } = options;
    return this.#call(async () => {
      await this.#client.kv.put({ key: bytes(key), value: bytes(value), lease: leaseId ?? 0 });
    }, { retry: true, leaseId });
  }

  putAll(entries: readonly PutEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const leaseId = entries.find((e) => e.leaseId !== undefined)?.leaseId;
    return this.#call(async () => {
      await this.#client.kv.txn({
        compare: [],
        success: entries.map(({ key, value, leaseId }) => ({
          request_put: { key: bytes(key), value: bytes(value), lease: leaseId ?? 0 },
        })),
        failure: [],
      });
    }, { retry: true, ...(leaseId === undefined ? {} : { leaseId }) });
  }

  delete(key: string): Promise<boolean> {
    return this.#call(async () => {
      const reply = await this.#client.kv.deleteRange({ key: bytes(key) });
      return Number(reply.deleted) > 0;
    });
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.#call(async () => {
      const reply = await this.#client.kv.deleteRange(wire(prefixRange(prefix)));
      return Number(reply.deleted);
    });
  }

  createIfAbsent(key: string, value: string, options: PutOptions = {}): Promise<CreateResult> {
    const { leaseId } = options;
    return this.#call(async (): Promise<CreateResult> => {
      const reply = await this.#client.kv.txn({
        compare: [{
          key: bytes(key),
          target: CompareTarget.Create,
          result: CompareResult.Equal,
          create_revision: 0,
        }],
        success: [{ request_put: { key: bytes(key), value: bytes(value), lease: leaseId ?? 0 } }],
        failure: [{ request_range: { key: bytes(key) } }],
      });
      const revision = Number(reply.header.revision);
      if (reply.succeeded) {
        const kv = { key, value, createRevision: revision, modRevision: revision };
        return { created: true, kv: leaseId === undefined ? kv : { ...kv, leaseId } };
      }
      const current = reply.responses[0]?.response_range.kvs[0];
      if (!current) throw new Error(`Etcd reported key "${key}" as existing but returned nothing`);
      return { created: false, current: toKeyValue(current) };
    }, { leaseId });
  }

  deleteIfCreateRevision(key: string, createRevision: number): Promise<boolean> {
    return this.#call(async () => {
      const reply = await this.#client.kv.txn({
        compare: [{
          key: bytes(key),
          target: CompareTarget.Create,
          result: CompareResult.Equal,
          create_revision: createRevision,
        }],
        success: [{ request_delete_range: { key: bytes(key) } }],
      });
      return reply.succeeded;
    });
  }

  async *watchPrefix(prefix: string, options: WatchOptions): AsyncGenerator<WatchEvent> {
    this.#assertOpen();
    const { signal, fromRevision } = options;
    if (fromRevision !== undefined) assertRevision(fromRevision);
    const queue = new WatchQueue<WatchEvent>();
    const stop = new AbortController();
    const cursor = new WatchCursor(fromRevision);
    const until = AbortSignal.any([signal, stop.signal, this.#closing.signal]);
    const following = this.#follow(prefix, cursor, queue, until);
    this.#watches.add(following);
    try {
      yield* queue.drain(signal);
    } finally {
      stop.abort();
      await following;
      this.#watches.delete(following);
    }
  }

  grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
      return Promise.reject(
        new RangeError(`Lease TTL must be a positive whole number of seconds, got "${ttlSeconds}"`),
      );
    }
    return this.#call(async () => {
      const reply = await this.#client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 });
      return { id: reply.ID, ttlSeconds: Number(reply.TTL) };
    }, { retry: true });
  }

  keepAliveOnce(leaseId: string): Promise<number> {
    return this.#call(async () => {
      const reply = await this.#keepAliveRound(leaseId);
      const ttl = Number(reply.TTL);
      // etcd answers a keep-alive for an unknown lease with TTL 0, not an error.
      if (!(ttl > 0)) throw new LeaseNotFoundError(leaseId);
      return ttl;
    }, { retry: true, leaseId });
  }

  revokeLease(leaseId: string): Promise<void> {
    return this.#call(async () => {
      try {
        await this.#client.leaseClient.leaseRevoke({ ID: leaseId });
      } catch (error) {
        if (!(error instanceof EtcdLeaseInvalidError)) throw error;
      }
    }, { retry: true, leaseId });
  }

  /** Ends every watch, then closes the connections; later calls reject. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await Promise.allSettled(this.#watches);
    this.#client.close();
  }

  /** Same as {@linkcode EtcdStore.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #call<T>(operation: () => Promise<T>, options: CallOptions = {}): Promise<T> {
    this.#assertOpen();
    try {
      if (!options.retry) return await operation();
      return await this.#retry.execute(operation, this.#closing.signal);
    } catch (error) {
      throw this.#translate(error, options.leaseId);
    }
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) {
      throw new StoreUnavailableError(`The store for etcd at "${this.#target}" is closed`);
    }
  }

  /** Maps client errors onto the store's: unreachable server, or lease gone. */
  #translate(error: unknown, leaseId?: string): unknown {
    if (!(error instanceof Error)) return error;
    const cast = castGrpcError(error);
    if (cast instanceof EtcdLeaseInvalidError) {
      return new LeaseNotFoundError(leaseId ?? "unknown", { cause: cast });
    }
    if (
      isBrokenCircuitError(cast) || isRecoverableError(cast) || cast instanceof ClientClosedError
    ) {
      return new StoreUnavailableError(`Cannot reach etcd at "${this.#target}": ${cast.message}`, {
        cause: cast,
      });
    }
    return cast;
  }

  /** Retries a cheap read until it succeeds; grpc fails fast while it cannot connect. */
  async #probe(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const giveUpAt = Date.now() + timeoutMs;
    while (true) {
      signal?.throwIfAborted();
      try {
        await this.#client.kv.range({ key: bytes("\0"), count_only: true }, { deadline: giveUpAt });
        return;
      } catch (error) {
        const cause = this.#translate(error);
        if (!(cause instanceof StoreUnavailableError)) throw cause;
        if (Date.now() + PROBE_PAUSE_MS >= giveUpAt) {
          throw new StoreUnavailableError(
            `Cannot reach etcd at "${this.#target}" within ${timeoutMs} ms`,
            { cause },
          );
        }
        await sleep(PROBE_PAUSE_MS, signal);
      }
    }
  }

  /** One keep-alive request and its reply, on a stream opened for just that. */
  async #keepAliveRound(leaseId: string): Promise<ILeaseKeepAliveResponse> {
    const stream = await this.#client.leaseClient.leaseKeepAlive({
      deadline: Date.now() + this.#callTimeoutMs,
    });
    try {
      return await new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
        stream.on("data", resolve);
        stream.on("error", (error) => reject(castGrpcError(error)));
        stream.on(
          "end",
          () => reject(this.#unavailable("ended a lease keep-alive without a reply")),
        );
        stream.write({ ID: leaseId });
      });
    } finally {
      // A half-close, not cancel(): etcd3 counts a cancelled stream as a server failure.
      stream.end();
    }
  }

  /** Keeps a watch going across broken connections until `signal` aborts or etcd cancels it. */
  async #follow(
    prefix: string,
    cursor: WatchCursor,
    queue: WatchQueue<WatchEvent>,
    signal: AbortSignal,
  ): Promise<void> {
    let backoffMs = WATCH_BACKOFF_MIN_MS;
    try {
      while (!signal.aborted) {
        const created = await this.#watchOnce(prefix, cursor, queue, signal);
        if (signal.aborted) return;
        if (created) backoffMs = WATCH_BACKOFF_MIN_MS;
        logger.debug(
          "Watch on {prefix} broke; resuming from revision {revision} in {backoffMs} ms",
          {
            prefix,
            revision: cursor.next,
            backoffMs,
          },
        );
        await sleep(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, WATCH_BACKOFF_MAX_MS);
      }
    } catch (error) {
      queue.fail(error);
    } finally {
      queue.end();
    }
  }

  /**
   * Runs one watch stream until it breaks (resolves with whether etcd had
   * created the watch) or etcd cancels the watch (rejects).
   */
  async #watchOnce(
    prefix: string,
    cursor: WatchCursor,
    queue: WatchQueue<WatchEvent>,
    signal: AbortSignal,
  ): Promise<boolean> {
    let stream: WatchStream;
    try {
      stream = await this.#client.watchClient.watch();
    } catch (error) {
      logger.debug("Cannot open a watch stream: {error}", { error: String(error) });
      return false;
    }
    return await followStream(stream, prefix, cursor, queue, signal);
  }

  #unavailable(what: string): StoreUnavailableError {
    return new StoreUnavailableError(`Etcd at "${this.#target}" ${what}`);
  }
}

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/**
 * Creates the watch on a fresh stream and feeds its events to `queue`, until
 * the stream breaks (resolves with whether etcd had created the watch), etcd
 * cancels the watch (rejects) or `signal` aborts (resolves).
 */
function followStream(
  stream: WatchStream,
  prefix: string,
  cursor: WatchCursor,
  queue: WatchQueue<WatchEvent>,
  signal: AbortSignal,
): Promise<boolean> {
  let created = false;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    // End before cancelling: etcd3 counts an error on a still-writable stream
    // as a server failure, resetting connections and feeding the breaker.
    stream.end();
    stream.cancel();
  };
  return new Promise<boolean>((resolve, reject) => {
    stream.on("data", (reply) => {
      if (reply.canceled) {
        stop();
        return reject(cancellation(reply, prefix, cursor));
      }
      if (reply.created) created = true;
      deliver(reply, cursor, queue);
    });
    stream.on("error", () => resolve(created));
    stream.on("end", () => resolve(created));
    signal.addEventListener("abort", stop, { once: true });
    if (signal.aborted) return stop();
    stream.write({ create_request: createRequest(prefix, cursor) });
  }).finally(() => signal.removeEventListener("abort", stop));
}

function clientOptions(options: EtcdStoreOptions, callTimeoutMs: number): IOptions {
  return {
    hosts: [...options.endpoints],
    grpcOptions: {
      "grpc.keepalive_time_ms": options.pingIntervalMs ?? 6000,
      "grpc.keepalive_timeout_ms": options.pingTimeoutMs ?? 2000,
      // Reconnect soon after a blip instead of grpc's default backoff of up to 120 s.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
    },
    faultHandling: {
      // etcd3's default breaker stays open for 5 s after three failures,
      // failing calls long after a short blip has healed.
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: 500,
          breaker: new ConsecutiveBreaker(3),
        }),
      // EtcdStore retries by itself, and only calls that are safe to repeat.
      global: noop,
    },
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + callTimeoutMs },
  };
}

function bytes(text: string): Buffer {
  return Buffer.from(text, "utf8");
}

function wire(range: KeyRange): { key: Buffer; range_end: Buffer } {
  return { key: Buffer.from(range.key), range_end: Buffer.from(range.range_end) };
}

function assertRevision(revision: number): void {
  if (!Number.isInteger(revision) || revision < 1) {
    throw new RangeError(`Watch revision must be a positive integer, got "${revision}"`);
  }
}

function createRequest(prefix: string, cursor: WatchCursor): IWatchRequest["create_request"] {
  const start = cursor.next;
  return {
    ...wire(prefixRange(prefix)),
    progress_notify: true,
    ...(start === undefined ? {} : { start_revision: start }),
  };
}

function deliver(reply: IWatchResponse, cursor: WatchCursor, queue: WatchQueue<WatchEvent>): void {
  if (reply.created) {
    cursor.created(Number(reply.header.revision));
  } else if (reply.events.length === 0) {
    cursor.progressed(Number(reply.header.revision));
  }
  const events = reply.events.map((event) => toWatchEvent(event as RawEvent));
  for (const event of cursor.admit(events, eventRevision)) queue.push(event);
}

function cancellation(reply: IWatchResponse, prefix: string, cursor: WatchCursor): Error {
  const compacted = Number(reply.compact_revision);
  if (compacted > 0) {
    return new RangeError(
      `Revision "${cursor.next}" of the watch on "${prefix}" was compacted; the oldest revision still held is "${compacted}"`,
    );
  }
  return new Error(`Etcd cancelled the watch on "${prefix}" ("${reply.cancel_reason}")`);
}
