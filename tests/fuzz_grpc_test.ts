/**
 * Fuzzes every gRPC method of a real scheduler (real etcd and Kafka) with
 * seeded random and boundary requests, typed and as raw protobuf bytes, with
 * and without a valid fetch token. Every call must settle in bounded time
 * with a well-formed answer or an expected status; afterwards the scheduler
 * must still carry activations end to end, through the fuzzed queue and a
 * fresh one. Rerun a failure with `FUZZ_SEED=<seed from the test name>`.
 */
import { assert, assertEquals } from "@std/assert";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Buffer } from "node:buffer";
import {
  ActivationServiceClient,
  type CallOptions,
  CLUSTER_TOKEN_METADATA_KEY,
  CreateQueueRequest,
  CreateQueueResponse,
  decodeFetchResult,
  entityPath,
  FETCH_TOKEN_METADATA_KEY,
  FetchRequest,
  FetchResponse,
  FullyQualifiedName,
  JoinQueueRequest,
  JoinQueueResponse,
  QueueLeader,
  QueueServiceClient,
  RescheduleRequest,
  RescheduleResponse,
  type RpcCode,
  RpcError,
} from "@faas/proto";
import { ContainerProxy, storeLeaderResolver } from "@faas/sdk";
import {
  boundaryString,
  fuzzSeed,
  mapLimit,
  preview,
  randomJson,
  Rng,
  stillRunning,
  TRICKY_NUMBERS,
  truncated,
  withField,
  within,
} from "./_fuzz.ts";
import {
  activationFixture,
  clusterCall,
  eventually,
  type TestCluster,
  testCluster,
  tokens,
} from "./_harness.ts";

const SEED = fuzzSeed();
const CALLS = 300;
const CONCURRENCY = 8;
const CALL_TIMEOUT_MS = 10_000;
/** The scheduler's `maxRequestBytes` default: larger requests may be refused as too big. */
const MAX_REQUEST_BYTES = 4_194_304;
const HUGE = 1_000_000;
const TARGET = "fuzzed";
const TARGET_FQN = { path: "guest", name: TARGET, version: "0.0.1" } as const;
const REVISION = "1-a";

const PATHS = {
  fetch: "/activation.ActivationService/FetchActivation",
  reschedule: "/activation.ActivationService/RescheduleActivation",
  create: "/queue.QueueService/CreateQueue",
  join: "/queue.QueueService/JoinQueue",
} as const;
type Method = keyof typeof PATHS;

/** Codes a method may answer a malformed or unauthorized request with. */
const EXPECTED_CODES: Record<Method, readonly RpcCode[]> = {
  fetch: ["INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED"],
  reschedule: ["INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED"],
  // QueueService calls come from the cluster's own programs, with the cluster token.
  create: ["INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED"],
  join: ["INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED"],
};

type TokenKind = "none" | "valid" | "other_action" | "garbage";

interface FuzzCase {
  readonly index: number;
  readonly method: Method;
  readonly token: TokenKind;
  /** The encoded request as sent. */
  readonly bytes: Uint8Array;
  /** The typed request, absent for raw bytes. */
  readonly typed?: TypedRequest;
  /** Whether the bytes may fail to decode (raw bytes, or an int64 beyond safe integers). */
  readonly mayNotDecode: boolean;
}

type Outcome =
  | { readonly kind: "ok"; readonly response: unknown }
  | { readonly kind: "rpc_error"; readonly error: RpcError }
  | { readonly kind: "other"; readonly error: unknown };

/** Calls any method with bytes as they are, on the process's shared channel of proto/grpc.ts. */
class RawActivationClient extends ActivationServiceClient {
  /** Sends `bytes` to `path` and decodes the answer with `decode`. */
  send<Res>(
    path: string,
    bytes: Uint8Array,
    decode: (bytes: Uint8Array) => Res,
    options: CallOptions,
  ): Promise<Res> {
    return this.unary<undefined, Res>(
      {
        path,
        requestSerialize: () => Buffer.from(bytes),
        responseDeserialize: (b) => decode(b),
      },
      undefined,
      options,
    );
  }
}

const DECODERS: Record<Method, (bytes: Uint8Array) => unknown> = {
  fetch: (b) => FetchResponse.decode(b),
  reschedule: (b) => RescheduleResponse.decode(b),
  create: (b) => CreateQueueResponse.decode(b),
  join: (b) => JoinQueueResponse.decode(b),
};

