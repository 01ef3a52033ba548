/**
 * Jitsi's conference request (namespace http://jitsi.org/protocol/focus): the IQ a client sends
 * the focus before joining a room, and its answer. Wire format per jitsi-xmpp-extensions'
 * ConferenceIq and our protocol reference §3.
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';

export const NS_FOCUS = 'http://jitsi.org/protocol/focus';

export interface ConferenceRequest {
  room: string;
  machineUid?: string;
  sessionId?: string;
  token?: string;
  properties: Record<string, string>;
}

export interface ConferenceAnswer {
  room: string;
  ready: boolean;
  focusJid: string;
  sessionId?: string;
  identity?: string;
  vnode?: string;
  properties: Record<string, string>;
}

function readProperties(el: Element): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const p of el.getChildren('property')) {
    const name = (p.attrs.name ?? p.attrs.key) as string | undefined;
    const value = p.attrs.value as string | undefined;
    if (name !== undefined && value !== undefined) properties[name] = value;
  }
  return properties;
}

export function parseConferenceRequest(el: Element): ConferenceRequest {
  if (el.name !== 'conference' || el.attrs.xmlns !== NS_FOCUS) throw StanzaError.badRequest('not a conference request');
  const room = el.attrs.room as string | undefined;
  if (!room) throw StanzaError.badRequest("No 'room' specified.");
  const { 'machine-uid': machineUid, 'session-id': sessionId, token } = el.attrs as Record<string, string | undefined>;
  return {
    room,
    ...(machineUid ? { machineUid } : {}),
    ...(sessionId ? { sessionId } : {}),
    ...(token ? { token } : {}),
    properties: readProperties(el),
  };
}

export function buildConferenceRequest(req: ConferenceRequest): Element {
  const attrs: Record<string, string> = { xmlns: NS_FOCUS, room: req.room };
  if (req.machineUid) attrs['machine-uid'] = req.machineUid;
  if (req.sessionId) attrs['session-id'] = req.sessionId;
  if (req.token) attrs.token = req.token;
  const el = new Element('conference', attrs);
  for (const [name, value] of Object.entries(req.properties)) el.c('property', { name, value });
  return el;
}

export function buildConferenceAnswer(answer: ConferenceAnswer): Element {
  const attrs: Record<string, string> = { xmlns: NS_FOCUS, room: answer.room, ready: String(answer.ready), focusjid: answer.focusJid };
  if (answer.sessionId) attrs['session-id'] = answer.sessionId;
  if (answer.identity) attrs.identity = answer.identity;
  if (answer.vnode) attrs.vnode = answer.vnode;
  const el = new Element('conference', attrs);
  for (const [name, value] of Object.entries(answer.properties)) el.c('property', { name, value });
  return el;
}

export function parseConferenceAnswer(el: Element): ConferenceAnswer {
  if (el.name !== 'conference' || el.attrs.xmlns !== NS_FOCUS) throw StanzaError.badRequest('not a conference answer');
  const { room, ready, focusjid, 'session-id': sessionId, identity, vnode } = el.attrs as Record<string, string | undefined>;
  if (!room || !focusjid) throw StanzaError.badRequest('conference answer lacks room or focusjid');
  return {
    room, ready: ready === 'true', focusJid: focusjid,
    ...(sessionId ? { sessionId } : {}), ...(identity ? { identity } : {}), ...(vnode ? { vnode } : {}),
    properties: readProperties(el),
  };
}
