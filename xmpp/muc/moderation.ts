/**
 * muc#admin (XEP-0045 §8 moderator, §9 admin, §10 owner use cases): role changes by nick (kick,
 * voice, moderator) and affiliation changes by bare JID (member, admin, owner, ban), and the
 * lists of both. Permission rules follow Prosody 0.12's set_role/set_affiliation.
 */
import type { Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import { parseJid, type Jid } from '../jid.ts';
import {
  AFFILIATION_RANK, buildMucAdmin, MucStatus, parseMucAdmin, ROLE_RANK,
  type MucAffiliation, type MucItem, type MucRole,
} from '../protocol/muc-user.ts';
import type { ItemExtras, Occupant } from './occupant.ts';
import type { MucRoom } from './room.ts';

/** Who asks: the sender's real JID, its occupant (if in the room) and its standing. */
interface Actor {
  jid: Jid;
  occupant: Occupant | undefined;
  affiliation: MucAffiliation;
  serviceAdmin: boolean;
}

function actorOf(room: MucRoom, jid: Jid): Actor {
  return {
    jid,
    occupant: room.occupantByRealJid(jid.full),
    affiliation: room.affiliationOf(jid.bare),
    serviceAdmin: room.ctx.isServiceAdmin(jid.bare),
  };
}

function extrasOf(actor: Actor, reason: string | undefined): ItemExtras {
  const extras: ItemExtras = { actor: { jid: actor.jid.full } };
  if (actor.occupant && extras.actor) extras.actor.nick = actor.occupant.nick;
  if (reason !== undefined) extras.reason = reason;
  return extras;
}

/** Handles a muc#admin get or set; returns the result payload (if any). */
export function handleAdminIq(room: MucRoom, iq: Element, query: Element, from: Jid): Element | undefined {
  const items = parseMucAdmin(query);
  const actor = actorOf(room, from);
  if (iq.attrs.type === 'get') {
    const [item] = items;
    return item ? buildMucAdmin(listItems(room, actor, item)) : undefined;
  }
  // Items are applied in order; the first refusal stops the batch (Prosody handles only one).
  for (const item of items) applyItem(room, actor, item);
  return undefined;
}

function applyItem(room: MucRoom, actor: Actor, item: MucItem): void {
  if (item.affiliation !== undefined && item.role === undefined) {
    let target = item.jid;
    if (target === undefined && item.nick !== undefined) target = room.occupantByNick(item.nick)?.realJid.bare; // COMPAT: by nick
    if (target === undefined) throw StanzaError.badRequest("affiliation change needs 'jid'");
    return setAffiliation(room, actor, parseJid(target).bare, item.affiliation, item.reason);
  }
  if (item.role !== undefined && item.affiliation === undefined) {
    let target = item.nick !== undefined ? room.occupantByNick(item.nick) : undefined;
    if (!target && item.nick === undefined && item.jid !== undefined) target = room.occupantByRealJid(parseJid(item.jid).full);
    if (!target) throw new StanzaError('cancel', 'item-not-found', 'no such occupant');
    return setRole(room, actor, target, item.role, item.reason);
  }
  throw StanzaError.badRequest('an item changes either a role or an affiliation');
}

/** §8.2 kick, §8.3–8.4 voice, §9.6–9.7 moderator. */
function setRole(room: MucRoom, actor: Actor, target: Occupant, role: MucRole, reason: string | undefined): void {
  if (!actor.serviceAdmin) {
    if (actor.occupant?.role !== 'moderator') throw new StanzaError('auth', 'forbidden', 'only moderators may change roles');
    // Owners and admins keep their role until their affiliation changes (Prosody).
    if (target.affiliation === 'owner' || target.affiliation === 'admin') {
      throw new StanzaError('cancel', 'not-allowed', 'cannot change the role of an owner or admin');
    }
    const adminActor = actor.affiliation === 'owner' || actor.affiliation === 'admin';
    if ((role === 'moderator' || target.role === 'moderator') && !adminActor) {
      throw new StanzaError('cancel', 'not-allowed', 'only owners and admins may grant or revoke moderation');
    }
  }
  if (role === 'none') {
    room.evict(target, [MucStatus.kicked], extrasOf(actor, reason));
    // In a members-only room (Jitsi's lobby) a kicked member loses the membership that let it in:
    // it knocks again instead of rejoining at once, without the lobby or the room password.
    if (room.config.membersOnly && target.affiliation === 'member') room.recordAffiliation(target.realJid.bare, 'none');
    room.log.info({ nick: target.nick, by: actor.jid.full }, 'occupant kicked');
    return;
  }
  if (role === target.role) return;
  target.setRole(role);
  room.broadcastChange(target, extrasOf(actor, reason));
}

/** §9.1 ban, §9.3–9.5 members, §10.3–10.7 owners and admins. */
function setAffiliation(room: MucRoom, actor: Actor, target: string, affiliation: MucAffiliation, reason: string | undefined): void {
  if (room.ctx.isServiceAdmin(target)) {
    if (affiliation === 'owner') return;
    throw new StanzaError('modify', 'not-acceptable', 'service admins own every room');
  }
  const current = room.affiliationOf(target);
  if (!actor.serviceAdmin) {
    if (actor.affiliation === 'owner') {
      const lastOwner = target === actor.jid.bare && affiliation !== 'owner'
        && ![...room.affiliations].some(([jid, a]) => a === 'owner' && jid !== target);
      if (lastOwner) throw new StanzaError('cancel', 'conflict', 'a room needs an owner');
    } else if (actor.affiliation === 'admin') {
      if (affiliation === 'owner' || affiliation === 'admin' || current === 'owner' || current === 'admin') {
        throw new StanzaError('cancel', 'not-allowed', 'admins manage members and outcasts only');
      }
    } else {
      throw new StanzaError('auth', 'forbidden', 'only owners and admins may change affiliations');
    }
  }
  if (current === affiliation) return;
  room.recordAffiliation(target, affiliation);
  const downgrade = AFFILIATION_RANK[affiliation] < AFFILIATION_RANK[current];
  const extras = extrasOf(actor, reason);
  for (const occupant of room.occupantsOf(target)) {
    occupant.setAffiliation(affiliation);
    const role = room.defaultRole(affiliation);
    if (role === 'none') {
      room.evict(occupant, [affiliation === 'outcast' ? MucStatus.banned : MucStatus.affiliationChanged], extras);
      continue;
    }
    if (downgrade || ROLE_RANK[role] > ROLE_RANK[occupant.role]) occupant.setRole(role);
    room.broadcastChange(occupant, extras);
  }
  room.log.info({ jid: target, affiliation, by: actor.jid.full }, 'affiliation changed');
}

/** §9.5, §9.8, §10.5, §10.8: owners list any affiliation, admins members and outcasts; moderators list roles. */
function listItems(room: MucRoom, actor: Actor, query: MucItem): MucItem[] {
  if (query.affiliation !== undefined && query.role === undefined) {
    const wanted = query.affiliation;
    const allowed = actor.affiliation === 'owner' || (actor.affiliation === 'admin' && wanted !== 'owner' && wanted !== 'admin');
    if (!allowed) throw new StanzaError('auth', 'forbidden', 'not allowed to list affiliations');
    return [...room.affiliations].filter(([, a]) => a === wanted).map(([jid]) => ({ affiliation: wanted, jid }));
  }
  if (query.role !== undefined && query.affiliation === undefined) {
    if (actor.occupant?.role !== 'moderator' && !actor.serviceAdmin) throw new StanzaError('auth', 'forbidden', 'only moderators may list roles');
    return [...room.occupants.values()].filter((o) => o.role === query.role).map((o) => ({ ...o.item(true), nick: o.nick }));
  }
  throw StanzaError.badRequest('list by either affiliation or role');
}
