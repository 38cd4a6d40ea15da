/**
 * The two messages of a creation job: the command to an invoker and the ack
 * coming back, read so that an ack naming an error this scheduler does not
 * know still ends its job (the reference cannot parse `ShuttingDownError` and
 * `NonExecutableActionError` acks, whose jobs then hang until the timeout).
 *
 * @module
 */
import {
  type ActionMetadata,
  actionMetadata,
  ContainerCreationAckMessage,
  type ContainerCreationError,
  type ContainerCreationMessage,
  MalformedFieldError,
  parseJsonField,
  type QueueLeader,
} from "@faas/proto";
import { z } from "zod";

/** What goes into one creation command. */
export interface CreationCommandInput {
  readonly creationId: string;
  readonly invocationNamespace: string;
  readonly action: ActionMetadata;
  readonly retryCount: number;
  /** The scheduler that leads the queue: where the container pulls from. */
  readonly leader: QueueLeader;
  readonly fetchToken: string;
  /** Epoch ms for the transaction id. */
  readonly now: number;
}

/** Builds the command an invoker receives on `invoker{N}`. */
export function creationCommand(input: CreationCommandInput): ContainerCreationMessage {
  const { action, leader } = input;
  return {
    transid: ["sid_containerCreation", input.now],
    invocationNamespace: input.invocationNamespace,
    action: { path: action.namespace, name: action.name, version: action.version },
    revision: action.rev,
    // Strips `exec.code` should a full document come in: commands carry metadata only.
    whiskActionMetaData: actionMetadata(action),
    rootSchedulerIndex: { asString: leader.sid },
    schedulerHost: leader.host,
    rpcPort: leader.rpcPort,
    retryCount: input.retryCount,
    creationId: input.creationId,
    fetchToken: input.fetchToken,
  };
}

/** An ack, as far as a job needs it. */
export type CreationAck =
  | {
    readonly kind: "ack";
    readonly creationId: string;
    readonly retryCount: number;
    /** Absent on success. */
    readonly error?: ContainerCreationError;
    readonly reason?: string;
  }
  | { readonly kind: "malformed"; readonly reason: string };

// Enough of an ack to end its job when only the error name is unknown.
const AckCore = z.object({
  creationId: z.string().min(1).max(64),
  retryCount: z.number().int().min(0),
  error: z.string().max(256),
  reason: z.string().max(4096).optional(),
});

/** Reads an ack; an unknown error name becomes `UnknownError` with the name in the reason. */
export function readCreationAck(text: string): CreationAck {
  try {
    const ack = parseJsonField("ContainerCreationAckMessage", text, ContainerCreationAckMessage);
    return { kind: "ack", ...pick(ack) };
  } catch (error) {
    if (!(error instanceof MalformedFieldError)) throw error;
    const core = AckCore.safeParse(safeJson(text));
    if (!core.success) return { kind: "malformed", reason: error.message };
    const { creationId, retryCount, error: name, reason } = core.data;
    return {
      kind: "ack",
      creationId,
      retryCount,
      error: "UnknownError",
      reason: `The invoker reported unknown error "${name}"${reason ? `: ${reason}` : ""}`,
    };
  }
}

function pick(ack: ContainerCreationAckMessage) {
  const { creationId, retryCount, error, reason } = ack;
  return {
    creationId,
    retryCount,
    ...(error === undefined ? {} : { error }),
    ...(reason === undefined ? {} : { reason }),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
