import { assertEquals, assertThrows } from "@std/assert";
import type { ActionDoc } from "@faas/proto";
import { MalformedRequestError } from "../errors.ts";
import { ActionPutBody, toActionInput } from "./action_body.ts";

const target = { namespace: "guest", name: "hello" };
const body = (value: unknown) => ActionPutBody.parse(value);

Deno.test("toActionInput() resolves default kinds and adds the exec annotation", () => {
  const input = toActionInput(
    target,
    body({ exec: { kind: "nodejs:default", code: "x" }, annotations: [{ key: "a", value: 1 }] }),
    undefined,
  );
  assertEquals(input.exec, { kind: "nodejs:20", code: "x", binary: false });
  assertEquals(input.version, "0.0.1");
  assertEquals(input.annotations, [{ key: "a", value: 1 }, { key: "exec", value: "nodejs:20" }]);
  assertEquals(input.limits, { timeout: 60_000, memory: 256, logs: 10, concurrency: 1 });
  const deno = toActionInput(
    target,
    body({ exec: { kind: "deno:default", code: "x" } }),
    undefined,
  );
  assertEquals(deno.exec.kind, "deno:2");
});

Deno.test("toActionInput() takes blackbox images and recognizes zipped code", () => {
  const blackbox = toActionInput(
    target,
    body({ exec: { kind: "blackbox", image: "me/img:1" } }),
    undefined,
  );
  assertEquals(blackbox.exec, { kind: "blackbox", image: "me/img:1", binary: false });
  const zip = toActionInput(
    target,
    body({ exec: { kind: "nodejs:20", code: "UEsDBAo=" } }),
    undefined,
  );
  assertEquals(zip.exec.binary, true);
});

Deno.test("toActionInput() refuses what cannot run", () => {
  const refuse = (value: unknown, message: string) =>
    assertThrows(
      () => toActionInput(target, body(value), undefined),
      MalformedRequestError,
      message,
    );
  refuse({}, `"exec" is required`);
  refuse({ exec: { kind: "python:3", code: "x" } }, `unknown kind "python:3"`);
  refuse({ exec: { kind: "constructor:1", code: "x" } }, "unknown kind");
  refuse({ exec: { kind: "nodejs", code: "x" } }, "unknown kind");
  refuse({ exec: { kind: "nodejs:20" } }, `"exec.code" is required`);
  refuse({ exec: { kind: "nodejs:20", code: "x", image: "i" } }, `"exec.image" is only allowed`);
  refuse({ exec: { kind: "blackbox" } }, `"exec.image" is required`);
  refuse({ exec: { kind: "deno:2", code: "x" }, limits: { timeout: 10 } }, `"limits.timeout"`);
});

Deno.test("toActionInput() keeps what an update leaves out and bumps the version", () => {
  const previous: ActionDoc = {
    ...toActionInput(
      target,
      body({
        exec: { kind: "deno:2", code: "old" },
        parameters: [{ key: "p", value: 1 }],
        limits: { timeout: 1_000, memory: 512 },
      }),
      undefined,
    ),
    version: "1.2.9",
    rev: "3-abc",
    updated: 1,
  };
  const next = toActionInput(target, body({ limits: { memory: 128 } }), previous);
  assertEquals(next.exec, previous.exec);
  assertEquals(next.parameters, [{ key: "p", value: 1 }]);
  assertEquals(next.limits, { timeout: 1_000, memory: 128, logs: 10, concurrency: 1 });
  assertEquals(next.version, "1.2.10");
  assertEquals(toActionInput(target, body({ version: "2.0.0" }), previous).version, "2.0.0");
});

Deno.test("ActionPutBody refuses unknown fields and wrong types", () => {
  for (
    const value of [
      { exec: { kind: "deno:2", code: "x", codez: 1 } },
      { parameters: { a: 1 } },
      { limits: { cpu: 1 } },
      { version: "one" },
      { publish: "yes" },
    ]
  ) {
    assertEquals(ActionPutBody.safeParse(value).success, false, JSON.stringify(value));
  }
});
