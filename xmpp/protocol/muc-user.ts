/**
 * XEP-0045 Multi-User Chat (v1.35, https://xmpp.org/extensions/xep-0045.html): the payloads of
 * its four namespaces — the join element (`muc`), occupant information (`muc#user`), moderation
 * items (`muc#admin`) and owner queries (`muc#owner`) — with the role and affiliation enums.
 *
 * Jitsi deviations: none on the wire; Jitsi only relies on a subset (§4 of the protocol notes).
 * Pure and browser-safe.
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import { buildDataForm, NS_DATA_FORMS, parseDataForm, type DataForm } from './dataform.ts';

export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
export const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
export const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
export const NS_MUC_UNIQUE = 'http://jabber.org/protocol/muc#unique';
export const FORM_MUC_ROOMCONFIG = 'http://jabber.org/protocol/muc#roomconfig';
export const FORM_MUC_ROOMINFO = 'http://jabber.org/protocol/muc#roominfo';

/** §5.1 roles, in rank order. */
export type MucRole = 'none' | 'visitor' | 'participant' | 'moderator';
/** §5.2 affiliations, in rank order. */
export type MucAffiliation = 'outcast' | 'none' | 'member' | 'admin' | 'owner';
/** §15.6.2 whois values of muc#roomconfig_whois. */
export type MucWhois = 'anyone' | 'moderators';

export const ROLE_RANK: Readonly<Record<MucRole, number>> = { none: 0, visitor: 1, participant: 2, moderator: 3 };
export const AFFILIATION_RANK: Readonly<Record<MucAffiliation, number>> = { outcast: 0, none: 1, member: 2, admin: 3, owner: 4 };

export function isMucRole(value: unknown): value is MucRole {
  return typeof value === 'string' && Object.hasOwn(ROLE_RANK, value);
}

export function isMucAffiliation(value: unknown): value is MucAffiliation {
  return typeof value === 'string' && Object.hasOwn(AFFILIATION_RANK, value);
}

/** §15.6 status codes used by this server. */
export const MucStatus = {
  nonAnonymous: 100,
  configChanged: 104,
  self: 110,
  nowNonAnonymous: 172,
  nowSemiAnonymous: 173,
  created: 201,
  banned: 301,
  nickChanged: 303,
  kicked: 307,
  affiliationChanged: 321,
  membersOnly: 322,
  shutdown: 332,
} as const;

export interface MucActor {
  nick?: string;
  jid?: string;
}

/** `<item/>` of muc#user and muc#admin (§15.2.2, §15.3). */
export interface MucItem {
  affiliation?: MucAffiliation;
  role?: MucRole;
  jid?: string;
  nick?: string;
  actor?: MucActor;
  reason?: string;
}

export interface MucDestroy {
  jid?: string;
  reason?: string;
  password?: string;
}

/** Mediated invitation or decline (§7.8.2): `to` when sent to the room, `from` when relayed. */
export interface MucInvite {
  to?: string;
  from?: string;
  reason?: string;
}

/** `<x xmlns="…muc#user"/>`. */
export interface MucUser {
  items: MucItem[];
  statuses: number[];
  destroy?: MucDestroy;
  invites: MucInvite[];
  decline?: MucInvite;
  password?: string;
}

/** §7.2.15 history management of a join. `since` is in ms since the epoch. */
export interface MucHistoryRequest {
  maxchars?: number;
  maxstanzas?: number;
  seconds?: number;
  since?: number;
}

/** `<x xmlns="…muc"/>` of a join presence (§7.2). */
export interface MucJoin {
  password?: string;
  history?: MucHistoryRequest;
}

/** The payload of a muc#owner IQ (§10): a form (get: none yet), or a destruction. */
export type MucOwnerQuery =
  | { kind: 'form'; form?: DataForm }
  | { kind: 'destroy'; destroy: MucDestroy };

function optionalText(el: Element, name: string): string | undefined {
  return el.getChildText(name) ?? undefined;
}

export function parseMucItem(item: Element): MucItem {
  const { affiliation, role, jid, nick } = item.attrs as Record<string, unknown>;
  const out: MucItem = {};
  if (affiliation !== undefined) {
    if (!isMucAffiliation(affiliation)) throw StanzaError.badRequest(`bad affiliation '${String(affiliation)}'`);
    out.affiliation = affiliation;
  }
  if (role !== undefined) {
    if (!isMucRole(role)) throw StanzaError.badRequest(`bad role '${String(role)}'`);
    out.role = role;
  }
  if (typeof jid === 'string') out.jid = jid;
  if (typeof nick === 'string') out.nick = nick;
  const actor = item.getChild('actor');
  if (actor) {
    out.actor = {};
    if (typeof actor.attrs.nick === 'string') out.actor.nick = actor.attrs.nick;
    if (typeof actor.attrs.jid === 'string') out.actor.jid = actor.attrs.jid;
  }
  const reason = optionalText(item, 'reason');
  if (reason !== undefined) out.reason = reason;
  return out;
}

export function buildMucItem(item: MucItem): Element {
  const el = new Element('item', { affiliation: item.affiliation, role: item.role, jid: item.jid, nick: item.nick });
  if (item.actor) el.c('actor', { nick: item.actor.nick, jid: item.actor.jid });
  if (item.reason !== undefined) el.c('reason').t(item.reason);
  return el;
}

function parseInvite(el: Element): MucInvite {
  const out: MucInvite = {};
  if (typeof el.attrs.to === 'string') out.to = el.attrs.to;
  if (typeof el.attrs.from === 'string') out.from = el.attrs.from;
  const reason = optionalText(el, 'reason');
  if (reason !== undefined) out.reason = reason;
  return out;
}

