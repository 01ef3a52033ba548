import assert from 'node:assert/strict';
import { parse } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import {
  buildRtpDescription, buildRtpSource, NS_JINGLE_RTP, NS_JINGLE_SSMA, parseRtpDescription, parseRtpSource, sourceMsid,
} from '../../../../xmpp/protocol/jingle-rtp.ts';
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

const description = (inner: string, attrs = 'media="video"') => parse(`<description xmlns="${NS_JINGLE_RTP}" ${attrs}>${inner}</description>`);
const SSMA = `xmlns="${NS_JINGLE_SSMA}"`;
const FB = 'xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0"';
const HDREXT = 'xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"';

describe('xmpp/protocol/jingle-rtp (XEP-0167, XEP-0293, XEP-0294, XEP-0339)', () => {
  // Round trips over test/fixtures/xmpp/jingle/rtp-*.xml run in jingle.test.ts, which owns that folder.

  describe('refuses bad descriptions with bad-request naming the field', () => {
    const bad: Array<[string, string, string, string?]> = [
      ['a description without media', "'media'", '', ''],
      ['a description with media="text"', "'media'", '', 'media="text"'],
      ['a maxptime that is not a number', "'maxptime'", '', 'media="audio" maxptime="sixty"'],
      ['a payload type without id', "'id'", '<payload-type name="VP8" clockrate="90000"/>'],
      ['a payload type id above 127', "'id'", '<payload-type id="128" name="VP8"/>'],
      ['a payload type id with a sign', "'id'", '<payload-type id="+96" name="VP8"/>'],
      ['a payload type with zero channels', "'channels'", '<payload-type id="111" name="opus" channels="0"/>'],
      ['a clockrate that is not a number', "'clockrate'", '<payload-type id="100" clockrate="90kHz"/>'],
      ['a payload parameter without value', "'value'", '<payload-type id="96"><parameter name="apt"/></payload-type>'],
      ['an rtcp-fb without type', "'type'", `<payload-type id="100"><rtcp-fb ${FB} subtype="pli"/></payload-type>`],
      ['an rtcp-fb-trr-int without value', "'value'", `<rtcp-fb-trr-int ${FB}/>`],
      ['a header extension without uri', "'uri'", `<rtp-hdrext ${HDREXT} id="3"/>`],
      ['a header extension without id', "'id'", `<rtp-hdrext ${HDREXT} uri="urn:ietf:params:rtp-hdrext:toffset"/>`],
      ['a header extension id 0', "'id'", `<rtp-hdrext ${HDREXT} id="0" uri="urn:ietf:params:rtp-hdrext:toffset"/>`],
      ['a header extension with unknown senders', "'senders'", `<rtp-hdrext ${HDREXT} id="4" uri="urn:3gpp:video-orientation" senders="everyone"/>`],
      ['a source without ssrc', "'ssrc'", `<source ${SSMA} name="ep-v0"/>`],
      ['an ssrc above 2^32-1', "'ssrc'", `<source ${SSMA} ssrc="4294967296"/>`],
      ['an ssrc that is not a number', "'ssrc'", `<source ${SSMA} ssrc="0x10"/>`],
      ['a videoType other than camera or desktop', "'videoType'", `<source ${SSMA} ssrc="1" videoType="screen"/>`],
      ['a source parameter without name', "'name'", `<source ${SSMA} ssrc="1"><parameter value="x"/></source>`],
      ['an ssrc-info without owner', "'owner'", `<source ${SSMA} ssrc="1"><ssrc-info xmlns="http://jitsi.org/jitmeet"/></source>`],
      ['an ssrc-group without semantics', "'semantics'", `<ssrc-group ${SSMA}><source ssrc="1"/></ssrc-group>`],
      ['an ssrc-group with semantics Jicofo refuses (FEC-FR)', "'semantics'", `<ssrc-group ${SSMA} semantics="FEC-FR"><source ssrc="1"/><source ssrc="2"/></ssrc-group>`],
      ['an ssrc-group member without ssrc', "'ssrc'", `<ssrc-group ${SSMA} semantics="FID"><source ssrc="1"/><source/></ssrc-group>`],
    ];
    for (const [name, field, inner, attrs] of bad) {
      it(`refuses ${name}`, () => assertBadRequest(() => parseRtpDescription(description(inner, attrs)), field));
    }
    it('refuses an element that is not an RTP description', () => {
      assertBadRequest(() => parseRtpDescription(parse('<description xmlns="urn:xmpp:jingle:apps:file-transfer:5"/>')), '<description/>');
    });
  });

  it("reads the msid parameter Jicofo writes in the RTP namespace, and builds it in XEP-0339's", () => {
    const jicofo = parse(`<source ${SSMA} ssrc="11" name="efgh5678-v0" videoType="camera">`
      + '<ssrc-info xmlns="http://jitsi.org/jitmeet" owner="efgh5678"/>'
      + `<parameter xmlns="${NS_JINGLE_RTP}" name="msid" value="s t"/></source>`);
    const source = parseRtpSource(jicofo);
    assert.deepEqual(source, { ssrc: 11, name: 'efgh5678-v0', videoType: 'camera', parameters: [{ name: 'msid', value: 's t' }], owner: 'efgh5678' });
    assert.equal(sourceMsid(source), 's t');
    assert.equal(canonicalXml(buildRtpSource(source)), canonicalXml(parse(`<source ${SSMA} ssrc="11" name="efgh5678-v0" videoType="camera">`
      + '<parameter name="msid" value="s t"/><ssrc-info xmlns="http://jitsi.org/jitmeet" owner="efgh5678"/></source>')));
  });

  it('keeps a valueless source parameter valueless (XEP-0339 a=ssrc:<id> <attribute>)', () => {
    const el = description(`<source ${SSMA} ssrc="5"><parameter name="x-flag"/></source>`);
    const parsed = parseRtpDescription(el);
    assert.deepEqual(parsed.sources, [{ ssrc: 5, parameters: [{ name: 'x-flag' }] }]);
    assert.equal(sourceMsid(parsed.sources[0]!), undefined);
    assert.equal(canonicalXml(buildRtpDescription(parsed)), canonicalXml(el));
  });

  it("tells Jicofo's nameless RED parameter from lib-jitsi-meet's empty-named one", () => {
    const jicofo = description('<payload-type id="112" name="red" clockrate="48000" channels="2"><parameter value="111/111"/></payload-type>', 'media="audio"');
    const ljm = description('<payload-type id="112" name="red" clockrate="48000" channels="2"><parameter name="" value="111/111"/></payload-type>', 'media="audio"');
    assert.deepEqual(parseRtpDescription(jicofo).payloadTypes[0]?.parameters, [{ value: '111/111' }]);
    assert.deepEqual(parseRtpDescription(ljm).payloadTypes[0]?.parameters, [{ name: '', value: '111/111' }]);
    assert.equal(canonicalXml(buildRtpDescription(parseRtpDescription(jicofo))), canonicalXml(jicofo));
    assert.equal(canonicalXml(buildRtpDescription(parseRtpDescription(ljm))), canonicalXml(ljm));
  });

  it('keeps elements it does not model (encryption, bandwidth, rid-group, unqualified source) as extensions', () => {
    const el = description('<encryption required="1"><crypto crypto-suite="AES_CM_128_HMAC_SHA1_80" key-params="inline:x" tag="1"/></encryption>'
      + '<bandwidth type="AS">128</bandwidth>'
      + `<rid-group ${SSMA} semantics="SIM"><source rid="1"/></rid-group>`
      + '<source ssrc="9"/>');
    const parsed = parseRtpDescription(el);
    assert.deepEqual(parsed.extensions.map((e) => e.name), ['encryption', 'bandwidth', 'rid-group', 'source']);
    assert.deepEqual(parsed.sources, []);
    assert.equal(canonicalXml(buildRtpDescription(parsed)), canonicalXml(el));
  });

  it('reads header extension senders and writes them back (XEP-0294 §3, a=extmap:<id>/<direction>)', () => {
    const el = description(`<rtp-hdrext ${HDREXT} id="2" uri="URI-gps-string" senders="initiator"/>`);
    assert.deepEqual(parseRtpDescription(el).headerExtensions, [{ id: 2, uri: 'URI-gps-string', senders: 'initiator' }]);
  });

  it('builds an empty application description for the data content, with rtcp-mux as Jicofo adds it', () => {
    const built = buildRtpDescription({
      media: 'application', payloadTypes: [], feedback: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: true,
      sources: [], ssrcGroups: [], extensions: [],
    });
    assert.equal(canonicalXml(built), canonicalXml(description('<rtcp-mux/>', 'media="application"')));
  });
});
