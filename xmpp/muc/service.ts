/**
 * The MUC service of one domain (XEP-0045 as Prosody 0.12 with Jitsi's settings behaves):
 * routes stanzas to rooms, creates rooms on first join (only admins may when creation is
 * restricted), answers for the domain itself, and owns the rooms.
 *
 * Stanzas are handled one at a time. One that arrives while another is being handled (sent by an
 * event listener, or a bounce of our own delivery routed straight back) is queued and handled
 * right after, so no handler ever runs inside another.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../errors.ts';
import { parseJid, tryParseJid, type Jid } from '../jid.ts';
import type { DomainService, Router } from '../router.ts';
import { errorReply, iqPayload, iqResult, requireAttr } from '../stanza.ts';
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from '../protocol/disco.ts';
import { NS_MUC, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_UNIQUE, parseMucJoin, type MucDestroy, type MucWhois } from '../protocol/muc-user.ts';
import { handleOwnerIq } from './config.ts';
import type { MucEvents, MucRoomExtension, RoomContext } from './context.ts';
import { roomDiscoInfo, roomDiscoItems, serviceDiscoInfo, serviceDiscoItems } from './disco.ts';
import { TypedEvents } from './events.ts';
import { iqToOccupant } from './iq-proxy.ts';
import { changeNick, join, JoinRefusal, kickForError, leave, updatePresence } from './join.ts';
import { messageToRoom, privateMessage } from './messages.ts';
import { handleAdminIq } from './moderation.ts';
import type { OccupantStamp } from './identity-stamp.ts';
import { KeyedRateLimiter } from '../keyed-rate-limiter.ts';
import { isPasswordProtected, passwordMatches } from './password.ts';
import { MucRoom, type MucRoomView, type RoomConfig } from './room.ts';

export interface MucServiceOptions {
  /** e.g. muc.meet.jitsi or internal-muc.meet.jitsi */
  domain: string;
  /** The disco identity name. */
  name: string;
  /** Bare JIDs that own every room and may create rooms when creation is restricted (the focus). */
  admins: ReadonlySet<string>;
  /** Only admins create rooms (true on the conference MUC: CVE-2021-33506). */
  restrictRoomCreation: boolean;
  /** When set, only users of these domains may use the rooms (the brewery MUC: the auth domain). */
  allowedUserDomains?: ReadonlySet<string>;
  /** Default 500 in Jitsi deployments; service admins are not counted against it. */
  maxOccupantsPerRoom: number;
  /** Groupchat messages replayed to newcomers; 0 (Jitsi) keeps none. */
  maxHistoryMessages: number;
  /** Jitsi rooms are non-anonymous: `anyone`. */
  defaultWhois: MucWhois;
  /** Settings of new rooms beyond the defaults (public, temporary, open, unmoderated). */
  roomDefaults?: Partial<RoomConfig>;
  /**
   * Rooms are told of to their occupants and the service admins only, as Jitsi's mod_muc_hide_all
   * does: the service's disco#items lists none to anyone else, and a room's disco#info and
   * disco#items answer anyone else `forbidden`. A conference's room name is its guests' only
   * secret: listed, any meeting could be found and joined.
   */
  hideRooms?: boolean;
  /** disco#info nodes answered like the service itself (the lobby's `lobbyrooms`, which lib-jitsi-meet asks for). */
  infoNodes?: ReadonlySet<string>;
  /** Clock in ms, injectable for tests; default Date.now. */
  now?: () => number;
  /**
   * Wrong room passwords allowed per room and client (`keyOf`: its address) before further
   * attempts are refused without being checked, earned back over `refillSeconds`; none: unlimited.
   */
  passwordAttempts?: { burst: number; refillSeconds: number; keyOf(realJid: Jid): string };
  /**
   * Joins allowed per client (`keyOf`: its address) over the whole service, earned back over
   * `refillSeconds`, service admins not counted: the lobby's knocks, each of which reaches the
   * room's moderators (security.md §7 #24). None: unlimited.
   */
  joinAttempts?: { burst: number; refillSeconds: number; keyOf(realJid: Jid): string };
}

export interface JoinPolicyContext {
  /** Undefined when this join would create the room. */
  room: MucRoomView | undefined;
  realJid: Jid;
  nick: string;
  presence: Element;
}

