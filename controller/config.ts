/**
 * Controller configuration: read once from the environment, validated, frozen.
 *
 * @module
 */
import { deepFreeze, envList, parseEnv } from "@faas/config";
import { z } from "zod";
import { type AuthKey, GUEST_AUTH_KEY, parseAuthKeys } from "./auth/auth_keys.ts";
import { ConfigError } from "./errors.ts";

export { ConfigError };

const list = envList;

const authKeys = z.string().transform((text, context): AuthKey[] => {
  const parsed = parseAuthKeys(text);
  if (parsed.ok) return [...parsed.keys];
  for (const message of parsed.problems) context.addIssue({ code: "custom", message });
  return z.NEVER;
});

const Env = z.object({
  FAAS_CLUSTER: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default("whisk"),
  CONTROLLER_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default("0"),
  CONTROLLER_HOST: z.string().min(1).default("127.0.0.1"),
  CONTROLLER_PORT: z.coerce.number().int().min(0).max(65535).default(3233),
  METRICS_PORT: z.coerce.number().int().min(-1).max(65535).default(9103),
  FAAS_ETCD_ENDPOINTS: list.pipe(z.array(z.url()).min(1)).default(["http://127.0.0.1:2379"]),
  FAAS_KAFKA_BROKERS: list.pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/)).min(1)).default([
    "127.0.0.1:9092",
  ]),
  FAAS_KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{0,100}$/).default(""),
  FAAS_AUTH_KEYS: authKeys.prefault(GUEST_AUTH_KEY),
  CONTROLLER_MAX_BODY_BYTES: z.coerce.number().int().min(1_024).max(64 * 1_048_576).default(
    1_048_576,
  ),
  CONTROLLER_BLOCKING_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(60_000),
  CONTROLLER_ACTIVATION_RETENTION_SECONDS: z.coerce.number().int().min(10).max(30 * 86_400)
    .default(3_600),
  CONTROLLER_NAMESPACE_CONTAINER_LIMIT: z.coerce.number().int().min(0).max(100_000).optional(),
  LOG_LEVEL: z.enum(["DEBUG", "INFO", "WARN", "ERROR"]).default("INFO"),
});

/** Everything a controller needs to run; units are in the names. */
export interface ControllerConfig {
  /** etcd key prefix shared by all programs. */
  readonly cluster: string;
  /** Completions for this controller arrive on Kafka `completed{controllerId}`. */
  readonly controllerId: string;
  /** Address the REST API listens on. */
  readonly host: string;
  /** Port the REST API listens on; 0 picks a free one. */
  readonly port: number;
  /** Port of the Prometheus `/metrics` endpoint (on `host`); 0 picks a free one, -1 disables it. */
  readonly metricsPort: number;
  /** etcd URLs (used by `main.ts` to connect). */
  readonly etcdEndpoints: readonly string[];
  /** Kafka `host:port` brokers (used by `main.ts` to connect). */
  readonly kafkaBrokers: readonly string[];
  /** The prefix of every Kafka topic. */
  readonly topicPrefix: string;
  /** The credentials accepted, one namespace each. */
  readonly authKeys: readonly AuthKey[];
  /** Larger request bodies are refused with 413. */
  readonly maxBodyBytes: number;
  /** A blocking invoke answers 202 with the activation id after this long. */
  readonly blockingTimeoutMs: number;
  /** Activation records stay readable at least this long. */
  readonly activationRetentionSeconds: number;
  /**
   * Most containers a namespace may hold, sent with every activation
   * (OpenWhisk's `concurrentInvocations`); unset leaves the schedulers' default (30).
   */
  readonly namespaceContainerLimit?: number;
  /** Lowest level logged. */
  readonly logLevel: "DEBUG" | "INFO" | "WARN" | "ERROR";
}

/**
 * Reads the controller configuration from environment variables.
 *
 * @throws {ConfigError} listing every missing or invalid variable
 */
export function loadControllerConfig(
  env: Readonly<Record<string, string | undefined>>,
): ControllerConfig {
  const e = parseEnv(Env, env);
  return deepFreeze({
    cluster: e.FAAS_CLUSTER,
    controllerId: e.CONTROLLER_ID,
    host: e.CONTROLLER_HOST,
    port: e.CONTROLLER_PORT,
    metricsPort: e.METRICS_PORT,
    etcdEndpoints: e.FAAS_ETCD_ENDPOINTS,
    kafkaBrokers: e.FAAS_KAFKA_BROKERS,
    topicPrefix: e.FAAS_KAFKA_TOPIC_PREFIX,
    authKeys: e.FAAS_AUTH_KEYS,
    maxBodyBytes: e.CONTROLLER_MAX_BODY_BYTES,
    blockingTimeoutMs: e.CONTROLLER_BLOCKING_TIMEOUT_MS,
    activationRetentionSeconds: e.CONTROLLER_ACTIVATION_RETENTION_SECONDS,
    ...(e.CONTROLLER_NAMESPACE_CONTAINER_LIMIT === undefined
      ? {}
      : { namespaceContainerLimit: e.CONTROLLER_NAMESPACE_CONTAINER_LIMIT }),
    logLevel: e.LOG_LEVEL,
  });
}
