/**
 * Invocation traces in the shape of the Azure Functions 2019 dataset: per
 * function (hashed owner, app and function ids, trigger kind) the number of
 * invocations in each minute, and its execution-time distribution (average,
 * count, minimum, maximum and the 0/1/25/50/75/99/100th percentiles in ms).
 *
 * - {@linkcode generateTrace}: a seeded synthetic trace with the dataset's
 *   published characteristics (Shahrad et al., "Serverless in the Wild",
 *   USENIX ATC 2020): popularity spans orders of magnitude, with most
 *   invocations from a few functions and about 45 % of them invoked at most
 *   once an hour and about 80 % at most once a minute; timers fire on fixed
 *   periods; HTTP traffic follows a diurnal swing with bursts; average
 *   execution times are log-normal (median about 0.7 s, a long tail) and each
 *   function's runs vary around its own average.
 * - {@linkcode parseInvocationsCsv}, {@linkcode parseDurationsCsv} and
 *   {@linkcode traceFromCsv}: the real dataset's
 *   `invocations_per_function_md.anon.dNN.csv` and
 *   `function_durations_percentiles.anon.dNN.csv` files, joined.
 *
 * @module
 */
import { type Random, seededRandom } from "./random.ts";

/** Trigger kinds as the dataset names them. */
export const TRIGGERS = [
  "http",
  "timer",
  "queue",
  "event",
  "storage",
  "orchestration",
  "others",
] as const;

/** What starts a function. */
export type Trigger = (typeof TRIGGERS)[number];

/** The percentiles the dataset reports, in ascending order. */
export const DURATION_PERCENTILES = [0, 1, 25, 50, 75, 99, 100] as const;

/** A function's execution times, in ms. */
export interface DurationStats {
  readonly averageMs: number;
  /** Runs the statistics are taken over. */
  readonly count: number;
  readonly minimumMs: number;
  readonly maximumMs: number;
  /** The 0, 1, 25, 50, 75, 99 and 100th percentiles, in that order. */
  readonly percentilesMs: readonly number[];
}

/** One function of a trace. */
export interface TraceFunction {
  readonly hashOwner: string;
  readonly hashApp: string;
  readonly hashFunction: string;
  readonly trigger: Trigger;
  /** Invocations in each minute of the trace. */
  readonly invocationsPerMinute: readonly number[];
  readonly durations: DurationStats;
}

/** A trace of `minutes` minutes. */
export interface Trace {
  readonly minutes: number;
  readonly functions: readonly TraceFunction[];
}

/** Options for {@linkcode generateTrace}. */
export interface GenerateTraceOptions {
  readonly seed: number;
  /** Functions in the trace. */
  readonly functions: number;
  /** Minutes of the trace. */
  readonly minutes: number;
  /** Minute of the day the trace starts at (the diurnal swing peaks in the afternoon). @default {600} */
  readonly startMinuteOfDay?: number;
  /** No function's mean rate exceeds this. @default {1_000} */
  readonly maxRatePerMinute?: number;
  /** No function's average execution time exceeds this. @default {600_000} */
  readonly maxAverageMs?: number;
}

// Share of functions per trigger in the dataset (approximate).
const TRIGGER_WEIGHTS: Readonly<Record<Trigger, number>> = {
  http: 55,
  timer: 16,
  queue: 15,
  event: 2,
  storage: 3,
  orchestration: 7,
  others: 2,
};

// log10 of the mean invocations per minute: normal with this mean and spread puts
// about 45 % of functions at most once an hour and 80 % at most once a minute.
const LOG10_RATE_MEAN = -1.56;
const LOG10_RATE_SD = 1.77;
// ln of the average execution time in seconds (the paper's log-normal fit).
const LN_AVERAGE_S_MEAN = -0.38;
const LN_AVERAGE_S_SD = 2.36;
// Cron-like timer periods in minutes, and how common each is.
const TIMER_PERIODS_MIN = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 1440];
const TIMER_PERIOD_WEIGHTS = [1, 6, 2, 6, 4, 3, 3, 4, 1, 1];
// Standard normal quantiles of the reported percentiles (0 and 100 as ±3σ).
const PERCENTILE_Z = [-3, -2.326, -0.674, 0, 0.674, 2.326, 3];

