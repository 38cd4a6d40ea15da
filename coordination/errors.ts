/**
 * Errors of the coordination package that are not part of the store port
 * (those live in `store.ts` next to the interface they describe).
 *
 * @module
 */

/** Why a `Session` lost its lease; the reason of its aborted signal. */
export class SessionLostError extends Error {
  /** The lease the session owned. */
  readonly leaseId: string;
  /** Creates the error for the lease `leaseId`; `message` says how it was lost. */
  constructor(leaseId: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SessionLostError";
    this.leaseId = leaseId;
  }
}
