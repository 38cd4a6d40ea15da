/**
 * One action revision's queue: activations wait here until a container of that
 * action pulls them. Containers that find it empty park their fetch (long poll)
 * and get the next activation directly.
 *
 * @module
 */
import { type ActivationMessage, type FetchResult, StatusCode } from "@faas/proto";
import { AverageDuration } from "./average_duration.ts";
import { Fifo } from "./fifo.ts";

/**
 * Lifecycle of a queue.
 * - `running`: accepting activations and serving fetches
 * - `idle`: nothing queued and no container for a while; comes back on the next activation
 * - `action_throttled`: the backlog hit its bound; new activations are refused until it shrinks
 * - `namespace_throttled`: the namespace has no room for containers; activations are refused
 *   while this action has none
 * - `flushing`: containers cannot be created; activations wait for a retry
 * - `removing`: handing back what is queued before removal
 * - `removed`: gone; fetches answer `no_queue`
 */
export type QueueState =
  | "running"
  | "idle"
  | "action_throttled"
  | "namespace_throttled"
  | "flushing"
  | "removing"
  | "removed";

/** The queue's identity: an action revision invoked in a namespace. */
export interface QueueKey {
  readonly invocationNamespace: string;
  /** The action path without version: `ns/action` or `ns/pkg/action`. */
  readonly fqn: string;
  readonly revision: string | null;
}

/** An activation owned by a queue. */
export interface QueuedActivation {
  readonly message: ActivationMessage;
  readonly enqueuedAt: number;
  /**
   * Called once, when the queue stops owning the activation: handed to a
   * container, failed, or moved. Lets the feed commit its Kafka offset.
   */
  readonly release: () => void;
}

/** What a container tells the queue on each fetch. */
export interface FetchQuery {
  readonly containerId: string;
  readonly warmed: boolean;
  readonly alive: boolean;
  readonly lastDurationMs?: number;
}

/** Side effects the queue asks its owner to perform. */
export interface QueueEffects {
  /**
   * Completes an activation the queue gives up on with an error record. Takes
   * ownership: calls `entry.release()` once the record is on its way.
   */
  fail(entry: QueuedActivation, error: string, statusCode: StatusCode): void;
  /** The action throttling flag changed. */
  actionThrottled(on: boolean): void;
}

/** Numbers the scaling decision looks at. */
export interface QueueCounts {
  readonly queued: number;
  /** Queued activations that waited longer than the stale threshold. */
  readonly stale: number;
  readonly containers: number;
  readonly warmContainers: number;
  readonly waitingFetches: number;
  /** Activations handed to containers that have not fetched again yet. */
  readonly inFlight: number;
  readonly averageDurationMs: number | undefined;
}

/** Options for {@linkcode MemoryQueue}. */
export interface MemoryQueueOptions {
  /** Backlog at which the action is throttled. @default {10_000} */
  maxRetention?: number;
  /** Throttling ends when the backlog is at most `maxRetention × this`. @default {0.9} */
  throttlingFraction?: number;
  /** Activations not pulled within this are failed. @default {60_000} */
  maxRetentionMs?: number;
  /** Activations older than this count as stale for scaling. @default {100} */
  staleThresholdMs?: number;
  /** Running with no work and no container for this long turns idle. @default {20_000} */
  idleGraceMs?: number;
  /** Idle for this long asks for removal. @default {20_000} */
  stopGraceMs?: number;
  /** How many recent durations make the average. @default {10} */
  durationBufferSize?: number;
  /**
   * A container that got an activation and has not fetched again within the
   * action's time limit plus this grace is taken as lost (e.g. its invoker
   * died): its activation is completed with an error record. @default {10_000}
   */
  lostContainerGraceMs?: number;
  /** Time source in epoch ms. @default {Date.now} */
  now?: () => number;
}

interface Waiter {
  readonly containerId: string;
  readonly signal: AbortSignal;
  readonly resolve: (result: FetchResult) => void;
}

interface ContainerInfo {
  warmed: boolean;
}

interface InFlight {
  readonly entry: QueuedActivation;
  readonly deadline: number;
}

const THROTTLED = "Too many concurrent requests in flight.";
const LOST_CONTAINER =
  "The container running this activation stopped responding; its invoker may have failed";
const NO_ACTIVATION: FetchResult = Object.freeze({ kind: "no_activation" });
const NO_QUEUE: FetchResult = Object.freeze({ kind: "no_queue" });

type Settings = Readonly<Required<Omit<MemoryQueueOptions, "durationBufferSize">>> & {
  readonly durationBufferSize: number;
};

// Resolved once per options object: a scheduler's thousands of queues share one.
const resolvedOptions = new WeakMap<MemoryQueueOptions, Settings>();

