/**
 * Memory accounting of one invoker, as OpenWhisk's pool does it: a container
 * being created holds its memory as "in progress", a running one as "busy",
 * and free memory is the user memory minus both.
 *
 * @module
 */

/** Memory figures in MB. */
export interface MemorySnapshot {
  /** User memory minus busy and in-progress memory. */
  readonly freeMb: number;
  /** Held by running containers. */
  readonly busyMb: number;
  /** Held by containers being created. */
  readonly inProgressMb: number;
}

/** Memory held for one container; release it exactly once (extra calls are ignored). */
export interface Reservation {
  readonly memoryMb: number;
  /** The container is up: its memory moves from in progress to busy. */
  commit(): void;
  /** The container is gone (or never came): its memory is free again. */
  release(): void;
}

/**
 * Hands out memory reservations. Single-threaded by construction: every
 * decision is synchronous, so two creations can never both take the last MB.
 *
 * @example
 * ```ts ignore
 * const ledger = new MemoryLedger(2048);
 * const reservation = ledger.reserve(256); // undefined when it does not fit
 * reservation?.commit();
 * ```
 */
export class MemoryLedger {
  readonly #userMemoryMb: number;
  #busyMb = 0;
  #inProgressMb = 0;

  /** Creates a ledger over `userMemoryMb` of container memory. */
  constructor(userMemoryMb: number) {
    this.#userMemoryMb = userMemoryMb;
  }

  /** Reserves `memoryMb` as in progress, or returns `undefined` when it does not fit. */
  reserve(memoryMb: number): Reservation | undefined {
    if (memoryMb > this.snapshot().freeMb) return undefined;
    this.#inProgressMb += memoryMb;
    let state: "in_progress" | "busy" | "released" = "in_progress";
    return {
      memoryMb,
      commit: () => {
        if (state !== "in_progress") return;
        state = "busy";
        this.#inProgressMb -= memoryMb;
        this.#busyMb += memoryMb;
      },
      release: () => {
        if (state === "in_progress") this.#inProgressMb -= memoryMb;
        if (state === "busy") this.#busyMb -= memoryMb;
        state = "released";
      },
    };
  }

  /** The current figures. */
  snapshot(): MemorySnapshot {
    return {
      freeMb: this.#userMemoryMb - this.#busyMb - this.#inProgressMb,
      busyMb: this.#busyMb,
      inProgressMb: this.#inProgressMb,
    };
  }
}
