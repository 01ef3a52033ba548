import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Element } from 'ltx';
import {
  buildColibri2Media, buildSessionInitiate, ClientFeature, codecTable, DEFAULT_CODECS, FALLBACK_CLIENT_FEATURES, HeaderExtensionUri,
  offerDescriptions, readBridgeSources, readBridgeTransport, readClientFeatures, readSessionAccept, readSourceChanges,
  readTransportInfo, VIDEO_FEEDBACK, type ClientFeatures, type CodecTable, type OfferParams,
} from '../../../focus/offer.ts';
import { ConferenceSources, type OwnedSources, type Source, type SourceGroup } from '../../../focus/sources.ts';
import { StanzaError } from '../../../xmpp/errors.ts';
import {
  buildConferenceModify, parseConferenceModified, parseConferenceModify, type Colibri2Endpoint,
} from '../../../xmpp/protocol/colibri2.ts';
import { buildJingle, NS_JINGLE, parseJingle, type Jingle } from '../../../xmpp/protocol/jingle.ts';
import { buildPayloadType, type PayloadType, type RtpDescription } from '../../../xmpp/protocol/jingle-rtp.ts';
import { canonicalXml, FIXTURES } from '../xmpp/protocol/fixtures.ts';

const JVB_SSRCS = { audio: 2512788533, video: 1843245110 };

function fixture(dir: string, file: string): Element {
  return parse(readFileSync(join(FIXTURES, dir, file), 'utf8'));
}

function jingleFixture(file: string): Element {
  const jingle = fixture('jingle', file).getChild('jingle', NS_JINGLE);
  assert.ok(jingle, `no <jingle/> in ${file}`);
  return jingle;
}

/** A client advertising what current lib-jitsi-meet in Chrome does (xmpp.js initFeaturesList). */
const LJM_FEATURES: ClientFeatures = readClientFeatures([
  'urn:xmpp:jingle:1', ClientFeature.audio, ClientFeature.video, ClientFeature.sctp, ClientFeature.jsonSources,
  ClientFeature.rtx, ClientFeature.remb, ClientFeature.tcc, 'urn:ietf:rfc:5761', 'urn:ietf:rfc:5888',
]);

/** Jicofo's full default table (jicofo-common reference.conf): what Salon will offer once the SFU routes them. */
const JICOFO_CODECS: CodecTable = {
  ...DEFAULT_CODECS,
  codecs: [
    ...DEFAULT_CODECS.codecs.filter((c) => c.media === 'audio'),
    ...([['AV1', 41, 42], ['VP8', 100, 96], ['H264', 107, 99], ['VP9', 101, 97]] as const).map(([name, pt, rtxPt]) => ({
      media: 'video' as const, name, pt, clockrate: 90000,
      parameters: name === 'H264' ? [{ name: 'profile-level-id', value: '42e01f;level-asymmetry-allowed=1;packetization-mode=1;' }] : [],
      feedback: [...VIDEO_FEEDBACK], bwe: ['goog-remb' as const, 'transport-cc' as const],
      // Jicofo gives H264's RTX no feedback.
      rtx: { pt: rtxPt, feedback: name === 'H264' ? [] : [...VIDEO_FEEDBACK] },
    })),
  ],
  headerExtensions: [
    { id: 1, uri: HeaderExtensionUri.audioLevel, media: ['audio'] },
    { id: 11, uri: HeaderExtensionUri.av1DependencyDescriptor, media: ['video'] },
    { id: 10, uri: HeaderExtensionUri.mid, media: ['audio', 'video'] },
    { id: 3, uri: HeaderExtensionUri.absSendTime, media: ['video'] },
    { id: 5, uri: HeaderExtensionUri.transportCc, media: ['audio', 'video'], tcc: true },
  ],
};

/** A bridge's conference-modified for one endpoint, as jitsi-videobridge answers an allocation (§6.2). */
function bridgeAnswer(opts: { ufrag: string; pwd: string; ws: string; candidates: string; sctp?: boolean }): Element {
  return parse(`<conference-modified xmlns="jitsi:colibri2"><endpoint id="abcd1234"><transport>
    <transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="${opts.ufrag}" pwd="${opts.pwd}">
      <rtcp-mux/>
      <fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" required="false" setup="actpass" cryptex="false">3F:2A:9C:11:B8:4D:E0:57:6A:1F:C2:93:08:DE:7B:45:A0:34:F9:62:1C:8E:D5:27:B3:60:4A:EF:19:82:C7:5D</fingerprint>
      ${opts.candidates}
      <web-socket xmlns="http://jitsi.org/protocol/colibri" url="${opts.ws}"/>
    </transport>${opts.sctp === false ? '' : '<sctp port="5000" role="server"/>'}</transport></endpoint>
    <sources>
      <media-source type="audio" id="jvb-a0"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="${JVB_SSRCS.audio}" name="jvb-a0"/></media-source>
      <media-source type="video" id="jvb-v0"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="${JVB_SSRCS.video}" name="jvb-v0"/></media-source>
    </sources></conference-modified>`);
}

const JVB1 = bridgeAnswer({
  ufrag: '8s5c71j4tprqci',
  pwd: '3ogbdk9f0mhs5m7jcpm6fk5tv9',
  ws: 'wss://meet.example.com/colibri-ws/jvb1/4ff3a2e1c0b9d8a7/abcd1234?pwd=3ogbdk9f0mhs5m7jcpm6fk5tv9',
  candidates: `<candidate component="1" foundation="1" generation="0" id="653aa1ba295b3b5e" network="0" ip="10.0.0.5" port="10000" priority="2130706431" protocol="udp" type="host"/>
    <candidate component="1" foundation="2" generation="0" id="653aa1ba295b3b5f" network="0" ip="203.0.113.10" port="10000" priority="1694498815" protocol="udp" type="srflx" rel-addr="10.0.0.5" rel-port="10000"/>`,
});

