import { assertEquals } from "@std/assert";
import { MemoryLedger } from "./resources.ts";

Deno.test("MemoryLedger.reserve() moves memory from in progress to busy and back to free", () => {
  const ledger = new MemoryLedger(512);
  const a = ledger.reserve(256)!;
  assertEquals(ledger.snapshot(), { freeMb: 256, busyMb: 0, inProgressMb: 256 });
  a.commit();
  assertEquals(ledger.snapshot(), { freeMb: 256, busyMb: 256, inProgressMb: 0 });
  a.release();
  a.release();
  assertEquals(ledger.snapshot(), { freeMb: 512, busyMb: 0, inProgressMb: 0 });
});

Deno.test("MemoryLedger.reserve() refuses what does not fit", () => {
  const ledger = new MemoryLedger(512);
  const a = ledger.reserve(384)!;
  assertEquals(ledger.reserve(256), undefined);
  a.release();
  assertEquals(ledger.reserve(512)?.memoryMb, 512);
});
