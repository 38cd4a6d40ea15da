import { assertEquals } from "@std/assert";
import {
  type ActionRequirements,
  actionRequirements,
  type InvokerSnapshot,
  placeContainers,
  type Placement,
  type PlacementRequest,
  unhostable,
} from "./container_placement.ts";
import { actionFixture } from "./_testing.ts";

function invoker(id: string, overrides: Partial<InvokerSnapshot> = {}): InvokerSnapshot {
  return {
    id,
    status: "up",
    freeMemoryMb: 1024,
    totalMemoryMb: 2048,
    tags: [],
    dedicatedNamespaces: [],
    ...overrides,
  };
}

const plain: ActionRequirements = {
  memoryMb: 256,
  requiredTags: [],
  strictTags: true,
  blackbox: false,
};

function request(overrides: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    invocationNamespace: "guest",
    fqn: "guest/hello",
    requirements: plain,
    count: 1,
    ...overrides,
  };
}

/** Invoker ids of the placed containers, in order. */
const ids = (placement: Placement) => placement.placed.map((p) => p.invokerId);
/** Ties go to the first candidate seen, so tables are deterministic. */
const first = { random: () => 0.5 };

interface Row {
  readonly name: string;
  readonly invokers: InvokerSnapshot[];
  readonly request: PlacementRequest;
  readonly expected: string[];
}

const rows: Row[] = [
  {
    name: "a batch deducts memory cumulatively instead of overfilling one invoker",
    invokers: [invoker("0", { freeMemoryMb: 500 }), invoker("1", { freeMemoryMb: 300 })],
    request: request({ count: 3 }),
    expected: ["0", "1"],
  },
  {
    name: "the invoker with the most free memory goes first, and the batch spreads",
    invokers: [invoker("0", { freeMemoryMb: 1024 }), invoker("1", { freeMemoryMb: 1536 })],
    request: request({ count: 4 }),
    expected: ["1", "1", "0", "1"],
  },
  {
    name: "unhealthy and down invokers get nothing",
    invokers: [
      invoker("0", { status: "unhealthy", freeMemoryMb: 4096 }),
      invoker("1", { status: "down", freeMemoryMb: 4096 }),
      invoker("2"),
    ],
    request: request({ count: 1 }),
    expected: ["2"],
  },
  {
    name: "invokers dedicated to other namespaces get nothing",
    invokers: [invoker("0", { dedicatedNamespaces: ["other"], freeMemoryMb: 4096 }), invoker("1")],
    request: request(),
    expected: ["1"],
  },
  {
    name: "invokers dedicated to the namespace go first",
    invokers: [
      invoker("0", { freeMemoryMb: 4096 }),
      invoker("1", { dedicatedNamespaces: ["guest"] }),
    ],
    request: request(),
    expected: ["1"],
  },
  {
    name: "paused containers of the revision are resumed first",
    invokers: [invoker("0", { freeMemoryMb: 4096 }), invoker("1", { freeMemoryMb: 512 })],
    request: request({ count: 3, warmInvokerIds: ["1", "1", "1"] }),
    expected: ["1", "1", "0"],
  },
  {
    name: "paused containers on unhealthy invokers are skipped",
    invokers: [invoker("0"), invoker("1", { status: "unhealthy" })],
    request: request({ warmInvokerIds: ["1"] }),
    expected: ["0"],
  },
  {
    name: "required tags pick matching invokers only under the strict policy",
    invokers: [invoker("0", { freeMemoryMb: 4096 }), invoker("1", { tags: ["gpu", "ssd"] })],
    request: request({ count: 2, requirements: { ...plain, requiredTags: ["gpu"] } }),
    expected: ["1", "1"],
  },
  {
    name: "without the strict policy, untagged invokers follow the matching ones",
    invokers: [
      invoker("0", { freeMemoryMb: 256 }),
      invoker("1", { tags: ["ssd"], freeMemoryMb: 4096 }),
      invoker("2", { tags: ["gpu"], freeMemoryMb: 256 }),
    ],
    request: request({
      count: 3,
      requirements: { ...plain, requiredTags: ["gpu"], strictTags: false },
    }),
    expected: ["2", "0", "1"],
  },
  {
    name: "untagged actions prefer untagged invokers, then tagged ones",
    invokers: [
      invoker("0", { tags: ["gpu"], freeMemoryMb: 4096 }),
      invoker("1", { freeMemoryMb: 256 }),
    ],
    request: request({ count: 2 }),
    expected: ["1", "0"],
  },
  {
    name: "blackbox actions go to the blackbox share: the last invokers by numeric id",
    invokers: ["2", "10", "1", "3", "4", "5", "6", "7", "8", "9"].map((id) =>
      invoker(id, { freeMemoryMb: id === "10" ? 256 : 1024 })
    ),
    request: request({ count: 2, requirements: { ...plain, blackbox: true } }),
    expected: ["10"],
  },
  {
    name: "managed actions stay off the blackbox share",
    invokers: ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"].map((id) =>
      invoker(id, { freeMemoryMb: id === "10" ? 4096 : 256 })
    ),
    request: request({ count: 3 }),
    expected: ["1", "2", "3"],
  },
  {
    name: "a single invoker serves both shares",
    invokers: [invoker("0")],
    request: request({ requirements: { ...plain, blackbox: true } }),
    expected: ["0"],
  },
  {
    name: "an avoided invoker is used only when nothing else fits",
    invokers: [invoker("0", { freeMemoryMb: 4096 }), invoker("1", { freeMemoryMb: 512 })],
    request: request({ count: 3, avoidInvokerIds: ["0"] }),
    expected: ["1", "1", "0"],
  },
];

