/**
 * Abuse limits of the c2s listeners (XEP-0205): a read-rate token bucket per session, as
 * Prosody's mod_limits does, and connection and session counts per remote address.
 */

/**
 * Token bucket over bytes read; `take` tells how long reading must pause. It counts other events
 * too (./keyed-rate-limiter.ts), with `wait` to refuse one without spending.
 */
export class ReadRateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly burstBytes: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burstBytes;
    this.last = now();
  }

  /** Spends `bytes`; returns milliseconds to pause reading (0 while within budget). */
  take(bytes: number): number {
    this.refill();
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.bytesPerSecond);
  }

  /**
   * Spends nothing: milliseconds until `amount` could be taken within budget (0: now). Lets the
   * same bucket count attempts (login failures, conference requests) refused without spending.
   */
  wait(amount: number): number {
    this.refill();
    const missing = amount - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.bytesPerSecond);
  }

  /** The bucket is full again: it holds no history worth keeping. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.burstBytes;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + ((t - this.last) * this.bytesPerSecond) / 1000);
    this.last = t;
  }
}

export type AdmissionRefusal = 'too-many-connections' | 'too-many-unauthenticated';

/**
 * Counts per remote address its open connections, those of them still unauthenticated, and its
 * sessions, each count under its own ceiling. A session counts from its binding until it ends,
 * hibernation included (XEP-0198 §5): a client could otherwise bind, enable resumption, drop the
 * connection and start again, each session left hibernating holding its rooms and its queue while
 * no count held it. A session resumed from another address counts there from then on.
 */
export class AddressLimiter {
  private readonly open = new Map<string, number>();
  private readonly unauthenticated = new Map<string, number>();
  private readonly sessions = new Map<string, number>();

  constructor(private readonly maxPerAddress: number, private readonly maxUnauthenticatedPerAddress: number) {}

  /** Admits a new connection or says why not; an admitted one must later call `release`. */
  admit(address: string): AdmissionRefusal | undefined {
    const open = this.open.get(address) ?? 0;
    const unauth = this.unauthenticated.get(address) ?? 0;
    if (open >= this.maxPerAddress) return 'too-many-connections';
    if (unauth >= this.maxUnauthenticatedPerAddress) return 'too-many-unauthenticated';
    this.open.set(address, open + 1);
    this.unauthenticated.set(address, unauth + 1);
    return undefined;
  }

  authenticated(address: string): void {
    decrement(this.unauthenticated, address);
  }

  release(address: string, wasAuthenticated: boolean): void {
    decrement(this.open, address);
    if (!wasAuthenticated) decrement(this.unauthenticated, address);
  }

  /** Counts a new session at `address` unless the address has its share already; false: refused. */
  addSession(address: string): boolean {
    const n = this.sessions.get(address) ?? 0;
    if (n >= this.maxPerAddress) return false;
    this.sessions.set(address, n + 1);
    return true;
  }

  /**
   * A session resumed from `to` counts there instead of at `from`, if `to` has room; false:
   * refused, and it still counts at `from`. Resumed from the same address it keeps its count, so
   * an address full of hibernating sessions can still resume each of them.
   */
  moveSession(from: string, to: string): boolean {
    if (from === to) return true;
    if (!this.addSession(to)) return false;
    decrement(this.sessions, from);
    return true;
  }

  removeSession(address: string): void {
    decrement(this.sessions, address);
  }

  get trackedAddresses(): number {
    return new Set([...this.open.keys(), ...this.sessions.keys()]).size;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
