/**
 * Failed-login limits for PLAIN and SCRAM, per account and per remote address, so a password
 * cannot be brute-forced.
 *
 * Prosody's mod_limit_auth does this per address only: a util.throttle token bucket of
 * `limit_auth_max` (5) failures over `limit_auth_period` (30 s), spent by each
 * "authentication-failure" event; while it is empty, a new `<auth/>` is answered at once with
 * `<temporary-auth-failure/>` before any mechanism runs. We follow that (same bucket, same
 * condition, RFC 6120 §6.5.9: "authentication failed because of a temporary error condition
 * within the receiving entity, and it is advisable for the initiating entity to try again
 * later"), add a `<text/>` saying when, and add a bucket per account, since an attacker may spread
 * guesses over many addresses; a successful login empties its account's record (mod_limit_auth
 * keeps it). Refused attempts are not failures: they check no password and spend nothing. Unlike
 * util.throttle's poll, a failure is spent even past the budget, so attempts checked in parallel
 * all count; and buckets are forgotten once full again (mod_limit_auth never drops its table).
 */
import { KeyedRateLimiter } from './keyed-rate-limiter.ts';
import { SaslFailure } from './sasl/mechanism.ts';

export interface LoginLimits {
  /** Failures per account within `windowSeconds` before its logins are refused. Salon's default 5. */
  readonly failuresPerAccount: number;
  /** Failures per remote address within `windowSeconds` before its logins are refused. Salon's default 20. */
  readonly failuresPerAddress: number;
  /** Seconds in which a full allowance of failures is earned back. Salon's default 300. */
  readonly windowSeconds: number;
  /** Accounts and addresses tracked at most each. Default 10000. */
  readonly maxTrackedKeys?: number;
  /** Milliseconds clock (tests); default `performance.now`. */
  readonly now?: () => number;
}

export class LoginLimiter {
  private readonly accounts: KeyedRateLimiter;
  private readonly addresses: KeyedRateLimiter;

  constructor(limits: LoginLimits) {
    const common = { refillSeconds: limits.windowSeconds, ...(limits.maxTrackedKeys ? { maxKeys: limits.maxTrackedKeys } : {}), ...(limits.now ? { now: limits.now } : {}) };
    this.accounts = new KeyedRateLimiter({ burst: limits.failuresPerAccount, ...common });
    this.addresses = new KeyedRateLimiter({ burst: limits.failuresPerAddress, ...common });
  }

  /** The refusal for a login from `address` (as `account`, once known), or undefined to let it try. */
  refusal(address: string, account?: string): SaslFailure | undefined {
    const wait = Math.max(this.addresses.wait(address), account === undefined ? 0 : this.accounts.wait(account));
    if (wait === 0) return undefined;
    return new SaslFailure('temporary-auth-failure', `too many failed logins; try again in ${Math.ceil(wait / 1000)} s`);
  }

  /** A wrong password or an unknown account (`account` undefined when the name was not even valid). */
  failed(address: string, account?: string): void {
    this.addresses.spend(address);
    if (account !== undefined) this.accounts.spend(account);
  }

  succeeded(account: string): void {
    this.accounts.reset(account);
  }

  get trackedKeys(): { accounts: number; addresses: number } {
    return { accounts: this.accounts.trackedKeys, addresses: this.addresses.trackedKeys };
  }
}
