/**
 * How often one participant may have its session restarted (session-terminate with
 * `<bridge-session restart="true"/>`, protocol notes §5.6): each restart costs a bridge allocation
 * and a source-remove and source-add to every other participant. As Jicofo's per-participant
 * RateLimit (jitsi-utils) under `jicofo.conference.restart-request-rate-limits`: a request is
 * accepted only if the last accepted one is at least `minIntervalMs` old and fewer than
 * `maxRequests` were accepted in the last `intervalMs`; refused requests do not count.
 */

export interface RestartRequestLimits {
  /** Jicofo `min-interval`. Default 5 000 ms. */
  readonly minIntervalMs?: number;
  /** Jicofo `max-requests` per `interval`. Default 5. */
  readonly maxRequests?: number;
  /** Jicofo `interval`. Default 60 000 ms. */
  readonly intervalMs?: number;
  /** Monotonic milliseconds. Default performance.now(). */
  readonly now?: () => number;
}

export class RestartRequestLimit {
  /** When the requests still inside the interval were accepted, oldest first. */
  private readonly accepted: number[] = [];
  private readonly minIntervalMs: number;
  private readonly maxRequests: number;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(limits: RestartRequestLimits = {}) {
    this.minIntervalMs = limits.minIntervalMs ?? 5_000;
    this.maxRequests = limits.maxRequests ?? 5;
    this.intervalMs = limits.intervalMs ?? 60_000;
    this.now = limits.now ?? (() => performance.now());
  }

  /** Milliseconds until a restart would be allowed (0: now; Infinity when none ever is, maxRequests 0). */
  waitMs(): number {
    if (this.maxRequests <= 0) return Number.POSITIVE_INFINITY;
    const now = this.now();
    const last = this.accepted.at(-1);
    let wait = last === undefined ? 0 : Math.max(0, this.minIntervalMs - (now - last));
    const inWindow = this.accepted.filter((t) => now - t <= this.intervalMs);
    // The oldest that must leave the window for one more to fit.
    if (inWindow.length >= this.maxRequests) wait = Math.max(wait, inWindow[inWindow.length - this.maxRequests]! + this.intervalMs - now + 1);
    return wait;
  }

  /** Whether a restart requested now is allowed; an allowed one counts against the next. */
  accept(): boolean {
    const now = this.now();
    const last = this.accepted.at(-1);
    if (last !== undefined && now - last < this.minIntervalMs) return false;
    while (this.accepted.length > 0 && now - this.accepted[0]! > this.intervalMs) this.accepted.shift();
    if (this.accepted.length >= this.maxRequests) return false;
    this.accepted.push(now);
    return true;
  }
}
