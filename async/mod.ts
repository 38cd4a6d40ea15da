/**
 * Small async helpers shared by the packages.
 *
 * @module
 */
export { sleep } from "./sleep.ts";