/** Runs before a join (and a nick change) is accepted; throws a StanzaError to refuse it. */
export type JoinPolicy = (context: JoinPolicyContext) => void;

export class MucService implements DomainService {
  readonly domain: string;
  /** Occupants that vanish must leave their rooms: the router remembers their presence here. */
  readonly tracksPresence = true;
  readonly events: TypedEvents<MucEvents>;
  private readonly rooms = new Map<string, MucRoom>();
  private readonly extensions = new Set<MucRoomExtension>();
  private readonly context: RoomContext;
  private joinPolicy: JoinPolicy | undefined;
  private stamp: OccupantStamp | undefined;
  private readonly passwordLimiter: KeyedRateLimiter | undefined;
  private readonly joinLimiter: KeyedRateLimiter | undefined;
  private readonly queue: Element[] = [];
  private draining = false;
  private closed = false;

  constructor(private readonly router: Router, private readonly log: Logger, private readonly options: MucServiceOptions) {
    this.domain = parseJid(options.domain).domain;
    this.events = new TypedEvents<MucEvents>(log);
    const attempts = options.passwordAttempts;
    this.passwordLimiter = attempts ? new KeyedRateLimiter({ burst: attempts.burst, refillSeconds: attempts.refillSeconds }) : undefined;
    const joins = options.joinAttempts;
    this.joinLimiter = joins ? new KeyedRateLimiter({ burst: joins.burst, refillSeconds: joins.refillSeconds }) : undefined;
    const clock = options.now ?? Date.now;
    this.context = {
      router,
      events: this.events,
      extensions: this.extensions,
      proxyKey: randomBytes(32),
      limits: {
        domain: this.domain,
        maxOccupantsPerRoom: options.maxOccupantsPerRoom,
        maxHistoryMessages: options.maxHistoryMessages,
        defaultWhois: options.defaultWhois,
        roomDefaults: options.roomDefaults ?? {},
      },
      isServiceAdmin: (bare) => options.admins.has(bare),
      now: () => clock(),
    };
  }

  room(bareJid: string): MucRoomView | undefined {
    return this.rooms.get(tryParseJid(bareJid)?.bare ?? bareJid);
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  get occupantCount(): number {
    let count = 0;
    for (const room of this.rooms.values()) count += room.occupantCount;
    return count;
  }

  /** The rooms where the session `fullJid` is an occupant (a client is usually in one). */
  roomsWith(fullJid: string): MucRoomView[] {
    return [...this.rooms.values()].filter((room) => room.occupantByRealJid(fullJid) !== undefined);
  }

  /**
   * Destroys a room on the service's own authority (XEP-0045 §10.9; Jitsi's end-conference
   * component calls Prosody's room:destroy the same way): every occupant gets its unavailable
   * presence with `<destroy/>`, then the room is dropped. False when there is no such room.
   */
  destroyRoom(bareJid: string, destroy: MucDestroy): boolean {
    const room = this.rooms.get(bareJid);
    if (!room || this.closed) return false;
    room.destroy(destroy);
    this.settle(bareJid, 'ended for everyone');
    return true;
  }

  setJoinPolicy(policy: JoinPolicy | undefined): void {
    this.joinPolicy = policy;
  }

  /** Rewrites what clients send rooms before the rooms see it (./identity-stamp.ts); none by default. */
  setStamp(stamp: OccupantStamp | undefined): void {
    this.stamp = stamp;
  }

  /**
   * Makes a room on the server's own initiative (Jitsi's lobby rooms), with no owner but the
   * service admins and `config` over the defaults; returns the existing room if there is one.
   */
  openRoom(roomJid: string, config: Partial<RoomConfig> = {}): MucRoom {
    if (this.closed) throw new StanzaError('cancel', 'service-unavailable', 'the MUC service is closed');
    const jid = parseJid(roomJid);
    if (!jid.local || jid.resource || jid.domain !== this.domain) throw new Error(`${roomJid} is not a room of ${this.domain}`);
    const existing = this.rooms.get(jid.bare);
    if (existing) return existing;
    const room = new MucRoom(this.context, jid.bare, this.log.child({ room: jid.bare }));
    room.config = { ...room.config, ...config };
    this.rooms.set(jid.bare, room);
    this.log.info({ room: jid.bare, meetingId: room.meetingId }, 'room opened by the server');
    this.events.emit('room-created', room);
    return room;
  }

  /** Adds disco and configuration hooks for a feature (lobby, breakout rooms); returns the remover. */
  addExtension(extension: MucRoomExtension): () => void {
    this.extensions.add(extension);
    return () => this.extensions.delete(extension);
  }

  receive(stanza: Element): void {
    if (this.closed) return this.router.bounce(stanza, new StanzaError('cancel', 'service-unavailable', 'the MUC service is closed'));
    this.queue.push(stanza);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.handle(next);
    } finally {
      this.draining = false;
    }
  }

