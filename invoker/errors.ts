/**
 * Errors of the invoker that callers are expected to catch.
 *
 * @module
 */

/** Raised with every problem found in the configuration at once. */
export class ConfigError extends Error {
  /** One entry per bad or missing variable. */
  readonly problems: readonly string[];
  /** Creates the error from the list of problems. */
  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(`Invalid configuration: ${problems.join("; ")}`, options);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

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
