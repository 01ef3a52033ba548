import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import {
  buildColibri2Error, buildColibriStats, buildConferenceModified, buildConferenceModify, Colibri2Error, NS_COLIBRI2,
  parseColibri2Error, parseColibriStats, parseConferenceModified, parseConferenceModify, readBridgeStatus,
  type Colibri2ErrorReply, type ColibriStats, type ConferenceModified, type ConferenceModify,
} from '../../../../xmpp/protocol/colibri2.ts';
import { NS_COLIBRI } from '../../../../xmpp/protocol/jingle-ice.ts';
import { assertSameXml, describeFixtures, type Codec } from './fixtures.ts';

const codecs = {
  modify: { ns: NS_COLIBRI2, parse: parseConferenceModify, build: buildConferenceModify } satisfies Codec<ConferenceModify>,
  modified: { ns: NS_COLIBRI2, parse: parseConferenceModified, build: buildConferenceModified } satisfies Codec<ConferenceModified>,
  error: { ns: NS_COLIBRI2, parse: parseColibri2Error, build: buildColibri2Error } satisfies Codec<Colibri2ErrorReply>,
  stats: { ns: NS_COLIBRI, parse: parseColibriStats, build: buildColibriStats } satisfies Codec<ColibriStats>,
};

function assertBadRequest(fn: () => unknown, text?: string): void {
  assert.throws(fn, (err: unknown) => err instanceof StanzaError && err.condition === 'bad-request' && (text === undefined || err.text === text));
}

const modify = (inner: string, attrs = 'meeting-id="m1"') => parse(`<conference-modify xmlns="${NS_COLIBRI2}" ${attrs}>${inner}</conference-modify>`);

