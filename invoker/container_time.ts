/**
 * Where container time goes: every live container is either running an
 * activation (busy) or holding its memory without one (idle), from the moment
 * it is ready until it is destroyed. Idle seconds are what keep-alive costs.
 *
 * @module
 */

/** What a container is doing. */
export type ContainerTimeState = "busy" | "idle";

/** Receives elapsed seconds as they are accounted. */
export type ContainerTimeSink = (state: ContainerTimeState, seconds: number) => void;

/** One container's clock. */
export interface ContainerClock {
  /** The container starts running an activation. */
  busy(): void;
  /** The container has no activation any more. */
  idle(): void;
  /** The container is gone; the clock stops. */
  end(): void;
}

/**
 * The clocks of all live containers. Time is handed to the sink at every
 * change of state and on {@linkcode ContainerTime.flush} (at scrape time), so
 * a long-idle container's seconds show before it is removed.
 */
export class ContainerTime {
  readonly #sink: ContainerTimeSink;
  readonly #now: () => number;
  readonly #live = new Set<Clock>();

  /** `now` is in ms. */
  constructor(sink: ContainerTimeSink, now: () => number = () => performance.now()) {
    this.#sink = sink;
    this.#now = now;
  }

  /** Containers being timed. */
  get live(): number {
    return this.#live.size;
  }

  /** Starts timing a container that is ready and idle. */
  start(): ContainerClock {
    const clock = new Clock(this.#sink, this.#now, (c) => this.#live.delete(c));
    this.#live.add(clock);
    return clock;
  }

  /** Hands every live container's time so far to the sink. */
  flush(): void {
    for (const clock of this.#live) clock.flush();
  }
}

class Clock implements ContainerClock {
  readonly #sink: ContainerTimeSink;
  readonly #now: () => number;
  readonly #ended: (clock: Clock) => void;
  #state: ContainerTimeState | "ended" = "idle";
  #since: number;

  constructor(sink: ContainerTimeSink, now: () => number, ended: (clock: Clock) => void) {
    this.#sink = sink;
    this.#now = now;
    this.#ended = ended;
    this.#since = now();
  }

  busy(): void {
    this.#enter("busy");
  }

  idle(): void {
    this.#enter("idle");
  }

  end(): void {
    if (this.#state === "ended") return;
    this.flush();
    this.#state = "ended";
    this.#ended(this);
  }

  flush(): void {
    if (this.#state === "ended") return;
    const now = this.#now();
    const ms = now - this.#since;
    this.#since = now;
    if (ms > 0) this.#sink(this.#state, ms / 1_000);
  }

  #enter(state: ContainerTimeState): void {
    if (this.#state === "ended" || this.#state === state) return;
    this.flush();
    this.#state = state;
  }
}
