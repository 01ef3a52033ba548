/**
 * Jitsi's audio/video moderation messages: the commands a moderator sends the A/V moderation
 * component, and the `json-message` notices the component sends occupants (and the focus).
 *
 * Wire format as lib-jitsi-meet (modules/xmpp/AVModeration.ts, unchanged from 2021 to 2026) and
 * jitsi-meet's resources/prosody-plugins/mod_av_moderation_component.lua speak it:
 * - commands are attributes of an `<av_moderation/>` child in the stanza's own namespace
 *   (Strophe's `$msg().c('av_moderation', {...})` adds no xmlns), never JSON:
 *   `<message to="avmoderation.meet.jitsi"><av_moderation enable="true" mediaType="audio"/></message>`,
 *   `<av_moderation mediaType="audio" jidToWhitelist="room@muc/nick"/>` (approve),
 *   `<av_moderation mediaType="audio" jidToBlacklist="room@muc/nick"/>` (reject);
 *   a JSON text body with the same keys is accepted too;
 * - notices are `<message from="avmoderation.meet.jitsi"><json-message xmlns="http://jitsi.org/jitmeet">{…}</json-message></message>`
 *   with `type: "av_moderation"` and `room` (the room's bare JID, which Jicofo's
 *   AvModerationHandler reads), then one of: `enabled`+`mediaType`+`actor` (the actor's occupant
 *   JID), `whitelists`+`mediaType` (+`removed`) for moderators, `approved`+`mediaType` or
 *   `removed`+`mediaType` for the participant concerned.
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';

export const NS_JITMEET = 'http://jitsi.org/jitmeet';

/** Media types moderated separately (`desktop` since 2024 in lib-jitsi-meet). */
export type ModeratedMedia = 'audio' | 'video' | 'desktop';
export const MODERATED_MEDIA: readonly ModeratedMedia[] = ['audio', 'video', 'desktop'];

export type AvModerationCommand =
  | { action: 'enable'; mediaType: ModeratedMedia; enable: boolean }
  | { action: 'approve'; mediaType: ModeratedMedia; occupantJid: string }
  | { action: 'reject'; mediaType: ModeratedMedia; occupantJid: string };

export type Whitelists = Partial<Record<ModeratedMedia, string[]>>;

/** What the component tells an occupant; `room` is the room's bare JID. */
export type AvModerationNotice =
  | { kind: 'enabled'; room: string; mediaType: ModeratedMedia; enabled: boolean; actor: string }
  /** To moderators: the whole whitelists; `removed` when `mediaType`'s list lost someone. */
  | { kind: 'whitelists'; room: string; mediaType?: ModeratedMedia; whitelists: Whitelists; removed?: boolean }
  /** To the participant approved (or rejected: `removed`) for `mediaType`. */
  | { kind: 'approved'; room: string; mediaType: ModeratedMedia }
  | { kind: 'rejected'; room: string; mediaType: ModeratedMedia };

function readMedia(value: unknown): ModeratedMedia {
  if (value === undefined || value === null || value === '') throw StanzaError.badRequest('mediaType is required');
  if (!MODERATED_MEDIA.includes(value as ModeratedMedia)) throw StanzaError.badRequest(`mediaType must be audio, video or desktop, not '${String(value)}'`);
  return value as ModeratedMedia;
}

