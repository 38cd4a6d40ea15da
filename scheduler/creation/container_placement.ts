/**
 * Placement: which invokers get the new containers of an action. Pure
 * functions over a snapshot of the invokers, so the rules are table-tested.
 *
 * Rules, in order:
 * 1. Only invokers that are `up` and not dedicated to other namespaces.
 * 2. Paused (warmed) containers of this revision first: resuming beats a cold start.
 * 3. Cold containers go to the first tier with room:
 *    - required resource tags (annotation `invoker-resources`): invokers with all
 *      of them; unless `invoker-resources-strict-policy` is false, only those,
 *      else then untagged invokers, then the other tagged ones;
 *    - no tags: untagged invokers (blackbox actions on the blackbox share, the
 *      others on the managed share), then tagged ones.
 * 4. Within a tier: invokers dedicated to the namespace first, then the one
 *    with the most free memory; equal ones at random. Most-free spreads a batch
 *    evenly because every placement deducts its memory before the next (the
 *    reference deducts from the original list each time, so a batch could
 *    pile onto one invoker), and unlike a uniform pick it never prefers a
 *    nearly full invoker. The random tie-break keeps schedulers that read the
 *    same numbers from all choosing the same invoker.
 *
 * @module
 */
import {
  type ActionMetadata,
  annotation,
  type ContainerCreationError,
  type InvokerStatus,
} from "@faas/proto";

/** One registered invoker, as placement sees it. Memory in MB. */
export interface InvokerSnapshot {
  /** The id in `{cluster}/invokers/{id}` and topic `invoker{id}`. */
  readonly id: string;
  /** Only `up` invokers get containers. */
  readonly status: InvokerStatus;
  /** Memory not used by busy or starting containers, as last reported. */
  readonly freeMemoryMb: number;
  /** All the memory the invoker gives to containers (free + busy + in progress). */
  readonly totalMemoryMb: number;
  /** Resource tags, e.g. `gpu`. */
  readonly tags: readonly string[];
  /** Namespaces this invoker serves exclusively; empty serves all. */
  readonly dedicatedNamespaces: readonly string[];
}

/** What a container of an action needs from its invoker. */
export interface ActionRequirements {
  /** Memory of one container (`limits.memory`). */
  readonly memoryMb: number;
  /** Resource tags the invoker must carry. */
  readonly requiredTags: readonly string[];
  /** Whether only invokers with every required tag qualify. */
  readonly strictTags: boolean;
  /** Blackbox (custom image) actions run on the blackbox share of invokers. */
  readonly blackbox: boolean;
}

/** Containers to place for one action. */
export interface PlacementRequest {
  /** The namespace the containers run for; dedicated invokers check it. */
  readonly invocationNamespace: string;
  /** The action path, for messages. */
  readonly fqn: string;
  /** What each container needs. */
  readonly requirements: ActionRequirements;
  /** Containers to place. */
  readonly count: number;
  /** The invoker of each paused container of this revision (one entry per container). */
  readonly warmInvokerIds?: readonly string[];
  /** Invokers to use only when nothing else fits, e.g. one that just refused. */
  readonly avoidInvokerIds?: readonly string[];
  /**
   * The action has no container yet: when no invoker has the memory free,
   * one container still goes to the invoker with the most memory in use,
   * which may give up a container of an action that holds several.
   */
  readonly first?: boolean;
}

/** Options for {@linkcode placeContainers}. */
export interface PlacementOptions {
  /** Share of the untagged invokers (the last ones by id) kept for blackbox actions. @default {0.1} */
  blackboxFraction?: number;
  /** Memory already promised per invoker that its report may not show yet, in MB. */
  reservedMemoryMb?: ReadonlyMap<string, number>;
  /** Tie-break source in [0, 1). @default {Math.random} */
  random?: () => number;
}

/** Containers that could not be placed now, and why (the condition may pass). */
export interface Unplaced {
  /** Containers left without an invoker. */
  readonly count: number;
  /** The ack-style error for them. */
  readonly error: ContainerCreationError;
  /** A sentence for logs and activation records. */
  readonly reason: string;
}

/** Where the containers go. */
export interface Placement {
  /** One entry per placed container, in request order. */
  readonly placed: readonly { readonly invokerId: string; readonly warm: boolean }[];
  /** Present when fewer than `count` containers found an invoker. */
  readonly unplaced?: Unplaced;
}

