/**
 * Invoker configuration: read once from the environment, validated, frozen.
 *
 * @module
 */
import { deepFreeze, envList, envPositiveMs, parseEnv } from "@faas/config";
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import type { KeepAliveSettings } from "./keep_alive.ts";

export { ConfigError };

/** Docker images per action kind used when `INVOKER_DOCKER_IMAGES` does not name one. */
export const DEFAULT_DOCKER_IMAGES: Readonly<Record<string, string>> = Object.freeze({
  "nodejs:18": "openwhisk/action-nodejs-v18",
  "nodejs:20": "openwhisk/action-nodejs-v20",
  "python:3": "openwhisk/action-python-v3.11",
  "python:3.11": "openwhisk/action-python-v3.11",
  "go:1.21": "openwhisk/action-golang-v1.21",
});

const KIND = /^[a-z][a-z0-9.-]*(:[A-Za-z0-9.*_-]+)?$/;
const list = envList;
const positiveMs = envPositiveMs;

/** A JSON object in an environment variable, validated with `schema`. */
function jsonVar<S extends z.ZodType>(schema: S) {
  return z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "must be valid JSON" });
      return z.NEVER;
    }
  }).pipe(schema);
}

// A command is a string split on whitespace, or an argv array; it must take the port.
const Command = z.union([
  z.string().transform((s) => s.trim().split(/\s+/).filter(Boolean)),
  z.array(z.string().min(1)),
]).pipe(
  z.array(z.string()).min(1).refine((argv) => argv.some((a) => a.includes("{port}")), {
    message: 'must contain "{port}"',
  }),
);

const Env = z.object({
  FAAS_CLUSTER: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default("whisk"),
  INVOKER_ID: z.string().regex(/^\d{1,9}$/, "must be a non-negative integer").default("0"),
  FAAS_ETCD_ENDPOINTS: list.pipe(z.array(z.url()).min(1)).default(["http://127.0.0.1:2379"]),
  FAAS_KAFKA_BROKERS: list.pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/)).min(1)).default([
    "127.0.0.1:9092",
  ]),
  FAAS_KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{0,100}$/).default(""),
  FAAS_KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(10_000),
  FAAS_LEASE_TTL_SECONDS: z.coerce.number().int().min(2).max(3600).default(10),
  METRICS_HOST: z.string().min(1).default("127.0.0.1"),
  METRICS_PORT: z.coerce.number().int().min(-1).max(65535).default(9102),
  INVOKER_USER_MEMORY_MB: z.coerce.number().int().min(128).max(1_048_576).default(2048),
  INVOKER_TAGS: list.pipe(z.array(z.string().max(64))).default([]),
  INVOKER_DEDICATED_NAMESPACES: list.pipe(z.array(z.string().max(256))).default([]),
  CONTAINER_IDLE_MS: positiveMs.default(10_000),
  INVOKER_KEEP_ALIVE_POLICY: z.enum(["fixed", "adaptive"]).default("fixed"),
  INVOKER_KEEP_ALIVE_MIN_MS: positiveMs.default(60_000),
  INVOKER_KEEP_ALIVE_MAX_MS: positiveMs.default(3_600_000),
  INVOKER_KEEP_ALIVE_MIN_SAMPLES: z.coerce.number().int().min(1).max(1_000).default(10),
  INVOKER_KEEP_ALIVE_MARGIN_PERCENT: z.coerce.number().min(0).max(1_000).default(10),
  INVOKER_CONTAINER_START_TIMEOUT_MS: positiveMs.default(30_000),
  INVOKER_CONTAINER_FACTORY: z.enum(["process", "docker"]).default("process"),
  FAAS_RUNTIME_COMMANDS: jsonVar(z.record(z.string().regex(KIND, "must be a kind"), Command))
    .default({}),
  INVOKER_ACTION_ALLOW_NET: list.pipe(z.array(z.string().regex(/^[^\s,]+$/))).default([]),
  INVOKER_DOCKER_SOCKET: z.string().startsWith("/").default("/var/run/docker.sock"),
  INVOKER_DOCKER_IMAGES: jsonVar(z.record(z.string().regex(KIND), z.string().min(1)))
    .default({}),
  LOG_LEVEL: z.enum(["DEBUG", "INFO", "WARN", "ERROR"]).default("INFO"),
}).refine((e) => e.INVOKER_KEEP_ALIVE_MIN_MS <= e.INVOKER_KEEP_ALIVE_MAX_MS, {
  path: ["INVOKER_KEEP_ALIVE_MIN_MS"],
  message: "must not exceed INVOKER_KEEP_ALIVE_MAX_MS",
});

