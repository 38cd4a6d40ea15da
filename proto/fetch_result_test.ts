import { assertEquals, assertThrows } from "@std/assert";
import { decodeFetchResult, encodeFetchResult, type FetchResult } from "./fetch_result.ts";
import { MalformedFieldError } from "./json_field.ts";
import { activationFixture } from "./testing_fixtures.ts";

Deno.test("encodeFetchResult() round-trips every variant through decodeFetchResult()", () => {
  const results: FetchResult[] = [
    { kind: "activation", message: activationFixture() },
    { kind: "no_activation" },
    { kind: "no_queue" },
    { kind: "action_mismatch" },
  ];
  for (const r of results) assertEquals(decodeFetchResult(encodeFetchResult(r)), r);
});

Deno.test("encodeFetchResult() writes the reasons in the documented wire form", () => {
  assertEquals(JSON.parse(encodeFetchResult({ kind: "no_queue" })), {
    message: { type: "NoMemoryQueue", noMemoryQueue: "no memory queue exist" },
  });
  assertEquals(
    JSON.parse(encodeFetchResult({ kind: "action_mismatch" })).message.type,
    "ActionMismatch",
  );
});

Deno.test("decodeFetchResult() rejects unknown reasons and broken activations", () => {
  for (
    const text of [
      "",
      "{",
      '{"message":{"type":"Other"}}',
      '{"message":{"activationId":"x"}}',
      "[]",
    ]
  ) {
    assertThrows(() => decodeFetchResult(text), MalformedFieldError);
  }
});
