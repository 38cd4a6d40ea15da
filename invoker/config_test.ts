import { assert, assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { ConfigError, DEFAULT_DOCKER_IMAGES, loadInvokerConfig, lookupKind } from "./config.ts";

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

Deno.test("lookupKind() prefers the exact kind, then the family", () => {
  const table = { "python:3": "exact", "python:*": "family" };
  assertEquals(lookupKind(table, "python:3"), "exact");
  assertEquals(lookupKind(table, "python:3.12"), "family");
  assertEquals(lookupKind(table, "ruby:3"), undefined);
  assertEquals(lookupKind({ toString: "x" } as Record<string, string>, "toString"), "x");
  assertEquals(lookupKind({}, "constructor"), undefined);
});