function buildInvite(name: 'invite' | 'decline', invite: MucInvite): Element {
  const el = new Element(name, { to: invite.to, from: invite.from });
  if (invite.reason !== undefined) el.c('reason').t(invite.reason);
  return el;
}

function parseDestroy(el: Element): MucDestroy {
  const out: MucDestroy = {};
  if (typeof el.attrs.jid === 'string') out.jid = el.attrs.jid;
  const reason = optionalText(el, 'reason');
  if (reason !== undefined) out.reason = reason;
  const password = optionalText(el, 'password');
  if (password !== undefined) out.password = password;
  return out;
}

export function buildDestroy(destroy: MucDestroy): Element {
  const el = new Element('destroy', { jid: destroy.jid });
  if (destroy.reason !== undefined) el.c('reason').t(destroy.reason);
  if (destroy.password !== undefined) el.c('password').t(destroy.password);
  return el;
}

export function parseMucUser(x: Element): MucUser {
  if (x.name !== 'x' || x.attrs.xmlns !== NS_MUC_USER) throw StanzaError.badRequest('not a muc#user element');
  const out: MucUser = { items: [], statuses: [], invites: [] };
  for (const child of x.getChildElements()) {
    switch (child.name) {
      case 'item': out.items.push(parseMucItem(child)); break;
      case 'status': {
        const code = Number(child.attrs.code);
        if (!Number.isInteger(code) || code < 100 || code > 999) throw StanzaError.badRequest(`bad status code '${String(child.attrs.code)}'`);
        out.statuses.push(code);
        break;
      }
      case 'destroy': out.destroy = parseDestroy(child); break;
      case 'invite': out.invites.push(parseInvite(child)); break;
      case 'decline': out.decline = parseInvite(child); break;
      case 'password': out.password = child.getText(); break;
      default: break; // §15.6: unknown children are ignored
    }
  }
  return out;
}

/** Children in XEP order: items, statuses, destroy, invites, decline, password. */
export function buildMucUser(user: Partial<MucUser>): Element {
  const x = new Element('x', { xmlns: NS_MUC_USER });
  for (const item of user.items ?? []) x.cnode(buildMucItem(item));
  for (const code of user.statuses ?? []) x.c('status', { code: String(code) });
  if (user.destroy) x.cnode(buildDestroy(user.destroy));
  for (const invite of user.invites ?? []) x.cnode(buildInvite('invite', invite));
  if (user.decline) x.cnode(buildInvite('decline', user.decline));
  if (user.password !== undefined) x.c('password').t(user.password);
  return x;
}

function nonNegativeInt(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw StanzaError.badRequest(`bad history ${name}`);
  return n;
}

export function parseMucJoin(x: Element): MucJoin {
  if (x.name !== 'x' || x.attrs.xmlns !== NS_MUC) throw StanzaError.badRequest('not a muc join element');
  const out: MucJoin = {};
  const password = optionalText(x, 'password');
  if (password !== undefined) out.password = password;
  const history = x.getChild('history');
  if (history) {
    const h: MucHistoryRequest = {};
    const maxchars = nonNegativeInt(history.attrs.maxchars, 'maxchars');
    const maxstanzas = nonNegativeInt(history.attrs.maxstanzas, 'maxstanzas');
    const seconds = nonNegativeInt(history.attrs.seconds, 'seconds');
    if (maxchars !== undefined) h.maxchars = maxchars;
    if (maxstanzas !== undefined) h.maxstanzas = maxstanzas;
    if (seconds !== undefined) h.seconds = seconds;
    if (history.attrs.since !== undefined) {
      const since = Date.parse(String(history.attrs.since));
      if (Number.isNaN(since)) throw StanzaError.badRequest('bad history since');
      h.since = since;
    }
    out.history = h;
  }
  return out;
}

export function buildMucJoin(join: MucJoin): Element {
  const x = new Element('x', { xmlns: NS_MUC });
  if (join.history) {
    const { maxchars, maxstanzas, seconds, since } = join.history;
    x.c('history', {
      maxchars: maxchars?.toString(), maxstanzas: maxstanzas?.toString(), seconds: seconds?.toString(),
      since: since === undefined ? undefined : new Date(since).toISOString(),
    });
  }
  if (join.password !== undefined) x.c('password').t(join.password);
  return x;
}

/** The items of a muc#admin `<query/>` (§9, §10); at least one is required. */
export function parseMucAdmin(query: Element): MucItem[] {
  if (query.name !== 'query' || query.attrs.xmlns !== NS_MUC_ADMIN) throw StanzaError.badRequest('not a muc#admin query');
  const items = query.getChildren('item').map(parseMucItem);
  if (items.length === 0) throw StanzaError.badRequest('muc#admin query without <item/>');
  return items;
}

export function buildMucAdmin(items: readonly MucItem[]): Element {
  const query = new Element('query', { xmlns: NS_MUC_ADMIN });
  for (const item of items) query.cnode(buildMucItem(item));
  return query;
}

export function parseMucOwner(query: Element): MucOwnerQuery {
  if (query.name !== 'query' || query.attrs.xmlns !== NS_MUC_OWNER) throw StanzaError.badRequest('not a muc#owner query');
  const destroy = query.getChild('destroy');
  if (destroy) return { kind: 'destroy', destroy: parseDestroy(destroy) };
  const x = query.getChild('x', NS_DATA_FORMS);
  return x ? { kind: 'form', form: parseDataForm(x) } : { kind: 'form' };
}

export function buildMucOwner(query: MucOwnerQuery): Element {
  const el = new Element('query', { xmlns: NS_MUC_OWNER });
  if (query.kind === 'destroy') el.cnode(buildDestroy(query.destroy));
  else if (query.form) el.cnode(buildDataForm(query.form));
  return el;
}
