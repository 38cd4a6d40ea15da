/**
 * zod fields for query parameters, which arrive as strings.
 *
 * @module
 */
import { z } from "zod";

/** `true`/`false` as OpenWhisk's query flags spell them. */
export const flag = z.enum(["true", "false"]).transform((v) => v === "true");

/** OpenWhisk's list page size: 1-200, default 30; 0 asks for the maximum. */
export const limit = z.coerce.number().int().min(0).max(200).default(30)
  .transform((n) => n === 0 ? 200 : n);

/** Leading entries to skip. */
export const skip = z.coerce.number().int().min(0).default(0);

/** An epoch time in ms. */
export const epochMs = z.coerce.number().int().min(0);
