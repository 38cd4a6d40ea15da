/**
 * Waiting helpers for this folder: each gives up as soon as its signal aborts
 * and leaves no timer or listener behind.
 *
 * @module
 */
import { abortable, sleep } from "@faas/async";

export { abortable, sleep };

/** A short description of a thrown value for log fields and reasons. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
