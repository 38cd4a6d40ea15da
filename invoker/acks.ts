/**
 * The messages the invoker sends about itself: its instance id (as it appears
 * in acknowledgements and completions), its resource report, and creation acks.
 *
 * @module
 */
import type {
  ContainerCreationAckMessage,
  ContainerCreationError,
  ContainerCreationMessage,
  InvokerResourceMessage,
  InvokerStatus,
} from "@faas/proto";
import type { MemorySnapshot } from "./resources.ts";

/** What identifies an invoker in messages. */
export interface InvokerIdentity {
  readonly invokerId: string;
  readonly userMemoryMb: number;
  readonly tags: readonly string[];
  readonly dedicatedNamespaces: readonly string[];
}

/** `InvokerInstanceId` JSON: `{"instance": 0, "userMemory": "2048 MB", "instanceType": "invoker", …}`. */
// A type alias, not an interface, so it fits the index signature of `InstanceId`.
export type InvokerInstance = {
  readonly instance: number;
  readonly userMemory: string;
  readonly instanceType: "invoker";
  readonly tags: readonly string[];
  readonly dedicatedNamespaces: readonly string[];
  readonly uniqueName: string;
};

/** The instance id of the invoker described by `identity`. */
export function invokerInstance(identity: InvokerIdentity): InvokerInstance {
  return {
    instance: Number(identity.invokerId),
    userMemory: `${identity.userMemoryMb} MB`,
    instanceType: "invoker",
    tags: [...identity.tags],
    dedicatedNamespaces: [...identity.dedicatedNamespaces],
    uniqueName: identity.invokerId,
  };
}

/** The value of `{cluster}/invokers/{id}`. */
export function resourceMessage(
  identity: InvokerIdentity,
  status: InvokerStatus,
  memory: MemorySnapshot,
  reclaimableMb = 0,
): InvokerResourceMessage {
  // Idle containers give their memory up to a new container of another
  // action, so schedulers may count it as free.
  return {
    status,
    freeMemory: Math.max(0, memory.freeMb) + reclaimableMb,
    busyMemory: memory.busyMb - reclaimableMb,
    inProgressMemory: memory.inProgressMb,
    tags: [...identity.tags],
    dedicatedNamespaces: [...identity.dedicatedNamespaces],
  };
}

/** Why a creation failed, as the ack reports it. */
export interface CreationFailure {
  readonly error: ContainerCreationError;
  readonly reason: string;
}

/** The ack of `message`: success without `failure`, else its error and reason. */
export function creationAck(
  message: ContainerCreationMessage,
  instance: InvokerInstance,
  failure?: CreationFailure,
): ContainerCreationAckMessage {
  return {
    transid: message.transid,
    creationId: message.creationId,
    invocationNamespace: message.invocationNamespace,
    action: message.action,
    revision: message.revision,
    actionMetaData: message.whiskActionMetaData,
    rootInvokerIndex: { ...instance },
    schedulerHost: message.schedulerHost,
    rpcPort: message.rpcPort,
    retryCount: message.retryCount,
    ...(failure ? { error: failure.error, reason: failure.reason.slice(0, 4096) } : {}),
  };
}
