/**
 * Queue capacity of one scheduler: creates N queues on one real scheduler
 * process through QueueService CreateQueue (gRPC), on real etcd and Kafka, and
 * reports per N the creation time, heap per idle queue after GC, RSS, the
 * duration of one tick over all queues and the FetchActivation round trip of
 * one busy queue while the N idle ones exist.
 *
 * The scheduler runs in `bench/_queue_host.ts` (a child process with GC
 * exposed), so the numbers are its own and not the benchmark's. The idle
 * queues' actions are not in the catalog, like self-pulling runtimes' actions:
 * they get no containers, so the queues stay idle; their removal grace is an
 * hour, so they stay for the whole run.
 *
 * @module
 */
import { connectKafka } from "@faas/bus";
import {
  ActivationServiceClient,
  CLUSTER_TOKEN_METADATA_KEY,
  FETCH_TOKEN_METADATA_KEY,
  FetchTokens,
  QueueServiceClient,
  RpcError,
  topics,
} from "@faas/proto";
import { activationFixture } from "@faas/proto/testing";
import { type LatencySummary, progress, round, summarize, timeSequential } from "./stats.ts";

/** Options for {@linkcode queueCapacityBenchmark}. */
export interface QueueCapacityOptions {
  readonly etcdEndpoints: readonly string[];
  readonly kafkaBrokers: readonly string[];
  /** Numbers of idle queues to measure, each on a fresh scheduler. */
  readonly counts: readonly number[];
  /** CreateQueue calls in flight at once. @default {64} */
  readonly window?: number;
  /** Idle queues per invocation namespace. @default {10} */
  readonly queuesPerNamespace?: number;
  /** Timed fetches of the busy queue (after 200 untimed ones). @default {1_000} */
  readonly fetches?: number;
  /** Extra `deno run` flags for the scheduler process, e.g. `--cpu-prof`. @default {[]} */
  readonly schedulerFlags?: readonly string[];
}

/** What one N measured. */
export interface QueueCapacityResult {
  readonly queues: number;
  readonly createSeconds: number;
  readonly createsPerSecond: number;
  /** CreateQueue calls answered UNAVAILABLE and retried. */
  readonly createRetries: number;
  /** Heap after GC with the N queues, minus the heap after GC before creating any, per queue. */
  readonly heapBytesPerIdleQueue: number;
  readonly heapUsedBytes: number;
  readonly heapUsedBeforeBytes: number;
  readonly rssBytes: number;
  readonly rssBeforeBytes: number;
  /** One `QueueManager.tick()` over every queue (the scheduler runs it every 100 ms). */
  readonly tick: LatencySummary;
  /** FetchActivation of the busy queue's backlog, with the N idle queues present. */
  readonly busyFetch: LatencySummary;
}

const SECRET = "bench-secret-0123456789";
const BUSY = { path: "guest", name: "busy", version: "0.0.1" };
const HOUR_MS = "3600000";
/** The scheduler's lease TTL (10 s by default) and a margin. */
const LEASE_EXPIRY_MS = 13_000;

/** Runs the benchmark for every count; each count gets a fresh scheduler process. */
export async function queueCapacityBenchmark(
  options: QueueCapacityOptions,
): Promise<{ results: QueueCapacityResult[] }> {
  const results: QueueCapacityResult[] = [];
  for (const [i, n] of options.counts.entries()) {
    // The previous scheduler's lease expiring deletes all its keys in one etcd
    // request, which stalls etcd for a moment: not during the next measurement.
    if (i > 0) await new Promise((r) => setTimeout(r, LEASE_EXPIRY_MS));
    results.push(await measure(n, options));
  }
  return { results };
}

