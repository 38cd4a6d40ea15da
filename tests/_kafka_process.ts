/**
 * A throwaway single-node Kafka broker (KRaft) for tests that kill the broker,
 * which must never be done to the shared one. Uses the jars `scripts/services.sh`
 * caches.
 *
 * @module
 */
import { freePort } from "./_processes.ts";

const VERSION = Deno.env.get("FAAS_KAFKA_VERSION") ?? "3.9.1";
const CACHE = Deno.env.get("FAAS_CACHE_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/faas`;
const LIB = `${CACHE}/kafka-${VERSION}/lib`;

/** A private broker on free loopback ports with a temporary data dir. */
export class KafkaProcess implements AsyncDisposable {
  readonly #dir: string;
  readonly port: number;
  #child: Deno.ChildProcess;

  private constructor(dir: string, port: number) {
    this.#dir = dir;
    this.port = port;
    this.#child = this.#spawn();
  }

  /** Formats storage, starts the broker and waits until it accepts connections. */
  static async start(): Promise<KafkaProcess> {
    const dir = await Deno.makeTempDir({ prefix: "faas-kafka-" });
    const port = freePort();
    const controllerPort = freePort();
    await Deno.writeTextFile(`${dir}/server.properties`, properties(dir, port, controllerPort));
    const format = await new Deno.Command("java", {
      args: [
        "-cp",
        `${LIB}/*`,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        crypto.randomUUID().slice(0, 22),
        "-c",
        `${dir}/server.properties`,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!format.success) throw new Error(`Cannot format Kafka storage in "${dir}"`);
    const kafka = new KafkaProcess(dir, port);
    await kafka.#waitReady();
    return kafka;
  }

  /** `host:port` of the broker. */
  get broker(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Kills the broker outright (SIGKILL). */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.#child.status;
  }

  /** Starts the killed broker again on the same ports and data. */
  async restart(): Promise<void> {
    this.#child = this.#spawn();
    await this.#waitReady();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  #spawn(): Deno.ChildProcess {
    return new Deno.Command("java", {
      args: [
        "-Xms128m",
        "-Xmx512m",
        "-cp",
        `${LIB}/*`,
        "kafka.Kafka",
        `${this.#dir}/server.properties`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  async #waitReady(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: this.port })).close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(`Kafka on port ${this.port} did not start within 60 s`);
  }
}

function properties(dir: string, port: number, controllerPort: number): string {
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    `log.dirs=${dir}/data`,
    "num.partitions=1",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    "auto.create.topics.enable=true",
    "",
  ].join("\n");
}
