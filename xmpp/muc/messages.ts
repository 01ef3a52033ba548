/**
 * Messages in a room (XEP-0045): groupchat broadcast and history (§7.4), subject changes (§8.1),
 * private messages (§7.5), mediated invitations and declines (§7.8.2), and bounced messages
 * from an occupant's client, which remove it (Prosody's kickable errors).
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import { parseJid, type Jid } from '../jid.ts';
import { NS_CLIENT } from '../stanza.ts';
import { buildMucUser, NS_MUC_USER, parseMucUser, ROLE_RANK, type MucInvite } from '../protocol/muc-user.ts';
import { isKickableError, kickForError } from './join.ts';
import type { Occupant } from './occupant.ts';
import { isMucElement } from './presence.ts';
import type { MucRoom } from './room.ts';

export const NS_CONFERENCE = 'jabber:x:conference';

/** Invitations remembered per room for their declines. */
export const MAX_PENDING_INVITATIONS = 256;
/** How long an invitation may be declined. */
const INVITATION_LIFETIME_MS = 24 * 3600_000;
/** Characters of a decline's reason relayed. */
const MAX_DECLINE_REASON = 500;

/** A copy of `message` with new addressing, every child but a client's muc#user `<x/>`, and `extra` children. */
function rewrite(message: Element, attrs: Record<string, string>, extra: Element[] = []): Element {
  const { to: _to, from: _from, xmlns: _xmlns, ...rest } = message.attrs as Record<string, string>;
  const el = new Element('message', { xmlns: NS_CLIENT, ...rest, ...attrs });
  el.children = [...message.children.filter((c): c is Element => typeof c !== 'string' && !isMucElement(c)), ...extra];
  return el;
}

/** A message to the bare room JID. */
export function messageToRoom(room: MucRoom, stanza: Element, from: Jid): void {
  const type = stanza.attrs.type as string | undefined;
  const sender = room.occupantByRealJid(from.full);
  if (type === 'error') {
    if (sender && isKickableError(stanza)) kickForError(room, sender, stanza);
    return;
  }
  if (type === 'groupchat') return groupchat(room, stanza, sender);
  const x = stanza.getChild('x', NS_MUC_USER);
  if (x && (type === undefined || type === 'normal')) {
    const user = parseMucUser(x);
    const invites = user.invites.filter((i) => i.to !== undefined);
    if (invites.length > 0) return invite(room, stanza, from, sender, invites);
    if (user.decline?.to !== undefined) return decline(room, from, user.decline.reason);
    throw StanzaError.badRequest('muc#user message without invite or decline');
  }
  throw new StanzaError('cancel', 'service-unavailable', 'only groupchat messages and invitations go to the room');
}

/** §7.4 groupchat: broadcast from the sender's occupant JID with the same id; §8.1 subject. */
function groupchat(room: MucRoom, stanza: Element, sender: Occupant | undefined): void {
  if (!sender) throw new StanzaError('cancel', 'not-acceptable', 'you are not in this room');
  const subject = stanza.getChild('subject');
  // A message with a subject and a body or thread is a message, not a subject change (§8.1).
  if (subject && !stanza.getChild('body') && !stanza.getChild('thread')) {
    const allowed = sender.role === 'moderator' || (room.config.changeSubject && ROLE_RANK[sender.role] >= ROLE_RANK.participant);
    if (!allowed) throw new StanzaError('auth', 'forbidden', 'you may not change the subject');
    room.setSubject(subject.getText(), sender.occupantJid);
    return;
  }
  if (sender.role === 'visitor') throw new StanzaError('auth', 'forbidden', 'visitors may not speak in a moderated room');
  const message = rewrite(stanza, { from: sender.occupantJid });
  room.broadcastMessage(message, sender);
  room.history.add(message, room.jid, room.ctx.now());
}

/** §7.5: a message to `room/nick` goes to that occupant from the sender's occupant JID. */
export function privateMessage(room: MucRoom, stanza: Element, from: Jid, nick: string): void {
  const type = stanza.attrs.type as string | undefined;
  const sender = room.occupantByRealJid(from.full);
  if (!sender) {
    if (type === 'error') return;
    throw new StanzaError('cancel', 'not-acceptable', 'you are not in this room');
  }
  if (type === 'groupchat') throw StanzaError.badRequest('groupchat messages go to the room');
  if (type === 'error' && isKickableError(stanza)) return kickForError(room, sender, stanza);
  const target = room.occupantByNick(nick);
  if (!target || !room.messageVisible(target, sender)) throw new StanzaError('cancel', 'item-not-found', 'recipient not in room');
  room.send(rewrite(stanza, { from: sender.occupantJid, to: target.realJid.full }, [new Element('x', { xmlns: NS_MUC_USER })]));
}

