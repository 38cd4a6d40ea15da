import { assertEquals, assertStringIncludes } from "@std/assert";
import { createMetrics } from "./registry.ts";
import { PROMETHEUS_CONTENT_TYPE, serveMetrics } from "./server.ts";

Deno.test("serveMetrics answers /metrics, /healthz and 404", async () => {
  const metrics = createMetrics();
  metrics.counter({ name: "t_hits_total", help: "Hits." }).inc();
  await using server = serveMetrics({ port: 0, metrics });
  const base = `http://127.0.0.1:${server.port}`;
  assertEquals(server.url, `${base}/metrics`);
  const scrape = await fetch(server.url);
  assertEquals(scrape.status, 200);
  assertEquals(scrape.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
  assertStringIncludes(await scrape.text(), "t_hits_total 1");
  const health = await fetch(`${base}/healthz`);
  assertEquals([health.status, await health.text()], [200, "ok\n"]);
  const missing = await fetch(`${base}/other`);
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
  const post = await fetch(`${base}/metrics`, { method: "POST" });
  assertEquals(post.status, 404);
  await post.body?.cancel();
});

Deno.test("serveMetrics stops when its signal aborts", async () => {
  const stop = new AbortController();
  const server = serveMetrics({ port: 0, metrics: createMetrics(), signal: stop.signal });
  stop.abort();
  await server.close();
  const refused = await fetch(server.url).then(() => false, () => true);
  assertEquals(refused, true);
});
