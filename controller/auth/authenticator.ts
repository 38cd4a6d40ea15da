/**
 * Basic authentication with OpenWhisk API keys (`Authorization: Basic
 * base64(uuid:key)`), and the namespace check every namespaced route makes.
 *
 * @module
 */
import { AuthenticationError, ForbiddenNamespaceError } from "../errors.ts";
import type { AuthKey } from "./auth_keys.ts";

/** The authenticated caller of a request. */
export interface Caller {
  /** The caller's own namespace: the only one it may address. */
  readonly namespace: string;
  /** Who acts; OpenWhisk's subject, here the namespace name. */
  readonly subject: string;
  /** The user part of the API key. */
  readonly uuid: string;
  /** The whole `uuid:key`, passed on to activations as OpenWhisk does. */
  readonly apiKey: string;
}

const encoder = new TextEncoder();

/** Checks request credentials against a fixed set of keys. */
export class Authenticator {
  readonly #byUuid: ReadonlyMap<string, AuthKey>;

  /** Accepts exactly `keys`. */
  constructor(keys: readonly AuthKey[]) {
    this.#byUuid = new Map(keys.map((k) => [k.uuid, k]));
  }

  /**
   * The caller named by an `Authorization` header value.
   *
   * @throws {AuthenticationError} when the header is absent, malformed or names no key
   */
  authenticate(authorization: string | null): Caller {
    if (!authorization) throw new AuthenticationError("missing");
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (!match) throw new AuthenticationError("invalid");
    const decoded = decodeBase64(match[1]!);
    const colon = decoded?.indexOf(":") ?? -1;
    if (decoded === undefined || colon < 1) throw new AuthenticationError("invalid");
    const uuid = decoded.slice(0, colon);
    const entry = this.#byUuid.get(uuid);
    // Compare even for an unknown uuid so timing does not reveal which uuids exist.
    const matches = constantTimeEquals(decoded.slice(colon + 1), entry?.key ?? "");
    if (!entry || !matches) throw new AuthenticationError("invalid");
    return {
      namespace: entry.namespace,
      subject: entry.namespace,
      uuid: entry.uuid,
      apiKey: `${entry.uuid}:${entry.key}`,
    };
  }
}

/**
 * The namespace a path addresses: `_` is the caller's own.
 *
 * @throws {ForbiddenNamespaceError} when it is another namespace
 */
export function resolveNamespace(caller: Caller, requested: string): string {
  if (requested === "_" || requested === caller.namespace) return caller.namespace;
  throw new ForbiddenNamespaceError(requested);
}

function decodeBase64(text: string): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(text), (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}

function constantTimeEquals(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let difference = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) difference |= x[i]! ^ (y[i % Math.max(y.length, 1)] ?? 0);
  return difference === 0;
}
