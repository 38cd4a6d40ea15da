/**
 * Test helpers for this folder: fixtures, a bounded wait, endpoints of the
 * real etcd and Kafka, and a store that loses watch events on purpose.
 *
 * @module
 */
import type {
  CreateResult,
  KeyValue,
  LeaseGrant,
  PrefixSnapshot,
  PutOptions,
  Store,
  WatchEvent,
  WatchOptions,
} from "@faas/coordination";
import type { ActionMetadata } from "@faas/proto";
import type { QueueSnapshot } from "./decision.ts";

/** etcd endpoints of the test services (`bash scripts/services.sh up`). */
export const ETCD_ENDPOINTS = (Deno.env.get("FAAS_ETCD_ENDPOINTS") ?? "http://127.0.0.1:23790")
  .split(",");
/** Kafka brokers of the test services. */
export const KAFKA_BROKERS = (Deno.env.get("FAAS_KAFKA_BROKERS") ?? "127.0.0.1:29092").split(",");

/** A cluster name (and topic prefix) no other test uses. */
export function uniqueName(): string {
  return `c${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** Valid action metadata: `guest/hello`, revision `1-a`, 256 MB. */
export function actionFixture(overrides: Partial<ActionMetadata> = {}): ActionMetadata {
  return {
    namespace: "guest",
    name: "hello",
    version: "0.0.1",
    rev: "1-a",
    exec: { kind: "nodejs:20", binary: false },
    parameters: [],
    limits: { timeout: 60_000, memory: 256, logs: 10, concurrency: 1 },
    annotations: [],
    publish: false,
    updated: 0,
    ...overrides,
  };
}

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A store whose watches silently drop the events `drop` selects, as a broken
 * stream or a missed lease expiry would. Everything else goes to `inner`.
 */
export class LossyStore implements Store {
  readonly #inner: Store;
  /** Events for which this returns true never reach a watcher. */
  drop: (event: WatchEvent) => boolean = () => false;

  constructor(inner: Store) {
    this.#inner = inner;
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.#inner.get(key);
  }
  getPrefix(prefix: string): Promise<PrefixSnapshot> {
    return this.#inner.getPrefix(prefix);
  }
  countPrefix(prefix: string): Promise<number> {
    return this.#inner.countPrefix(prefix);
  }
  put(key: string, value: string, options?: PutOptions): Promise<void> {
    return this.#inner.put(key, value, options);
  }
  delete(key: string): Promise<boolean> {
    return this.#inner.delete(key);
  }
  deletePrefix(prefix: string): Promise<number> {
    return this.#inner.deletePrefix(prefix);
  }
  createIfAbsent(key: string, value: string, options?: PutOptions): Promise<CreateResult> {
    return this.#inner.createIfAbsent(key, value, options);
  }
  deleteIfCreateRevision(key: string, createRevision: number): Promise<boolean> {
    return this.#inner.deleteIfCreateRevision(key, createRevision);
  }
  async *watchPrefix(prefix: string, options: WatchOptions): AsyncGenerator<WatchEvent> {
    for await (const event of this.#inner.watchPrefix(prefix, options)) {
      if (!this.drop(event)) yield event;
    }
  }
  grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    return this.#inner.grantLease(ttlSeconds);
  }
  keepAliveOnce(leaseId: string): Promise<number> {
    return this.#inner.keepAliveOnce(leaseId);
  }
  revokeLease(leaseId: string): Promise<void> {
    return this.#inner.revokeLease(leaseId);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A running, initialized queue with nothing to do; namespace counts default to the action's. */
export function snapshotFixture(overrides: Partial<QueueSnapshot> = {}): QueueSnapshot {
  const existing = overrides.existing ?? 0;
  const inProgress = overrides.inProgress ?? 0;
  return {
    state: "running",
    initialized: true,
    queued: 0,
    incoming: 0,
    stale: 0,
    averageDurationMs: undefined,
    existing,
    inProgress,
    namespaceExisting: existing,
    namespaceInProgress: inProgress,
    namespaceLimit: 30,
    actionLimit: undefined,
    concurrency: 1,
    lastFailureAt: undefined,
    ...overrides,
  };
}
