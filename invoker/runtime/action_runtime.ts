/**
 * Our JavaScript/TypeScript action runtime: a small program that serves the
 * OpenWhisk action protocol for one action on 127.0.0.1.
 *
 * - `POST /init` with `{"value": {"code", "main", "binary", "env"}}`, once.
 * - `POST /run` with `{"value": params, "activation_id", "action_name",
 *   "namespace", "deadline", …}`; every field but `value` becomes an
 *   `__OW_<FIELD>` environment variable. Answers the action's JSON result.
 * - After every run (and a failed init) it prints the end-of-activation
 *   sentinel on stdout and stderr, so the invoker can split the logs.
 *
 * Started by the process container factory as
 * `deno run --allow-net=127.0.0.1:0 --allow-env action_runtime.ts --kind <kind>
 * [--port <n>] [--exit-on-stdin-eof]`. It prints `READY <port>` on stdout once
 * it listens. With `--exit-on-stdin-eof` it exits when its stdin closes, which
 * happens when the invoker that spawned it dies, even by SIGKILL.
 *
 * This is a program, not a library: it imports only files beside it, so it runs
 * without the workspace configuration and starts fast.
 *
 * @module
 */
import { type ActionMain, describe, loadAction } from "./action_loader.ts";

const SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n";
const encoder = new TextEncoder();

interface RuntimeArgs {
  readonly kind: string;
  readonly port: number;
  readonly exitOnStdinEof: boolean;
}

function parseArgs(args: readonly string[]): RuntimeArgs {
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  return {
    kind: value("--kind") ?? "nodejs",
    port: Number(value("--port") ?? 0),
    exitOnStdinEof: args.includes("--exit-on-stdin-eof"),
  };
}

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

function markEndOfActivation(): void {
  writeAll(Deno.stdout, SENTINEL);
  writeAll(Deno.stderr, SENTINEL);
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

async function readObject(request: Request): Promise<Record<string, unknown> | undefined> {
  try {
    const body: unknown = await request.json();
    return body && typeof body === "object" && !Array.isArray(body)
      ? body as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

/** The protocol state of this one action. */
class ActionServer {
  readonly #kind: string;
  #main: ActionMain | undefined;
  #initializing = false;

  constructor(kind: string) {
    this.#kind = kind;
  }

  async handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.method !== "POST") return json(405, { error: "Only POST is supported" });
    const body = await readObject(request);
    if (!body) return json(400, { error: "The request body must be a JSON object" });
    if (path === "/init") return await this.#init(body);
    if (path === "/run") return await this.#run(body);
    return json(404, { error: `Unknown path "${path}"` });
  }

  async #init(body: Record<string, unknown>): Promise<Response> {
    if (this.#main || this.#initializing) {
      return json(403, { error: "Cannot initialize the action more than once" });
    }
    const value = (body.value ?? {}) as Record<string, unknown>;
    if (typeof value.code !== "string") {
      return json(400, { error: 'Cannot initialize the action: "value.code" must be a string' });
    }
    this.#initializing = true;
    try {
      setEnvironment(value.env);
      const loaded = await loadAction(this.#kind, {
        code: value.code,
        main: typeof value.main === "string" && value.main !== "" ? value.main : "main",
        binary: value.binary === true,
      });
      if (!loaded.ok) {
        writeAll(Deno.stderr, `${loaded.error}\n`);
        markEndOfActivation();
        return json(502, { error: loaded.error });
      }
      this.#main = loaded.main;
      return json(200, { ok: true });
    } finally {
      this.#initializing = false;
    }
  }

  async #run(body: Record<string, unknown>): Promise<Response> {
    const main = this.#main;
    if (!main) return json(403, { error: "Cannot run the action: it is not initialized" });
    for (const [key, value] of Object.entries(body)) {
      if (key !== "value" && value !== undefined && value !== null) {
        Deno.env.set(`__OW_${key.toUpperCase()}`, String(value));
      }
    }
    const params = (body.value ?? {}) as Record<string, unknown>;
    const [status, result] = await invoke(main, params);
    markEndOfActivation();
    return json(status, result);
  }
}

// OpenWhisk semantics: a returned object is the result (with `error` it is an
// application error); a rejection with a plain value is an application error;
// a thrown Error is a developer error.
async function invoke(
  main: ActionMain,
  params: Record<string, unknown>,
): Promise<[number, unknown]> {
  let result: unknown;
  try {
    result = await main(params);
  } catch (error) {
    if (error instanceof Error) {
      writeAll(Deno.stderr, `${error.stack ?? describe(error)}\n`);
      return [502, { error: `The action failed: ${describe(error)}` }];
    }
    const content = error && typeof error === "object" && "error" in error ? error : { error };
    return [200, content];
  }
  if (result === undefined || result === null) return [200, {}];
  if (typeof result !== "object") {
    return [502, { error: "The action did not return a dictionary" }];
  }
  try {
    JSON.stringify(result);
  } catch (error) {
    return [502, { error: `The action returned a value that is not JSON: ${describe(error)}` }];
  }
  return [200, result];
}

function setEnvironment(env: unknown): void {
  if (!env || typeof env !== "object") return;
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === null || key === "" || key.includes("=")) continue;
    Deno.env.set(key, typeof value === "string" ? value : JSON.stringify(value));
  }
}

async function exitOnStdinEof(): Promise<void> {
  try {
    for await (const _ of Deno.stdin.readable) {
      // The invoker never writes; reading only detects the end.
    }
  } finally {
    Deno.exit(0);
  }
}

// A floating rejection or a throw in a timer of the action must not end the container.
function keepAliveOnActionErrors(): void {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    writeAll(Deno.stderr, `Unhandled rejection: ${describe(event.reason)}\n`);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    writeAll(Deno.stderr, `Uncaught error: ${describe(event.error)}\n`);
  });
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  keepAliveOnActionErrors();
  if (args.exitOnStdinEof) void exitOnStdinEof();
  const server = new ActionServer(args.kind);
  Deno.serve({
    hostname: "127.0.0.1",
    port: args.port,
    onListen: ({ port }) => writeAll(Deno.stdout, `READY ${port}\n`),
  }, (request) => server.handle(request));
}
