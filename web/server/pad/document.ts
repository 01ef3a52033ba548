/**
 * One conference's shared document: who may open it (occupants granted a token, and holders of
 * its capability name), the WebSocket connections open on it, how many it takes, and its end with
 * the conference.
 *
 * Two ways in, by necessity:
 * - Salon's client asks the focus, which checks that the requester is an occupant and mints a
 *   60-second token bound to this document, the room and that occupant; the occupant's leaving
 *   (a kick or a ban included) closes its connections and stops its tokens.
 * - jitsi-meet cannot present a token: it opens `new URL(<name>, etherpad_base)` in an iframe, the
 *   name coming from the focus's presence in the room (jitsi-protocol.md §9). So that name is
 *   itself the capability: `<document id>.<128 random bits>`, unguessable, sent only in MUC
 *   presence (which only occupants receive), valid only while this conference lasts. Every
 *   occupant receives it, Salon's clients too, so a participant removed from the room (kicked or
 *   banned) would keep it: the conference then renews it (`renewName`), which closes every
 *   connection made through the old name. Whoever an occupant shares the current name with can
 *   still edit until the next removal or the conference's end; Salon's own client never uses it,
 *   and a deployment without jitsi-meet users turns it off (`capability: false`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { PadCloseCode } from '../../client/doc/wire.ts';
import type { ConnectionBudget, PadConnection } from './connection.ts';
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

/** How many connections one document admits at once; beyond, a new one is refused. */
export interface ConnectionCaps {
  /** All connections together. */
  perDocument: number;
  /** Connections of one occupant (its tabs and reconnections) through its tokens. */
  perOccupant: number;
  /**
   * Connections through the capability name, below `perDocument` so that whoever holds the name
   * cannot take every place and shut the participants' own editors out.
   */
  perCapability: number;
}

/** Retired capability secrets remembered, to tell their holders "replaced" rather than "no such document". */
const RETIRED_KEPT = 16;

export interface SharedDocumentOptions {
  room: string;
  tokens: TokenSigner;
  /** Whether the document has a capability name (jitsi-meet's page); without it, tokens only. */
  capability: boolean;
  caps: ConnectionCaps;
  log: Logger;
  onDestroyed(document: SharedDocument): void;
}

/** Source ids a document remembers (a connection makes one or two). */
const MAX_SOURCES = 10_000;

export class SharedDocument {
  /** Random, not secret: it appears in every connection's path. */
  readonly id = randomBytes(12).toString('base64url');
  private secret: Buffer | undefined;
  /** Secrets replaced by `renewName`, newest last: refused, never admitted again. */
  private readonly retired: Buffer[] = [];
  readonly room: string;
  /** Occupants granted access and still in the room. */
  private readonly occupants = new Set<string>();
  private readonly connections = new Set<PadConnection>();
  private destroyed = false;
  private readonly createdAt = Date.now();
  /** sharedb source ids → their holder (SharedDocument.claimSource). */
  private readonly sources = new Map<string, string>();
  /** Allowances by holder (occupant, or the capability), shared by its connections while the document lives. */
  private readonly budgets = new Map<string, ConnectionBudget>();

  constructor(private readonly options: SharedDocumentOptions) {
    this.room = options.room;
    this.secret = options.capability ? randomBytes(16) : undefined;
  }

