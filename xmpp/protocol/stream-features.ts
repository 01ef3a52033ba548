/**
 * Stream-level payloads of RFC 6120 (features, STARTTLS §5, SASL §6, binding §7), XEP-0198
 * Stream Management 1.6 and XEP-0478 Stream Limits Advertisement 0.1.
 */
import { Element } from 'ltx';
import { NS_STREAM } from '../errors.ts';

export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
export const NS_SM = 'urn:xmpp:sm:3';
export const NS_STREAM_LIMITS = 'urn:xmpp:stream-limits:0';
export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

export interface StreamFeatures {
  starttls?: { required: boolean };
  mechanisms?: string[];
  bind?: boolean;
  sm?: boolean;
  limits?: { maxBytes: number; idleSeconds?: number };
}

export function buildStreamFeatures(features: StreamFeatures): Element {
  const el = new Element('stream:features', { 'xmlns:stream': NS_STREAM });
  if (features.starttls) {
    const tls = el.c('starttls', { xmlns: NS_TLS });
    if (features.starttls.required) tls.c('required');
  }
  if (features.mechanisms) {
    const mechanisms = el.c('mechanisms', { xmlns: NS_SASL });
    for (const name of features.mechanisms) mechanisms.c('mechanism').t(name);
  }
  if (features.bind) {
    el.c('bind', { xmlns: NS_BIND });
    // Advertised as optional: Strophe then skips the legacy session IQ (RFC 6121 errata / RFC 3921bis).
    el.c('session', { xmlns: NS_SESSION }).c('optional');
  }
  if (features.sm) el.c('sm', { xmlns: NS_SM });
  if (features.limits) {
    const limits = el.c('limits', { xmlns: NS_STREAM_LIMITS });
    limits.c('max-bytes').t(String(features.limits.maxBytes));
    if (features.limits.idleSeconds !== undefined) limits.c('idle-seconds').t(String(features.limits.idleSeconds));
  }
  return el;
}

export function buildSaslSuccess(data?: Buffer): Element {
  const el = new Element('success', { xmlns: NS_SASL });
  if (data && data.length) el.t(data.toString('base64'));
  return el;
}

export function buildSaslChallenge(data: Buffer): Element {
  const el = new Element('challenge', { xmlns: NS_SASL });
  if (data.length) el.t(data.toString('base64'));
  return el;
}

export function buildSaslFailure(condition: string, text?: string): Element {
  const el = new Element('failure', { xmlns: NS_SASL });
  el.c(condition);
  if (text) el.c('text', { 'xml:lang': 'en' }).t(text);
  return el;
}

/** Decodes SASL base64 payload: "=" is an empty response (RFC 6120 §6.4.2); null when absent. */
export function decodeSaslPayload(el: Element): Buffer | null {
  const text = el.getText().trim();
  if (text === '') return null;
  if (text === '=') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error('incorrect-encoding');
  return Buffer.from(text, 'base64');
}

/** XEP-0198 `<failed/>` with a stanza error condition (§3, §5). */
export function buildSmFailed(condition: 'unexpected-request' | 'item-not-found' | 'bad-request' | 'resource-constraint'): Element {
  const el = new Element('failed', { xmlns: NS_SM });
  el.c(condition, { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' });
  return el;
}

/** An XEP-0198 `h`: an unsigned 32-bit integer written in decimal; undefined otherwise. */
export function parseHandledCount(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,10}$/.test(value)) return undefined;
  const h = Number(value);
  return h < 2 ** 32 ? h : undefined;
}
