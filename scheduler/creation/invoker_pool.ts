/**
 * Reads what placement needs from the store: the registered invokers
 * (`{cluster}/invokers/`, written by each invoker under its lease) and the
 * paused containers of one action revision (`{cluster}/warmed/…`).
 *
 * It reads on every placement batch rather than caching: batches are rare
 * next to ticks, and a fresh read never places on an invoker whose lease is
 * gone.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import {
  type ClusterKeys,
  InvokerResourceMessage,
  MalformedFieldError,
  parseJsonField,
} from "@faas/proto";
import { getLogger } from "@std/log";
import { abortable } from "./_abortable.ts";
import type { InvokerSnapshot } from "./container_placement.ts";

const logger = getLogger("scheduler", "creation");

/** The invokers and the paused containers of one revision. */
export interface InvokerPoolView {
  /** Every registered invoker with a valid record, in key order. */
  readonly invokers: readonly InvokerSnapshot[];
  /** The invoker of each paused container of the revision (one entry per container). */
  readonly warmInvokerIds: readonly string[];
}

/** Options for {@linkcode InvokerPool.read}. */
export interface InvokerPoolReadOptions {
  /** Stops waiting for the store. */
  signal?: AbortSignal;
}

/** A thin reader of invoker records and warmed-container keys. */
export class InvokerPool {
  readonly #store: Store;
  readonly #keys: ClusterKeys;

  /** Reads from `store` under the cluster of `keys`. */
  constructor(store: Store, keys: ClusterKeys) {
    this.#store = store;
    this.#keys = keys;
  }

  /**
   * Reads the invokers and the paused containers of `(ns, fqn, rev)`.
   * Malformed invoker records are logged and left out.
   */
  async read(
    invocationNamespace: string,
    fqn: string,
    revision: string,
    options: InvokerPoolReadOptions = {},
  ): Promise<InvokerPoolView> {
    const { signal } = options;
    const warmedPrefix = this.#keys.warmedContainers(invocationNamespace, fqn, revision);
    const [invokers, warmed] = await abortable(
      Promise.all([
        this.#store.getPrefix(this.#keys.invokers),
        this.#store.getPrefix(warmedPrefix),
      ]),
      signal,
    );
    const warmInvokerIds: string[] = [];
    for (const kv of warmed.kvs) {
      const parts = this.#keys.parseContainerKey(kv.key);
      if (parts?.kind === "warmed") warmInvokerIds.push(parts.owner);
    }
    return { invokers: this.#parseInvokers(invokers.kvs), warmInvokerIds };
  }

  #parseInvokers(kvs: readonly { key: string; value: string }[]): InvokerSnapshot[] {
    const seen = new Set<string>();
    const invokers: InvokerSnapshot[] = [];
    for (const { key, value } of kvs) {
      // `{cluster}/invokers/{id}[/{uniqueName}[/{displayedName}]]`: the id names the topic.
      const id = key.slice(this.#keys.invokers.length).split("/", 1)[0] ?? "";
      const record = parseRecord(value);
      if (id === "" || typeof record === "string") {
        logger.warn("Skipped malformed invoker record {key}: {reason}", {
          key,
          reason: id === "" ? "no invoker id" : record,
        });
        continue;
      }
      if (seen.has(id)) continue;
      seen.add(id);
      const { status, freeMemory, busyMemory, inProgressMemory, tags, dedicatedNamespaces } =
        record;
      invokers.push({
        id,
        status,
        freeMemoryMb: freeMemory,
        totalMemoryMb: freeMemory + busyMemory + inProgressMemory,
        tags,
        dedicatedNamespaces,
      });
    }
    return invokers;
  }
}

function parseRecord(value: string): InvokerResourceMessage | string {
  try {
    return parseJsonField("InvokerResourceMessage", value, InvokerResourceMessage);
  } catch (error) {
    if (error instanceof MalformedFieldError) return error.message;
    throw error;
  }
}
