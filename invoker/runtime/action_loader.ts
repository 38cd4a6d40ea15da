/**
 * Turns action source into a callable `main`, the way the action runtime's
 * `/init` needs it. `nodejs:*` code is OpenWhisk style: a script that declares
 * `function main(params)` (or assigns `module.exports`/`exports.main`), with
 * `require` for Node built-ins; an ES module also works. `deno:*` and
 * `typescript*` code is an ES module (TypeScript allowed) exporting `main`.
 *
 * This file runs inside the action container: it imports nothing but Deno and
 * Node built-ins, so the runtime starts without the workspace configuration.
 *
 * @module
 */
/** An action's entry point. */
export type ActionMain = (params: Record<string, unknown>) => unknown;

/** The outcome of {@linkcode loadAction}. */
export type LoadResult =
  | { readonly ok: true; readonly main: ActionMain }
  | { readonly ok: false; readonly error: string };

/** What `/init` carries about the code. */
export interface ActionSource {
  /** Source text, or base64 of it when `binary`. */
  readonly code: string;
  /** Name of the function to call. @default {"main"} */
  readonly main?: string;
  readonly binary?: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const ZIP_MAGIC = "PK\u0003\u0004";

/** Loads the action's code for `kind`; never throws. */
export async function loadAction(kind: string, source: ActionSource): Promise<LoadResult> {
  const { main = "main" } = source;
  if (!IDENTIFIER.test(main)) {
    return { ok: false, error: `Cannot use "${main}" as the entry point: not an identifier` };
  }
  const code = decode(source);
  if (code === undefined) {
    return { ok: false, error: "Cannot load the action: binary code must be base64 source text" };
  }
  if (code.startsWith(ZIP_MAGIC)) {
    return { ok: false, error: "Cannot load a zip archive: this runtime takes source code only" };
  }
  try {
    const fn = isScriptKind(kind) ? await loadScript(code, main) : await loadModule(code, main);
    if (typeof fn !== "function") {
      return { ok: false, error: `The action does not define a function "${main}"` };
    }
    return { ok: true, main: fn as ActionMain };
  } catch (error) {
    return { ok: false, error: `Cannot load the action: ${describe(error)}` };
  }
}

function isScriptKind(kind: string): boolean {
  return kind.startsWith("nodejs");
}

function decode(source: ActionSource): string | undefined {
  if (!source.binary) return source.code;
  try {
    const bytes = Uint8Array.from(atob(source.code), (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  } catch {
    return undefined;
  }
}

// OpenWhisk's Node.js runtime evaluates the code as a script, so `function main`
// needs no export; code with import/export statements is a module instead.
async function loadScript(code: string, main: string): Promise<unknown> {
  let factory: (...args: unknown[]) => unknown;
  try {
    factory = new Function(
      "exports",
      "module",
      "require",
      `${code}\n;return typeof ${main} === "function" ? ${main} : undefined;`,
    ) as typeof factory;
  } catch (error) {
    if (error instanceof SyntaxError) return await loadModule(code, main, "javascript");
    throw error;
  }
  // Loaded only here: Node compatibility costs tens of ms at start-up otherwise.
  const { createRequire } = await import("node:module");
  const module = { exports: {} as Record<string, unknown> };
  const declared = factory(module.exports, module, createRequire(import.meta.url));
  if (typeof declared === "function") return declared;
  const exported = module.exports as unknown;
  if (typeof exported === "function") return exported;
  return (exported as Record<string, unknown>)[main];
}

async function loadModule(
  code: string,
  main: string,
  language: "typescript" | "javascript" = "typescript",
): Promise<unknown> {
  const bytes = new TextEncoder().encode(code);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const module = await import(`data:application/${language};base64,${btoa(binary)}`);
  return module[main] ?? (main === "main" ? module.default : undefined);
}

/** A short description of a thrown value for an error result. */
export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
