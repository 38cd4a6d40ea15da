/**
 * A stand-in for an invoker's container in controller tests: it pulls one
 * action's activations through the SDK from whichever scheduler leads the
 * queue, runs a tiny greeting function with the action's default parameters
 * merged under the invocation's (as an invoker does), and publishes the
 * completion record to the controller's `completed{N}` topic.
 *
 * It follows the action across updates: when the catalog shows a new
 * revision it starts a proxy for that revision, as new containers would.
 *
 * @module
 */
import { sleep } from "@faas/async";
import { ActionCatalog } from "@faas/catalog";
import {
  type ActionDoc,
  type ActivationMessage,
  encodeCompletion,
  StatusCode,
  type WhiskActivation,
} from "@faas/proto";
import { ContainerProxy, storeLeaderResolver } from "@faas/sdk";
import { type TestCluster, tokens } from "./_harness.ts";

/** A running stand-in container. */
export interface TestRunner extends AsyncDisposable {
  /** Activations run so far. */
  readonly ran: number;
}

/**
 * Starts pulling activations of `namespace/action`. The function greets
 * `params.name`; `params.fail` makes it fail with an application error.
 */
export function startTestRunner(
  cluster: TestCluster,
  namespace: string,
  action: string,
): TestRunner {
  const stop = new AbortController();
  const state = { ran: 0 };
  const running = pullLoop(cluster, { namespace, action, signal: stop.signal, state });
  return {
    get ran() {
      return state.ran;
    },
    async [Symbol.asyncDispose]() {
      stop.abort();
      await running;
    },
  };
}

interface LoopOptions {
  readonly namespace: string;
  readonly action: string;
  readonly signal: AbortSignal;
  readonly state: { ran: number };
}

async function pullLoop(cluster: TestCluster, options: LoopOptions): Promise<void> {
  const { namespace, action, signal } = options;
  const catalog = new ActionCatalog(cluster.store, cluster.name);
  const resolver = storeLeaderResolver(cluster.store, cluster.name);
  const fqn = `${namespace}/${action}`;
  const fetchToken = await tokens.mint(namespace, fqn);
  for (let generation = 0; !signal.aborted; generation++) {
    const leader = await resolver.resolve(namespace, fqn);
    const doc = await catalog.get(namespace, action);
    if (!leader || !doc) {
      await sleep(25, signal);
      continue;
    }
    const proxy = ContainerProxy.start({
      invocationNamespace: namespace,
      action: { path: doc.namespace, name: doc.name, version: doc.version },
      revision: doc.rev,
      containerId: `runner-${action}-${generation}`,
      fetchToken,
      resolver,
      endpoint: leader,
      signal,
    }, (message) => run(cluster, doc, message, options.state));
    await Promise.race([proxy.closed, revisionChanged(catalog, doc, signal)]);
    await proxy.close();
  }
}

async function revisionChanged(
  catalog: ActionCatalog,
  doc: ActionDoc,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    await sleep(50, signal);
    const current = await catalog.get(doc.namespace, doc.name).catch(() => doc);
    if (current?.rev !== doc.rev) return;
  }
}

async function run(
  cluster: TestCluster,
  doc: ActionDoc,
  message: ActivationMessage,
  state: { ran: number },
): Promise<void> {
  const start = Date.now();
  const defaults = Object.fromEntries(doc.parameters.map((p) => [p.key, p.value]));
  const params: Record<string, unknown> = { ...defaults, ...message.content };
  const response = params.fail
    ? { statusCode: StatusCode.applicationError, result: { error: "failed on purpose" } }
    : { statusCode: StatusCode.success, result: { greeting: `hello ${params.name}` } };
  const record: WhiskActivation = {
    namespace: message.user.namespace.name,
    name: message.action.name,
    subject: message.user.subject,
    activationId: message.activationId,
    start,
    end: Date.now(),
    response,
    logs: [`${new Date(start).toISOString()} stdout: greeted ${params.name}`],
    version: doc.version,
    publish: false,
    annotations: [
      { key: "path", value: `${doc.namespace}/${doc.name}` },
      { key: "kind", value: doc.exec.kind },
      { key: "limits", value: doc.limits },
      { key: "waitTime", value: start - message.transid[1] },
    ],
    duration: Date.now() - start,
  };
  const value = encodeCompletion(message, record, { instanceType: "invoker", instance: 0 });
  await cluster.bus.send(cluster.topics.completed(message.rootControllerIndex.asString), [{
    key: message.activationId,
    value,
  }]);
  state.ran++;
}
