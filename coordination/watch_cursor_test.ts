import { assertEquals } from "@std/assert";
import { WatchCursor } from "./watch_cursor.ts";

const identity = (revision: number) => revision;

Deno.test("WatchCursor starts after the creation revision when no fromRevision is given", () => {
  const cursor = new WatchCursor();
  assertEquals(cursor.next, undefined);
  cursor.created(41);
  cursor.created(90);
  assertEquals(cursor.next, 42);
});

Deno.test("WatchCursor keeps fromRevision over the revision at creation", () => {
  const cursor = new WatchCursor(5);
  cursor.created(90);
  assertEquals(cursor.next, 5);
});

Deno.test("WatchCursor.admit() drops events delivered before and moves past the rest", () => {
  const cursor = new WatchCursor(5);
  assertEquals(cursor.admit([5, 6, 6], identity), [5, 6, 6]);
  assertEquals(cursor.next, 7);
  assertEquals(cursor.admit([5, 6, 7, 8], identity), [7, 8]);
  assertEquals(cursor.admit([8], identity), []);
  assertEquals(cursor.next, 9);
});

Deno.test("WatchCursor.progressed() only moves forward", () => {
  const cursor = new WatchCursor(5);
  cursor.progressed(10);
  assertEquals(cursor.next, 11);
  cursor.progressed(3);
  assertEquals(cursor.next, 11);
});