Deno.test(`fuzz grpc (FUZZ_SEED=${SEED}): every method answers random and boundary requests well-formed`, async () => {
  await using cluster = await testCluster();
  const scheduler = await cluster.startScheduler("0", { SCHEDULER_FETCH_WAIT_MS: "100" });
  const running = stillRunning(scheduler.closed);
  const address = `127.0.0.1:${scheduler.rpcPort}`;
  // One channel for the whole test (proto/grpc.ts shares it per address).
  const client = new RawActivationClient(address);
  const queues = new QueueServiceClient(address);
  try {
    await createTargetQueue(queues);
    const rng = new Rng(SEED);
    const cases = Array.from({ length: CALLS }, (_, i) => fuzzCase(rng, i));
    const outcomes = await mapLimit(cases, CONCURRENCY, (c) => call(client, c));
    cases.forEach((c, i) => checkOutcome(c, outcomes[i]!));
    await assertStillServes(cluster, scheduler.rpcPort);
    assertEquals(running(), true, `seed ${SEED}: the scheduler stopped during the fuzzing`);
  } finally {
    // Channel first, then server. On a GOAWAY nghttp2 walks the streams the
    // peer opened (sender) or its own (receiver), and Deno 2.9.6 can abort
    // there (denoland/deno#36788). A closing channel makes both sides walk
    // server-opened streams, of which there are none; a closing server makes
    // them walk this client's hundreds, which aborted about one run in three.
    client.close();
    queues.close();
    await scheduler.close();
  }
});

async function createTargetQueue(queues: QueueServiceClient): Promise<void> {
  const response = await queues.createQueue({
    invocationNamespace: "guest",
    fqn: JSON.stringify(TARGET_FQN),
    rev: JSON.stringify(REVISION),
  }, await clusterCall());
  assertEquals(response.success, true);
}

// ---------------------------------------------------------------- generation

function fuzzCase(rng: Rng, index: number): FuzzCase {
  const method = rng.pick(Object.keys(PATHS) as Method[]);
  const token: TokenKind = rng.pick(["none", "valid", "valid", "other_action", "garbage"]);
  if (rng.chance(0.15)) {
    return { index, method, token, bytes: rawBytes(rng, method), mayNotDecode: true };
  }
  const typed = rng.chance(0.02) ? oversized(rng, method) : typedRequest(rng, method);
  return {
    index,
    method,
    token,
    typed,
    bytes: encode(method, typed),
    mayNotDecode: "lastDuration" in typed && !fitsSafeInteger(typed.lastDuration),
  };
}

type TypedRequest = FetchRequest | RescheduleRequest | CreateQueueRequest;

/** Field generators of every request field: each draws valid values often, boundary ones too. */
const FIELDS = {
  invocationNamespace: (rng: Rng) => rng.chance(0.6) ? "guest" : boundaryString(rng, HUGE),
  fqn: (rng: Rng) => fqnText(rng),
  rev: (rng: Rng) => revText(rng),
  containerId: (rng: Rng) => rng.chance(0.6) ? `fuzz-${rng.int(5)}` : boundaryString(rng, HUGE),
  warmed: (rng: Rng) => rng.bool(),
  alive: (rng: Rng) => rng.bool(),
  lastDuration: (rng: Rng) => lastDuration(rng),
  activationMessage: (rng: Rng) => activationText(rng),
} as const;
type Field = keyof typeof FIELDS;

const METHOD_FIELDS: Record<Method, readonly Field[]> = {
  fetch: ["invocationNamespace", "fqn", "rev", "containerId", "warmed", "alive", "lastDuration"],
  reschedule: ["invocationNamespace", "fqn", "rev", "activationMessage"],
  create: ["invocationNamespace", "fqn", "rev"],
  join: ["invocationNamespace", "fqn", "rev"],
};

/**
 * Half the time a valid request of the target with one or two fields drawn
 * at random (so that most checks past the first one run too), otherwise
 * every field drawn at random.
 */
function typedRequest(rng: Rng, method: Method): TypedRequest {
  const fields = METHOD_FIELDS[method];
  const request: Record<string, unknown> = validRequest(method);
  const drawn = rng.chance(0.5) ? fields : [rng.pick(fields), rng.pick(fields)];
  for (const field of drawn) request[field] = FIELDS[field](rng);
  return request as unknown as TypedRequest;
}