const JVB2 = bridgeAnswer({
  ufrag: '1d6b9lc5qv0t3a',
  pwd: '5k0hj2fo8t1r6p4m9c3e7aqs2u',
  ws: 'wss://meet.example.com/colibri-ws/jvb2/9e27c4b1a05d3f68/mnop3456?pwd=5k0hj2fo8t1r6p4m9c3e7aqs2u',
  candidates: `<candidate component="1" foundation="1" generation="0" id="1f0e5c2b7a9d4e63" network="0" ip="198.51.100.20" port="10000" priority="2130706431" protocol="udp" type="host"/>
    <candidate component="1" foundation="3" generation="0" id="1f0e5c2b7a9d4e64" network="0" ip="2001:db8::20" port="10000" priority="2130706175" protocol="udp" type="host"/>`,
});

function allocation(answer: Element): { endpoint: Colibri2Endpoint; bridgeSources: OwnedSources } {
  const modified = parseConferenceModified(answer);
  const endpoint = modified.endpoints[0];
  assert.ok(endpoint);
  return { endpoint, bridgeSources: readBridgeSources(modified.feedbackSources) };
}

/** efgh5678 as the other participants' fixtures describe it: simulcast camera (3 layers + RTX), screen share, audio. */
function efgh(): OwnedSources {
  const cameraMsid = 'efgh5678-video-0-1 7c41e2d9-3b5a-4f68-9e02-1d7a6b3c8f45-1';
  const desktopMsid = 'efgh5678-video-1-1 0a9d3e6f-52c1-4b87-8d24-e6f1a0b5c937-1';
  const camera = (ssrc: number): Source => ({ ssrc, media: 'video', name: 'efgh5678-v0', videoType: 'camera', msid: cameraMsid });
  const desktop = (ssrc: number): Source => ({ ssrc, media: 'video', name: 'efgh5678-v1', videoType: 'desktop', msid: desktopMsid });
  const fid = (a: number, b: number): SourceGroup => ({ semantics: 'FID', media: 'video', ssrcs: [a, b] });
  const conference = new ConferenceSources();
  conference.add('efgh5678', {
    sources: [
      { ssrc: 1129384756, media: 'audio', name: 'efgh5678-a0', msid: 'efgh5678-audio-0-1 2e8b4f1a-96d3-4c70-b5e1-8f3a2d6c0b19-1' },
      ...[2741236573, 1598230644, 3920477105, 905118274, 2204619387, 412983356].map(camera),
      desktop(3384021775), desktop(1476209380),
    ],
    groups: [
      { semantics: 'SIM', media: 'video', ssrcs: [2741236573, 1598230644, 3920477105] },
      fid(2741236573, 905118274), fid(1598230644, 2204619387), fid(3920477105, 412983356), fid(3384021775, 1476209380),
    ],
  });
  return conference.all()[0]!;
}

const IJKL: OwnedSources = {
  owner: 'ijkl9012',
  sources: [{ ssrc: 3011948256, media: 'audio', name: 'ijkl9012-a0', msid: 'ijkl9012-audio-0-1 b3d7f0c2-1e4a-4968-a7b5-0c9e2f8d6a31-1' }],
  groups: [],
};

function offer(overrides: Partial<OfferParams> = {}): Jingle {
  const { endpoint, bridgeSources } = allocation(JVB1);
  return buildSessionInitiate({
    sid: '6b1bc0e1c4e34',
    initiator: 'focus@auth.meet.jitsi/focus',
    transport: readBridgeTransport(endpoint),
    features: LJM_FEATURES,
    bridgeSources,
    sources: [efgh(), IJKL],
    bridgeSession: { id: '0c4f3cde-5a6b-4d8e-9f10-2b3c4d5e6f70', region: 'eu-west' },
    ...overrides,
  });
}

const payloads = (d: RtpDescription | undefined) => d?.payloadTypes.map((p) => `${p.id} ${p.name}`) ?? [];
const fb = (p: PayloadType | undefined) => p?.feedback.map((f) => (f.subtype ? `${f.type} ${f.subtype}` : f.type)) ?? [];
const described = (jingle: Jingle, media: string) => jingle.contents.find((c) => c.name === media)?.description;

/**
 * Puts each description's RTX payload types in payload-type order. Jicofo lists H264's RTX after VP9's
 * although H264 precedes VP9; RTX order carries no preference (RFC 4588 pairs by apt), so the table
 * lists RTX in codec order and the comparison ignores it.
 */
function sortRtx(jingle: Element): Element {
  for (const description of jingle.getChildren('content').map((c) => c.getChild('description')).filter((d) => d !== undefined)) {
    const rtx = description.getChildren('payload-type').filter((p) => p.attrs.name === 'rtx');
    const sorted = [...rtx].sort((a, b) => Number(a.attrs.id) - Number(b.attrs.id));
    description.children = description.children.map((child) => (typeof child !== 'string' && rtx.includes(child) ? sorted[rtx.indexOf(child)]! : child));
  }
  return jingle;
}

/** Fails unless `fn` throws a bad-request StanzaError whose text contains `text`. */
function assertBadRequest(fn: () => unknown, text: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StanzaError, `not a StanzaError: ${String(err)}`);
    assert.equal(err.condition, 'bad-request');
    assert.ok(err.text?.includes(text), `'${err.text}' does not say '${text}'`);
    return true;
  });
}

