import { assertEquals, assertThrows } from "@std/assert";
import { FetchTokens } from "./fetch_token.ts";

Deno.test("FetchTokens.verify() accepts only the token minted for the same namespace and action", async () => {
  const tokens = new FetchTokens("0123456789abcdef-secret");
  const token = await tokens.mint("guest", "guest/hello");
  assertEquals(await tokens.verify(token, "guest", "guest/hello"), true);
  assertEquals(await tokens.verify(token, "guest", "guest/other"), false);
  assertEquals(await tokens.verify(token, "other", "guest/hello"), false);
  assertEquals(await tokens.verify(undefined, "guest", "guest/hello"), false);
  assertEquals(await tokens.verify(token + "x", "guest", "guest/hello"), false);
  const otherCluster = new FetchTokens("another-secret-of-16+");
  assertEquals(await otherCluster.verify(token, "guest", "guest/hello"), false);
});

Deno.test("FetchTokens() refuses short secrets", () => {
  assertThrows(() => new FetchTokens("short"), RangeError);
});
