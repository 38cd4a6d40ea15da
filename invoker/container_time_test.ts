import { assertEquals } from "@std/assert";
import { ContainerTime, type ContainerTimeState } from "./container_time.ts";

function timed() {
  let t = 0;
  const seconds: Record<ContainerTimeState, number> = { busy: 0, idle: 0 };
  const time = new ContainerTime((state, s) => (seconds[state] += s), () => t);
  return { time, seconds, advance: (ms: number) => (t += ms) };
}

Deno.test("ContainerTime splits a container's life into busy and idle seconds", () => {
  const { time, seconds, advance } = timed();
  const clock = time.start();
  advance(500); // ready, waiting for its first activation
  clock.busy();
  advance(2_000);
  clock.busy(); // no change of state: nothing new
  clock.idle();
  advance(10_000); // kept alive
  clock.end();
  advance(1_000);
  clock.idle();
  clock.end();
  assertEquals(seconds, { busy: 2, idle: 10.5 });
  assertEquals(time.live, 0);
});

Deno.test("ContainerTime.flush() counts live containers' time so far, once", () => {
  const { time, seconds, advance } = timed();
  const a = time.start();
  const b = time.start();
  b.busy();
  advance(3_000);
  time.flush();
  assertEquals(seconds, { busy: 3, idle: 3 });
  time.flush();
  assertEquals(seconds, { busy: 3, idle: 3 });
  a.end();
  advance(1_000);
  time.flush();
  assertEquals(seconds, { busy: 4, idle: 3 });
  assertEquals(time.live, 1);
});
