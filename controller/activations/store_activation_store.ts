/**
 * Activation records in the coordination store, for the cluster mode.
 *
 * etcd is the only store every controller shares, so records live there:
 *
 * - `{cluster}/activations/{ns}/{id}` holds the full record (result and logs),
 *   so `GET /activations/{id}` is one key read on any controller;
 * - `{cluster}/activation-index/{ns}/{start}/{id}` holds its summary, keyed by
 *   start time (zero-padded), so a list reads only small summaries and never
 *   the results, whatever their size.
 *
 * Retention is bounded by time without any sweeper: both keys are bound to
 * a lease that is never kept alive. One lease is granted per time bucket
 * (a tenth of the retention) with TTL retention + bucket, so every record
 * stays readable at least `retentionSeconds` and at most 1.1× that, and the
 * number of leases stays small. etcd is not a database: keep the retention
 * short enough that activations/s × retention × record size fits its quota.
 *
 * The keys live here rather than in `proto/keys.ts` because no other program
 * reads or writes them.
 *
 * @module
 */
import { GroupCommit } from "@faas/async";
import { LeaseNotFoundError, type Store } from "@faas/coordination";
import { WhiskActivation } from "@faas/proto";
import { getLogger } from "@std/log";
import { z } from "zod";
import {
  type ActivationQuery,
  type ActivationStore,
  type ActivationSummary,
  matching,
  page,
  summarize,
} from "./activation_store.ts";

const logger = getLogger("controller", "activations");

// etcd allows 128 operations per transaction (two per record) and requests
// up to 1.5 MiB; a batch stays well inside both.
const MAX_RECORDS_PER_WRITE = 64;
const MAX_BATCH_BYTES = 512 * 1024;

/** Where each batch ends: consecutive records up to MAX_BATCH_BYTES, at least one each. */
function batchEnds(sizes: readonly number[]): number[] {
  const ends: number[] = [];
  let bytes = 0;
  sizes.forEach((size, i) => {
    if (i > 0 && bytes + size > MAX_BATCH_BYTES) {
      ends.push(i);
      bytes = 0;
    }
    bytes += size;
  });
  if (sizes.length > 0) ends.push(sizes.length);
  return ends;
}

const StoredSummary = z.looseObject({
  namespace: z.string(),
  name: z.string(),
  subject: z.string(),
  activationId: z.string(),
  start: z.number(),
  end: z.number(),
  duration: z.number().optional(),
  statusCode: z.number(),
  version: z.string(),
  publish: z.boolean(),
  annotations: z.array(z.object({ key: z.string(), value: z.unknown() })),
  cause: z.string().optional(),
});

interface RecordEntry {
  readonly key: string;
  readonly value: string;
}

/** Options for {@linkcode StoreActivationStore}. */
export interface StoreActivationStoreOptions {
  /** Records stay readable at least this long (and at most 1.1× as long). @default {3_600} */
  readonly retentionSeconds?: number;
  /** The clock, in epoch ms. @default {Date.now} */
  readonly now?: () => number;
}