/** A synthetic trace with the dataset's shape; the same options give the same trace. */
export function generateTrace(options: GenerateTraceOptions): Trace {
  const {
    seed,
    functions,
    minutes,
    startMinuteOfDay = 600,
    maxRatePerMinute = 1_000,
    maxAverageMs = 600_000,
  } = options;
  const random = seededRandom(seed);
  const owners: string[] = [];
  const apps: { owner: string; app: string }[] = [];
  const out: TraceFunction[] = [];
  for (let i = 0; i < functions; i++) {
    // Owners have a few apps, apps a few functions.
    if (apps.length === 0 || random.next() < 0.45) {
      if (owners.length === 0 || random.next() < 0.6) owners.push(random.hex(32));
      apps.push({ owner: owners[owners.length - 1]!, app: random.hex(32) });
    }
    const { owner, app } = apps[apps.length - 1]!;
    const trigger = random.pick(TRIGGERS, TRIGGERS.map((t) => TRIGGER_WEIGHTS[t]));
    const counts = trigger === "timer"
      ? timerCounts(random, minutes)
      : poissonCounts(random, minutes, trigger, startMinuteOfDay, maxRatePerMinute);
    const total = counts.reduce((a, b) => a + b, 0);
    out.push({
      hashOwner: owner,
      hashApp: app,
      hashFunction: random.hex(32),
      trigger,
      invocationsPerMinute: counts,
      durations: durationStats(random, total, maxAverageMs),
    });
  }
  return { minutes, functions: out };
}

function timerCounts(random: Random, minutes: number): number[] {
  const period = random.pick(TIMER_PERIODS_MIN, TIMER_PERIOD_WEIGHTS);
  const perFire = period < 1 ? Math.round(1 / period) : 1;
  const every = Math.max(1, Math.round(period));
  const phase = random.int(0, every - 1);
  return Array.from({ length: minutes }, (_, m) => ((m + phase) % every === 0 ? perFire : 0));
}

function poissonCounts(
  random: Random,
  minutes: number,
  trigger: Trigger,
  startMinuteOfDay: number,
  maxRatePerMinute: number,
): number[] {
  const rate = Math.min(
    maxRatePerMinute,
    10 ** (LOG10_RATE_MEAN + LOG10_RATE_SD * random.normal()),
  );
  // HTTP follows people: a daily swing peaking mid-afternoon. Others are flatter.
  const swing = trigger === "http" ? 0.5 : 0.15;
  const peakMinute = 15 * 60 + random.int(-120, 120);
  // Bursts: a few minutes at several times the rate, more often for HTTP and queues.
  const burstChance = trigger === "http" || trigger === "queue" ? 0.03 : 0.01;
  let burstLeft = 0;
  let burstFactor = 1;
  return Array.from({ length: minutes }, (_, m) => {
    const minuteOfDay = (startMinuteOfDay + m) % 1_440;
    const diurnal = 1 + swing * Math.cos((2 * Math.PI * (minuteOfDay - peakMinute)) / 1_440);
    if (burstLeft === 0 && random.next() < burstChance) {
      burstLeft = random.int(1, 5);
      burstFactor = 2 + random.next() * 8;
    }
    const factor = burstLeft > 0 ? burstFactor : 1;
    if (burstLeft > 0) burstLeft--;
    return random.poisson(rate * diurnal * factor);
  });
}

function durationStats(random: Random, count: number, maxAverageMs: number): DurationStats {
  const averageMs = Math.min(
    maxAverageMs,
    Math.max(1, 1_000 * Math.exp(LN_AVERAGE_S_MEAN + LN_AVERAGE_S_SD * random.normal())),
  );
  // Each function's runs are log-normal around its own average.
  const sigma = 0.2 + random.next() * 0.8;
  const medianMs = averageMs / Math.exp((sigma * sigma) / 2);
  const percentilesMs = PERCENTILE_Z.map((z) =>
    Math.max(0, Math.round(medianMs * Math.exp(sigma * z)))
  );
  return {
    averageMs: Math.round(averageMs),
    count,
    minimumMs: percentilesMs[0]!,
    maximumMs: percentilesMs[percentilesMs.length - 1]!,
    percentilesMs,
  };
}

