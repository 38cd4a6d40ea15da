/**
 * A program's liveness in the store: one lease, kept alive in the background.
 * Keys a program writes with the session's lease vanish when the program
 * dies or loses contact for longer than the TTL, which is how other programs
 * notice. A lost session never comes back: its owner stops the work tied to
 * it and opens a new one (see {@linkcode openSession}).
 *
 * @module
 */
import { getLogger } from "@std/log";
import { SessionLostError } from "./errors.ts";
import { LeaseNotFoundError, type Store } from "./store.ts";
import { TIMED_OUT, untilAborted, within } from "./timing.ts";

const logger = getLogger("coordination");

/** Options for {@linkcode Session.create}. */
export interface SessionOptions {
  /** TTL requested for the lease; the store may grant a longer one. @default {10} */
  ttlSeconds?: number;
  /** Pause between keep-alives. @default {500} */
  keepAliveIntervalMs?: number;
  /**
   * Safety margin: the session declares its lease lost once no keep-alive has
   * succeeded for the TTL minus this, before the server can expire it, so work
   * tied to the lease stops before another program may take over.
   *
   * @default {1000}
   */
  marginMs?: number;
  /** Bound on the revoke in {@linkcode Session.close}. @default {2000} */
  closeTimeoutMs?: number;
  /** Cancels {@linkcode Session.create}; aborting later closes the session. */
  signal?: AbortSignal;
  /** A monotonic clock in milliseconds, replaceable in tests. @default {performance.now} */
  now?: () => number;
}

interface Settings {
  readonly intervalMs: number;
  readonly marginMs: number;
  readonly closeTimeoutMs: number;
  readonly now: () => number;
}

type State = "active" | "lost" | "orphaned" | "closed";

/**
 * Owns one lease and refreshes it every `keepAliveIntervalMs`.
 * {@linkcode Session.signal} aborts, with a {@linkcode SessionLostError}, only
 * when the lease is really gone: the store says so, or no keep-alive has
 * succeeded for the TTL minus `marginMs`. Shorter outages are ridden out.
 *
 * @example
 * ```ts
 * import { MemoryStore, Session } from "@faas/coordination";
 *
 * await using store = new MemoryStore();
 * await using session = await Session.create(store, { ttlSeconds: 10 });
 * await store.put("workers/w1", "ready", { leaseId: session.leaseId });
 * ```
 */
export class Session implements AsyncDisposable {
  #store: Store;
  #leaseId: string;
  #ttlMs: number;
  #settings: Settings;
  #state: State = "active";
  #lost = new AbortController();
  /** Aborts when the session stops for any reason, cutting short waits in flight. */
  #halt = new AbortController();
  #closed: Promise<SessionLostError | undefined>;
  #settle!: (outcome: SessionLostError | undefined) => void;
  /** When the last successful keep-alive was sent, on the `now` clock. */
  #refreshedAt: number;
  #failingSince: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #unlink: () => void = () => {};

  private constructor(
    store: Store,
    leaseId: string,
    ttlSeconds: number,
    settings: Settings,
    grantedAt: number,
  ) {
    this.#store = store;
    this.#leaseId = leaseId;
    this.#ttlMs = ttlSeconds * 1000;
    this.#settings = settings;
    this.#refreshedAt = grantedAt;
    this.#closed = new Promise((resolve) => this.#settle = resolve);
  }

  /** Grants a lease and starts keeping it alive. */
  static async create(store: Store, options: SessionOptions = {}): Promise<Session> {
    const { ttlSeconds = 10, signal } = options;
    const settings = settingsOf(options, ttlSeconds);
    signal?.throwIfAborted();
    const grantedAt = settings.now();
    const granting = store.grantLease(ttlSeconds);
    try {
      const grant = await untilAborted(granting, signal);
      const session = new Session(store, grant.id, grant.ttlSeconds, settings, grantedAt);
      session.#start(signal);
      return session;
    } catch (error) {
      // A grant that completes after an abort must not linger until its TTL.
      granting.then((grant) => store.revokeLease(grant.id)).catch(() => undefined);
      throw error;
    }
  }

  /** The lease to bind keys to. */
  get leaseId(): string {
    return this.#leaseId;
  }

  /** Aborts with a {@linkcode SessionLostError} when the lease is lost, and only then. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /**
   * Resolves once the session stops: with the {@linkcode SessionLostError} if
   * the lease was lost, with `undefined` after {@linkcode Session.close} or
   * {@linkcode Session.orphan}. Never rejects.
   */
  get closed(): Promise<SessionLostError | undefined> {
    return this.#closed;
  }

  /**
   * Stops refreshing without revoking, so the lease expires after its TTL
   * (e.g. to hand work over only once the keys time out). Resolves when no
   * keep-alive is in flight any more.
   */
  async orphan(): Promise<void> {
    this.#stop("orphaned");
    await this.#inFlight;
  }

