/**
 * One real scheduler in a process of its own, for `bench/queues.ts`: it reads
 * its configuration from the environment like `scheduler/main.ts` and answers
 * measurement requests, one JSON line per request on stdin and per answer on
 * stdout. Run it with `--v8-flags=--expose-gc` so heap numbers are after GC.
 *
 * Requests: `{"id", "cmd": "measure"}` (heap and RSS after GC), `{"id", "cmd":
 * "tick", "samples", "spacingMs"}` (durations of `QueueManager.tick()` over
 * every queue, the function the scheduler's interval runs), `{"id", "cmd":
 * "queued", "namespace", "fqn"}`. The benchmark kills it when done.
 *
 * @module
 */
import { connectKafka } from "@faas/bus";
import { connectEtcd } from "@faas/coordination";
import { createScheduler, loadSchedulerConfig } from "@faas/scheduler";
import { setup } from "@std/log";

type Request =
  | { readonly id: number; readonly cmd: "measure" }
  | {
    readonly id: number;
    readonly cmd: "tick";
    readonly samples: number;
    readonly spacingMs: number;
  }
  | {
    readonly id: number;
    readonly cmd: "queued";
    readonly namespace: string;
    readonly fqn: string;
  };

const encoder = new TextEncoder();
const reply = (value: unknown) =>
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(value) + "\n"));
const gc = (globalThis as { gc?: () => void }).gc;

const config = loadSchedulerConfig(Deno.env.toObject());
await setup({ level: config.logLevel });
const store = await connectEtcd({ endpoints: config.etcdEndpoints });
const bus = await connectKafka({
  brokers: config.kafkaBrokers,
  clientId: `scheduler${config.schedulerId}`,
});
const scheduler = await createScheduler(config, { store, bus });
// Ends at once, keys left to the lease: the benchmark's channels are still open, and a
// closing server's GOAWAY could abort either process. A clean exit writes `--cpu-prof`.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
reply({ ready: { rpcPort: scheduler.rpcPort, sid: scheduler.id, gcExposed: gc !== undefined } });

async function answer(request: Request): Promise<unknown> {
  switch (request.cmd) {
    case "measure": {
      // Twice: the first pass may only run finalizers that free more on the second.
      gc?.();
      gc?.();
      const memory = Deno.memoryUsage();
      return {
        ...memory,
        queues: scheduler.queues.leaderCount,
        reRegistrations: scheduler.reRegistrations,
      };
    }
    case "tick": {
      const samples: number[] = [];
      for (let i = 0; i < request.samples; i++) {
        const started = performance.now();
        scheduler.queues.tick();
        samples.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, request.spacingMs));
      }
      return { samples };
    }
    case "queued":
      return { queued: scheduler.queues.counts(request.namespace, request.fqn)?.queued ?? 0 };
  }
}

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let buffered = "";
for await (const chunk of lines) {
  buffered += chunk;
  let at;
  while ((at = buffered.indexOf("\n")) >= 0) {
    const request = JSON.parse(buffered.slice(0, at)) as Request;
    buffered = buffered.slice(at + 1);
    reply({ id: request.id, ...(await answer(request) as object) });
  }
}
await scheduler.close();
