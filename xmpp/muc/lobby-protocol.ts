/**
 * The wire elements of Jitsi's lobby (jitsi/jitsi-meet resources/prosody-plugins/mod_muc_lobby_rooms.lua,
 * read by lib-jitsi-meet modules/xmpp/ChatRoom and Lobby): the `<lobbyroom>` naming a members-only
 * room's lobby in the join refusal, the `<displayname-required>` refusal, the room-info field, and
 * the `lobby-notify` JSON messages telling a conference that the lobby was switched or someone let
 * in or turned away. Pure and browser-safe.
 *
 * Deviation kept from Jitsi: the refusal carries `<lobbyroom>` twice, inside `<error>` (namespaced,
 * the current form) and as a child of the presence without namespace, which is where lib-jitsi-meet
 * of 2021–2022 (and Jitsi's mobile apps and Jigasi of that time) look for it.
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';

export const NS_JITMEET = 'http://jitsi.org/jitmeet';
export const NS_NICK = 'http://jabber.org/protocol/nick';
/** The main domain's disco identity type that tells clients the lobby exists (its name is the lobby domain). */
export const LOBBY_IDENTITY_TYPE = 'lobbyrooms';
export const FIELD_LOBBY_ROOM = 'muc#roominfo_lobbyroom';
export const FEATURE_DISPLAY_NAME_REQUIRED = 'http://jitsi.org/protocol/lobbyrooms#displayname_required';
/** The `type` of the JSON messages below. */
export const LOBBY_NOTIFY_TYPE = 'lobby-notify';

/** `<lobbyroom>`: in the jitmeet namespace inside `<error>`, without namespace beside it. */
export function buildLobbyRoom(lobbyRoomJid: string, namespaced: boolean): Element {
  return new Element('lobbyroom', namespaced ? { xmlns: NS_JITMEET } : {}).t(lobbyRoomJid);
}

/** The lobby room named by a join refusal, wherever Jitsi puts it; undefined when absent. */
export function parseLobbyRoom(presence: Element): string | undefined {
  const inError = presence.getChild('error')?.getChild('lobbyroom', NS_JITMEET)?.getText();
  const beside = presence.getChildElements().find((c) => c.name === 'lobbyroom')?.getText();
  return inError || beside || undefined;
}

/** `<displayname-required xmlns="http://jitsi.org/jitmeet" lobby="true"/>`, inside a modify/not-acceptable error. */
export function buildDisplayNameRequired(): Element {
  return new Element('displayname-required', { xmlns: NS_JITMEET, lobby: 'true' });
}

/** The JSON a `lobby-notify` message carries; `value` of an access event is the knocker's lobby occupant JID. */
export type LobbyNotify =
  | { event: 'LOBBY-ENABLED'; value: boolean }
  | { event: 'LOBBY-ACCESS-GRANTED' | 'LOBBY-ACCESS-DENIED'; value: string; name?: string };

/** `<json-message xmlns="http://jitsi.org/jitmeet">{"type":"lobby-notify",…}</json-message>`. */
export function buildLobbyNotify(notify: LobbyNotify): Element {
  return new Element('json-message', { xmlns: NS_JITMEET }).t(JSON.stringify({ ...notify, type: LOBBY_NOTIFY_TYPE }));
}

/** Reads a `lobby-notify` json-message; throws bad-request when it is not one. */
export function parseLobbyNotify(el: Element): LobbyNotify {
  if (el.name !== 'json-message' || el.attrs.xmlns !== NS_JITMEET) throw StanzaError.badRequest('not a jitmeet json-message');
  let json: unknown;
  try {
    json = JSON.parse(el.getText());
  } catch {
    throw StanzaError.badRequest('json-message is not JSON');
  }
  const o = json as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || o.type !== LOBBY_NOTIFY_TYPE) throw StanzaError.badRequest('not a lobby-notify message');
  if (o.event === 'LOBBY-ENABLED' && typeof o.value === 'boolean') return { event: o.event, value: o.value };
  if ((o.event === 'LOBBY-ACCESS-GRANTED' || o.event === 'LOBBY-ACCESS-DENIED') && typeof o.value === 'string') {
    return { event: o.event, value: o.value, ...(typeof o.name === 'string' ? { name: o.name } : {}) };
  }
  throw StanzaError.badRequest(`bad lobby-notify event ${String(o.event)}`);
}
