import { assertEquals, assertRejects } from "@std/assert";
import { z } from "zod";
import { MalformedRequestError, PayloadTooLargeError } from "../errors.ts";
import { MAX_NESTING, readBodyBytes, readJsonBody } from "./request_body.ts";

const Schema = z.strictObject({ name: z.string(), count: z.number().int().optional() });

function put(body: BodyInit | null, headers: Record<string, string> = {}): Request {
  return new Request("http://localhost/x", { method: "PUT", body, headers });
}

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

Deno.test("readJsonBody() parses and validates a JSON body", async () => {
  const value = await readJsonBody(put(`{"name":"a","count":2}`), Schema, { maxBytes: 100 });
  assertEquals(value, { name: "a", count: 2 });
});

Deno.test("readJsonBody() uses emptyAs for an empty body, else refuses it", async () => {
  assertEquals(
    await readJsonBody(put(null), Schema, { maxBytes: 100, emptyAs: { name: "none" } }),
    { name: "none" },
  );
  await assertRejects(
    () => readJsonBody(put("  "), Schema, { maxBytes: 100 }),
    MalformedRequestError,
    "the body is empty",
  );
});

Deno.test("readJsonBody() names what is malformed", async () => {
  const cases: [BodyInit, string][] = [
    ["{nope", "not valid JSON"],
    [new Uint8Array([0x7b, 0xff, 0x7d]), "not valid UTF-8"],
    [`{"name":1}`, `"name"`],
    [`{"name":"a","extra":true}`, `"extra"`],
    [`{"name":"a","count":1.5}`, `"count"`],
    [`[]`, "expected object"],
  ];
  for (const [body, message] of cases) {
    await assertRejects(
      () => readJsonBody(put(body), Schema, { maxBytes: 100 }),
      MalformedRequestError,
      message,
    );
  }
});

Deno.test("readBodyBytes() refuses a declared size over the limit before reading", async () => {
  const body = streamOf("x".repeat(10));
  const error = await assertRejects(
    () => readBodyBytes(put(body, { "content-length": "500" }), 100),
    PayloadTooLargeError,
  );
  assertEquals([error.sizeBytes, error.limitBytes], [500, 100]);
});

Deno.test("readBodyBytes() stops reading a stream once it passes the limit", async () => {
  const error = await assertRejects(
    () => readBodyBytes(put(streamOf("x".repeat(60), "y".repeat(60), "z".repeat(60))), 100),
    PayloadTooLargeError,
  );
  assertEquals(error.sizeBytes, 120);
  assertEquals((await readBodyBytes(put("x".repeat(100)), 100)).byteLength, 100);
});

Deno.test("readJsonBody() refuses bodies nested deeper than MAX_NESTING with a clear error", async () => {
  const deep = '{"a":'.repeat(MAX_NESTING + 1) + "1" + "}".repeat(MAX_NESTING + 1);
  const request = new Request("http://x/", { method: "POST", body: deep });
  await assertRejects(
    () => readJsonBody(request, z.unknown(), { maxBytes: 1_048_576 }),
    MalformedRequestError,
    "nests deeper",
  );
  const fine = '{"a":'.repeat(10) + '"}{"' + "}".repeat(10);
  const ok = await readJsonBody(
    new Request("http://x/", { method: "POST", body: fine }),
    z.unknown(),
    {
      maxBytes: 1_048_576,
    },
  );
  assertEquals(typeof ok, "object");
});
