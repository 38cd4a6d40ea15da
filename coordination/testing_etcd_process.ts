/**
 * A throwaway etcd server for tests that pause or kill the server, which must
 * never be done to the shared one other test suites use. Exported as
 * `@faas/coordination/testing_etcd` for tests only.
 *
 * @module
 */
import { sleep } from "./timing.ts";

/** A private single-member etcd on free loopback ports with a temporary data dir. */
export class EtcdProcess implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #dataDir: string;
  #port: number;

  #peerPort: number;

  private constructor(dataDir: string, port: number, peerPort: number) {
    this.#dataDir = dataDir;
    this.#port = port;
    this.#peerPort = peerPort;
    this.#child = this.#spawn();
  }

  /** Starts `etcd` from the PATH and waits until it accepts connections. */
  static async start(options: { readyTimeoutMs?: number } = {}): Promise<EtcdProcess> {
    const dataDir = await Deno.makeTempDir({ prefix: "faas-etcd-" });
    const etcd = new EtcdProcess(dataDir, freePort(), freePort());
    try {
      await waitForPort(etcd.#port, options.readyTimeoutMs ?? 15_000);
      return etcd;
    } catch (error) {
      await etcd[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Kills the server outright and starts it again on the same ports and data. */
  async restart(options: { readyTimeoutMs?: number; downMs?: number } = {}): Promise<void> {
    await this.#kill();
    if (options.downMs) await sleep(options.downMs);
    this.#child = this.#spawn();
    await waitForPort(this.#port, options.readyTimeoutMs ?? 15_000);
  }

  /** The client URL. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing answers. */
  pause(): void {
    this.#child.kill("SIGSTOP");
  }

  /** Thaws a paused server (SIGCONT). */
  resume(): void {
    this.#child.kill("SIGCONT");
  }

  /** Kills the server and deletes its data. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#kill();
    await Deno.remove(this.#dataDir, { recursive: true });
  }

  #spawn(): Deno.ChildProcess {
    return new Deno.Command("etcd", {
      args: etcdArgs(this.#port, this.#peerPort, this.#dataDir),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  }

  async #kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.#child.status;
  }
}

function etcdArgs(port: number, peerPort: number, dataDir: string): string[] {
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    ["--name", "private"],
    ["--data-dir", `${dataDir}/data`],
    ["--listen-client-urls", client],
    ["--advertise-client-urls", client],
    ["--listen-peer-urls", peer],
    ["--initial-advertise-peer-urls", peer],
    ["--initial-cluster", `private=${peer}`],
  ].flat();
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (true) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch (error) {
      if (Date.now() >= giveUpAt) {
        throw new Error(`Etcd did not listen on port "${port}" within ${timeoutMs} ms`, {
          cause: error,
        });
      }
      await sleep(100);
    }
  }
}
