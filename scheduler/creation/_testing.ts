/**
 * Test helpers for this folder: fixtures, a bounded wait, endpoints of the
 * real etcd and Kafka, and a store that loses watch events on purpose.
 *
 * @module
 */
export { LossyStore } from "@faas/coordination/testing_lossy";
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
