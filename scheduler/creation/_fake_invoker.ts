/**
 * A stand-in invoker for tests: registers its resources, consumes its
 * `invoker{id}` topic and answers each creation with an ack the test chooses,
 * registering the container first on success, as a real invoker does.
 *
 * @module
 */
import type { Bus, Subscription } from "@faas/bus";
import type { Store } from "@faas/coordination";
import {
  type ClusterKeys,
  type ContainerCreationMessage,
  type InvokerResourceMessage,
  parseContainerCommand,
  type Topics,
} from "@faas/proto";

/** How the fake answers one creation. */
export type FakeAnswer =
  /** Registers the container, then acks success, `afterMs` later. */
  | { readonly kind: "ack"; readonly afterMs?: number }
  | {
    readonly kind: "error";
    readonly error: string;
    readonly reason?: string;
    readonly afterMs?: number;
  }
  | { readonly kind: "silent" }
  /** Sends this text as the ack, e.g. something malformed. */
  | { readonly kind: "raw"; readonly value: string };

/** Options for {@linkcode FakeInvoker.start}. */
export interface FakeInvokerOptions {
  readonly store: Store;
  readonly bus: Bus;
  readonly keys: ClusterKeys;
  readonly topics: Topics;
  /** Numeric id, as in `invoker{id}`. */
  readonly id: string;
  /** Its record at `{cluster}/invokers/{id}`; unset fields are a healthy 2 GB invoker. */
  readonly resource?: Partial<InvokerResourceMessage>;
  /** Chooses the answer to each creation. @default {() => ({ kind: "ack" })} */
  readonly answer?: (message: ContainerCreationMessage) => FakeAnswer;
  /** Lease for its keys. */
  readonly leaseId?: string;
}

/** A fake invoker; dispose to leave its topic. */
export class FakeInvoker implements AsyncDisposable {
  /** Every creation received, in order. */
  readonly received: ContainerCreationMessage[] = [];
  readonly #options: FakeInvokerOptions;
  #subscription: Subscription | undefined;

  private constructor(options: FakeInvokerOptions) {
    this.#options = options;
  }

  /** Registers the invoker and waits until it consumes its topic. */
  static async start(options: FakeInvokerOptions): Promise<FakeInvoker> {
    const fake = new FakeInvoker(options);
    const { store, bus, keys, topics, id, leaseId } = options;
    const resource: InvokerResourceMessage = {
      status: "up",
      freeMemory: 2048,
      busyMemory: 0,
      inProgressMemory: 0,
      tags: [],
      dedicatedNamespaces: [],
      ...options.resource,
    };
    await store.put(keys.invoker(id), JSON.stringify(resource), leaseId ? { leaseId } : {});
    await bus.ensureTopics([topics.invoker(id)]);
    fake.#subscription = await bus.subscribe({
      groupId: `fake-${topics.invoker(id)}`,
      topics: [topics.invoker(id)],
      onRecord: (record) => fake.#handle(record.value),
    });
    await fake.#subscription.ready;
    return fake;
  }

  async close(): Promise<void> {
    await this.#subscription?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(value: string): Promise<void> {
    const command = parseContainerCommand(value);
    if (command.kind !== "create") return;
    const message = command.message;
    this.received.push(message);
    const answer = this.#options.answer?.(message) ?? { kind: "ack" };
    if (answer.kind === "silent") return;
    if ("afterMs" in answer && answer.afterMs) {
      await new Promise((resolve) => setTimeout(resolve, answer.afterMs));
    }
    const { store, bus, keys, topics, id, leaseId } = this.#options;
    if (answer.kind === "ack") {
      const fqn = `${message.action.path}/${message.action.name}`;
      const key = keys.existingContainer(
        message.invocationNamespace,
        fqn,
        message.revision ?? "",
        id,
        `container-${message.creationId}`,
      );
      await store.put(key, "", leaseId ? { leaseId } : {});
    }
    const ack = answer.kind === "raw" ? answer.value : JSON.stringify(this.#ack(message, answer));
    await bus.send(topics.creationAck(message.rootSchedulerIndex.asString), [{ value: ack }]);
  }

  #ack(message: ContainerCreationMessage, answer: FakeAnswer): Record<string, unknown> {
    return {
      transid: message.transid,
      creationId: message.creationId,
      invocationNamespace: message.invocationNamespace,
      action: message.action,
      revision: message.revision,
      actionMetaData: message.whiskActionMetaData,
      rootInvokerIndex: { instance: Number(this.#options.id), instanceType: "invoker" },
      schedulerHost: message.schedulerHost,
      rpcPort: message.rpcPort,
      retryCount: message.retryCount,
      ...(answer.kind === "error" ? { error: answer.error, reason: answer.reason } : {}),
    };
  }
}
