import { assertEquals, assertThrows } from "@std/assert";
import { ConfigError, loadControllerConfig } from "./config.ts";

Deno.test("loadControllerConfig() defaults to OpenWhisk standalone's address and guest key", () => {
  const config = loadControllerConfig({});
  assertEquals(config.host, "127.0.0.1");
  assertEquals(config.port, 3233);
  assertEquals(config.controllerId, "0");
  assertEquals(config.maxBodyBytes, 1_048_576);
  assertEquals(config.blockingTimeoutMs, 60_000);
  assertEquals(config.authKeys.map((k) => [k.namespace, k.uuid]), [
    ["guest", "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"],
  ]);
  assertEquals(Object.isFrozen(config.authKeys[0]), true);
  assertEquals(config.namespaceContainerLimit, undefined);
  assertEquals(
    loadControllerConfig({ CONTROLLER_NAMESPACE_CONTAINER_LIMIT: "200" }).namespaceContainerLimit,
    200,
  );
});

Deno.test("loadControllerConfig() treats empty variables as unset and parses lists", () => {
  const config = loadControllerConfig({
    CONTROLLER_PORT: "",
    FAAS_KAFKA_BROKERS: "a:1, b:2",
    FAAS_AUTH_KEYS: "alice=aaaa-1:secret1, bob=bbbb-2:secret2",
  });
  assertEquals(config.port, 3233);
  assertEquals(config.kafkaBrokers, ["a:1", "b:2"]);
  assertEquals(config.authKeys.map((k) => k.namespace), ["alice", "bob"]);
});

Deno.test("loadControllerConfig() lists every problem at once", () => {
  const error = assertThrows(
    () =>
      loadControllerConfig({
        CONTROLLER_PORT: "70000",
        CONTROLLER_BLOCKING_TIMEOUT_MS: "soon",
        FAAS_AUTH_KEYS: "alice=aaaa:x,broken,alice2=aaaa:y",
        LOG_LEVEL: "LOUD",
      }),
    ConfigError,
  );
  const problems = error.problems.join("\n");
  for (const expected of ["CONTROLLER_PORT", "CONTROLLER_BLOCKING_TIMEOUT_MS", "LOG_LEVEL"]) {
    assertEquals(problems.includes(expected), true, expected);
  }
  assertEquals(problems.includes("entry 2 must have the form namespace=uuid:key"), true);
  assertEquals(problems.includes(`entry 3 repeats uuid "aaaa"`), true);
  assertEquals(problems.includes(":x"), false, "secrets never appear in errors");
});
