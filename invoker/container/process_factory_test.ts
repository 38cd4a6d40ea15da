import { assert, assertEquals, assertInstanceOf, assertMatch, assertRejects } from "@std/assert";
import { ContainerStartError } from "../errors.ts";
import { ACTION_RUNTIME_PATH, ProcessContainerFactory } from "./process_factory.ts";

const id = () => `pf-${crypto.randomUUID().slice(0, 8)}`;

// Our runtime started as a "foreign" command: it takes the port it is given.
const runtimeAsCommand = [
  Deno.execPath(),
  "run",
  "--no-config",
  "--allow-net=127.0.0.1",
  "--allow-env",
  ACTION_RUNTIME_PATH,
  "--kind",
  "nodejs",
  "--port",
  "{port}",
];

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, { method: "POST", body: JSON.stringify(body) });
  return await response.json();
}

Deno.test("ProcessContainerFactory.create() starts our runtime and destroy() ends it", async () => {
  await using factory = new ProcessContainerFactory();
  const started = performance.now();
  const container = await factory.create({ id: id(), kind: "nodejs:20", memoryMb: 128 });
  const readyMs = performance.now() - started;
  assertMatch(container.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assertEquals(
    await post(`${container.url}/init`, { value: { code: "const main = () => ({ ok: 1 })" } }),
    {
      ok: true,
    },
  );
  assertEquals(await post(`${container.url}/run`, { value: {} }), { ok: 1 });
  await container.destroy();
  assertEquals((await container.exited).destroyed, true);
  assert(readyMs < 10_000, `spawn to ready took ${readyMs} ms`);
});

Deno.test("ProcessContainerFactory.create() runs a configured command for other kinds", async () => {
  await using factory = new ProcessContainerFactory({
    runtimeCommands: { "custom:*": runtimeAsCommand },
  });
  const container = await factory.create({ id: id(), kind: "custom:1", memoryMb: 128 });
  await post(`${container.url}/init`, {
    value: { code: "function main(p) { console.log('hi'); return p; }" },
  });
  assertEquals(await post(`${container.url}/run`, { value: { a: 1 } }), { a: 1 });
  const logs = await container.logs({ signal: AbortSignal.timeout(2_000) });
  // Init output (here our runtime's READY line) belongs to the first activation.
  assertEquals(logs.lines.map((l) => l.text).at(-1), "hi");
  await container.destroy();
  // Closing stdin made the wrapper kill the command and exit on its own, before any SIGKILL.
  assert((await container.exited).code !== undefined);
});

Deno.test("ProcessContainerFactory.create() refuses kinds it has no runtime for", async () => {
  await using factory = new ProcessContainerFactory();
  for (const kind of ["python:3", "blackbox"]) {
    const error = await assertRejects(() => factory.create({ id: id(), kind, memoryMb: 128 }));
    assertInstanceOf(error, ContainerStartError);
    assertEquals(error.kind, kind);
  }
});

Deno.test("ProcessContainerFactory.create() fails with the output of a command that dies early", async () => {
  await using factory = new ProcessContainerFactory({
    runtimeCommands: { "broken:1": ["sh", "-c", "echo cannot start {port} >&2; exit 3"] },
  });
  const error = await assertRejects(
    () => factory.create({ id: id(), kind: "broken:1", memoryMb: 128 }),
    ContainerStartError,
  );
  assertMatch(error.message, /exited with code 3.*cannot start/);
});

Deno.test("ProcessContainerFactory.create() gives up when its signal aborts", async () => {
  await using factory = new ProcessContainerFactory({
    runtimeCommands: { "slow:1": ["sleep", "30", "{port}"] },
  });
  await assertRejects(
    () =>
      factory.create({ id: id(), kind: "slow:1", memoryMb: 128 }, {
        signal: AbortSignal.timeout(200),
      }),
    ContainerStartError,
  );
});

Deno.test("ProcessContainerFactory disposal destroys the containers still running", async () => {
  const factory = new ProcessContainerFactory();
  const containers = await Promise.all(
    [1, 2].map(() => factory.create({ id: id(), kind: "deno:2", memoryMb: 128 })),
  );
  await factory[Symbol.asyncDispose]();
  for (const c of containers) assertEquals((await c.exited).destroyed, true);
});
