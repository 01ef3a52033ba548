import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Element } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import { buildDtlsFingerprint, NS_JINGLE_DTLS, parseDtlsFingerprint, type DtlsFingerprint } from '../../../../xmpp/protocol/jingle-dtls.ts';
import { buildIceUdpTransport, NS_JINGLE_ICE_UDP, parseIceUdpTransport, type IceUdpTransport } from '../../../../xmpp/protocol/jingle-ice.ts';
import { buildRtpDescription, NS_JINGLE_RTP, parseRtpDescription, type RtpDescription } from '../../../../xmpp/protocol/jingle-rtp.ts';
import {
  buildJingle, encodeJsonSources, NS_FOCUS, NS_JINGLE, parseJingle, type Jingle, type OwnerSources,
} from '../../../../xmpp/protocol/jingle.ts';
import { canonicalXml, describeFixtures, FIXTURES, type Codec } from './fixtures.ts';

/** The four Jingle modules share test/fixtures/xmpp/jingle; the file prefix picks the codec. */
const codecs = {
  jingle: { ns: NS_JINGLE, parse: parseJingle, build: buildJingle } satisfies Codec<Jingle>,
  rtp: { ns: NS_JINGLE_RTP, parse: parseRtpDescription, build: buildRtpDescription } satisfies Codec<RtpDescription>,
  ice: { ns: NS_JINGLE_ICE_UDP, parse: parseIceUdpTransport, build: buildIceUdpTransport } satisfies Codec<IceUdpTransport>,
  dtls: { ns: NS_JINGLE_DTLS, parse: parseDtlsFingerprint, build: buildDtlsFingerprint } satisfies Codec<DtlsFingerprint>,
};

/** Fails unless `fn` throws a bad-request StanzaError whose text names `field`. */
function assertBadRequest(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StanzaError, `not a StanzaError: ${String(err)}`);
    assert.equal(err.condition, 'bad-request');
    assert.equal(err.type, 'modify');
    assert.ok(err.text?.includes(field), `'${err.text}' does not name ${field}`);
    return true;
  });
}

const jingle = (inner: string, attrs = 'action="session-info" sid="s1"') => parse(`<jingle xmlns="${NS_JINGLE}" ${attrs}>${inner}</jingle>`);
const jsonMessage = (json: string) => jingle(`<json-message xmlns="http://jitsi.org/jitmeet">${json}</json-message>`, 'action="source-add" sid="s1"');

function fixturePayload(name: string): Element {
  const iq = parse(readFileSync(join(FIXTURES, 'jingle', name), 'utf8'));
  const payload = iq.getChild('jingle', NS_JINGLE);
  assert.ok(payload);
  return payload;
}