  /**
   * The capability name announced in the focus's presence (jitsi-meet's etherpad document name),
   * or undefined when capability access is off. It changes with `renewName`.
   */
  get name(): string | undefined {
    return this.secret && `${this.id}.${this.secret.toString('base64url')}`;
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

  /** The occupant left the room (on its own, kicked or banned): its tokens stop working and its connections close. */
  revoke(occupant: string): void {
    if (!this.occupants.delete(occupant)) return;
    for (const c of this.connections) if (c.occupant === occupant) c.close(PadCloseCode.refused, 'you left the conference');
  }

  /**
   * A participant was removed from the room (kick or ban): the capability name it saw is retired
   * for a new one, and every connection that came in through a capability closes, since the
   * removed participant's cannot be told apart from the others'. The conference republishes the
   * new name in its presence. Nothing happens when capability access is off.
   */
  renewName(): void {
    if (this.destroyed || !this.secret) return;
    this.retired.push(this.secret);
    if (this.retired.length > RETIRED_KEPT) this.retired.shift();
    this.secret = randomBytes(16);
    let closed = 0;
    for (const c of this.connections) {
      if (c.occupant !== undefined) continue;
      c.close(PadCloseCode.refused, 'the document\'s address changed: reopen it from the conference');
      closed += 1;
    }
    this.options.log.debug({ room: this.room, closed }, 'capability renewed: its connections closed');
  }

  /** Checks a token presented on `/pad/<id>?token=…`, then the connection caps. */
  admitToken(token: string): Admission {
    if (this.destroyed) return { ok: false, code: PadCloseCode.gone, reason: 'the conference has ended', why: 'destroyed' };
    const check = this.options.tokens.verify(token, { doc: this.id, room: this.room });
    if (!check.ok) return { ok: false, code: PadCloseCode.refused, reason: check.reason === 'expired' ? 'token expired' : 'token refused', why: check.reason };
    const { occupant } = check.claims;
    if (!this.occupants.has(occupant)) return { ok: false, code: PadCloseCode.refused, reason: 'no longer in the conference', why: 'revoked' };
    const full = this.full((c) => c.occupant === occupant, this.options.caps.perOccupant, 'occupant');
    return full ?? { ok: true, occupant };
  }

  /** Checks the capability secret of `/pad/<id>.<secret>` (constant time), then the connection caps. */
  admitCapability(secret: string): Admission {
    if (!this.secret) return { ok: false, code: PadCloseCode.refused, reason: 'this document opens with a token only', why: 'capability off' };
    const given = Buffer.from(secret, 'base64url');
    const matches = (known: Buffer): boolean => given.length === known.length && timingSafeEqual(given, known);
    if (this.destroyed || !matches(this.secret)) {
      // Its holder saw it in the room: saying it was replaced tells it nothing new.
      if (!this.destroyed && this.retired.some(matches)) return { ok: false, code: PadCloseCode.refused, reason: 'the document\'s address changed: reopen it from the conference', why: 'retired capability' };
      // The same answer as for an unknown document: a wrong secret must not confirm the id exists.
      return { ok: false, code: PadCloseCode.gone, reason: 'no such document', why: 'capability' };
    }
    const full = this.full((c) => c.occupant === undefined, this.options.caps.perCapability, 'capability');
    return full ?? { ok: true, occupant: undefined };
  }

  /** The refusal when the document, or the connections matching `mine`, are at their cap. */
  private full(mine: (c: PadConnection) => boolean, cap: number, kind: string): Admission | undefined {
    // Only connections still admitted count: one closing (its close handshake may take a while) holds no place.
    let all = 0;
    let count = 0;
    for (const c of this.connections) {
      if (!c.admitted) continue;
      all += 1;
      if (mine(c)) count += 1;
    }
    if (all >= this.options.caps.perDocument) return { ok: false, code: PadCloseCode.refused, reason: 'too many connections to this document', why: 'document cap' };
    return count >= cap ? { ok: false, code: PadCloseCode.refused, reason: `too many connections through this ${kind === 'occupant' ? 'account' : 'link'}`, why: `${kind} cap` } : undefined;
  }

  /**
   * Binds a sharedb source id to a holder (an occupant; undefined: the capability's holders): false
   * when another holder has it. Ids are random (sharedb's) or named by a reconnecting client; the
   * oldest are forgotten past MAX_SOURCES.
   */
  claimSource(occupant: string | undefined, src: string): boolean {
    const holder = occupant ?? '';
    const owner = this.sources.get(src);
    if (owner !== undefined) return owner === holder;
    this.sources.set(src, holder);
    for (const oldest of this.sources.keys()) {
      if (this.sources.size <= MAX_SOURCES) break;
      this.sources.delete(oldest);
    }
    return true;
  }

  /** The allowance of `occupant`'s connections (undefined: the capability's), made at its first. */
  budgetOf(occupant: string | undefined, make: () => ConnectionBudget): ConnectionBudget {
    const key = occupant ?? '';
    let budget = this.budgets.get(key);
    if (!budget) this.budgets.set(key, (budget = make()));
    return budget;
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
    this.retired.length = 0;
    for (const c of this.connections) c.close(PadCloseCode.gone, reason);
    this.options.log.info({ room: this.room, reason, durationMs: Date.now() - this.createdAt }, 'shared document destroyed');
    this.options.onDestroyed(this);
  }
}
