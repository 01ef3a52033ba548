import assert from 'node:assert/strict';
import { parse, type Element } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import { buildCredentials, buildExternalServices, NS_EXTDISCO_2, parseCredentials, parseExternalServices, type ExternalService } from '../../../../xmpp/protocol/extdisco.ts';
import { describeFixtures, type Codec } from './fixtures.ts';

const services: Codec<ExternalService[]> = {
  ns: NS_EXTDISCO_2,
  parse: parseExternalServices,
  // The namespace (extdisco:2 or the :1 fallback) is the envelope's choice, not part of the list.
  build: (value, payload: Element) => buildExternalServices(String(payload.attrs.xmlns), value),
};

const credentials: Codec<ExternalService[]> = {
  ns: NS_EXTDISCO_2,
  parse: parseCredentials,
  build: (value, payload: Element) => buildCredentials(String(payload.attrs.xmlns), value),
};

describe('xmpp/protocol/extdisco (XEP-0215)', () => {
  describeFixtures('extdisco', { services, credentials });

  it('keeps the STUN and TURN services of a list that also names other service types (XEP-0215 §3.1 with its ftp entry)', () => {
    const list = parse(`<services xmlns='urn:xmpp:extdisco:2'>
      <service host='stun.shakespeare.lit' port='9998' transport='udp' type='stun'/>
      <service host='ftp.shakespeare.lit' name='Shakespearean File Server' password='guest' port='20' transport='tcp' type='ftp' username='guest'/>
      <service host='192.0.2.1' port='8889' password='93jn3bakj9s832lrjbbz' transport='udp' type='turn' username='auu98sjl2wk3e9fjdsl7'/>
    </services>`);
    assert.deepEqual(parseExternalServices(list).map((s) => `${s.type}:${s.host}`), ['stun:stun.shakespeare.lit', 'turn:192.0.2.1']);
  });

  it('reads restricted="true" as restricted', () => {
    const list = parse(`<services xmlns="${NS_EXTDISCO_2}"><service type="turn" host="h" restricted="true"/></services>`);
    assert.equal(parseExternalServices(list)[0]?.restricted, true);
  });

  it('leaves out an unknown transport instead of guessing', () => {
    const list = parse(`<services xmlns="${NS_EXTDISCO_2}"><service type="turn" host="h" transport="sctp"/></services>`);
    assert.deepEqual(parseExternalServices(list), [{ type: 'turn', host: 'h' }]);
  });

  it('refuses a service without host', () => {
    const list = parse(`<services xmlns="${NS_EXTDISCO_2}"><service type="turn" port="3478"/></services>`);
    assert.throws(() => parseExternalServices(list), (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request');
  });

  it('refuses an element that is not extdisco services', () => {
    assert.throws(() => parseExternalServices(parse('<services xmlns="urn:xmpp:extdisco:3"/>')), StanzaError);
    assert.throws(() => parseExternalServices(parse(`<credentials xmlns="${NS_EXTDISCO_2}"/>`)), StanzaError);
    assert.throws(() => parseCredentials(parse(`<services xmlns="${NS_EXTDISCO_2}"/>`)), StanzaError);
  });

  it('builds no attribute for what a service does not have', () => {
    const el = buildExternalServices(NS_EXTDISCO_2, [{ type: 'stun', host: 'stun.example.com' }]);
    assert.deepEqual(el.getChild('service')?.attrs, { type: 'stun', host: 'stun.example.com' });
  });
});
