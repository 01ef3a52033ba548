/**
 * The stanzas Salon's client sends about a room besides its presence and Jingle: our disco#info
 * answer to the focus (§3.3), chat messages (§4.8), a moderator's remote mute (§4.5), XEP-0045
 * role/affiliation changes and the room password form, the shared-document request, the decline
 * of a peer-to-peer offer, and the session restart request. Built from the shared protocol modules. Pure.
 */
import { Element } from 'ltx';
import { buildDataForm } from '../../../xmpp/protocol/dataform.ts';
import { buildDiscoInfo } from '../../../xmpp/protocol/disco.ts';
import { buildJingle, type Jingle } from '../../../xmpp/protocol/jingle.ts';
import { FORM_MUC_ROOMCONFIG, NS_MUC_ADMIN, NS_MUC_OWNER } from '../../../xmpp/protocol/muc-user.ts';
import { buildDocumentRequest } from '../../../xmpp/protocol/salon-document.ts';
import { NS_NICK } from './occupant-presence.ts';

/** Remote mute namespaces (§4.5): the focus relays a moderator's request to the target. */
export const MUTE_NAMESPACES = { audio: 'http://jitsi.org/jitmeet/audio', video: 'http://jitsi.org/jitmeet/video' } as const;

/**
 * What we tell the focus we support: Jingle RTP audio and video over ICE-UDP with DTLS, rtcp-mux
 * (RFC 5761), BUNDLE (RFC 5888), RTX (RFC 4588), transport-cc and named sources. Neither SCTP (the bridge channel is
 * the colibri-ws WebSocket) nor JSON-encoded sources (XML ones carry the owners we need).
 */
export function buildClientDiscoInfo(): Element {
  return buildDiscoInfo({
    identities: [{ category: 'client', type: 'web', name: 'Salon' }],
    features: [
      'http://jabber.org/protocol/disco#info',
      'urn:xmpp:jingle:1',
      'urn:xmpp:jingle:apps:rtp:1',
      'urn:xmpp:jingle:apps:rtp:audio',
      'urn:xmpp:jingle:apps:rtp:video',
      'urn:xmpp:jingle:transports:ice-udp:1',
      'urn:xmpp:jingle:apps:dtls:0',
      'urn:ietf:rfc:5761',
      'urn:ietf:rfc:5888',
      'urn:ietf:rfc:4588',
      'http://jitsi.org/tcc',
      // Its sources are named (<endpoint>-a0, -v0, …).
      'http://jitsi.org/source-name',
    ],
  });
}

/** A public message to the room, or a private one to an occupant (`to` = its nick), with our nick as jitsi-meet adds it. */
export function buildChatMessage(roomJid: string, id: string, text: string, displayName: string, to?: string): Element {
  const message = to
    ? new Element('message', { to: `${roomJid}/${to}`, type: 'chat', id })
    : new Element('message', { to: roomJid, type: 'groupchat', id });
  message.c('body').t(text);
  message.c('nick', { xmlns: NS_NICK }).t(displayName);
  return message;
}

/** A moderator asks the focus to mute an occupant's microphone. */
export function buildRemoteMuteRequest(roomJid: string, nick: string): Element {
  const mute = new Element('mute', { xmlns: MUTE_NAMESPACES.audio, jid: `${roomJid}/${nick}` }).t('true');
  return new Element('iq', { type: 'set', to: `${roomJid}/focus` }).cnode(mute).root();
}

/** XEP-0045 §8.2 (kick: `{nick, role: 'none'}`) and §10.3 (ownership: `{jid, affiliation: 'owner'}`). */
export function buildMucAdminRequest(roomJid: string, item: { nick: string; role: 'none' } | { jid: string; affiliation: 'owner' }): Element {
  const query = new Element('query', { xmlns: NS_MUC_ADMIN });
  query.c('item', { ...item });
  return new Element('iq', { type: 'set', to: roomJid }).cnode(query).root();
}

/** XEP-0045 §10.2: the room configuration form with the password set (empty: the room is open again). */
export function buildRoomPasswordRequest(roomJid: string, password: string): Element {
  const form = buildDataForm({
    type: 'submit',
    fields: [
      { var: 'FORM_TYPE', type: 'hidden', values: [FORM_MUC_ROOMCONFIG] },
      { var: 'muc#roomconfig_roomsecret', values: [password] },
      { var: 'muc#roomconfig_passwordprotectedroom', values: [password ? '1' : '0'] },
    ],
  });
  const query = new Element('query', { xmlns: NS_MUC_OWNER }).cnode(form).root();
  return new Element('iq', { type: 'set', to: roomJid }).cnode(query).root();
}

/** Asks the focus for the room's shared document. */
export function buildDocumentIq(focusDomain: string, roomJid: string): Element {
  return new Element('iq', { type: 'get', to: focusDomain }).cnode(buildDocumentRequest({ room: roomJid })).root();
}

/** Declines a peer-to-peer offer from another occupant: Salon's client talks through the bridge only. */
export function buildP2pDecline(to: string, sid: string): Element {
  const terminate = buildJingle({ action: 'session-terminate', sid, contents: [], groups: [], extensions: [], reason: { condition: 'decline', extensions: [] } });
  return new Element('iq', { type: 'set', to }).cnode(terminate).root();
}

/**
 * Asks the focus to restart our session (§5.6): session-terminate with `<bridge-session
 * restart="true"/>` naming the bridge session of the offer (`bridgeSessionId`, when it named one),
 * as lib-jitsi-meet does: Jicofo refuses a terminate whose id is not the participant's current
 * session (item-not-found), and so does Salon's focus for an id it has replaced.
 */
export function sessionRestartRequest(sid: string, bridgeSessionId: string | undefined): Jingle {
  return {
    action: 'session-terminate', sid, contents: [], groups: [], extensions: [],
    bridgeSession: { ...(bridgeSessionId !== undefined ? { id: bridgeSessionId } : {}), restart: true },
    reason: { condition: 'connectivity-error', extensions: [] },
  };
}