for (const row of rows) {
  Deno.test(`placeContainers() ${row.name}`, () => {
    assertEquals(ids(placeContainers(row.invokers, row.request, first)), row.expected);
  });
}

Deno.test("placeContainers() marks containers placed on paused ones as warm", () => {
  const placement = placeContainers([invoker("0")], request({ count: 2, warmInvokerIds: ["0"] }));
  assertEquals(placement.placed, [{ invokerId: "0", warm: true }, { invokerId: "0", warm: false }]);
});

Deno.test("placeContainers() subtracts memory reserved by earlier batches", () => {
  const invokers = [invoker("0", { freeMemoryMb: 1024 }), invoker("1", { freeMemoryMb: 768 })];
  const reservedMemoryMb = new Map([["0", 512]]);
  const placement = placeContainers(invokers, request({ count: 2 }), {
    ...first,
    reservedMemoryMb,
  });
  assertEquals(ids(placement), ["1", "0"]);
});

Deno.test("placeContainers() breaks ties with the random source", () => {
  const invokers = [invoker("0"), invoker("1")];
  const draws = [0.9, 0.1];
  const placement = placeContainers(invokers, request(), { random: () => draws.shift()! });
  assertEquals(ids(placement), ["1"]);
});

Deno.test("placeContainers() explains containers it cannot place now", () => {
  const full = placeContainers([invoker("0", { freeMemoryMb: 300 })], request({ count: 2 }));
  assertEquals(full.unplaced, {
    count: 1,
    error: "ResourceNotEnoughError",
    reason: 'No healthy invoker has 256 MB free for "guest/hello"',
  });
  const down = placeContainers([invoker("0", { status: "down" })], request());
  assertEquals(down.unplaced, {
    count: 1,
    error: "NoAvailableInvokersError",
    reason: 'No healthy invoker accepts namespace "guest"',
  });
  const gpu = { ...plain, requiredTags: ["gpu"] };
  const untagged = placeContainers([invoker("0")], request({ requirements: gpu }));
  assertEquals(untagged.unplaced, {
    count: 1,
    error: "NoAvailableResourceInvokersError",
    reason: 'No healthy invoker has the resources "gpu" that "guest/hello" requires',
  });
});