/**
 * A run time drawn from a function's percentiles: uniform in [0, 1] mapped
 * through the percentile points, linearly between them.
 */
export function sampleDurationMs(durations: DurationStats, random: Random): number {
  const points = durations.percentilesMs;
  if (points.length !== DURATION_PERCENTILES.length) return durations.averageMs;
  const p = random.next() * 100;
  for (let i = 1; i < DURATION_PERCENTILES.length; i++) {
    const hi = DURATION_PERCENTILES[i]!;
    if (p <= hi) {
      const lo = DURATION_PERCENTILES[i - 1]!;
      const share = (p - lo) / (hi - lo);
      return points[i - 1]! + share * (points[i]! - points[i - 1]!);
    }
  }
  return points[points.length - 1]!;
}

/** What the trace's functions add up to. */
export interface TraceSummary {
  readonly functions: number;
  readonly invocations: number;
  /** Functions with at least one invocation. */
  readonly invoked: number;
  /** Functions invoked at most once an hour on average over the trace. */
  readonly atMostHourly: number;
  /** Functions invoked at most once a minute on average over the trace. */
  readonly atMostPerMinute: number;
  /** Share of invocations made by the most invoked tenth of the functions. */
  readonly topTenthShare: number;
  readonly byTrigger: Readonly<Partial<Record<Trigger, number>>>;
}

/** Counts that show a trace's shape. */
export function summarizeTrace(trace: Trace): TraceSummary {
  const totals = trace.functions.map((f) => f.invocationsPerMinute.reduce((a, b) => a + b, 0));
  const invocations = totals.reduce((a, b) => a + b, 0);
  const sorted = [...totals].sort((a, b) => b - a);
  const top = sorted.slice(0, Math.max(1, Math.round(sorted.length / 10)));
  const byTrigger: Partial<Record<Trigger, number>> = {};
  for (const f of trace.functions) byTrigger[f.trigger] = (byTrigger[f.trigger] ?? 0) + 1;
  return {
    functions: totals.length,
    invocations,
    invoked: totals.filter((n) => n > 0).length,
    atMostHourly: totals.filter((n) => n / trace.minutes <= 1 / 60).length,
    atMostPerMinute: totals.filter((n) => n / trace.minutes <= 1).length,
    topTenthShare: invocations === 0 ? 0 : top.reduce((a, b) => a + b, 0) / invocations,
    byTrigger,
  };
}

/** One row of an invocations file. */
export interface InvocationRow {
  readonly hashOwner: string;
  readonly hashApp: string;
  readonly hashFunction: string;
  readonly trigger: Trigger;
  readonly invocationsPerMinute: readonly number[];
}

/** Why a dataset file cannot be read. */
export class TraceFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TraceFormatError";
  }
}

const ID_COLUMNS = ["HashOwner", "HashApp", "HashFunction"];

/**
 * Reads an `invocations_per_function_md.anon.dNN.csv` file: a header
 * `HashOwner,HashApp,HashFunction,Trigger,1,…,1440`, then one row per function.
 *
 * @throws {TraceFormatError} on a wrong header or row
 */
export function parseInvocationsCsv(text: string): InvocationRow[] {
  const [header, ...rows] = csvLines(text);
  if (!header || [...ID_COLUMNS, "Trigger"].some((c, i) => header[i] !== c)) {
    throw new TraceFormatError(`Not an invocations file: header ${header?.slice(0, 5).join(",")}`);
  }
  const minutes = header.length - 4;
  return rows.map((cells, index) => {
    const line = index + 2;
    if (cells.length !== header.length) {
      throw new TraceFormatError(`Line ${line}: ${cells.length} cells, expected ${header.length}`);
    }
    const trigger = cells[3]!;
    if (!(TRIGGERS as readonly string[]).includes(trigger)) {
      throw new TraceFormatError(`Line ${line}: unknown trigger "${trigger}"`);
    }
    const counts = cells.slice(4).map((cell) => count(cell, line));
    if (counts.length !== minutes) throw new TraceFormatError(`Line ${line}: too few minutes`);
    return {
      hashOwner: cells[0]!,
      hashApp: cells[1]!,
      hashFunction: cells[2]!,
      trigger: trigger as Trigger,
      invocationsPerMinute: counts,
    };
  });
}