function validRequest(method: Method): Record<Field, unknown> {
  return {
    invocationNamespace: "guest",
    fqn: JSON.stringify(TARGET_FQN),
    rev: JSON.stringify(REVISION),
    containerId: "fuzz-0",
    warmed: true,
    alive: true,
    lastDuration: 5,
    activationMessage: method === "reschedule"
      ? JSON.stringify(activationFixture({ action: TARGET_FQN, revision: REVISION }))
      : "",
  };
}

/** A request larger than the scheduler accepts (4 MiB): 1.5 MB in every string field. */
function oversized(rng: Rng, method: Method): TypedRequest {
  const big = () => "o".repeat(rng.between(1_500_000, 1_600_000));
  const request: Record<string, unknown> = validRequest(method);
  for (const field of ["invocationNamespace", "fqn", "rev", "containerId", "activationMessage"]) {
    request[field] = big();
  }
  return request as unknown as TypedRequest;
}

function fqnText(rng: Rng): string {
  const roll = rng.next();
  if (roll < 0.35) return JSON.stringify(TARGET_FQN);
  if (roll < 0.6) {
    const fqn: Record<string, unknown> = {
      path: rng.chance(0.5) ? "guest" : boundaryString(rng),
      name: rng.chance(0.5) ? `fz${rng.int(4)}` : boundaryString(rng),
    };
    if (rng.bool()) fqn.version = rng.chance(0.5) ? "0.0.1" : boundaryString(rng);
    if (rng.chance(0.2)) fqn.binding = boundaryString(rng);
    if (rng.chance(0.2)) fqn[boundaryString(rng)] = randomJson(rng);
    return JSON.stringify(fqn);
  }
  if (roll < 0.7) return JSON.stringify(randomJson(rng));
  if (roll < 0.8) return truncated(rng, JSON.stringify(TARGET_FQN));
  return boundaryString(rng, HUGE);
}

function revText(rng: Rng): string {
  const roll = rng.next();
  if (roll < 0.55) return JSON.stringify(REVISION);
  if (roll < 0.65) return "null";
  if (roll < 0.75) return REVISION; // not JSON
  if (roll < 0.85) return JSON.stringify(boundaryString(rng));
  if (roll < 0.9) return JSON.stringify(randomJson(rng));
  return boundaryString(rng, HUGE);
}

// Int64Value: only integers in int64 range encode; those beyond safe integers
// encode but cannot decode into a JS number.
const DURATIONS = [
  -1,
  -(2 ** 31),
  -(2 ** 62),
  0,
  1,
  86_400_000,
  86_400_001,
  2 ** 32,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  2 ** 62,
  ...TRICKY_NUMBERS.filter((n) => Number.isInteger(n) && Math.abs(n) < 2 ** 63),
];

function lastDuration(rng: Rng): number | undefined {
  const roll = rng.next();
  if (roll < 0.4) return undefined;
  if (roll < 0.7) return rng.int(5_000);
  return rng.pick(DURATIONS);
}

function fitsSafeInteger(value: number | undefined): boolean {
  return value === undefined || Math.abs(value) <= Number.MAX_SAFE_INTEGER;
}

function activationText(rng: Rng): string {
  const roll = rng.next();
  if (roll < 0.45) return JSON.stringify(boundaryActivation(rng));
  if (roll < 0.6) return JSON.stringify(randomJson(rng, 4));
  if (roll < 0.75) return truncated(rng, JSON.stringify(activationFixture()));
  return boundaryString(rng, HUGE);
}

/** A valid activation of the target, with one or two fields set to boundary values. */
function boundaryActivation(rng: Rng): unknown {
  let message: unknown = activationFixture({
    action: TARGET_FQN,
    revision: REVISION,
    blocking: rng.bool(),
    content: rng.chance(0.1) ? { big: "b".repeat(rng.between(1_000, 900_000)) } : {},
  });
  const edits = rng.int(3);
  for (let i = 0; i < edits; i++) {
    const field = rng.pick([
      "transid",
      "action.path",
      "action.name",
      "action.version",
      "revision",
      "user.subject",
      "user.namespace.name",
      "user.rights",
      "user.limits",
      "activationId",
      "rootControllerIndex.asString",
      "blocking",
      "content",
      "initArgs",
      "lockedArgs",
      "cause",
      "traceContext",
      "unknownField",
    ]);
    message = withField(message, field, rng.chance(0.2) ? undefined : randomJson(rng, 2));
  }
  return message;
}

