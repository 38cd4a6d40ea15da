/**
 * Real program processes for crash tests: each runs its `main.ts` in its own
 * Deno process, so SIGKILL really kills it.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import { SchedulerStates } from "@faas/proto";
import { eventually, KAFKA_BROKERS, SECRET } from "./_harness.ts";

const ROOT = new URL("../", import.meta.url);

/** A scheduler running as a child process. */
export interface SchedulerProcess extends AsyncDisposable {
  readonly sid: string;
  readonly rpcPort: number;
  readonly pid: number;
  /** Sends `signal`; resolves when the process has exited. */
  kill(signal?: Deno.Signal): Promise<void>;
}

/** Options for {@linkcode spawnScheduler}. */
export interface SpawnSchedulerOptions {
  readonly cluster: string;
  readonly sid: string;
  readonly etcdEndpoints: readonly string[];
  /** The store used to wait for the registration. */
  readonly store: Store;
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts `scheduler/main.ts` and waits until it has registered in etcd. */
export async function spawnScheduler(options: SpawnSchedulerOptions): Promise<SchedulerProcess> {
  const { cluster, sid, store } = options;
  const logFile = await Deno.makeTempFile({
    prefix: `scheduler-${cluster}-${sid}-`,
    suffix: ".log",
  });
  const log = await Deno.open(logFile, { write: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("scheduler/main.ts", ROOT).pathname],
    env: {
      FAAS_CLUSTER: cluster,
      SCHEDULER_ID: sid,
      SCHEDULER_RPC_PORT: "0",
      FAAS_ETCD_ENDPOINTS: options.etcdEndpoints.join(","),
      FAAS_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      FAAS_KAFKA_TOPIC_PREFIX: `${cluster}-`,
      FAAS_FETCH_TOKEN_SECRET: SECRET,
      // Any free port, so programs of parallel tests never collide; tests may pin one.
      METRICS_PORT: "0",
      FAAS_LEASE_TTL_SECONDS: "3",
      FAAS_KAFKA_SESSION_TIMEOUT_MS: "6000",
      LOG_LEVEL: "INFO",
      ...options.env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const copying = copyLog(child.stderr, log);
  const key = `${cluster}/scheduler/${sid}`;
  await eventually(
    `scheduler ${sid} to register (log: ${logFile})`,
    async () => (await store.get(key)) !== undefined,
    30_000,
  );
  const state = SchedulerStates.parse(JSON.parse((await store.get(key))!.value));
  let exited: Promise<unknown> | undefined;
  const kill = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
    exited ??= Promise.all([child.status, copying]);
    await exited;
  };
  return {
    sid,
    rpcPort: state.endpoints.rpcPort,
    pid: child.pid,
    kill,
    [Symbol.asyncDispose]: () => kill("SIGKILL"),
  };
}

/** A program (`scheduler`, `invoker` or `controller`) running as a child process. */
export interface ProgramProcess extends AsyncDisposable {
  readonly pid: number;
  /** Where its log (stderr) goes. */
  readonly logFile: string;
  kill(signal?: Deno.Signal): Promise<void>;
}

/** Options for {@linkcode spawnProgram}. */
export interface SpawnProgramOptions {
  readonly program: "scheduler" | "invoker" | "controller";
  readonly cluster: string;
  readonly etcdEndpoints: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Resolves true once the program is ready; polled for up to 30 s. */
  readonly ready: () => Promise<boolean>;
}

/** Starts `{program}/main.ts` with the cluster's settings and waits until `ready`. */
export async function spawnProgram(options: SpawnProgramOptions): Promise<ProgramProcess> {
  const { program, cluster } = options;
  const logFile = await Deno.makeTempFile({ prefix: `${program}-${cluster}-`, suffix: ".log" });
  const log = await Deno.open(logFile, { write: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`${program}/main.ts`, ROOT).pathname],
    env: {
      FAAS_CLUSTER: cluster,
      FAAS_ETCD_ENDPOINTS: options.etcdEndpoints.join(","),
      FAAS_KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      FAAS_KAFKA_TOPIC_PREFIX: `${cluster}-`,
      FAAS_FETCH_TOKEN_SECRET: SECRET,
      // Any free port, so programs of parallel tests never collide; tests may pin one.
      METRICS_PORT: "0",
      LOG_LEVEL: "INFO",
      ...options.env,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const copying = copyLog(child.stderr, log);
  let exited: Promise<unknown> | undefined;
  const kill = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
    exited ??= Promise.all([child.status, copying]);
    await exited;
  };
  try {
    await eventually(`${program} to be ready (log: ${logFile})`, options.ready, 30_000);
  } catch (error) {
    await kill("SIGKILL");
    throw error;
  }
  return { pid: child.pid, logFile, kill, [Symbol.asyncDispose]: () => kill("SIGKILL") };
}

/**
 * Copies a child's output to its log file as it comes. (`pipeTo` a file's
 * writable holds everything back until the stream ends, so a test reading the
 * log of a running program would see nothing.)
 */
export async function copyLog(
  output: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
): Promise<void> {
  try {
    for await (const chunk of output) {
      for (let written = 0; written < chunk.length;) {
        written += await file.write(chunk.subarray(written));
      }
    }
  } catch {
    // The child is gone or the file closed: nothing more to copy.
  } finally {
    file.close();
  }
}

/** A free TCP port on loopback, for programs that need a fixed one. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