  /** Destroys every room (occupants get unavailable with `<destroy/>`); idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    for (const room of [...this.rooms.values()]) {
      room.destroy({ reason: 'The conference service is shutting down' });
      this.settle(room.jid, 'service closed');
    }
    this.events.clear();
    this.extensions.clear();
    this.joinPolicy = undefined;
  }

  /** The one boundary where failures become error replies. */
  private handle(stanza: Element): void {
    let roomJid: string | undefined;
    try {
      const to = parseJid(requireAttr(stanza, 'to'));
      const from = parseJid(requireAttr(stanza, 'from'));
      if (!to.local) return this.forService(stanza, from);
      if (this.options.allowedUserDomains && !this.options.allowedUserDomains.has(from.domain)) {
        throw new StanzaError('auth', 'forbidden', 'this service is internal');
      }
      roomJid = to.bare;
      const room = this.rooms.get(roomJid);
      const stamp = this.stamp;
      // An error presence (a bounce) is never stamped; an error message is, as any other: one that
      // is not a bounce is relayed to its occupant, and its display name must not be the sender's own.
      if (stanza.name === 'presence') this.presence(room, stamp && stanza.attrs.type !== 'error' ? stamp.presence(from, stanza) : stanza, from, to);
      else if (stanza.name === 'message') this.message(room, stamp ? stamp.message(from, stanza) : stanza, from, to);
      else if (stanza.name === 'iq') this.iq(room, stanza, from, to);
    } catch (err) {
      this.fail(stanza, err);
    } finally {
      if (roomJid !== undefined) this.settle(roomJid, 'empty');
    }
  }

  private fail(stanza: Element, err: unknown): void {
    try {
      if (!(err instanceof StanzaError)) {
        this.log.error({ err, stanza: stanza.name, type: stanza.attrs.type }, 'MUC handler failed');
        return this.router.bounce(stanza, new StanzaError('cancel', 'internal-server-error'));
      }
      this.log.debug({ condition: err.condition, text: err.text, to: stanza.attrs.to }, 'refused');
      if (stanza.name === 'presence' && stanza.attrs.type === undefined) {
        // Join errors echo the muc element (§7.2.6 ff.).
        const reply = errorReply(stanza, err);
        if (!reply?.attrs.to) return;
        reply.children.unshift(new Element('x', { xmlns: NS_MUC }));
        if (err instanceof JoinRefusal) reply.children.push(...err.presenceChildren);
        return this.router.route(reply);
      }
      this.router.bounce(stanza, err);
    } catch (bounceErr) {
      this.log.error({ err: bounceErr }, 'could not send an error reply');
    }
  }

  /** Drops a room that was destroyed or is empty and temporary (XEP-0045 §10.1.3 temporary rooms). */
  private settle(roomJid: string, reason: string): void {
    const room = this.rooms.get(roomJid);
    if (!room || (!room.destroyed && (room.occupantCount > 0 || room.config.persistent))) return;
    this.rooms.delete(roomJid);
    const why = room.destroyed && reason === 'empty' ? 'destroyed by its owner' : reason;
    room.destroy({});
    this.log.info({ room: roomJid, reason: why, durationMs: this.context.now() - room.createdAt }, 'room closed');
    this.events.emit('room-destroyed', room);
  }

  private createRoom(roomJid: string, creator: Jid): MucRoom {
    const room = new MucRoom(this.context, roomJid, this.log.child({ room: roomJid }));
    room.recordAffiliation(creator.bare, 'owner'); // §10.1.1: the creator owns the room
    this.rooms.set(roomJid, room);
    this.log.info({ room: roomJid, creator: creator.full, meetingId: room.meetingId }, 'room created');
    this.events.emit('room-created', room);
    return room;
  }