function encode(method: Method, request: TypedRequest): Uint8Array {
  switch (method) {
    case "fetch":
      return FetchRequest.encode(request as FetchRequest).finish();
    case "reschedule":
      return RescheduleRequest.encode(request as RescheduleRequest).finish();
    case "create":
      return CreateQueueRequest.encode(request as CreateQueueRequest).finish();
    case "join":
      return JoinQueueRequest.encode(request as JoinQueueRequest).finish();
  }
}

/** Protobuf-shaped garbage: random tags and wire types, lying lengths, truncations. */
function rawBytes(rng: Rng, method: Method): Uint8Array {
  const valid = encode(method, validRequest(method) as unknown as TypedRequest);
  switch (rng.int(5)) {
    case 0:
      return rng.bytes(rng.int(2_000));
    case 1:
      return valid.slice(0, rng.int(valid.length));
    case 2:
      return concat(valid, randomFields(rng)); // a valid request, then more fields
    case 3:
      return lyingLength(rng);
    default:
      return randomFields(rng);
  }
}

function randomFields(rng: Rng): Uint8Array {
  const writer = new BinaryWriter();
  const fields = rng.between(1, 8);
  for (let i = 0; i < fields; i++) {
    const field = rng.pick([1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 2_047, 2 ** 29 - 1, rng.int(2 ** 29)]);
    const wireType = rng.pick([0, 1, 2, 5, 3, 4, 6, 7]);
    writer.uint32((field * 8 + wireType) >>> 0);
    switch (wireType) {
      case 0:
        writer.uint64(rng.pick(["0", "1", "18446744073709551615", "9223372036854775807"]));
        break;
      case 1:
        writer.fixed64(rng.pick(["0", "18446744073709551615"]));
        break;
      case 2:
        writer.bytes(rng.chance(0.5) ? rng.bytes(rng.int(200)) : nestedInt64(rng));
        break;
      case 5:
        writer.fixed32(rng.int(2 ** 32));
        break;
      default:
        writer.raw(rng.bytes(rng.int(8))); // groups and invalid wire types
    }
  }
  return writer.finish();
}

/** A wrapper-shaped submessage with an int64 that may not fit a JS number. */
function nestedInt64(rng: Rng): Uint8Array {
  return new BinaryWriter().uint32(8).int64(
    rng.pick(["-1", "9223372036854775807", "-9223372036854775808", "9007199254740993"]),
  ).finish();
}

