/**
 * A small `@std/log`-style surface on LogTape. Library modules call
 * {@linkcode getLogger} with a category; only a program's `main.ts` (or a test)
 * calls {@linkcode setup}. Records are JSON lines with structured properties.
 *
 * @module
 */
import {
  configure,
  getConsoleSink,
  getLogger as getLogTapeLogger,
  jsonLinesFormatter,
  type Logger as LogTapeLogger,
  type LogLevel,
  type Sink,
} from "@logtape/logtape";

/** Log levels, least to most severe. */
export type Level = "DEBUG" | "INFO" | "WARN" | "ERROR" | "CRITICAL";

const LEVELS: Record<Level, LogLevel> = {
  DEBUG: "debug",
  INFO: "info",
  WARN: "warning",
  ERROR: "error",
  CRITICAL: "fatal",
};

/** Structured fields attached to one record. */
export type Fields = Record<string, unknown>;

/** A category logger; messages may reference fields as `{name}`. */
export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  critical(message: string, fields?: Fields): void;
}

/** Options for {@linkcode setup}. */
export interface SetupOptions {
  /** Lowest level written. @default {"INFO"} */
  level?: Level;
  /** Where records go. @default a JSON-lines sink on stderr */
  sink?: Sink;
}

/** Configures the sinks once per program; a later call replaces the earlier one. */
export async function setup(options: SetupOptions = {}): Promise<void> {
  const { level = "INFO", sink = stderrJsonSink() } = options;
  await configure({
    reset: true,
    sinks: { main: sink },
    loggers: [
      { category: ["faas"], lowestLevel: LEVELS[level], sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
}

function stderrJsonSink(): Sink {
  const encoder = new TextEncoder();
  return (record) => {
    Deno.stderr.writeSync(encoder.encode(jsonLinesFormatter(record)));
  };
}

/** The console sink, for programs that prefer `console` output. */
export const consoleSink: () => Sink = () => getConsoleSink({ formatter: jsonLinesFormatter });

/** Returns the logger for a category below `faas`, e.g. `getLogger("scheduler", "queue")`. */
export function getLogger(...category: string[]): Logger {
  const logger: LogTapeLogger = getLogTapeLogger(["faas", ...category]);
  return {
    debug: (m, f) => logger.debug(m, f ?? {}),
    info: (m, f) => logger.info(m, f ?? {}),
    warn: (m, f) => logger.warn(m, f ?? {}),
    error: (m, f) => logger.error(m, f ?? {}),
    critical: (m, f) => logger.fatal(m, f ?? {}),
  };
}
