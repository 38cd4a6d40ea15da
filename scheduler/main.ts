/**
 * Runs one scheduler from environment configuration (see README).
 *
 * @module
 */
import { connectKafka } from "@faas/bus";
import { connectEtcd } from "@faas/coordination";
import { createMetrics, serveMetrics } from "@faas/metrics";
import { getLogger, setup } from "@std/log";
import { ConfigError, loadSchedulerConfig } from "./config.ts";
import { createScheduler } from "./scheduler.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = loadSchedulerConfig(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    await setup();
    getLogger("scheduler").critical("{message}", { message: error.message });
    return 2;
  }
  await setup({ level: config.logLevel });
  const logger = getLogger("scheduler");
  await using store = await connectEtcd({ endpoints: config.etcdEndpoints });
  await using bus = await connectKafka({
    brokers: config.kafkaBrokers,
    clientId: `scheduler${config.schedulerId}`,
    sessionTimeout: config.kafkaSessionTimeoutMs,
  });
  const metrics = createMetrics();
  await using _metricsServer = config.metricsPort < 0
    ? undefined
    : serveMetrics({ host: config.bindHost, port: config.metricsPort, metrics });
  await using scheduler = await createScheduler(config, { store, bus, metrics });
  const stop = () => void scheduler.close();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  const failure = await scheduler.closed;
  if (failure) logger.critical("Scheduler stopped: {error}", { error: failure.message });
  return failure ? 1 : 0;
}

Deno.exit(await main());