function lyingLength(rng: Rng): Uint8Array {
  const claimed = rng.pick([1_000, 2 ** 31 - 1, 2 ** 32 - 1]);
  return concat(new BinaryWriter().uint32(10).uint32(claimed).finish(), rng.bytes(rng.int(50)));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// ---------------------------------------------------------------- calls

/** The namespace and action path a request names, when its fields parse. */
function scopeOf(c: FuzzCase): { ns: string; fqn: string } {
  const typed = c.typed ?? { invocationNamespace: "guest", fqn: JSON.stringify(TARGET_FQN) };
  const fqn = FullyQualifiedName.safeParse(safeJson(typed.fqn));
  return {
    ns: typed.invocationNamespace,
    fqn: fqn.success ? entityPath(fqn.data) : typed.fqn,
  };
}

async function metadataFor(c: FuzzCase): Promise<Record<string, string>> {
  const { ns, fqn } = scopeOf(c);
  const queueMethod = c.method === "create" || c.method === "join";
  const key = queueMethod ? CLUSTER_TOKEN_METADATA_KEY : FETCH_TOKEN_METADATA_KEY;
  switch (c.token) {
    case "none":
      return {};
    case "valid":
      return { [key]: queueMethod ? await tokens.mintCluster() : await tokens.mint(ns, fqn) };
    case "other_action":
      // For the QueueService: a container's own fetch token, which must not pass for the cluster's.
      return { [key]: await tokens.mint(ns, queueMethod ? fqn : `${fqn}x`) };
    case "garbage":
      // Printable ASCII only: grpc-js refuses other header values before sending.
      return { [key]: ["", "x", "=".repeat(43), "A".repeat(4_096)][c.index % 4]! };
  }
}

async function call(client: RawActivationClient, c: FuzzCase): Promise<Outcome> {
  const options = { metadata: await metadataFor(c), timeoutMs: CALL_TIMEOUT_MS };
  try {
    const sent = client.send(PATHS[c.method], c.bytes, DECODERS[c.method], options);
    const response = await within(sent, CALL_TIMEOUT_MS + 5_000, describe(c));
    return { kind: "ok", response };
  } catch (error) {
    return error instanceof RpcError ? { kind: "rpc_error", error } : { kind: "other", error };
  }
}

// ---------------------------------------------------------------- checks

/** Asserts that `outcome` is an acceptable answer to `c`. */
function checkOutcome(c: FuzzCase, outcome: Outcome): void {
  const what = describe(c);
  if (outcome.kind === "other") {
    throw new Error(`${what}: failed outside gRPC: ${String(outcome.error)}`, {
      cause: outcome.error,
    });
  }
  if (outcome.kind === "ok") {
    checkResponse(c, outcome.response, what);
    return;
  }
  const { code, message } = outcome.error;
  // Bytes that do not decode are the caller's error, never the server's.
  if (message.includes("does not decode")) {
    assert(c.mayNotDecode, `${what}: a well-formed request reported as undecodable`);
    assertEquals(code, "INVALID_ARGUMENT", what);
    return;
  }
  if (code === "RESOURCE_EXHAUSTED") {
    assert(c.bytes.length > MAX_REQUEST_BYTES, `${what}: ${code} for ${c.bytes.length} bytes`);
    return;
  }
  assert(EXPECTED_CODES[c.method].includes(code), `${what}: unexpected ${code}: ${message}`);
  if (code === "UNAUTHENTICATED") assertEquals(c.token, "none", `${what}: ${message}`);
  if (code === "PERMISSION_DENIED") assert(c.token !== "valid", `${what}: ${message}`);
}

function checkResponse(c: FuzzCase, response: unknown, what: string): void {
  switch (c.method) {
    case "fetch": {
      assertEquals(c.token, "valid", `${what}: served without a valid token`);
      const result = decodeFetchResult((response as FetchResponse).activationMessage);
      if (result.kind === "activation") {
        const { ns, fqn } = scopeOf(c);
        assertEquals(
          entityPath(result.message.action),
          fqn,
          `${what}: another action's activation`,
        );
        assertEquals(result.message.user.namespace.name, ns, `${what}: another namespace's`);
      }
      return;
    }
    case "reschedule":
      assertEquals(c.token, "valid", `${what}: rescheduled without a valid token`);
      assertEquals(typeof (response as RescheduleResponse).isRescheduled, "boolean", what);
      return;
    case "create": {
      assertEquals(c.token, "valid", `${what}: created without the cluster token`);
      const created = response as CreateQueueResponse;
      assertEquals(created.success, true, what);
      assertEquals(QueueLeader.parse(JSON.parse(created.leader)).sid, "0", what);
      return;
    }
    case "join": {
      assertEquals(c.token, "valid", `${what}: joined without the cluster token`);
      const joined = response as JoinQueueResponse;
      assert(["leader", "follower"].includes(joined.role), `${what}: role ${joined.role}`);
      QueueLeader.parse(JSON.parse(joined.leader));
      return;
    }
  }
}

function describe(c: FuzzCase): string {
  const body = c.typed ? preview(c.typed) : `raw ${preview(Array.from(c.bytes.slice(0, 40)))}`;
  return `seed ${SEED} case ${c.index} ${c.method} (token ${c.token}, ${c.bytes.length} B) ${body}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- afterwards

/** Activations still flow through the fuzzed queue and through a fresh one. */
async function assertStillServes(cluster: TestCluster, rpcPort: number): Promise<void> {
  const actions = [TARGET_FQN, { path: "guest", name: "fresh", version: "0.0.1" }];
  const messages = actions.map((action) => activationFixture({ action, revision: REVISION }));
  await cluster.publish("0", messages);
  // Containers exist only for queues that exist: wait for the leaders, as an invoker would.
  for (const { name } of actions) {
    const key = `${cluster.name}/queue/guest/guest/${name}/leader`;
    await eventually(
      `seed ${SEED}: the leader of ${name}`,
      async () => (await cluster.store.get(key)) !== undefined,
    );
  }
  const seen = new Set<string>();
  const proxies = await Promise.all(actions.map(async (action) =>
    ContainerProxy.start({
      invocationNamespace: "guest",
      action,
      revision: REVISION,
      containerId: `after-${action.name}`,
      fetchToken: await tokens.mint("guest", `guest/${action.name}`),
      resolver: storeLeaderResolver(cluster.store, cluster.name),
      endpoint: { host: "127.0.0.1", rpcPort },
    }, (message) => Promise.resolve(void seen.add(message.activationId)))
  ));
  try {
    await eventually(
      `seed ${SEED}: the activations published after the fuzzing to be pulled`,
      () => messages.every((m) => seen.has(m.activationId)),
    );
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
  }
}
