/**
 * Validation of the ActivationService requests: every string field is checked
 * and its JSON parsed before anything touches a queue.
 *
 * @module
 */
import {
  ActivationMessage,
  entityPath,
  type FetchRequest,
  FullyQualifiedName,
  MalformedFieldError,
  parseJsonField,
  type RescheduleRequest,
  Revision,
} from "@faas/proto";
import type { ActionFetch } from "../queue/queue_manager.ts";

/** Longest `lastDuration` accepted: one day, in ms. */
const MAX_DURATION_MS = 86_400_000;

const NAMESPACE = /^[^/\s][^/]{0,255}$/;
const CONTAINER_ID = /^[A-Za-z0-9._:@-]{1,256}$/;

/**
 * Parses a FetchRequest.
 *
 * @throws {MalformedFieldError} naming the first bad field
 */
export function parseFetchRequest(request: FetchRequest): ActionFetch {
  const invocationNamespace = checkNamespace(request.invocationNamespace);
  const fqn = parseJsonField("fqn", request.fqn, FullyQualifiedName, { maxLength: 2048 });
  const revision = parseJsonField("rev", request.rev, Revision, { maxLength: 512 });
  if (!CONTAINER_ID.test(request.containerId)) {
    throw new MalformedFieldError(
      "containerId",
      "must be 1-256 of letters, digits, '.', '_', ':', '@', '-'",
    );
  }
  const lastDurationMs = request.lastDuration;
  if (
    lastDurationMs !== undefined &&
    !(Number.isSafeInteger(lastDurationMs) && lastDurationMs >= 0 &&
      lastDurationMs <= MAX_DURATION_MS)
  ) {
    throw new MalformedFieldError("lastDuration", `must be 0-${MAX_DURATION_MS} ms`);
  }
  return {
    invocationNamespace,
    fqn: entityPath(fqn),
    revision,
    containerId: request.containerId,
    warmed: request.warmed,
    alive: request.alive,
    ...(lastDurationMs === undefined ? {} : { lastDurationMs }),
  };
}

/** A RescheduleRequest, validated and parsed. */
export interface ParsedReschedule {
  readonly invocationNamespace: string;
  readonly fqn: string;
  readonly message: ActivationMessage;
}

/**
 * Parses a RescheduleRequest; the activation must belong to the named action.
 *
 * @throws {MalformedFieldError} naming the first bad field
 */
export function parseRescheduleRequest(request: RescheduleRequest): ParsedReschedule {
  const invocationNamespace = checkNamespace(request.invocationNamespace);
  const fqn = entityPath(
    parseJsonField("fqn", request.fqn, FullyQualifiedName, { maxLength: 2048 }),
  );
  parseJsonField("rev", request.rev, Revision, { maxLength: 512 });
  const message = parseJsonField("activationMessage", request.activationMessage, ActivationMessage);
  if (entityPath(message.action) !== fqn || message.user.namespace.name !== invocationNamespace) {
    throw new MalformedFieldError("activationMessage", "belongs to another action or namespace");
  }
  return { invocationNamespace, fqn, message };
}

function checkNamespace(value: string): string {
  if (!NAMESPACE.test(value)) {
    throw new MalformedFieldError("invocationNamespace", "must be 1-256 characters without '/'");
  }
  return value;
}
