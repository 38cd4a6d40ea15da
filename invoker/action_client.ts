/**
 * The invoker's side of the OpenWhisk action protocol: `POST /init` and
 * `POST /run` against one container, with a time limit and a cap on the
 * response size. Outcomes are values, so callers can tell a container that
 * never received the call from one that broke during it.
 *
 * @module
 */
import { deadline } from "./_deadline.ts";

/** The outcome of one protocol call. */
export type ProtocolResult =
  /** The container answered. `body` holds at most `maxResponseBytes`. */
  | {
    readonly kind: "response";
    readonly status: number;
    readonly body: string;
    /** The body was longer than the cap and was cut; `bytes` is how much was read. */
    readonly truncated?: { readonly bytes: number; readonly limit: number };
  }
  /** No answer within the time limit. */
  | { readonly kind: "timeout" }
  /** The connection was refused: the call never reached the action. */
  | { readonly kind: "unreachable"; readonly message: string }
  /** The connection broke after the call was sent (the action may have crashed it). */
  | { readonly kind: "broken"; readonly message: string };

/** Options for {@linkcode ActionClient}. */
export interface ActionClientOptions {
  /** Longest response body kept. @default {1_048_576} */
  readonly maxResponseBytes?: number;
}

/** Calls one container over its own HTTP client, closed on dispose. */
export class ActionClient implements Disposable {
  readonly #baseUrl: string;
  readonly #maxResponseBytes: number;
  // No pooled connections: on a reused connection that breaks mid-call, Deno's
  // fetch silently sends the request again on a new one, so a crash (e.g. out
  // of memory) would look like a container that was never reached. A fresh
  // loopback connection per call costs about 0.06 ms.
  readonly #client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });

  /** Creates a client for the container serving at `baseUrl`. */
  constructor(baseUrl: string, options: ActionClientOptions = {}) {
    this.#baseUrl = baseUrl;
    this.#maxResponseBytes = options.maxResponseBytes ?? 1_048_576;
  }

  /** `POST /init` with `{"value": value}`. */
  init(value: unknown, timeoutMs: number): Promise<ProtocolResult> {
    return this.#post("/init", { value }, timeoutMs);
  }

  /** `POST /run` with the run body (`value` plus activation fields). */
  run(body: Record<string, unknown>, timeoutMs: number): Promise<ProtocolResult> {
    return this.#post("/run", body, timeoutMs);
  }

  [Symbol.dispose](): void {
    this.#client.close();
  }

  async #post(path: string, body: unknown, timeoutMs: number): Promise<ProtocolResult> {
    using limit = deadline(timeoutMs);
    const signal = limit.signal;
    try {
      const response = await fetch(`${this.#baseUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal,
        client: this.#client,
      });
      return await this.#read(response);
    } catch (error) {
      if (signal.aborted) return { kind: "timeout" };
      const message = `${error instanceof Error ? error.message : String(error)}: ${
        String((error as { cause?: unknown })?.cause ?? "")
      }`;
      return /\(Connect\)|Connection refused/.test(message)
        ? { kind: "unreachable", message }
        : { kind: "broken", message };
    }
  }

  async #read(response: Response): Promise<ProtocolResult> {
    const limit = this.#maxResponseBytes;
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for await (const chunk of response.body ?? new ReadableStream<Uint8Array>()) {
      bytes += chunk.length;
      if (bytes <= limit) chunks.push(chunk);
      else chunks.push(chunk.subarray(0, Math.max(0, limit - (bytes - chunk.length))));
    }
    const kept = new Uint8Array(Math.min(bytes, limit));
    let offset = 0;
    for (const chunk of chunks) {
      kept.set(chunk, offset);
      offset += chunk.length;
    }
    const body = new TextDecoder().decode(kept);
    if (bytes <= limit) return { kind: "response", status: response.status, body };
    return { kind: "response", status: response.status, body, truncated: { bytes, limit } };
  }
}