  private checkPolicy(room: MucRoom | undefined, realJid: Jid, nick: string, presence: Element): void {
    this.joinPolicy?.({ room, realJid, nick, presence });
  }

  private presence(room: MucRoom | undefined, stanza: Element, from: Jid, to: Jid): void {
    const type = stanza.attrs.type as string | undefined;
    if (!room) {
      if (type !== undefined) return; // leaving or bouncing a room that is gone
      if (!to.resource) throw new StanzaError('modify', 'jid-malformed', 'a nickname is required');
      this.checkPolicy(undefined, from, to.resource, stanza);
      if (this.options.restrictRoomCreation && !this.options.admins.has(from.bare)) {
        throw new StanzaError('cancel', 'not-allowed', 'rooms are created by the conference focus');
      }
      join(this.createRoom(to.bare, from), { realJid: from, nick: to.resource, presence: stanza, created: true });
      return;
    }
    const occupant = room.occupantByRealJid(from.full);
    if (type === 'error') {
      if (occupant) kickForError(room, occupant, stanza);
      return;
    }
    if (type === 'unavailable') {
      if (occupant) leave(room, occupant, stanza);
      return;
    }
    if (type !== undefined) return; // subscriptions and probes mean nothing to a room
    if (occupant) {
      // Presence to the bare room from an occupant is an update (Prosody's handle_presence_to_room).
      if (!to.resource || to.resource === occupant.nick) return updatePresence(room, occupant, stanza);
      this.checkPolicy(room, from, to.resource, stanza);
      return changeNick(room, occupant, to.resource, stanza);
    }
    if (!to.resource) throw new StanzaError('modify', 'jid-malformed', 'a nickname is required');
    this.checkPolicy(room, from, to.resource, stanza);
    this.countJoin(from);
    this.joinGuardingPassword(room, { realJid: from, nick: to.resource, presence: stanza, created: false });
  }

  /** Counts a join of `from` ({@link MucServiceOptions.joinAttempts}); refuses it (`policy-violation`, wait) past the allowance. */
  private countJoin(from: Jid): void {
    const limiter = this.joinLimiter;
    if (limiter === undefined || this.options.admins.has(from.bare)) return;
    const key = this.options.joinAttempts!.keyOf(from);
    const waitMs = limiter.wait(key);
    if (waitMs > 0) throw new StanzaError('wait', 'policy-violation', `too many joins: try again in ${Math.ceil(waitMs / 1000)} s`);
    limiter.spend(key);
  }

  /**
   * Joins, counting wrong room passwords per room and client: past the allowance, joins that give a
   * password are refused before it is looked at (`policy-violation`, type wait), so guessing a
   * room's password (to enter, or to skip its lobby) costs the guesser time. Joins without a
   * password (members, people let in from the lobby) and the room's members and owners are never
   * held up, so a guesser sharing their address cannot lock them out.
   */
  private joinGuardingPassword(room: MucRoom, request: Parameters<typeof join>[1]): void {
    const limiter = this.passwordLimiter;
    // Open rooms (nearly every join) go straight in, without reading the join element twice.
    if (limiter === undefined || !isPasswordProtected(room.config)) return void join(room, request);
    const mucX = request.presence.getChild('x', NS_MUC);
    const given = mucX ? parseMucJoin(mucX).password : undefined;
    const affiliation = room.affiliationOf(request.realJid.bare);
    const guarded = given !== undefined && !this.options.admins.has(request.realJid.bare)
      && affiliation !== 'member' && affiliation !== 'admin' && affiliation !== 'owner';
    if (!guarded) return void join(room, request);
    const key = `${room.jid}\u0000${this.options.passwordAttempts!.keyOf(request.realJid)}`;
    const waitMs = limiter.wait(key);
    if (waitMs > 0) throw new StanzaError('wait', 'policy-violation', `too many wrong passwords for this room: try again in ${Math.ceil(waitMs / 1000)} s`);
    // Counted whatever the join's outcome: with a lobby, a wrong password means knocking, not an error.
    if (!passwordMatches(room.config.password, given)) limiter.spend(key);
    join(room, request);
  }

