/**
 * Reading request bodies within a size limit and validating them with zod.
 * Every failure becomes a {@linkcode MalformedRequestError} or a
 * {@linkcode PayloadTooLargeError}, never an unhandled exception.
 *
 * @module
 */
import type { z } from "zod";
import { MalformedRequestError, PayloadTooLargeError } from "../errors.ts";

/** Options for {@linkcode readJsonBody}. */
export interface ReadJsonBodyOptions<T> {
  /** Larger bodies are refused. */
  readonly maxBytes: number;
  /** What an empty body means; without it an empty body is malformed. */
  readonly emptyAs?: T;
}

/**
 * The body's bytes, refusing more than `maxBytes` without reading them all: a
 * declared `Content-Length` over the limit is refused before reading at all.
 *
 * @throws {PayloadTooLargeError} when the body exceeds `maxBytes`
 */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw new PayloadTooLargeError(declared, maxBytes);
  }
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLargeError(total, maxBytes);
    }
    chunks.push(value);
  }
  return concat(chunks, total);
}

/**
 * Reads the body as JSON and validates it with `schema`.
 *
 * @throws {PayloadTooLargeError} when the body exceeds the limit
 * @throws {MalformedRequestError} when it is not UTF-8 JSON matching `schema`
 */
export async function readJsonBody<S extends z.ZodType>(
  request: Request,
  schema: S,
  options: ReadJsonBodyOptions<z.infer<S>>,
): Promise<z.infer<S>> {
  const text = decodeUtf8(await readBodyBytes(request, options.maxBytes));
  if (text.trim() === "") {
    if (options.emptyAs !== undefined) return options.emptyAs;
    throw new MalformedRequestError("the body is empty");
  }
  // Deeper documents parse, but later serialisation of them overflows the stack.
  if (nestingDepth(text) > MAX_NESTING) {
    throw new MalformedRequestError(`the body nests deeper than ${MAX_NESTING} levels`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new MalformedRequestError(`the body is not valid JSON (${errorText(cause)})`, { cause });
  }
  return validate(schema, raw);
}

/** Deepest nesting of objects and arrays a body may have. */
export const MAX_NESTING = 512;

// Counts brackets outside strings; exact for valid JSON, an upper bound otherwise.
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Validates `value` with `schema`.
 *
 * @throws {MalformedRequestError} naming the first few problems
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new MalformedRequestError(describeIssues(result.error.issues));
}

/** One readable sentence for up to three zod issues, naming each field by its path. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.slice(0, 3)
    .map((i) => i.path.length > 0 ? `"${i.path.join(".")}" ${i.message}` : i.message)
    .join("; ");
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new MalformedRequestError("the body is not valid UTF-8", { cause });
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
