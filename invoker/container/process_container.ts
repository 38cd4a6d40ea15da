/**
 * A container that is a child process of the invoker: its stdout and stderr
 * feed a {@linkcode LogCollector}, and destroying it closes its stdin (our
 * runtimes exit on that) before it is killed.
 *
 * @module
 */
import type {
  ActivationLogs,
  Container,
  ContainerExit,
  ContainerLogsOptions,
} from "./container_factory.ts";
import { LogCollector } from "./log_collector.ts";

// How long a child gets to exit on its own once its stdin is closed.
const STDIN_GRACE_MS = 200;

/** Options for {@linkcode ProcessContainer}. */
export interface ProcessContainerOptions {
  readonly id: string;
  /** The spawned child, with stdin, stdout and stderr piped. */
  readonly child: Deno.ChildProcess;
  /** Log bytes kept per activation. @default {10_485_760} */
  readonly logLimitBytes?: number;
  /** Time between closing stdin and SIGKILL on destroy. @default {1_000} */
  readonly killGraceMs?: number;
  /**
   * Sees each stdout line before the logs do; returning true keeps the line out
   * of the logs (used for the runtime's `READY <port>` line).
   */
  readonly onStdoutLine?: (line: string) => boolean;
}

/** A running child process serving the action protocol. */
export class ProcessContainer implements Container {
  readonly id: string;
  readonly exited: Promise<ContainerExit>;
  #url = "";
  readonly #child: Deno.ChildProcess;
  readonly #collector: LogCollector;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #killGraceMs: number;
  readonly #pumps: Promise<void>[];
  #destroyed = false;
  #destroying: Promise<void> | undefined;

  /** Starts collecting the child's output. */
  constructor(options: ProcessContainerOptions) {
    const { id, child, logLimitBytes, killGraceMs = 1_000, onStdoutLine } = options;
    this.id = id;
    this.#child = child;
    this.#killGraceMs = killGraceMs;
    this.#collector = new LogCollector(logLimitBytes ? { limitBytes: logLimitBytes } : {});
    this.#stdin = child.stdin.getWriter();
    const stdout = onStdoutLine ? filterLines(child.stdout, onStdoutLine) : child.stdout;
    this.#pumps = [
      this.#collector.pump("stdout", stdout),
      this.#collector.pump("stderr", child.stderr),
    ];
    this.exited = child.status.then((status) => ({
      ...(status.signal === null ? { code: status.code } : {}),
      destroyed: this.#destroyed,
    }));
  }

  /** HTTP base of the action-protocol server; set once the factory knows the port. */
  get url(): string {
    return this.#url;
  }

  /** The child's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Records where the child listens. */
  listenOn(port: number): void {
    this.#url = `http://127.0.0.1:${port}`;
  }

  logs(options: ContainerLogsOptions = {}): Promise<ActivationLogs> {
    return this.#collector.next(options);
  }

  destroy(): Promise<void> {
    this.#destroying ??= this.#stop();
    return this.#destroying;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }

  async #stop(): Promise<void> {
    this.#destroyed = true;
    // Our runtimes (and the wrapper around other commands) exit when stdin
    // closes; what is still there after a moment gets SIGTERM, then SIGKILL.
    await this.#stdin.close().catch(() => {});
    if (!(await this.#exitsWithin(STDIN_GRACE_MS))) {
      this.#signal("SIGTERM");
      if (!(await this.#exitsWithin(this.#killGraceMs))) this.#signal("SIGKILL");
    }
    await this.#child.status;
    await Promise.all(this.#pumps);
  }

  async #exitsWithin(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
    try {
      return await Promise.race([this.#child.status.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #signal(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already exited.
    }
  }
}

// Passes stdout on unchanged, except lines the filter claims.
function filterLines(
  readable: ReadableStream<Uint8Array>,
  claim: (line: string) => boolean,
): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let partial = "";
  let claiming = true;
  return readable.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (!claiming) return controller.enqueue(chunk);
        partial += decoder.decode(chunk, { stream: true });
        const end = partial.lastIndexOf("\n");
        if (end < 0) return;
        const kept = partial.slice(0, end + 1).split("\n").slice(0, -1)
          .filter((line) => !claim(line));
        partial = partial.slice(end + 1);
        // Only the first lines are claimed; afterwards bytes flow through untouched.
        claiming = false;
        const text = kept.map((l) => `${l}\n`).join("") + partial;
        partial = "";
        if (text) controller.enqueue(encoder.encode(text));
      },
      flush(controller) {
        const rest = partial + decoder.decode();
        if (rest && !(claiming && claim(rest))) controller.enqueue(encoder.encode(rest));
      },
    }),
  );
}