/** Why no invoker can ever host the action as registered. */
export interface Unhostable {
  /** The ack-style error. */
  readonly error: ContainerCreationError;
  /** A sentence for logs and activation records, with the numbers. */
  readonly reason: string;
}

/** Reads an action's needs from its limits, annotations and kind. */
export function actionRequirements(action: ActionMetadata): ActionRequirements {
  const tags = annotation(action, "invoker-resources");
  const strict = annotation(action, "invoker-resources-strict-policy");
  return {
    memoryMb: action.limits.memory,
    requiredTags: Array.isArray(tags) ? tags.filter((t) => typeof t === "string") : [],
    strictTags: !(strict === false || strict === "false"),
    blackbox: action.exec.kind === "blackbox",
  };
}

/**
 * Says why no registered invoker, healthy or not, could ever host the action,
 * or `undefined` when one could. It applies the same tiers as placement, so a
 * blackbox action too big for the blackbox share is caught too. With no
 * invoker registered at all it returns `undefined`: invokers may still be
 * starting.
 */
export function unhostable(
  invokers: readonly InvokerSnapshot[],
  request: Pick<PlacementRequest, "invocationNamespace" | "fqn" | "requirements">,
  options: Pick<PlacementOptions, "blackboxFraction"> = {},
): Unhostable | undefined {
  if (invokers.length === 0) return undefined;
  const { invocationNamespace: ns, fqn, requirements: needs } = request;
  const admitting = invokers.filter((i) => admits(i, ns));
  if (admitting.length === 0) {
    const reason =
      `No invoker accepts namespace "${ns}": all ${invokers.length} are dedicated to others`;
    return { error: "NoAvailableInvokersError", reason };
  }
  const candidates = coldTiers(admitting, needs, options.blackboxFraction ?? 0.1).flat();
  if (candidates.length === 0) {
    const tags = needs.requiredTags.join(", ");
    const reason = `No invoker has the resources "${tags}" that "${fqn}" requires`;
    return { error: "NoAvailableResourceInvokersError", reason };
  }
  const largestMb = Math.max(...candidates.map((i) => i.totalMemoryMb));
  if (largestMb >= needs.memoryMb) return undefined;
  const kind = needs.blackbox && needs.requiredTags.length === 0 ? "blackbox invoker" : "invoker";
  const reason =
    `No ${kind} can host ${needs.memoryMb} MB for "${fqn}"; the largest has ${largestMb} MB`;
  return { error: "ResourceNotEnoughError", reason };
}

/** Chooses an invoker for each container, deducting memory as it goes. */
export function placeContainers(
  invokers: readonly InvokerSnapshot[],
  request: PlacementRequest,
  options: PlacementOptions = {},
): Placement {
  const { blackboxFraction = 0.1, reservedMemoryMb = new Map(), random = Math.random } = options;
  const { invocationNamespace: ns, requirements: needs, count } = request;
  const healthy = invokers.filter((i) => i.status === "up" && admits(i, ns));
  const freeMb = new Map(
    healthy.map((i) => [i.id, i.freeMemoryMb - (reservedMemoryMb.get(i.id) ?? 0)]),
  );
  const placed: { invokerId: string; warm: boolean }[] = [];
  const take = (invokerId: string, warm: boolean) => {
    placed.push({ invokerId, warm });
    freeMb.set(invokerId, freeMb.get(invokerId)! - needs.memoryMb);
  };
  for (const id of request.warmInvokerIds ?? []) {
    if (placed.length >= count) break;
    if ((freeMb.get(id) ?? -Infinity) >= needs.memoryMb) take(id, true);
  }
  const tiers = coldTiers(healthy, needs, blackboxFraction);
  // One tie-break draw per healthy invoker, in list order.
  const draws = new Map(healthy.map((i) => [i.id, random()]));
  const order = ordering(ns, new Set(request.avoidInvokerIds ?? []), freeMb, draws);
  while (placed.length < count) {
    const choice = choose(tiers, freeMb, needs.memoryMb, order);
    if (!choice) break;
    take(choice.id, false);
  }
  const inUse = (i: InvokerSnapshot) => i.totalMemoryMb - (freeMb.get(i.id) ?? 0);
  if (placed.length === 0 && request.first) {
    const fullest = tiers.flat()
      .filter((i) => i.totalMemoryMb >= needs.memoryMb)
      .sort((a, b) => inUse(b) - inUse(a))[0];
    if (fullest) take(fullest.id, false);
  }
  const missing = count - placed.length;
  if (missing === 0) return { placed };
  return { placed, unplaced: { count: missing, ...whyUnplaced(healthy, tiers, request) } };
}

