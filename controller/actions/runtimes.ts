/**
 * The action kinds the platform runs. `nodejs:*` are OpenWhisk's Node.js
 * runtimes; `deno:2` is this platform's own: JavaScript or TypeScript run by
 * Deno 2, `main` exported from the module. `*:default` is resolved to a
 * concrete kind when the action is stored, as OpenWhisk does.
 *
 * @module
 */

/** The kind of actions that run a user-supplied container image. */
export const BLACKBOX_KIND = "blackbox";

/** A runtime family and its kinds. */
export interface RuntimeFamily {
  /** The kind `{family}:default` stands for. */
  readonly defaultKind: string;
  /** Every concrete kind, e.g. `nodejs:20`. */
  readonly kinds: readonly string[];
}

/** The runtimes by family, as `GET /api/v1` lists them. */
export const RUNTIMES: Readonly<Record<string, RuntimeFamily>> = Object.freeze({
  nodejs: { defaultKind: "nodejs:20", kinds: ["nodejs:18", "nodejs:20", "nodejs:22"] },
  deno: { defaultKind: "deno:2", kinds: ["deno:2"] },
});

/** Every kind a client may send, `*:default` and `blackbox` included. */
export function acceptedKinds(): string[] {
  return [
    ...Object.entries(RUNTIMES).flatMap(([family, r]) => [...r.kinds, `${family}:default`]),
    BLACKBOX_KIND,
  ];
}

/** The concrete kind `kind` names, or `undefined` when the platform has no such runtime. */
export function resolveKind(kind: string): string | undefined {
  if (kind === BLACKBOX_KIND) return kind;
  const [family, version] = kind.split(":", 2);
  // Own properties only: "constructor" must not find Object's.
  if (family === undefined || version === undefined || !Object.hasOwn(RUNTIMES, family)) {
    return undefined;
  }
  const runtime = RUNTIMES[family]!;
  if (version === "default") return runtime.defaultKind;
  return runtime.kinds.includes(kind) ? kind : undefined;
}
