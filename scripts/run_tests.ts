/**
 * Runs the test suite in groups (one per package, one per cross-program test
 * file), two at a time, each in its own `deno test` process, and prints the
 * combined totals the way `deno test` does.
 *
 * Why separate processes: Deno 2.9.6's node:http2 can abort a whole process
 * when an HTTP/2 GOAWAY arrives (denoland/deno#36788), and the tests run gRPC
 * servers and clients in process. That abort kills the process by a signal
 * (SIGABRT with nghttp2's assertion, or a silent SIGSEGV) before it prints its
 * totals. A group that dies that way runs once more; every other failure,
 * including any failed test, counts as it is.
 *
 * Usage: deno run -A scripts/run_tests.ts [--jobs N] [path filters…]
 *
 * @module
 */
import { parseArgs } from "node:util";

const ROOT = new URL("../", import.meta.url).pathname;
const PACKAGES = [
  "async",
  "telemetry",
  "config",
  "proto",
  "coordination",
  "bus",
  "catalog",
  "metrics",
  "sdk",
  "scheduler",
  "invoker",
  "controller",
  "bench",
];

interface Totals {
  passed: number;
  failed: number;
  ignored: number;
}

interface GroupResult extends Totals {
  readonly name: string;
  readonly ok: boolean;
  readonly output: string;
}

async function groups(filters: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}tests`)) {
    if (entry.isFile && entry.name.endsWith("_test.ts")) files.push(`tests/${entry.name}`);
  }
  const all = [...PACKAGES, ...files.sort()];
  return filters.length ? all.filter((g) => filters.some((f) => g.startsWith(f))) : all;
}

async function runOnce(
  group: string,
): Promise<{ code: number; signal: Deno.Signal | null; output: string }> {
  const { code, signal, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", "--parallel", group],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code, signal, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

function totalsOf(output: string): Totals | undefined {
  const line = output.match(/^(?:ok|FAILED) \| (\d+) passed[^\n]*/gm)?.at(-1);
  if (!line) return undefined;
  const num = (re: RegExp) => Number(line.match(re)?.[1] ?? 0);
  return {
    passed: num(/(\d+) passed/),
    failed: num(/(\d+) failed/),
    ignored: num(/(\d+) ignored/),
  };
}

function diedBySignal(run: { code: number; signal: Deno.Signal | null }): boolean {
  return run.signal !== null || run.code === 134 || run.code === 139;
}

async function runGroup(group: string): Promise<GroupResult> {
  let run = await runOnce(group);
  let note = "";
  if (diedBySignal(run) && totalsOf(run.output) === undefined) {
    note = `\n[run_tests] ${group}: the test process died by a signal (exit ${run.code}), as the ` +
      `Deno node:http2 GOAWAY bug does (denoland/deno#36788); running it once more\n`;
    run = await runOnce(group);
  }
  const totals = totalsOf(run.output);
  const ok = run.code === 0 && totals !== undefined;
  // A group that died before printing totals counts as one failure.
  const counted = totals ?? { passed: 0, failed: 1, ignored: 0 };
  return {
    name: group,
    ok,
    output: note + run.output,
    ...counted,
    failed: ok ? counted.failed : Math.max(1, counted.failed),
  };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { jobs: { type: "string", default: "2" } },
    allowPositionals: true,
  });
  const queue = await groups(positionals);
  const results: GroupResult[] = [];
  const encoder = new TextEncoder();
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      const result = await runGroup(group);
      results.push(result);
      Deno.stdout.writeSync(encoder.encode(`\n==== ${group}\n${result.output}`));
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Number(values.jobs) }, worker));
  const sum = results.reduce(
    (t, r) => ({
      passed: t.passed + r.passed,
      failed: t.failed + r.failed,
      ignored: t.ignored + r.ignored,
    }),
    { passed: 0, failed: 0, ignored: 0 },
  );
  const failedGroups = results.filter((r) => !r.ok).map((r) => r.name);
  const seconds = Math.round((performance.now() - started) / 1000);
  const status = failedGroups.length === 0 ? "ok" : "FAILED";
  const lines = [
    "",
    ...(failedGroups.length ? [`failed groups: ${failedGroups.join(", ")}`] : []),
    `${status} | ${sum.passed} passed | ${sum.failed} failed | ${sum.ignored} ignored (${seconds}s)`,
    "",
  ];
  Deno.stdout.writeSync(encoder.encode(lines.join("\n")));
  return failedGroups.length === 0 ? 0 : 1;
}

Deno.exit(await main());
