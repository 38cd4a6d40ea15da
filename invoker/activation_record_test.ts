import { assertEquals, assertMatch } from "@std/assert";
import { activationFixture } from "@faas/proto/testing";
import type { ProtocolResult } from "./action_client.ts";
import {
  activationRecord,
  explainCrash,
  formatLogs,
  interpretInit,
  interpretRun,
  MEMORY_EXHAUSTED,
  timeoutMessage,
} from "./activation_record.ts";
import { actionFixture } from "./_testing.ts";

const response = (status: number, body: unknown): ProtocolResult => ({
  kind: "response",
  status,
  body: typeof body === "string" ? body : JSON.stringify(body),
});

const runCases: {
  name: string;
  outcome: ProtocolResult;
  status: number;
  result: unknown;
  usable: boolean;
}[] = [
  {
    name: "an object is a success",
    outcome: response(200, { a: 1 }),
    status: 0,
    result: { a: 1 },
    usable: true,
  },
  {
    name: "an array is a success",
    outcome: response(200, [1]),
    status: 0,
    result: [1],
    usable: true,
  },
  {
    name: "error with 200 is an application error",
    outcome: response(200, { error: "x" }),
    status: 1,
    result: { error: "x" },
    usable: true,
  },
  {
    name: "error with 502 is a developer error",
    outcome: response(502, { error: "y" }),
    status: 2,
    result: { error: "y" },
    usable: true,
  },
  {
    name: "a non-JSON answer is a developer error",
    outcome: response(200, "oops"),
    status: 2,
    result: { error: "The action did not produce a valid JSON response: oops" },
    usable: true,
  },
  {
    name: "a timeout is a developer error",
    outcome: { kind: "timeout" },
    status: 2,
    result: { error: timeoutMessage(500) },
    usable: false,
  },
  {
    name: "an unreachable container is a whisk error",
    outcome: { kind: "unreachable", message: "refused" },
    status: 3,
    result: { error: "The action's container cannot be reached." },
    usable: false,
  },
  {
    name: "a broken connection is a developer error",
    outcome: { kind: "broken", message: "reset" },
    status: 2,
    result: { error: "The action did not produce a valid response and exited unexpectedly." },
    usable: false,
  },
];

for (const c of runCases) {
  Deno.test(`interpretRun() ${c.name}`, () => {
    const verdict = interpretRun(c.outcome, 500);
    assertEquals(
      [verdict.statusCode, verdict.result, verdict.containerUsable],
      [c.status, c.result, c.usable],
    );
  });
}

Deno.test("interpretRun() refuses a response beyond the size limit", () => {
  const verdict = interpretRun(
    { ...response(200, {}), truncated: { bytes: 20, limit: 10 } } as ProtocolResult,
    500,
  );
  assertEquals(verdict.statusCode, 2);
  assertMatch(String((verdict.result as { error: string }).error), /20 bytes.*10 bytes/);
});

Deno.test("interpretInit() accepts 2xx and makes anything else a failure that removes the container", () => {
  assertEquals(interpretInit(response(200, { ok: true }), 500), undefined);
  const failed = interpretInit(response(502, { error: "syntax" }), 500);
  assertEquals([failed?.statusCode, failed?.result, failed?.containerUsable], [2, {
    error: "syntax",
  }, false]);
  const slow = interpretInit({ kind: "timeout" }, 500);
  assertEquals(slow?.result, {
    error: "The action exceeded its time limits of 500 milliseconds during initialization.",
  });
  assertEquals(slow?.timedOut, true);
  assertEquals(interpretInit({ kind: "unreachable", message: "" }, 500)?.statusCode, 3);
});

Deno.test("timeoutMessage() says what OpenWhisk says", () => {
  assertEquals(timeoutMessage(60000), "The action exceeded its time limits of 60000 milliseconds.");
});

Deno.test("activationRecord() fills in times, status, logs and annotations", () => {
  const action = actionFixture({ timeoutMs: 3_000 });
  const message = activationFixture({ acceptedAt: 1_000 });
  const record = activationRecord({
    message,
    action,
    response: interpretRun(response(200, { ok: true }), 3_000),
    startMs: 1_250,
    endMs: 1_300,
    initMs: 20,
    logs: ["line"],
  });
  assertEquals(record.activationId, message.activationId);
  assertEquals([record.start, record.end, record.duration], [1_250, 1_300, 50]);
  assertEquals(record.response, { statusCode: 0, result: { ok: true } });
  assertEquals(record.logs, ["line"]);
  assertEquals(Object.fromEntries(record.annotations.map((a) => [a.key, a.value])), {
    limits: action.limits,
    path: "guest/hello",
    kind: "nodejs:20",
    timeout: false,
    waitTime: 250,
    initTime: 20,
  });
  const warm = activationRecord({
    message,
    action,
    response: interpretRun({ kind: "timeout" }, 3_000),
    startMs: 2_000,
    endMs: 5_000,
    logs: [],
  });
  assertEquals(warm.annotations.some((a) => a.key === "initTime"), false);
  assertEquals(warm.annotations.find((a) => a.key === "timeout")?.value, true);
});

Deno.test("formatLogs() writes OpenWhisk log lines and notes what is missing", () => {
  const lines = formatLogs({
    lines: [{ time: Date.UTC(2024, 0, 1), stream: "stdout", text: "hi" }],
    complete: false,
    truncated: true,
  }, 1024);
  assertEquals(lines[0], "2024-01-01T00:00:00.000Z stdout: hi");
  assertMatch(lines[1]!, /stderr: Logs were truncated: they exceeded the limit of 1024 bytes\.$/);
  assertMatch(lines[2]!, /stderr: Logs may be incomplete/);
});

Deno.test("explainCrash() turns a crash with an out-of-memory message into memory exhaustion", () => {
  const crash = interpretRun({ kind: "broken", message: "reset" }, 500);
  const line = (text: string) => ({ time: 0, stream: "stderr" as const, text });
  const oom = {
    lines: [line("Fatal JavaScript out of memory: heap")],
    complete: false,
    truncated: false,
  };
  assertEquals(explainCrash(crash, oom).result, { error: MEMORY_EXHAUSTED });
  const other = { lines: [line("segfault")], complete: false, truncated: false };
  assertEquals(explainCrash(crash, other), crash);
  const fine = interpretRun(response(200, { ok: 1 }), 500);
  assertEquals(explainCrash(fine, oom), fine);
});
