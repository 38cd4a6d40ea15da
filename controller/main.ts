/**
 * Runs one controller from environment configuration (see README): the
 * only place that reads the environment and configures logging.
 *
 * @module
 */
import { connectKafka } from "@faas/bus";
import { connectEtcd } from "@faas/coordination";
import { createMetrics, serveMetrics } from "@faas/metrics";
import { getLogger, setup } from "@std/log";
import { ConfigError, loadControllerConfig } from "./config.ts";
import { createController } from "./controller.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = loadControllerConfig(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    await setup();
    getLogger("controller").critical("{message}", { message: error.message });
    return 2;
  }
  await setup({ level: config.logLevel });
  const logger = getLogger("controller");
  await using store = await connectEtcd({ endpoints: config.etcdEndpoints });
  await using bus = await connectKafka({
    brokers: config.kafkaBrokers,
    clientId: `controller${config.controllerId}`,
  });
  const metrics = createMetrics();
  await using _metricsServer = config.metricsPort < 0
    ? undefined
    : serveMetrics({ host: config.host, port: config.metricsPort, metrics });
  await using controller = await createController(config, { store, bus, metrics });
  const stop = () => void controller.close();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  const failure = await controller.closed;
  if (failure) logger.critical("Controller stopped: {error}", { error: failure.message });
  return failure ? 1 : 0;
}

Deno.exit(await main());
