/**
 * muc#owner (XEP-0045 §10.1–§10.2 configuration, §10.9 destruction): the muc#roomconfig form
 * with Jitsi's read-only `muc#roominfo_meetingId` (mod_muc_meeting_id), its submission, and the
 * status 104 message after a change, on which Jitsi clients redo the room disco#info.
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import type { Jid } from '../jid.ts';
import { NS_CLIENT } from '../stanza.ts';
import {
  buildDataForm, field, fieldValue, formTypeOf, parseBooleanValue,
  type DataForm, type DataFormField,
} from '../protocol/dataform.ts';
import {
  AFFILIATION_RANK, buildMucUser, FORM_MUC_ROOMCONFIG, MucStatus, NS_MUC_OWNER, parseMucOwner, type MucWhois,
} from '../protocol/muc-user.ts';
import type { MucRoom, RoomConfig } from './room.ts';

const F = 'muc#roomconfig_';
export const FIELD_MEETING_ID = 'muc#roominfo_meetingId';

const BOOLEAN_FIELDS: ReadonlyArray<[string, keyof RoomConfig & ('persistent' | 'public' | 'membersOnly' | 'moderated' | 'passwordProtected' | 'changeSubject' | 'allowInvites'), string]> = [
  [`${F}persistentroom`, 'persistent', 'Persistent (kept when the last occupant leaves)'],
  [`${F}publicroom`, 'public', 'Public (listed in the room directory)'],
  [`${F}membersonly`, 'membersOnly', 'Members only'],
  [`${F}moderatedroom`, 'moderated', 'Moderated (only occupants with voice may speak)'],
  [`${F}passwordprotectedroom`, 'passwordProtected', 'Password protected'],
  [`${F}changesubject`, 'changeSubject', 'Allow participants to change the subject'],
  [`${F}allowinvites`, 'allowInvites', 'Allow participants to invite others'],
];

/** The form an owner fetches (§10.1.2). */
export function buildConfigForm(room: MucRoom): DataForm {
  const c = room.config;
  const fields: DataFormField[] = [
    field.hidden('FORM_TYPE', FORM_MUC_ROOMCONFIG),
    field.text(`${F}roomname`, c.name, 'Title'),
    field.text(`${F}roomdesc`, c.description, 'Description'),
    ...BOOLEAN_FIELDS.map(([name, key, label]) => field.boolean(name, c[key], label)),
    { var: `${F}roomsecret`, type: 'text-private', label: 'Password', values: [c.password] },
    {
      var: `${F}whois`, type: 'list-single', label: 'Who may discover real JIDs', values: [c.whois],
      options: [{ label: 'Moderators only', value: 'moderators' }, { label: 'Anyone', value: 'anyone' }],
    },
    field.text(`${F}maxusers`, String(c.maxUsers), 'Maximum number of occupants'),
    field.text(FIELD_MEETING_ID, room.meetingId, 'The meeting unique id.'),
  ];
  for (const extension of room.ctx.extensions) fields.push(...(extension.configFields?.(room) ?? []));
  return { type: 'form', title: `Configuration for ${room.jid}`, instructions: ['Complete and submit this form to configure the room.'], fields };
}

function booleanField(form: DataForm, name: string): boolean | undefined {
  const value = fieldValue(form, name);
  if (value === undefined) return undefined;
  const parsed = parseBooleanValue(value);
  if (parsed === undefined) throw StanzaError.badRequest(`${name} is not a boolean`);
  return parsed;
}

/**
 * Applies a submitted form to a copy of `config` (§10.2); unknown and read-only fields are
 * ignored. When only the secret is given, it also sets or clears password protection.
 */
