/**
 * Parsing of JSON carried inside string fields (gRPC, Kafka, etcd) into
 * validated values, with one error type that says which field was wrong.
 *
 * @module
 */
import type { z } from "zod";

/** Raised when a field holds something other than its schema allows. */
export class MalformedFieldError extends Error {
  readonly field: string;
  constructor(field: string, detail: string, options?: ErrorOptions) {
    super(`Malformed "${field}": ${detail}`, options);
    this.name = "MalformedFieldError";
    this.field = field;
  }
}

/** Options for {@linkcode parseJsonField}. */
export interface ParseJsonFieldOptions {
  /** Longer input is refused before parsing. @default {1_048_576} */
  maxLength?: number;
}

/**
 * Parses `text` as JSON and validates it with `schema`.
 *
 * @throws {MalformedFieldError} when the text is too long, not JSON, or does not match
 */
export function parseJsonField<S extends z.ZodType>(
  field: string,
  text: string,
  schema: S,
  options: ParseJsonFieldOptions = {},
): z.infer<S> {
  const { maxLength = 1_048_576 } = options;
  if (text.length > maxLength) {
    throw new MalformedFieldError(field, `longer than ${maxLength} characters`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new MalformedFieldError(field, "not valid JSON", { cause });
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new MalformedFieldError(field, summarizeIssues(result.error.issues));
  }
  return result.data;
}

function summarizeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join(".") : "value"} ${i.message}`)
    .join("; ");
}
