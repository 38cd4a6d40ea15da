import { assertEquals } from "@std/assert";
import { MemoryReservations } from "./memory_reservations.ts";

Deno.test("MemoryReservations.current() sums live holds per invoker", () => {
  const clock = { now: 0 };
  const holds = new MemoryReservations({ holdMs: 1_000, now: () => clock.now });
  holds.hold("0", 256);
  holds.hold("0", 512);
  holds.hold("1", 128);
  assertEquals(holds.current(), new Map([["0", 768], ["1", 128]]));
});

Deno.test("MemoryReservations holds expire on their own and can be released early", () => {
  const clock = { now: 0 };
  const holds = new MemoryReservations({ holdMs: 1_000, now: () => clock.now });
  const early = holds.hold("0", 256);
  clock.now = 500;
  holds.hold("0", 128);
  holds.release(early);
  assertEquals(holds.current(), new Map([["0", 128]]));
  clock.now = 1_500;
  assertEquals(holds.current(), new Map());
});
