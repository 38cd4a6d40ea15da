/**
 * Benchmarks through the whole system (controller, scheduler, invoker with
 * process containers) on real etcd and Kafka, with their baseline: the same
 * action runtime called directly on `/run`.
 *
 * - direct `/run`: one process container of the same runtime, initialized
 *   with the same code, called over loopback HTTP without the platform;
 * - warm: blocking invokes through the REST API, one at a time;
 * - sustained: many clients invoking warm actions at once for a while;
 * - cold starts: a fresh action per invoke.
 *
 * @module
 */
import { ProcessContainerFactory } from "@faas/invoker";
import { benchSystem, GUEST_HEADERS } from "./_system.ts";
import { progress, round, summarize, timeSequential } from "./stats.ts";

const ECHO = "function main(p) { return p; }";

/** Options for {@linkcode containerBenchmarks}. */
export interface ContainerBenchOptions {
  readonly etcdEndpoints: readonly string[];
  readonly kafkaBrokers: readonly string[];
  /** Timed warm invokes (and direct calls). @default {500} */
  readonly samples?: number;
  /** How long the sustained load runs. @default {10_000} */
  readonly sustainedMs?: number;
  /** Clients of the sustained load. @default {16} */
  readonly sustainedClients?: number;
}

/** Runs the container benchmarks against a fresh embedded system on etcd and Kafka. */
export async function containerBenchmarks(options: ContainerBenchOptions) {
  const samples = options.samples ?? 500;
  progress("baseline: direct /run on a process container");
  const directRunSamples = await directRunBaseline(samples);
  const directRun = summarize(directRunSamples);
  await using system = await benchSystem(options, "benchc", {
    CONTAINER_IDLE_MS: "60000",
    // Room for every container the section starts: it measures the warm
    // path, not an invoker full of idle containers.
    INVOKER_USER_MEMORY_MB: "8192",
  });
  const api = `${system.url}/api/v1/namespaces/_`;
  progress("system: cold starts");
  const coldStart = await coldStarts(api, 8);
  progress(`system: ${samples} warm blocking invokes`);
  const warmSamples = await warmInvokes(api, samples);
  const warm = summarize(warmSamples);
  const sustained = await sustainedLoad(
    api,
    options.sustainedClients ?? 16,
    options.sustainedMs ?? 10_000,
  );
  return {
    directRun,
    warm,
    overhead: {
      p50Ms: round(warm.p50Ms - directRun.p50Ms),
      p99Ms: round(warm.p99Ms - directRun.p99Ms),
    },
    coldStart,
    sustained,
    samples: { directRun: directRunSamples, warm: warmSamples },
  };
}

/** `/run` of an echo action on a process container of the invoker's runtime, without the platform. */
async function directRunBaseline(n: number) {
  await using factory = new ProcessContainerFactory();
  await using container = await factory.create({
    id: "bench-direct",
    kind: "nodejs:20",
    memoryMb: 256,
  });
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${container.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await r.text();
    if (!r.ok) throw new Error(`${path} answered ${r.status}`);
  };
  await post("/init", { value: { name: "echo", main: "main", code: ECHO, binary: false } });
  const run = () =>
    post("/run", { value: {}, activation_id: "0", deadline: String(Date.now() + 60_000) });
  return await timeSequential(n, 100, run);
}

/** `clients` loops of blocking invokes over 8 warm actions for `durationMs`: completions per second. */
async function sustainedLoad(api: string, clients: number, durationMs: number) {
  const actions = Array.from({ length: 8 }, (_, i) => `steady${i}`);
  for (const name of actions) await put(api, name, ECHO);
  progress(`system: sustained load warm-up (${clients} clients)`);
  await loadFor(api, actions, clients, 3_000);
  progress(`system: sustained load, ${clients} clients for ${durationMs / 1000} s`);
  const { ok, errors, seconds } = await loadFor(api, actions, clients, durationMs);
  return {
    clients,
    actions: actions.length,
    completed: ok,
    errors,
    activationsPerSecond: Math.round(ok / seconds),
  };
}

async function loadFor(
  api: string,
  actions: readonly string[],
  clients: number,
  durationMs: number,
) {
  const started = performance.now();
  const until = started + durationMs;
  let ok = 0;
  let errors = 0;
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    for (let i = client; performance.now() < until; i++) {
      const name = actions[i % actions.length]!;
      const r = await fetch(`${api}/actions/${name}?blocking=true&result=true`, {
        method: "POST",
        headers: GUEST_HEADERS,
        body: "{}",
      });
      await r.body?.cancel();
      if (r.status === 200) ok++;
      else errors++;
    }
  }));
  return { ok, errors, seconds: (performance.now() - started) / 1000 };
}

async function put(api: string, name: string, code: string): Promise<void> {
  const r = await fetch(`${api}/actions/${name}`, {
    method: "PUT",
    headers: GUEST_HEADERS,
    body: JSON.stringify({ exec: { kind: "nodejs:20", code } }),
  });
  if (!r.ok) throw new Error(`Cannot create "${name}": ${r.status} ${await r.text()}`);
  await r.body?.cancel();
}

async function invokeBlocking(api: string, name: string): Promise<number> {
  const started = performance.now();
  const r = await fetch(`${api}/actions/${name}?blocking=true&result=true`, {
    method: "POST",
    headers: GUEST_HEADERS,
    body: "{}",
  });
  await r.text();
  if (r.status !== 200) throw new Error(`Invoke of "${name}" answered ${r.status}`);
  return performance.now() - started;
}

/** A fresh action per sample: request → result, including creating its container. */
async function coldStarts(api: string, n: number) {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    await put(api, `cold${i}`, ECHO);
    samples.push(await invokeBlocking(api, `cold${i}`));
  }
  return summarize(samples);
}

async function warmInvokes(api: string, n: number): Promise<number[]> {
  await put(api, "warm", ECHO);
  for (let i = 0; i < 20; i++) await invokeBlocking(api, "warm");
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await invokeBlocking(api, "warm"));
  return samples;
}
