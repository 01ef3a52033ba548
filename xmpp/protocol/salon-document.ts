/**
 * The two ways into a conference's shared document: Salon's own request to the focus (namespace
 * `urn:salon:document`, an IQ get answered with a short-lived occupant-bound token), and Jitsi's
 * `<etherpad xmlns="http://jitsi.org/jitmeet/etherpad">` element in the focus's room presence,
 * whose text jitsi-meet resolves against `config.etherpad_base` (jitsi-protocol.md §9; read from
 * the focus occupant only, lib-jitsi-meet ChatRoom's presence handling).
 *
 * Salon's request, sent by an occupant's session to `focus.<domain>`:
 * ```xml
 * <iq type="get" to="focus.meet.jitsi"><document xmlns="urn:salon:document" room="r@muc.meet.jitsi"/></iq>
 * ```
 * and the focus's answer (only to a current occupant of that conference):
 * ```xml
 * <document xmlns="urn:salon:document" room="r@muc.meet.jitsi" path="/pad/ID" token="…" expires="2025-01-01T00:01:00.000Z"/>
 * ```
 * `path` is the document's WebSocket endpoint relative to the HTTP origin; the token goes in its
 * `token` query parameter before `expires` (XEP-0082 DateTime).
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';

export const NS_DOCUMENT = 'urn:salon:document';
export const NS_ETHERPAD = 'http://jitsi.org/jitmeet/etherpad';

/** An occupant asks for access to the room's document. */
export interface DocumentRequest {
  /** The room's bare JID. */
  room: string;
}

/** The focus's answer: where the document lives and a token to get in. */
export interface DocumentGrant {
  room: string;
  /** Absolute path on the HTTP origin, e.g. `/pad/<document id>`. */
  path: string;
  token: string;
  /** When the token stops being accepted for a new connection (XEP-0082 DateTime, UTC). */
  expires: string;
}

/** `/pad/<id>`, optionally under one tenant segment; ids are base64url. */
const DOCUMENT_PATH = /^(?:\/[A-Za-z0-9_.-]{1,64})?\/pad\/[A-Za-z0-9_-]{1,128}$/;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
/** Tokens are base64url with one dot; the bound keeps an absurd attribute out. */
const MAX_TOKEN_LENGTH = 4096;

function documentElement(el: Element, what: string): void {
  if (el.name !== 'document' || el.attrs.xmlns !== NS_DOCUMENT) throw StanzaError.badRequest(`not a ${what}`);
}

function required(el: Element, name: string): string {
  const value = el.attrs[name] as string | undefined;
  if (!value) throw StanzaError.badRequest(`document lacks '${name}'`);
  return value;
}

export function parseDocumentRequest(el: Element): DocumentRequest {
  documentElement(el, 'document request');
  return { room: required(el, 'room') };
}

export function buildDocumentRequest(request: DocumentRequest): Element {
  return new Element('document', { xmlns: NS_DOCUMENT, room: request.room });
}

export function parseDocumentGrant(el: Element): DocumentGrant {
  documentElement(el, 'document grant');
  const path = required(el, 'path');
  // Only the pad's own endpoint on the origin the client already trusts: never another host
  // (`//host/…`), nor a backslash that URL parsing would turn into one.
  if (!DOCUMENT_PATH.test(path)) throw StanzaError.badRequest("document 'path' must be /pad/<document id>");
  const token = required(el, 'token');
  if (token.length > MAX_TOKEN_LENGTH) throw StanzaError.badRequest("document 'token' is too long");
  const expires = required(el, 'expires');
  if (!DATE_TIME.test(expires) || Number.isNaN(Date.parse(expires))) throw StanzaError.badRequest("document 'expires' is not a DateTime");
  return { room: required(el, 'room'), path, token, expires };
}

export function buildDocumentGrant(grant: DocumentGrant): Element {
  return new Element('document', { xmlns: NS_DOCUMENT, room: grant.room, path: grant.path, token: grant.token, expires: grant.expires });
}

/** The document name jitsi-meet opens as `new URL(name, etherpad_base)`. */
export function parseEtherpad(el: Element): string {
  if (el.name !== 'etherpad' || el.attrs.xmlns !== NS_ETHERPAD) throw StanzaError.badRequest('not an etherpad element');
  const name = el.getText().trim();
  if (!name) throw StanzaError.badRequest('etherpad element is empty');
  return name;
}

export function buildEtherpad(name: string): Element {
  return new Element('etherpad', { xmlns: NS_ETHERPAD }).t(name);
}
