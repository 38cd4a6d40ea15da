/**
 * Errors of the invoker that callers are expected to catch.
 *
 * @module
 */

export { ConfigError } from "@faas/config";

/** Raised by a container factory when a container cannot be started. */
export class ContainerStartError extends Error {
  /** The id the container was to have. */
  readonly containerId: string;
  /** The action kind it was to run. */
  readonly kind: string;
  /** Creates the error; `message` says what went wrong. */
  constructor(containerId: string, kind: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ContainerStartError";
    this.containerId = containerId;
    this.kind = kind;
  }
}