function admits(invoker: InvokerSnapshot, ns: string): boolean {
  return invoker.dedicatedNamespaces.length === 0 || invoker.dedicatedNamespaces.includes(ns);
}

function hasTags(invoker: InvokerSnapshot, tags: readonly string[]): boolean {
  return tags.every((t) => invoker.tags.includes(t));
}

function coldTiers(
  healthy: readonly InvokerSnapshot[],
  needs: ActionRequirements,
  blackboxFraction: number,
): InvokerSnapshot[][] {
  const untagged = healthy.filter((i) => i.tags.length === 0);
  const tagged = healthy.filter((i) => i.tags.length > 0);
  if (needs.requiredTags.length > 0) {
    const matching = healthy.filter((i) => hasTags(i, needs.requiredTags));
    if (needs.strictTags) return [matching];
    return [matching, untagged, tagged.filter((i) => !hasTags(i, needs.requiredTags))];
  }
  return [share(untagged, needs.blackbox, blackboxFraction), tagged];
}

/**
 * The managed share is the first `max(1, ceil(n × (1 − f)))` invokers by id, the
 * blackbox share the last `max(1, floor(n × f))`; with few invokers they
 * overlap, so both kinds always have somewhere to go. Ids sort numerically
 * (the reference sorts `10` before `2`).
 */
function share(
  untagged: readonly InvokerSnapshot[],
  blackbox: boolean,
  fraction: number,
): InvokerSnapshot[] {
  const n = untagged.length;
  if (n === 0) return [];
  const sorted = [...untagged].sort((a, b) => compareIds(a.id, b.id));
  if (blackbox) return sorted.slice(n - Math.max(1, Math.floor(n * fraction)));
  return sorted.slice(0, Math.max(1, Math.ceil(n * (1 - fraction))));
}

function compareIds(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders invokers, better first: not avoided, dedicated to the namespace, most free memory, draw. */
type Order = (a: InvokerSnapshot, b: InvokerSnapshot) => number;

function ordering(
  ns: string,
  avoid: ReadonlySet<string>,
  freeMb: ReadonlyMap<string, number>,
  draws: ReadonlyMap<string, number>,
): Order {
  const avoided = (i: InvokerSnapshot) => avoid.has(i.id) ? 1 : 0;
  const shared = (i: InvokerSnapshot) => i.dedicatedNamespaces.includes(ns) ? 0 : 1;
  return (a, b) =>
    avoided(a) - avoided(b) ||
    shared(a) - shared(b) ||
    (freeMb.get(b.id) ?? 0) - (freeMb.get(a.id) ?? 0) ||
    (draws.get(a.id) ?? 0) - (draws.get(b.id) ?? 0);
}

/** The best invoker of the first tier where one has room. */
function choose(
  tiers: readonly InvokerSnapshot[][],
  freeMb: ReadonlyMap<string, number>,
  memoryMb: number,
  order: Order,
): InvokerSnapshot | undefined {
  for (const tier of tiers) {
    let best: InvokerSnapshot | undefined;
    for (const invoker of tier) {
      if ((freeMb.get(invoker.id) ?? 0) < memoryMb) continue;
      if (!best || order(invoker, best) < 0) best = invoker;
    }
    if (best) return best;
  }
  return undefined;
}

function whyUnplaced(
  healthy: readonly InvokerSnapshot[],
  tiers: readonly InvokerSnapshot[][],
  request: PlacementRequest,
): Omit<Unplaced, "count"> {
  const { invocationNamespace: ns, fqn, requirements: needs } = request;
  if (healthy.length === 0) {
    return {
      error: "NoAvailableInvokersError",
      reason: `No healthy invoker accepts namespace "${ns}"`,
    };
  }
  if (tiers.every((tier) => tier.length === 0)) {
    const tags = needs.requiredTags.join(", ");
    return {
      error: "NoAvailableResourceInvokersError",
      reason: `No healthy invoker has the resources "${tags}" that "${fqn}" requires`,
    };
  }
  return {
    error: "ResourceNotEnoughError",
    reason: `No healthy invoker has ${needs.memoryMb} MB free for "${fqn}"`,
  };
}
