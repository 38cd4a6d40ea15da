/**
 * Small async helpers shared by the packages.
 *
 * @module
 */
export { abortable } from "./abortable.ts";
export { type FlushOutcome, GroupCommit } from "./group_commit.ts";
export { sleep } from "./sleep.ts";
