/**
 * Entering a room, updating presence in it, changing nick and leaving (XEP-0045 §7.2, §7.6,
 * §7.14), and removing an occupant whose client bounces the room's stanzas (Prosody's
 * "kickable" errors).
 */
import { Element } from 'ltx';
import { StanzaError, NS_XMPP_STANZAS, type StanzaErrorCondition, type StanzaErrorType } from '../errors.ts';
import type { Jid } from '../jid.ts';
import { MucStatus, NS_MUC, parseMucJoin } from '../protocol/muc-user.ts';
import { Occupant } from './occupant.ts';
import { isPasswordProtected, passwordMatches } from './password.ts';
import { PresenceVariants, relayedPresence, withMucUser } from './presence.ts';
import type { MucRoom } from './room.ts';

export interface JoinRequest {
  realJid: Jid;
  nick: string;
  /** The client's join presence; its children become the occupant's presence. */
  presence: Element;
  /** This join created the room (status 201). */
  created: boolean;
}

/**
 * §7.2: admits a new occupant or throws the presence error to send back. Service admins (the
 * focus) pass password and size limits, as with Jitsi's muc_password_whitelist and
 * muc_max_occupants whitelist.
 */
export function join(room: MucRoom, request: JoinRequest): Occupant {
  const { realJid, nick, presence } = request;
  const admin = room.ctx.isServiceAdmin(realJid.bare);
  let affiliation = room.affiliationOf(realJid.bare);
  // §7.2.8 banned users
  if (affiliation === 'outcast') throw new StanzaError('auth', 'forbidden', 'you are banned from this room');
  // Features decide first (Jitsi's lobby answers non-members before the members-only check does).
  let waivePassword = false;
  for (const extension of room.ctx.extensions) {
    const decision = extension.admission?.(room, { realJid, nick, presence, affiliation });
    if (decision?.makeMember && affiliation === 'none') {
      room.recordAffiliation(realJid.bare, 'member');
      affiliation = 'member';
    }
    if (decision?.waivePassword) waivePassword = true;
  }
  const role = room.defaultRole(affiliation);
  // §7.2.7 members-only rooms
  if (role === 'none') throw new StanzaError('auth', 'registration-required', 'this room is members-only');
  const mucX = presence.getChild('x', NS_MUC);
  const wanted = mucX ? parseMucJoin(mucX) : {};
  // §7.2.6 password-protected rooms
  if (!admin && !waivePassword && isPasswordProtected(room.config) && !passwordMatches(room.config.password, wanted.password)) {
    throw new StanzaError('auth', 'not-authorized', 'a password is required to enter this room');
  }
  // §7.2.9 nickname conflict; one session per nick
  if (room.occupantByNick(nick)) throw new StanzaError('cancel', 'conflict', 'that nickname is already in use');
  // §7.2.10 maximum number of users
  if (!admin && room.occupantCount >= room.maxOccupants) throw new StanzaError('wait', 'service-unavailable', 'the room is full');

  const occupant = new Occupant(room.jid, nick, realJid, role, affiliation, presence);
  room.sendOccupantList(occupant);
  room.add(occupant);
  const statuses: number[] = [];
  if (room.config.whois === 'anyone') statuses.push(MucStatus.nonAnonymous);
  statuses.push(MucStatus.self);
  if (request.created) statuses.push(MucStatus.created);
  room.broadcastPresence(occupant, occupant.broadcast, occupant.selfPresence(statuses));

  const now = room.ctx.now();
  for (const out of room.history.select(wanted.history, now)) room.deliver(realJid.full, out);
  room.deliver(realJid.full, room.subjectMessage());
  if (room.occupantCount >= 2 && room.conferenceStartedAt === undefined) room.conferenceStartedAt = now;
  room.log.debug({ nick, jid: realJid.full, role, affiliation }, 'occupant joined');
  room.ctx.events.emit('occupant-joined', room, occupant);
  return occupant;
}

