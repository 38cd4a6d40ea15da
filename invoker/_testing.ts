/**
 * Test helpers shared by the invoker's unit tests: fixtures and a scheduler
 * stand-in serving the ActivationService from a script.
 *
 * @module
 */
import {
  ActionDoc,
  type ActivationMessage,
  type ContainerCreationMessage,
  encodeFetchResult,
  FETCH_TOKEN_METADATA_KEY,
  type RpcServer,
  serveRpc,
} from "@faas/proto";

/** Options for {@linkcode actionFixture}. */
export interface ActionFixtureOptions {
  name?: string;
  kind?: string;
  code?: string;
  rev?: string;
  timeoutMs?: number;
  memoryMb?: number;
  parameters?: Record<string, unknown>;
}

/** A valid action with code; nodejs `hello` by default. */
export function actionFixture(options: ActionFixtureOptions = {}): ActionDoc {
  const {
    name = "hello",
    kind = "nodejs:20",
    code = 'function main(p) { return { greeting: "hello " + p.name }; }',
    rev = "1-a",
    timeoutMs = 10_000,
    memoryMb = 128,
    parameters = {},
  } = options;
  return ActionDoc.parse({
    namespace: "guest",
    name,
    version: "0.0.1",
    rev,
    exec: { kind, code },
    limits: { timeout: timeoutMs, memory: memoryMb, logs: 1 },
    parameters: Object.entries(parameters).map(([key, value]) => ({ key, value })),
    updated: Date.now(),
  });
}

/** A creation command for `action`, pulling from `rpcPort`. */
export function creationFixture(
  action: ActionDoc,
  rpcPort: number,
  overrides: Partial<ContainerCreationMessage> = {},
): ContainerCreationMessage {
  const { code: _code, ...exec } = action.exec;
  return {
    transid: ["sid_containerCreation", Date.now()],
    invocationNamespace: "guest",
    action: { path: action.namespace, name: action.name, version: action.version },
    revision: action.rev,
    whiskActionMetaData: { ...action, exec },
    rootSchedulerIndex: { asString: "0" },
    schedulerHost: "127.0.0.1",
    rpcPort,
    retryCount: 0,
    creationId: crypto.randomUUID().replaceAll("-", ""),
    fetchToken: "token",
    ...overrides,
  };
}

/**
 * A scheduler stand-in: hands out queued activations to fetches, answers
 * `no_activation` after a short hold otherwise, and records reschedules and
 * goodbyes (`alive: false`).
 */
export class FakeScheduler implements AsyncDisposable {
  readonly rescheduled: ActivationMessage[] = [];
  readonly goodbyes: string[] = [];
  readonly tokens = new Set<string | undefined>();
  /** Called with each activation as it is handed out. */
  onActivation: (message: ActivationMessage) => void = () => {};
  readonly #queue: ActivationMessage[] = [];
  #server!: RpcServer;

  /** Starts serving on a free port. */
  static async start(): Promise<FakeScheduler> {
    const fake = new FakeScheduler();
    fake.#server = await serveRpc({
      activation: {
        fetchActivation: async (request, context) => {
          fake.tokens.add(context.metadata(FETCH_TOKEN_METADATA_KEY));
          if (!request.alive) fake.goodbyes.push(request.containerId);
          const message = request.alive ? fake.#queue.shift() : undefined;
          if (message) {
            fake.onActivation(message);
            return { activationMessage: encodeFetchResult({ kind: "activation", message }) };
          }
          await new Promise((r) => setTimeout(r, 20));
          return { activationMessage: encodeFetchResult({ kind: "no_activation" }) };
        },
        rescheduleActivation: (request) => {
          fake.rescheduled.push(JSON.parse(request.activationMessage));
          return Promise.resolve({ isRescheduled: true });
        },
      },
    });
    return fake;
  }

  /** The port it listens on. */
  get port(): number {
    return this.#server.port;
  }

  /** Queues activations for the next fetches. */
  enqueue(...messages: ActivationMessage[]): void {
    this.#queue.push(...messages);
  }

  /** Activations not fetched yet. */
  get queued(): number {
    return this.#queue.length;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#server.close(0);
  }
}

/** Waits until `condition` holds, polling; fails with `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
