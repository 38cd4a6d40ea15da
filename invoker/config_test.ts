import { assert, assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import {
  ConfigError,
  DEFAULT_DOCKER_IMAGES,
  type InvokerConfig,
  loadInvokerConfig,
  lookupKind,
} from "./config.ts";

Deno.test("loadInvokerConfig() applies the defaults to an empty environment", () => {
  const config = loadInvokerConfig({});
  assertEquals(config.cluster, "whisk");
  assertEquals(config.invokerId, "0");
  assertEquals(config.etcdEndpoints, ["http://127.0.0.1:2379"]);
  assertEquals(config.leaseTtlSeconds, 10);
  assertEquals(config.userMemoryMb, 2048);
  assertEquals(config.containerIdleMs, 10_000);
  assertEquals(config.containerFactory, "process");
  assertEquals(config.tags, []);
  assertEquals(config.runtimeCommands, {});
  assertEquals(config.docker.images, DEFAULT_DOCKER_IMAGES);
  assertEquals(config.logLevel, "INFO");
  assert(Object.isFrozen(config) && Object.isFrozen(config.docker.images));
});

Deno.test("loadInvokerConfig() reads lists, numbers and runtime commands", () => {
  const config = loadInvokerConfig({
    FAAS_CLUSTER: "c1",
    INVOKER_ID: "7",
    FAAS_ETCD_ENDPOINTS: "http://a:1, http://b:2",
    INVOKER_USER_MEMORY_MB: "512",
    INVOKER_TAGS: "gpu, fast",
    INVOKER_DEDICATED_NAMESPACES: "team",
    CONTAINER_IDLE_MS: "1500",
    INVOKER_CONTAINER_FACTORY: "docker",
    FAAS_RUNTIME_COMMANDS: JSON.stringify({
      "python:3": "python3 runtime.py --port {port}",
      "go:*": ["/opt/proxy", "-port={port}"],
    }),
    INVOKER_DOCKER_IMAGES: '{"nodejs:20": "mine/node"}',
    FAAS_LEASE_TTL_SECONDS: "",
  });
  assertEquals(config.invokerId, "7");
  assertEquals(config.etcdEndpoints, ["http://a:1", "http://b:2"]);
  assertEquals(config.tags, ["gpu", "fast"]);
  assertEquals(config.dedicatedNamespaces, ["team"]);
  assertEquals(config.containerIdleMs, 1500);
  assertEquals(config.containerFactory, "docker");
  assertEquals(config.runtimeCommands["python:3"], ["python3", "runtime.py", "--port", "{port}"]);
  assertEquals(config.docker.images["nodejs:20"], "mine/node");
  assertEquals(config.leaseTtlSeconds, 10);
});

Deno.test("loadInvokerConfig() lists every problem in one ConfigError", () => {
  const error = assertThrows(() =>
    loadInvokerConfig({
      INVOKER_ID: "abc",
      INVOKER_USER_MEMORY_MB: "-1",
      CONTAINER_IDLE_MS: "soon",
      INVOKER_CONTAINER_FACTORY: "kubernetes",
      FAAS_RUNTIME_COMMANDS: '{"python:3": "python3 runtime.py"}',
      INVOKER_DOCKER_IMAGES: "{not json",
    })
  );
  assertInstanceOf(error, ConfigError);
  const fields = error.problems.map((p) => p.split(" ")[0]);
  for (
    const field of [
      "INVOKER_ID",
      "INVOKER_USER_MEMORY_MB",
      "CONTAINER_IDLE_MS",
      "INVOKER_CONTAINER_FACTORY",
      "FAAS_RUNTIME_COMMANDS.python:3",
      "INVOKER_DOCKER_IMAGES",
    ]
  ) assert(fields.includes(field), `${field} missing from ${error.message}`);
});

Deno.test("loadInvokerConfig() reads the keep-alive policy", () => {
  assertEquals(loadInvokerConfig({}).keepAlive, {
    policy: "fixed",
    minMs: 60_000,
    maxMs: 3_600_000,
    minSamples: 10,
    marginPercent: 10,
  });
  const cases: {
    env: Record<string, string>;
    want: Partial<InvokerConfig["keepAlive"]> | "invalid";
  }[] = [
    {
      env: {
        INVOKER_KEEP_ALIVE_POLICY: "adaptive",
        INVOKER_KEEP_ALIVE_MIN_MS: "1000",
        INVOKER_KEEP_ALIVE_MAX_MS: "30000",
        INVOKER_KEEP_ALIVE_MIN_SAMPLES: "3",
        INVOKER_KEEP_ALIVE_MARGIN_PERCENT: "0",
      },
      want: { policy: "adaptive", minMs: 1_000, maxMs: 30_000, minSamples: 3, marginPercent: 0 },
    },
    {
      env: { INVOKER_KEEP_ALIVE_MIN_MS: "5000", INVOKER_KEEP_ALIVE_MAX_MS: "5000" },
      want: { minMs: 5_000, maxMs: 5_000 },
    },
    { env: { INVOKER_KEEP_ALIVE_POLICY: "histogram" }, want: "invalid" },
    { env: { INVOKER_KEEP_ALIVE_MIN_MS: "0" }, want: "invalid" },
    { env: { INVOKER_KEEP_ALIVE_MIN_SAMPLES: "0" }, want: "invalid" },
    { env: { INVOKER_KEEP_ALIVE_MARGIN_PERCENT: "-5" }, want: "invalid" },
    {
      env: { INVOKER_KEEP_ALIVE_MIN_MS: "5001", INVOKER_KEEP_ALIVE_MAX_MS: "5000" },
      want: "invalid",
    },
  ];
  for (const { env, want } of cases) {
    const name = JSON.stringify(env);
    if (want === "invalid") {
      const error = assertThrows(() => loadInvokerConfig(env), ConfigError, undefined, name);
      assert(error.problems.some((p) => p.startsWith(Object.keys(env)[0]!)), error.message);
      continue;
    }
    const keepAlive = loadInvokerConfig(env).keepAlive;
    assertEquals({ ...keepAlive, ...want }, keepAlive, name);
  }
});

Deno.test("lookupKind() prefers the exact kind, then the family", () => {
  const table = { "python:3": "exact", "python:*": "family" };
  assertEquals(lookupKind(table, "python:3"), "exact");
  assertEquals(lookupKind(table, "python:3.12"), "family");
  assertEquals(lookupKind(table, "ruby:3"), undefined);
  assertEquals(lookupKind({ toString: "x" } as Record<string, string>, "toString"), "x");
  assertEquals(lookupKind({}, "constructor"), undefined);
});
