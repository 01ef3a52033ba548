/**
 * The stanzas of Jitsi's moderation features, as lib-jitsi-meet sends and reads them (protocol
 * notes §2.6, §4.5, §4.8, §4.9; lib-jitsi-meet modules/xmpp/Lobby.js, AVModeration.js, ChatRoom.js,
 * xmpp.js of the pinned bundle):
 * - the components a deployment offers, from the disco#info identities of the main domain;
 * - what the room's disco#info says (members-only, its lobby room);
 * - a join refused by a members-only room, with the lobby room it names;
 * - the lobby: the owner form that turns it on or off, membership grants, the invitation that
 *   admits a knocker, the kick that refuses one;
 * - ending the meeting for everyone (`<end_conference/>` to the end-conference component);
 * - A/V moderation: commands to its component (attributes on `<av_moderation/>`, as the pinned
 *   lib-jitsi-meet and Prosody's mod_av_moderation_component have them) and its JSON answers.
 * Pure.
 */
import { Element } from 'ltx';
import { buildDataForm, fieldValue } from '../../../xmpp/protocol/dataform.ts';
import { parseDiscoInfo } from '../../../xmpp/protocol/disco.ts';
import {
  FORM_MUC_ROOMCONFIG, FORM_MUC_ROOMINFO, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_USER, parseMucUser, type MucUser,
} from '../../../xmpp/protocol/muc-user.ts';

export const NS_JITMEET = 'http://jitsi.org/jitmeet';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** Components announced by the main domain (identity type → its address). Absent: not offered. */
export interface DomainComponents {
  readonly avModeration: string | undefined;
  readonly endConference: string | undefined;
  readonly lobby: string | undefined;
}

/** Reads the `<identity type=… name=address/>` entries lib-jitsi-meet looks for (xmpp.js `_processDiscoInfoIdentities`). */
export function parseDomainComponents(result: Element): DomainComponents {
  const info = parseDiscoInfo(result);
  const address = (type: string): string | undefined => info.identities.find((i) => i.type === type && i.name)?.name;
  return { avModeration: address('av_moderation'), endConference: address('end_conference'), lobby: address('lobbyrooms') };
}

export interface RoomInfo {
  readonly membersOnly: boolean;
  readonly passwordProtected: boolean;
  /** `muc#roominfo_lobbyroom`: where knockers wait. */
  readonly lobbyRoom: string | undefined;
}

/** The room's disco#info as ChatRoom.discoRoomInfo reads it. */
export function parseRoomInfo(result: Element): RoomInfo {
  const info = parseDiscoInfo(result);
  const form = info.forms?.find((f) => fieldValue(f, 'FORM_TYPE') === FORM_MUC_ROOMINFO);
  return {
    membersOnly: info.features.includes('muc_membersonly'),
    passwordProtected: info.features.includes('muc_passwordprotected'),
    lobbyRoom: (form && fieldValue(form, 'muc#roominfo_lobbyroom')) || undefined,
  };
}

/** Why the room refused our join presence, and for a members-only room the lobby it names. */
export interface JoinRefusal {
  readonly condition: string;
  readonly lobbyRoom: string | undefined;
}

/** Reads a `<presence type="error">` from the room (ChatRoom.onPresenceError). */
export function parseJoinRefusal(presence: Element): JoinRefusal {
  const error = presence.getChild('error');
  const condition = error?.getChildElements().find((c) => c.getNS() === NS_STANZAS && c.name !== 'text')?.name ?? 'undefined-condition';
  // The lobby room rides next to the error (Prosody's mod_muc_lobby_rooms), inside it on some servers.
  const lobby = presence.getChild('lobbyroom', NS_JITMEET) ?? error?.getChild('lobbyroom', NS_JITMEET);
  const lobbyRoom = lobby?.getText().trim() || undefined;
  return { condition, lobbyRoom };
}

/** The muc#user payload of a presence or message, or undefined when there is none or it is malformed. */
export function readMucUser(stanza: Element): MucUser | undefined {
  const x = stanza.getChild('x', NS_MUC_USER);
  if (!x) return undefined;
  try {
    return parseMucUser(x);
  } catch {
    return undefined;
  }
}

/** An invitation relayed by the room (XEP-0045 §7.8.2): for a knocker, the moderator's admission. */
export function isInvitation(message: Element): boolean {
  return (readMucUser(message)?.invites.length ?? 0) > 0;
}

/**
 * The owner form turning the lobby on or off (ChatRoom.setMembersOnly): members-only, with the
 * password-protection flag kept when the room is locked.
 */
