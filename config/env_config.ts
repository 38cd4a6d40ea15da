/**
 * Reading a program's configuration from environment variables: parsed once
 * with a zod schema, every problem reported at once, the result frozen.
 *
 * @module
 */
import { z } from "zod";

/** Raised with every problem found in the configuration at once. */
export class ConfigError extends Error {
  /** One sentence per invalid or missing variable. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(`Invalid configuration: ${problems.join("; ")}`, options);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** A comma-separated list; blanks around items and empty items are dropped. */
export const envList = z.string().transform((s) =>
  s.split(",").map((x) => x.trim()).filter(Boolean)
);

/** A TCP port; 0 asks for any free one. */
export const envPort = z.coerce.number().int().min(0).max(65535);

/** A positive duration in milliseconds. */
export const envPositiveMs = z.coerce.number().int().positive();

/**
 * Validates `env` with `schema`. A variable that is set but empty counts as
 * unset, as in most shell configurations, so its default applies.
 *
 * @throws {ConfigError} listing every missing or invalid variable
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): z.infer<S> {
  const set = Object.fromEntries(
    Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined && kv[1] !== ""),
  );
  const parsed = schema.safeParse(set);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`));
  }
  return parsed.data;
}

/** Freezes `value` and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
