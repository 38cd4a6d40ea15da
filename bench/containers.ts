/**
 * Container creation benchmarks through the whole system (controller,
 * scheduler, invoker with process containers) on real etcd and Kafka:
 * cold start latency, warm latency, and how fast containers scale up to a
 * burst.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import { startEmbedded } from "../dev/embedded.ts";
import { progress, summarize } from "./stats.ts";

const GUEST =
  "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";
const HEADERS = { authorization: `Basic ${btoa(GUEST)}`, "content-type": "application/json" };
const SLEEP_100 =
  "function main() { return new Promise((r) => setTimeout(() => r({ ok: true }), 100)); }";
const ECHO = "function main(p) { return p; }";

/** Runs the container benchmarks against a fresh embedded system on etcd and Kafka. */
export async function containerBenchmarks(options: {
  etcdEndpoints: readonly string[];
  kafkaBrokers: readonly string[];
  store: Store;
}) {
  const cluster = `benchc${Date.now() % 1_000_000}`;
  await using system = await startEmbedded({
    port: 0,
    etcdEndpoints: options.etcdEndpoints,
    kafkaBrokers: options.kafkaBrokers,
    settings: {
      FAAS_CLUSTER: cluster,
      FAAS_KAFKA_TOPIC_PREFIX: `${cluster}-`,
      CONTAINER_IDLE_MS: "30000",
    },
  });
  const api = `${system.url}/api/v1/namespaces/_`;
  progress("system: cold starts");
  const coldStart = await coldStarts(api, 8);
  progress("system: warm blocking invokes");
  const warm = await warmInvokes(api, 200);
  progress("system: scale-up to a burst");
  const scaleUp = await burst(api, options.store, cluster, 300);
  return { coldStart, warm, scaleUp };
}

async function put(api: string, name: string, code: string): Promise<void> {
  const r = await fetch(`${api}/actions/${name}`, {
    method: "PUT",
    headers: HEADERS,
    body: JSON.stringify({ exec: { kind: "nodejs:20", code } }),
  });
  if (!r.ok) throw new Error(`Cannot create "${name}": ${r.status} ${await r.text()}`);
  await r.body?.cancel();
}

async function invokeBlocking(api: string, name: string): Promise<number> {
  const started = performance.now();
  const r = await fetch(`${api}/actions/${name}?blocking=true&result=true`, {
    method: "POST",
    headers: HEADERS,
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

async function warmInvokes(api: string, n: number) {
  await put(api, "warm", ECHO);
  for (let i = 0; i < 20; i++) await invokeBlocking(api, "warm");
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await invokeBlocking(api, "warm"));
  return summarize(samples);
}

/** `n` non-blocking invokes of a 100 ms action at once; containers and drain over time. */
async function burst(api: string, store: Store, cluster: string, n: number) {
  await put(api, "burst", SLEEP_100);
  const started = performance.now();
  const timeline: { ms: number; containers: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      timeline.push({
        ms: performance.now() - started,
        containers: await store.countPrefix(`${cluster}/namespace/guest/guest/burst/`),
      });
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const ids = await Promise.all(Array.from({ length: n }, async () => {
    const r = await fetch(`${api}/actions/burst`, { method: "POST", headers: HEADERS, body: "{}" });
    return (await r.json()).activationId as string;
  }));
  const drainedMs = await waitForRecords(api, ids, started);
  sampling = false;
  await sampler;
  const peak = Math.max(...timeline.map((t) => t.containers));
  const reached = (share: number) =>
    timeline.find((t) => t.containers >= Math.ceil(peak * share))?.ms ?? NaN;
  return {
    activations: n,
    peakContainers: peak,
    firstContainerMs: Math.round(reached(1 / peak)),
    ninetyPercentOfPeakMs: Math.round(reached(0.9)),
    drainMs: Math.round(drainedMs),
  };
}

async function waitForRecords(
  api: string,
  ids: readonly string[],
  started: number,
): Promise<number> {
  const pending = new Set(ids);
  const deadline = Date.now() + 120_000;
  while (pending.size > 0 && Date.now() < deadline) {
    for (const id of [...pending]) {
      const r = await fetch(`${api}/activations/${id}`, { headers: HEADERS });
      await r.body?.cancel();
      if (r.ok) pending.delete(id);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 100));
  }
  if (pending.size > 0) {
    throw new Error(`${pending.size} of ${ids.length} activations never completed`);
  }
  return performance.now() - started;
}
