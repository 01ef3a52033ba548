/**
 * The STUN and TURN servers this server announces through XEP-0215 (protocol/extdisco.ts), with
 * TURN credentials minted per request in the TURN REST scheme that coturn checks with
 * `use-auth-secret` / `static-auth-secret` (draft-uberti-behave-turn-rest-00 §2.2; Prosody's
 * mod_external_services `secret` does the same): the username is `<expiry unix time>:<user>`, the
 * password base64(HMAC-SHA1(secret, username)). They go to sessions of this server's own client
 * domains only (main, guest and auth domains: anonymous guests included), never to other entities.
 */
import { createHmac } from 'node:crypto';
import { StanzaError } from './errors.ts';
import type { Jid } from './jid.ts';
import type { ExternalService } from './protocol/extdisco.ts';

/** One configured server (config/schema.ts `turn.servers`). */
export interface ExternalServiceConfig {
  type: 'stun' | 'turn' | 'turns';
  host: string;
  port?: number;
  transport?: 'udp' | 'tcp';
}

export interface ExternalServicesOptions {
  servers: readonly ExternalServiceConfig[];
  /** The TURN server's shared secret; without it TURN servers are announced without credentials. */
  secret?: string;
  /** Lifetime of minted credentials in seconds (docker-jitsi-meet TURN_TTL, default 86400 there). */
  ttlSeconds: number;
  /** Domains whose sessions may ask. */
  domains: ReadonlySet<string>;
  /** Epoch milliseconds; default Date.now. */
  now?: () => number;
}

/** TURN REST credentials for `user`, valid until `expiresAt` (unix seconds). */
export function turnRestCredentials(secret: string, user: string, expiresAt: number): { username: string; password: string } {
  const username = `${expiresAt}:${user}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

/**
 * The user part of the TURN username: stable per account, so the TURN server's logs can tell users
 * apart, but not the JID itself (those logs need not learn who talked to whom).
 */
function pseudonym(secret: string, requester: Jid): string {
  return createHmac('sha256', secret).update(requester.bare).digest('base64url').slice(0, 16);
}

/** XEP-0082 DateTime in UTC, to the second. */
function xmppDateTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The answer to a `<services/>` or `<credentials/>` request from `requester`. Throws forbidden
 * (XEP-0215 §2: "if the requesting entity does not have permission") for anything but a session
 * of one of `domains` — a component, a room occupant, another server's user.
 */
export function externalServicesFor(options: ExternalServicesOptions): (requester: Jid) => ExternalService[] {
  const now = options.now ?? Date.now;
  return (requester) => {
    if (!requester.local || !requester.resource || !options.domains.has(requester.domain)) {
      throw new StanzaError('auth', 'forbidden', 'external services are for sessions of this server');
    }
    const { secret } = options;
    if (!secret) return options.servers.map((s) => ({ ...s }));
    const expiresAt = Math.floor(now() / 1000) + options.ttlSeconds;
    const credentials = turnRestCredentials(secret, pseudonym(secret, requester), expiresAt);
    const expires = xmppDateTime(expiresAt);
    return options.servers.map((s) => (s.type === 'stun' ? { ...s } : { ...s, ...credentials, expires, restricted: true }));
  };
}
