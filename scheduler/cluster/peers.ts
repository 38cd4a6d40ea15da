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

/** Reads registrations and keeps one client per peer. */
export class Peers implements Disposable {
  readonly #store: Store;
  readonly #keys: ClusterKeys;
  readonly #clients = new Map<string, QueueServiceClient>();

  constructor(store: Store, keys: ClusterKeys) {
    this.#store = store;
    this.#keys = keys;
  }

  /** Every registered scheduler, least loaded first (ties by id). */
  async list(): Promise<Peer[]> {
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
