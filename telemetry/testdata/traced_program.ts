// Exercises the tracing helpers in a program started with OTEL_DENO=true.
import { currentTraceContext, inSpan, recordSpan } from "../mod.ts";

let carried: Record<string, string> | undefined;
await inSpan("outer", { kind: "producer", attributes: { "faas.activation_id": "a1" } }, () => {
  carried = { ...currentTraceContext() };
  return Promise.resolve();
});
const now = Date.now();
recordSpan("carried", { parent: carried!, kind: "consumer", startMs: now - 50, endMs: now });
await inSpan("failing", {}, () => Promise.reject(new Error("boom"))).catch(() => {});
