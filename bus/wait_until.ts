/**
 * A bounded polling wait for tests: asynchronous effects are awaited by
 * condition, never by a fixed sleep.
 *
 * @module
 */

/** Options for {@linkcode waitUntil}. */
export interface WaitUntilOptions {
  /** Give up after this many milliseconds. @default {10_000} */
  readonly timeout?: number;
  /** Time between checks in milliseconds. @default {10} */
  readonly interval?: number;
  /** Describes the awaited condition in the timeout error. @default {"condition"} */
  readonly what?: string;
  /** Stops waiting early; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Raised by {@linkcode waitUntil} when the deadline passes first. */
export class WaitTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WaitTimeoutError";
  }
}

/** Resolves once `condition()` returns true; rejects with {@linkcode WaitTimeoutError} at the deadline. */
export async function waitUntil(
  condition: () => boolean,
  options: WaitUntilOptions = {},
): Promise<void> {
  const { timeout = 10_000, interval = 10, what = "condition", signal } = options;
  const deadline = Date.now() + timeout;
  while (!condition()) {
    signal?.throwIfAborted();
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`Timed out after ${timeout} ms waiting for "${what}"`);
    }
    await delay(interval, signal);
  }
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
