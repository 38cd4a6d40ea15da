import { assertEquals } from "@std/assert";
import { compareRevisions, entityPath, FullyQualifiedName, revisionGeneration } from "./names.ts";

Deno.test("FullyQualifiedName accepts namespace and package paths and refuses bad segments", () => {
  assertEquals(FullyQualifiedName.safeParse({ path: "guest", name: "a" }).success, true);
  assertEquals(FullyQualifiedName.safeParse({ path: "guest/pkg", name: "a" }).success, true);
  for (
    const bad of [
      { path: "", name: "a" },
      { path: "a/b/c", name: "x" },
      { path: "g", name: "a/b" },
      { path: "g", name: "x".repeat(257) },
    ]
  ) {
    assertEquals(
      FullyQualifiedName.safeParse(bad).success,
      false,
      JSON.stringify(bad).slice(0, 60),
    );
  }
});

Deno.test("revisionGeneration() orders revisions by the number before the dash", () => {
  assertEquals(revisionGeneration("12-abc"), 12);
  assertEquals(revisionGeneration(null), 0);
  assertEquals(revisionGeneration("junk"), 0);
  assertEquals(compareRevisions("2-x", "10-y") < 0, true);
  assertEquals(entityPath({ path: "guest/pkg", name: "a" }), "guest/pkg/a");
});
