/**
 * The etcd key schema: the only place key strings are built or parsed.
 *
 * `{fqn}` is the action path without version (`ns/action` or `ns/pkg/action`),
 * `{rev}` the action revision. Every key is written under the writer's lease,
 * so a dead program's keys vanish within the lease TTL.
 *
 * @module
 */

/** Key builders for one cluster name. */
export interface ClusterKeys {
  readonly cluster: string;
  /** Prefix of all scheduler registrations. */
  readonly schedulers: string;
  /** `{cluster}/scheduler/{sid}` → SchedulerStates JSON. */
  scheduler(sid: string): string;
  /** Prefix of all invoker registrations. */
  readonly invokers: string;
  /** `{cluster}/invokers/{id}` → InvokerResource JSON. */
  invoker(id: string): string;
  /** `{cluster}/actions/`: prefix of every action. */
  readonly allActions: string;
  /** `{cluster}/actions/{namespacePath}/` prefix of the actions in a namespace or package. */
  actions(namespacePath: string): string;
  /** `{cluster}/actions/{namespacePath}/{name}` → ActionDoc JSON (with code). */
  action(namespacePath: string, name: string): string;
  /** Prefix of all queue keys. */
  readonly queues: string;
  /** `{cluster}/queue/{invNs}/{fqn}/leader` → SchedulerEndpoints JSON of the leader. */
  queueLeader(invocationNamespace: string, fqn: string): string;
  /** `{cluster}/in-progress/queue/{invNs}/{fqn}`: a CreateQueue is placing the queue. */
  queueCreation(invocationNamespace: string, fqn: string): string;
  /** Prefix of the durable records of scheduler topics. */
  readonly schedulerTopics: string;
  /**
   * `{cluster}/topics/scheduler/{sid}`: scheduler `sid` has an activation topic.
   * Durable (no lease): a dead scheduler's topic must still be found and drained.
   */
  schedulerTopic(sid: string): string;
  /** Prefix of topic adoptions. */
  readonly adoptions: string;
  /** `{cluster}/adoption/{sid}` → the sid consuming a dead scheduler's topic. */
  adoption(sid: string): string;
  /** Prefix of all throttling flags. */
  readonly throttling: string;
  /** `{cluster}/throttling/{invNs}` → "true" | "false". */
  namespaceThrottling(invocationNamespace: string): string;
  /** `{cluster}/throttling/{invNs}/{fqn}` → "true" | "false". */
  actionThrottling(invocationNamespace: string, fqn: string): string;
  /** `{cluster}/in-progress/{invNs}/{fqn}/{rev}/` prefix of creation jobs of one revision. */
  inProgressContainers(invocationNamespace: string, fqn: string, rev: string): string;
  /** `{cluster}/in-progress/{invNs}/{fqn}/{rev}/scheduler/{sid}/creationId/{cid}`. */
  inProgressContainer(
    invocationNamespace: string,
    fqn: string,
    rev: string,
    sid: string,
    creationId: string,
  ): string;
  /** `{cluster}/namespace/{invNs}/{fqn}/{rev}/` prefix of live containers of one revision. */
  existingContainers(invocationNamespace: string, fqn: string, rev: string): string;
  /** `{cluster}/namespace/{invNs}/{fqn}/{rev}/invoker{id}/container/{cid}`. */
  existingContainer(
    invocationNamespace: string,
    fqn: string,
    rev: string,
    invokerId: string,
    containerId: string,
  ): string;
  /** `{cluster}/warmed/{invNs}/{fqn}/{rev}/invoker/{id}/container/{cid}`. */
  warmedContainer(
    invocationNamespace: string,
    fqn: string,
    rev: string,
    invokerId: string,
    containerId: string,
  ): string;
  /** `{cluster}/warmed/{invNs}/{fqn}/{rev}/` prefix of paused containers of one revision. */
  warmedContainers(invocationNamespace: string, fqn: string, rev: string): string;
  /** `{cluster}/namespace/{invNs}/` prefix of live containers of every action of a namespace. */
  namespaceContainers(invocationNamespace: string): string;
  /**
   * `{cluster}/in-progress/{invNs}/` prefix of creation jobs of a namespace. A namespace
   * named `queue` also covers {@linkcode ClusterKeys.queueCreation} keys; parse with
   * {@linkcode ClusterKeys.parseContainerKey} to tell them apart.
   */
  namespaceInProgress(invocationNamespace: string): string;
  /** Splits an existing, in-progress or warmed container key; `undefined` for any other key. */
  parseContainerKey(key: string): ContainerKeyParts | undefined;
}

/** The parts of a container key, as {@linkcode ClusterKeys.parseContainerKey} finds them. */
export interface ContainerKeyParts {
  /** `existing` (`namespace/…`), `in_progress` (`in-progress/…`) or `warmed` (`warmed/…`). */
  readonly kind: "existing" | "in_progress" | "warmed";
  readonly invocationNamespace: string;
  /** The action path without version: `ns/action` or `ns/pkg/action`. */
  readonly fqn: string;
  readonly revision: string;
  /** The invoker id (existing, warmed) or the scheduler id (in-progress). */
  readonly owner: string;
  /** The container id (existing, warmed) or the creation id (in-progress). */
  readonly id: string;
}

