/**
 * Errors of the container creation package.
 *
 * @module
 */

/** Raised when work is asked of a creation component after it was closed. */
export class ClosedError extends Error {
  /** `action` says what was refused, e.g. `Cannot create containers for "guest/hello"`. */
  constructor(action: string, options?: ErrorOptions) {
    super(`${action}: already closed`, options);
    this.name = "ClosedError";
  }
}
