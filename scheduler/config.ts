/**
 * Scheduler configuration: read once from the environment, validated, frozen.
 *
 * @module
 */
import { ConfigError, deepFreeze, envList, envPort, envPositiveMs, parseEnv } from "@faas/config";
import { z } from "zod";

export { ConfigError };

const port = envPort;
const positiveMs = envPositiveMs;
const list = envList;

const Env = z.object({
  FAAS_CLUSTER: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default("whisk"),
  SCHEDULER_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default("0"),
  SCHEDULER_HOST: z.string().min(1).default("127.0.0.1"),
  SCHEDULER_BIND_HOST: z.string().min(1).default("127.0.0.1"),
  SCHEDULER_RPC_PORT: port.default(13001),
  METRICS_PORT: z.coerce.number().int().min(-1).max(65535).default(9101),
  FAAS_ETCD_ENDPOINTS: list.pipe(z.array(z.url()).min(1)).default(["http://127.0.0.1:2379"]),
  FAAS_KAFKA_BROKERS: list.pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/)).min(1)).default([
    "127.0.0.1:9092",
  ]),
  FAAS_KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{0,100}$/).default(""),
  FAAS_KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(10_000),
  FAAS_FETCH_TOKEN_SECRET: z.string().min(16, "must have at least 16 characters"),
  FAAS_LEASE_TTL_SECONDS: z.coerce.number().int().min(2).max(3600).default(10),
  SCHEDULER_FETCH_WAIT_MS: positiveMs.default(1_000),
  SCHEDULER_QUEUE_TIMEOUT_MS: positiveMs.default(5_000),
  SCHEDULER_CHECK_INTERVAL_MS: positiveMs.default(100),
  SCHEDULER_STALE_THRESHOLD_MS: positiveMs.default(100),
  QUEUE_MAX_RETENTION: z.coerce.number().int().positive().default(10_000),
  QUEUE_THROTTLING_FRACTION: z.coerce.number().gt(0).max(1).default(0.9),
  QUEUE_MAX_RETENTION_MS: positiveMs.default(60_000),
  QUEUE_IDLE_GRACE_MS: positiveMs.default(20_000),
  QUEUE_STOP_GRACE_MS: positiveMs.default(20_000),
  QUEUE_LOST_CONTAINER_GRACE_MS: positiveMs.default(10_000),
  LOG_LEVEL: z.enum(["DEBUG", "INFO", "WARN", "ERROR"]).default("INFO"),
});

/** Everything a scheduler needs to run; units are in the names. */
export interface SchedulerConfig {
  readonly cluster: string;
  readonly schedulerId: string;
  /** Host other programs use to reach this scheduler. */
  readonly advertisedHost: string;
  readonly bindHost: string;
  /** gRPC port; 0 picks a free one. */
  readonly rpcPort: number;
  /** Port of the Prometheus `/metrics` endpoint (on `bindHost`); 0 picks a free one, -1 disables it. */
  readonly metricsPort: number;
  readonly etcdEndpoints: readonly string[];
  readonly kafkaBrokers: readonly string[];
  readonly topicPrefix: string;
  /** A dead consumer's partitions move to another after this long. */
  readonly kafkaSessionTimeoutMs: number;
  readonly fetchTokenSecret: string;
  readonly leaseTtlSeconds: number;
  readonly fetchWaitMs: number;
  readonly queueTimeoutMs: number;
  readonly checkIntervalMs: number;
  readonly queue: {
    readonly maxRetention: number;
    readonly throttlingFraction: number;
    readonly maxRetentionMs: number;
    readonly staleThresholdMs: number;
    readonly idleGraceMs: number;
    readonly stopGraceMs: number;
    /** A container silent this long past the action's time limit counts as lost. */
    readonly lostContainerGraceMs: number;
  };
  readonly logLevel: "DEBUG" | "INFO" | "WARN" | "ERROR";
}

/**
 * Reads the scheduler configuration from environment variables.
 *
 * @throws {ConfigError} listing every missing or invalid variable
 */
export function loadSchedulerConfig(
  env: Readonly<Record<string, string | undefined>>,
): SchedulerConfig {
  const e = parseEnv(Env, env);
  return deepFreeze({
    cluster: e.FAAS_CLUSTER,
    schedulerId: e.SCHEDULER_ID,
    advertisedHost: e.SCHEDULER_HOST,
    bindHost: e.SCHEDULER_BIND_HOST,
    rpcPort: e.SCHEDULER_RPC_PORT,
    metricsPort: e.METRICS_PORT,
    etcdEndpoints: e.FAAS_ETCD_ENDPOINTS,
    kafkaBrokers: e.FAAS_KAFKA_BROKERS,
    topicPrefix: e.FAAS_KAFKA_TOPIC_PREFIX,
    kafkaSessionTimeoutMs: e.FAAS_KAFKA_SESSION_TIMEOUT_MS,
    fetchTokenSecret: e.FAAS_FETCH_TOKEN_SECRET,
    leaseTtlSeconds: e.FAAS_LEASE_TTL_SECONDS,
    fetchWaitMs: e.SCHEDULER_FETCH_WAIT_MS,
    queueTimeoutMs: e.SCHEDULER_QUEUE_TIMEOUT_MS,
    checkIntervalMs: e.SCHEDULER_CHECK_INTERVAL_MS,
    queue: {
      maxRetention: e.QUEUE_MAX_RETENTION,
      throttlingFraction: e.QUEUE_THROTTLING_FRACTION,
      maxRetentionMs: e.QUEUE_MAX_RETENTION_MS,
      staleThresholdMs: e.SCHEDULER_STALE_THRESHOLD_MS,
      idleGraceMs: e.QUEUE_IDLE_GRACE_MS,
      stopGraceMs: e.QUEUE_STOP_GRACE_MS,
      lostContainerGraceMs: e.QUEUE_LOST_CONTAINER_GRACE_MS,
    },
    logLevel: e.LOG_LEVEL,
  });
}
