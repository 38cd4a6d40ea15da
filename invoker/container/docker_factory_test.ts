import { assert, assertEquals, assertMatch, assertRejects } from "@std/assert";
import { ContainerStartError } from "../errors.ts";
import { dockerAvailable, DockerContainerFactory } from "./docker_factory.ts";
import { ACTIVATION_SENTINEL } from "./log_collector.ts";

const encoder = new TextEncoder();

/** One multiplexed log frame, as the Engine sends it without a TTY. */
function frame(stream: 1 | 2, text: string): Uint8Array {
  const payload = encoder.encode(text);
  const bytes = new Uint8Array(8 + payload.length);
  bytes[0] = stream;
  new DataView(bytes.buffer).setUint32(4, payload.length);
  bytes.set(payload, 8);
  return bytes;
}

/** A fake container: an action server on a loopback port plus its log stream. */
class FakeRuntime {
  readonly server: Deno.HttpServer<Deno.NetAddr>;
  readonly logs = new TransformStream<Uint8Array, Uint8Array>();
  readonly #writer = this.logs.writable.getWriter();
  readonly stopped = Promise.withResolvers<void>();

  constructor() {
    this.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      const body = await req.json();
      if (new URL(req.url).pathname === "/init") return Response.json({ ok: true });
      await this.#writer.write(frame(1, `ran ${body.value.x}\n${ACTIVATION_SENTINEL}\n`));
      await this.#writer.write(frame(2, `${ACTIVATION_SENTINEL}\n`));
      return Response.json({ x: body.value.x });
    });
  }

  async stop(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.server.shutdown();
    this.stopped.resolve();
  }
}

/** Just enough of the Docker Engine API on a unix socket. */
class FakeEngine implements AsyncDisposable {
  readonly calls: { method: string; path: string; body?: Record<string, unknown> }[] = [];
  readonly socketPath: string;
  readonly #runtimes = new Map<string, FakeRuntime>();
  readonly #images = new Set<string>();
  readonly #server: Deno.HttpServer;

  constructor(dir: string) {
    this.socketPath = `${dir}/docker.sock`;
    this.#server = Deno.serve({ path: this.socketPath, onListen() {} }, (req) => this.#handle(req));
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname.replace(/^\/v[\d.]+/, "");
    const body = req.headers.get("content-type") === "application/json"
      ? await req.json()
      : undefined;
    this.calls.push({ method: req.method, path, ...(body ? { body } : {}) });
    const [, , id, verb] = path.split("/");
    if (path === "/_ping") return new Response("OK");
    if (path === "/images/create") {
      this.#images.add(url.searchParams.get("fromImage")!);
      return new Response('{"status":"pulled"}\n{"status":"done"}');
    }
    if (path === "/containers/create") {
      if (!this.#images.has(body.Image)) {
        return new Response('{"message":"No such image"}', { status: 404 });
      }
      const runtimeId = `fake${this.#runtimes.size}`;
      this.#runtimes.set(runtimeId, new FakeRuntime());
      return Response.json({ Id: runtimeId }, { status: 201 });
    }
    const runtime = this.#runtimes.get(id ?? "");
    if (!runtime) return new Response('{"message":"No such container"}', { status: 404 });
    if (req.method === "DELETE") {
      await runtime.stop();
      return new Response(null, { status: 204 });
    }
    if (verb === "start") return new Response(null, { status: 204 });
    if (verb === "json") {
      const port = String(runtime.server.addr.port);
      return Response.json({
        NetworkSettings: { Ports: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: port }] } },
      });
    }
    if (verb === "logs") return new Response(runtime.logs.readable);
    if (verb === "wait") {
      await runtime.stopped.promise;
      return Response.json({ StatusCode: 137 });
    }
    return new Response("{}", { status: 404 });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const runtime of this.#runtimes.values()) await runtime.stop();
    await this.#server.shutdown();
  }
}

async function post(url: string, body: unknown): Promise<unknown> {
  return await (await fetch(url, { method: "POST", body: JSON.stringify(body) })).json();
}

Deno.test("DockerContainerFactory.create() pulls, creates, starts and publishes a container (fake Engine)", async () => {
  const dir = await Deno.makeTempDir();
  await using engine = new FakeEngine(dir);
  await using factory = new DockerContainerFactory({
    socketPath: engine.socketPath,
    images: { "nodejs:*": "openwhisk/action-nodejs-v20" },
  });
  assert(await dockerAvailable(engine.socketPath));
  const container = await factory.create({
    id: "c1",
    kind: "nodejs:20",
    memoryMb: 256,
    env: { A: "1" },
  });
  assertMatch(container.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assertEquals(await post(`${container.url}/init`, { value: { code: "" } }), { ok: true });
  assertEquals(await post(`${container.url}/run`, { value: { x: 7 } }), { x: 7 });
  const logs = await container.logs({ signal: AbortSignal.timeout(2_000) });
  assertEquals([logs.complete, logs.lines.map((l) => `${l.stream}:${l.text}`)], [true, [
    "stdout:ran 7",
  ]]);
  await container.destroy();
  assertEquals((await container.exited).destroyed, true);

  const create = engine.calls.find((c) => c.path === "/containers/create" && c.body);
  assertEquals(create?.body?.Image, "openwhisk/action-nodejs-v20");
  assertEquals(create?.body?.Env, ["A=1"]);
  assertEquals((create?.body?.HostConfig as { Memory: number }).Memory, 256 * 1_048_576);
  assertEquals(
    engine.calls.map((c) => `${c.method} ${c.path}`).filter((c) =>
      !c.includes("/logs") && !c.includes("/wait")
    ),
    [
      "GET /_ping",
      "POST /containers/create",
      "POST /images/create",
      "POST /containers/create",
      "POST /containers/fake0/start",
      "GET /containers/fake0/json",
      "DELETE /containers/fake0",
    ],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("DockerContainerFactory.create() refuses a kind without an image", async () => {
  await using factory = new DockerContainerFactory({ socketPath: "/nonexistent/docker.sock" });
  await assertRejects(
    () => factory.create({ id: "c2", kind: "ruby:3", memoryMb: 128 }),
    ContainerStartError,
  );
  assertEquals(await dockerAvailable("/nonexistent/docker.sock"), false);
});

const daemon = await dockerAvailable();

Deno.test({
  name: `DockerContainerFactory.create() runs a nodejs action on the real Docker Engine${
    daemon ? "" : " (ignored: no Docker daemon answers /_ping at /var/run/docker.sock)"
  }`,
  ignore: !daemon,
  async fn() {
    await using factory = new DockerContainerFactory({
      images: { "nodejs:*": "openwhisk/action-nodejs-v20" },
    });
    const container = await factory.create({
      id: `faas-test-${crypto.randomUUID().slice(0, 8)}`,
      kind: "nodejs:20",
      memoryMb: 256,
    });
    const code =
      "function main(p) { console.log('hi ' + p.name); return { greeting: 'hello ' + p.name }; }";
    assertEquals(await post(`${container.url}/init`, { value: { code, main: "main" } }), {
      OK: true,
    });
    assertEquals(await post(`${container.url}/run`, { value: { name: "docker" } }), {
      greeting: "hello docker",
    });
    const logs = await container.logs({ signal: AbortSignal.timeout(5_000) });
    assert(logs.lines.some((l) => l.text.includes("hi docker")));
    await container.destroy();
  },
});