const CLUSTER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Returns the key builders for `cluster`.
 *
 * @throws {RangeError} when the cluster name is empty, too long or contains `/`
 */
export function clusterKeys(cluster: string): ClusterKeys {
  if (!CLUSTER_NAME.test(cluster)) {
    throw new RangeError(
      `Cannot use cluster name "${cluster}": expected 1-64 of letters, digits, '.', '_', '-'`,
    );
  }
  const c = cluster;
  return Object.freeze({
    cluster: c,
    schedulers: `${c}/scheduler/`,
    scheduler: (sid: string) => `${c}/scheduler/${sid}`,
    invokers: `${c}/invokers/`,
    invoker: (id: string) => `${c}/invokers/${id}`,
    allActions: `${c}/actions/`,
    actions: (path: string) => `${c}/actions/${path}/`,
    action: (path: string, name: string) => `${c}/actions/${path}/${name}`,
    queues: `${c}/queue/`,
    queueLeader: (ns: string, fqn: string) => `${c}/queue/${ns}/${fqn}/leader`,
    queueCreation: (ns: string, fqn: string) => `${c}/in-progress/queue/${ns}/${fqn}`,
    schedulerTopics: `${c}/topics/scheduler/`,
    schedulerTopic: (sid: string) => `${c}/topics/scheduler/${sid}`,
    adoptions: `${c}/adoption/`,
    adoption: (sid: string) => `${c}/adoption/${sid}`,
    throttling: `${c}/throttling/`,
    namespaceThrottling: (ns: string) => `${c}/throttling/${ns}`,
    actionThrottling: (ns: string, fqn: string) => `${c}/throttling/${ns}/${fqn}`,
    inProgressContainers: (ns: string, fqn: string, rev: string) =>
      `${c}/in-progress/${ns}/${fqn}/${rev}/`,
    inProgressContainer: (ns: string, fqn: string, rev: string, sid: string, cid: string) =>
      `${c}/in-progress/${ns}/${fqn}/${rev}/scheduler/${sid}/creationId/${cid}`,
    existingContainers: (ns: string, fqn: string, rev: string) =>
      `${c}/namespace/${ns}/${fqn}/${rev}/`,
    existingContainer: (ns: string, fqn: string, rev: string, inv: string, cid: string) =>
      `${c}/namespace/${ns}/${fqn}/${rev}/invoker${inv}/container/${cid}`,
    warmedContainer: (ns: string, fqn: string, rev: string, inv: string, cid: string) =>
      `${c}/warmed/${ns}/${fqn}/${rev}/invoker/${inv}/container/${cid}`,
    warmedContainers: (ns: string, fqn: string, rev: string) => `${c}/warmed/${ns}/${fqn}/${rev}/`,
    namespaceContainers: (ns: string) => `${c}/namespace/${ns}/`,
    namespaceInProgress: (ns: string) => `${c}/in-progress/${ns}/`,
    parseContainerKey: (key: string) => parseContainerKey(c, key),
  });
}

// The trailing segments after `{rev}` of each container key layout, `*` marking a value.
const CONTAINER_LAYOUTS = [
  { root: "namespace", kind: "existing", tail: ["invoker*", "container", "*"] },
  { root: "in-progress", kind: "in_progress", tail: ["scheduler", "*", "creationId", "*"] },
  { root: "warmed", kind: "warmed", tail: ["invoker", "*", "container", "*"] },
] as const;

function parseContainerKey(cluster: string, key: string): ContainerKeyParts | undefined {
  const segments = key.split("/");
  if (segments[0] !== cluster) return undefined;
  const layout = CONTAINER_LAYOUTS.find((l) => l.root === segments[1]);
  if (!layout) return undefined;
  // {ns}, then an fqn of 2 or 3 segments, then {rev}, then the layout's tail.
  const fqnLength = segments.length - 2 - 1 - 1 - layout.tail.length;
  if (fqnLength !== 2 && fqnLength !== 3) return undefined;
  const tail = segments.slice(segments.length - layout.tail.length);
  const values: string[] = [];
  for (const [i, pattern] of layout.tail.entries()) {
    const segment = tail[i]!;
    if (pattern === "*") values.push(segment);
    else if (pattern === "invoker*") {
      if (!segment.startsWith("invoker")) return undefined;
      values.push(segment.slice("invoker".length));
    } else if (segment !== pattern) return undefined;
  }
  const [owner, id] = values;
  const parts = {
    kind: layout.kind,
    invocationNamespace: segments[2]!,
    fqn: segments.slice(3, 3 + fqnLength).join("/"),
    revision: segments[3 + fqnLength]!,
    owner: owner!,
    id: id!,
  };
  return Object.values(parts).every((v) => v.length > 0) ? parts : undefined;
}
