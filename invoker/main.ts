/**
 * Runs one invoker from environment configuration (see README).
 *
 * @module
 */
import { connectKafka } from "@faas/bus";
import { ActionCatalog } from "@faas/catalog";
import { connectEtcd } from "@faas/coordination";
import { createMetrics, serveMetrics } from "@faas/metrics";
import { getLogger, setup } from "@std/log";
import { ConfigError, type InvokerConfig, loadInvokerConfig } from "./config.ts";
import type { ContainerFactory } from "./container/container_factory.ts";
import { DockerContainerFactory } from "./container/docker_factory.ts";
import { ProcessContainerFactory } from "./container/process_factory.ts";
import { createInvoker } from "./invoker.ts";

// What child processes may inherit: enough to find programs and Deno's cache.
const CONTAINER_ENV = ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "LANG", "TZ"];

function containerFactory(config: InvokerConfig): ContainerFactory {
  if (config.containerFactory === "docker") {
    return new DockerContainerFactory({
      socketPath: config.docker.socketPath,
      images: config.docker.images,
      startTimeoutMs: config.containerStartTimeoutMs,
    });
  }
  const baseEnv: Record<string, string> = {};
  for (const name of CONTAINER_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) baseEnv[name] = value;
  }
  return new ProcessContainerFactory({
    runtimeCommands: config.runtimeCommands,
    actionAllowNet: config.actionAllowNet,
    startTimeoutMs: config.containerStartTimeoutMs,
    baseEnv,
  });
}

async function main(): Promise<number> {
  let config;
  try {
    config = loadInvokerConfig(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    await setup();
    getLogger("invoker").critical("{message}", { message: error.message });
    return 2;
  }
  await setup({ level: config.logLevel });
  const logger = getLogger("invoker");
  await using store = await connectEtcd({ endpoints: config.etcdEndpoints });
  await using bus = await connectKafka({
    brokers: config.kafkaBrokers,
    clientId: `invoker${config.invokerId}`,
    sessionTimeout: config.kafkaSessionTimeoutMs,
  });
  await using factory = containerFactory(config);
  const catalog = new ActionCatalog(store, config.cluster);
  const metrics = createMetrics();
  await using _metricsServer = config.metricsPort < 0
    ? undefined
    : serveMetrics({ host: config.metricsHost, port: config.metricsPort, metrics });
  await using invoker = await createInvoker(config, { store, bus, catalog, factory, metrics });
  const stop = () => void invoker.close();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  const failure = await invoker.closed;
  if (failure) logger.critical("Invoker stopped: {error}", { error: failure.message });
  return failure ? 1 : 0;
}

Deno.exit(await main());
