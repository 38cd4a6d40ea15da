/**
 * A timeout signal that can be cleared. Deno keeps the process alive for an
 * `AbortSignal.timeout()` that has listeners until it fires, so a 30 s start
 * timeout would hold a shutdown for 30 s; this one is cleared when done.
 *
 * @module
 */

/** A signal that aborts after `ms` unless disposed first. */
export interface Deadline extends Disposable {
  readonly signal: AbortSignal;
}

/** Starts a deadline; dispose it (`using`) once the guarded work is over. */
export function deadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`Timed out after ${ms} ms`, "TimeoutError")),
    ms,
  );
  return { signal: controller.signal, [Symbol.dispose]: () => clearTimeout(timer) };
}