export function buildMembersOnlyRequest(roomJid: string, enabled: boolean, locked: boolean): Element {
  const fields = [
    { var: 'FORM_TYPE', type: 'hidden' as const, values: [FORM_MUC_ROOMCONFIG] },
    { var: 'muc#roomconfig_membersonly', values: [enabled ? 'true' : 'false'] },
  ];
  if (locked) fields.push({ var: 'muc#roomconfig_passwordprotectedroom', values: ['1'] });
  const query = new Element('query', { xmlns: NS_MUC_OWNER }).cnode(buildDataForm({ type: 'submit', fields })).root();
  return new Element('iq', { type: 'set', to: roomJid }).cnode(query).root();
}

/** Makes an occupant a member before the lobby goes on, so a rejoin is not sent to the lobby (ChatRoom.setMembersOnly). */
export function buildMembershipGrant(roomJid: string, bareJid: string): Element {
  const query = new Element('query', { xmlns: NS_MUC_ADMIN });
  query.c('item', { affiliation: 'member', jid: bareJid });
  return new Element('iq', { type: 'set', to: roomJid }).cnode(query).root();
}

/** Admits a knocker: a mediated invitation of its real JID to the main room (Lobby.approveAccess). */
export function buildLobbyAdmission(roomJid: string, knockerJid: string): Element {
  const message = new Element('message', { to: roomJid });
  message.c('x', { xmlns: NS_MUC_USER }).c('invite', { to: knockerJid });
  return message;
}

/** Refuses a knocker: kicks it out of the lobby room (Lobby.denyAccess). */
export function buildLobbyRefusal(lobbyRoomJid: string, nick: string): Element {
  const query = new Element('query', { xmlns: NS_MUC_ADMIN });
  query.c('item', { nick, role: 'none' });
  return new Element('iq', { type: 'set', to: lobbyRoomJid }).cnode(query).root();
}

/** Ends the meeting for everyone (jitsi-meet's end-conference component; the room is destroyed). */
export function buildEndConference(component: string): Element {
  return new Element('message', { to: component }).c('end_conference').root();
}

export type ModeratedMedia = 'audio' | 'video';

/** Turns A/V moderation of one media on or off (AVModeration.enable). */
export function buildAvModerationSwitch(component: string, enabled: boolean, mediaType: ModeratedMedia): Element {
  return new Element('message', { to: component }).c('av_moderation', { enable: String(enabled), mediaType }).root();
}

/** Lets a participant (its occupant JID) unmute while moderation is on (AVModeration.approve). */
export function buildAvModerationApproval(component: string, occupantJid: string, mediaType: ModeratedMedia): Element {
  return new Element('message', { to: component }).c('av_moderation', { mediaType, jidToWhitelist: occupantJid }).root();
}

/** What the A/V moderation component tells a client (AVModeration._onMessage). */
export type AvModerationEvent =
  | { readonly kind: 'enabled'; readonly mediaType: ModeratedMedia; readonly enabled: boolean; readonly actor: string | undefined }
  /** To moderators: who may unmute now. */
  | { readonly kind: 'whitelist'; readonly mediaType: ModeratedMedia; readonly jids: readonly string[] }
  /** To the participant: a moderator let us unmute, or took it back. */
  | { readonly kind: 'approved' | 'rejected'; readonly mediaType: ModeratedMedia };

const isMedia = (value: unknown): value is ModeratedMedia => value === 'audio' || value === 'video';

/**
 * `<message from=component><json-message xmlns=jitmeet>{"type":"av_moderation",…}</json-message>`;
 * undefined for anything else or malformed JSON (never a crash).
 */
export function parseAvModerationMessage(message: Element): AvModerationEvent | undefined {
  const text = message.getChildText('json-message', NS_JITMEET);
  if (!text) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const body = json as Record<string, unknown>;
  const mediaType = body.mediaType;
  if (body.type !== 'av_moderation' || !isMedia(mediaType)) return undefined;
  if (typeof body.whitelists === 'object' && body.whitelists !== null) {
    const list = (body.whitelists as Record<string, unknown>)[mediaType];
    return { kind: 'whitelist', mediaType, jids: Array.isArray(list) ? list.filter((j): j is string => typeof j === 'string') : [] };
  }
  if (typeof body.enabled === 'boolean') {
    return { kind: 'enabled', mediaType, enabled: body.enabled, actor: typeof body.actor === 'string' ? body.actor : undefined };
  }
  if (body.removed === true) return { kind: 'rejected', mediaType };
  if (body.approved === true) return { kind: 'approved', mediaType };
  return undefined;
}
