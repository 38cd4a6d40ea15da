/**
 * `deno task bench`: the performance targets of the design, measured on real
 * etcd and Kafka on this machine, each next to a baseline measured in the
 * same run. Writes `bench/reports/bench.{md,json}` and `latency.svg`.
 *
 * Sections (all by default; `--only a,b` runs some):
 * - `pull`: gRPC echo and Kafka produce→consume baselines; FetchActivation
 *   round trip, pull throughput and Kafka → scheduler → container.
 * - `containers`: direct `/run` baseline; warm overhead, sustained warm
 *   throughput and cold starts through controller, scheduler and invoker.
 * - `hops`: where a warm invoke's time goes, from OpenTelemetry traces.
 * - `burst`: 10,000 activations over 100 actions.
 * - `queues`: queues per scheduler and memory per idle queue.
 * - `failover`: SIGKILL of the busiest of 3 schedulers under load.
 * - `replay`: an Azure-Functions-style trace, fixed vs adaptive keep-alive.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { BurstResult } from "./burst.ts";
import { containerBenchmarks } from "./containers.ts";
import { failovers } from "./failover.ts";
import { hopBreakdown } from "./hops.ts";
import { latencyCdfSvg } from "./plot.ts";
import { pullPath } from "./pull_path.ts";
import { queueCapacityBenchmark } from "./queues.ts";
import { markdown, type Report, type SectionName, SECTIONS } from "./report.ts";
import { progress } from "./stats.ts";
import { traceReplayBenchmark } from "./trace_replay.ts";

const env = Deno.env.toObject();
const etcdEndpoints = (env.FAAS_ETCD_ENDPOINTS ?? "http://127.0.0.1:23790").split(",");
const kafkaBrokers = (env.FAAS_KAFKA_BROKERS ?? "127.0.0.1:29092").split(",");

async function main(): Promise<void> {
  const { values } = parseArgs({ args: Deno.args, options: { only: { type: "string" } } });
  const only = new Set(values.only?.split(",") ?? SECTIONS);
  const unknown = [...only].filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    progress(`Unknown section(s) ${unknown.join(", ")}; choose from ${SECTIONS.join(", ")}`);
    Deno.exit(2);
  }
  const started = performance.now();
  const report: Report = {
    date: new Date().toISOString(),
    host: Deno.hostname(),
    cpus: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    sections: {},
    errors: {},
  };
  const plot: { name: string; samplesMs: readonly number[] }[] = [];
  const section = async <K extends SectionName>(
    name: K,
    run: () => Promise<Report["sections"][K]>,
  ) => {
    if (!only.has(name)) return;
    const t = performance.now();
    progress(`── ${name} ──`);
    try {
      report.sections[name] = await run();
    } catch (error) {
      // One broken section must not cost the others' numbers.
      report.errors[name] = error instanceof Error ? error.message : String(error);
      progress(`${name} failed: ${report.errors[name]}`);
    }
    progress(`${name} took ${Math.round((performance.now() - t) / 1000)} s`);
  };

  await section("pull", async () => {
    const result = await pullPath({ etcdEndpoints, kafkaBrokers });
    plot.push(
      { name: "baseline: gRPC echo", samplesMs: result.samples.echo },
      { name: "baseline: Kafka produce→consume", samplesMs: result.samples.kafka },
      { name: "FetchActivation (backlog)", samplesMs: result.samples.fetch },
      { name: "Kafka → scheduler → container", samplesMs: result.samples.endToEnd },
    );
    return withoutSamples(result);
  });
  await section("containers", async () => {
    const result = await containerBenchmarks({ etcdEndpoints, kafkaBrokers });
    plot.push(
      { name: "baseline: direct /run", samplesMs: result.samples.directRun },
      { name: "warm invoke (REST → result)", samplesMs: result.samples.warm },
    );
    return withoutSamples(result);
  });
  await section("hops", () => hopBreakdown({ etcdEndpoints, kafkaBrokers }));
  // Its own process: a burst can push this machine hard enough to crash the
  // system under test, and that must not take the other sections' numbers.
  await section("burst", () => inChild<BurstResult>("./burst_main.ts"));
  await section(
    "queues",
    () => queueCapacityBenchmark({ etcdEndpoints, kafkaBrokers, counts: [1_000, 10_000] }),
  );
  await section("failover", () => failovers(3));
  await section(
    "replay",
    () => traceReplayBenchmark({ etcdEndpoints, kafkaBrokers, rounds: 1 }),
  );
  report.totalSeconds = Math.round((performance.now() - started) / 1000);
  await writeReport(report, plot);
}

/** Runs a section's standalone runner and parses the JSON it prints. */
async function inChild<T>(script: string): Promise<T> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, import.meta.url).pathname],
    env: { LOG_LEVEL: "ERROR" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) {
    const how = output.signal ? `signal ${output.signal}` : `exit code ${output.code}`;
    throw new Error(`${script} ended by ${how}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout)) as T;
}

function withoutSamples<T extends { samples: unknown }>(result: T): Omit<T, "samples"> {
  const { samples: _, ...rest } = result;
  return rest;
}

async function writeReport(
  report: Report,
  plot: readonly { name: string; samplesMs: readonly number[] }[],
): Promise<void> {
  const dir = new URL("./reports/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  const text = markdown(report, plot.length > 0 ? "latency.svg" : undefined);
  await Deno.writeTextFile(new URL("bench.json", dir), JSON.stringify(report, null, 2) + "\n");
  await Deno.writeTextFile(new URL("bench.md", dir), text);
  if (plot.length > 0) {
    const svg = latencyCdfSvg(plot, { title: "Latency CDF (this run)" });
    await Deno.writeTextFile(new URL("latency.svg", dir), svg);
  }
  await Deno.stdout.write(new TextEncoder().encode(text));
  progress(`report written to ${new URL("bench.md", dir).pathname} in ${report.totalSeconds} s`);
}

if (import.meta.main) await main();