/** An {@linkcode ActivationStore} on the coordination {@linkcode Store}, bounded by time. */
export class StoreActivationStore implements ActivationStore {
  readonly #store: Store;
  readonly #cluster: string;
  readonly #retentionSeconds: number;
  readonly #bucketSeconds: number;
  readonly #now: () => number;
  #lease: { readonly bucket: number; readonly id: Promise<string> } | undefined;
  readonly #writes = new GroupCommit<WhiskActivation>(
    (records) => this.#writeAll(records),
    MAX_RECORDS_PER_WRITE,
  );

  /**
   * Uses `store` under the prefix `cluster`.
   *
   * @throws {RangeError} when the retention is not a positive integer
   */
  constructor(store: Store, cluster: string, options: StoreActivationStoreOptions = {}) {
    const { retentionSeconds = 3_600, now = Date.now } = options;
    if (!Number.isInteger(retentionSeconds) || retentionSeconds < 1) {
      throw new RangeError(`Retention must be a positive integer: received ${retentionSeconds}`);
    }
    this.#store = store;
    this.#cluster = cluster;
    this.#retentionSeconds = retentionSeconds;
    this.#bucketSeconds = Math.max(1, Math.ceil(retentionSeconds / 10));
    this.#now = now;
  }

  /**
   * Stores the record and its summary. Records stored at the same time share
   * one etcd transaction, so a busy controller makes few writes.
   */
  put(record: WhiskActivation): Promise<void> {
    return this.#writes.submit(record);
  }

  async #writeAll(records: readonly WhiskActivation[]): Promise<unknown[]> {
    const encoded = records.map((record) => this.#entries(record));
    const errors: unknown[] = [];
    let start = 0;
    for (const end of batchEnds(encoded.map(([full]) => full.value.length))) {
      const batch = encoded.slice(start, end);
      start = end;
      try {
        await this.#writeWithLease(batch);
        errors.push(...batch.map(() => undefined));
      } catch (error) {
        // One record the store refuses must not cost the others: alone, each gets its own answer.
        for (const entries of batch) {
          errors.push(
            batch.length === 1
              ? error
              : await this.#writeWithLease([entries]).then(() => undefined, (e) => e),
          );
        }
      }
    }
    return errors;
  }

  /** The record's two keys: the full record and its summary in the index. */
  #entries(record: WhiskActivation): [RecordEntry, RecordEntry] {
    const ns = record.namespace;
    return [
      { key: this.#recordKey(ns, record.activationId), value: JSON.stringify(record) },
      {
        key: this.#indexKey(ns, record.start, record.activationId),
        value: JSON.stringify(summarize(record)),
      },
    ];
  }

  async #writeWithLease(batch: readonly (readonly RecordEntry[])[]): Promise<void> {
    const write = (leaseId: string) =>
      this.#store.putAll(batch.flat().map((entry) => ({ ...entry, leaseId })));
    const leaseId = await this.#currentLease();
    try {
      await write(leaseId);
    } catch (error) {
      // The bucket's lease vanished (e.g. etcd lost it): take a new one once.
      if (!(error instanceof LeaseNotFoundError)) throw error;
      this.#lease = undefined;
      await write(await this.#currentLease());
    }
  }

  async get(namespace: string, activationId: string): Promise<WhiskActivation | undefined> {
    const kv = await this.#store.get(this.#recordKey(namespace, activationId));
    if (!kv) return undefined;
    const parsed = WhiskActivation.safeParse(parseJson(kv.value));
    if (parsed.success) return parsed.data;
    logger.warn("Ignored malformed activation record {key}", { key: kv.key });
    return undefined;
  }

  async list(namespace: string, query: ActivationQuery = {}): Promise<ActivationSummary[]> {
    return page(await this.#matching(namespace, query), query);
  }

  async count(namespace: string, query: ActivationQuery = {}): Promise<number> {
    return (await this.#matching(namespace, query)).length;
  }

  async #matching(namespace: string, query: ActivationQuery): Promise<ActivationSummary[]> {
    const { kvs } = await this.#store.getPrefix(this.#indexPrefix(namespace));
    const summaries = kvs.flatMap((kv) => {
      const parsed = StoredSummary.safeParse(parseJson(kv.value));
      return parsed.success ? [parsed.data] : [];
    });
    return matching(summaries, query);
  }

  #currentLease(): Promise<string> {
    const bucket = Math.floor(this.#now() / 1_000 / this.#bucketSeconds);
    if (this.#lease?.bucket !== bucket) {
      const ttlSeconds = this.#retentionSeconds + this.#bucketSeconds;
      const id = this.#store.grantLease(ttlSeconds).then((grant) => grant.id);
      const lease = { bucket, id };
      // A failed grant must not stick: the next write asks again.
      id.catch(() => {
        if (this.#lease === lease) this.#lease = undefined;
      });
      this.#lease = lease;
    }
    return this.#lease.id;
  }

  #recordKey(namespace: string, activationId: string): string {
    return `${this.#cluster}/activations/${namespace}/${activationId}`;
  }

  #indexPrefix(namespace: string): string {
    return `${this.#cluster}/activation-index/${namespace}/`;
  }

  #indexKey(namespace: string, start: number, activationId: string): string {
    const sortable = String(Math.max(0, Math.trunc(start))).padStart(15, "0");
    return `${this.#indexPrefix(namespace)}${sortable}/${activationId}`;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