/** §7.2 (presence update): a new available presence without a nick change, broadcast to all. */
export function updatePresence(room: MucRoom, occupant: Occupant, presence: Element): void {
  occupant.setPresence(presence);
  room.broadcastPresence(occupant, occupant.broadcast, occupant.selfPresence([MucStatus.self]));
  room.ctx.events.emit('occupant-updated', room, occupant);
}

/** §7.6: unavailable from the old nick with 303 and the new nick, then available from the new one. */
export function changeNick(room: MucRoom, occupant: Occupant, nick: string, presence: Element): void {
  if (room.occupantByNick(nick)) throw new StanzaError('cancel', 'conflict', 'that nickname is already in use');
  const oldNick = occupant.nick;
  const base = relayedPresence(occupant.occupantJid, undefined, 'unavailable');
  const statuses = [MucStatus.nickChanged];
  const variants = new PresenceVariants((withJid) => withMucUser(base, { items: [occupant.item(withJid, { nick })], statuses }));
  const self = withMucUser(base, { items: [occupant.item(true, { nick })], statuses: [...statuses, MucStatus.self] }, occupant.realJid.full);
  room.broadcastPresence(occupant, variants, self);
  room.rename(occupant, nick);
  occupant.setPresence(presence);
  room.broadcastPresence(occupant, occupant.broadcast, occupant.selfPresence([MucStatus.self]));
  room.ctx.events.emit('occupant-renamed', room, occupant, oldNick);
}

/** §7.14: the client's unavailable presence (its `<status/>` and extensions relayed). */
export function leave(room: MucRoom, occupant: Occupant, presence: Element): void {
  room.evict(occupant, [], {}, presence);
  room.log.debug({ nick: occupant.nick }, 'occupant left');
}

/** Error conditions meaning the occupant's session is gone (Prosody's muc/util is_kickable_error). */
const KICKABLE = new Set([
  'gone', 'internal-server-error', 'item-not-found', 'jid-malformed', 'recipient-unavailable',
  'redirect', 'remote-server-not-found', 'remote-server-timeout', 'service-unavailable',
]);

/** True for a presence error, or a message error whose condition says the session is gone. */
export function isKickableError(stanza: Element): boolean {
  if (stanza.name === 'presence') return true;
  const error = stanza.getChild('error');
  const condition = error?.getChildElements().find((c) => c.getNS() === NS_XMPP_STANZAS && c.name !== 'text');
  return !condition || KICKABLE.has(condition.name);
}

/** Removes an occupant whose client bounced a room stanza: unavailable with 307 to everyone. */
export function kickForError(room: MucRoom, occupant: Occupant, stanza: Element): void {
  const condition = stanza.getChild('error')?.getChildElements().find((c) => c.name !== 'text')?.name ?? 'presence error';
  const presence = new Element('presence');
  presence.c('status').t(`Kicked: ${condition.replace(/-/g, ' ')}`);
  room.evict(occupant, [MucStatus.kicked], {}, presence);
  room.log.debug({ nick: occupant.nick, condition }, 'occupant removed after an error from its client');
}

/**
 * A join refusal that also carries elements beside `<error/>` in the error presence, and the
 * legacy numeric `code` on `<error/>` (Jitsi's lobby puts `<lobbyroom>` both inside the error and
 * directly in the presence, where lib-jitsi-meet's ChatRoom.onPresenceError reads it).
 */
export class JoinRefusal extends StanzaError {
  constructor(
    type: StanzaErrorType,
    condition: StanzaErrorCondition,
    text: string,
    application: Element | undefined,
    readonly presenceChildren: readonly Element[],
    readonly legacyCode?: string,
  ) {
    super(type, condition, text, application);
  }

  override toElement(): Element {
    const el = super.toElement();
    if (this.legacyCode !== undefined) el.attrs.code = this.legacyCode;
    return el;
  }
}