/**
 * §7.8.2 mediated invitation. In members-only rooms the invitee becomes a member (Jitsi's lobby
 * admission). The room password is never forwarded (JSA-2024-0001), unlike Prosody.
 */
function invite(room: MucRoom, stanza: Element, from: Jid, sender: Occupant | undefined, invites: MucInvite[]): void {
  // Only occupants invite, one invitee per message, and the relayed message carries nothing of
  // the original but the invitation: otherwise one message could be multiplied at a victim.
  if (!sender) throw new StanzaError('cancel', 'not-acceptable', 'you are not in this room');
  if (invites.length > 1) {
    // Except a moderator letting several people in from Jitsi's lobby at once (lib-jitsi-meet
    // Lobby.approveAccess with a list; mod_muc_lobby_rooms relays every <invite/>): distinct invitees.
    const admitting = room.config.membersOnly && sender.role === 'moderator';
    if (!admitting || new Set(invites.map((i) => i.to)).size !== invites.length) throw StanzaError.badRequest('one invitation per message');
  }
  const role = sender.role;
  if (ROLE_RANK[role] <= ROLE_RANK.visitor) throw new StanzaError('auth', 'forbidden', 'you may not invite to this room');
  for (const extension of room.ctx.extensions) {
    if (extension.mayInvite?.(room, sender) === false) throw new StanzaError('auth', 'forbidden', 'you may not invite to this room');
  }
  if (room.config.membersOnly) {
    const privileged = role === 'moderator' || room.hasAffiliationAtLeast(from.bare, 'admin')
      || (room.config.allowInvites && room.hasAffiliationAtLeast(from.bare, 'member'));
    if (!privileged) throw new StanzaError('auth', 'forbidden', 'only moderators may invite to a members-only room');
  }
  const invitees = invites.map((i) => ({ jid: parseJid(i.to ?? ''), reason: i.reason }));
  for (const { jid, reason } of invitees) {
    // Only users without affiliation are made members: an invitation never lifts a ban.
    if (room.config.membersOnly && room.affiliationOf(jid.bare) === 'none') {
      room.recordAffiliation(jid.bare, 'member');
      room.log.info({ jid: jid.bare, by: from.full }, 'invitee made a member');
    }
    const relayed: MucInvite = { from: from.full };
    if (reason !== undefined) relayed.reason = reason;
    const conference = new Element('x', { xmlns: NS_CONFERENCE, jid: room.jid });
    if (reason !== undefined) conference.t(reason);
    const message = new Element('message', { xmlns: 'jabber:client', from: room.jid, to: jid.full });
    if (stanza.attrs.id !== undefined) message.attrs.id = stanza.attrs.id;
    message.cnode(buildMucUser({ invites: [relayed] }));
    message.cnode(conference);
    room.send(message);
    room.invitations.delete(jid.bare);
    room.invitations.set(jid.bare, { inviter: from.full, at: room.ctx.now() });
    for (const oldest of room.invitations.keys()) {
      if (room.invitations.size <= MAX_PENDING_INVITATIONS) break;
      room.invitations.delete(oldest);
    }
    for (const extension of room.ctx.extensions) extension.invited?.(room, sender, jid);
  }
}

/**
 * §7.8.2 decline, relayed to whoever invited the decliner, and only then: the room sends nothing
 * else on anyone's behalf. The relayed message carries the decline alone (its reason shortened),
 * never the sender's body, subject or other elements: copied, they went out from the room's JID
 * to any address, a lobby knocker's or a stranger's words included.
 */
function decline(room: MucRoom, from: Jid, reason: string | undefined): void {
  const invitation = room.invitations.get(from.bare);
  if (!invitation || room.ctx.now() - invitation.at > INVITATION_LIFETIME_MS) {
    throw new StanzaError('cancel', 'not-acceptable', 'no invitation of yours to decline');
  }
  room.invitations.delete(from.bare);
  const relayed: MucInvite = { from: from.full };
  if (reason !== undefined) relayed.reason = reason.slice(0, MAX_DECLINE_REASON);
  const message = new Element('message', { xmlns: NS_CLIENT, from: room.jid, to: invitation.inviter });
  message.cnode(buildMucUser({ decline: relayed }));
  room.send(message);
}
