/**
 * Stanza helpers shared by every part: kinds, error replies, required attributes.
 * Pure and browser-safe.
 */
import { Element } from 'ltx';
import { StanzaError } from './errors.ts';

export const NS_CLIENT = 'jabber:client';
export type StanzaKind = 'message' | 'presence' | 'iq';

export function isStanza(el: Element): boolean {
  return el.name === 'message' || el.name === 'presence' || el.name === 'iq';
}

/** The reply to an IQ get/set, from its target to its sender, same id. */
export function iqResult(request: Element, payload?: Element): Element {
  const reply = new Element('iq', { xmlns: NS_CLIENT, type: 'result', id: request.attrs.id ?? '' });
  if (request.attrs.to) reply.attrs.from = request.attrs.to;
  if (request.attrs.from) reply.attrs.to = request.attrs.from;
  if (payload) reply.cnode(payload);
  return reply;
}

/**
 * The error reply to a stanza (RFC 6120 §8.3.1): addresses swapped, same id, the `<error/>`
 * appended. Returns undefined for stanzas that must never be answered with an error
 * (errors and IQ results), which prevents error loops.
 */
export function errorReply(stanza: Element, error: StanzaError): Element | undefined {
  const type = stanza.attrs.type;
  if (type === 'error' || (stanza.name === 'iq' && type === 'result')) return undefined;
  const reply = new Element(stanza.name, { xmlns: NS_CLIENT, type: 'error' });
  if (stanza.attrs.id !== undefined) reply.attrs.id = stanza.attrs.id;
  if (stanza.attrs.to) reply.attrs.from = stanza.attrs.to;
  if (stanza.attrs.from) reply.attrs.to = stanza.attrs.from;
  // Echo the payload of an IQ (RFC 6120 §8.3.1 allows it) so clients can match the request.
  if (stanza.name === 'iq') for (const child of stanza.children) if (typeof child !== 'string') reply.cnode(child);
  reply.cnode(error.toElement());
  return reply;
}

/** The first child element of an IQ get/set: its payload, required (RFC 6120 §8.2.3). */
export function iqPayload(iq: Element): Element {
  const payload = iq.children.find((c): c is Element => typeof c !== 'string');
  if (!payload) throw StanzaError.badRequest('IQ without payload');
  return payload;
}

export function requireAttr(el: Element, name: string): string {
  const value = el.attrs[name];
  if (typeof value !== 'string' || value === '') throw StanzaError.badRequest(`<${el.name}/> lacks '${name}'`);
  return value;
}

export function childElements(el: Element): Element[] {
  return el.children.filter((c): c is Element => typeof c !== 'string');
}
