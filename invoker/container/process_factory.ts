/**
 * The default container factory: every container is a child process serving
 * the action protocol on its own loopback port. `nodejs:*`, `deno:*` and
 * `typescript*` kinds run our runtime (`../runtime/action_runtime.ts`) under
 * `deno run` with narrow permissions; any other kind runs the command
 * configured for it, with `{port}` substituted.
 *
 * @module
 */
import { deadline } from "../_deadline.ts";
import { getLogger } from "@std/log";
import { lookupKind } from "../config.ts";
import { ContainerStartError } from "../errors.ts";
import type {
  Container,
  ContainerFactory,
  ContainerSpec,
  CreateContainerOptions,
} from "./container_factory.ts";
import { ProcessContainer } from "./process_container.ts";
import { freePort, waitForPort } from "./wait_for_port.ts";

const logger = getLogger("invoker", "process");

/** The runtime our JS/TS kinds run in. */
export const ACTION_RUNTIME_PATH: string = new URL(
  "../runtime/action_runtime.ts",
  import.meta.url,
).pathname;

/** Whether our own runtime runs `kind`. */
export function isBuiltinKind(kind: string): boolean {
  return /^(nodejs|deno|typescript)(:|$)/.test(kind);
}

/** Options for {@linkcode ProcessContainerFactory}. */
export interface ProcessContainerFactoryOptions {
  /** The Deno executable that runs our runtime. @default {Deno.execPath()} */
  readonly denoPath?: string;
  /** Argv per kind for other runtimes; `name:*` matches a family. @default {{}} */
  readonly runtimeCommands?: Readonly<Record<string, readonly string[]>>;
  /** Hosts (`host` or `host:port`) our runtime lets actions connect to. @default {[]} */
  readonly actionAllowNet?: readonly string[];
  /** A container not ready within this long fails to start. @default {30_000} */
  readonly startTimeoutMs?: number;
  /** Environment of every container process, e.g. `PATH`; nothing else is inherited. @default {{}} */
  readonly baseEnv?: Readonly<Record<string, string>>;
}

interface Launch {
  readonly argv: readonly string[];
  /** Our runtime prints `READY <port>`; other commands get `port` and are polled. */
  readonly port?: number;
}

/** Starts containers as child processes. */
export class ProcessContainerFactory implements ContainerFactory {
  readonly #options: Required<ProcessContainerFactoryOptions>;
  readonly #live = new Set<Container>();