  /**
   * Stops refreshing and revokes the lease, best effort, within
   * `closeTimeoutMs`. A lost or orphaned lease is left alone.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Same as {@linkcode Session.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    if (this.#state !== "active") return await this.#inFlight;
    this.#stop("closed");
    const revoking = this.#revoke();
    if (await within(revoking, this.#settings.closeTimeoutMs) === TIMED_OUT) {
      logger.warn("Revoking lease {leaseId} took over {ms} ms; it will expire on its own", {
        leaseId: this.#leaseId,
        ms: this.#settings.closeTimeoutMs,
      });
    }
  }

  #start(signal: AbortSignal | undefined): void {
    if (signal) {
      const onAbort = () => void this.close();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#unlink = () => signal.removeEventListener("abort", onAbort);
    }
    this.#schedule();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#inFlight = this.#tick();
    }, this.#settings.intervalMs);
  }

  async #tick(): Promise<void> {
    const loss = await this.#refresh();
    if (this.#state !== "active") return;
    if (loss) return this.#lose(loss);
    this.#schedule();
  }

  /** One keep-alive; resolves with the loss it detected, if any. */
  async #refresh(): Promise<SessionLostError | undefined> {
    const sentAt = this.#settings.now();
    const deadline = this.#refreshedAt + this.#ttlMs - this.#settings.marginMs;
    if (sentAt >= deadline) return this.#silenceLoss(sentAt);
    try {
      // Do not let a hung request carry the session past its deadline.
      const refreshing = this.#store.keepAliveOnce(this.#leaseId);
      const ttl = await within(refreshing, deadline - sentAt, this.#halt.signal);
      if (ttl === TIMED_OUT) {
        return this.#settings.now() >= deadline ? this.#silenceLoss(sentAt) : undefined;
      }
      this.#recovered(sentAt);
      this.#ttlMs = ttl * 1000;
    } catch (error) {
      if (error instanceof LeaseNotFoundError) return this.#goneLoss(error);
      this.#failed(sentAt, error);
    }
    return undefined;
  }

  #goneLoss(cause: LeaseNotFoundError): SessionLostError {
    const message = `Lease "${this.#leaseId}" is gone from the store`;
    return new SessionLostError(this.#leaseId, message, { cause });
  }

  #silenceLoss(now: number): SessionLostError {
    const ms = Math.round(now - this.#refreshedAt);
    return new SessionLostError(
      this.#leaseId,
      `No keep-alive of lease "${this.#leaseId}" succeeded for ${ms} ms, too close to its ${this.#ttlMs} ms TTL`,
    );
  }

  #recovered(sentAt: number): void {
    if (this.#failingSince !== undefined) {
      logger.info("Keep-alive of lease {leaseId} works again after {ms} ms", {
        leaseId: this.#leaseId,
        ms: Math.round(sentAt - this.#failingSince),
      });
    }
    this.#failingSince = undefined;
    this.#refreshedAt = sentAt;
  }

  #failed(sentAt: number, error: unknown): void {
    // Log a streak of failures once; every keep-alive fails during an outage.
    if (this.#failingSince !== undefined) return;
    this.#failingSince = sentAt;
    logger.warn("Keep-alive of lease {leaseId} failed; retrying: {error}", {
      leaseId: this.#leaseId,
      error: String(error),
    });
  }

  #lose(loss: SessionLostError): void {
    this.#state = "lost";
    this.#halt.abort();
    this.#unlink();
    logger.warn("Session lost lease {leaseId}: {reason}", {
      leaseId: this.#leaseId,
      reason: loss.message,
    });
    this.#lost.abort(loss);
    this.#settle(loss);
  }

  #stop(state: "orphaned" | "closed"): void {
    if (this.#state !== "active") return;
    this.#state = state;
    this.#halt.abort();
    clearTimeout(this.#timer);
    this.#unlink();
    this.#settle(undefined);
  }

  async #revoke(): Promise<void> {
    try {
      await this.#inFlight;
      await this.#store.revokeLease(this.#leaseId);
    } catch (error) {
      logger.warn("Cannot revoke lease {leaseId}; it will expire on its own: {error}", {
        leaseId: this.#leaseId,
        error: String(error),
      });
    }
  }
}

function settingsOf(options: SessionOptions, ttlSeconds: number): Settings {
  const { keepAliveIntervalMs = 500, marginMs = 1000, closeTimeoutMs = 2000 } = options;
  if (ttlSeconds * 1000 - marginMs <= keepAliveIntervalMs) {
    throw new RangeError(
      `TTL "${ttlSeconds}" s minus margin "${marginMs}" ms must exceed the keep-alive interval "${keepAliveIntervalMs}" ms`,
    );
  }
  return {
    intervalMs: keepAliveIntervalMs,
    marginMs,
    closeTimeoutMs,
    now: options.now ?? (() => performance.now()),
  };
}
