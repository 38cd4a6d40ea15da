import { assertEquals } from "@std/assert";
import { parseContainerCommand } from "@faas/proto";
import { creationCommand, readCreationAck } from "./creation_message.ts";
import { actionFixture } from "./_testing.ts";

const ack = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    transid: ["sid_containerCreation", 1],
    creationId: "c1",
    invocationNamespace: "guest",
    action: { path: "guest", name: "hello" },
    revision: "1-a",
    actionMetaData: actionFixture(),
    rootInvokerIndex: { instance: 0 },
    schedulerHost: "h",
    rpcPort: 1,
    retryCount: 2,
    ...overrides,
  });

Deno.test("creationCommand() builds a valid command without the action code", () => {
  const action = actionFixture({
    exec: { kind: "nodejs:20", binary: false, code: "function main() {}" } as never,
  });
  const command = creationCommand({
    creationId: "c1",
    invocationNamespace: "guest",
    action,
    retryCount: 1,
    leader: { host: "10.0.0.5", rpcPort: 13001, sid: "s0" },
    fetchToken: "token",
    now: 5,
  });
  const parsed = parseContainerCommand(JSON.stringify(command));
  assertEquals(parsed.kind, "create");
  assertEquals(command.whiskActionMetaData.exec, { kind: "nodejs:20", binary: false });
  assertEquals([command.transid, command.action], [["sid_containerCreation", 5], {
    path: "guest",
    name: "hello",
    version: "0.0.1",
  }]);
});

Deno.test("readCreationAck() reads successes and known errors", () => {
  assertEquals(readCreationAck(ack()), { kind: "ack", creationId: "c1", retryCount: 2 });
  assertEquals(readCreationAck(ack({ error: "ShuttingDownError", reason: "Bye" })), {
    kind: "ack",
    creationId: "c1",
    retryCount: 2,
    error: "ShuttingDownError",
    reason: "Bye",
  });
  assertEquals(readCreationAck(ack({ error: "NonExecutableActionError" })), {
    kind: "ack",
    creationId: "c1",
    retryCount: 2,
    error: "NonExecutableActionError",
  });
});

Deno.test("readCreationAck() turns an unknown error name into UnknownError", () => {
  assertEquals(readCreationAck(ack({ error: "NONEXECUTBLEACTIONERROR", reason: "No code" })), {
    kind: "ack",
    creationId: "c1",
    retryCount: 2,
    error: "UnknownError",
    reason: 'The invoker reported unknown error "NONEXECUTBLEACTIONERROR": No code',
  });
});

Deno.test("readCreationAck() reports malformed acks", () => {
  assertEquals(readCreationAck("{").kind, "malformed");
  assertEquals(readCreationAck(JSON.stringify({ creationId: "c1" })).kind, "malformed");
  assertEquals(readCreationAck(ack({ retryCount: -1 })).kind, "malformed");
});