describe('xmpp/protocol/jingle (XEP-0166 with Jitsi extensions)', () => {
  describeFixtures('jingle', codecs, { siblingOrder: 'by-name' });

  describe('refuses bad envelopes with bad-request naming the field', () => {
    const bad: Array<[string, string, () => unknown]> = [
      ['a jingle without sid', "'sid'", () => parseJingle(jingle('', 'action="session-initiate"'))],
      ['a jingle with an empty sid', "'sid'", () => parseJingle(jingle('', 'action="session-initiate" sid=""'))],
      ['a jingle without action', "'action'", () => parseJingle(jingle('', 'sid="s1"'))],
      ['an unknown action', "'action'", () => parseJingle(jingle('', 'action="session-start" sid="s1"'))],
      ['an element outside the Jingle namespace', '<jingle/>', () => parseJingle(parse('<jingle xmlns="urn:xmpp:jingle:0" action="session-info" sid="s1"/>'))],
      ['a content without name', "'name'", () => parseJingle(jingle('<content creator="initiator"/>'))],
      ['a content with an unknown creator', "'creator'", () => parseJingle(jingle('<content creator="focus" name="audio"/>'))],
      ['a content with unknown senders', "'senders'", () => parseJingle(jingle('<content name="audio" senders="sometimes"/>'))],
      ['a reason without condition', 'condition', () => parseJingle(jingle('<reason><text>bye</text></reason>'))],
      ['a reason with an unknown condition', '<hangup/>', () => parseJingle(jingle('<reason><hangup/></reason>'))],
      ['a BUNDLE group without semantics', "'semantics'", () => parseJingle(jingle('<group xmlns="urn:xmpp:jingle:apps:grouping:0"><content name="audio"/></group>'))],
      ['a grouped content without name', "'name'", () => parseJingle(jingle('<group xmlns="urn:xmpp:jingle:apps:grouping:0" semantics="BUNDLE"><content/></group>'))],
      ['a bridge-session restart that is not a boolean', "'restart'", () => parseJingle(jingle(`<bridge-session xmlns="${NS_FOCUS}" id="b" restart="yes"/>`))],
      ['a startmuted audio that is not a boolean', "'audio'", () => parseJingle(jingle('<startmuted xmlns="http://jitsi.org/jitmeet/start-muted" audio="maybe"/>'))],
      ['a json-message that is not JSON', 'json-message', () => parseJingle(jsonMessage('{"sources":'))],
      ['JSON sources that are a list', "'sources'", () => parseJingle(jsonMessage('{"sources":[]}'))],
      ["an owner's entry that is not a list of lists", 'entry', () => parseJingle(jsonMessage('{"sources":{"ep1":{"s":1}}}'))],
      ["an owner's entry with five lists", 'entry', () => parseJingle(jsonMessage('{"sources":{"ep1":[[],[],[],[],[]]}}'))],
      ['a JSON source without ssrc', 'ssrc', () => parseJingle(jsonMessage('{"sources":{"ep1":[[{"n":"ep1-v0"}]]}}'))],
      ['a JSON ssrc above 2^32-1', 'ssrc', () => parseJingle(jsonMessage('{"sources":{"ep1":[[{"s":4294967296}]]}}'))],
      ['a JSON ssrc that is negative', 'ssrc', () => parseJingle(jsonMessage('{"sources":{"ep1":[[{"s":-1}]]}}'))],
      ['a JSON source name that is not a string', "'n'", () => parseJingle(jsonMessage('{"sources":{"ep1":[[{"s":1,"n":7}]]}}'))],
      ['a JSON group with unknown semantics', 'group semantics', () => parseJingle(jsonMessage('{"sources":{"ep1":[[],[["x",1,2]]]}}'))],
      ['a JSON group ssrc that is not a number', 'ssrc', () => parseJingle(jsonMessage('{"sources":{"ep1":[[],[["f",1,"two"]]]}}'))],
    ];
    for (const [name, field, fn] of bad) it(`refuses ${name}`, () => assertBadRequest(fn, field));
  });

  it("reads the legacy action names Jicofo still accepts ('addsource', 'removesource')", () => {
    assert.equal(parseJingle(jingle('', 'action="addsource" sid="s1"')).action, 'addsource');
    assert.equal(parseJingle(jingle('', 'action="removesource" sid="s1"')).action, 'removesource');
  });

  it("reads lib-jitsi-meet's senders=\"rejected\" for a port-0 m-line", () => {
    assert.equal(parseJingle(jingle('<content creator="responder" name="video" senders="rejected"/>')).contents[0]?.senders, 'rejected');
  });

  it('builds session-initiate children in Jicofo order: contents, group, startmuted, bridge-session', () => {
    const built = buildJingle(parseJingle(fixturePayload('jingle-session-initiate-jicofo-xml-sources.xml')));
    assert.deepEqual(built.getChildElements().map((c) => c.name), ['content', 'content', 'content', 'group', 'startmuted', 'bridge-session']);
  });

  it('reads the group a session-accept puts before its contents (lib-jitsi-meet order)', () => {
    const accept = parseJingle(fixturePayload('jingle-session-accept-ljm.xml'));
    assert.deepEqual(accept.groups, [{ semantics: 'BUNDLE', contents: ['audio', 'video', 'data'] }]);
    assert.deepEqual(accept.contents.map((c) => c.name), ['audio', 'video', 'data']);
  });

  describe("Jicofo's compact JSON sources", () => {
    const owner = (o: Partial<OwnerSources> & { owner: string }): OwnerSources => ({ video: [], videoGroups: [], audio: [], audioGroups: [], ...o });

    it('encodes the first three lists always and the audio groups only when there are some', () => {
      assert.equal(encodeJsonSources([owner({ owner: 'jvb', audio: [{ ssrc: 7, name: 'jvb-a0', msid: 'mixedmslabel mixedlabelaudio0' }] })]),
        '{"sources":{"jvb":[[],[],[{"s":7,"n":"jvb-a0","m":"mixedmslabel mixedlabelaudio0"}]]}}');
      assert.equal(encodeJsonSources([owner({ owner: 'ep', audio: [{ ssrc: 1 }, { ssrc: 2 }], audioGroups: [{ semantics: 'FID', ssrcs: [1, 2] }] })]),
        '{"sources":{"ep":[[],[],[{"s":1},{"s":2}],[["f",1,2]]]}}');
    });

    it('writes keys in the order s, n, m, v and v only for desktop video', () => {
      const json = encodeJsonSources([owner({
        owner: 'ep',
        video: [{ videoType: 'desktop', msid: 'm', name: 'ep-v1', ssrc: 3 }, { ssrc: 4, name: 'ep-v0' }],
        videoGroups: [{ semantics: 'SIM', ssrcs: [4, 5, 6] }],
      })]);
      assert.equal(json, '{"sources":{"ep":[[{"s":3,"n":"ep-v1","m":"m","v":"d"},{"s":4,"n":"ep-v0"}],[["s",4,5,6]],[]]}}');
    });

    it('reads trailing lists left out, ssrcs as strings and any truthy v, as lib-jitsi-meet does', () => {
      const { sources } = parseJingle(jsonMessage('{"sources":{"ep":[[{"s":"42","v":true}]]}}'));
      assert.deepEqual(sources, [owner({ owner: 'ep', video: [{ ssrc: 42, videoType: 'desktop' }] })]);
    });

    it('keeps owners in the order of the JSON, "__proto__" included as a plain owner', () => {
      const { sources } = parseJingle(jsonMessage('{"sources":{"b":[],"a":[],"__proto__":[]}}'));
      assert.deepEqual(sources?.map((s) => s.owner), ['b', 'a', '__proto__']);
      assert.equal(encodeJsonSources(sources ?? []), '{"sources":{"b":[[],[],[]],"a":[[],[],[]],"__proto__":[[],[],[]]}}');
    });

    it('keeps a json-message without sources as an extension', () => {
      const parsed = parseJingle(jsonMessage('{"type":"something-else"}'));
      assert.equal(parsed.sources, undefined);
      assert.equal(parsed.extensions.length, 1);
      assert.equal(canonicalXml(buildJingle(parsed)), canonicalXml(jsonMessage('{"type":"something-else"}')));
    });
  });

  it('keeps unknown children of jingle, content and reason, and rebuilds them in place', () => {
    const el = jingle(
      '<content creator="initiator" name="x"><description xmlns="urn:example:app"/><transport xmlns="urn:xmpp:jingle:transports:raw-udp:1"/></content>'
      + '<reason><decline/><text>no</text><busy-here xmlns="urn:example:err"/></reason>'
      + '<traceparent xmlns="jitsi:opentelemetry" trace_id="t" parent_id="p" trace_flags="01"/>',
      'action="session-terminate" sid="s1"',
    );
    const parsed = parseJingle(el);
    assert.equal(parsed.contents[0]?.description, undefined);
    assert.equal(parsed.contents[0]?.transport, undefined);
    assert.equal(parsed.contents[0]?.extensions.length, 2);
    assert.deepEqual(parsed.reason && { ...parsed.reason, extensions: parsed.reason.extensions.map((e) => e.name) },
      { condition: 'decline', text: 'no', extensions: ['busy-here'] });
    assert.deepEqual(parsed.extensions.map((e) => e.name), ['traceparent']);
    assert.equal(canonicalXml(buildJingle(parsed)), canonicalXml(el));
  });

  it('leaves the parsed tree intact when building (extensions are copied, not moved)', () => {
    const el = jingle('<traceparent xmlns="jitsi:opentelemetry">00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01</traceparent>');
    const before = el.toString();
    const parsed = parseJingle(el);
    buildJingle(parsed);
    buildJingle(parsed);
    assert.equal(el.toString(), before);
    assert.equal(parsed.extensions[0]?.parent, el);
  });

  it('reads and writes an ICE failure notification as lib-jitsi-meet sends it (sendIceFailedNotification)', () => {
    const el = parse(
      `<jingle xmlns="${NS_JINGLE}" action="session-info" initiator="focus@auth.meet.jitsi/focus" sid="s1">`
      + `<ice-state xmlns="${NS_FOCUS}">failed</ice-state><bridge-session xmlns="${NS_FOCUS}" id="b1"/></jingle>`,
    );
    const parsed = parseJingle(el);
    assert.equal(parsed.iceState, 'failed');
    assert.deepEqual(parsed.bridgeSession, { id: 'b1' });
    assert.equal(parsed.extensions.length, 0);
    assert.equal(canonicalXml(buildJingle(parsed)), canonicalXml(el));
    // Only the first is read, its text trimmed; one in another namespace is an extension.
    const twice = parseJingle(jingle(`<ice-state xmlns="${NS_FOCUS}"> connected </ice-state><ice-state xmlns="${NS_FOCUS}">failed</ice-state><ice-state xmlns="urn:x">failed</ice-state>`));
    assert.equal(twice.iceState, 'connected');
    assert.deepEqual(twice.extensions.map((e) => [e.name, e.getNS()]), [['ice-state', NS_FOCUS], ['ice-state', 'urn:x']]);
    assert.equal(parseJingle(jingle('')).iceState, undefined);
  });

  it('builds a bridge-session restart request as lib-jitsi-meet writes it', () => {
    const built = buildJingle({
      action: 'session-terminate', sid: 's1', initiator: 'focus@auth.meet.jitsi/focus', contents: [], groups: [], extensions: [],
      reason: { condition: 'success', text: 'restart required', extensions: [] },
      bridgeSession: { id: 'b1', restart: true },
    });
    assert.equal(canonicalXml(built), canonicalXml(parse(
      `<jingle xmlns="${NS_JINGLE}" action="session-terminate" initiator="focus@auth.meet.jitsi/focus" sid="s1">`
      + '<reason><success/><text>restart required</text></reason>'
      + `<bridge-session xmlns="${NS_FOCUS}" id="b1" restart="true"/></jingle>`,
    )));
  });
});
