import { assert, assertEquals } from "@std/assert";
import { ACTIVATION_SENTINEL, LogCollector } from "./log_collector.ts";

function texts(lines: readonly { stream: string; text: string }[]): string[] {
  return lines.map((l) => `${l.stream}:${l.text}`);
}

Deno.test("LogCollector.next() pairs the segments of both streams at their sentinels", async () => {
  let t = 0;
  const collector = new LogCollector({ now: () => ++t });
  collector.push("stdout", "a1");
  collector.push("stderr", "e1");
  collector.push("stdout", ACTIVATION_SENTINEL);
  collector.push("stdout", "a2"); // the next activation's, printed before stderr's sentinel
  collector.push("stderr", ACTIVATION_SENTINEL);
  collector.push("stdout", ACTIVATION_SENTINEL);
  collector.push("stderr", ACTIVATION_SENTINEL);
  const first = await collector.next();
  assertEquals(texts(first.lines), ["stdout:a1", "stderr:e1"]);
  assertEquals(first.complete, true);
  assertEquals(texts((await collector.next()).lines), ["stdout:a2"]);
});

Deno.test("LogCollector.next() waits for the sentinels and gives what it has when aborted", async () => {
  const collector = new LogCollector();
  const pending = collector.next();
  collector.push("stdout", "late");
  collector.push("stdout", ACTIVATION_SENTINEL);
  collector.push("stderr", ACTIVATION_SENTINEL);
  assertEquals(texts((await pending).lines), ["stdout:late"]);

  collector.push("stderr", "no sentinel");
  const partial = await collector.next({ signal: AbortSignal.timeout(20) });
  assertEquals(partial.complete, false);
  assertEquals(texts(partial.lines), ["stderr:no sentinel"]);
});

Deno.test("LogCollector.push() drops lines beyond the limit and marks the segment truncated", async () => {
  const collector = new LogCollector({ limitBytes: 11 }); // each line counts its newline;
  for (const text of ["12345", "6789", "overflow"]) collector.push("stdout", text);
  collector.push("stdout", ACTIVATION_SENTINEL);
  collector.push("stderr", ACTIVATION_SENTINEL);
  const logs = await collector.next();
  assertEquals(texts(logs.lines), ["stdout:12345", "stdout:6789"]);
  assert(logs.truncated);
  collector.push("stdout", "fresh");
  collector.end("stdout");
  collector.end("stderr");
  assertEquals((await collector.next()).truncated, false);
});

Deno.test("LogCollector.pump() splits chunks into lines, cuts long lines and ends the stream", async () => {
  const collector = new LogCollector({ maxLineLength: 4 });
  const encoder = new TextEncoder();
  const chunks = ["ab", "c\r\nabcdefghij\n", `${ACTIVATION_SENTINEL}\n`, "tail"];
  const readable = ReadableStream.from(chunks.map((c) => encoder.encode(c)));
  await collector.pump("stdout", readable);
  collector.push("stderr", ACTIVATION_SENTINEL);
  assertEquals(texts((await collector.next()).lines), [
    "stdout:abc",
    "stdout:abcd",
    "stdout:efgh",
    "stdout:ij",
  ]);
  collector.end("stderr");
  const rest = await collector.next();
  assertEquals(texts(rest.lines), ["stdout:tail"]);
  assertEquals(rest.complete, false);
});
