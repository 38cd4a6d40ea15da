import { assertEquals, assertThrows } from "@std/assert";
import { MalformedRequestError } from "../errors.ts";
import { Router } from "./router.ts";

const router = new Router<string>()
  .add("GET", "/api/v1", "info")
  .add("GET", "/api/v1/namespaces/:ns/actions", "list")
  .add("GET", "/api/v1/namespaces/:ns/actions/:name", "get")
  .add("PUT", "/api/v1/namespaces/:ns/actions/:name", "put");

Deno.test("Router.match() finds routes and decodes their parameters", () => {
  assertEquals(router.match("GET", "/api/v1"), { kind: "found", handler: "info", params: {} });
  assertEquals(router.match("put", "/api/v1/namespaces/_/actions/my%20action/"), {
    kind: "found",
    handler: "put",
    params: { ns: "_", name: "my action" },
  });
  assertEquals(router.match("GET", "/api/v1/namespaces/guest/actions").kind, "found");
});

Deno.test("Router.match() tells unknown paths from unsupported methods", () => {
  assertEquals(router.match("GET", "/api/v2"), { kind: "not_found" });
  assertEquals(router.match("GET", "/api/v1/namespaces/_/actions/a/b"), { kind: "not_found" });
  assertEquals(router.match("DELETE", "/api/v1/namespaces/_/actions/a"), {
    kind: "method_not_allowed",
    allowed: ["GET", "PUT"],
  });
});

Deno.test("Router.match() refuses broken percent-encoding", () => {
  assertThrows(
    () => router.match("GET", "/api/v1/namespaces/_/actions/%E0%A4%A"),
    MalformedRequestError,
    "not valid percent-encoding",
  );
});

Deno.test("Router.add() refuses relative patterns and repeated parameters", () => {
  assertThrows(() => new Router<string>().add("GET", "api", "x"), TypeError);
  assertThrows(() => new Router<string>().add("GET", "/:a/:a", "x"), TypeError);
});
