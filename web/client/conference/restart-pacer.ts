/**
 * When the client may ask the focus for a session restart (jitsi-protocol.md §5.6): the focus, as
 * Jicofo, refuses a restart sooner than {@link MIN_RESTART_GAP_MS} after the last one, and more
 * than five a minute, and a refused restart ends the session: Salon's focus offers a new one once
 * its limit allows, Jicofo only when the client rejoins. So a restart due sooner waits for the gap; a session that keeps failing (more than `max` restarts
 * within `windowMs`) is given up. Pure: the caller gives the time.
 */

/** The focus's least time between two restarts of one participant (focus/restart-requests.ts). */
export const MIN_RESTART_GAP_MS = 5000;

export class RestartPacer {
  #restarts: number[] = [];

  constructor(
    private readonly max = 3,
    private readonly windowMs = 60_000,
    private readonly gapMs = MIN_RESTART_GAP_MS,
  ) {}

  /**
   * A restart is due at `now`: 'now' (counted as made), 'give-up' (more than `max` within the
   * window), or how many ms to wait before asking again.
   */
  next(now: number): 'now' | 'give-up' | number {
    this.#restarts = this.#restarts.filter((t) => now - t < this.windowMs);
    const last = this.#restarts.at(-1);
    if (last !== undefined && now - last < this.gapMs) return this.gapMs - (now - last);
    if (this.#restarts.length >= this.max) return 'give-up';
    this.#restarts.push(now);
    return 'now';
  }
}
