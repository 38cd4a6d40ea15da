/**
 * A typed facade over the real `@std/assert` implementation, repackaged on npm as
 * `deno-std`. JSR is unreachable here; when it is, map `@std/assert` to
 * `jsr:@std/assert@^1` in deno.json and delete this file: call sites stay the same.
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import * as impl from "deno-std/assert/mod.js";

type Ctor<E extends Error = Error> = new (...args: any[]) => E;
const std = impl as any;

export const AssertionError: typeof Error = std.AssertionError;
export const assert: (expr: unknown, msg?: string) => asserts expr = std.assert;
export const assertEquals: <T>(actual: T, expected: T, msg?: string) => void = std.assertEquals;
export const assertNotEquals: <T>(actual: T, expected: T, msg?: string) => void =
  std.assertNotEquals;
export const assertStrictEquals: <T>(
  actual: unknown,
  expected: T,
  msg?: string,
) => asserts actual is T = std.assertStrictEquals;
export const assertExists: <T>(actual: T, msg?: string) => asserts actual is NonNullable<T> =
  std.assertExists;
export const assertMatch: (actual: string, expected: RegExp, msg?: string) => void =
  std.assertMatch;
export const assertStringIncludes: (actual: string, expected: string, msg?: string) => void =
  std.assertStringIncludes;
export const assertArrayIncludes: <T>(
  actual: ArrayLike<T>,
  expected: ArrayLike<T>,
  msg?: string,
) => void = std.assertArrayIncludes;
export const assertObjectMatch: (
  actual: Record<PropertyKey, any>,
  expected: Record<PropertyKey, unknown>,
  msg?: string,
) => void = std.assertObjectMatch;
export const assertInstanceOf: <T extends Ctor<any>>(
  actual: unknown,
  expectedType: T,
  msg?: string,
) => asserts actual is InstanceType<T> = std.assertInstanceOf;
export const assertThrows: <E extends Error = Error>(
  fn: () => unknown,
  ErrorClass?: Ctor<E>,
  msgIncludes?: string,
  msg?: string,
) => E = std.assertThrows;
export const assertRejects: <E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  ErrorClass?: Ctor<E>,
  msgIncludes?: string,
  msg?: string,
) => Promise<E> = std.assertRejects;
export const assertGreater: <T>(actual: T, expected: T, msg?: string) => void = std.assertGreater;
export const assertGreaterOrEqual: <T>(actual: T, expected: T, msg?: string) => void =
  std.assertGreaterOrEqual;
export const assertLess: <T>(actual: T, expected: T, msg?: string) => void = std.assertLess;
export const assertLessOrEqual: <T>(actual: T, expected: T, msg?: string) => void =
  std.assertLessOrEqual;
export const fail: (msg?: string) => never = std.fail;
export const unreachable: (msg?: string) => never = std.unreachable;