  private message(room: MucRoom | undefined, stanza: Element, from: Jid, to: Jid): void {
    if (!room) throw new StanzaError('cancel', 'item-not-found', 'no such room');
    if (to.resource) privateMessage(room, stanza, from, to.resource);
    else messageToRoom(room, stanza, from);
  }

  private iq(room: MucRoom | undefined, stanza: Element, from: Jid, to: Jid): void {
    const type = stanza.attrs.type;
    if (!room) {
      if (type === 'get' || type === 'set') throw new StanzaError('cancel', 'item-not-found', 'no such room');
      return;
    }
    if (to.resource) {
      // Occupants a feature hides from each other (lobby knockers) cannot reach each other either.
      const sender = room.occupantByRealJid(from.full);
      const target = room.occupantByNick(to.resource);
      if ((type === 'get' || type === 'set') && sender && target && sender !== target && !room.messageVisible(target, sender)) {
        throw new StanzaError('cancel', 'item-not-found', 'recipient not in room');
      }
      return iqToOccupant(room, stanza, from, to.resource);
    }
    if (type !== 'get' && type !== 'set') return;
    const payload = iqPayload(stanza);
    const ns = payload.attrs.xmlns as string | undefined;
    let result: Element | undefined;
    if ((ns === NS_DISCO_INFO || ns === NS_DISCO_ITEMS) && type === 'get' && this.options.hideRooms && !this.options.admins.has(from.bare) && !room.occupantByRealJid(from.full)) {
      throw new StanzaError('auth', 'forbidden', 'rooms are told of to their occupants only');
    }
    if (ns === NS_DISCO_INFO && type === 'get') {
      if (payload.attrs.node !== undefined) throw new StanzaError('cancel', 'item-not-found', 'no such node');
      result = roomDiscoInfo(room);
    } else if (ns === NS_DISCO_ITEMS && type === 'get') {
      if (payload.attrs.node !== undefined) throw new StanzaError('cancel', 'item-not-found', 'no such node');
      result = roomDiscoItems(room, from);
    } else if (ns === NS_MUC_ADMIN && payload.name === 'query') {
      result = handleAdminIq(room, stanza, payload, from);
    } else if (ns === NS_MUC_OWNER && payload.name === 'query') {
      result = handleOwnerIq(room, stanza, payload, from);
    } else {
      throw new StanzaError('cancel', 'service-unavailable');
    }
    this.router.route(iqResult(stanza, result));
  }

  /** Stanzas to the service domain itself (§6.1 disco, §10.1.4 muc#unique). */
  private forService(stanza: Element, from: Jid): void {
    const type = stanza.attrs.type;
    if (stanza.name !== 'iq') {
      if (stanza.name === 'message' && type !== 'error') throw new StanzaError('cancel', 'service-unavailable');
      return;
    }
    if (type !== 'get' && type !== 'set') return;
    const payload = iqPayload(stanza);
    const ns = payload.attrs.xmlns;
    const node = payload.attrs.node as string | undefined;
    const infoNode = ns === NS_DISCO_INFO && node !== undefined && this.options.infoNodes?.has(node);
    if (type === 'get' && (ns === NS_DISCO_INFO || ns === NS_DISCO_ITEMS) && node !== undefined && !infoNode) {
      throw new StanzaError('cancel', 'item-not-found', 'no such node');
    }
    if (type === 'get' && ns === NS_DISCO_INFO) {
      const info = serviceDiscoInfo(this.options.name);
      if (infoNode) info.attrs.node = node;
      return this.router.route(iqResult(stanza, info));
    }
    if (type === 'get' && ns === NS_DISCO_ITEMS) {
      const visible = (!this.options.allowedUserDomains || this.options.allowedUserDomains.has(from.domain)) && (!this.options.hideRooms || this.options.admins.has(from.bare));
      return this.router.route(iqResult(stanza, serviceDiscoItems(visible ? this.rooms.values() : [])));
    }
    if (type === 'get' && ns === NS_MUC_UNIQUE && payload.name === 'unique') {
      return this.router.route(iqResult(stanza, new Element('unique', { xmlns: NS_MUC_UNIQUE }).t(randomUUID())));
    }
    throw new StanzaError('cancel', 'service-unavailable');
  }
}