  /** Creates the factory; nothing starts until {@linkcode ProcessContainerFactory.create}. */
  constructor(options: ProcessContainerFactoryOptions = {}) {
    this.#options = {
      denoPath: options.denoPath ?? Deno.execPath(),
      runtimeCommands: options.runtimeCommands ?? {},
      actionAllowNet: options.actionAllowNet ?? [],
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      baseEnv: options.baseEnv ?? {},
    };
  }

  async create(spec: ContainerSpec, options: CreateContainerOptions = {}): Promise<Container> {
    const launch = this.#launchFor(spec);
    const started = performance.now();
    const ready = Promise.withResolvers<number>();
    const container = new ProcessContainer({
      id: spec.id,
      child: this.#spawn(spec, launch),
      ...(spec.logLimitBytes ? { logLimitBytes: spec.logLimitBytes } : {}),
      onStdoutLine: (line) => {
        const match = launch.port === undefined ? /^READY (\d+)$/.exec(line) : null;
        if (match) ready.resolve(Number(match[1]));
        return match !== null;
      },
    });
    this.#live.add(container);
    void container.exited.then(() => this.#live.delete(container));
    try {
      container.listenOn(await this.#whenReady(container, launch, ready.promise, options.signal));
    } catch (error) {
      await container.destroy();
      throw await this.#startError(spec, container, error);
    }
    logger.debug("Container {containerId} ready in {ms} ms", {
      containerId: spec.id,
      kind: spec.kind,
      pid: container.pid,
      ms: Math.round(performance.now() - started),
    });
    return container;
  }

  /** Destroys every container this factory started that is still running. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.#live].map((c) => c.destroy()));
  }

  #launchFor(spec: ContainerSpec): Launch {
    const command = lookupKind(this.#options.runtimeCommands, spec.kind);
    if (command) {
      const port = freePort();
      return {
        argv: wrapForParentDeath(command.map((a) => a.replaceAll("{port}", `${port}`))),
        port,
      };
    }
    if (!isBuiltinKind(spec.kind)) {
      throw new ContainerStartError(
        spec.id,
        spec.kind,
        `Cannot run kind "${spec.kind}": no runtime command is configured for it`,
      );
    }
    const allowNet = ["127.0.0.1:0", ...this.#options.actionAllowNet].join(",");
    return {
      argv: [
        this.#options.denoPath,
        "run",
        "--no-config",
        "--no-lock",
        "--quiet",
        "--no-prompt",
        `--allow-net=${allowNet}`,
        "--allow-env",
        `--v8-flags=--max-old-space-size=${spec.memoryMb}`,
        ACTION_RUNTIME_PATH,
        "--kind",
        spec.kind,
        "--exit-on-stdin-eof",
        "--container-id",
        spec.id,
      ],
    };
  }

  #spawn(spec: ContainerSpec, launch: Launch): Deno.ChildProcess {
    const [program, ...args] = launch.argv;
    try {
      return new Deno.Command(program!, {
        args,
        clearEnv: true,
        env: { ...this.#options.baseEnv, ...spec.env },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (cause) {
      throw new ContainerStartError(
        spec.id,
        spec.kind,
        `Cannot start "${program}" for kind "${spec.kind}": ${String(cause)}`,
        { cause },
      );
    }
  }

  async #whenReady(
    container: ProcessContainer,
    launch: Launch,
    announced: Promise<number>,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    using limit = deadline(this.#options.startTimeoutMs);
    const timeout = limit.signal;
    const gaveUp = AbortSignal.any(signal ? [signal, timeout] : [timeout]);
    const stop = new AbortController();
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(gaveUp.reason);
      gaveUp.addEventListener("abort", fail, { once: true, signal: stop.signal });
      if (gaveUp.aborted) fail();
    });
    const exited = container.exited.then((exit): never => {
      throw new Error(`it exited with code ${exit.code ?? "(signal)"} before it was ready`);
    });
    const port = launch.port;
    const ready = port === undefined
      ? announced
      : waitForPort(port, { signal: AbortSignal.any([gaveUp, stop.signal]) }).then(() => port);
    // The losers of the race settle later; they must not surface as unhandled.
    for (const p of [ready, exited, aborted]) p.catch(() => {});
    try {
      return await Promise.race([ready, exited, aborted]);
    } finally {
      stop.abort();
    }
  }

  async #startError(
    spec: ContainerSpec,
    container: ProcessContainer,
    error: unknown,
  ): Promise<ContainerStartError> {
    if (error instanceof ContainerStartError) return error;
    const output = await container.logs({ signal: AbortSignal.abort() });
    const tail = output.lines.slice(-5).map((l) => l.text).join(" | ");
    const reason = error instanceof Error ? error.message : String(error);
    return new ContainerStartError(
      spec.id,
      spec.kind,
      `Cannot start container "${spec.id}" of kind "${spec.kind}": ${reason}${
        tail ? `; output: ${tail}` : ""
      }`,
      { cause: error },
    );
  }
}

/**
 * Runs `argv` under `sh` so that it is killed once our end of its stdin closes,
 * which happens when the invoker dies, even by SIGKILL. The command itself gets
 * no stdin; `sh` exits with the command's status.
 */
function wrapForParentDeath(argv: readonly string[]): string[] {
  const script = 'exec 3<&0; "$@" 3<&- </dev/null & pid=$!; ' +
    "{ cat <&3 >/dev/null; kill $pid 2>/dev/null; } & exec 3<&-; wait $pid";
  return ["sh", "-c", script, "sh", ...argv];
}
