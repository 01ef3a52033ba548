/**
 * Short-lived access tokens for a shared document, minted by the focus for one occupant of one
 * room and checked when that occupant's WebSocket connects.
 *
 * Format: `<payload>.<mac>`, both base64url (RFC 4648 §5, no padding). The payload is the JSON
 * `{"v":1,"d":<document id>,"r":<room JID>,"o":<occupant JID>,"e":<expiry, ms since epoch>}`; the
 * MAC is HMAC-SHA256 over the payload's base64url text with a secret drawn at random when the
 * process starts (tokens die with the process, as the documents do). The payload is signed, not
 * encrypted: it names nothing its holder does not already know.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** The document id (the path segment of `/pad/<id>`). */
  doc: string;
  /** The room's bare JID. */
  room: string;
  /** The occupant's room JID (`room@muc/nick`), whose leaving ends its access. */
  occupant: string;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims; expiresAt: number }
  | { ok: false; reason: 'malformed' | 'forged' | 'expired' | 'other-document' | 'other-room' };

/** Longer input is refused unread: a real token is well under this. */
const MAX_TOKEN_LENGTH = 2048;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export interface TokenSignerOptions {
  /** HMAC key; default 32 random bytes. */
  secret?: Buffer;
  /** How long a token admits new connections, in ms. Default 60000. */
  ttlMs?: number;
  /** The clock, in ms since epoch. Default `Date.now`. */
  now?: () => number;
}

export class TokenSigner {
  private readonly secret: Buffer;
  readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: TokenSignerOptions = {}) {
    this.secret = options.secret ?? randomBytes(32);
    this.ttlMs = options.ttlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** A token for `claims`, expiring `ttlMs` (default: the signer's) from now. */
  mint(claims: TokenClaims, ttlMs = this.ttlMs): { token: string; expiresAt: number } {
    const expiresAt = this.now() + ttlMs;
    const payload = Buffer.from(JSON.stringify({ v: 1, d: claims.doc, r: claims.room, o: claims.occupant, e: expiresAt })).toString('base64url');
    return { token: `${payload}.${this.mac(payload).toString('base64url')}`, expiresAt };
  }

  /** Checks the signature first, then the expiry, then that the token is for this document and room. */
  verify(token: string, expected: { doc: string; room: string }): TokenCheck {
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
    const parts = token.split('.');
    const [payload, mac] = parts;
    if (parts.length !== 2 || !payload || !mac || !BASE64URL.test(payload) || !BASE64URL.test(mac)) return { ok: false, reason: 'malformed' };
    const given = Buffer.from(mac, 'base64url');
    const wanted = this.mac(payload);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return { ok: false, reason: 'forged' };
    const claims = readPayload(payload);
    // Signed by us yet unreadable: only a change of format could do that.
    if (!claims) return { ok: false, reason: 'malformed' };
    if (claims.expiresAt <= this.now()) return { ok: false, reason: 'expired' };
    if (claims.doc !== expected.doc) return { ok: false, reason: 'other-document' };
    if (claims.room !== expected.room) return { ok: false, reason: 'other-room' };
    return { ok: true, claims: { doc: claims.doc, room: claims.room, occupant: claims.occupant }, expiresAt: claims.expiresAt };
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.secret).update(payload).digest();
  }
}

function readPayload(payload: string): (TokenClaims & { expiresAt: number }) | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined; // not JSON: reported as malformed by the caller
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { v, d, r, o, e } = value as Record<string, unknown>;
  if (v !== 1 || typeof d !== 'string' || typeof r !== 'string' || typeof o !== 'string' || typeof e !== 'number') return undefined;
  return { doc: d, room: r, occupant: o, expiresAt: e };
}
