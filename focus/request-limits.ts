/**
 * Rate limits on conference requests: per requesting session, and on rooms brought into being per
 * requesting user, so one client cannot make the focus start conferences (and bridge allocations)
 * in a loop.
 *
 * The focus sees requesters by JID only, as Jicofo does (it may run apart from the XMPP server),
 * so it limits the session (full JID) and the user (bare JID); per-address abuse is bounded before
 * that by the c2s connection caps and the failed-login limits (xmpp/limits.ts, xmpp/login-limits.ts).
 * Salon's client stays far below the defaults: one request per connection, repeated every second
 * while the room is not ready and every 5 s while waiting for the host; a waiting guest creates
 * no room, so its retries never count as creations. lib-jitsi-meet (modules/xmpp/moderator.js,
 * `_allocateConferenceFocusError`) takes any error but not-authorized and reservation errors as
 * "focus disconnected" and asks again after its growing error timeout, which is what a wait-type
 * refusal asks for.
 */
import { StanzaError } from '../xmpp/errors.ts';
import { KeyedRateLimiter } from '../xmpp/keyed-rate-limiter.ts';

export interface ConferenceRequestLimits {
  /** Requests one session may send at once. Salon's default 10. */
  readonly burst: number;
  /** Seconds in which a session earns its burst back. Salon's default 10 (one request a second). */
  readonly windowSeconds: number;
  /** Rooms one user may bring into being per minute. Salon's default 5. */
  readonly roomCreationsPerMinute: number;
  /**
   * The network address of a requesting session, when the focus can know it (it runs with the XMPP
   * server): rooms are then also counted per address, ADDRESS_CREATION_FACTOR times the per-user
   * allowance (an office behind one address), since an anonymous login is a new user each time.
   */
  readonly addressOf?: (requester: string) => string | undefined;
  /** Milliseconds clock (tests); default `performance.now`. */
  readonly now?: () => number;
}

/** Rooms per minute one address may bring into being, in per-user allowances. */
export const ADDRESS_CREATION_FACTOR = 6;

export const TOO_MANY_REQUESTS_TEXT = 'too many conference requests';
export const TOO_MANY_ROOMS_TEXT = 'too many new rooms';

export class ConferenceRequestLimiter {
  private readonly requests: KeyedRateLimiter;
  private readonly creations: KeyedRateLimiter;
  private readonly addressCreations: KeyedRateLimiter;
  private readonly addressOf: ((requester: string) => string | undefined) | undefined;

  constructor(limits: ConferenceRequestLimits) {
    const now = limits.now ? { now: limits.now } : {};
    this.requests = new KeyedRateLimiter({ burst: limits.burst, refillSeconds: limits.windowSeconds, ...now });
    this.creations = new KeyedRateLimiter({ burst: limits.roomCreationsPerMinute, refillSeconds: 60, ...now });
    this.addressCreations = new KeyedRateLimiter({ burst: limits.roomCreationsPerMinute * ADDRESS_CREATION_FACTOR, refillSeconds: 60, ...now });
    this.addressOf = limits.addressOf;
  }

  /**
   * Counts one request of the session `requester` (full JID), or throws the refusal: RFC 6120
   * §8.3.3.18 resource-constraint, type wait (§8.3.2: "retry after waiting").
   */
  request(requester: string): void {
    if (this.requests.tryTake(requester) > 0) throw new StanzaError('wait', 'resource-constraint', TOO_MANY_REQUESTS_TEXT);
  }

  /** Counts one new room of the user of `requester` (and of its address, when known), or throws the same refusal. */
  creation(requester: string): void {
    const user = requester.split('/')[0]!;
    const address = this.addressOf?.(requester);
    if (address !== undefined && this.addressCreations.wait(address) > 0) throw new StanzaError('wait', 'resource-constraint', TOO_MANY_ROOMS_TEXT);
    if (this.creations.tryTake(user) > 0) throw new StanzaError('wait', 'resource-constraint', TOO_MANY_ROOMS_TEXT);
    if (address !== undefined) this.addressCreations.spend(address);
  }
}
