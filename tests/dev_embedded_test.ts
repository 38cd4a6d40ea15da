/**
 * `deno task dev` as a newcomer runs it: one subprocess, nothing else
 * installed, then create and invoke an action over HTTP.
 */
import { assertEquals, assertMatch } from "@std/assert";
import { GUEST_HEADERS } from "./_harness.ts";

const ROOT = new URL("../", import.meta.url);

async function readUrl(stdout: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`deno task dev exited before it was ready: ${text}`);
    text += value;
    const match = text.match(/running at (http:\/\/\S+)/);
    if (match) {
      void reader.closed.catch(() => {});
      reader.releaseLock();
      return match[1]!;
    }
  }
}

Deno.test("deno task dev: a newcomer creates and invokes an action over HTTP", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "dev", "--port", "0"],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "null",
    // The test task exports the real services' addresses; dev mode must run in memory here.
    env: { FAAS_ETCD_ENDPOINTS: "", FAAS_KAFKA_BROKERS: "" },
    stdin: "null",
  }).spawn();
  try {
    const url = await readUrl(child.stdout);
    const actions = `${url}/api/v1/namespaces/_/actions/hello`;
    const put = await fetch(actions, {
      method: "PUT",
      headers: GUEST_HEADERS,
      body: JSON.stringify({
        exec: {
          kind: "nodejs:20",
          code: "function main(p) { return { greeting: 'Hello, ' + p.name } }",
        },
      }),
    });
    assertEquals(put.status, 200, await put.clone().text());
    await put.body?.cancel();
    const invoke = await fetch(`${actions}?blocking=true&result=true`, {
      method: "POST",
      headers: GUEST_HEADERS,
      body: JSON.stringify({ name: "newcomer" }),
      signal: AbortSignal.timeout(30_000),
    });
    assertEquals(await invoke.json(), { greeting: "Hello, newcomer" });
    const async = await fetch(actions, { method: "POST", headers: GUEST_HEADERS, body: "{}" });
    assertEquals(async.status, 202);
    assertMatch((await async.json()).activationId, /^[0-9a-f]{32}$/);
    const unauthorized = await fetch(actions, { method: "POST", body: "{}" });
    assertEquals(unauthorized.status, 401);
    await unauthorized.body?.cancel();
  } finally {
    child.kill("SIGTERM");
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
});
