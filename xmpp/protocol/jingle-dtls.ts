/**
 * XEP-0320 Use of DTLS-SRTP in Jingle Sessions (v1.0.0, https://xmpp.org/extensions/xep-0320.html):
 * the `<fingerprint/>` a Jingle ICE-UDP transport carries, i.e. SDP's `a=fingerprint` (RFC 8122) and
 * `a=setup` (RFC 4145, RFC 5763).
 *
 * Jitsi deviations:
 * - `setup` is REQUIRED by the XEP's schema but lib-jitsi-meet's trickled `transport-info` leaves it out,
 *   so it is optional here;
 * - `required="true|false"` (removed from the XEP in v0.2) is still sent by lib-jitsi-meet
 *   (transport-info) and by Jicofo (every copied fingerprint says `required="false"`);
 * - `cryptex="true|false"` (RFC 9335 header-extension encryption; lib-jitsi-meet then adds `a=cryptex`);
 *   Jicofo writes `cryptex="false"` on every fingerprint it copies from the bridge.
 * Pure and browser-safe.
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import { readBoolean } from './attributes.ts';

export const NS_JINGLE_DTLS = 'urn:xmpp:jingle:apps:dtls:0';

/** RFC 4145 §4 roles; XEP-0320 does not map `holdconn` but its schema lists it. */
export type DtlsSetup = 'actpass' | 'active' | 'passive' | 'holdconn';

const SETUPS: readonly DtlsSetup[] = ['actpass', 'active', 'passive', 'holdconn'];

/** `<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash=… setup=…>AB:CD:…</fingerprint>`. */
export interface DtlsFingerprint {
  /** Hash function name as in RFC 8122 (`sha-256`). */
  hash: string;
  /** Upper-case hex pairs joined by colons, as in SDP. Surrounding whitespace is dropped. */
  value: string;
  setup?: DtlsSetup;
  /** Jitsi: legacy XEP-0320 v0.1 attribute. */
  required?: boolean;
  /** Jitsi: RFC 9335 cryptex offered/accepted. */
  cryptex?: boolean;
}

/** The `true|false|1|0` of an XML Schema boolean; absent stays absent. */

export function isDtlsSetup(value: unknown): value is DtlsSetup {
  return typeof value === 'string' && (SETUPS as readonly string[]).includes(value);
}

export function parseDtlsFingerprint(el: Element): DtlsFingerprint {
  if (el.name !== 'fingerprint' || el.getNS() !== NS_JINGLE_DTLS) throw StanzaError.badRequest('not a DTLS <fingerprint/>');
  const hash = el.attrs.hash as unknown;
  if (typeof hash !== 'string' || hash === '') throw StanzaError.badRequest("<fingerprint/> lacks 'hash'");
  const value = el.getText().trim();
  if (value === '') throw StanzaError.badRequest('<fingerprint/> lacks its value');
  const fingerprint: DtlsFingerprint = { hash, value };
  const setup = el.attrs.setup as unknown;
  if (setup !== undefined) {
    if (!isDtlsSetup(setup)) throw StanzaError.badRequest(`<fingerprint/> has a bad 'setup': '${String(setup)}'`);
    fingerprint.setup = setup;
  }
  const required = readBoolean(el, 'required');
  if (required !== undefined) fingerprint.required = required;
  const cryptex = readBoolean(el, 'cryptex');
  if (cryptex !== undefined) fingerprint.cryptex = cryptex;
  return fingerprint;
}

export function buildDtlsFingerprint(fingerprint: DtlsFingerprint): Element {
  return new Element('fingerprint', {
    xmlns: NS_JINGLE_DTLS,
    hash: fingerprint.hash,
    setup: fingerprint.setup,
    required: fingerprint.required === undefined ? undefined : String(fingerprint.required),
    cryptex: fingerprint.cryptex === undefined ? undefined : String(fingerprint.cryptex),
  }).t(fingerprint.value);
}
