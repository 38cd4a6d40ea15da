/**
 * Memory promised to invokers by creations this scheduler sent recently.
 *
 * An invoker reports its free memory about once a second, so a batch placed
 * right after another would see memory the first one already took. Each sent
 * creation holds its memory on its invoker for `holdMs` (longer than the
 * report interval) and placement subtracts it. The hold expires on its own,
 * so a lost ack can never shrink an invoker for good; a refused creation
 * gives its memory back at once.
 *
 * @module
 */

/** One held amount; pass it back to {@linkcode MemoryReservations.release}. */
export interface Reservation {
  readonly invokerId: string;
  readonly memoryMb: number;
  readonly expiresAt: number;
}

/** Options for {@linkcode MemoryReservations}. */
export interface MemoryReservationsOptions {
  /** How long a sent creation holds its memory. @default {2_000} */
  holdMs?: number;
  /** Clock in epoch ms. @default {Date.now} */
  now?: () => number;
}

/** Time-bounded memory holds per invoker. */
export class MemoryReservations {
  readonly #holds = new Set<Reservation>();
  readonly #holdMs: number;
  readonly #now: () => number;

  constructor(options: MemoryReservationsOptions = {}) {
    const { holdMs = 2_000, now = Date.now } = options;
    this.#holdMs = holdMs;
    this.#now = now;
  }

  /** Holds `memoryMb` on `invokerId` for the hold time. */
  hold(invokerId: string, memoryMb: number): Reservation {
    const reservation = { invokerId, memoryMb, expiresAt: this.#now() + this.#holdMs };
    this.#holds.add(reservation);
    return reservation;
  }

  /** Gives a hold back before it expires. */
  release(reservation: Reservation | undefined): void {
    if (reservation) this.#holds.delete(reservation);
  }

  /** Memory held per invoker now, in MB; drops expired holds. */
  current(): Map<string, number> {
    const now = this.#now();
    const totals = new Map<string, number>();
    for (const hold of this.#holds) {
      if (hold.expiresAt <= now) this.#holds.delete(hold);
      else totals.set(hold.invokerId, (totals.get(hold.invokerId) ?? 0) + hold.memoryMb);
    }
    return totals;
  }
}
