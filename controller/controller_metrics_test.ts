import { assertEquals } from "@std/assert";
import { createMetrics, parseSamples, sampleSum } from "@faas/metrics";
import { instrumentApi, invocationOutcome, routeTemplate } from "./controller_metrics.ts";

Deno.test("routeTemplate maps paths to a few templates", () => {
  const cases: [string, string][] = [
    ["/api/v1", "/api/v1"],
    ["/api/v1/", "/api/v1"],
    ["/api/v1/namespaces", "/api/v1/namespaces"],
    ["/api/v1/namespaces/_/actions", "/api/v1/namespaces/:ns/actions"],
    ["/api/v1/namespaces/guest/actions/hello", "/api/v1/namespaces/:ns/actions/:name"],
    ["/api/v1/namespaces/_/activations", "/api/v1/namespaces/:ns/activations"],
    ["/api/v1/namespaces/_/activations/abc", "/api/v1/namespaces/:ns/activations/:id"],
    ["/api/v1/namespaces/_/activations/abc/logs", "/api/v1/namespaces/:ns/activations/:id/logs"],
    [
      "/api/v1/namespaces/_/activations/abc/result",
      "/api/v1/namespaces/:ns/activations/:id/result",
    ],
    ["/api/v1/namespaces/_/actions/a/b", "other"],
    ["/api/v1/namespaces/_/triggers", "other"],
    ["/favicon.ico", "other"],
  ];
  for (const [path, template] of cases) assertEquals(routeTemplate(path), template, path);
});

Deno.test("invocationOutcome classifies statuses", () => {
  assertEquals([200, 202, 429, 502, 404, 500].map(invocationOutcome), [
    "success",
    "accepted",
    "throttled",
    "action_error",
    "rejected",
    "error",
  ]);
});

Deno.test("instrumentApi counts requests and invocations", async () => {
  const metrics = createMetrics();
  const handler = instrumentApi(
    (request) =>
      Promise.resolve(new Response(null, { status: request.method === "POST" ? 202 : 200 })),
    metrics,
  );
  await handler(new Request("http://x/api/v1/namespaces/_/actions/a", { method: "POST" }));
  await handler(new Request("http://x/api/v1/namespaces/_/actions/b", { method: "POST" }));
  await handler(new Request("http://x/api/v1"));
  const samples = parseSamples(await metrics.render());
  assertEquals(
    sampleSum(samples, "faas_controller_requests_total", {
      route: "POST /api/v1/namespaces/:ns/actions/:name",
      status: "202",
    }),
    2,
  );
  assertEquals(sampleSum(samples, "faas_controller_activations_total", { outcome: "accepted" }), 2);
  assertEquals(
    sampleSum(samples, "faas_controller_request_duration_seconds_count", { route: "GET /api/v1" }),
    1,
  );
});
