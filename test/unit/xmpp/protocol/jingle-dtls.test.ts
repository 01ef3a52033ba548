import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import { buildDtlsFingerprint, NS_JINGLE_DTLS, parseDtlsFingerprint } from '../../../../xmpp/protocol/jingle-dtls.ts';
import { canonicalXml } from './fixtures.ts';

/** Fails unless `fn` throws a bad-request StanzaError whose text names `field`. */
function assertBadRequest(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StanzaError, `not a StanzaError: ${String(err)}`);
    assert.equal(err.condition, 'bad-request');
    assert.ok(err.text?.includes(field), `'${err.text}' does not name ${field}`);
    return true;
  });
}

const VALUE = '3F:2A:9C:11:B8:4D:E0:57:6A:1F:C2:93:08:DE:7B:45:A0:34:F9:62:1C:8E:D5:27:B3:60:4A:EF:19:82:C7:5D';
const fingerprint = (attrs: string, value = VALUE) => parse(`<fingerprint xmlns="${NS_JINGLE_DTLS}" ${attrs}>${value}</fingerprint>`);

describe('xmpp/protocol/jingle-dtls (XEP-0320)', () => {
  // Round trips over test/fixtures/xmpp/jingle/dtls-*.xml run in jingle.test.ts, which owns that folder.

  const bad: Array<[string, string, () => unknown]> = [
    ['a fingerprint without hash', "'hash'", () => parseDtlsFingerprint(fingerprint('setup="actpass"'))],
    ['a fingerprint with an empty hash', "'hash'", () => parseDtlsFingerprint(fingerprint('hash="" setup="actpass"'))],
    ['a fingerprint without value', 'value', () => parseDtlsFingerprint(fingerprint('hash="sha-256" setup="active"', '  '))],
    ['an unknown setup role', "'setup'", () => parseDtlsFingerprint(fingerprint('hash="sha-256" setup="server"'))],
    ['a required that is not a boolean', "'required'", () => parseDtlsFingerprint(fingerprint('hash="sha-256" required="yes"'))],
    ['a cryptex that is not a boolean', "'cryptex'", () => parseDtlsFingerprint(fingerprint('hash="sha-256" cryptex="on"'))],
    ['a fingerprint in another namespace', '<fingerprint/>', () => parseDtlsFingerprint(parse(`<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:1" hash="sha-256">${VALUE}</fingerprint>`))],
  ];
  for (const [name, field, fn] of bad) it(`refuses ${name} with bad-request naming it`, () => assertBadRequest(fn, field));

  it("reads lib-jitsi-meet's trickled fingerprint without setup (the XEP requires one)", () => {
    assert.deepEqual(parseDtlsFingerprint(fingerprint('hash="sha-256" required="true"')), { hash: 'sha-256', value: VALUE, required: true });
  });

  it("reads XML Schema's 1 and 0 as booleans and writes them back as true and false", () => {
    const parsed = parseDtlsFingerprint(fingerprint('hash="sha-256" setup="passive" required="0" cryptex="1"'));
    assert.deepEqual(parsed, { hash: 'sha-256', value: VALUE, setup: 'passive', required: false, cryptex: true });
    assert.equal(canonicalXml(buildDtlsFingerprint(parsed)),
      canonicalXml(fingerprint('hash="sha-256" setup="passive" required="false" cryptex="true"')));
  });

  it('drops the whitespace around the value, as the XEP-0320 examples have it', () => {
    assert.equal(parseDtlsFingerprint(fingerprint('hash="sha-256" setup="actpass"', `\n  ${VALUE}\n`)).value, VALUE);
  });

  it('accepts every RFC 4145 role, holdconn included', () => {
    for (const setup of ['actpass', 'active', 'passive', 'holdconn'] as const) {
      assert.equal(parseDtlsFingerprint(fingerprint(`hash="sha-256" setup="${setup}"`)).setup, setup);
    }
  });
});
