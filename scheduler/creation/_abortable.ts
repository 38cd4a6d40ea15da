/**
 * Waiting helpers for this folder: each gives up as soon as its signal aborts
 * and leaves no timer or listener behind.
 *
 * @module
 */
import { sleep } from "@faas/async";

export { sleep };

/** Settles like `promise`, or rejects with `signal.reason` as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {}); // settles later; nobody waits for it any more
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** A short description of a thrown value for log fields and reasons. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
