/**
 * Small waiting helpers shared by the stores and the session. Each one clears
 * its timer as soon as it settles, so nothing outlives the wait.
 *
 * @module
 */
import { sleep } from "@faas/async";

export { sleep };

/** What {@linkcode within} resolves with when the time runs out first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Waits for `promise` at most `ms` milliseconds, or until `signal` aborts.
 * Resolves with its value or {@linkcode TIMED_OUT}; rejects if it rejects in
 * time. The promise itself is not cancelled.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<T | typeof TIMED_OUT> {
  const stop = new AbortController();
  const timeout = sleep(ms, AbortSignal.any([stop.signal, ...(signal ? [signal] : [])]));
  try {
    return await Promise.race([promise, timeout.then((): typeof TIMED_OUT => TIMED_OUT)]);
  } finally {
    stop.abort();
  }
}

/** Settles like `promise`, or rejects with `signal.reason` as soon as `signal` aborts. */
export function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