Deno.test("placeContainers() sends an action's first container to the fullest invoker when none has room", () => {
  const invokers = [
    invoker("0", { freeMemoryMb: 0, totalMemoryMb: 1024 }),
    invoker("1", { freeMemoryMb: 128, totalMemoryMb: 2048 }),
    invoker("2", { freeMemoryMb: 0, totalMemoryMb: 128 }), // too small to ever host it
  ];
  const first = placeContainers(invokers, request({ count: 2, first: true }));
  assertEquals(ids(first), ["1"], "one container, where the most memory is in use");
  assertEquals(first.unplaced?.count, 1);
  const more = placeContainers(invokers, request({ count: 2 }));
  assertEquals([ids(more), more.unplaced?.count], [[], 2], "not for an action that has some");
});

Deno.test("unhostable() accepts an action some invoker could host, even when busy or down", () => {
  const invokers = [invoker("0", { status: "down", freeMemoryMb: 0, totalMemoryMb: 4096 })];
  const big = { ...plain, memoryMb: 4096 };
  assertEquals(unhostable(invokers, request({ requirements: big })), undefined);
  assertEquals(unhostable([], request({ requirements: big })), undefined);
});

Deno.test("unhostable() explains why no invoker can ever host the action", () => {
  const invokers = [invoker("0", { totalMemoryMb: 2048 }), invoker("1", { totalMemoryMb: 1024 })];
  assertEquals(unhostable(invokers, request({ requirements: { ...plain, memoryMb: 4096 } })), {
    error: "ResourceNotEnoughError",
    reason: 'No invoker can host 4096 MB for "guest/hello"; the largest has 2048 MB',
  });
  assertEquals(
    unhostable(invokers, request({ requirements: { ...plain, requiredTags: ["gpu"] } })),
    {
      error: "NoAvailableResourceInvokersError",
      reason: 'No invoker has the resources "gpu" that "guest/hello" requires',
    },
  );
  const lenient = { ...plain, requiredTags: ["gpu"], strictTags: false };
  assertEquals(unhostable(invokers, request({ requirements: lenient })), undefined);
  const dedicated = [invoker("0", { dedicatedNamespaces: ["team"] })];
  assertEquals(unhostable(dedicated, request()), {
    error: "NoAvailableInvokersError",
    reason: 'No invoker accepts namespace "guest": all 1 are dedicated to others',
  });
  const tagged = [invoker("0", { tags: ["gpu"], totalMemoryMb: 512 }), invoker("1")];
  assertEquals(
    unhostable(
      tagged,
      request({ requirements: { ...plain, requiredTags: ["gpu"], memoryMb: 1024 } }),
    ),
    {
      error: "ResourceNotEnoughError",
      reason: 'No invoker can host 1024 MB for "guest/hello"; the largest has 512 MB',
    },
  );
});

Deno.test("actionRequirements() reads memory, tags, strict policy and blackbox kind", () => {
  const base = actionFixture();
  assertEquals(actionRequirements(base), plain);
  const tagged = actionFixture({
    annotations: [
      { key: "invoker-resources", value: ["gpu", 7, "ssd"] },
      { key: "invoker-resources-strict-policy", value: false },
    ],
    exec: { kind: "blackbox", image: "me/img", binary: false },
    limits: { ...base.limits, memory: 512 },
  });
  assertEquals(actionRequirements(tagged), {
    memoryMb: 512,
    requiredTags: ["gpu", "ssd"],
    strictTags: false,
    blackbox: true,
  });
  const lenientText = actionFixture({
    annotations: [{ key: "invoker-resources-strict-policy", value: "false" }],
  });
  assertEquals(actionRequirements(lenientText).strictTags, false);
});

Deno.test("unhostable() applies the blackbox share like placement does", () => {
  const invokers = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"].map((id) =>
    invoker(id, { totalMemoryMb: id === "1" ? 8192 : 1024 })
  );
  const big = { ...plain, memoryMb: 2048 };
  assertEquals(unhostable(invokers, request({ requirements: big })), undefined);
  assertEquals(unhostable(invokers, request({ requirements: { ...big, blackbox: true } })), {
    error: "ResourceNotEnoughError",
    reason: 'No blackbox invoker can host 2048 MB for "guest/hello"; the largest has 1024 MB',
  });
});
