/**
 * The scheduler side of `queue.QueueService`: request validation and the
 * mapping of outcomes to the wire.
 *
 * @module
 */
import { StoreUnavailableError } from "@faas/coordination";
import {
  type CallContext,
  CLUSTER_TOKEN_METADATA_KEY,
  entityPath,
  type FetchTokens,
  FullyQualifiedName,
  MalformedFieldError,
  parseJsonField,
  type QueueServiceHandlers,
  Revision,
  RpcError,
} from "@faas/proto";
import type { QueueTarget } from "../cluster/queue_creator.ts";
import type { QueueRole } from "../queue/queue_manager.ts";

/** What the QueueService calls. */
export interface QueueHost {
  create(
    target: QueueTarget,
    signal: AbortSignal,
  ): Promise<{ host: string; rpcPort: number; sid: string }>;
  join(target: QueueTarget): Promise<QueueRole>;
}

const NAMESPACE = /^[^/\s][^/]{0,255}$/;

/**
 * Builds the QueueService handlers. Only the cluster's own programs may call
 * them: every call must carry the cluster token.
 */
export function queueService(host: QueueHost, tokens: FetchTokens): QueueServiceHandlers {
  return {
    async createQueue(request, context) {
      await authorize(tokens, context);
      const target = parseTarget(request);
      const leader = await unavailableOnStore(() => host.create(target, context.signal));
      return { success: true, leader: JSON.stringify(leader) };
    },
    async joinQueue(request, context) {
      await authorize(tokens, context);
      const target = parseTarget(request);
      const { role, leader } = await unavailableOnStore(() => host.join(target));
      return { role, leader: JSON.stringify(leader) };
    },
  };
}

async function authorize(tokens: FetchTokens, context: CallContext): Promise<void> {
  const token = context.metadata(CLUSTER_TOKEN_METADATA_KEY);
  if (token === undefined) {
    throw new RpcError("UNAUTHENTICATED", `Missing "${CLUSTER_TOKEN_METADATA_KEY}" metadata`);
  }
  if (!(await tokens.verifyCluster(token))) {
    throw new RpcError("PERMISSION_DENIED", "The cluster token is not this cluster's");
  }
}

// etcd out of reach is worth retrying: UNAVAILABLE says so, where INTERNAL would not.
async function unavailableOnStore<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StoreUnavailableError) {
      throw new RpcError("UNAVAILABLE", error.message, { cause: error });
    }
    throw error;
  }
}

function parseTarget(
  request: { invocationNamespace: string; fqn: string; rev: string },
): QueueTarget {
  try {
    if (!NAMESPACE.test(request.invocationNamespace)) {
      throw new MalformedFieldError("invocationNamespace", "must be 1-256 characters without '/'");
    }
    const fqn = parseJsonField("fqn", request.fqn, FullyQualifiedName, { maxLength: 2048 });
    const revision = parseJsonField("rev", request.rev, Revision, { maxLength: 512 });
    return {
      invocationNamespace: request.invocationNamespace,
      fqn: entityPath(fqn),
      fqnJson: request.fqn,
      revision,
    };
  } catch (error) {
    if (error instanceof MalformedFieldError) throw new RpcError("INVALID_ARGUMENT", error.message);
    throw error;
  }
}
