/**
 * The credentials the controller accepts: `namespace=uuid:key` entries, as
 * OpenWhisk's `guest.auth` and `wsk --auth uuid:key` use them.
 *
 * @module
 */

/** One API key and the namespace it owns. */
export interface AuthKey {
  /** The namespace the key acts in (OpenWhisk's subject and namespace). */
  readonly namespace: string;
  /** The user part of `uuid:key`. */
  readonly uuid: string;
  /** The secret part of `uuid:key`. */
  readonly key: string;
}

/** The key of OpenWhisk's standalone `guest` namespace, the default credentials. */
export const GUEST_AUTH_KEY =
  "guest=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/** The guest's `uuid:key`, as clients send it in basic auth. */
export const GUEST_KEY = GUEST_AUTH_KEY.slice(GUEST_AUTH_KEY.indexOf("=") + 1);

/** Entity names as OpenWhisk accepts them: word characters, then `@ . -` and spaces inside. */
export const ENTITY_NAME = /^(?:\w|\w[\w@ .-]*[\w@.-])$/;

const UUID_PART = /^[A-Za-z0-9-]{1,64}$/;
const KEY_PART = /^[A-Za-z0-9._~+/=-]{1,256}$/;

/** The outcome of parsing a list of auth key entries. */
export type AuthKeysParse =
  | { readonly ok: true; readonly keys: readonly AuthKey[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Parses comma-separated `namespace=uuid:key` entries, reporting every bad
 * entry (without echoing secrets) rather than the first.
 */
export function parseAuthKeys(text: string): AuthKeysParse {
  const problems: string[] = [];
  const keys: AuthKey[] = [];
  const entries = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) problems.push("must list at least one namespace=uuid:key entry");
  entries.forEach((entry, index) => {
    const parsed = parseEntry(entry);
    if (typeof parsed === "string") problems.push(`entry ${index + 1} ${parsed}`);
    else if (keys.some((k) => k.uuid === parsed.uuid)) {
      problems.push(`entry ${index + 1} repeats uuid "${parsed.uuid}"`);
    } else keys.push(parsed);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, keys };
}

function parseEntry(entry: string): AuthKey | string {
  const equals = entry.indexOf("=");
  const colon = entry.indexOf(":", equals + 1);
  if (equals < 1 || colon < 0) return "must have the form namespace=uuid:key";
  const namespace = entry.slice(0, equals);
  const uuid = entry.slice(equals + 1, colon);
  const key = entry.slice(colon + 1);
  if (!ENTITY_NAME.test(namespace) || namespace.length > 256) {
    return `has an invalid namespace "${namespace}"`;
  }
  if (!UUID_PART.test(uuid)) return `has an invalid uuid "${uuid}"`;
  if (!KEY_PART.test(key)) return "has an invalid key";
  return { namespace, uuid, key };
}
