import { assertEquals, assertThrows } from "@std/assert";
import { AuthenticationError, ForbiddenNamespaceError } from "../errors.ts";
import { parseAuthKeys } from "./auth_keys.ts";
import { Authenticator, resolveNamespace } from "./authenticator.ts";

const keys = parseAuthKeys("guest=u-1:k1,other=u-2:k2");
if (!keys.ok) throw new Error("fixture keys must parse");
const authenticator = new Authenticator(keys.keys);
const basic = (credentials: string) => `Basic ${btoa(credentials)}`;

Deno.test("Authenticator.authenticate() returns the caller of a known key", () => {
  assertEquals(authenticator.authenticate(basic("u-2:k2")), {
    namespace: "other",
    subject: "other",
    uuid: "u-2",
    apiKey: "u-2:k2",
  });
  assertEquals(authenticator.authenticate(`basic  ${btoa("u-1:k1")}`).namespace, "guest");
});

Deno.test("Authenticator.authenticate() tells missing from invalid credentials", () => {
  const failure = (header: string | null) =>
    assertThrows(() => authenticator.authenticate(header), AuthenticationError).failure;
  assertEquals(failure(null), "missing");
  assertEquals(failure(""), "missing");
  for (
    const header of [
      "Bearer abc",
      "Basic !!!",
      basic("u-1"),
      basic(":k1"),
      basic("u-1:k2"),
      basic("u-1:k1x"),
      basic("u-3:k1"),
      "Basic /w==",
    ]
  ) {
    assertEquals(failure(header), "invalid", header);
  }
});

Deno.test("resolveNamespace() maps _ to the caller's namespace and refuses others", () => {
  const caller = authenticator.authenticate(basic("u-1:k1"));
  assertEquals(resolveNamespace(caller, "_"), "guest");
  assertEquals(resolveNamespace(caller, "guest"), "guest");
  const error = assertThrows(() => resolveNamespace(caller, "other"), ForbiddenNamespaceError);
  assertEquals(error.namespace, "other");
});

Deno.test("parseAuthKeys() refuses malformed entries and invalid names", () => {
  const result = parseAuthKeys("ok=u:k, =u2:k, b/d=u3:k, x=u/4:k, y=u5:");
  assertEquals(result.ok, false);
  if (result.ok) return;
  assertEquals(result.problems.length, 4);
  assertEquals(parseAuthKeys(" , ").ok, false);
});
