/**
 * The invoker's record in etcd, `{cluster}/invokers/{id}`: its health and
 * memory as an InvokerResourceMessage, bound to its lease. Schedulers read it
 * to place containers.
 *
 * @module
 */
import type { InvokerStatus } from "@faas/proto";
import { type InvokerIdentity, resourceMessage } from "./acks.ts";
import type { LeasedKeys } from "./leased_keys.ts";
import type { MemoryLedger } from "./resources.ts";

/** Keeps `{cluster}/invokers/{id}` in step with the invoker's state. */
export class Registration {
  readonly #keys: LeasedKeys;
  readonly #key: string;
  readonly #identity: InvokerIdentity;
  readonly #ledger: MemoryLedger;
  readonly #reclaimableMb: () => number;
  #status: InvokerStatus = "up";
  #written = "";

  /**
   * Writes nothing yet; call {@linkcode Registration.report}. `reclaimableMb`
   * is the memory of idle containers a new container may take.
   */
  constructor(
    keys: LeasedKeys,
    key: string,
    identity: InvokerIdentity,
    ledger: MemoryLedger,
    reclaimableMb: () => number = () => 0,
  ) {
    this.#keys = keys;
    this.#key = key;
    this.#identity = identity;
    this.#ledger = ledger;
    this.#reclaimableMb = reclaimableMb;
  }

  /** Writes the record if it differs from what was last written. */
  async report(): Promise<void> {
    const message = resourceMessage(
      this.#identity,
      this.#status,
      this.#ledger.snapshot(),
      this.#reclaimableMb(),
    );
    const value = JSON.stringify(message);
    if (value === this.#written) return;
    await this.#keys.set(this.#key, value);
    this.#written = value;
  }

  /** Reports the invoker as `down`: schedulers stop placing containers here. */
  async markDown(): Promise<void> {
    this.#status = "down";
    await this.report();
  }
}
