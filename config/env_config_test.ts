import { assertEquals, assertThrows } from "@std/assert";
import { z } from "zod";
import { ConfigError, deepFreeze, envList, envPort, parseEnv } from "./env_config.ts";

const Schema = z.object({ PORT: envPort.default(80), HOSTS: envList.default(["a"]) });

Deno.test("parseEnv() applies defaults for unset and empty variables", () => {
  assertEquals(parseEnv(Schema, { PORT: "", HOSTS: undefined }), { PORT: 80, HOSTS: ["a"] });
  assertEquals(parseEnv(Schema, { PORT: "8080", HOSTS: " x, ,y " }), {
    PORT: 8080,
    HOSTS: ["x", "y"],
  });
});

Deno.test("parseEnv() reports every problem at once", () => {
  const error = assertThrows(
    () => parseEnv(z.object({ A: envPort, B: envPort }), { A: "-1", B: "nope" }),
    ConfigError,
  );
  assertEquals(error.problems.length, 2);
});

Deno.test("deepFreeze() freezes nested objects", () => {
  const frozen = deepFreeze({ a: { b: [1] } });
  assertEquals(Object.isFrozen(frozen.a.b), true);
});