export function applyConfigForm(config: Readonly<RoomConfig>, form: DataForm, maxUsersCap: number): RoomConfig {
  if (form.fields.length === 0) return { ...config }; // §10.1.2 instant room
  if (formTypeOf(form) !== FORM_MUC_ROOMCONFIG) throw StanzaError.badRequest('form is not of type room configuration');
  const next: RoomConfig = { ...config };
  const name = fieldValue(form, `${F}roomname`);
  if (name !== undefined) next.name = name;
  const description = fieldValue(form, `${F}roomdesc`);
  if (description !== undefined) next.description = description;
  for (const [fieldName, key] of BOOLEAN_FIELDS) {
    const value = booleanField(form, fieldName);
    if (value !== undefined) next[key] = value;
  }
  const secret = fieldValue(form, `${F}roomsecret`);
  if (secret !== undefined) {
    next.password = secret;
    if (fieldValue(form, `${F}passwordprotectedroom`) === undefined) next.passwordProtected = secret !== '';
  }
  const whois = fieldValue(form, `${F}whois`);
  if (whois !== undefined) {
    if (whois !== 'anyone' && whois !== 'moderators') throw StanzaError.badRequest(`bad ${F}whois '${whois}'`);
    next.whois = whois satisfies MucWhois;
  }
  const maxUsers = fieldValue(form, `${F}maxusers`);
  if (maxUsers !== undefined) {
    if (maxUsers === '' || maxUsers === 'none') next.maxUsers = maxUsersCap;
    else if (/^[1-9]\d*$/.test(maxUsers)) next.maxUsers = Math.min(Number(maxUsers), maxUsersCap);
    else throw StanzaError.badRequest(`bad ${F}maxusers '${maxUsers}'`);
  }
  return next;
}

function changed(a: Readonly<RoomConfig>, b: Readonly<RoomConfig>): boolean {
  return (Object.keys(a) as (keyof RoomConfig)[]).some((k) => a[k] !== b[k]);
}

/** Handles a muc#owner get or set from `from`; returns the result payload (if any). */
export function handleOwnerIq(room: MucRoom, iq: Element, query: Element, from: Jid): Element | undefined {
  if (!room.isOwner(from.bare)) throw new StanzaError('auth', 'forbidden', 'only owners may configure the room');
  if (iq.attrs.type === 'get') {
    const reply = new Element('query', { xmlns: NS_MUC_OWNER });
    reply.cnode(buildDataForm(buildConfigForm(room)));
    return reply;
  }
  const request = parseMucOwner(query);
  if (request.kind === 'destroy') {
    room.log.info({ by: from.full, reason: request.destroy.reason }, 'room destroyed by its owner');
    room.destroy(request.destroy);
    return undefined;
  }
  const form = request.form;
  if (!form) throw StanzaError.badRequest('muc#owner set needs a form or <destroy/>');
  if (form.type === 'cancel') return undefined;
  if (form.type !== 'submit') throw StanzaError.badRequest('not a submitted form');
  const next = applyConfigForm(room.config, form, room.ctx.limits.maxOccupantsPerRoom);
  // A room outlives its occupants only as the service keeps it (the lobby's rooms): an owner who
  // could make a conference's room persistent (a guest is owner when the focus needs no login)
  // would leave it empty for good, and could come back in it under the focus's nickname.
  if (next.persistent !== room.config.persistent && !room.ctx.isServiceAdmin(from.bare)) {
    throw new StanzaError('auth', 'forbidden', 'only the service makes a room persistent');
  }
  if (changed(room.config, next)) reconfigure(room, next, from);
  return undefined;
}

/** Installs a new configuration and tells the occupants (§10.2.1). */
export function reconfigure(room: MucRoom, next: RoomConfig, actor?: Jid): void {
  const previous = room.config;
  room.config = next;
  // Features react first: Jitsi's lobby makes the people already in the room members, so none is removed below.
  for (const extension of room.ctx.extensions) extension.configChanged?.(room, previous, actor);
  if (next.membersOnly && !previous.membersOnly) {
    // §9.x: non-members are removed with 322 when a room becomes members-only.
    for (const occupant of [...room.occupants.values()]) {
      if (AFFILIATION_RANK[occupant.affiliation] < AFFILIATION_RANK.member) room.evict(occupant, [MucStatus.membersOnly]);
    }
  }
  const statuses: number[] = [MucStatus.configChanged];
  if (next.whois !== previous.whois) statuses.push(next.whois === 'anyone' ? MucStatus.nowNonAnonymous : MucStatus.nowSemiAnonymous);
  const message = new Element('message', { xmlns: NS_CLIENT, type: 'groupchat', from: room.jid });
  message.cnode(buildMucUser({ statuses }));
  room.broadcastMessage(message);
  room.log.debug({ config: { ...next, password: next.password ? '(set)' : '' } }, 'room configured');
}