/** Everything an invoker needs to run; units are in the names. */
export interface InvokerConfig {
  /** etcd key prefix shared by all programs. */
  readonly cluster: string;
  /** Numeric id; the invoker consumes Kafka topic `invoker{id}`. */
  readonly invokerId: string;
  /** etcd URLs. */
  readonly etcdEndpoints: readonly string[];
  /** Kafka brokers as `host:port`. */
  readonly kafkaBrokers: readonly string[];
  /** Prefix of every topic name. */
  readonly topicPrefix: string;
  /** A dead consumer's partitions move to another after this long. */
  readonly kafkaSessionTimeoutMs: number;
  /** TTL of the invoker's etcd lease; its keys vanish this long after it dies. */
  readonly leaseTtlSeconds: number;
  /** Memory shared by all containers of this invoker. */
  readonly userMemoryMb: number;
  /** Address of the Prometheus `/metrics` endpoint. */
  readonly metricsHost: string;
  /** Port of the Prometheus `/metrics` endpoint; 0 picks a free one, -1 disables it. */
  readonly metricsPort: number;
  /** Resource tags schedulers match against action annotations. */
  readonly tags: readonly string[];
  /** When not empty, only these namespaces get containers here. */
  readonly dedicatedNamespaces: readonly string[];
  /**
   * An idle container is removed (not paused) after this long without an
   * activation; with the adaptive keep-alive, until its action has a history.
   */
  readonly containerIdleMs: number;
  /** How long idle containers are kept: fixed, or learned per action. */
  readonly keepAlive: KeepAliveSettings;
  /** A container not ready within this long fails to start. */
  readonly containerStartTimeoutMs: number;
  /** How containers run: child processes or Docker containers. */
  readonly containerFactory: "process" | "docker";
  /** Process factory: argv per kind (`name:*` matches a family), `{port}` substituted. */
  readonly runtimeCommands: Readonly<Record<string, readonly string[]>>;
  /** Process factory: hosts our own JS/TS runtime lets actions connect to. */
  readonly actionAllowNet: readonly string[];
  /** Docker factory settings. */
  readonly docker: {
    /** The Docker Engine's unix socket. */
    readonly socketPath: string;
    /** Image per kind (`name:*` matches a family). */
    readonly images: Readonly<Record<string, string>>;
  };
  /** Lowest level logged. */
  readonly logLevel: "DEBUG" | "INFO" | "WARN" | "ERROR";
}

/**
 * Reads the invoker configuration from environment variables.
 *
 * @throws {ConfigError} listing every missing or invalid variable
 */
export function loadInvokerConfig(
  env: Readonly<Record<string, string | undefined>>,
): InvokerConfig {
  const e = parseEnv(Env, env);
  return deepFreeze({
    cluster: e.FAAS_CLUSTER,
    invokerId: e.INVOKER_ID,
    etcdEndpoints: e.FAAS_ETCD_ENDPOINTS,
    kafkaBrokers: e.FAAS_KAFKA_BROKERS,
    topicPrefix: e.FAAS_KAFKA_TOPIC_PREFIX,
    kafkaSessionTimeoutMs: e.FAAS_KAFKA_SESSION_TIMEOUT_MS,
    leaseTtlSeconds: e.FAAS_LEASE_TTL_SECONDS,
    userMemoryMb: e.INVOKER_USER_MEMORY_MB,
    metricsHost: e.METRICS_HOST,
    metricsPort: e.METRICS_PORT,
    tags: e.INVOKER_TAGS,
    dedicatedNamespaces: e.INVOKER_DEDICATED_NAMESPACES,
    containerIdleMs: e.CONTAINER_IDLE_MS,
    keepAlive: {
      policy: e.INVOKER_KEEP_ALIVE_POLICY,
      minMs: e.INVOKER_KEEP_ALIVE_MIN_MS,
      maxMs: e.INVOKER_KEEP_ALIVE_MAX_MS,
      minSamples: e.INVOKER_KEEP_ALIVE_MIN_SAMPLES,
      marginPercent: e.INVOKER_KEEP_ALIVE_MARGIN_PERCENT,
    },
    containerStartTimeoutMs: e.INVOKER_CONTAINER_START_TIMEOUT_MS,
    containerFactory: e.INVOKER_CONTAINER_FACTORY,
    runtimeCommands: e.FAAS_RUNTIME_COMMANDS,
    actionAllowNet: e.INVOKER_ACTION_ALLOW_NET,
    docker: {
      socketPath: e.INVOKER_DOCKER_SOCKET,
      images: { ...DEFAULT_DOCKER_IMAGES, ...e.INVOKER_DOCKER_IMAGES },
    },
    logLevel: e.LOG_LEVEL,
  });
}

/**
 * The entry of `table` for `kind`: an exact match, else a `name:*` family entry.
 * Shared by the factories so both read kind maps the same way.
 */
export function lookupKind<T>(table: Readonly<Record<string, T>>, kind: string): T | undefined {
  if (Object.hasOwn(table, kind)) return table[kind];
  const family = `${kind.split(":", 1)[0]}:*`;
  return Object.hasOwn(table, family) ? table[family] : undefined;
}
