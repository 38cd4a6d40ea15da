/**
 * A signal that aborts after a time or with any of several other signals.
 * Disposing it clears the timer and detaches from the other signals, so
 * nothing outlives the request.
 *
 * @module
 */

/** A composed signal; dispose it to clear its timer and listeners. */
export interface Deadline extends Disposable {
  readonly signal: AbortSignal;
}

/** Aborts after `timeoutMs` or when any of `signals` aborts, whichever comes first. */
export function deadline(timeoutMs: number, signals: readonly AbortSignal[]): Deadline {
  const controller = new AbortController();
  const abort = (reason: unknown) => controller.abort(reason);
  const timer = setTimeout(
    () => abort(new DOMException("Deadline passed", "TimeoutError")),
    timeoutMs,
  );
  const listeners = signals.map((signal) => {
    const onAbort = () => abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    return () => signal.removeEventListener("abort", onAbort);
  });
  return {
    signal: controller.signal,
    [Symbol.dispose]: () => {
      clearTimeout(timer);
      for (const detach of listeners) detach();
    },
  };
}