function resolve(options: MemoryQueueOptions): Settings {
  let settings = resolvedOptions.get(options);
  if (settings) return settings;
  const {
    maxRetention = 10_000,
    throttlingFraction = 0.9,
    maxRetentionMs = 60_000,
    staleThresholdMs = 100,
    idleGraceMs = 20_000,
    stopGraceMs = 20_000,
    durationBufferSize = 10,
    lostContainerGraceMs = 10_000,
    now = Date.now,
  } = options;
  if (!(maxRetention >= 1) || !(throttlingFraction > 0 && throttlingFraction <= 1)) {
    throw new RangeError(
      `Cannot create queue with maxRetention ${maxRetention} and throttlingFraction ${throttlingFraction}`,
    );
  }
  // Checked here, as the duration buffer is only built on the first report.
  if (!Number.isInteger(durationBufferSize) || durationBufferSize < 1) {
    throw new RangeError(
      `Cannot keep ${durationBufferSize} durations: size must be a positive integer`,
    );
  }
  settings = Object.freeze({
    maxRetention,
    throttlingFraction,
    maxRetentionMs,
    staleThresholdMs,
    idleGraceMs,
    stopGraceMs,
    lostContainerGraceMs,
    durationBufferSize,
    now,
  });
  resolvedOptions.set(options, settings);
  return settings;
}

// Shared stand-ins until a queue's first container: never written to (see their uses).
const NO_WAITERS = new Fifo<Waiter>();
const NO_CONTAINERS = new Map<string, ContainerInfo>();
const NOTHING_IN_FLIGHT = new Map<string, InFlight[]>();

/**
 * A per-revision activation queue.
 *
 * Invariant: waiters exist only while the FIFO is empty; an arriving activation
 * goes to the oldest warm waiter first, then the oldest cold one.
 *
 * A scheduler holds thousands of queues that are mostly idle, so the waiter
 * lists, container maps and duration buffer are allocated on first use and the
 * resolved options are shared by every queue built from one options object.
 */
export class MemoryQueue {
  readonly key: QueueKey;
  readonly #effects: QueueEffects;
  readonly #opts: Settings;
  readonly #fifo = new Fifo<QueuedActivation>();
  #warmWaiters = NO_WAITERS;
  #coldWaiters = NO_WAITERS;
  #containers = NO_CONTAINERS;
  /** Activations handed to each container and not yet followed by its next fetch. */
  #inFlight = NOTHING_IN_FLIGHT;
  #runTimeoutMs = 60_000;
  #durations: AverageDuration | undefined;
  #state: QueueState = "running";
  #lastActivityAt: number;
  #namespaceLimit: number | undefined;

  constructor(key: QueueKey, effects: QueueEffects, options: MemoryQueueOptions = {}) {
    this.#opts = resolve(options);
    this.key = key;
    this.#effects = effects;
    this.#lastActivityAt = this.#opts.now();
  }

  get state(): QueueState {
    return this.#state;
  }

  /** The namespace container limit the latest activation carried, if any. */
  get namespaceLimit(): number | undefined {
    return this.#namespaceLimit;
  }

  /** The action's time limit, once known; bounds how long a container may stay silent. */
  set runTimeoutMs(ms: number) {
    this.#runTimeoutMs = ms;
  }

