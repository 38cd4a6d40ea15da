/**
 * Conversions from etcd's wire shapes (as the etcd3 client decodes them:
 * byte keys, int64 fields as decimal strings) to the store's types. Kept
 * structural so only `etcd_store.ts` depends on the client library.
 *
 * @module
 */
import type { KeyValue, WatchEvent } from "./store.ts";

/** A key-value as etcd sends it. */
export interface RawKeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly create_revision: string;
  readonly mod_revision: string;
  /** `"0"` when the key has no lease. */
  readonly lease: string;
}

/** A watch event as etcd sends it; the type is `"PUT"` or `"DELETE"`. */
export interface RawEvent {
  readonly type: string;
  readonly kv: RawKeyValue;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Encodes a key or value for etcd. */
export function encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Converts an etcd key-value, turning revisions into numbers. */
export function toKeyValue(raw: RawKeyValue): KeyValue {
  const kv = {
    key: decoder.decode(raw.key),
    value: decoder.decode(raw.value),
    createRevision: Number(raw.create_revision),
    modRevision: Number(raw.mod_revision),
  };
  return raw.lease === "0" || raw.lease === "" ? kv : { ...kv, leaseId: raw.lease };
}

/** Converts an etcd watch event; a delete's kv carries only the key and the revision. */
export function toWatchEvent(raw: RawEvent): WatchEvent {
  if (String(raw.type).toUpperCase() === "DELETE") {
    return {
      type: "delete",
      key: decoder.decode(raw.kv.key),
      revision: Number(raw.kv.mod_revision),
    };
  }
  return { type: "put", kv: toKeyValue(raw.kv) };
}

/** An etcd key range: `key` inclusive, `range_end` exclusive. */
export interface KeyRange {
  readonly key: Uint8Array;
  readonly range_end: Uint8Array;
}

/**
 * The range of every key starting with `prefix`. Its end is the prefix with
 * the last byte below 0xff incremented; `[0]` as key or end means "from the
 * first" or "to the last" key to etcd, which the empty prefix needs.
 */
export function prefixRange(prefix: string): KeyRange {
  const key = encode(prefix);
  for (let i = key.length - 1; i >= 0; i--) {
    if (key[i]! < 0xff) {
      const end = key.slice(0, i + 1);
      end[i]!++;
      return { key, range_end: end };
    }
  }
  const zero = new Uint8Array([0]);
  return { key: key.length === 0 ? zero : key, range_end: zero };
}
