// Time for the media transport: a monotonic millisecond clock and one-shot timers that return
// their canceller, so ICE and DTLS timing runs on a manual clock in unit tests.

/** A monotonic clock and scheduler. Every timer it starts must be cancelled by its owner's close(). */
export interface Clock {
  /** Monotonic milliseconds (not epoch). */
  now(): number;
  /** Runs `fn` once after `ms`; the returned function cancels it (idempotent). */
  setTimeout(fn: () => void, ms: number): () => void;
}

/** The process clock: performance.now() and Node timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};
