/**
 * The embedded system (controller, scheduler, invoker in this process) on
 * the real etcd and Kafka, under a cluster name and topic prefix of its own,
 * for one benchmark section.
 *
 * @module
 */
import { GUEST_KEY } from "@faas/controller";
import { type Embedded, startEmbedded } from "../dev/embedded.ts";

/** REST headers of the guest: basic auth and a JSON body. */
export const GUEST_HEADERS = {
  authorization: `Basic ${btoa(GUEST_KEY)}`,
  "content-type": "application/json",
} as const;

/** Where the real services are. */
export interface Services {
  readonly etcdEndpoints: readonly string[];
  readonly kafkaBrokers: readonly string[];
}

/** Starts a fresh system named `{prefix}{n}`; `settings` add to or override the defaults. */
export async function benchSystem(
  services: Services,
  prefix: string,
  settings: Readonly<Record<string, string>> = {},
): Promise<Embedded & { readonly cluster: string }> {
  const cluster = `${prefix}${Date.now() % 1_000_000}`;
  const system = await startEmbedded({
    port: 0,
    metricsPort: -1,
    etcdEndpoints: services.etcdEndpoints,
    kafkaBrokers: services.kafkaBrokers,
    settings: {
      FAAS_CLUSTER: cluster,
      FAAS_KAFKA_TOPIC_PREFIX: `${cluster}-`,
      // Records outlive the run only briefly: a long series of runs must not fill etcd.
      CONTROLLER_ACTIVATION_RETENTION_SECONDS: "600",
      ...settings,
    },
  });
  return Object.assign(system, { cluster });
}
