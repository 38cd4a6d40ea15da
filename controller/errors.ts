/**
 * The conditions the controller's callers catch. None of them knows an HTTP
 * status: `http/error_mapping.ts` is the one place that maps them.
 *
 * @module
 */

export { ConfigError } from "@faas/config";

/** Why a request carries no usable identity. */
export type AuthenticationFailure = "missing" | "invalid";

/** Raised when a request has no credentials or wrong ones. */
export class AuthenticationError extends Error {
  /** Whether credentials were absent or did not match a key. */
  readonly failure: AuthenticationFailure;
  /** Creates the error for `failure`. */
  constructor(failure: AuthenticationFailure, options?: ErrorOptions) {
    super(
      failure === "missing"
        ? "The resource requires authentication, which was not supplied with the request"
        : "The supplied authentication is invalid",
      options,
    );
    this.name = "AuthenticationError";
    this.failure = failure;
  }
}

/** Raised when an identity addresses a namespace that is not its own. */
export class ForbiddenNamespaceError extends Error {
  /** The namespace asked for. */
  readonly namespace: string;
  /** Creates the error for the namespace `namespace`. */
  constructor(namespace: string, options?: ErrorOptions) {
    super(`The supplied authentication is not authorized to access "${namespace}"`, options);
    this.name = "ForbiddenNamespaceError";
    this.namespace = namespace;
  }
}

/** Raised when a route, action or activation does not exist. */
export class NotFoundError extends Error {
  /** Creates the error; `what` names the missing resource. */
  constructor(what = "The requested resource", options?: ErrorOptions) {
    super(`${what} does not exist`, options);
    this.name = "NotFoundError";
  }
}

/** Raised when a route exists but not for the request's method. */
export class MethodNotAllowedError extends Error {
  /** The methods the route accepts. */
  readonly allowed: readonly string[];
  /** Creates the error for `method`; `allowed` lists what the route accepts. */
  constructor(method: string, allowed: readonly string[], options?: ErrorOptions) {
    super(`The method "${method}" is not supported for this resource`, options);
    this.name = "MethodNotAllowedError";
    this.allowed = allowed;
  }
}

/** Raised when a request's body, path or query is malformed. */
export class MalformedRequestError extends Error {
  /** Creates the error; `detail` says what is wrong, for the caller to fix. */
  constructor(detail: string, options?: ErrorOptions) {
    super(`The request content was malformed: ${detail}`, options);
    this.name = "MalformedRequestError";
  }
}

/** Raised when a request body exceeds the configured limit. */
export class PayloadTooLargeError extends Error {
  /** The size seen so far, in bytes (at least `limitBytes + 1`). */
  readonly sizeBytes: number;
  /** The configured limit, in bytes. */
  readonly limitBytes: number;
  /** Creates the error for a body of at least `sizeBytes`. */
  constructor(sizeBytes: number, limitBytes: number, options?: ErrorOptions) {
    super(
      `The request content is too large: ${sizeBytes} bytes exceed the limit of ${limitBytes} bytes`,
      options,
    );
    this.name = "PayloadTooLargeError";
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

/** Raised when the schedulers throttle an action (or its namespace). */
export class ThrottledError extends Error {
  /** The invocation namespace. */
  readonly namespace: string;
  /** The action path, `namespace/name`. */
  readonly fqn: string;
  /** Creates the error for the action `fqn` invoked in `namespace`. */
  constructor(namespace: string, fqn: string, options?: ErrorOptions) {
    super("Too many requests", options);
    this.name = "ThrottledError";
    this.namespace = namespace;
    this.fqn = fqn;
  }
}

/** Raised when no scheduler is registered to take an activation. */
export class NoSchedulerError extends Error {
  /** Creates the error; `cluster` names the etcd prefix searched. */
  constructor(cluster: string, options?: ErrorOptions) {
    super(`No scheduler is registered in cluster "${cluster}" to run the activation`, options);
    this.name = "NoSchedulerError";
  }
}
