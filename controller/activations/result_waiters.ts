/**
 * Blocking invokes waiting for their activation's completion.
 *
 * @module
 */
import type { WhiskActivation } from "@faas/proto";

/** How a blocking wait ended. */
export type BlockingOutcome =
  | { readonly kind: "completed"; readonly activation: WhiskActivation }
  /** The wait was cut short (timeout, client gone, shutdown): answer with the id. */
  | { readonly kind: "timed_out" };

const TIMED_OUT: BlockingOutcome = Object.freeze({ kind: "timed_out" });

/** A registered wait for one activation; dispose it to stop listening. */
export interface PendingResult extends Disposable {
  /** Resolves with the record, or `timed_out` once `signal` aborts; never rejects. */
  wait(signal: AbortSignal): Promise<BlockingOutcome>;
}

/**
 * Blocking invokes by activation id. Register before publishing the
 * activation, so a completion that comes back very fast is not missed.
 */
export class ResultWaiters {
  readonly #pending = new Map<string, PromiseWithResolvers<WhiskActivation>>();

  /** Activations with a registered waiter. */
  get size(): number {
    return this.#pending.size;
  }

  /** Starts waiting for `activationId`. */
  register(activationId: string): PendingResult {
    const resolvers = Promise.withResolvers<WhiskActivation>();
    this.#pending.set(activationId, resolvers);
    const release = () => {
      if (this.#pending.get(activationId) === resolvers) this.#pending.delete(activationId);
    };
    return {
      wait: (signal) => waitFor(resolvers.promise, signal),
      [Symbol.dispose]: release,
    };
  }

  /** Hands `record` to its waiter; returns whether one was waiting. */
  resolve(record: WhiskActivation): boolean {
    const resolvers = this.#pending.get(record.activationId);
    if (!resolvers) return false;
    this.#pending.delete(record.activationId);
    resolvers.resolve(record);
    return true;
  }
}

function waitFor(result: Promise<WhiskActivation>, signal: AbortSignal): Promise<BlockingOutcome> {
  if (signal.aborted) return Promise.resolve(TIMED_OUT);
  return new Promise((resolve) => {
    const onAbort = () => resolve(TIMED_OUT);
    signal.addEventListener("abort", onAbort, { once: true });
    void result.then((activation) => {
      signal.removeEventListener("abort", onAbort);
      resolve({ kind: "completed", activation });
    });
  });
}
