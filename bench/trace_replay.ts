/**
 * Trace replay: a seeded Azure-Functions-style trace (see
 * `trace/azure_trace.ts`) replayed against the whole system (controller,
 * scheduler, invoker with process containers) on real etcd and Kafka, once per
 * keep-alive policy, each on a fresh system in the same run. It reports what a
 * keep-alive policy trades: cold starts against idle (wasted) container time.
 *
 * Time runs at {@linkcode SPEEDUP}× — one trace minute per second — and
 * everything with a duration is scaled by the same factor: the actions sleep
 * their drawn run time / 60, and keep-alive times are the product's in trace
 * time / 60. One container-second of wall time is therefore one trace
 * container-minute.
 *
 * @module
 */
import { sleep } from "@faas/async";
import { parseSamples, sampleSum } from "@faas/metrics";
import { benchSystem, GUEST_HEADERS } from "./_system.ts";
import { type LatencySummary, progress, round, summarize } from "./stats.ts";
import { type Arrival, traceArrivals } from "./trace/arrivals.ts";
import { generateTrace, summarizeTrace, type TraceSummary } from "./trace/azure_trace.ts";
import { seededRandom } from "./trace/random.ts";

/** Trace time per wall time. */
export const SPEEDUP = 60;

const SLEEPER =
  "function main(p) { return new Promise((r) => setTimeout(() => r({ ok: true }), p.sleepMs)); }";

// Sized for a 2-core machine: about 2 000 invocations and a few containers busy
// at once on average; the caps trim the generator's extreme tail only.
const TRACE = { functions: 36, minutes: 25, maxRatePerMinute: 30, maxAverageMs: 60_000 } as const;
const DEFAULT_SEED = 16;

/** The keep-alive settings compared, in trace ms (scaled down when applied). */
const POLICIES = {
  // The common fixed keep-alive of serverless platforms: 10 minutes.
  fixed: { INVOKER_KEEP_ALIVE_POLICY: "fixed" },
  // The product's adaptive defaults: 1 minute to 1 hour, p99 + 10 %, after 10 gaps.
  adaptive: {
    INVOKER_KEEP_ALIVE_POLICY: "adaptive",
    INVOKER_KEEP_ALIVE_MIN_MS: 60_000,
    INVOKER_KEEP_ALIVE_MAX_MS: 3_600_000,
    INVOKER_KEEP_ALIVE_MIN_SAMPLES: 10,
    INVOKER_KEEP_ALIVE_MARGIN_PERCENT: 10,
  },
} as const;
const FIXED_KEEP_ALIVE_MS = 600_000;
// Fixed, adaptive, adaptive, fixed: a load that drifts during the run (the
// machine may be shared) weighs on both policies alike.
const ORDER = ["fixed", "adaptive", "adaptive", "fixed"] as const;

/** What one policy's replay measured. */
export interface PolicyResult {
  readonly policy: keyof typeof POLICIES;
  /** The settings the invoker ran with (wall ms). */
  readonly settings: Readonly<Record<string, string>>;
  readonly invocations: number;
  /** Invocations with a successful record. */
  readonly succeeded: number;
  /** Records with an error status, by status code (1 application, 2 developer, 3 system error). */
  readonly failedByStatus: Readonly<Record<string, number>>;
  /** Invokes the controller did not accept (202), by status or `network`. */
  readonly refusedByStatus: Readonly<Record<string, number>>;
  /** Accepted invokes whose record never arrived. */
  readonly missing: number;
  /** Records whose annotations carry `initTime`: the container was started for them. */
  readonly coldStarts: number;
  readonly coldStartRatio: number;
  /** Container time without an activation, from the start to the trace's end (wall s = trace min). */
  readonly idleContainerSeconds: number;
  /** Container time running activations, over the same window. */
  readonly busyContainerSeconds: number;
  /** Idle share of all container time. */
  readonly wastedShare: number;
  readonly containersCreated: number;
  /** Invoke request sent → activation end, wall ms. */
  readonly latency: LatencySummary;
  /** The same minus the action's own sleep: queueing, transport and cold starts. */
  readonly overhead: LatencySummary;
  /** Wall time of this policy's run, including set-up and draining. */
  readonly runMs: number;
}

interface Run {
  readonly result: PolicyResult;
  readonly latencies: readonly number[];
  readonly overheads: readonly number[];
}

