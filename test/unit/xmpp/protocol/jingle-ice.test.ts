import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import {
  buildIceCandidate, buildIceUdpTransport, NS_COLIBRI, NS_JINGLE_ICE_UDP, parseIceCandidate, parseIceUdpTransport, type IceCandidate,
} from '../../../../xmpp/protocol/jingle-ice.ts';
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

const transport = (inner: string, attrs = 'ufrag="u" pwd="p"') => parse(`<transport xmlns="${NS_JINGLE_ICE_UDP}" ${attrs}>${inner}</transport>`);

/** A complete host candidate with `drop` removed and `set` overridden. */
function candidate(set: Record<string, string> = {}, drop = ''): string {
  const attrs: Record<string, string> = {
    component: '1', foundation: '1', generation: '0', id: 'c1', ip: '192.0.2.1', network: '0', port: '10000',
    priority: '2130706431', protocol: 'udp', type: 'host', ...set,
  };
  delete attrs[drop];
  return `<candidate ${Object.entries(attrs).map(([k, v]) => `${k}="${v}"`).join(' ')}/>`;
}

describe('xmpp/protocol/jingle-ice (XEP-0176 with Jitsi extensions)', () => {
  // Round trips over test/fixtures/xmpp/jingle/ice-*.xml run in jingle.test.ts, which owns that folder.

  describe('refuses bad candidates with bad-request naming the field', () => {
    for (const field of ['component', 'foundation', 'generation', 'id', 'ip', 'port', 'priority', 'protocol', 'type']) {
      it(`refuses a candidate without ${field}`, () => {
        assertBadRequest(() => parseIceUdpTransport(transport(candidate({}, field))), `'${field}'`);
      });
    }
    const bad: Array<[string, string, Record<string, string>]> = [
      ['a port above 65535', "'port'", { port: '70000' }],
      ['a port that is not a number', "'port'", { port: 'http' }],
      ['component 0', "'component'", { component: '0' }],
      ['priority 0', "'priority'", { priority: '0' }],
      ['a negative generation', "'generation'", { generation: '-1' }],
      ['a network that is not a number', "'network'", { network: 'wifi' }],
      ['an unknown candidate type', "'type'", { type: 'local' }],
      ['an unknown protocol', "'protocol'", { protocol: 'sctp' }],
      ['an upper-case protocol', "'protocol'", { protocol: 'UDP' }],
      ['a bad rel-port', "'rel-port'", { type: 'srflx', 'rel-addr': '10.0.0.1', 'rel-port': '65536' }],
      ['an unknown tcptype', "'tcptype'", { protocol: 'tcp', tcptype: 'simultaneous' }],
    ];
    for (const [name, field, set] of bad) {
      it(`refuses ${name}`, () => assertBadRequest(() => parseIceUdpTransport(transport(candidate(set))), field));
    }
  });

  describe('refuses bad transports with bad-request naming the field', () => {
    const bad: Array<[string, string, () => unknown]> = [
      ['a web-socket without url', "'url'", () => parseIceUdpTransport(transport(`<web-socket xmlns="${NS_COLIBRI}"/>`))],
      ['a web-socket active that is not a boolean', "'active'", () => parseIceUdpTransport(transport(`<web-socket xmlns="${NS_COLIBRI}" url="wss://x" active="1"/>`))],
      ['an sctpmap without number', "'number'", () => parseIceUdpTransport(transport('<sctpmap xmlns="urn:xmpp:jingle:transports:dtls-sctp:1" protocol="webrtc-datachannel"/>'))],
      ['an sctpmap without protocol', "'protocol'", () => parseIceUdpTransport(transport('<sctpmap xmlns="urn:xmpp:jingle:transports:dtls-sctp:1" number="5000"/>'))],
      ['an ice-generation that is not a number', "'ice-generation'", () => parseIceUdpTransport(transport('', 'ufrag="u" pwd="p" ice-generation="next"'))],
      ['a fingerprint without hash', "'hash'", () => parseIceUdpTransport(transport('<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" setup="actpass">AB:CD</fingerprint>'))],
      ['a raw-udp transport', '<transport/>', () => parseIceUdpTransport(parse('<transport xmlns="urn:xmpp:jingle:transports:raw-udp:1"/>'))],
    ];
    for (const [name, field, fn] of bad) it(`refuses ${name}`, () => assertBadRequest(fn, field));
  });

  it('reads a transport without credentials or children (lib-jitsi-meet before ICE parameters exist)', () => {
    assert.deepEqual(parseIceUdpTransport(transport('', '')), { rtcpMux: false, fingerprints: [], candidates: [], webSockets: [], extensions: [] });
  });

  it("writes a candidate's optional attributes only when present", () => {
    const host: IceCandidate = { component: 1, foundation: '1', generation: 0, id: 'c1', ip: '192.0.2.1', port: 10000, priority: 2130706431, protocol: 'udp', type: 'host' };
    assert.deepEqual(Object.keys(buildIceCandidate(host).attrs).filter((k) => buildIceCandidate(host).attrs[k] !== undefined).sort(),
      ['component', 'foundation', 'generation', 'id', 'ip', 'port', 'priority', 'protocol', 'type']);
    assert.deepEqual(parseIceCandidate(buildIceCandidate(host)), host);
  });

  it('reads a web-socket marked active (the bridge channel in use)', () => {
    const parsed = parseIceUdpTransport(transport(`<web-socket xmlns="${NS_COLIBRI}" url="wss://meet.example.com/colibri-ws/a/b/c?pwd=p" active="true"/>`));
    assert.deepEqual(parsed.webSockets, [{ url: 'wss://meet.example.com/colibri-ws/a/b/c?pwd=p', active: true }]);
  });

  it('keeps remote-candidate and unknown children as extensions, and a second sctpmap too', () => {
    const el = transport('<remote-candidate component="1" ip="10.0.1.1" port="8998"/>'
      + '<sctpmap xmlns="urn:xmpp:jingle:transports:dtls-sctp:1" number="5000" protocol="webrtc-datachannel" streams="1024"/>'
      + '<sctpmap xmlns="urn:xmpp:jingle:transports:dtls-sctp:1" number="5001" protocol="webrtc-datachannel"/>'
      + '<foo xmlns="urn:example"/>');
    const parsed = parseIceUdpTransport(el);
    assert.deepEqual(parsed.sctpMap, { port: 5000, protocol: 'webrtc-datachannel', streams: 1024 });
    assert.deepEqual(parsed.extensions.map((e) => e.name), ['remote-candidate', 'sctpmap', 'foo']);
    const byName = { siblingOrder: 'by-name' } as const;
    assert.equal(canonicalXml(buildIceUdpTransport(parsed), byName), canonicalXml(el, byName));
  });
});
