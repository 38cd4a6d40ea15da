/**
 * Shared pieces of the fuzz suites (`tests/fuzz_*_test.ts`): a seeded
 * pseudo-random generator, so that a failing run reproduces with
 * `FUZZ_SEED=<seed>`; boundary values for strings and JSON; and helpers that
 * bound how long a call and a batch of calls may take.
 *
 * @module
 */

/** A tiny seeded PRNG (mulberry32): same seed, same sequence, on every machine. */
export class Rng {
  #state: number;

  /** Starts the sequence of `seed` (a 32-bit unsigned integer). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [0, `maxExclusive`). */
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** An integer in [`min`, `max`]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** A fair coin. */
  bool(): boolean {
    return this.next() < 0.5;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array<ArrayBuffer> {
    return Uint8Array.from({ length }, () => this.int(256));
  }
}

/**
 * The seed of this run: `FUZZ_SEED` when set, a random one otherwise. Put it
 * in the test name so that every report of a failure says how to rerun it.
 *
 * @throws {RangeError} when `FUZZ_SEED` is not a non-negative integer
 */
export function fuzzSeed(): number {
  const fixed = Deno.env.get("FUZZ_SEED");
  if (fixed === undefined || fixed === "") {
    return crypto.getRandomValues(new Uint32Array(1))[0]!;
  }
  const seed = Number(fixed);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`FUZZ_SEED must be a non-negative integer: received "${fixed}"`);
  }
  return seed >>> 0;
}

/** Strings that often break parsers: empty, control, Unicode, traversal, JSON-ish. */
export const TRICKY_STRINGS: readonly string[] = [
  "",
  " ",
  " a",
  "a ",
  "\t",
  "\n",
  "\r\n",
  "\u0000",
  "a\u0000b",
  "\u001b[31mred\u001b[0m",
  "\u007f",
  "\u00a0",
  "\u200b",
  "\u202eevil",
  "\ufeff",
  "\ud800",
  "\udfff\ud800",
  "ñäöüß",
  "日本語",
  "😀",
  "😀".repeat(300),
  ".",
  "..",
  "../",
  "../../etc/passwd",
  "guest/../admin",
  "..\\..\\windows",
  "%2e%2e%2f",
  "..%2F..%2F",
  "%00",
  "%",
  "%zz",
  "/",
  "//",
  "a/b",
  "a/b/c",
  "_",
  "*",
  "?",
  "#",
  "{",
  "}",
  "[",
  '{"a":',
  '{"a":1,}',
  "[1,2",
  "null",
  "true",
  "false",
  "0",
  "-1",
  "1e309",
  "-0",
  "NaN",
  '""',
  '"str"',
  "[]",
  "{}",
  "[null]",
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "${jndi:ldap://x}",
  "x".repeat(63),
  "x".repeat(64),
  "x".repeat(65),
  "x".repeat(255),
  "x".repeat(256),
  "x".repeat(257),
  "x".repeat(512),
  "x".repeat(513),
  "x".repeat(2048),
  "x".repeat(2049),
  "x".repeat(4097),
];

/** Numbers at the edges of what JSON, int32, int64 and safe integers hold. */
export const TRICKY_NUMBERS: readonly number[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  255,
  256,
  65_535,
  65_536,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 32,
  86_400_000,
  86_400_001,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  Number.MIN_SAFE_INTEGER,
  2 ** 63,
  1e300,
  -1e300,
  Number.MIN_VALUE,
];

/** A random string of `length` code points from all of Unicode (lone surrogates included). */
export function randomUnicode(rng: Rng, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) {
    const kind = rng.int(4);
    const code = kind === 0
      ? rng.int(0x80)
      : kind === 1
      ? rng.int(0x800)
      : kind === 2
      ? rng.int(0x10000)
      : rng.int(0x110000);
    text += String.fromCodePoint(code);
  }
  return text;
}

/**
 * A boundary string: a tricky one, random Unicode, or (with `maxHuge` above 0)
 * sometimes a huge one of up to `maxHuge` characters.
 */
export function boundaryString(rng: Rng, maxHuge = 0): string {
  const roll = rng.next();
  if (maxHuge > 0 && roll < 0.05) return "h".repeat(rng.between(maxHuge / 2, maxHuge));
  if (roll < 0.7) return rng.pick(TRICKY_STRINGS);
  return randomUnicode(rng, rng.between(1, 40));
}

/** A random JSON value up to `depth` levels deep, built from boundary strings and numbers. */
export function randomJson(rng: Rng, depth = 3): unknown {
  const kind = rng.int(depth > 0 ? 7 : 5);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.bool();
    case 2:
      return rng.pick(TRICKY_NUMBERS);
    case 3:
    case 4:
      return boundaryString(rng);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth - 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(4) }, () => [boundaryString(rng), randomJson(rng, depth - 1)]),
      );
  }
}

/** JSON text nested `depth` levels deep, e.g. `[[[…]]]` or `{"a":{"a":…}}`. */
export function deepJson(depth: number, kind: "array" | "object" = "array"): string {
  return kind === "array"
    ? "[".repeat(depth) + "]".repeat(depth)
    : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

/** A random prefix of `text`: JSON cut off somewhere. */
export function truncated(rng: Rng, text: string): string {
  return text.slice(0, rng.int(text.length));
}

/** A copy of `value` with one field, possibly nested (`a.b`), set to `replacement` (removed if undefined). */
export function withField(value: unknown, path: string, replacement: unknown): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  const keys = path.split(".");
  let target = copy;
  for (const key of keys.slice(0, -1)) {
    const next = target[key];
    if (next === null || typeof next !== "object") return copy;
    target = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (replacement === undefined) delete target[last];
  else target[last] = replacement;
  return copy;
}

/**
 * Watches a program's `closed` promise; the returned function says whether
 * the program still runs (its promise has not resolved).
 */
export function stillRunning(closed: Promise<unknown>): () => boolean {
  let stopped = false;
  void closed.then(() => (stopped = true));
  return () => !stopped;
}

/** Raised by {@linkcode within} when a call takes longer than its bound. */
export class StuckCallError extends Error {
  /** Creates the error for `what`, which did not settle within `ms`. */
  constructor(what: string, ms: number) {
    super(`${what} did not settle within ${ms} ms`);
    this.name = "StuckCallError";
  }
}

/** Settles like `promise`, or rejects with {@linkcode StuckCallError} after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StuckCallError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `work` on every item with at most `limit` running at once; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A short, printable description of a value for failure messages. */
export function preview(value: unknown, max = 160): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  const escaped = JSON.stringify(text.length > max ? text.slice(0, max) : text);
  return text.length > max ? `${escaped}… (${text.length} chars)` : escaped;
}
