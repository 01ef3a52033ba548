/**
 * The two XMPP error kinds of RFC 6120: stream errors (§4.9, fatal to the stream) and
 * stanza errors (§8.3, answered to the sender). Pure and browser-safe.
 */
import { Element } from 'ltx';

export const NS_STREAM = 'http://etherx.jabber.org/streams';
export const NS_XMPP_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
export const NS_XMPP_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

export type StreamErrorCondition =
  | 'bad-format' | 'bad-namespace-prefix' | 'conflict' | 'connection-timeout' | 'host-gone'
  | 'host-unknown' | 'improper-addressing' | 'internal-server-error' | 'invalid-from'
  | 'invalid-namespace' | 'invalid-xml' | 'not-authorized' | 'not-well-formed'
  | 'policy-violation' | 'remote-connection-failed' | 'reset' | 'resource-constraint'
  | 'restricted-xml' | 'see-other-host' | 'system-shutdown' | 'undefined-condition'
  | 'unsupported-encoding' | 'unsupported-feature' | 'unsupported-stanza-type'
  | 'unsupported-version';

export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

export type StanzaErrorCondition =
  | 'bad-request' | 'conflict' | 'feature-not-implemented' | 'forbidden' | 'gone'
  | 'internal-server-error' | 'item-not-found' | 'jid-malformed' | 'not-acceptable'
  | 'not-allowed' | 'not-authorized' | 'policy-violation' | 'recipient-unavailable'
  | 'redirect' | 'registration-required' | 'remote-server-not-found'
  | 'remote-server-timeout' | 'resource-constraint' | 'service-unavailable'
  | 'subscription-required' | 'undefined-condition' | 'unexpected-request';

/** Fatal to the stream: the session sends `<stream:error>` and closes (RFC 6120 §4.9). */
export class StreamError extends Error {
  constructor(readonly condition: StreamErrorCondition, readonly text?: string) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'StreamError';
  }

  /** `<stream:error>` with the prefix bound on the element itself, so it stands alone in any framing. */
  toElement(): Element {
    const el = new Element('stream:error', { 'xmlns:stream': NS_STREAM });
    el.c(this.condition, { xmlns: NS_XMPP_STREAMS });
    if (this.text) el.c('text', { xmlns: NS_XMPP_STREAMS, 'xml:lang': 'en' }).t(this.text);
    return el;
  }
}

/** The peer's fault on one stanza: turned into an error reply (RFC 6120 §8.3). */
export class StanzaError extends Error {
  constructor(
    readonly type: StanzaErrorType,
    readonly condition: StanzaErrorCondition,
    readonly text?: string,
    /** Application-specific condition (RFC 6120 §8.3.3.x last paragraph), e.g. Jitsi's `<session-invalid/>`. */
    readonly application?: Element,
  ) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'StanzaError';
  }

  toElement(): Element {
    const el = new Element('error', { type: this.type });
    el.c(this.condition, { xmlns: NS_XMPP_STANZAS });
    if (this.text) el.c('text', { xmlns: NS_XMPP_STANZAS, 'xml:lang': 'en' }).t(this.text);
    if (this.application) el.cnode(this.application);
    return el;
  }

  static badRequest(text: string): StanzaError {
    return new StanzaError('modify', 'bad-request', text);
  }
}

/** Reads the condition of an `<error>` child (for clients and tests). */
export function parseStanzaError(stanza: Element): { type: string; condition: string; text?: string } | undefined {
  const error = stanza.getChild('error');
  if (!error) return undefined;
  const conditionEl = error.children.find(
    (c): c is Element => typeof c !== 'string' && c.attrs.xmlns === NS_XMPP_STANZAS && c.name !== 'text',
  );
  const text = error.getChildText('text', NS_XMPP_STANZAS) ?? undefined;
  return { type: String(error.attrs.type ?? ''), condition: conditionEl?.name ?? 'undefined-condition', ...(text ? { text } : {}) };
}