/** The command's fields: the attributes LJM sends, else a JSON object in the text. */
function commandFields(el: Element): Record<string, unknown> {
  const { enable, mediaType, jidToWhitelist, jidToBlacklist } = el.attrs as Record<string, string | undefined>;
  if (enable !== undefined || mediaType !== undefined || jidToWhitelist !== undefined || jidToBlacklist !== undefined) {
    return { enable, mediaType, jidToWhitelist, jidToBlacklist };
  }
  const text = el.getText().trim();
  if (!text) throw StanzaError.badRequest('empty av_moderation command');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw StanzaError.badRequest('av_moderation command is neither attributes nor JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw StanzaError.badRequest('av_moderation JSON must be an object');
  return json as Record<string, unknown>;
}

/** Parses the `<av_moderation/>` child of a message to the component. */
export function parseAvModerationCommand(el: Element): AvModerationCommand {
  if (el.name !== 'av_moderation') throw StanzaError.badRequest('not an av_moderation command');
  const fields = commandFields(el);
  const mediaType = readMedia(fields.mediaType);
  if (fields.enable !== undefined && fields.enable !== null) {
    const enable = String(fields.enable);
    if (enable !== 'true' && enable !== 'false') throw StanzaError.badRequest('enable must be true or false');
    return { action: 'enable', mediaType, enable: enable === 'true' };
  }
  if (typeof fields.jidToWhitelist === 'string' && fields.jidToWhitelist) return { action: 'approve', mediaType, occupantJid: fields.jidToWhitelist };
  if (typeof fields.jidToBlacklist === 'string' && fields.jidToBlacklist) return { action: 'reject', mediaType, occupantJid: fields.jidToBlacklist };
  throw StanzaError.badRequest('av_moderation needs enable, jidToWhitelist or jidToBlacklist');
}

/** The command element as lib-jitsi-meet builds it (for clients and tests). */
export function buildAvModerationCommand(command: AvModerationCommand): Element {
  switch (command.action) {
    case 'enable': return new Element('av_moderation', { enable: String(command.enable), mediaType: command.mediaType });
    case 'approve': return new Element('av_moderation', { mediaType: command.mediaType, jidToWhitelist: command.occupantJid });
    case 'reject': return new Element('av_moderation', { mediaType: command.mediaType, jidToBlacklist: command.occupantJid });
  }
}

/** The JSON object of a notice, keys as mod_av_moderation_component.lua writes them. */
export function avModerationJson(notice: AvModerationNotice): Record<string, unknown> {
  const base = { type: 'av_moderation', room: notice.room };
  switch (notice.kind) {
    case 'enabled': return { ...base, enabled: notice.enabled, mediaType: notice.mediaType, actor: notice.actor };
    case 'whitelists': return { ...base, whitelists: notice.whitelists, ...(notice.removed ? { removed: true } : {}), ...(notice.mediaType ? { mediaType: notice.mediaType } : {}) };
    case 'approved': return { ...base, approved: true, mediaType: notice.mediaType };
    case 'rejected': return { ...base, removed: true, mediaType: notice.mediaType };
  }
}

/** `<message from=component to=occupant><json-message xmlns=jitmeet>{…}</json-message></message>`. */
export function buildAvModerationMessage(from: string, to: string, notice: AvModerationNotice): Element {
  const message = new Element('message', { from, to });
  message.c('json-message', { xmlns: NS_JITMEET }).t(JSON.stringify(avModerationJson(notice)));
  return message;
}

function readWhitelists(value: unknown): Whitelists {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw StanzaError.badRequest('whitelists must be an object');
  const lists: Whitelists = {};
  for (const [media, list] of Object.entries(value)) {
    if (!MODERATED_MEDIA.includes(media as ModeratedMedia)) continue; // a newer media type: not ours to enforce
    if (!Array.isArray(list) || list.some((j) => typeof j !== 'string')) throw StanzaError.badRequest(`whitelist ${media} must be a list of JIDs`);
    lists[media as ModeratedMedia] = list as string[];
  }
  return lists;
}

/**
 * Reads a notice from a message's `<json-message>` (the focus, as Jicofo's AvModerationHandler,
 * and tests); undefined when the message carries no av_moderation JSON.
 * @throws StanzaError bad-request when the JSON says av_moderation but is malformed.
 */
export function parseAvModerationMessage(message: Element): AvModerationNotice | undefined {
  const text = message.getChild('json-message', NS_JITMEET)?.getText();
  if (!text) return undefined;
  let json: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    json = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (json.type !== 'av_moderation') return undefined;
  if (typeof json.room !== 'string') throw StanzaError.badRequest('av_moderation notice without room');
  const room = json.room;
  if (json.whitelists !== undefined) {
    const mediaType = json.mediaType === undefined ? undefined : readMedia(json.mediaType);
    return { kind: 'whitelists', room, whitelists: readWhitelists(json.whitelists), ...(mediaType ? { mediaType } : {}), ...(json.removed === true ? { removed: true } : {}) };
  }
  const mediaType = readMedia(json.mediaType);
  if (typeof json.enabled === 'boolean') return { kind: 'enabled', room, mediaType, enabled: json.enabled, actor: typeof json.actor === 'string' ? json.actor : '' };
  if (json.removed === true) return { kind: 'rejected', room, mediaType };
  if (json.approved === true) return { kind: 'approved', room, mediaType };
  throw StanzaError.badRequest('av_moderation notice of unknown kind');
}
