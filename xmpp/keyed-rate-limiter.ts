/**
 * One token bucket per key (an account, an address, a requester), in bounded memory: buckets that
 * are full again are forgotten, and beyond `maxKeys` the oldest are dropped.
 */
import { ReadRateLimiter } from './limits.ts';

export interface KeyedRateLimiterOptions {
  /** Events a key may spend at once (the bucket's size). */
  readonly burst: number;
  /** Seconds a key takes to earn a whole burst back. */
  readonly refillSeconds: number;
  /** Keys tracked at most; the oldest go first beyond it. Default 10000. */
  readonly maxKeys?: number;
  /** Milliseconds clock; default `performance.now`. */
  readonly now?: () => number;
}

export class KeyedRateLimiter {
  private readonly buckets = new Map<string, ReadRateLimiter>();
  private readonly perSecond: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(private readonly options: KeyedRateLimiterOptions) {
    this.perSecond = options.burst / options.refillSeconds;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Milliseconds until `key` may spend one event (0: now). Spends nothing. */
  wait(key: string): number {
    return this.buckets.get(key)?.wait(1) ?? 0;
  }

  /** Spends one event of `key`, even past its budget (parallel attempts all count). */
  spend(key: string): void {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      this.prune();
      bucket = new ReadRateLimiter(this.perSecond, this.options.burst, this.now);
      this.buckets.set(key, bucket);
    }
    bucket.take(1);
  }

  /** Spends one event when within budget; otherwise returns the milliseconds to wait and spends nothing. */
  tryTake(key: string): number {
    const wait = this.wait(key);
    if (wait === 0) this.spend(key);
    return wait;
  }

  /** Forgets `key` (a successful login clears its account's failures). */
  reset(key: string): void {
    this.buckets.delete(key);
  }

  get trackedKeys(): number {
    return this.buckets.size;
  }

  /** Makes room for one more key: full buckets go, then the oldest (Map order is insertion order). */
  private prune(): void {
    if (this.buckets.size < this.maxKeys) return;
    for (const [key, bucket] of this.buckets) if (bucket.full) this.buckets.delete(key);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size < this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}