/** Means per replay of a policy's runs; latencies over all their activations. */
function combine(runs: readonly Run[]): PolicyResult {
  const mean = (get: (r: PolicyResult) => number) =>
    round(runs.reduce((sum, r) => sum + get(r.result), 0) / runs.length);
  const meanBy = (get: (r: PolicyResult) => Readonly<Record<string, number>>) => {
    const means: Record<string, number> = {};
    for (const { result } of runs) {
      for (const [status, n] of Object.entries(get(result))) {
        means[status] = (means[status] ?? 0) + n / runs.length;
      }
    }
    return means;
  };
  const idle = mean((r) => r.idleContainerSeconds);
  const busy = mean((r) => r.busyContainerSeconds);
  const first = runs[0]!.result;
  return {
    policy: first.policy,
    settings: first.settings,
    invocations: mean((r) => r.invocations),
    succeeded: mean((r) => r.succeeded),
    failedByStatus: meanBy((r) => r.failedByStatus),
    refusedByStatus: meanBy((r) => r.refusedByStatus),
    missing: mean((r) => r.missing),
    coldStarts: mean((r) => r.coldStarts),
    coldStartRatio: round(
      mean((r) => r.coldStarts) /
        mean((r) => r.succeeded + Object.values(r.failedByStatus).reduce((a, b) => a + b, 0)),
    ),
    idleContainerSeconds: idle,
    busyContainerSeconds: busy,
    wastedShare: round(idle / Math.max(1e-9, idle + busy)),
    containersCreated: mean((r) => r.containersCreated),
    latency: summarize(runs.flatMap((r) => r.latencies)),
    overhead: summarize(runs.flatMap((r) => r.overheads)),
    runMs: mean((r) => r.runMs),
  };
}

/** The replay's result. */
export interface TraceReplayResult {
  readonly seed: number;
  readonly speedup: number;
  readonly note: string;
  readonly trace: TraceSummary & {
    readonly minutes: number;
    readonly activeMeanContainers: number;
  };
  readonly fixed: PolicyResult;
  readonly adaptive: PolicyResult;
  /** Every replay, in order. */
  readonly runs: readonly PolicyResult[];
  readonly replayMs: number;
}

/** Replays a generated trace once per keep-alive policy, each on a fresh system. */
export async function traceReplayBenchmark(options: {
  etcdEndpoints: readonly string[];
  kafkaBrokers: readonly string[];
  seed?: number;
  /** Replays per policy: 2 alternates them as fixed, adaptive, adaptive, fixed. @default {2} */
  rounds?: 1 | 2;
  signal?: AbortSignal;
}): Promise<TraceReplayResult> {
  const seed = options.seed ?? DEFAULT_SEED;
  const trace = generateTrace({ seed, ...TRACE });
  const arrivals = traceArrivals(trace, seededRandom(seed + 1));
  const summary = summarizeTrace(trace);
  // Little's law in trace time: containers busy at once on average.
  const activeMeanContainers = round(
    arrivals.reduce((sum, a) => sum + a.durationMs, 0) / (trace.minutes * 60_000),
  );
  progress(
    `trace replay: seed ${seed}, ${summary.functions} functions (${summary.invoked} invoked), ` +
      `${arrivals.length} invocations over ${trace.minutes} trace minutes at ${SPEEDUP}x`,
  );
  const started = performance.now();
  const order = options.rounds === 1 ? ORDER.slice(0, 2) : ORDER;
  const runs: Run[] = [];
  for (const policy of order) {
    runs.push(await replay(policy, trace.functions.length, arrivals, options));
  }
  const fixed = combine(runs.filter((r) => r.result.policy === "fixed"));
  const adaptive = combine(runs.filter((r) => r.result.policy === "adaptive"));
  return {
    seed,
    speedup: SPEEDUP,
    note: `Replayed at ${SPEEDUP}x: one trace minute per wall second; run times and keep-alive ` +
      `times are scaled by 1/${SPEEDUP}, so one wall container-second is one trace ` +
      `container-minute. Container time is counted from the start of a replay to the end of ` +
      `the trace. Each policy is replayed ${order.length / 2} time(s), in the order ${
        order.join(", ")
      }, each time ` +
      `on a fresh system; counts and container time are means per replay, latencies are ` +
      `over both replays' activations.`,
    trace: { ...summary, minutes: trace.minutes, activeMeanContainers },
    fixed,
    adaptive,
    runs: runs.map((r) => r.result),
    replayMs: Math.round(performance.now() - started),
  };
}

function scaledSettings(policy: keyof typeof POLICIES): Record<string, string> {
  const settings: Record<string, string> = {
    CONTAINER_IDLE_MS: String(FIXED_KEEP_ALIVE_MS / SPEEDUP),
  };
  for (const [name, value] of Object.entries(POLICIES[policy])) {
    settings[name] = typeof value === "number" && name.endsWith("_MS")
      ? String(Math.round(value / SPEEDUP))
      : String(value);
  }
  return settings;
}

interface Sent {
  readonly arrival: Arrival;
  readonly sentAt: number;
  readonly activationId: string | undefined;
  /** The answer's status when the invoke was not accepted, or `network`. */
  readonly refusal?: string;
}

