/**
 * The action catalog: actions stored in the coordination store (etcd in a
 * cluster, memory when embedded), so the controller that writes them and the
 * schedulers and invokers that read them share one source without a database.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import { ActionDoc, type ClusterKeys, clusterKeys, revisionGeneration } from "@faas/proto";

/** An action as a client writes it; the catalog assigns `rev` and `updated`. */
export type ActionInput = Omit<ActionDoc, "rev" | "updated">;

/** Raised when creating an action that exists, without overwrite. */
export class ActionExistsError extends Error {
  constructor(namespace: string, name: string, options?: ErrorOptions) {
    super(`Action "${namespace}/${name}" already exists`, options);
    this.name = "ActionExistsError";
  }
}

/** Options for {@linkcode ActionCatalog.list}. */
export interface ListOptions {
  /** @default {30} */
  limit?: number;
  /** @default {0} */
  skip?: number;
}

/** Reads and writes actions under `{cluster}/actions/`. */
export class ActionCatalog {
  readonly #store: Store;
  readonly #keys: ClusterKeys;
  readonly #cache = new Map<string, ActionDoc>();

  constructor(store: Store, cluster: string) {
    this.#store = store;
    this.#keys = clusterKeys(cluster);
  }

  /** The current version of an action, or `undefined`. */
  get(namespacePath: string, name: string): Promise<ActionDoc | undefined> {
    return this.#read(namespacePath, name);
  }

  /**
   * The action at revision `rev`, from a small cache when possible. Resolves
   * `undefined` when the action is gone or has moved to another revision.
   */
  async getRevision(
    namespacePath: string,
    name: string,
    rev: string | null,
  ): Promise<ActionDoc | undefined> {
    const cacheKey = `${namespacePath}/${name}@${rev}`;
    const cached = this.#cache.get(cacheKey);
    if (cached) return cached;
    const doc = await this.get(namespacePath, name);
    if (!doc || doc.rev !== rev) return undefined;
    if (this.#cache.size > 1_000) this.#cache.clear();
    this.#cache.set(cacheKey, doc);
    return doc;
  }

  /**
   * Creates an action, or replaces it when `overwrite`; the revision's
   * generation grows by one on every write.
   *
   * @throws {ActionExistsError} when it exists and `overwrite` is false
   */
  async put(input: ActionInput, options: { overwrite?: boolean } = {}): Promise<ActionDoc> {
    const key = this.#keys.action(input.namespace, input.name);
    const previous = await this.#read(input.namespace, input.name);
    if (previous && !options.overwrite) throw new ActionExistsError(input.namespace, input.name);
    const generation = revisionGeneration(previous?.rev ?? null) + 1;
    const doc = ActionDoc.parse({
      ...input,
      rev: `${generation}-${randomHex()}`,
      updated: Date.now(),
    });
    if (previous) await this.#store.put(key, JSON.stringify(doc));
    else {
      const result = await this.#store.createIfAbsent(key, JSON.stringify(doc));
      if (!result.created) throw new ActionExistsError(input.namespace, input.name);
    }
    return doc;
  }

  /** Deletes an action; resolves with what was deleted, or `undefined`. */
  async delete(namespacePath: string, name: string): Promise<ActionDoc | undefined> {
    const doc = await this.#read(namespacePath, name);
    if (doc) await this.#store.delete(this.#keys.action(namespacePath, name));
    return doc;
  }

  // Writes decide on what the store holds now, whatever a subclass caches.
  async #read(namespacePath: string, name: string): Promise<ActionDoc | undefined> {
    const kv = await this.#store.get(this.#keys.action(namespacePath, name));
    return kv ? ActionDoc.parse(JSON.parse(kv.value)) : undefined;
  }

  /** Actions directly in a namespace (or package), sorted by name. */
  async list(namespacePath: string, options: ListOptions = {}): Promise<ActionDoc[]> {
    const { limit = 30, skip = 0 } = options;
    const prefix = this.#keys.actions(namespacePath);
    const { kvs } = await this.#store.getPrefix(prefix);
    return kvs
      .filter((kv) => !kv.key.slice(prefix.length).includes("/"))
      .slice(skip, skip + limit)
      .map((kv) => ActionDoc.parse(JSON.parse(kv.value)));
  }
}

function randomHex(): string {
  return crypto.randomUUID().replaceAll("-", "");
}
