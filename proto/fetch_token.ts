/**
 * Fetch tokens: proof that a container was created for one action. The
 * scheduler that asks for a container mints a token bound to the invocation
 * namespace and the action (path without version); the container presents it
 * on every fetch, so it can pull only activations of its own action.
 *
 * A token is `base64url(HMAC-SHA256(secret, invocationNamespace + "\n" + fqn))`.
 * All schedulers of a cluster share the secret, so a new leader accepts the
 * tokens of containers created under the old one.
 *
 * @module
 */

/** The gRPC metadata key that carries the token. */
export const FETCH_TOKEN_METADATA_KEY = "x-fetch-token";

/**
 * The gRPC metadata key of the cluster token, which schedulers present to
 * each other's QueueService. It is minted like a fetch token for an empty
 * namespace, which no action can have, so no container holds one.
 */
export const CLUSTER_TOKEN_METADATA_KEY = "x-cluster-token";

const CLUSTER_SCOPE = ["", "queue.QueueService"] as const;

const encoder = new TextEncoder();

/** Mints and checks fetch tokens with one cluster secret. */
export class FetchTokens {
  readonly #key: Promise<CryptoKey>;
  // Verified tokens by scope: a container presents the same token on every fetch.
  readonly #verified = new Map<string, string>();

  /** @param secret the cluster secret; at least 16 characters */
  constructor(secret: string) {
    if (secret.length < 16) {
      throw new RangeError(
        `Cannot use a fetch token secret of ${secret.length} characters: need at least 16`,
      );
    }
    this.#key = crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
  }

  /** Returns the token for containers of `fqn` (path/name) invoked in `invocationNamespace`. */
  async mint(invocationNamespace: string, fqn: string): Promise<string> {
    const mac = await crypto.subtle.sign(
      "HMAC",
      await this.#key,
      encoder.encode(`${invocationNamespace}\n${fqn}`),
    );
    return toBase64Url(new Uint8Array(mac));
  }

  /** The token of the cluster's own programs (see {@linkcode CLUSTER_TOKEN_METADATA_KEY}). */
  mintCluster(): Promise<string> {
    return this.mint(...CLUSTER_SCOPE);
  }

  /** Whether `token` is the cluster token. */
  verifyCluster(token: string | undefined): Promise<boolean> {
    return this.verify(token, ...CLUSTER_SCOPE);
  }

  /** Whether `token` was minted for exactly this namespace and action. */
  async verify(
    token: string | undefined,
    invocationNamespace: string,
    fqn: string,
  ): Promise<boolean> {
    if (!token) return false;
    const scope = `${invocationNamespace}\n${fqn}`;
    const known = this.#verified.get(scope);
    if (known !== undefined) return constantTimeEqual(known, token);
    const expected = await this.mint(invocationNamespace, fqn);
    if (this.#verified.size >= 100_000) this.#verified.clear();
    this.#verified.set(scope, expected);
    return constantTimeEqual(expected, token);
  }
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