async function replay(
  policy: keyof typeof POLICIES,
  functions: number,
  arrivals: readonly Arrival[],
  options: {
    etcdEndpoints: readonly string[];
    kafkaBrokers: readonly string[];
    signal?: AbortSignal;
  },
): Promise<Run> {
  const runStarted = performance.now();
  const settings = scaledSettings(policy);
  await using system = await benchSystem(options, `trace${policy[0]}`, {
    INVOKER_USER_MEMORY_MB: "16384",
    // Containers check their keep-alive when a fetch comes back empty:
    // every 250 ms is 15 trace seconds, fine enough for minute-scale times.
    SCHEDULER_FETCH_WAIT_MS: "250",
    ...settings,
  });
  const api = `${system.url}/api/v1/namespaces/_`;
  for (let fn = 0; fn < functions; fn++) await putAction(api, `f${fn}`);
  progress(`trace replay (${policy}): ${functions} actions created, replaying`);

  const start = performance.now();
  const traceEndMs = (arrivals.at(-1)?.atMs ?? 0) / SPEEDUP;
  const sends: Promise<Sent>[] = [];
  let nextMinute = 5;
  for (const arrival of arrivals) {
    const dueMs = start + arrival.atMs / SPEEDUP - performance.now();
    if (dueMs > 1) await sleep(dueMs, options.signal);
    options.signal?.throwIfAborted();
    if (arrival.atMs >= nextMinute * 60_000) {
      progress(`trace replay (${policy}): trace minute ${nextMinute}, ${sends.length} invoked`);
      nextMinute += 5;
    }
    sends.push(invoke(api, arrival));
  }
  const untilEnd = start + Math.ceil(traceEndMs / 1_000) * 1_000 - performance.now();
  if (untilEnd > 0) await sleep(untilEnd, options.signal);
  // Container time up to the trace's end: both policies are measured over the same window.
  const atEnd = parseSamples(await system.metrics.render());
  const seconds = (state: string) =>
    sampleSum(atEnd, "faas_invoker_container_seconds_total", { state }) ?? 0;
  const idle = seconds("idle");
  const busy = seconds("busy");

  const sent = await Promise.all(sends);
  progress(`trace replay (${policy}): trace over, collecting ${sent.length} records`);
  const records = await collectRecords(api, sent, options.signal);
  const created = sampleSum(
    parseSamples(await system.metrics.render()),
    "faas_invoker_container_creations_total",
    { outcome: "created" },
  ) ?? 0;
  const done = sent.flatMap((s) => {
    const record = s.activationId ? records.get(s.activationId) : undefined;
    return record ? [{ sent: s, record }] : [];
  });
  const succeeded = done.filter((d) => d.record.response.statusCode === 0);
  const cold = done.filter((d) => d.record.annotations.some((a) => a.key === "initTime")).length;
  const latencies = succeeded.map((d) => d.record.end - d.sent.sentAt);
  const overheads = succeeded.map((d, i) => latencies[i]! - d.sent.arrival.durationMs / SPEEDUP);
  const failedByStatus: Record<string, number> = {};
  for (const { record } of done) {
    const status = record.response.statusCode;
    if (status !== 0) failedByStatus[status] = (failedByStatus[status] ?? 0) + 1;
  }
  const result: PolicyResult = {
    policy,
    settings,
    invocations: sent.length,
    succeeded: succeeded.length,
    failedByStatus,
    refusedByStatus: countBy(sent.flatMap((s) => s.refusal ? [s.refusal] : [])),
    missing: sent.filter((s) => s.activationId).length - done.length,
    coldStarts: cold,
    coldStartRatio: round(cold / Math.max(1, done.length)),
    idleContainerSeconds: round(idle),
    busyContainerSeconds: round(busy),
    wastedShare: round(idle / Math.max(1e-9, idle + busy)),
    containersCreated: created,
    latency: summarize(latencies),
    overhead: summarize(overheads),
    runMs: 0,
  };
  progress(
    `trace replay (${policy}): ${cold} cold starts of ${done.length}, ` +
      `${result.idleContainerSeconds} idle / ${result.busyContainerSeconds} busy container-s, ` +
      `${created} containers`,
  );
  await system.close();
  return {
    result: { ...result, runMs: Math.round(performance.now() - runStarted) },
    latencies,
    overheads,
  };
}

async function putAction(api: string, name: string): Promise<void> {
  const r = await fetch(`${api}/actions/${name}`, {
    method: "PUT",
    headers: GUEST_HEADERS,
    body: JSON.stringify({ exec: { kind: "nodejs:20", code: SLEEPER }, limits: { memory: 128 } }),
  });
  if (!r.ok) throw new Error(`Cannot create "${name}": ${r.status} ${await r.text()}`);
  await r.body?.cancel();
}

