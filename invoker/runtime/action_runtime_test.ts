import { assert, assertEquals, assertMatch } from "@std/assert";
import { ActionClient } from "../action_client.ts";
import type { Container } from "../container/container_factory.ts";
import { ProcessContainerFactory } from "../container/process_factory.ts";

const factory = new ProcessContainerFactory();

async function startRuntime(kind = "nodejs:20"): Promise<Container & { client: ActionClient }> {
  const container = await factory.create({
    id: `rt-${crypto.randomUUID().slice(0, 8)}`,
    kind,
    memoryMb: 128,
  });
  const client = new ActionClient(container.url);
  return Object.assign(container, {
    client,
    async [Symbol.asyncDispose]() {
      client[Symbol.dispose]();
      await container.destroy();
    },
  });
}

function body(outcome: Awaited<ReturnType<ActionClient["run"]>>) {
  assertEquals(outcome.kind, "response");
  return outcome.kind === "response"
    ? { status: outcome.status, json: JSON.parse(outcome.body) }
    : undefined;
}

Deno.test("action_runtime /init then /run returns the result of an OpenWhisk-style main", async () => {
  await using rt = await startRuntime();
  const init = await rt.client.init({
    code:
      "function main(p) { return { greeting: 'hello ' + p.name, id: process.env.__OW_ACTIVATION_ID }; }",
    main: "main",
    binary: false,
    env: { A: "1" },
  }, 5_000);
  assertEquals(body(init), { status: 200, json: { ok: true } });
  const run = await rt.client.run({ value: { name: "x" }, activation_id: "a1" }, 5_000);
  assertEquals(body(run), { status: 200, json: { greeting: "hello x", id: "a1" } });
});

Deno.test("action_runtime runs async mains, module.exports and ES modules", async () => {
  const cases = [
    { kind: "nodejs:20", code: "async function main(p) { await null; return { v: p.v + 1 }; }" },
    { kind: "nodejs:20", code: "module.exports.main = (p) => Promise.resolve({ v: p.v + 1 });" },
    { kind: "nodejs:20", code: "export function main(p) { return { v: p.v + 1 }; }" },
    {
      kind: "deno:2",
      code: "export function main(p: { v: number }): { v: number } { return { v: p.v + 1 }; }",
    },
    { kind: "typescript", code: "export default (p: { v: number }) => ({ v: p.v + 1 });" },
  ];
  for (const { kind, code } of cases) {
    await using rt = await startRuntime(kind);
    assertEquals(body(await rt.client.init({ code, main: "main" }, 5_000))?.status, 200, code);
    assertEquals(body(await rt.client.run({ value: { v: 1 } }, 5_000))?.json, { v: 2 }, code);
  }
});

Deno.test("action_runtime reports init errors and refuses a second /init", async () => {
  await using broken = await startRuntime();
  const failed = body(await broken.client.init({ code: "function main( {" }, 5_000));
  assertEquals(failed?.status, 502);
  assertMatch(failed?.json.error, /Cannot load the action/);
  await using missing = await startRuntime();
  const none = body(await missing.client.init({ code: "const x = 1;" }, 5_000));
  assertEquals(none?.json, { error: 'The action does not define a function "main"' });
  await using twice = await startRuntime();
  await twice.client.init({ code: "function main() { return {}; }" }, 5_000);
  assertEquals(body(await twice.client.init({ code: "function main() {}" }, 5_000))?.status, 403);
});

Deno.test("action_runtime answers errors the OpenWhisk way", async () => {
  await using rt = await startRuntime();
  await rt.client.init({
    code: `function main(p) {
      if (p.mode === "throw") throw new Error("boom");
      if (p.mode === "reject") return Promise.reject({ error: "nope" });
      if (p.mode === "string") return "text";
      if (p.mode === "app") return { error: "bad input" };
      return undefined;
    }`,
  }, 5_000);
  const run = async (mode: string) => body(await rt.client.run({ value: { mode } }, 5_000));
  assertEquals(await run("throw"), {
    status: 502,
    json: { error: "The action failed: Error: boom" },
  });
  assertEquals(await run("reject"), { status: 200, json: { error: "nope" } });
  assertEquals(await run("string"), {
    status: 502,
    json: { error: "The action did not return a dictionary" },
  });
  assertEquals(await run("app"), { status: 200, json: { error: "bad input" } });
  assertEquals(await run("none"), { status: 200, json: {} });
});

Deno.test("action_runtime writes log sentinels after each run so logs split per activation", async () => {
  await using rt = await startRuntime();
  await rt.client.init({
    code: "function main(p) { console.log('out', p.n); console.error('err', p.n); return {}; }",
  }, 5_000);
  for (const n of [1, 2]) {
    await rt.client.run({ value: { n } }, 5_000);
    const logs = await rt.logs({ signal: AbortSignal.timeout(2_000) });
    assert(logs.complete);
    assertEquals(logs.lines.map((l) => `${l.stream}:${l.text}`).sort(), [
      `stderr:err ${n}`,
      `stdout:out ${n}`,
    ]);
  }
});

Deno.test("action_runtime keeps running when the action leaks a rejection, and times out calls", async () => {
  await using rt = await startRuntime();
  await rt.client.init({
    code: `function main(p) {
      if (p.leak) { Promise.reject(new Error("leaked")); return { ok: true }; }
      return new Promise(() => {});
    }`,
  }, 5_000);
  assertEquals(body(await rt.client.run({ value: { leak: true } }, 5_000))?.json, { ok: true });
  assertEquals(body(await rt.client.run({ value: { leak: true } }, 5_000))?.json, { ok: true });
  assertEquals(await rt.client.run({ value: {} }, 200), { kind: "timeout" });
});

Deno.test("action_runtime cannot connect anywhere but its own port", async () => {
  await using rt = await startRuntime();
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  await rt.client.init({
    code: `async function main() {
      try { await fetch("http://127.0.0.1:${port}/"); return { reached: true }; }
      catch (e) { return { denied: e.name }; }
    }`,
  }, 5_000);
  assertEquals(body(await rt.client.run({ value: {} }, 5_000))?.json, { denied: "NotCapable" });
});

Deno.test("action_runtime exits when its stdin closes (the invoker died)", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--allow-net=127.0.0.1:0",
      "--allow-env",
      new URL("./action_runtime.ts", import.meta.url).pathname,
      "--exit-on-stdin-eof",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  assertMatch(first.value ?? "", /^READY \d+/);
  await child.stdin.close();
  const status = await child.status;
  assertEquals(status.code, 0);
  await reader.cancel();
});
