import { assertEquals } from "@std/assert";
import { BusUnavailableError } from "@faas/bus";
import { ActionExistsError } from "@faas/catalog";
import { StoreUnavailableError } from "@faas/coordination";
import {
  AuthenticationError,
  ForbiddenNamespaceError,
  MalformedRequestError,
  MethodNotAllowedError,
  NoSchedulerError,
  NotFoundError,
  PayloadTooLargeError,
  ThrottledError,
} from "../errors.ts";
import { errorResponse, statusOfActivation, statusOfError } from "./error_mapping.ts";

Deno.test("statusOfError() maps each condition to OpenWhisk's status", () => {
  const table: [unknown, number][] = [
    [new MalformedRequestError("x"), 400],
    [new AuthenticationError("missing"), 401],
    [new AuthenticationError("invalid"), 401],
    [new ForbiddenNamespaceError("ns"), 403],
    [new NotFoundError(), 404],
    [new MethodNotAllowedError("PATCH", ["GET"]), 405],
    [new ActionExistsError("guest", "a"), 409],
    [new PayloadTooLargeError(2, 1), 413],
    [new ThrottledError("guest", "guest/a"), 429],
    [new NoSchedulerError("whisk"), 503],
    [new StoreUnavailableError("etcd down"), 503],
    [new BusUnavailableError("kafka down"), 503],
    [new TypeError("bug"), 500],
    ["not even an error", 500],
  ];
  for (const [error, status] of table) assertEquals(statusOfError(error), status, String(error));
});

Deno.test("errorResponse() sends OpenWhisk's error JSON with the transaction id", async () => {
  const response = errorResponse(new NotFoundError(`The action "guest/a"`), "tid");
  assertEquals(response.status, 404);
  assertEquals(response.headers.get("content-type"), "application/json");
  assertEquals(await response.json(), {
    error: `The action "guest/a" does not exist`,
    code: "tid",
  });
});

Deno.test("errorResponse() hides the details of unexpected and infrastructure errors", async () => {
  const internal = await errorResponse(new Error("secret stack detail"), "t").json();
  assertEquals(internal.error, "The server encountered an internal error");
  const unavailable = await errorResponse(new StoreUnavailableError("etcd at 10.0.0.1"), "t")
    .json();
  assertEquals(unavailable.error, "A backing service is unavailable; retry later");
});

Deno.test("errorResponse() names the allowed methods on 405", () => {
  const response = errorResponse(new MethodNotAllowedError("PATCH", ["GET", "PUT"]), "t");
  assertEquals(response.headers.get("allow"), "GET, PUT");
  void response.body?.cancel();
});

Deno.test("statusOfActivation() follows OpenWhisk's blocking invoke statuses", () => {
  assertEquals([0, 1, 2, 3].map((c) => statusOfActivation(c as 0 | 1 | 2 | 3)), [
    200,
    502,
    502,
    500,
  ]);
});
