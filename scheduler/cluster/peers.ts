/**
 * The other schedulers of the cluster, as registered in etcd, and gRPC
 * clients to their QueueService.
 *
 * @module
 */
import type { Store } from "@faas/coordination";
import { type ClusterKeys, QueueServiceClient, SchedulerStates } from "@faas/proto";

/** A registered scheduler. */
export interface Peer {
  readonly sid: string;
  readonly host: string;
  readonly rpcPort: number;
  readonly queueSize: number;
}

/** Options for {@linkcode Peers}. */
export interface PeersOptions {
  /**
   * A listing this young answers {@linkcode Peers.list} again, so a burst of
   * queue creations reads the registrations once per interval, not once per
   * queue. Loads in registrations change once a second at most. @default {250}
   */
  maxAgeMs?: number;
  /** Clock in ms. @default {performance.now} */
  now?: () => number;
}

/** Reads registrations and keeps one client per peer. */
export class Peers implements Disposable {
  readonly #store: Store;
  readonly #keys: ClusterKeys;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #clients = new Map<string, QueueServiceClient>();
  #latest?: { readonly at: number; readonly peers: Promise<Peer[]> };

  constructor(store: Store, keys: ClusterKeys, options: PeersOptions = {}) {
    this.#store = store;
    this.#keys = keys;
    this.#maxAgeMs = options.maxAgeMs ?? 250;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Every registered scheduler, least loaded first (ties by id). Callers get a copy. */
  async list(): Promise<Peer[]> {
    const now = this.#now();
    let latest = this.#latest;
    if (!latest || now - latest.at > this.#maxAgeMs) {
      const peers = this.#read();
      this.#latest = latest = { at: now, peers };
      // A failed read is not reused.
      peers.catch(() => {
        if (this.#latest?.peers === peers) this.#latest = undefined;
      });
    }
    return [...await latest.peers];
  }

  async #read(): Promise<Peer[]> {
    const { kvs } = await this.#store.getPrefix(this.#keys.schedulers);
    const peers: Peer[] = [];
    for (const kv of kvs) {
      const state = parseState(kv.value);
      if (!state) continue;
      peers.push({ sid: state.sid.asString, ...state.endpoints, queueSize: state.queueSize });
    }
    return peers.sort((a, b) => a.queueSize - b.queueSize || a.sid.localeCompare(b.sid));
  }

  /** The QueueService client of a peer. */
  client(peer: Peer): QueueServiceClient {
    const address = `${peer.host}:${peer.rpcPort}`;
    let client = this.#clients.get(address);
    if (!client) {
      client = new QueueServiceClient(address);
      this.#clients.set(address, client);
    }
    return client;
  }

  [Symbol.dispose](): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}

function parseState(value: string): SchedulerStates | undefined {
  try {
    const parsed = SchedulerStates.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