async function measure(n: number, options: QueueCapacityOptions): Promise<QueueCapacityResult> {
  const { window = 64, queuesPerNamespace = 10, fetches = 1_000 } = options;
  const cluster = `qcap${Date.now()}`;
  const sid = `q${Date.now() % 100_000}`;
  progress(`queues ${n}: starting a scheduler (cluster ${cluster})`);
  await using host = await QueueHost.start(options.schedulerFlags ?? [], {
    FAAS_CLUSTER: cluster,
    SCHEDULER_ID: sid,
    SCHEDULER_RPC_PORT: "0",
    METRICS_PORT: "-1",
    FAAS_FETCH_TOKEN_SECRET: SECRET,
    FAAS_KAFKA_TOPIC_PREFIX: `${cluster}-`,
    FAAS_ETCD_ENDPOINTS: options.etcdEndpoints.join(","),
    FAAS_KAFKA_BROKERS: options.kafkaBrokers.join(","),
    QUEUE_IDLE_GRACE_MS: HOUR_MS,
    QUEUE_STOP_GRACE_MS: HOUR_MS,
    LOG_LEVEL: "WARN",
  });
  const before = await host.request<Memory>({ cmd: "measure" });

  // Closed only once the scheduler is dead: a GOAWAY on a live channel can abort
  // either process (README, "Known runtime issue").
  const queueClient = new QueueServiceClient(`127.0.0.1:${host.rpcPort}`);
  host.defer(() => queueClient.close());
  const metadata = {
    [CLUSTER_TOKEN_METADATA_KEY]: await new FetchTokens(SECRET).mintCluster(),
  };
  const started = performance.now();
  let next = 0;
  let lastReported = 0;
  let retries = 0;
  await Promise.all(Array.from({ length: Math.min(window, n) }, async () => {
    while (next < n) {
      const i = next++;
      const namespace = `ns${Math.floor(i / queuesPerNamespace)}`;
      const request = {
        invocationNamespace: namespace,
        fqn: JSON.stringify({ path: namespace, name: `a${i}`, version: "0.0.1" }),
        rev: JSON.stringify("1-a"),
      };
      // As a controller would: UNAVAILABLE (etcd out of reach for a moment) is retried.
      for (let attempt = 1;; attempt++) {
        try {
          const response = await queueClient.createQueue(request, {
            timeoutMs: 60_000,
            metadata,
          });
          if (!response.success) throw new Error(`CreateQueue ${i} failed`);
          break;
        } catch (error) {
          if (!(error instanceof RpcError && error.code === "UNAVAILABLE") || attempt === 10) {
            throw error;
          }
          retries++;
          await new Promise((r) => setTimeout(r, Math.min(250 * attempt, 2_000)));
        }
      }
      if (next - lastReported >= n / 10) {
        lastReported = next;
        progress(`queues ${n}: ${next} created after ${seconds(started)} s`);
      }
    }
  }));
  const createSeconds = (performance.now() - started) / 1000;
  progress(`queues ${n}: all created in ${round(createSeconds)} s`);

  const after = await host.request<Memory>({ cmd: "measure" });
  if (after.reRegistrations > 0) {
    throw new Error("The scheduler lost its etcd lease during the run (etcd overloaded?)");
  }
  if (after.queues < n) throw new Error(`Only ${after.queues} of ${n} queues are led`);
  const { samples } = await host.request<{ samples: number[] }>({
    cmd: "tick",
    samples: 50,
    spacingMs: 20,
  });
  progress(`queues ${n}: tick p50 ${summarize(samples).p50Ms} ms; fetching from a busy queue`);
  const busyFetch = await busyQueueFetches(host, { cluster, sid, options, fetches });
  progress(`queues ${n}: fetch p50 ${busyFetch.p50Ms} ms`);
  return {
    queues: n,
    createSeconds: round(createSeconds),
    createsPerSecond: Math.round(n / createSeconds),
    createRetries: retries,
    heapBytesPerIdleQueue: Math.round((after.heapUsed - before.heapUsed) / n),
    heapUsedBytes: after.heapUsed,
    heapUsedBeforeBytes: before.heapUsed,
    rssBytes: after.rss,
    rssBeforeBytes: before.rss,
    tick: summarize(samples),
    busyFetch,
  };
}