  /**
   * Nothing queued, handed out or pulling, in a state whose scaling decision
   * depends only on the namespace: the scaler may skip such a queue's ticks.
   */
  get quiet(): boolean {
    return this.#isEmpty() &&
      (this.#state === "running" || this.#state === "idle" || this.#state === "flushing");
  }

  /**
   * When {@linkcode MemoryQueue.tick} next has work, provided nothing reaches
   * the queue before: at once for a queue that is not quiet, else when it
   * turns idle or asks for removal (never, for a flushing queue).
   */
  get nextTickAt(): number {
    if (!this.quiet) return -Infinity;
    const { idleGraceMs, stopGraceMs } = this.#opts;
    if (this.#state === "running") return this.#lastActivityAt + idleGraceMs;
    if (this.#state === "idle") return this.#lastActivityAt + idleGraceMs + stopGraceMs;
    return Infinity;
  }

  /** Whether the queue still takes activations (otherwise the owner routes them elsewhere). */
  get accepting(): boolean {
    return this.#state !== "removing" && this.#state !== "removed";
  }

  /**
   * Takes ownership of an activation: hands it to a waiting container, queues
   * it, or fails it when throttled. Returns false, without taking it, when the
   * queue is going away.
   */
  enqueue(entry: QueuedActivation): boolean {
    if (!this.accepting) return false;
    this.#touch();
    this.#namespaceLimit = entry.message.user.limits.concurrentInvocations ?? this.#namespaceLimit;
    if (this.#state === "idle") this.#state = "running";
    if (this.#state === "action_throttled") {
      this.#fail(entry, THROTTLED, StatusCode.developerError);
      return true;
    }
    if (this.#state === "namespace_throttled" && this.#containers.size === 0) {
      this.#fail(entry, THROTTLED, StatusCode.developerError);
      return true;
    }
    if (this.#handOff(entry)) return true;
    this.#fifo.push(entry);
    this.#throttleIfFull();
    return true;
  }

  /** Puts back an activation a container could not run, ahead of the others. */
  requeue(entry: QueuedActivation): boolean {
    if (!this.accepting) return false;
    if (this.#handOff(entry)) return true;
    this.#fifo.unshift(entry);
    return true;
  }

  /**
   * Serves one container's fetch: the next activation, or a parked wait that
   * ends with `no_activation` when `signal` aborts.
   */
  fetch(query: FetchQuery, signal: AbortSignal): Promise<FetchResult> {
    this.#touch();
    if (this.#state === "removed") return Promise.resolve(NO_QUEUE);
    this.#settleInFlight(query);
    if (!query.alive) {
      this.#forgetContainer(query.containerId);
      return Promise.resolve(NO_ACTIVATION);
    }
    this.#noteContainer(query);
    const entry = this.#fifo.shift();
    if (entry) return Promise.resolve(this.#deliver(entry, query.containerId));
    if (signal.aborted || this.#state === "removing") return Promise.resolve(NO_ACTIVATION);
    return this.#park(query, signal);
  }

  /** Current numbers, for scaling decisions and metrics. */
  counts(now = this.#opts.now()): QueueCounts {
    let stale = 0;
    for (const entry of this.#fifo) {
      if (now - entry.enqueuedAt <= this.#opts.staleThresholdMs) break;
      stale++;
    }
    let warm = 0;
    for (const c of this.#containers.values()) if (c.warmed) warm++;
    return {
      queued: this.#fifo.length,
      stale,
      containers: this.#containers.size,
      warmContainers: warm,
      waitingFetches: this.#warmWaiters.length + this.#coldWaiters.length,
      inFlight: this.#inFlightCount(),
      averageDurationMs: this.#durations?.valueMs,
    };
  }

  /**
   * Advances time-driven transitions: fails activations past their retention
   * and moves between running and idle. Returns true when the queue has been
   * idle long enough to be removed.
   */
  tick(now = this.#opts.now()): boolean {
    if (this.#fifo.length > 0 || this.#state === "action_throttled") this.#dropExpired(now);
    if (this.#inFlight.size > 0) this.#failLost(now);
    const quietMs = now - this.#lastActivityAt;
    if (this.#state === "running" && this.#isEmpty() && quietMs >= this.#opts.idleGraceMs) {
      this.#state = "idle";
    }
    return this.#state === "idle" && quietMs >= this.#opts.idleGraceMs + this.#opts.stopGraceMs;
  }

  /** Enters or leaves namespace throttling, as the scaling decision says. */
  setNamespaceThrottled(on: boolean): void {
    if (on && this.#state === "running") this.#state = "namespace_throttled";
    if (!on && this.#state === "namespace_throttled") this.#state = "running";
  }

  /** Enters flushing (containers cannot be created) or leaves it. */
  setFlushing(on: boolean): void {
    if (on && (this.#state === "running" || this.#state === "idle")) this.#state = "flushing";
    if (!on && this.#state === "flushing") this.#state = "running";
  }

  /** Fails every queued activation with `error` (e.g. the action can never run). */
  failAll(error: string, statusCode: StatusCode): void {
    for (const entry of this.#fifo.drain()) this.#fail(entry, error, statusCode);
  }

  /**
   * Stops taking activations and returns the queued ones for the owner to
   * route elsewhere. Parked fetches end; later fetches answer `no_queue`.
   */
  remove(): QueuedActivation[] {
    this.#state = "removed";
    this.#endWaiters(NO_QUEUE);
    this.#containers = NO_CONTAINERS;
    this.#inFlight = NOTHING_IN_FLIGHT;
    return this.#fifo.drain();
  }

  #isEmpty(): boolean {
    return this.#fifo.length === 0 && this.#containers.size === 0 && this.#inFlight.size === 0;
  }

  #touch(): void {
    this.#lastActivityAt = this.#opts.now();
  }

  #inFlightCount(): number {
    let n = 0;
    for (const list of this.#inFlight.values()) n += list.length;
    return n;
  }

  #noteContainer(query: FetchQuery): void {
    const info = this.#containers.get(query.containerId);
    if (info) info.warmed ||= query.warmed;
    else {
      if (this.#containers === NO_CONTAINERS) this.#containers = new Map();
      this.#containers.set(query.containerId, { warmed: query.warmed });
    }
    if (query.lastDurationMs !== undefined) {
      (this.#durations ??= new AverageDuration(this.#opts.durationBufferSize)).add(
        query.lastDurationMs,
      );
    }
  }

  #forgetContainer(containerId: string): void {
    this.#containers.delete(containerId);
    for (const list of [this.#warmWaiters, this.#coldWaiters]) {
      for (const w of list.drain()) {
        if (w.containerId === containerId) w.resolve(NO_ACTIVATION);
        else list.push(w);
      }
    }
  }

  #park(query: FetchQuery, signal: AbortSignal): Promise<FetchResult> {
    return new Promise((resolve) => {
      const onAbort = () => waiter.resolve(NO_ACTIVATION);
      const waiter: Waiter = {
        containerId: query.containerId,
        signal,
        resolve: (result) => {
          signal.removeEventListener("abort", onAbort);
          resolve(result);
        },
      };
      if (query.warmed) {
        if (this.#warmWaiters === NO_WAITERS) this.#warmWaiters = new Fifo();
        this.#warmWaiters.push(waiter);
      } else {
        if (this.#coldWaiters === NO_WAITERS) this.#coldWaiters = new Fifo();
        this.#coldWaiters.push(waiter);
      }
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #handOff(entry: QueuedActivation): boolean {
    const waiter = this.#nextWaiter();
    if (!waiter) return false;
    waiter.resolve(this.#deliver(entry, waiter.containerId));
    return true;
  }

  // Skips waiters whose call already ended; they were answered `no_activation`.
  #nextWaiter(): Waiter | undefined {
    for (const list of [this.#warmWaiters, this.#coldWaiters]) {
      let w: Waiter | undefined;
      while ((w = list.shift())) if (!w.signal.aborted) return w;
    }
    return undefined;
  }

  #deliver(entry: QueuedActivation, containerId: string): FetchResult {
    entry.release();
    const deadline = this.#opts.now() + this.#runTimeoutMs + this.#opts.lostContainerGraceMs;
    const list = this.#inFlight.get(containerId);
    if (list) list.push({ entry, deadline });
    else {
      if (this.#inFlight === NOTHING_IN_FLIGHT) this.#inFlight = new Map();
      this.#inFlight.set(containerId, [{ entry, deadline }]);
    }
    this.#unthrottleIfDrained();
    return { kind: "activation", message: entry.message };
  }

  #throttleIfFull(): void {
    if (this.#state !== "running" || this.#fifo.length < this.#opts.maxRetention) return;
    this.#state = "action_throttled";
    this.#effects.actionThrottled(true);
  }

  #unthrottleIfDrained(): void {
    if (this.#state !== "action_throttled") return;
    if (this.#fifo.length > this.#opts.maxRetention * this.#opts.throttlingFraction) return;
    this.#state = "running";
    this.#effects.actionThrottled(false);
  }

  #dropExpired(now: number): void {
    const { maxRetentionMs } = this.#opts;
    let head = this.#fifo.peek();
    while (head && now - head.enqueuedAt > maxRetentionMs) {
      this.#fifo.shift();
      this.#fail(
        head,
        `Activation processing is not initiated for ${maxRetentionMs} ms`,
        StatusCode.whiskError,
      );
      head = this.#fifo.peek();
    }
    this.#unthrottleIfDrained();
  }

  /**
   * A container fetches again only after finishing what it had, and reports
   * that run's duration. A fetch without a duration while activations are
   * handed to it means the answer carrying them never arrived (a cancelled or
   * broken call): they go back to the front of the queue.
   */
  #settleInFlight(query: FetchQuery): void {
    const handed = this.#inFlight.get(query.containerId);
    if (!handed) return;
    this.#inFlight.delete(query.containerId);
    if (query.lastDurationMs !== undefined) return;
    for (const { entry } of handed.reverse()) {
      if (this.#state === "removed" || !this.#handOff(entry)) this.#fifo.unshift(entry);
    }
  }

  #failLost(now: number): void {
    for (const [containerId, list] of this.#inFlight) {
      if (list.every((f) => f.deadline > now)) continue;
      this.#inFlight.delete(containerId);
      this.#containers.delete(containerId);
      for (const { entry } of list) {
        this.#fail(entry, LOST_CONTAINER, StatusCode.whiskError);
      }
    }
  }

  #fail(entry: QueuedActivation, error: string, statusCode: StatusCode): void {
    this.#effects.fail(entry, error, statusCode);
  }

  #endWaiters(result: FetchResult): void {
    for (const w of this.#warmWaiters.drain()) w.resolve(result);
    for (const w of this.#coldWaiters.drain()) w.resolve(result);
  }
}
