import { assertInstanceOf, assertRejects, assertStrictEquals } from "@std/assert";
import { defineBusContract } from "./bus_contract.ts";
import { BusUnavailableError } from "./bus.ts";
import { connectKafka } from "./kafka_bus.ts";

/** Deliberately no skip when Kafka is down: these tests must fail loudly instead. */
const brokers = (Deno.env.get("FAAS_KAFKA_BROKERS") ?? "127.0.0.1:29092").split(",");

defineBusContract("KafkaBus", () => connectKafka({ brokers, clientId: "bus-contract" }));

Deno.test("connectKafka() rejects with BusUnavailableError when no broker answers", async () => {
  const error = await assertRejects(
    () => connectKafka({ brokers: ["127.0.0.1:1"], clientId: "bus-test", retries: 0 }),
    BusUnavailableError,
    '"127.0.0.1:1"',
  );
  assertInstanceOf(error.cause, Error);
});

Deno.test("connectKafka() rejects with the reason of an aborted signal", async () => {
  const reason = new Error("Stop");
  const signal = AbortSignal.abort(reason);
  const error = await assertRejects(() => connectKafka({ brokers, clientId: "bus-test", signal }));
  assertStrictEquals(error, reason);
});
