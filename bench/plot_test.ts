import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { escapeXml, latencyCdfSvg } from "./plot.ts";

/** Tags must nest and close: a small well-formedness check without an XML parser. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, "");
  for (const [, closing, name, selfClosing] of body.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (closing) assertEquals(stack.pop(), name, `</${name}> closes the wrong tag`);
    else if (!selfClosing) stack.push(name!);
  }
  assertEquals(stack, [], "every tag is closed");
  assert(body.startsWith("<svg"), "one root element");
  assert(!/[<>]/.test(body.replace(/<[^>]*>/g, "")), "no stray angle brackets in text");
}

Deno.test("latencyCdfSvg() draws one path and two markers per series, with a legend", () => {
  const svg = latencyCdfSvg([
    { name: "cold", samplesMs: [400, 520, 610, 3_000] },
    { name: "warm", samplesMs: Array.from({ length: 100 }, (_, i) => 2 + i / 10) },
  ], { title: "Burst" });
  assertWellFormed(svg);
  assertStringIncludes(svg, 'xmlns="http://www.w3.org/2000/svg"');
  assertEquals(svg.match(/<path /g)?.length, 2);
  assertEquals(svg.match(/<circle /g)?.length, 4);
  assertStringIncludes(svg, "cold (n=4)");
  assertStringIncludes(svg, "warm p99: 11.9 ms");
  for (const tick of [">1<", ">10<", ">100<", ">1000<", ">10000<"]) assertStringIncludes(svg, tick);
  const colours = new Set([...svg.matchAll(/<path [^>]*stroke="([^"]+)"/g)].map((m) => m[1]));
  assertEquals(colours.size, 2, "distinct colours");
  assert(!svg.includes("NaN") && !svg.includes("Infinity"));
  // Every element sits inside the picture.
  for (const [, name, value] of svg.matchAll(/ (x|y|x1|x2|y1|y2|cx|cy)="(-?[\d.]+)"/g)) {
    const limit = name!.startsWith("x") || name === "cx" ? 720 : 420;
    assert(Number(value) >= 0 && Number(value) <= limit, `${name}=${value} outside the picture`);
  }
});

Deno.test("latencyCdfSvg() escapes names and title", () => {
  const svg = latencyCdfSvg([{ name: `a<b & "c"`, samplesMs: [1, 2] }], { title: "x < y" });
  assertWellFormed(svg);
  assertStringIncludes(svg, "a&lt;b &amp; &quot;c&quot;");
  assertStringIncludes(svg, "x &lt; y");
  assert(!svg.includes("a<b"));
  assertEquals(escapeXml(`'&'`), "&apos;&amp;&apos;");
});

Deno.test("latencyCdfSvg() handles empty, single-sample, zero and sub-millisecond series", () => {
  for (
    const series of [
      [],
      [{ name: "empty", samplesMs: [] }],
      [{ name: "one", samplesMs: [42] }],
      [{ name: "odd", samplesMs: [0, -1, 0.25, NaN, Infinity] }],
    ]
  ) {
    const svg = latencyCdfSvg(series);
    assertWellFormed(svg);
    assert(!svg.includes("NaN") && !svg.includes("Infinity"), svg);
  }
  const sub = latencyCdfSvg([{ name: "fast", samplesMs: [0.25, 0.5, 3] }]);
  assertStringIncludes(sub, ">0.1<");
  assertEquals(latencyCdfSvg([{ name: "empty", samplesMs: [] }]).match(/<path /g)?.length, 1);
});
