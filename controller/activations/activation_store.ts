/**
 * The activation store port: where finished activations are kept for
 * `GET /activations`. `memory_activation_store.ts` keeps them in the process
 * (embedded mode); `store_activation_store.ts` keeps them in the coordination
 * store (etcd in a cluster), so every controller can answer for every record.
 *
 * @module
 */
import type { WhiskActivation } from "@faas/proto";

/** An activation without its result and logs, as activation lists show it. */
export interface ActivationSummary {
  /** The invocation namespace. */
  readonly namespace: string;
  /** The action's name. */
  readonly name: string;
  /** Who invoked it. */
  readonly subject: string;
  /** 32 hex digits. */
  readonly activationId: string;
  /** Epoch ms. */
  readonly start: number;
  /** Epoch ms. */
  readonly end: number;
  /** Run time in ms, when known. */
  readonly duration?: number;
  /** 0 success, 1 application error, 2 developer error, 3 platform error. */
  readonly statusCode: number;
  /** The action version that ran. */
  readonly version: string;
  /** Always false: activations are not shared. */
  readonly publish: boolean;
  /** `path`, `kind`, `limits`, `waitTime`, … as the invoker recorded them. */
  readonly annotations: readonly { readonly key: string; readonly value: unknown }[];
  /** The parent activation, for sequence components. */
  readonly cause?: string;
}

/** Which activations of a namespace to list. */
export interface ActivationQuery {
  /** Only activations of the action with this name. */
  readonly name?: string;
  /** Only activations that started at or after this epoch ms. */
  readonly since?: number;
  /** Only activations that started at or before this epoch ms. */
  readonly upto?: number;
  /** Leading matches to skip. @default {0} */
  readonly skip?: number;
  /** Most matches to return. @default {30} */
  readonly limit?: number;
}

/** Keeps activation records for a bounded time or count. */
export interface ActivationStore {
  /** Stores a record; storing the same activation again replaces it. */
  put(record: WhiskActivation): Promise<void>;
  /** The record of `activationId` in `namespace`, or `undefined`. */
  get(namespace: string, activationId: string): Promise<WhiskActivation | undefined>;
  /** Matching activations of `namespace`, newest first. */
  list(namespace: string, query?: ActivationQuery): Promise<ActivationSummary[]>;
  /** How many activations of `namespace` match, ignoring `skip` and `limit`. */
  count(namespace: string, query?: ActivationQuery): Promise<number>;
}

/** The summary of a record. */
export function summarize(record: WhiskActivation): ActivationSummary {
  return {
    namespace: record.namespace,
    name: record.name,
    subject: record.subject,
    activationId: record.activationId,
    start: record.start,
    end: record.end,
    ...(record.duration !== undefined ? { duration: record.duration } : {}),
    statusCode: record.response.statusCode,
    version: record.version,
    publish: record.publish,
    annotations: record.annotations,
    ...(record.cause !== undefined ? { cause: record.cause } : {}),
  };
}

/** Filters `summaries` by `query` and orders them newest first, before skip and limit. */
export function matching(
  summaries: Iterable<ActivationSummary>,
  query: ActivationQuery,
): ActivationSummary[] {
  const { name, since = -Infinity, upto = Infinity } = query;
  return [...summaries]
    .filter((s) => (name === undefined || s.name === name) && s.start >= since && s.start <= upto)
    .sort((a, b) => b.start - a.start || (a.activationId < b.activationId ? -1 : 1));
}

/** The page of `sorted` that `query` asks for. */
export function page(
  sorted: readonly ActivationSummary[],
  query: ActivationQuery,
): ActivationSummary[] {
  const { skip = 0, limit = 30 } = query;
  return sorted.slice(skip, skip + limit);
}
