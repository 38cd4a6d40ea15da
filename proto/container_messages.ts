/**
 * Container commands on Kafka `invoker{N}` and their acknowledgements on
 * `creationAck{schedulerId}`.
 *
 * @module
 */
import { z } from "zod";
import { ActionMetadata } from "./action.ts";
import { TransactionId } from "./activation_message.ts";
import { parseJsonField } from "./json_field.ts";
import { FullyQualifiedName, Revision } from "./names.ts";

/** Asks an invoker to start a container that pulls from `schedulerHost:rpcPort`. */
export const ContainerCreationMessage = z.object({
  transid: TransactionId,
  invocationNamespace: z.string().min(1).max(256),
  action: FullyQualifiedName,
  revision: Revision,
  whiskActionMetaData: ActionMetadata,
  // Names the ack topic `creationAck{asString}`; a name Kafka refuses also fails sends in flight.
  rootSchedulerIndex: z.object({ asString: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/) }),
  schedulerHost: z.string().min(1).max(255),
  rpcPort: z.number().int().min(1).max(65535),
  retryCount: z.number().int().min(0),
  creationId: z.string().min(1).max(64),
  /** Token the container presents on every fetch (see `fetch_token.ts`). */
  fetchToken: z.string().min(1).max(128),
});
/** A container creation command. */
export type ContainerCreationMessage = z.infer<typeof ContainerCreationMessage>;

/** Asks an invoker to remove containers of an action revision. */
export const ContainerDeletionMessage = z.object({
  transid: TransactionId,
  invocationNamespace: z.string().min(1).max(256),
  action: FullyQualifiedName,
  revision: Revision,
  whiskActionMetaData: ActionMetadata,
});
/** A container deletion command. */
export type ContainerDeletionMessage = z.infer<typeof ContainerDeletionMessage>;

/** A command on `invoker{N}`: a creation has a `creationId`, a deletion has none. */
export type ContainerCommand =
  | { readonly kind: "create"; readonly message: ContainerCreationMessage }
  | { readonly kind: "delete"; readonly message: ContainerDeletionMessage };

/**
 * Parses a message from `invoker{N}`.
 *
 * @throws {MalformedFieldError} when it is neither command
 */
export function parseContainerCommand(text: string): ContainerCommand {
  const shape = parseJsonField("ContainerMessage", text, z.record(z.string(), z.unknown()));
  if ("creationId" in shape) {
    return {
      kind: "create",
      message: parseJsonField("ContainerCreationMessage", text, ContainerCreationMessage),
    };
  }
  return {
    kind: "delete",
    message: parseJsonField("ContainerDeletionMessage", text, ContainerDeletionMessage),
  };
}

/** Why a container could not be created. */
export const ContainerCreationError = z.enum([
  "NoAvailableInvokersError",
  "NoAvailableResourceInvokersError",
  "ResourceNotEnoughError",
  "WhiskError",
  "UnknownError",
  "TimeoutError",
  "ShuttingDownError",
  "NonExecutableActionError",
  "DBFetchError",
  "BlackBoxError",
  "ZeroNamespaceLimit",
  "TooManyConcurrentRequests",
  "InvalidActionLimitError",
]);
/** Why a container could not be created. */
export type ContainerCreationError = z.infer<typeof ContainerCreationError>;

/** Errors of the system, not of the action: the creation is retried elsewhere. */
export const RETRYABLE_CREATION_ERRORS: ReadonlySet<ContainerCreationError> = new Set([
  "NoAvailableInvokersError",
  "NoAvailableResourceInvokersError",
  "ResourceNotEnoughError",
  "WhiskError",
  "ShuttingDownError",
  "UnknownError",
  "TimeoutError",
  "ZeroNamespaceLimit",
]);

/** An invoker's answer to a creation command; `error` absent means success. */
export const ContainerCreationAckMessage = z.object({
  transid: TransactionId,
  creationId: z.string().min(1).max(64),
  invocationNamespace: z.string().min(1).max(256),
  action: FullyQualifiedName,
  revision: Revision,
  actionMetaData: ActionMetadata,
  rootInvokerIndex: z.looseObject({ instance: z.number().int().nonnegative() }),
  schedulerHost: z.string(),
  rpcPort: z.number().int(),
  retryCount: z.number().int().min(0),
  error: ContainerCreationError.optional(),
  reason: z.string().max(4096).optional(),
});
/** A creation acknowledgement. */
export type ContainerCreationAckMessage = z.infer<typeof ContainerCreationAckMessage>;

/** Returns a fresh creation id (32 hex digits). */
export function newCreationId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}
