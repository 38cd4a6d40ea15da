/**
 * Where the time of a warm blocking invoke goes, hop by hop: the system runs
 * in its own process with OpenTelemetry on, and each activation's trace
 * (controller request → publish → scheduler receive → dispatch → invoker run
 * → `/run` → completion → response) is cut into the intervals between its
 * spans. Tracing adds its own small cost, so the total here is a little above
 * the untraced warm latency measured elsewhere in the same run.
 *
 * @module
 */
import { type CollectedSpan, TraceCollector } from "@faas/telemetry/testing";
import { type LatencySummary, progress, summarize } from "./stats.ts";
import { GUEST_HEADERS } from "./_system.ts";

/** The intervals of one activation's trace, in the order they happen. */
export const HOPS = [
  ["controller: request → publish (auth, body, catalog, routing)", "request", "publish"],
  ["Kafka produce (controller → broker ack)", "publish", "publishEnd"],
  ["Kafka delivery to the scheduler", "publishEnd", "receive"],
  ["scheduler: queue → hand-off to a waiting container", "receive", "dispatch"],
  ["gRPC answer → invoker starts the run", "dispatch", "run"],
  ["invoker: run → /run request", "run", "action"],
  ["action container /run (the baseline's work)", "action", "actionEnd"],
  ["invoker: logs and record after /run", "actionEnd", "complete"],
  ["Kafka produce (invoker → broker ack)", "complete", "completeEnd"],
  ["Kafka delivery to the controller → response", "completeEnd", "requestEnd"],
] as const;

type Mark = (typeof HOPS)[number][1 | 2];

/** Options for {@linkcode hopBreakdown}. */
export interface HopOptions {
  readonly etcdEndpoints: readonly string[];
  readonly kafkaBrokers: readonly string[];
  /** Timed invokes after 30 warm-up ones. @default {200} */
  readonly invocations?: number;
}

/** One hop's latency over the sampled activations. */
export interface Hop {
  readonly hop: string;
  readonly latency: LatencySummary;
}

/** Runs warm blocking invokes against a traced system and summarizes each hop. */
export async function hopBreakdown(options: HopOptions) {
  const invocations = options.invocations ?? 200;
  await using collector = new TraceCollector();
  const cluster = `benchh${Date.now() % 1_000_000}`;
  await using system = await startTracedSystem(cluster, options, collector);
  const api = `${system.url}/api/v1/namespaces/_`;
  const put = await fetch(`${api}/actions/echo`, {
    method: "PUT",
    headers: GUEST_HEADERS,
    body: JSON.stringify({ exec: { kind: "nodejs:20", code: "function main(p) { return p; }" } }),
  });
  if (!put.ok) throw new Error(`Cannot create the action: ${put.status} ${await put.text()}`);
  await put.body?.cancel();
  progress(`hops: ${invocations} traced warm invokes`);
  const ids: string[] = [];
  for (let i = 0; i < 30 + invocations; i++) {
    const r = await fetch(`${api}/actions/echo?blocking=true`, {
      method: "POST",
      headers: GUEST_HEADERS,
      body: "{}",
    });
    const record = await r.json();
    if (i >= 30) ids.push(record.activationId);
  }
  const traces = await waitForTraces(collector, ids);
  const hops: Hop[] = HOPS.map(([hop, from, to]) => ({
    hop,
    latency: summarize(traces.map((marks) => marks[to] - marks[from])),
  }));
  const total = summarize(traces.map((marks) => marks.requestEnd - marks.request));
  return { traces: traces.length, total, hops };
}

async function startTracedSystem(cluster: string, options: HopOptions, collector: TraceCollector) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_traced_system.ts", import.meta.url).pathname],
    env: {
      ...collector.env("faas"),
      FAAS_CLUSTER: cluster,
      FAAS_KAFKA_TOPIC_PREFIX: `${cluster}-`,
      FAAS_ETCD_ENDPOINTS: options.etcdEndpoints.join(","),
      FAAS_KAFKA_BROKERS: options.kafkaBrokers.join(","),
      CONTAINER_IDLE_MS: "60000",
      CONTROLLER_ACTIVATION_RETENTION_SECONDS: "600",
    },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let url = "";
  while (!url.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The traced system exited before serving");
    url += value;
  }
  reader.releaseLock();
  void child.stdout.cancel().catch(() => {});
  return {
    url: url.trim(),
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Collects the marks of every sampled activation whose trace is complete. */
async function waitForTraces(
  collector: TraceCollector,
  ids: readonly string[],
): Promise<Record<Mark, number>[]> {
  const deadline = Date.now() + 20_000;
  let marks: Record<Mark, number>[] = [];
  while (Date.now() < deadline) {
    marks = ids.flatMap((id) => {
      const m = marksOf(collector.spans, id);
      return m ? [m] : [];
    });
    if (marks.length === ids.length) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (marks.length < ids.length / 2) {
    throw new Error(`Only ${marks.length} of ${ids.length} traces arrived`);
  }
  return marks;
}

function marksOf(spans: readonly CollectedSpan[], id: string): Record<Mark, number> | undefined {
  const own = spans.filter((span) => span.attributes["faas.activation_id"] === id);
  const named = (name: string) => own.find((span) => span.name === name);
  const publish = named("activation.publish");
  const receive = named("activation.receive");
  const dispatch = named("activation.dispatch");
  const run = named("activation.run");
  if (!publish || !receive || !dispatch || !run) return undefined;
  const request = spans.find((span) => span.spanId === publish.parentSpanId);
  const children = spans.filter((span) => span.parentSpanId === run.spanId);
  const complete = children.find((span) => span.name === "activation.complete");
  const action = children.find((span) => span !== complete);
  if (!request || !complete || !action) return undefined;
  return {
    request: request.startMs,
    publish: publish.startMs,
    publishEnd: publish.endMs,
    receive: receive.startMs,
    dispatch: dispatch.startMs,
    run: run.startMs,
    action: action.startMs,
    actionEnd: action.endMs,
    complete: complete.startMs,
    completeEnd: complete.endMs,
    requestEnd: request.endMs,
  };
}

if (import.meta.main) {
  const env = Deno.env.toObject();
  const result = await hopBreakdown({
    etcdEndpoints: (env.FAAS_ETCD_ENDPOINTS ?? "http://127.0.0.1:23790").split(","),
    kafkaBrokers: (env.FAAS_KAFKA_BROKERS ?? "127.0.0.1:29092").split(","),
  });
  progress(`total p50 ${result.total.p50Ms} ms over ${result.traces} traces`);
  for (const { hop, latency } of result.hops) {
    progress(`${latency.p50Ms.toFixed(3).padStart(8)} ms p50  ${hop}`);
  }
}
