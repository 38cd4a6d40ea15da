/**
 * Helpers for containers that announce nothing: pick a free port for them,
 * then wait until something accepts connections on it.
 *
 * @module
 */

/** Returns a loopback port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Options for {@linkcode waitForPort}. */
export interface WaitForPortOptions {
  /** Gives up; the promise rejects with the signal's reason. */
  readonly signal: AbortSignal;
  /** Pause between attempts. @default {20} */
  readonly intervalMs?: number;
  /** Host to connect to. @default {"127.0.0.1"} */
  readonly hostname?: string;
}

/** Resolves once a TCP connection to `port` succeeds. */
export async function waitForPort(port: number, options: WaitForPortOptions): Promise<void> {
  const { signal, intervalMs = 20, hostname = "127.0.0.1" } = options;
  while (true) {
    signal.throwIfAborted();
    try {
      const connection = await Deno.connect({ hostname, port });
      connection.close();
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    }
    await pause(intervalMs, signal);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
