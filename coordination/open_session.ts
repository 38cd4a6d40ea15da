/**
 * Opening a session while the store may be down, which is the normal case
 * right after a session was lost.
 *
 * @module
 */
import { getLogger } from "@std/log";
import { Session, type SessionOptions } from "./session.ts";
import { type Store, StoreUnavailableError } from "./store.ts";
import { sleep } from "./timing.ts";

const logger = getLogger("coordination");

/** Options for {@linkcode openSession}. */
export interface OpenSessionOptions extends SessionOptions {
  /** Pause after the first failed attempt; it doubles after each further one. @default {200} */
  retryDelayMs?: number;
  /** Longest pause between attempts. @default {5000} */
  maxRetryDelayMs?: number;
}

/**
 * Creates a {@linkcode Session}, retrying while the store is unavailable,
 * until `options.signal` aborts (then it rejects with the abort reason).
 * Other errors reject at once.
 *
 * A lost session stays lost; its owner stops the work tied to it and opens a
 * new one:
 *
 * @example
 * ```ts
 * import { MemoryStore, openSession, type Session } from "@faas/coordination";
 *
 * async function serve(session: Session): Promise<void> {
 *   // Work bound to session.signal and session.leaseId.
 *   await session.closed;
 * }
 *
 * const store = new MemoryStore();
 * const shutdown = new AbortController();
 * const running = (async () => {
 *   while (!shutdown.signal.aborted) {
 *     await using session = await openSession(store, { signal: shutdown.signal });
 *     await serve(session);
 *   }
 * })();
 * shutdown.abort();
 * await running.catch(() => undefined);
 * await store.close();
 * ```
 */
export async function openSession(
  store: Store,
  options: OpenSessionOptions = {},
): Promise<Session> {
  const { retryDelayMs = 200, maxRetryDelayMs = 5000, signal } = options;
  let delayMs = retryDelayMs;
  while (true) {
    try {
      return await Session.create(store, options);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || signal?.aborted) throw error;
      logger.warn("Cannot open a session yet; retrying in {delayMs} ms: {error}", {
        delayMs,
        error: error.message,
      });
      await sleep(delayMs, signal);
      delayMs = Math.min(delayMs * 2, maxRetryDelayMs);
    }
  }
}