/** Fills the busy queue through Kafka, then times a container's fetches from it. */
async function busyQueueFetches(
  host: QueueHost,
  context: { cluster: string; sid: string; options: QueueCapacityOptions; fetches: number },
): Promise<LatencySummary> {
  const { cluster, sid, options, fetches } = context;
  const warmup = 200;
  const total = fetches + warmup;
  {
    await using bus = await connectKafka({
      brokers: [...options.kafkaBrokers],
      clientId: `${cluster}-bench`,
    });
    const topic = topics(`${cluster}-`).scheduler(sid);
    for (let i = 0; i < total; i += 500) {
      await bus.send(
        topic,
        Array.from({ length: Math.min(500, total - i) }, () => {
          const message = activationFixture({ action: BUSY });
          return { key: message.activationId, value: JSON.stringify(message) };
        }),
      );
    }
  }
  const deadline = Date.now() + 60_000;
  while (
    (await host.request<{ queued: number }>({
      cmd: "queued",
      namespace: "guest",
      fqn: "guest/busy",
    }))
      .queued < total
  ) {
    if (Date.now() > deadline) throw new Error(`The busy queue did not fill to ${total} in 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = new ActivationServiceClient(`127.0.0.1:${host.rpcPort}`);
  host.defer(() => client.close());
  const metadata = {
    [FETCH_TOKEN_METADATA_KEY]: await new FetchTokens(SECRET).mint("guest", "guest/busy"),
  };
  const request = {
    invocationNamespace: "guest",
    fqn: JSON.stringify(BUSY),
    rev: JSON.stringify("1-a"),
    containerId: "c-busy",
    warmed: true,
    lastDuration: 1,
    alive: true,
  };
  const samples = await timeSequential(
    fetches,
    warmup,
    () => client.fetchActivation(request, { metadata }),
  );
  await client.fetchActivation({ ...request, alive: false }, { metadata });
  return summarize(samples);
}

interface Memory {
  readonly heapUsed: number;
  readonly rss: number;
  readonly queues: number;
  readonly reRegistrations: number;
}

type HostRequest =
  | { cmd: "measure" }
  | { cmd: "tick"; samples: number; spacingMs: number }
  | { cmd: "queued"; namespace: string; fqn: string };

/** The scheduler child process and its line protocol. */
class QueueHost implements AsyncDisposable {
  readonly rpcPort: number;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  readonly #afterKill: (() => void)[] = [];
  #nextId = 0;

  private constructor(child: Deno.ChildProcess, lines: AsyncIterator<string>, rpcPort: number) {
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = lines;
    this.rpcPort = rpcPort;
  }

  static async start(flags: readonly string[], env: Record<string, string>): Promise<QueueHost> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-check",
        "--v8-flags=--expose-gc",
        ...flags,
        new URL("./_queue_host.ts", import.meta.url).pathname,
      ],
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = readLines(child.stdout);
    const first = await lines.next();
    if (first.done) throw new Error("The scheduler process ended before it was ready");
    const { ready } = JSON.parse(first.value) as {
      ready: { rpcPort: number; gcExposed: boolean };
    };
    if (!ready.gcExposed) throw new Error("The scheduler process runs without gc exposed");
    return new QueueHost(child, lines, ready.rpcPort);
  }

  async request<T>(request: HostRequest): Promise<T> {
    const id = ++this.#nextId;
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ id, ...request }) + "\n"));
    const line = await this.#lines.next();
    if (line.done) throw new Error(`The scheduler process ended during "${request.cmd}"`);
    const answer = JSON.parse(line.value) as T & { id: number };
    if (answer.id !== id) throw new Error(`Answer ${answer.id} to request ${id}`);
    return answer;
  }

  /** Runs `fn` once the scheduler process is dead. */
  defer(fn: () => void): void {
    this.#afterKill.push(fn);
  }

  /** Stops the scheduler without releasing its keys: its lease expires and etcd drops them. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#child.kill("SIGTERM");
    const killer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    await this.#child.status;
    clearTimeout(killer);
    await this.#writer.close().catch(() => {});
    await this.#lines.return?.();
    for (const fn of this.#afterKill) fn();
  }
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let at;
    while ((at = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
    }
  }
}

function seconds(startedAt: number): number {
  return round((performance.now() - startedAt) / 1000);
}
