/**
 * The design's burst metric: 10,000 non-blocking activations over 100
 * actions, fired as fast as the REST API takes them, on a fresh embedded
 * system on real etcd and Kafka. Reports how long the burst took to drain,
 * how many containers it needed and how many activations paid a cold start.
 *
 * Completion is counted without polling activations one by one: the number
 * of activation record keys under the cluster's prefix (one count-only etcd
 * range per 100 ms tick), and the invoker's gauges for live containers. Each
 * accepted id is checked once at the end by reading its record.
 *
 * @module
 */
import { connectEtcd, type Store } from "@faas/coordination";
import { parseSamples, type Sample, sampleSum } from "@faas/metrics";
import { benchSystem, GUEST_HEADERS } from "./_system.ts";
import { type LatencySummary, progress, summarize } from "./stats.ts";

const ACTION_MEMORY_MB = 128;
const TICK_MS = 100;

/** Options for {@linkcode burstBenchmark}. */
export interface BurstOptions {
  readonly etcdEndpoints: readonly string[];
  readonly kafkaBrokers: readonly string[];
  /** Activations in the burst. @default {10_000} */
  readonly activations?: number;
  /** Actions they are spread over, round-robin. @default {100} */
  readonly actions?: number;
  /** How long each activation sleeps before answering. @default {20} */
  readonly sleepMs?: number;
  /** Invokes in flight from the client. @default {64} */
  readonly concurrency?: number;
  /**
   * Containers the namespace may hold (`CONTROLLER_NAMESPACE_CONTAINER_LIMIT`):
   * one per action, and the schedulers' 1.5× margin for first containers. At
   * 2 × actions (300 containers) a 2-core machine starves etcd. @default {actions}
   */
  readonly namespaceContainerLimit?: number;
  /**
   * Stop submitting, and give up waiting for records, this long after the
   * first submit; keeps a whole run within 3 minutes. @default {140_000}
   */
  readonly drainTimeoutMs?: number;
}

/** What {@linkcode burstBenchmark} measured. */
export interface BurstResult {
  readonly activations: number;
  readonly actions: number;
  /** Whether every accepted activation had a record before the drain timeout. */
  readonly completed: boolean;
  readonly setup: {
    readonly action: string;
    readonly memoryMb: number;
    readonly namespaceContainerLimit: number;
    readonly invokerMemoryMb: number;
    readonly clientConcurrency: number;
  };
  /** Invokes answered 202. */
  readonly accepted: number;
  /** Invokes never sent because the drain timeout came first. */
  readonly notSubmitted: number;
  /** Invokes not answered 202, by status (or `network`). */
  readonly submitErrors: Readonly<Record<string, number>>;
  /** The first answer's body per failing status. */
  readonly submitErrorExamples: Readonly<Record<string, string>>;
  /** First submit → last invoke answered. */
  readonly acceptedInMs: number;
  /** First submit → the tick that saw every accepted activation's record (100 ms ticks). */
  readonly drainMs: number;
  /** Records per second over the drain. */
  readonly activationsPerSecond: number;
  /** Accepted activations with a record at the end. */
  readonly records: number;
  /** Accepted activations without a record at the end. */
  readonly missing: number;
  /** Accepted activations whose record could not be read (etcd failed twice). */
  readonly unreadable: number;
  /** Records whose status is not success, by status code. */
  readonly errorRecords: Readonly<Record<string, number>>;
  /** The first error message seen per status code. */
  readonly errorExamples: Readonly<Record<string, string>>;
  /** The invoker's successful container creations. */
  readonly containersCreated: number;
  /** The invoker's failed container creations, by error. */
  readonly creationFailures: Readonly<Record<string, number>>;
  /** Most live containers (busy or idle) seen on a 100 ms tick. */
  readonly peakContainers: number;
  /** Records with an `initTime` annotation. */
  readonly coldStarts: number;
  readonly coldStartRatio: number;
  /** Per activation: the record's `end` − the moment its invoke was answered 202. */
  readonly latency: LatencySummary;
  /** Ticks skipped because etcd or the metrics did not answer. */
  readonly watchErrors: number;
  /** Once a second: seconds since the first submit, records, live containers. */
  readonly timeline: readonly { s: number; records: number; containers: number }[];
}

