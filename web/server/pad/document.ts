/**
 * One conference's shared document: who may open it (occupants granted a token, and holders of
 * its capability name), the WebSocket connections open on it, and its end with the conference.
 *
 * Two ways in, by necessity:
 * - Salon's client asks the focus, which checks that the requester is an occupant and mints a
 *   60-second token bound to this document, the room and that occupant; the occupant's leaving
 *   closes its connections and stops its tokens.
 * - jitsi-meet cannot present a token: it opens `new URL(<name>, etherpad_base)` in an iframe, the
 *   name coming from the focus's presence in the room (jitsi-protocol.md §9). So that name is
 *   itself the capability: `<document id>.<128 random bits>`, unguessable, sent only in MUC
 *   presence (which only occupants receive), valid only while this conference lasts. The trade-off
 *   is that whoever an occupant shares the link with can edit until the conference ends; Salon's
 *   own client never uses it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { PadCloseCode } from '../../client/doc/wire.ts';
import type { PadConnection } from './connection.ts';
import type { TokenSigner } from './tokens.ts';

/** What an occupant is given to open the document (the focus answers it in its IQ). */
export interface DocumentAccess {
  /** The WebSocket path, `/pad/<document id>`. */
  path: string;
  token: string;
  /** The token admits new connections until then (ms since epoch). */
  expiresAt: number;
}

export type Admission =
  | { ok: true; occupant: string | undefined }
  | { ok: false; code: number; reason: string; why: string };

export interface SharedDocumentOptions {
  room: string;
  tokens: TokenSigner;
  log: Logger;
  onDestroyed(document: SharedDocument): void;
}

export class SharedDocument {
  /** Random, not secret: it appears in every connection's path. */
  readonly id = randomBytes(12).toString('base64url');
  private readonly secret = randomBytes(16);
  readonly room: string;
  /** Occupants granted access and still in the room. */
  private readonly occupants = new Set<string>();
  private readonly connections = new Set<PadConnection>();
  private destroyed = false;
  private readonly createdAt = Date.now();

  constructor(private readonly options: SharedDocumentOptions) {
    this.room = options.room;
  }

  /** The capability name announced in the focus's presence (jitsi-meet's etherpad document name). */
  get name(): string {
    return `${this.id}.${this.secret.toString('base64url')}`;
  }

  get open(): boolean {
    return !this.destroyed;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Lets occupant `occupant` (`room@muc/nick`) in; the focus has checked it is one. */
  grant(occupant: string): DocumentAccess {
    if (this.destroyed) throw new Error('the document was destroyed');
    this.occupants.add(occupant);
    const { token, expiresAt } = this.options.tokens.mint({ doc: this.id, room: this.room, occupant });
    return { path: `/pad/${this.id}`, token, expiresAt };
  }

  /** The occupant left the room: its tokens stop working and its connections close. */
  revoke(occupant: string): void {
    if (!this.occupants.delete(occupant)) return;
    for (const c of this.connections) if (c.occupant === occupant) c.close(PadCloseCode.refused, 'you left the conference');
  }

  /** Checks a token presented on `/pad/<id>?token=…`. */
  admitToken(token: string): Admission {
    if (this.destroyed) return { ok: false, code: PadCloseCode.gone, reason: 'the conference has ended', why: 'destroyed' };
    const check = this.options.tokens.verify(token, { doc: this.id, room: this.room });
    if (!check.ok) return { ok: false, code: PadCloseCode.refused, reason: check.reason === 'expired' ? 'token expired' : 'token refused', why: check.reason };
    if (!this.occupants.has(check.claims.occupant)) return { ok: false, code: PadCloseCode.refused, reason: 'no longer in the conference', why: 'revoked' };
    return { ok: true, occupant: check.claims.occupant };
  }

  /** Checks the capability secret of `/pad/<id>.<secret>` (constant time). */
  admitCapability(secret: string): Admission {
    const given = Buffer.from(secret, 'base64url');
    const ok = !this.destroyed && given.length === this.secret.length && timingSafeEqual(given, this.secret);
    // The same answer as for an unknown document: a wrong secret must not confirm the id exists.
    return ok ? { ok: true, occupant: undefined } : { ok: false, code: PadCloseCode.gone, reason: 'no such document', why: 'capability' };
  }

  attach(connection: PadConnection): void {
    this.connections.add(connection);
  }

  detach(connection: PadConnection): void {
    this.connections.delete(connection);
  }

  /** The conference ended: every connection closes and the content is forgotten. Idempotent. */
  destroy(reason = 'the conference has ended'): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.occupants.clear();
    for (const c of this.connections) c.close(PadCloseCode.gone, reason);
    this.options.log.info({ room: this.room, reason, durationMs: Date.now() - this.createdAt }, 'shared document destroyed');
    this.options.onDestroyed(this);
  }
}