async function invoke(api: string, arrival: Arrival): Promise<Sent> {
  const sentAt = Date.now();
  const sleepMs = Math.round(arrival.durationMs / SPEEDUP);
  try {
    const r = await fetch(`${api}/actions/f${arrival.fn}`, {
      method: "POST",
      headers: GUEST_HEADERS,
      body: JSON.stringify({ sleepMs }),
    });
    const body = await r.json().catch(() => ({}));
    const activationId = r.status === 202 && typeof body.activationId === "string"
      ? body.activationId as string
      : undefined;
    return {
      arrival,
      sentAt,
      activationId,
      ...(activationId ? {} : { refusal: String(r.status) }),
    };
  } catch {
    return { arrival, sentAt, activationId: undefined, refusal: "network" };
  }
}

interface ActivationRecord {
  readonly end: number;
  readonly response: { readonly statusCode: number };
  readonly annotations: readonly { readonly key: string }[];
}

/** Reads every record, a few requests at a time, until all are there or a minute passed. */
async function collectRecords(
  api: string,
  sent: readonly Sent[],
  signal?: AbortSignal,
): Promise<Map<string, ActivationRecord>> {
  const records = new Map<string, ActivationRecord>();
  let pending = sent.flatMap((s) => (s.activationId ? [s.activationId] : []));
  const deadline = Date.now() + 60_000;
  while (pending.length > 0 && Date.now() < deadline) {
    const queue = [...pending];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
        const r = await fetch(`${api}/activations/${id}`, { headers: GUEST_HEADERS });
        if (r.ok) records.set(id, await r.json());
        else await r.body?.cancel();
      }
    }));
    pending = pending.filter((id) => !records.has(id));
    if (pending.length > 0) await sleep(250, signal);
  }
  if (pending.length > 0) progress(`trace replay: ${pending.length} records never arrived`);
  return records;
}

/** The result as a Markdown report. */
export function traceReplayMarkdown(result: TraceReplayResult): string {
  const t = result.trace;
  const rows: [string, (p: PolicyResult) => string | number][] = [
    ["invocations (succeeded)", (p) => `${p.invocations} (${p.succeeded})`],
    ["records failed, by status", (p) => JSON.stringify(p.failedByStatus)],
    ["invokes refused, by status", (p) => JSON.stringify(p.refusedByStatus)],
    ["accepted but no record (lost)", (p) => p.missing],
    ["cold starts", (p) => p.coldStarts],
    ["cold-start ratio", (p) => p.coldStartRatio],
    ["idle (wasted) container-s", (p) => p.idleContainerSeconds],
    ["busy container-s", (p) => p.busyContainerSeconds],
    ["idle share of container time", (p) => p.wastedShare],
    ["containers created", (p) => p.containersCreated],
    ["latency p50 / p99 ms", (p) => `${p.latency.p50Ms} / ${p.latency.p99Ms}`],
    ["overhead p50 / p99 ms", (p) => `${p.overhead.p50Ms} / ${p.overhead.p99Ms}`],
    ["run time per replay s", (p) => Math.round(p.runMs / 100) / 10],
  ];
  return [
    "## Trace replay: keep-alive policies",
    "",
    `Seed ${result.seed}: ${t.functions} functions (${t.invoked} invoked, ` +
    `${t.atMostHourly} not at all), ${t.invocations} invocations over ${t.minutes} trace minutes; ` +
    `the busiest tenth of the functions make ${Math.round(t.topTenthShare * 100)} % of them; ` +
    `${t.activeMeanContainers} activations run at once on average. Triggers: ` +
    `${Object.entries(t.byTrigger).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
    result.note,
    "",
    "| | fixed | adaptive |",
    "| --- | --- | --- |",
    ...rows.map(([name, get]) => `| ${name} | ${get(result.fixed)} | ${get(result.adaptive)} |`),
    "",
    `Fixed: ${JSON.stringify(result.fixed.settings)}`,
    "",
    `Adaptive: ${JSON.stringify(result.adaptive.settings)}`,
    "",
    "Each replay:",
    "",
    "| policy | cold starts | idle container-s | busy container-s | containers | overhead p50 ms |",
    "| --- | --- | --- | --- | --- | --- |",
    ...result.runs.map((p) =>
      `| ${p.policy} | ${p.coldStarts} | ${p.idleContainerSeconds} | ${p.busyContainerSeconds} | ` +
      `${p.containersCreated} | ${p.overhead.p50Ms} |`
    ),
    "",
    `All replays took ${Math.round(result.replayMs / 1_000)} s.`,
    "",
  ].join("\n");
}

function countBy(keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}
