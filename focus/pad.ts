/**
 * The focus's part in a conference's shared document: what it needs of the documents service
 * (web/server/pad implements it; the focus imports nothing from web/), and its answer to an
 * occupant's document request (xmpp/protocol/salon-document.ts): a token, only for a session that
 * is a current participant of that conference.
 *
 * The conference (./conference.ts) creates its document when it starts, announces the document's
 * name in its presence for jitsi-meet (`<etherpad>`, jitsi-protocol.md §9), revokes an occupant's
 * access when it leaves, renews the name when a participant is removed, and destroys the document
 * when the conference ends.
 */
import type { Element } from 'ltx';
import { StanzaError } from '../xmpp/errors.ts';
import { tryParseJid } from '../xmpp/jid.ts';
import { buildDocumentGrant, parseDocumentRequest } from '../xmpp/protocol/salon-document.ts';

/** An occupant's way in: the document's WebSocket path and a token bound to the occupant. */
export interface DocumentAccess {
  path: string;
  token: string;
  /** The token admits new connections until then (ms since epoch). */
  expiresAt: number;
}

/** One conference's document, as the conference holds it. */
export interface ConferenceDocument {
  /**
   * The capability name announced in the focus's presence (jitsi-meet's etherpad document name);
   * undefined when the document opens with tokens only (config `pad.jitsiMeetPage` off).
   */
  readonly name: string | undefined;
  /** Lets `occupant` (`room@muc/nick`) in. */
  grant(occupant: string): DocumentAccess;
  /** The occupant left: its tokens stop and its connections close. */
  revoke(occupant: string): void;
  /**
   * A participant was removed (kicked or banned) after seeing the name: `name` changes, the old
   * one opens nothing more, and the connections made through it close.
   */
  renewName(): void;
  /** The conference ended: every connection closes and the content is forgotten. Idempotent. */
  destroy(reason?: string): void;
}

export interface SharedDocuments {
  /** A new, empty document for the conference in `room`. */
  create(room: string): ConferenceDocument;
}

/** What the answer needs of a conference. */
export interface DocumentHolder {
  /** @throws StanzaError forbidden when `requester` (a full JID) is not a participant. */
  grantDocument(requester: string): DocumentAccess;
}

/** The same refusal whether the conference exists or not: outsiders learn nothing of the room. */
export const notAnOccupant = (): StanzaError => new StanzaError('auth', 'forbidden', 'only occupants of the room may open its document');

/**
 * The focus's answer to `<iq type="get"><document xmlns="urn:salon:document" room="…"/></iq>`.
 * @throws StanzaError: bad-request (malformed), forbidden (not a participant of that conference).
 */
export function answerDocumentRequest(iq: Element, payload: Element, conferences: ReadonlyMap<string, DocumentHolder>): Element {
  if (iq.attrs.type !== 'get') throw StanzaError.badRequest('a document request is an IQ get');
  const request = parseDocumentRequest(payload);
  const room = tryParseJid(request.room);
  const requester = iq.attrs.from as string | undefined;
  const conference = room && !room.resource ? conferences.get(room.bare) : undefined;
  if (!conference || !requester) throw notAnOccupant();
  const access = conference.grantDocument(requester);
  return buildDocumentGrant({
    room: room!.bare,
    path: access.path,
    token: access.token,
    expires: new Date(access.expiresAt).toISOString(),
  });
}
