import { assertEquals, assertStringIncludes } from "@std/assert";
import { markdown, type Report } from "./report.ts";
import { summarize } from "./stats.ts";

const latency = (ms: number) => summarize([ms]);

function report(sections: Report["sections"], errors: Report["errors"] = {}): Report {
  return { date: "2026-01-01", host: "h", cpus: 2, deno: "2.9.6", sections, errors };
}

function verdictOf(text: string, target: string): string {
  const line = text.split("\n").find((l) => l.startsWith(`| ${target}`)) ?? "";
  return line.split("|").at(-2)?.trim() ?? "";
}

Deno.test("markdown() states each target met, missed or not measured", () => {
  const text = markdown(report({
    containers: {
      directRun: latency(0.5),
      warm: latency(2),
      overhead: { p50Ms: 1.5, p99Ms: 12 },
      coldStart: latency(300),
      sustained: { clients: 16, actions: 8, completed: 100, errors: 0, activationsPerSecond: 200 },
    },
    failover: {
      rounds: [],
      leaseTtlMs: 3_000,
      failoverP50Ms: 3_100,
      failoverMaxMs: 6_100,
      redeliveredPerFailover: 10,
      duplicatesPerFailover: 1,
      lost: 0,
    },
  }));
  assertEquals(verdictOf(text, "warm overhead p50"), "**met**");
  assertEquals(verdictOf(text, "warm overhead p99"), "**missed**");
  assertEquals(verdictOf(text, "≥ 5,000 warm"), "**missed**");
  assertEquals(verdictOf(text, "≥ 10,000 queues"), "not measured");
  assertEquals(verdictOf(text, "failover"), "**missed**");
  assertEquals(verdictOf(text, "0 activations lost"), "**met**");
});

Deno.test("markdown() names the sections that failed", () => {
  const text = markdown(report({}, { burst: "burst_main.ts ended by signal SIGABRT" }));
  assertStringIncludes(text, "- burst: burst_main.ts ended by signal SIGABRT");
  assertEquals(verdictOf(text, "0 activations lost"), "not measured");
});
