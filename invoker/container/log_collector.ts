/**
 * Per-activation logs from a container's stdout and stderr. OpenWhisk runtimes
 * print a sentinel line on both streams after every activation; the collector
 * cuts each stream at its sentinels and pairs the pieces up, so the lines of
 * one activation can be told apart from the next one's.
 *
 * @module
 */

/** The line OpenWhisk runtimes print on stdout and stderr after each activation. */
export const ACTIVATION_SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

/** Which output a line came from. */
export type LogStream = "stdout" | "stderr";

/** One line of container output. */
export interface LogLine {
  /** When the invoker read it, epoch ms. */
  readonly time: number;
  /** The output it came from. */
  readonly stream: LogStream;
  /** The line, without its newline. */
  readonly text: string;
}

/** The output of one activation. */
export interface ActivationLogs {
  /** Lines of both streams, in the order they were read. */
  readonly lines: readonly LogLine[];
  /** Whether both sentinels arrived; false when the wait was cut short or the container ended. */
  readonly complete: boolean;
  /** Whether lines were dropped because the activation wrote more than the limit. */
  readonly truncated: boolean;
}

/** Options for {@linkcode LogCollector}. */
export interface LogCollectorOptions {
  /** Bytes kept per activation and stream; later lines are dropped. @default {10_485_760} */
  readonly limitBytes?: number;
  /** Longer lines are split into pieces of this many characters. @default {16_384} */
  readonly maxLineLength?: number;
  /** Clock for line times. @default {Date.now} */
  readonly now?: () => number;
}

interface Segment {
  lines: LogLine[];
  bytes: number;
  truncated: boolean;
}

// Finished segments nobody asked for are dropped beyond this, oldest first, so an
// action printing sentinels itself cannot grow the invoker's memory.
const MAX_PENDING_SEGMENTS = 4;

class StreamState {
  current: Segment = emptySegment();
  readonly done: Segment[] = [];
  ended = false;

  /** Whether a `next()` can be answered for this stream without waiting. */
  get settled(): boolean {
    return this.done.length > 0 || this.ended;
  }

  take(): { segment: Segment; complete: boolean } {
    const finished = this.done.shift();
    if (finished) return { segment: finished, complete: true };
    const segment = this.current;
    this.current = emptySegment();
    return { segment, complete: false };
  }
}

function emptySegment(): Segment {
  return { lines: [], bytes: 0, truncated: false };
}

/**
 * Collects container output and hands it out per activation.
 *
 * @example
 * ```ts ignore
 * const collector = new LogCollector();
 * collector.push("stdout", "hello");
 * collector.push("stdout", ACTIVATION_SENTINEL);
 * collector.push("stderr", ACTIVATION_SENTINEL);
 * const logs = await collector.next(); // lines: [hello], complete: true
 * ```
 */
export class LogCollector {
  readonly #streams: Record<LogStream, StreamState> = {
    stdout: new StreamState(),
    stderr: new StreamState(),
  };
  readonly #limitBytes: number;
  readonly #maxLineLength: number;
  readonly #now: () => number;
  readonly #waiters = new Set<() => void>();

  /** Creates an empty collector. */
  constructor(options: LogCollectorOptions = {}) {
    const { limitBytes = 10_485_760, maxLineLength = 16_384, now = Date.now } = options;
    this.#limitBytes = limitBytes;
    this.#maxLineLength = maxLineLength;
    this.#now = now;
  }

  /** Adds one line (without its newline). */
  push(stream: LogStream, text: string): void {
    const state = this.#streams[stream];
    if (text.trimEnd() === ACTIVATION_SENTINEL) {
      state.done.push(state.current);
      if (state.done.length > MAX_PENDING_SEGMENTS) state.done.shift();
      state.current = emptySegment();
      this.#notify();
      return;
    }
    const segment = state.current;
    const bytes = text.length + 1;
    if (segment.bytes + bytes > this.#limitBytes) {
      segment.truncated = true;
      return;
    }
    segment.bytes += bytes;
    segment.lines.push({ time: this.#now(), stream, text });
  }

  /** Marks a stream as finished: no sentinel will come any more. */
  end(stream: LogStream): void {
    this.#streams[stream].ended = true;
    this.#notify();
  }

  /**
   * Reads `readable` to its end, line by line, into `stream`. Resolves when the
   * stream ends or fails; never rejects.
   */
  async pump(stream: LogStream, readable: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    try {
      for await (const chunk of readable) {
        partial = this.#pushLines(stream, partial + decoder.decode(chunk, { stream: true }));
      }
    } catch {
      // The process is gone; whatever was read is kept.
    }
    partial += decoder.decode();
    if (partial.length > 0) this.#pushLines(stream, `${partial}\n`);
    this.end(stream);
  }

  /**
   * Resolves with the next activation's lines once both streams printed their
   * sentinel (or ended). When `signal` aborts first, resolves at once with what
   * has been written so far, marked incomplete.
   */
  async next(options: { signal?: AbortSignal } = {}): Promise<ActivationLogs> {
    const { signal } = options;
    while (!this.#settled() && !signal?.aborted) await this.#changed(signal);
    const out = this.#streams.stdout.take();
    const err = this.#streams.stderr.take();
    const lines = [...out.segment.lines, ...err.segment.lines].sort((a, b) => a.time - b.time);
    return {
      lines,
      complete: out.complete && err.complete,
      truncated: out.segment.truncated || err.segment.truncated,
    };
  }

  #settled(): boolean {
    return this.#streams.stdout.settled && this.#streams.stderr.settled;
  }

  /** Splits `text` into lines; returns the unterminated rest. */
  #pushLines(stream: LogStream, text: string): string {
    let start = 0;
    for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start)) {
      this.#pushLong(stream, text.slice(start, end).replace(/\r$/, ""));
      start = end + 1;
    }
    let rest = text.slice(start);
    while (rest.length > Math.max(this.#maxLineLength, ACTIVATION_SENTINEL.length + 2)) {
      this.push(stream, rest.slice(0, this.#maxLineLength));
      rest = rest.slice(this.#maxLineLength);
    }
    return rest;
  }

  #pushLong(stream: LogStream, line: string): void {
    if (line.length <= this.#maxLineLength || line.trimEnd() === ACTIVATION_SENTINEL) {
      return this.push(stream, line);
    }
    for (let i = 0; i < line.length; i += this.#maxLineLength) {
      this.push(stream, line.slice(i, i + this.#maxLineLength));
    }
  }

  #changed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        this.#waiters.delete(done);
        resolve();
      };
      this.#waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
