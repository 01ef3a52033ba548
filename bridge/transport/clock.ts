// Time for the media transport: a monotonic millisecond clock and one-shot timers that return
// their canceller, so ICE and DTLS timing runs on a manual clock in unit tests.

/** A monotonic clock and scheduler. Every timer it starts must be cancelled by its owner's close(). */
export interface Clock {
  /** Monotonic milliseconds (not epoch). */
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it (idempotent). */
  setTimeout(fn: () => void, ms: number): () => void;
  /**
   * Runs `fn` once the event loop has polled for I/O (Node's setImmediate); the returned function
   * cancels it (idempotent). A clock without it (a test's) runs a grid's timers without yielding.
   */
  setImmediate?(fn: () => void): () => void;
}

/** The process clock: performance.now() and Node timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  setImmediate(fn) {
    const immediate = setImmediate(fn);
    return () => clearImmediate(immediate);
  },
};

/**
 * How long the timers of one instant run before the grid lets the event loop read its sockets
 * (on a clock that can: {@link Clock.setImmediate}). Every conference's feedback tick falls on the
 * same instant; twenty rooms of three took 1–4 ms there every 50 ms, and what came meanwhile
 * waited in the media socket's buffer that long (its read delay's tail).
 */
export const GRID_RUN_BUDGET_MS = 0.5;

/**
 * A slot's canceller until its clock timer is armed. One function for all: the server runs under
 * tsx, whose keepNames gives every arrow function made in a call its name with
 * Object.defineProperty, which made a slot's creation 1.2 % of the JavaScript thread in 20 rooms of three.
 */
const noCancel = (): void => {};

interface GridSlot {
  readonly timers: Set<{ fn: () => void }>;
  /** Cancels the clock's timer, or the run's continuation after a yield. */
  cancel: () => void;
}

/**
 * Timers of many owners gathered onto shared instants. Each fires at the first multiple of its
 * alignment (on the clock's timeline) at or after its due time, and every timer due at one instant
 * runs from one timer of the clock, so in one turn of the event loop.
 *
 * Why: each conference's RTCP feedback tick and retransmission check would otherwise wake the
 * event loop on its own phase. Twenty conferences ticking every 50 ms made up to 400 wake-ups a
 * second, each a sleep and a context switch, and each sending its few RTCP packets in a system
 * call of their own. On one grid they make 20, and their packets leave in one batch. Node's own
 * timers gather only timers of the same duration armed in the same millisecond.
 */
export class TimerGrid {
  readonly #clock: Clock;
  readonly #slots = new Map<number, GridSlot>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get clock(): Clock {
    return this.#clock;
  }

  /** The instant a timer armed now for `ms` with `alignMs` fires at (clock ms). */
  instant(ms: number, alignMs: number): number {
    return Math.ceil((this.#clock.now() + Math.max(0, ms)) / alignMs) * alignMs;
  }

  /**
   * Runs `fn` once at the first multiple of `alignMs` at or after `ms` from now; returns its
   * canceller (idempotent). A timer that throws does not keep the others of its instant from
   * running; the first error is thrown again after them (after those of its turn, when the run
   * yields: GRID_RUN_BUDGET_MS).
   */
  setTimeout(fn: () => void, ms: number, alignMs: number): () => void {
    return this.setTimeoutAt(fn, this.instant(ms, alignMs));
  }

  /**
   * Runs `fn` once at `at`, an instant from {@link instant} (so that a caller keeping when its
   * timer fires reads the clock once); one already past runs at the clock's next turn.
   */
  setTimeoutAt(fn: () => void, at: number): () => void {
    let slot = this.#slots.get(at);
    if (!slot) {
      const created: GridSlot = { timers: new Set(), cancel: noCancel };
      // Whole milliseconds: Node keeps one list per duration, and a fraction would make one per timer.
      created.cancel = this.#clock.setTimeout(() => this.#run(at, created), Math.max(0, Math.ceil(at - this.#clock.now())));
      this.#slots.set(at, created);
      slot = created;
    }
    const timer = { fn };
    const timers = slot.timers;
    timers.add(timer);
    const owner = slot;
    return () => {
      if (!timers.delete(timer) || timers.size > 0) return;
      owner.cancel();
      if (this.#slots.get(at) === owner) this.#slots.delete(at);
    };
  }

  /** Timers armed and not yet run nor cancelled. */
  get pending(): number {
    let count = 0;
    for (const slot of this.#slots.values()) count += slot.timers.size;
    for (const slot of this.#yielded) count += slot.timers.size;
    return count;
  }

  /** Slots whose run yielded to the event loop, their rest to come. */
  readonly #yielded = new Set<GridSlot>();

  #run(at: number, slot: GridSlot): void {
    if (this.#slots.get(at) === slot) this.#slots.delete(at);
    this.#yielded.delete(slot);
    const yieldTo = this.#clock.setImmediate;
    const started = yieldTo ? this.#clock.now() : 0;
    let failure: { error: unknown } | undefined;
    // A timer cancelled by one run before it is skipped (Set iteration sees the deletion).
    for (const timer of slot.timers) {
      slot.timers.delete(timer);
      try {
        timer.fn();
      } catch (error) {
        failure ??= { error };
      }
      // Over budget: the rest after the event loop's next poll, in the order they were armed. The
      // slot is out of the map (a timer armed meanwhile for this instant makes a new one), and its
      // cancellers still take a timer out of it, the last one the continuation too.
      if (yieldTo && slot.timers.size > 0 && this.#clock.now() - started >= GRID_RUN_BUDGET_MS) {
        const resume = yieldTo.call(this.#clock, () => this.#run(at, slot));
        this.#yielded.add(slot);
        slot.cancel = () => {
          resume();
          this.#yielded.delete(slot);
        };
        break;
      }
    }
    if (failure) throw failure.error;
  }
}

/** The process's grid, on the process clock: conferences made without a clock of their own share it. */
const systemTimerGrid = new TimerGrid(systemClock);

/** A grid on `clock`: the process's on the process clock, a new one on another (a test's). */
export function timerGridOn(clock: Clock): TimerGrid {
  return clock === systemClock ? systemTimerGrid : new TimerGrid(clock);
}
