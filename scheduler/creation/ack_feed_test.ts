import { assertEquals } from "@std/assert";
import { MemoryBus } from "@faas/bus";
import { AckFeed } from "./ack_feed.ts";
import type { CreationAck } from "./creation_message.ts";
import { waitFor } from "./_testing.ts";

const valid = (creationId: string) =>
  JSON.stringify({
    transid: ["sid_containerCreation", 1],
    creationId,
    invocationNamespace: "guest",
    action: { path: "guest", name: "hello" },
    revision: "1-a",
    actionMetaData: {
      namespace: "guest",
      name: "hello",
      rev: "1-a",
      exec: { kind: "nodejs:20" },
      limits: {},
      updated: 0,
    },
    rootInvokerIndex: { instance: 0 },
    schedulerHost: "h",
    rpcPort: 1,
    retryCount: 0,
  });

Deno.test("AckFeed hands on valid acks, skips malformed ones and commits past both", async () => {
  await using bus = new MemoryBus();
  const acks: CreationAck[] = [];
  const feed = await AckFeed.start({
    bus,
    topic: "creationAck0",
    onAck: (ack) => acks.push(ack),
    commitIntervalMs: 10,
  });
  await bus.send("creationAck0", [{ value: "not json" }, { value: valid("c1") }]);
  await waitFor("the valid ack", () => acks.length === 1);
  await feed.close();
  assertEquals(acks, [{ kind: "ack", creationId: "c1", retryCount: 0 }]);
  // A successor in the same group starts after everything the feed handled.
  const later: CreationAck[] = [];
  await using successor = await AckFeed.start({
    bus,
    topic: "creationAck0",
    onAck: (ack) => later.push(ack),
  });
  await bus.send("creationAck0", [{ value: valid("c2") }]);
  await waitFor("the new ack", () => later.length === 1);
  assertEquals(later.map((a) => a.kind === "ack" && a.creationId), ["c2"]);
  await successor.close();
});

Deno.test("AckFeed.start() rejects with the reason of an aborted signal", async () => {
  await using bus = new MemoryBus();
  const reason = new Error("Stop");
  const error = await AckFeed.start({
    bus,
    topic: "creationAck0",
    onAck: () => {},
    signal: AbortSignal.abort(reason),
  }).catch((e) => e);
  assertEquals(error, reason);
});
