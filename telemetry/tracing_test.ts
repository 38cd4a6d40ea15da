import { assert, assertEquals } from "@std/assert";
import { currentTraceContext, inSpan } from "./mod.ts";
import { TraceCollector } from "./testing_collector.ts";

Deno.test("Without OTEL_DENO, spans are no-ops and no trace context is carried", async () => {
  const result = await inSpan("work", {}, () => {
    return Promise.resolve(currentTraceContext());
  });
  assertEquals(result, undefined);
});

Deno.test("A traced program exports spans whose carried context continues the trace", async () => {
  await using collector = new TraceCollector();
  const program = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./testdata/traced_program.ts", import.meta.url).pathname],
    env: collector.env("traced-test"),
    stdout: "null",
    stderr: "piped",
  });
  const output = await program.output();
  assertEquals(output.code, 0, new TextDecoder().decode(output.stderr));
  const deadline = Date.now() + 5_000;
  while (collector.spans.length < 3 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const byName = new Map(collector.spans.map((span) => [span.name, span]));
  const outer = byName.get("outer")!;
  const carried = byName.get("carried")!;
  assertEquals(outer.service, "traced-test");
  assertEquals(outer.attributes["faas.activation_id"], "a1");
  assertEquals(carried.traceId, outer.traceId, "the carried context continues the trace");
  assertEquals(carried.parentSpanId, outer.spanId);
  const durationMs = carried.endMs - carried.startMs;
  assert(durationMs > 40 && durationMs < 60, `recorded span lasted ${durationMs} ms`);
  assert(Math.abs(carried.endMs - Date.now()) < 10_000, "recorded in epoch milliseconds");
  assertEquals(byName.get("failing")?.error, "boom");
});