describe('xmpp/protocol/colibri2 (Colibri2 focus ↔ bridge, brewery stats)', () => {
  describeFixtures('colibri2', codecs);

  const bad: Array<[string, () => unknown, string?]> = [
    ['a conference-modify without meeting-id', () => parseConferenceModify(modify('', '')), "<conference-modify/> lacks 'meeting-id'"],
    ['an element that is not Colibri2', () => parseConferenceModify(parse('<conference-modify xmlns="urn:other" meeting-id="m"/>'))],
    ['a conference-modified given as conference-modify', () => parseConferenceModify(parse(`<conference-modified xmlns="${NS_COLIBRI2}"/>`))],
    ['an endpoint without id', () => parseConferenceModify(modify('<endpoint create="true"/>')), "<endpoint/> lacks 'id'"],
    ['a create that is not a boolean', () => parseConferenceModify(modify('<endpoint id="a" create="yes"/>')), "<endpoint/> has a bad 'create': 'yes'"],
    ['an unknown muc-role', () => parseConferenceModify(modify('<endpoint id="a" muc-role="king"/>')), "<endpoint/> has a bad 'muc-role': 'king'"],
    ['media without type', () => parseConferenceModify(modify('<endpoint id="a"><media/></endpoint>')), "<media/> lacks 'type'"],
    ['media of type data', () => parseConferenceModify(modify('<endpoint id="a"><media type="data"/></endpoint>')), "<media/> has a bad 'type': 'data'"],
    ['a media-source without id', () => parseConferenceModify(modify('<endpoint id="a"><sources><media-source type="audio"/></sources></endpoint>')), "<media-source/> lacks 'id'"],
    ['a capability without name', () => parseConferenceModify(modify('<endpoint id="a"><capability/></endpoint>')), "<capability/> lacks 'name'"],
    ['an initial-last-n that is not an integer', () => parseConferenceModify(modify('<endpoint id="a"><initial-last-n value="2.5"/></endpoint>')), "<initial-last-n/> has a bad 'value': '2.5'"],
    ['an sctp port above 65535', () => parseConferenceModified(parse(`<conference-modified xmlns="${NS_COLIBRI2}"><endpoint id="a"><transport><sctp port="70000"/></transport></endpoint></conference-modified>`)), "<sctp/> has a bad 'port': '70000'"],
    ['an unknown sctp role', () => parseConferenceModify(modify('<endpoint id="a"><transport><sctp role="peer"/></transport></endpoint>')), "<sctp/> has a bad 'role': 'peer'"],
    ['an unknown Colibri2 error reason', () => parseColibri2Error(parse(`<error type="cancel"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><error xmlns="${NS_COLIBRI2}" reason="oops"/></error>`)), "<error/> has a bad 'reason': 'oops'"],
    ['an error without a defined condition', () => parseColibri2Error(parse('<error type="cancel"><oops xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>'))],
    ['a stat without value', () => parseColibriStats(parse(`<stats xmlns="${NS_COLIBRI}"><stat name="drain"/></stats>`)), "<stat/> lacks 'value'"],
    ['stats outside the Colibri namespace', () => parseColibriStats(parse('<stats xmlns="urn:other"/>'))],
  ];
  for (const [name, fn, text] of bad) {
    it(`refuses ${name} with bad-request`, () => assertBadRequest(fn, text));
  }

  it('reads the payload out of the IQ that carries it', () => {
    const iq = parse(`<iq type="set" id="x"><conference-modify xmlns="${NS_COLIBRI2}" meeting-id="m1" expire="true"/></iq>`);
    assert.deepEqual(parseConferenceModify(iq), { meetingId: 'm1', expire: true, endpoints: [], relays: [] });
  });

  it('keeps `<sources/>` present but empty apart from no sources at all', () => {
    const [withEmpty, without] = parseConferenceModify(modify('<endpoint id="a"><sources/></endpoint><endpoint id="b"/>')).endpoints;
    assert.deepEqual(withEmpty?.sources, []);
    assert.equal(without !== undefined && 'sources' in without, false);
  });

  it('keeps relays and connects as elements, so a bridge can refuse them and a rebuild loses nothing', () => {
    const el = modify('<relay id="jvb2" create="true" mesh-id="0"><transport ice-controlling="true"/></relay><connects><connect url="wss://t.example/x" protocol="mediajson" type="transcriber"/></connects>');
    const parsed = parseConferenceModify(el);
    assert.equal(parsed.relays.length, 1);
    assert.equal(parsed.relays[0]?.attrs.xmlns, NS_COLIBRI2);
    assert.equal(parsed.connects?.getChild('connect')?.attrs.type, 'transcriber');
    assertSameXml(buildConferenceModify(parsed), el);
  });

  it('detaches embedded Jingle elements from the stanza and does not move them when building', () => {
    const el = modify('<endpoint id="a"><transport><transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="u" pwd="p"/></transport></endpoint>');
    const iceUdp = parseConferenceModify(el).endpoints[0]?.transport?.iceUdp;
    assert.ok(iceUdp);
    assert.equal(iceUdp.parent, null);
    const value: ConferenceModify = { meetingId: 'm', endpoints: [{ id: 'a', media: [], capabilities: [], transport: { iceUdp } }], relays: [] };
    buildConferenceModify(value);
    buildConferenceModify(value);
    assert.equal(iceUdp.parent, null);
  });

  it("answers an unknown endpoint the way jicofo reads it: item-not-found, reason and the endpoint's id", () => {
    const error = Colibri2Error.unknownEndpoint('abcd1234');
    assert.ok(error instanceof StanzaError);
    assert.deepEqual(parseColibri2Error(error.toElement()), {
      type: 'cancel', condition: 'item-not-found', text: 'Endpoint not found for ID: abcd1234', reason: 'unknown_endpoint', endpointId: 'abcd1234',
    });
  });

  it('maps the other bridge failures to the conditions JVB uses', () => {
    const read = (e: Colibri2Error) => [e.type, e.condition, e.reason];
    assert.deepEqual(read(Colibri2Error.conferenceNotFound('m')), ['cancel', 'item-not-found', 'conference_not_found']);
    assert.deepEqual(read(Colibri2Error.conferenceAlreadyExists('m')), ['cancel', 'conflict', 'conference_already_exists']);
    assert.deepEqual(read(Colibri2Error.gracefulShutdown()), ['cancel', 'service-unavailable', 'graceful_shutdown']);
    assert.deepEqual(read(Colibri2Error.featureNotImplemented('relays')), ['cancel', 'feature-not-implemented', 'feature_not_implemented']);
  });

  it('reads a Colibri2 error without reason as unspecified, and finds the error inside an IQ', () => {
    const iq = parse(`<iq type="error" id="x"><error type="modify"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><error xmlns="${NS_COLIBRI2}"/></error></iq>`);
    assert.deepEqual(parseColibri2Error(iq), { type: 'modify', condition: 'bad-request', reason: 'unspecified' });
  });

  it("reads bridge stats as jicofo does: case-insensitive booleans, unparsable numbers ignored", () => {
    assert.deepEqual(readBridgeStatus({ stress_level: '0.25', average_participant_stress: 'n/a', drain: 'FALSE', graceful_shutdown: 'True', healthy: 'true', region: 'eu' }), {
      stressLevel: 0.25, gracefulShutdown: true, shuttingDown: false, drain: false, healthy: true, region: 'eu',
    });
  });

  it('leaves drain unknown when a bridge does not publish it (jicofo then keeps treating it as draining)', () => {
    assert.deepEqual(readBridgeStatus({ stress_level: '' }), { gracefulShutdown: false, shuttingDown: false });
  });

  it('refuses a stat named __proto__ instead of dropping it', () => {
    assertBadRequest(() => parseColibriStats(parse(`<stats xmlns="${NS_COLIBRI}"><stat name="__proto__" value="x"/></stats>`)));
  });
});