const DURATION_COLUMNS = [
  ...ID_COLUMNS,
  "Average",
  "Count",
  "Minimum",
  "Maximum",
  ...DURATION_PERCENTILES.map((p) => `percentile_Average_${p}`),
];

/**
 * Reads a `function_durations_percentiles.anon.dNN.csv` file, keyed by
 * `owner/app/function`.
 *
 * @throws {TraceFormatError} on a wrong header or row
 */
export function parseDurationsCsv(text: string): Map<string, DurationStats> {
  const [header, ...rows] = csvLines(text);
  const at = new Map(header?.map((name, i) => [name, i]));
  const missing = DURATION_COLUMNS.filter((c) => !at.has(c));
  if (missing.length > 0) {
    throw new TraceFormatError(`Not a durations file: no ${missing.join(", ")}`);
  }
  const durations = new Map<string, DurationStats>();
  rows.forEach((cells, index) => {
    const line = index + 2;
    const cell = (name: string) => number(cells[at.get(name)!], line, name);
    const [owner, app, fn] = ID_COLUMNS.map((c) => cells[at.get(c)!] ?? "");
    durations.set(key(owner!, app!, fn!), {
      averageMs: cell("Average"),
      count: cell("Count"),
      minimumMs: cell("Minimum"),
      maximumMs: cell("Maximum"),
      percentilesMs: DURATION_PERCENTILES.map((p) => cell(`percentile_Average_${p}`)),
    });
  });
  return durations;
}

/** Options for {@linkcode traceFromCsv}. */
export interface TraceFromCsvOptions {
  /** First minute to keep (1-based, as the columns are numbered). @default {1} */
  readonly fromMinute?: number;
  /** Minutes to keep. @default all */
  readonly minutes?: number;
}

/**
 * Joins an invocations file and a durations file into a trace. Functions with
 * no durations row (the dataset has some) are left out, as nothing says how long they run.
 */
export function traceFromCsv(
  invocationsCsv: string,
  durationsCsv: string,
  options: TraceFromCsvOptions = {},
): Trace {
  const rows = parseInvocationsCsv(invocationsCsv);
  const durations = parseDurationsCsv(durationsCsv);
  const from = (options.fromMinute ?? 1) - 1;
  const length = rows[0]?.invocationsPerMinute.length ?? 0;
  const minutes = Math.max(0, Math.min(options.minutes ?? length, length - from));
  const functions: TraceFunction[] = [];
  for (const row of rows) {
    const stats = durations.get(key(row.hashOwner, row.hashApp, row.hashFunction));
    if (!stats) continue;
    functions.push({
      ...row,
      invocationsPerMinute: row.invocationsPerMinute.slice(from, from + minutes),
      durations: stats,
    });
  }
  return { minutes, functions };
}

function key(owner: string, app: string, fn: string): string {
  return `${owner}/${app}/${fn}`;
}

// The dataset's cells are plain: no quoting, no embedded commas.
function csvLines(text: string): string[][] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== "").map((line) => line.split(","));
}

function count(cell: string, line: number): number {
  const n = cell.trim() === "" ? 0 : Number(cell);
  if (!Number.isInteger(n) || n < 0) {
    throw new TraceFormatError(`Line ${line}: "${cell}" is not a count`);
  }
  return n;
}

function number(cell: string | undefined, line: number, column: string): number {
  const n = Number(cell);
  if (cell === undefined || cell.trim() === "" || !Number.isFinite(n)) {
    throw new TraceFormatError(`Line ${line}: ${column} "${cell}" is not a number`);
  }
  return n;
}