interface Submitted {
  readonly id: string;
  /** Epoch ms when the 202 arrived. */
  readonly acceptedAt: number;
}

/** Runs the burst against a fresh embedded system on etcd and Kafka; never throws on a partial drain. */
export async function burstBenchmark(options: BurstOptions): Promise<BurstResult> {
  const activations = options.activations ?? 10_000;
  const actions = options.actions ?? 100;
  const sleepMs = options.sleepMs ?? 20;
  const concurrency = options.concurrency ?? 64;
  const namespaceContainerLimit = options.namespaceContainerLimit ?? actions;
  // Memory is what caps containers on an invoker; give it room for the namespace's
  // whole over-provision ceiling (1.5 × the limit) so the limit, not memory, binds.
  const invokerMemoryMb = Math.ceil(namespaceContainerLimit * 1.5) * ACTION_MEMORY_MB;
  const drainTimeoutMs = options.drainTimeoutMs ?? 140_000;
  await using store = await connectEtcd({ endpoints: options.etcdEndpoints });
  await using system = await benchSystem(options, "burst", {
    // Containers stay for the whole run: every creation is one the burst needed.
    CONTAINER_IDLE_MS: "600000",
    CONTROLLER_NAMESPACE_CONTAINER_LIMIT: String(namespaceContainerLimit),
    INVOKER_USER_MEMORY_MB: String(invokerMemoryMb),
  });
  const cluster = system.cluster;
  const api = `${system.url}/api/v1/namespaces/_`;
  const code =
    `function main(p) { return new Promise((r) => setTimeout(() => r(p), ${sleepMs})); }`;
  const names = Array.from({ length: actions }, (_, i) => `burst${i}`);
  progress(`burst: creating ${actions} actions`);
  await pool(names, 16, (name) => put(api, name, code));

  const scrape = async () => parseSamples(await system.metrics.render());
  const recordPrefix = `${cluster}/activations/guest/`;
  const submitted: Submitted[] = [];
  const submitErrors: Record<string, number> = {};
  const submitErrorExamples: Record<string, string> = {};
  let notSubmitted = 0;
  let watchErrors = 0;
  const firstSubmit = performance.now();
  let submitting = true;
  let peakContainers = 0;
  let drainMs: number | undefined;
  const timeline: { s: number; records: number; containers: number }[] = [];
  const watcher = (async () => {
    let lastProgress = 0;
    while (true) {
      // An overloaded etcd may time out a count: skip the tick rather than end the run.
      const tick = await Promise.all([store.countPrefix(recordPrefix), scrape()]).catch(() => {
        watchErrors++;
        return undefined;
      });
      if (!tick) {
        if (performance.now() - firstSubmit >= drainTimeoutMs) return;
        await new Promise((r) => setTimeout(r, TICK_MS));
        continue;
      }
      const [records, samples] = tick;
      const containers = liveContainers(samples);
      const now = performance.now() - firstSubmit;
      peakContainers = Math.max(peakContainers, containers);
      if (now >= timeline.length * 1_000) {
        timeline.push({ s: Math.round(now / 100) / 10, records, containers });
      }
      if (now - lastProgress >= 2_000) {
        lastProgress = now;
        progress(
          `burst: ${fmt(records)}/${fmt(activations)} done, ${containers} containers` +
            (submitting ? `, ${fmt(submitted.length)} accepted` : ""),
        );
      }
      if (!submitting && records >= submitted.length) {
        drainMs = now;
        return;
      }
      if (now >= drainTimeoutMs) return;
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  })();

  progress(`burst: firing ${fmt(activations)} invokes, ${concurrency} in flight`);
  const targets = Array.from({ length: activations }, (_, i) => names[i % actions]!);
  await pool(targets, concurrency, async (name) => {
    if (performance.now() - firstSubmit >= drainTimeoutMs) notSubmitted++;
    else await invoke(api, name, submitted, submitErrors, submitErrorExamples);
  });
  const acceptedInMs = performance.now() - firstSubmit;
  submitting = false;
  await watcher;
  const completed = drainMs !== undefined;
  const elapsedMs = drainMs ?? performance.now() - firstSubmit;

  progress(
    `burst: ${completed ? "drained" : "timed out"}; checking ${fmt(submitted.length)} records`,
  );
  const checked = await checkRecords(store, recordPrefix, submitted);
  const samples = await scrape();
  return {
    activations,
    actions,
    completed,
    setup: {
      action: `nodejs:20, resolves its params after a ${sleepMs} ms timer`,
      memoryMb: ACTION_MEMORY_MB,
      namespaceContainerLimit,
      invokerMemoryMb,
      clientConcurrency: concurrency,
    },
    accepted: submitted.length,
    notSubmitted,
    submitErrors,
    submitErrorExamples,
    acceptedInMs: Math.round(acceptedInMs),
    drainMs: Math.round(elapsedMs),
    activationsPerSecond: Math.round(checked.records / (elapsedMs / 1_000)),
    ...checked,
    containersCreated: sampleSum(samples, "faas_invoker_container_creations_total", {
      outcome: "created",
    }) ?? 0,
    creationFailures: creationFailures(samples),
    peakContainers,
    watchErrors,
    timeline,
  };
}

async function put(api: string, name: string, code: string): Promise<void> {
  const r = await fetch(`${api}/actions/${name}?overwrite=true`, {
    method: "PUT",
    headers: GUEST_HEADERS,
    body: JSON.stringify({
      exec: { kind: "nodejs:20", code },
      limits: { memory: ACTION_MEMORY_MB },
    }),
  });
  if (!r.ok) throw new Error(`Cannot create "${name}": ${r.status} ${await r.text()}`);
  await r.body?.cancel();
}

async function invoke(
  api: string,
  name: string,
  submitted: Submitted[],
  errors: Record<string, number>,
  examples: Record<string, string>,
): Promise<void> {
  try {
    const r = await fetch(`${api}/actions/${name}`, {
      method: "POST",
      headers: GUEST_HEADERS,
      body: "{}",
    });
    const body = await r.text();
    if (r.status === 202) {
      submitted.push({ id: JSON.parse(body).activationId, acceptedAt: Date.now() });
      return;
    }
    errors[r.status] = (errors[r.status] ?? 0) + 1;
    examples[r.status] ??= body.slice(0, 200);
  } catch (error) {
    errors.network = (errors.network ?? 0) + 1;
    examples.network ??= String(error).slice(0, 200);
  }
}

/** Reads every accepted activation's record once. */
async function checkRecords(store: Store, prefix: string, submitted: readonly Submitted[]) {
  const latencies: number[] = [];
  const errorRecords: Record<string, number> = {};
  const errorExamples: Record<string, string> = {};
  let records = 0;
  let coldStarts = 0;
  let unreadable = 0;
  await pool(submitted, 32, async ({ id, acceptedAt }) => {
    const kv = await store.get(`${prefix}${id}`).catch(() => store.get(`${prefix}${id}`))
      .catch(() => null);
    if (kv === null) unreadable++;
    if (!kv) return;
    const record = JSON.parse(kv.value) as {
      end: number;
      response: { statusCode: number; result?: { error?: unknown } };
      annotations?: { key: string }[];
    };
    records++;
    latencies.push(record.end - acceptedAt);
    if (record.annotations?.some((a) => a.key === "initTime")) coldStarts++;
    const status = record.response.statusCode;
    if (status === 0) return;
    errorRecords[status] = (errorRecords[status] ?? 0) + 1;
    errorExamples[status] ??= String(record.response.result?.error ?? "").slice(0, 200);
  });
  return {
    records,
    missing: submitted.length - records - unreadable,
    unreadable,
    errorRecords,
    errorExamples,
    coldStarts,
    coldStartRatio: records === 0 ? 0 : Math.round((coldStarts / records) * 10_000) / 10_000,
    latency: summarize(latencies),
  };
}

function liveContainers(samples: readonly Sample[]): number {
  return (sampleSum(samples, "faas_invoker_containers", { state: "busy" }) ?? 0) +
    (sampleSum(samples, "faas_invoker_containers", { state: "idle" }) ?? 0);
}

function creationFailures(samples: readonly Sample[]): Record<string, number> {
  const failures: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== "faas_invoker_container_creations_total") continue;
    const outcome = s.labels.outcome ?? "unknown";
    if (outcome !== "created" && s.value > 0) failures[outcome] = s.value;
  }
  return failures;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const fmt = (n: number) => n.toLocaleString("en-US");
