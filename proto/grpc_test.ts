import { assertEquals, assertRejects } from "@std/assert";
import { Buffer } from "node:buffer";
import { encodeFetchResult } from "./fetch_result.ts";
import { FetchResponse } from "./gen/activation.ts";
import { ActivationServiceClient, RpcError, serveRpc } from "./grpc.ts";

/** Sends raw bytes, as a broken or hostile client would. */
class RawClient extends ActivationServiceClient {
  send(bytes: Uint8Array): Promise<FetchResponse> {
    return this.unary<undefined, FetchResponse>(
      {
        path: "/activation.ActivationService/FetchActivation",
        requestSerialize: () => Buffer.from(bytes),
        responseDeserialize: (b) => FetchResponse.decode(b),
      },
      undefined,
      {},
    );
  }
}

const request = {
  invocationNamespace: "guest",
  fqn: "{}",
  rev: "null",
  containerId: "c",
  warmed: false,
  lastDuration: 0,
  alive: true,
};

Deno.test("serveRpc() answers INVALID_ARGUMENT to bytes that do not decode, and keeps serving", async () => {
  const internal: unknown[] = [];
  await using server = await serveRpc({
    activation: {
      fetchActivation: () =>
        Promise.resolve({ activationMessage: encodeFetchResult({ kind: "no_activation" }) }),
      rescheduleActivation: () => Promise.resolve({ isRescheduled: false }),
    },
    onInternalError: (error) => internal.push(error),
  });
  using client = new RawClient(`127.0.0.1:${server.port}`);
  // Field 1 (a string) announcing 100 bytes of which none follow.
  const error = await assertRejects(() => client.send(new Uint8Array([0x0a, 100])), RpcError);
  assertEquals(error.code, "INVALID_ARGUMENT");
  assertEquals(internal, [], "not the server's error");
  const answer = await client.fetchActivation(request);
  assertEquals(typeof answer.activationMessage, "string");
});

Deno.test("serveRpc() maps RpcError to its status and anything else to INTERNAL", async () => {
  const internal: unknown[] = [];
  let fail: Error = new RpcError("PERMISSION_DENIED", "not yours");
  await using server = await serveRpc({
    activation: {
      fetchActivation: () => Promise.reject(fail),
      rescheduleActivation: () => Promise.resolve({ isRescheduled: false }),
    },
    onInternalError: (error) => internal.push(error),
  });
  using client = new ActivationServiceClient(`127.0.0.1:${server.port}`);
  const denied = await assertRejects(() => client.fetchActivation(request), RpcError);
  assertEquals(denied.code, "PERMISSION_DENIED");
  fail = new Error("a bug");
  const broken = await assertRejects(() => client.fetchActivation(request), RpcError);
  assertEquals([broken.code, internal], ["INTERNAL", [fail]]);
});