describe('focus/offer', () => {
  describe('client features', () => {
    it('reads the disco features that shape the offer', () => {
      assert.deepEqual(LJM_FEATURES, {
        audio: true, video: true, sctp: true, rtx: true, remb: true, tcc: true, opusRed: false, jsonSources: true, sourceNames: false,
      });
      assert.deepEqual(readClientFeatures([]), {
        audio: false, video: false, sctp: false, rtx: false, remb: false, tcc: false, opusRed: false, jsonSources: false, sourceNames: false,
      });
    });

    it("falls back to Jicofo's audio, video and SCTP when disco fails", () => {
      assert.deepEqual(
        Object.entries(FALLBACK_CLIENT_FEATURES).filter(([, on]) => on).map(([k]) => k),
        ['audio', 'video', 'sctp'],
      );
    });
  });

  describe('offered codecs', () => {
    it('offers opus 111/48000/2 with minptime=10, useinbandfec=1 and transport-cc, telephone-event, maxptime 60', () => {
      const [audio] = offerDescriptions(LJM_FEATURES);
      assert.equal(audio?.media, 'audio');
      assert.equal(audio.maxptime, 60);
      assert.deepEqual(audio.payloadTypes, [
        {
          id: 111, name: 'opus', clockrate: 48000, channels: 2,
          parameters: [{ name: 'minptime', value: '10' }, { name: 'useinbandfec', value: '1' }], feedback: [{ type: 'transport-cc' }],
        },
        { id: 126, name: 'telephone-event', clockrate: 8000, parameters: [], feedback: [] },
      ]);
      assert.deepEqual(audio.headerExtensions, [
        { id: 1, uri: HeaderExtensionUri.audioLevel }, { id: 10, uri: HeaderExtensionUri.mid }, { id: 5, uri: HeaderExtensionUri.transportCc },
      ]);
      assert.equal(audio.extmapAllowMixed, true);
      assert.equal(audio.rtcpMux, true);
    });

    it('offers only VP8 100 with RTX 96 (apt=100) for video, with ccm fir, nack, nack pli and transport-cc', () => {
      const video = offerDescriptions(LJM_FEATURES)[1];
      assert.deepEqual(payloads(video), ['100 VP8', '96 rtx']);
      assert.deepEqual(fb(video?.payloadTypes[0]), ['ccm fir', 'nack', 'nack pli', 'transport-cc']);
      assert.deepEqual(video?.payloadTypes[1]?.parameters, [{ name: 'apt', value: '100' }]);
      assert.deepEqual(fb(video?.payloadTypes[1]), ['ccm fir', 'nack', 'nack pli']);
      assert.deepEqual(video?.headerExtensions.map((h) => h.id), [10, 3, 5]);
      assert.equal(video?.maxptime, undefined);
    });

    it('uses goog-remb instead of transport-cc for a client without tcc, and drops the transport-cc extension', () => {
      const [audio, video] = offerDescriptions({ ...LJM_FEATURES, tcc: false });
      assert.deepEqual(fb(audio?.payloadTypes[0]), []);
      assert.deepEqual(fb(video?.payloadTypes[0]), ['ccm fir', 'nack', 'nack pli', 'goog-remb']);
      assert.ok(![...audio!.headerExtensions, ...video!.headerExtensions].some((h) => h.uri === HeaderExtensionUri.transportCc));
    });

    it('offers no bandwidth feedback to a client with neither tcc nor remb', () => {
      const video = offerDescriptions({ ...LJM_FEATURES, tcc: false, remb: false })[1];
      assert.deepEqual(fb(video?.payloadTypes[0]), ['ccm fir', 'nack', 'nack pli']);
    });

    it('leaves RTX out for a client without urn:ietf:rfc:4588', () => {
      assert.deepEqual(payloads(offerDescriptions({ ...LJM_FEATURES, rtx: false })[1]), ['100 VP8']);
    });

    it('offers RED before opus, without useinbandfec, only when the table has it and the client has opus-red', () => {
      const table: CodecTable = { ...DEFAULT_CODECS, red: { pt: 112, primaryPt: 111 } };
      const [withRed] = offerDescriptions({ ...LJM_FEATURES, opusRed: true }, table);
      assert.deepEqual(payloads(withRed), ['112 red', '111 opus', '126 telephone-event']);
      assert.deepEqual(withRed?.payloadTypes[0], { id: 112, name: 'red', clockrate: 48000, channels: 2, parameters: [{ value: '111/111' }], feedback: [] });
      assert.deepEqual(withRed?.payloadTypes[1]?.parameters, [{ name: 'minptime', value: '10' }]);
      const [without] = offerDescriptions(LJM_FEATURES, table);
      assert.deepEqual(payloads(without), ['111 opus', '126 telephone-event']);
      assert.equal(without?.payloadTypes[0]?.parameters.length, 2);
      assert.deepEqual(payloads(offerDescriptions({ ...LJM_FEATURES, opusRed: true })[0]), ['111 opus', '126 telephone-event']);
    });

    it('offers no content for a media the client lacks', () => {
      assert.deepEqual(offerDescriptions({ ...LJM_FEATURES, video: false }).map((d) => d.media), ['audio']);
    });

    it('takes further codecs from the table, primaries in order, then their RTX', () => {
      const video = offerDescriptions(LJM_FEATURES, JICOFO_CODECS)[1];
      assert.deepEqual(payloads(video), ['41 AV1', '100 VP8', '107 H264', '101 VP9', '42 rtx', '96 rtx', '99 rtx', '97 rtx']);
      assert.deepEqual(video?.headerExtensions.map((h) => h.id), [11, 10, 3, 5]);
    });

    it('gives the bridge the same payload types and header extensions as Colibri2 media', () => {
      const media = buildColibri2Media(LJM_FEATURES);
      const descriptions = offerDescriptions(LJM_FEATURES);
      assert.deepEqual(media.map((m) => m.type), ['audio', 'video']);
      media.forEach((m, i) => {
        const d = descriptions[i]!;
        assert.deepEqual(
          m.payloadTypes.map((e) => canonicalXml(e)),
          d.payloadTypes.map((p) => {
            const el = buildPayloadType(p);
            el.attrs.xmlns = 'urn:xmpp:jingle:apps:rtp:1';
            return canonicalXml(el);
          }),
        );
        assert.deepEqual(m.rtpHdrExts.map((e) => [e.getNS(), e.attrs.id, e.attrs.uri]), d.headerExtensions.map((h) => ['urn:xmpp:jingle:apps:rtp:rtp-hdrext:0', String(h.id), h.uri]));
        assert.equal(m.extmapAllowMixed, true);
      });
      // Through the Colibri2 codec and back: the bridge reads the same.
      const modify = parseConferenceModify(parse(buildConferenceModify({
        meetingId: 'm', endpoints: [{ id: 'abcd1234', create: true, media, capabilities: ['source-names'] }], relays: [],
      }).toString()));
      assert.deepEqual(modify.endpoints[0]!.media.map((m) => m.payloadTypes.map((e) => e.attrs.name)), [['opus', 'telephone-event'], ['VP8', 'rtx']]);
      assert.equal(modify.endpoints[0]!.media[1]!.payloadTypes[1]!.getChild('parameter')?.attrs.value, '100');
    });
  });

  describe('H.264, opt-in (ENABLE_CODEC_H264)', () => {
    it('offers VP8 100, H264 107 (Constrained Baseline, packetization-mode 1), then RTX 96 and 99 (apt=107), and gives the bridge the same', () => {
      const video = described(offer({ codecs: codecTable({ h264: true }) }), 'video');
      assert.deepEqual(payloads(video), ['100 VP8', '107 H264', '96 rtx', '99 rtx']);
      const h264 = video?.payloadTypes.find((p) => p.id === 107);
      assert.deepEqual(h264?.parameters, [{ name: 'profile-level-id', value: '42e01f' }, { name: 'level-asymmetry-allowed', value: '1' }, { name: 'packetization-mode', value: '1' }]);
      assert.deepEqual(fb(h264), ['ccm fir', 'nack', 'nack pli', 'transport-cc']);
      assert.deepEqual(video?.payloadTypes.find((p) => p.id === 99)?.parameters, [{ name: 'apt', value: '107' }]);
      assert.deepEqual(video?.headerExtensions, described(offer(), 'video')?.headerExtensions);
      // Jicofo's order with every optional codec on: VP8, H264, VP9, then AV1 (Salon keeps VP8 first).
      assert.deepEqual(payloads(described(offer({ codecs: codecTable({ h264: true, vp9: true, av1: true }) }), 'video')), ['100 VP8', '107 H264', '101 VP9', '41 AV1', '96 rtx', '99 rtx', '97 rtx', '42 rtx']);
      const colibri = buildColibri2Media(LJM_FEATURES, codecTable({ h264: true })).find((m) => String(m.type) === 'video');
      assert.ok(colibri?.payloadTypes.some((p) => p.attrs.id === '107' && p.attrs.name === 'H264'), 'the bridge is told H264 107');
      assert.equal(codecTable({ h264: false }), DEFAULT_CODECS);
    });
  });

  describe('VP9, opt-in (ENABLE_CODEC_VP9)', () => {
    const VP9 = codecTable({ vp9: true });

    it('leaves the offer and the Colibri2 media exactly as before when off', () => {
      assert.equal(codecTable(), DEFAULT_CODECS);
      assert.equal(codecTable({ vp9: false }), DEFAULT_CODECS);
      for (const features of [LJM_FEATURES, { ...LJM_FEATURES, jsonSources: false, tcc: false }]) {
        assert.equal(buildJingle(offer({ features, codecs: codecTable({ vp9: false }) })).toString(), buildJingle(offer({ features })).toString());
        assert.deepEqual(
          buildColibri2Media(features, codecTable({ vp9: false })).map((m) => m.payloadTypes.map(String)),
          buildColibri2Media(features).map((m) => m.payloadTypes.map(String)),
        );
      }
      assert.ok(!buildJingle(offer({ codecs: codecTable() })).toString().includes('VP9'));
    });

    it('offers VP8 100 then VP9 101, then RTX 96 (apt=100) and 97 (apt=101), VP9 with the same feedback as VP8', () => {
      const video = described(offer({ codecs: VP9 }), 'video');
      assert.deepEqual(payloads(video), ['100 VP8', '101 VP9', '96 rtx', '97 rtx']);
      const byId = (id: number) => video?.payloadTypes.find((p) => p.id === id);
      assert.deepEqual(fb(byId(101)), ['ccm fir', 'nack', 'nack pli', 'transport-cc']);
      assert.deepEqual(byId(101)?.parameters, []);
      assert.equal(byId(101)?.clockrate, 90000);
      assert.deepEqual(byId(96)?.parameters, [{ name: 'apt', value: '100' }]);
      assert.deepEqual(byId(97)?.parameters, [{ name: 'apt', value: '101' }]);
      assert.deepEqual(fb(byId(97)), ['ccm fir', 'nack', 'nack pli']);
      assert.deepEqual(fb(described(offer({ codecs: VP9, features: { ...LJM_FEATURES, tcc: false } }), 'video')?.payloadTypes[1]), ['ccm fir', 'nack', 'nack pli', 'goog-remb']);
      // The audio side and the header extensions do not change.
      assert.deepEqual(described(offer({ codecs: VP9 }), 'audio'), described(offer(), 'audio'));
      assert.deepEqual(video?.headerExtensions, described(offer(), 'video')?.headerExtensions);
      assert.deepEqual(DEFAULT_CODECS.codecs.map((c) => c.name), ['opus', 'telephone-event', 'VP8'], 'the default table is not changed');
    });

    it("writes VP9 and its RTX exactly as Jicofo's offer does (fixture jingle-session-initiate-jicofo)", () => {
      const pick = (jingle: Element, id: string) => jingle.getChildren('content').find((c) => c.attrs.name === 'video')
        ?.getChild('description')?.getChildren('payload-type').find((p) => p.attrs.id === id);
      const expected = jingleFixture('jingle-session-initiate-jicofo.xml');
      const built = buildJingle(offer({ codecs: VP9 }));
      for (const id of ['101', '97']) {
        const ours = pick(built, id);
        const jicofo = pick(expected, id);
        assert.ok(ours && jicofo, `payload type ${id} in both offers`);
        assert.equal(canonicalXml(ours), canonicalXml(jicofo));
      }
    });

    it('gives the bridge VP9 101 and RTX 97 (apt=101) in the Colibri2 media, through the codec and back', () => {
      const media = buildColibri2Media(LJM_FEATURES, VP9);
      const modify = parseConferenceModify(parse(buildConferenceModify({
        meetingId: 'm', endpoints: [{ id: 'abcd1234', create: true, media, capabilities: ['source-names'] }], relays: [],
      }).toString()));
      const video = modify.endpoints[0]!.media.find((m) => m.type === 'video')!;
      assert.deepEqual(video.payloadTypes.map((e) => `${e.attrs.id} ${e.attrs.name}`), ['100 VP8', '101 VP9', '96 rtx', '97 rtx']);
      assert.deepEqual(video.payloadTypes.filter((e) => e.attrs.name === 'rtx').map((e) => e.getChild('parameter')?.attrs.value), ['100', '101']);
      assert.deepEqual(
        buildColibri2Media(LJM_FEATURES, VP9).find((m) => m.type === 'audio')!.payloadTypes.map(String),
        buildColibri2Media(LJM_FEATURES).find((m) => m.type === 'audio')!.payloadTypes.map(String),
      );
    });
  });

  describe('AV1, opt-in (ENABLE_CODEC_AV1)', () => {
    const AV1 = codecTable({ av1: true });
    const BOTH = codecTable({ vp9: true, av1: true });
    const DD = HeaderExtensionUri.av1DependencyDescriptor;
    const hdrexts = (d: RtpDescription | undefined) => d?.headerExtensions.map((h) => `${h.id} ${h.uri}`) ?? [];

    it('leaves the offer and the Colibri2 media exactly as before when off', () => {
      assert.equal(codecTable({ av1: false }), DEFAULT_CODECS);
      assert.equal(codecTable({ vp9: false, av1: false }), DEFAULT_CODECS);
      for (const features of [LJM_FEATURES, { ...LJM_FEATURES, jsonSources: false, tcc: false }]) {
        assert.equal(buildJingle(offer({ features, codecs: codecTable({ av1: false }) })).toString(), buildJingle(offer({ features })).toString());
        assert.deepEqual(
          buildColibri2Media(features, codecTable({ av1: false })).map((m) => [...m.payloadTypes, ...m.rtpHdrExts].map(String)),
          buildColibri2Media(features).map((m) => [...m.payloadTypes, ...m.rtpHdrExts].map(String)),
        );
      }
      const vp9Only = buildJingle(offer({ codecs: codecTable({ vp9: true, av1: false }) })).toString();
      assert.ok(!vp9Only.includes('AV1') && !vp9Only.includes(DD));
      assert.deepEqual(DEFAULT_CODECS.headerExtensions.map((h) => h.id), [1, 10, 3, 5], 'the default table is not changed');
    });

    it('offers AV1 41 after VP8, then RTX 96 (apt=100) and 42 (apt=41), AV1 with the same feedback as VP8', () => {
      const video = described(offer({ codecs: AV1 }), 'video');
      assert.deepEqual(payloads(video), ['100 VP8', '41 AV1', '96 rtx', '42 rtx']);
      const byId = (id: number) => video?.payloadTypes.find((p) => p.id === id);
      assert.deepEqual(fb(byId(41)), ['ccm fir', 'nack', 'nack pli', 'transport-cc']);
      assert.deepEqual(byId(41)?.parameters, []);
      assert.equal(byId(41)?.clockrate, 90000);
      assert.deepEqual(byId(42)?.parameters, [{ name: 'apt', value: '41' }]);
      assert.deepEqual(fb(byId(42)), ['ccm fir', 'nack', 'nack pli']);
      assert.deepEqual(fb(described(offer({ codecs: AV1, features: { ...LJM_FEATURES, tcc: false } }), 'video')?.payloadTypes[1]), ['ccm fir', 'nack', 'nack pli', 'goog-remb']);
      assert.deepEqual(payloads(described(offer({ codecs: AV1, features: { ...LJM_FEATURES, rtx: false } }), 'video')), ['100 VP8', '41 AV1']);
    });

    it('offers AV1 after VP8 and VP9 when both are on', () => {
      const video = described(offer({ codecs: BOTH }), 'video');
      assert.deepEqual(payloads(video), ['100 VP8', '101 VP9', '41 AV1', '96 rtx', '97 rtx', '42 rtx']);
      assert.deepEqual(BOTH.codecs.map((c) => c.name), ['opus', 'telephone-event', 'VP8', 'VP9', 'AV1']);
    });

    it('adds the dependency descriptor (id 11) to the video description only, where Jicofo lists it', () => {
      for (const table of [AV1, BOTH]) {
        const jingle = offer({ codecs: table });
        assert.deepEqual(hdrexts(described(jingle, 'video')), [`11 ${DD}`, ...hdrexts(described(offer(), 'video'))]);
        assert.deepEqual(hdrexts(described(jingle, 'audio')), hdrexts(described(offer(), 'audio')));
        assert.deepEqual(payloads(described(jingle, 'audio')), payloads(described(offer(), 'audio')));
        assert.equal(described(jingle, 'video')?.extmapAllowMixed, true);
      }
      // Also without transport-cc, and without json sources (sources in the descriptions).
      const remb = described(offer({ codecs: AV1, features: { ...LJM_FEATURES, tcc: false, jsonSources: false } }), 'video');
      assert.deepEqual(remb?.headerExtensions.map((h) => h.id), [11, 10, 3]);
    });

    it("writes AV1, its RTX and the dependency descriptor exactly as Jicofo's offer does (fixture jingle-session-initiate-jicofo)", () => {
      const videoDescription = (jingle: Element) => jingle.getChildren('content').find((c) => c.attrs.name === 'video')?.getChild('description');
      const pick = (jingle: Element, id: string) => videoDescription(jingle)?.getChildren('payload-type').find((p) => p.attrs.id === id);
      const expected = jingleFixture('jingle-session-initiate-jicofo.xml');
      const built = buildJingle(offer({ codecs: BOTH }));
      for (const id of ['41', '42']) {
        const ours = pick(built, id);
        const jicofo = pick(expected, id);
        assert.ok(ours && jicofo, `payload type ${id} in both offers`);
        assert.equal(canonicalXml(ours), canonicalXml(jicofo));
      }
      const exts = (jingle: Element) => videoDescription(jingle)?.getChildren('rtp-hdrext').map((e) => canonicalXml(e)) ?? [];
      assert.deepEqual(exts(built), exts(expected));
      assert.ok(videoDescription(built)?.getChild('extmap-allow-mixed'));
      // Parsed back as a client reads it.
      const parsed = parseJingle(parse(built.toString()));
      assert.deepEqual(described(parsed, 'video')?.headerExtensions.find((h) => h.id === 11)?.uri, DD);
      assert.ok(!described(parsed, 'audio')?.headerExtensions.some((h) => h.uri === DD));
    });

    it('gives the bridge AV1 41, RTX 42 (apt=41) and the dependency descriptor on video only, through the Colibri2 codec and back', () => {
      for (const [table, names] of [[AV1, ['100 VP8', '41 AV1', '96 rtx', '42 rtx']], [BOTH, ['100 VP8', '101 VP9', '41 AV1', '96 rtx', '97 rtx', '42 rtx']]] as const) {
        const media = buildColibri2Media(LJM_FEATURES, table);
        const modify = parseConferenceModify(parse(buildConferenceModify({
          meetingId: 'm', endpoints: [{ id: 'abcd1234', create: true, media, capabilities: ['source-names'] }], relays: [],
        }).toString()));
        const byType = (type: string) => modify.endpoints[0]!.media.find((m) => m.type === type)!;
        const video = byType('video');
        assert.deepEqual(video.payloadTypes.map((e) => `${e.attrs.id} ${e.attrs.name}`), names);
        assert.equal(video.payloadTypes.find((e) => e.attrs.id === '42')?.getChild('parameter')?.attrs.value, '41');
        assert.deepEqual(video.rtpHdrExts.map((e) => [e.getNS(), e.attrs.id, e.attrs.uri]), [
          ['urn:xmpp:jingle:apps:rtp:rtp-hdrext:0', '11', DD],
          ...buildColibri2Media(LJM_FEATURES).find((m) => m.type === 'video')!.rtpHdrExts.map((e) => [e.getNS(), e.attrs.id, e.attrs.uri]),
        ]);
        assert.equal(video.extmapAllowMixed, true);
        const audio = byType('audio');
        assert.ok(!audio.rtpHdrExts.some((e) => e.attrs.uri === DD));
        assert.deepEqual(
          media.find((m) => m.type === 'audio')!.rtpHdrExts.map(String),
          buildColibri2Media(LJM_FEATURES).find((m) => m.type === 'audio')!.rtpHdrExts.map(String),
        );
      }
    });
  });

  describe('what the bridge gave', () => {
    it("reads the endpoint's ICE-UDP transport and SCTP port from conference-modified (fixture modified-jvb-allocate)", () => {
      const modified = parseConferenceModified(fixture('colibri2', 'modified-jvb-allocate.xml'));
      const transport = readBridgeTransport(modified.endpoints[0]!);
      assert.equal(transport.sctpPort, 5000);
      assert.equal(transport.ice.ufrag, '8s5c71j4tprqci');
      assert.equal(transport.ice.pwd, '3ogbdk9f0mhs5m7jcpm6fk5tv9');
      assert.deepEqual(transport.ice.candidates.map((c) => `${c.type} ${c.ip}:${c.port}`), ['host 203.0.113.10:10000', 'srflx 198.51.100.7:10000']);
      assert.equal(transport.ice.fingerprints[0]?.setup, 'actpass');
      assert.match(transport.ice.webSockets[0]?.url ?? '', /^wss:\/\/meet\.example\.com\/colibri-ws\/jvb1\//);
      assert.deepEqual(readBridgeSources(modified.feedbackSources), {
        owner: 'jvb',
        sources: [
          { ssrc: JVB_SSRCS.audio, media: 'audio', name: 'jvb-a0', msid: 'mixedmslabel mixedlabelaudio0' },
          { ssrc: JVB_SSRCS.video, media: 'video', name: 'jvb-v0', msid: 'mixedmslabel mixedlabelvideo0' },
        ],
        groups: [],
      });
    });

    it('refuses a bridge answer without transport, credentials or fingerprint', () => {
      assert.throws(() => readBridgeTransport({ id: 'e1', media: [], capabilities: [] }), /e1 has no ICE-UDP transport/);
      const ice = (inner: string, attrs = 'ufrag="u" pwd="p"') => parse(`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ${attrs}>${inner}</transport>`);
      const fp = '<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="actpass">AA:BB</fingerprint>';
      assert.throws(() => readBridgeTransport({ id: 'e1', media: [], capabilities: [], transport: { iceUdp: ice(fp, 'ufrag="u"') } }), /lacks ufrag\/pwd/);
      assert.throws(() => readBridgeTransport({ id: 'e1', media: [], capabilities: [], transport: { iceUdp: ice('') } }), /lacks a DTLS fingerprint/);
      assert.equal(readBridgeTransport({ id: 'e1', media: [], capabilities: [], transport: { iceUdp: ice(fp) } }).sctpPort, undefined);
    });
  });

  describe('session-initiate', () => {
    it("reproduces Jicofo's offer with Jicofo's codec table, JSON sources and stripped simulcast (fixture jingle-session-initiate-jicofo)", () => {
      const built = sortRtx(buildJingle(offer({ codecs: JICOFO_CODECS })));
      const expected = sortRtx(jingleFixture('jingle-session-initiate-jicofo.xml'));
      assert.equal(canonicalXml(built, { siblingOrder: 'by-name' }), canonicalXml(expected, { siblingOrder: 'by-name' }));
    });

    it("reproduces Jicofo's offer with XML sources, RED, REMB and start-muted (fixture jingle-session-initiate-jicofo-xml-sources)", () => {
      const { endpoint, bridgeSources } = allocation(JVB2);
      const built = buildJingle(buildSessionInitiate({
        sid: '1q2m7v0ab5kdu',
        initiator: 'focus@auth.meet.jitsi/focus',
        transport: readBridgeTransport(endpoint),
        features: { ...LJM_FEATURES, jsonSources: false, tcc: false, opusRed: true },
        bridgeSources,
        sources: [efgh()],
        codecs: { ...JICOFO_CODECS, codecs: [...DEFAULT_CODECS.codecs], red: { pt: 112, primaryPt: 111 } },
        bridgeSession: { id: '7a1d2e3f-4b5c-4d6e-8f90-a1b2c3d4e5f6', region: 'us-east' },
        startMuted: { audio: true, video: false },
        stripSimulcast: false,
      }));
      const expected = jingleFixture('jingle-session-initiate-jicofo-xml-sources.xml');
      assert.equal(canonicalXml(built, { siblingOrder: 'by-name' }), canonicalXml(expected, { siblingOrder: 'by-name' }));
    });

    it('has audio, video and data contents, all in one BUNDLE group, from the initiator', () => {
      const jingle = offer();
      assert.equal(jingle.action, 'session-initiate');
      assert.equal(jingle.sid, '6b1bc0e1c4e34');
      assert.equal(jingle.initiator, 'focus@auth.meet.jitsi/focus');
      assert.deepEqual(jingle.contents.map((c) => [c.name, c.creator, c.senders]), [
        ['audio', 'initiator', 'both'], ['video', 'initiator', 'both'], ['data', 'initiator', 'both'],
      ]);
      assert.deepEqual(jingle.groups, [{ semantics: 'BUNDLE', contents: ['audio', 'video', 'data'] }]);
      assert.equal(described(jingle, 'data')?.media, 'application');
      assert.ok(jingle.contents.every((c) => c.description?.rtcpMux));
      assert.deepEqual(jingle.bridgeSession, { id: '0c4f3cde-5a6b-4d8e-9f10-2b3c4d5e6f70', region: 'eu-west' });
      assert.equal(jingle.startMuted, undefined);
    });

    it("copies the bridge's transport into every content: credentials, candidates, actpass fingerprint, web-socket; sctpmap on data", () => {
      const jingle = offer();
      for (const content of jingle.contents) {
        const t = content.transport!;
        assert.equal(t.ufrag, '8s5c71j4tprqci');
        assert.equal(t.pwd, '3ogbdk9f0mhs5m7jcpm6fk5tv9');
        assert.equal(t.rtcpMux, true);
        assert.deepEqual(t.candidates.map((c) => c.id), ['653aa1ba295b3b5e', '653aa1ba295b3b5f']);
        assert.deepEqual(t.fingerprints.map((f) => [f.hash, f.setup]), [['sha-256', 'actpass']]);
        assert.match(t.webSockets[0]?.url ?? '', /colibri-ws\/jvb1\/.*\/abcd1234\?pwd=/);
        assert.deepEqual(t.sctpMap, content.name === 'data' ? { port: 5000, protocol: 'webrtc-datachannel', streams: 1024 } : undefined);
      }
      assert.notEqual(jingle.contents[0]!.transport, jingle.contents[1]!.transport);
    });

    it('leaves the data content out when the client or the bridge has no SCTP', () => {
      assert.deepEqual(offer({ features: { ...LJM_FEATURES, sctp: false } }).contents.map((c) => c.name), ['audio', 'video']);
      const { endpoint } = allocation(bridgeAnswer({ ufrag: 'u', pwd: 'p', ws: 'wss://x/colibri-ws/a/b/c', candidates: '', sctp: false }));
      const jingle = offer({ transport: readBridgeTransport(endpoint) });
      assert.deepEqual(jingle.groups[0]?.contents, ['audio', 'video']);
    });

    it('defaults a fingerprint without setup to actpass', () => {
      const { endpoint } = allocation(JVB1);
      const transport = readBridgeTransport(endpoint);
      delete transport.ice.fingerprints[0]!.setup;
      assert.equal(offer({ transport }).contents[0]?.transport?.fingerprints[0]?.setup, 'actpass');
    });

    it("carries the bridge's and the others' sources as JSON, jvb first, simulcast stripped, desktop marked", () => {
      const jingle = offer();
      assert.deepEqual(jingle.sources?.map((o) => o.owner), ['jvb', 'efgh5678', 'ijkl9012']);
      const efghJson = jingle.sources![1]!;
      assert.deepEqual(efghJson.video.map((s) => [s.ssrc, s.name, s.videoType]), [
        [2741236573, 'efgh5678-v0', undefined], [905118274, 'efgh5678-v0', undefined],
        [3384021775, 'efgh5678-v1', 'desktop'], [1476209380, 'efgh5678-v1', 'desktop'],
      ]);
      assert.deepEqual(efghJson.videoGroups, [{ semantics: 'FID', ssrcs: [2741236573, 905118274] }, { semantics: 'FID', ssrcs: [3384021775, 1476209380] }]);
      assert.ok(jingle.contents.every((c) => (c.description?.sources.length ?? 0) === 0));
    });

    it('carries sources as XML with owner, name, videoType, msid and groups for a client without JSON sources', () => {
      const jingle = offer({ features: { ...LJM_FEATURES, jsonSources: false } });
      assert.equal(jingle.sources, undefined);
      const video = described(jingle, 'video')!;
      assert.deepEqual(video.sources.map((s) => [s.ssrc, s.owner, s.name, s.videoType]), [
        [JVB_SSRCS.video, 'jvb', 'jvb-v0', undefined],
        [2741236573, 'efgh5678', 'efgh5678-v0', 'camera'], [905118274, 'efgh5678', 'efgh5678-v0', 'camera'],
        [3384021775, 'efgh5678', 'efgh5678-v1', 'desktop'], [1476209380, 'efgh5678', 'efgh5678-v1', 'desktop'],
      ]);
      assert.deepEqual(video.sources[0]?.parameters, [{ name: 'msid', value: 'mixedmslabel mixedlabelvideo0' }]);
      assert.deepEqual(video.ssrcGroups, [{ semantics: 'FID', ssrcs: [2741236573, 905118274] }, { semantics: 'FID', ssrcs: [3384021775, 1476209380] }]);
      assert.deepEqual(described(jingle, 'audio')!.sources.map((s) => s.owner), ['jvb', 'efgh5678', 'ijkl9012']);
    });

    it("signals no sources of a media the client doesn't receive", () => {
      const jingle = offer({ features: { ...LJM_FEATURES, video: false } });
      assert.ok(jingle.sources?.every((o) => o.video.length === 0 && o.videoGroups.length === 0));
    });

    it('adds <startmuted/> only when something starts muted', () => {
      assert.deepEqual(offer({ startMuted: { audio: true, video: false } }).startMuted, { audio: true, video: false });
      assert.equal(offer({ startMuted: { audio: false, video: false } }).startMuted, undefined);
    });

    for (const jsonSources of [true, false]) {
      it(`serialises with buildJingle and parses back to the same value (${jsonSources ? 'JSON' : 'XML'} sources)`, () => {
        const value = offer({ features: { ...LJM_FEATURES, jsonSources } });
        const reparsed = parseJingle(parse(buildJingle(value).toString()));
        assert.deepEqual(reparsed, value);
      });
    }
  });

  describe('session-accept', () => {
    it("reads lib-jitsi-meet's answer: transport, sources, groups, initial last-n (fixture jingle-session-accept-ljm)", () => {
      const accept = readSessionAccept(parseJingle(jingleFixture('jingle-session-accept-ljm.xml')));
      assert.equal(accept.transport.ufrag, 'Zb1x');
      assert.equal(accept.transport.pwd, 'q9V0aB3cD4eF5gH6iJ7kL8mN');
      assert.deepEqual(accept.transport.fingerprints.map((f) => [f.hash, f.setup]), [['sha-256', 'active']]);
      assert.deepEqual(accept.transport.candidates, []);
      assert.equal(accept.initialLastN, 25);
      assert.equal(accept.responder, '5b1e0c2a-7d4f-4e1b-9a63-0f2d8c4b7e91@meet.jitsi/Yq3kPzXw');
      assert.deepEqual(accept.sources.sources.filter((s) => s.media === 'audio'), [
        { ssrc: 3190521134, media: 'audio', name: 'abcd1234-a0', msid: 'abcd1234-audio-0-1 6d2f8a41-0c3e-4b97-a5d8-2f61e9b07c34-1' },
      ]);
      const video = accept.sources.sources.filter((s) => s.media === 'video');
      assert.equal(video.length, 6);
      assert.ok(video.every((s) => s.name === 'abcd1234-v0' && s.videoType === 'camera'));
      assert.deepEqual(accept.sources.groups.map((g) => `${g.media} ${g.semantics} ${g.ssrcs.join(',')}`), [
        'video SIM 1001857386,2938471520,470391826',
        'video FID 1001857386,3661027495', 'video FID 2938471520,1287730164', 'video FID 470391826,2510983347',
      ]);
      // And the conference accepts them.
      new ConferenceSources().add('abcd1234', accept.sources);
    });

    it("collects every content's candidates once", () => {
      const el = jingleFixture('jingle-session-accept-ljm.xml');
      const candidate = '<candidate xmlns="urn:xmpp:jingle:transports:ice-udp:1" component="1" foundation="1" generation="0" id="x" ip="192.0.2.1" port="5000" priority="1" protocol="udp" type="host"/>';
      for (const transport of el.getChildren('content').map((c) => c.getChild('transport'))) transport?.cnode(parse(candidate));
      const accept = readSessionAccept(parseJingle(parse(el.toString())));
      assert.deepEqual(accept.transport.candidates.map((c) => c.ip), ['192.0.2.1']);
    });

    const broken: Array<[string, (jingle: Element) => void, string]> = [
      ['without any transport', (j) => j.getChildren('content').forEach((c) => c.remove('transport')), 'no transport'],
      ['without ICE credentials', (j) => j.getChildren('content').forEach((c) => { const t = c.getChild('transport'); if (t) delete t.attrs.pwd; }), 'ufrag/pwd'],
      ['without a DTLS fingerprint', (j) => j.getChildren('content').forEach((c) => c.getChild('transport')?.remove('fingerprint')), 'DTLS fingerprint'],
      ["with setup 'actpass' in its answer", (j) => j.getChildren('content').forEach((c) => { const f = c.getChild('transport')?.getChild('fingerprint'); if (f) f.attrs.setup = 'actpass'; }), "setup 'actpass'"],
      ['with a bad initial last-n', (j) => { const n = j.getChildren('content')[1]?.getChild('initial-last-n'); if (n) n.attrs.value = 'many'; }, 'initial-last-n'],
      ['with an empty initial last-n', (j) => { const n = j.getChildren('content')[1]?.getChild('initial-last-n'); if (n) n.attrs.value = ''; }, 'initial-last-n'],
      ['sent as another action', (j) => { j.attrs.action = 'session-initiate'; }, "got 'session-initiate'"],
    ];
    for (const [name, breakIt, reason] of broken) {
      it(`refuses a session-accept ${name} (bad-request)`, () => {
        const el = jingleFixture('jingle-session-accept-ljm.xml');
        breakIt(el);
        assertBadRequest(() => readSessionAccept(parseJingle(parse(el.toString()))), reason);
      });
    }
  });

  describe('transport-info and source changes', () => {
    it("reads lib-jitsi-meet's trickled candidate (fixture jingle-transport-info-ljm)", () => {
      const transport = readTransportInfo(parseJingle(jingleFixture('jingle-transport-info-ljm.xml')));
      assert.equal(transport.ufrag, 'Zb1x');
      assert.deepEqual(transport.candidates.map((c) => [c.type, c.ip, c.port, c.relAddr]), [['srflx', '192.0.2.33', 54321, '10.1.2.3']]);
      assert.equal(transport.fingerprints[0]?.required, true);
    });

    it("refuses a transport-info without transport with Jicofo's 'missing transport'", () => {
      const jingle = parseJingle(parse(`<jingle xmlns="${NS_JINGLE}" action="transport-info" sid="s"><content name="0" creator="responder"/></jingle>`));
      assertBadRequest(() => readTransportInfo(jingle), 'missing transport');
      assertBadRequest(() => readTransportInfo({ ...jingle, action: 'session-info' }), "got 'session-info'");
    });

    it("reads source-add and source-remove (fixtures jingle-source-add-ljm, jingle-source-remove-ljm)", () => {
      const add = readSourceChanges(parseJingle(jingleFixture('jingle-source-add-ljm.xml')));
      assert.equal(add.action, 'add');
      assert.deepEqual(add.sources.sources.map((s) => [s.ssrc, s.name, s.videoType]), [
        [4127093385, 'abcd1234-v1', 'desktop'], [2289610457, 'abcd1234-v1', 'desktop'],
      ]);
      assert.deepEqual(add.sources.groups, [{ semantics: 'FID', media: 'video', ssrcs: [4127093385, 2289610457] }]);
      const remove = readSourceChanges(parseJingle(jingleFixture('jingle-source-remove-ljm.xml')));
      assert.equal(remove.action, 'remove');
      assert.deepEqual(remove.sources, add.sources);
    });

    it("reads the legacy 'addsource'/'removesource' and refuses other actions", () => {
      const jingle = parseJingle(jingleFixture('jingle-source-add-ljm.xml'));
      assert.equal(readSourceChanges({ ...jingle, action: 'addsource' }).action, 'add');
      assert.equal(readSourceChanges({ ...jingle, action: 'removesource' }).action, 'remove');
      assertBadRequest(() => readSourceChanges({ ...jingle, action: 'session-accept' }), "got 'session-accept'");
    });
  });
});
