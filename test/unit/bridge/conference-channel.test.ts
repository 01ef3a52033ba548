/**
 * The conference's side of the bridge channel, driven through the Colibri2 service with fake
 * endpoints: receivers' constraints decide which RTP copies go out, and the conference answers
 * with ForwardedSources, SenderSourceConstraints, keyframe requests and dominant speaker events.
 */
import { ManualClock } from './transport/manual-clock.ts';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Element, parse } from 'ltx';
import { parseConferenceModify, type Colibri2Media, type Colibri2MediaSource } from '../../../xmpp/protocol/colibri2.ts';
import { parseBridgeChannelMessage, type BridgeToClientMessage, type ClientToBridgeMessage } from '../../../xmpp/protocol/bridge-channel.ts';
import { rtxRtp, vp8Rtp } from './rtp/fixtures.ts';
import { serviceWithFakeEndpoints } from './fake-endpoint.ts';
import { buildNack } from '../../../bridge/rtp/rtcp.ts';
import { RtpHeader, readTransportSequence } from '../../../bridge/rtp/packet.ts';
import { buildTransportCc } from '../../../bridge/rtp/transport-cc.ts';
import { SendSideBandwidthEstimator } from '../../../bridge/bwe/estimator.ts';
import { VIDEO_TYPE_REFRESH_MS } from '../../../bridge/conference.ts';
import { PROBE_PACE_MS } from '../../../bridge/receiver-bandwidth.ts';

const MEETING = '5f0c6e7a-3b1d-4e8f-9a2c-7d6b5e4f3a21';
const A = 'abcd1234';
const B = 'efgh5678';
const NS_SSMA = 'urn:xmpp:jingle:apps:rtp:ssma:0';
const fixture = (name: string) => parse(readFileSync(new URL(`../../fixtures/xmpp/colibri2/${name}.xml`, import.meta.url), 'utf8'));


/** An RTP packet; with `level`, it carries the RFC 6464 audio level as one-byte extension 1. */
function rtp(ssrc: number, seq: number, level?: number): Buffer {
  const header = Buffer.alloc(12);
  header[0] = level === undefined ? 0x80 : 0x90;
  header[1] = 111;
  header.writeUInt16BE(seq, 2);
  header.writeUInt32BE(ssrc, 8);
  const extension = level === undefined ? Buffer.alloc(0) : Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x10, level, 0x00, 0x00]);
  return Buffer.concat([header, extension, Buffer.from('payload')]);
}

/** `p` with the sender's transport-wide sequence number `seq` in a one-byte extension 5 of its own (it had none). */
function withTransportSeq(p: Buffer, seq: number): Buffer {
  const out = Buffer.concat([p.subarray(0, 12), Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x51, 0, 0, 0]), p.subarray(12)]);
  out[0] = out[0]! | 0x10;
  out.writeUInt16BE(seq & 0xffff, 17);
  return out;
}

/** A receiver's transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) saying `count` packets from 0 arrived. */
const transportCc = (count: number): Buffer =>
  buildTransportCc({ senderSsrc: 0xc, mediaSsrc: 0, baseSequence: 0, referenceTime: 0, feedbackCount: 0, deltas: new Array<number>(count).fill(4) });

/** The transport-wide sequence number (extension 5) of an RTP packet a receiver was sent, or -1; and its payload. */
function numbering(p: Buffer): { seq: number; payload: string } {
  const h = new RtpHeader();
  assert.equal(h.parse(p), 'ok');
  return { seq: readTransportSequence(h, 5), payload: Buffer.from(h.buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)).toString('hex') };
}

const source = (ssrc: number, name: string) => new Element('source', { xmlns: NS_SSMA, ssrc: String(ssrc), name });
/** A receiver's constraints with A's camera on stage at 720, every other source at 180. */
const A_ON_STAGE = { colibriClass: 'ReceiverVideoConstraints', onStageSources: [`${A}-v0`], defaultConstraints: { maxHeight: 180 }, constraints: { [`${A}-v0`]: { maxHeight: 720 } } };

const B_SOURCES: Colibri2MediaSource[] = [
  { type: 'audio', id: `${B}-a0`, sources: [source(5001, `${B}-a0`)], ssrcGroups: [] },
  { type: 'video', id: `${B}-v0`, sources: [source(6001, `${B}-v0`)], ssrcGroups: [] },
];

/** A's camera (fixture modify-jicofo-update): layers 1001 (low) and 1002 (high), RTX 2001 and 2002. */
const [LOW, HIGH, LOW_RTX, HIGH_RTX] = [1001, 1002, 2001, 2002];

/** A one-packet frame of a layer; its last payload byte names the layer, so receivers' copies tell which they got. */
function layerFrame(ssrc: number, seq: number, key: boolean): Buffer {
  const p = vp8Rtp(ssrc, seq, { key, height: ssrc === LOW ? 180 : 720 });
  p[p.length - 1] = ssrc === LOW ? 0x10 : 0x20;
  return p;
}

/** A sender report (sender info only). */
function senderReport(ssrc: number, rtpTimestamp: number): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc, 4);
  b.writeUInt32BE(0xe000_0000, 8);
  b.writeUInt32BE(rtpTimestamp >>> 0, 16);
  return b;
}

/** A NACK of one packet (RFC 4585 §6.2.1), as receivers send it. */
const nack = (sender: number, media: number, seq: number): Buffer => buildNack(sender, media, [seq]);

function conference(options: { loudestAudio?: number; cameraMaxHeight?: number; createEstimator?: () => SendSideBandwidthEstimator; mediaClock?: ManualClock } = {}) {
  const clock = { now: 0 };
  const inbox = new Map<string, BridgeToClientMessage[]>([[A, []], [B, []]]);
  const { svc, endpoints } = serviceWithFakeEndpoints({
    webSocketUrl: () => 'wss://meet.example/colibri-ws',
    now: () => clock.now,
    ...(options.loudestAudio !== undefined ? { loudestAudio: options.loudestAudio } : {}),
    ...(options.createEstimator ? { createEstimator: options.createEstimator } : {}),
    ...(options.mediaClock ? { clock: options.mediaClock } : {}),
    sendToEndpoint: (meetingId, endpointId, message) => {
      assert.equal(meetingId, MEETING);
      inbox.get(endpointId)?.push(message);
    },
  });
  if (options.cameraMaxHeight !== undefined) svc.setCameraMaxHeight(options.cameraMaxHeight);
  const allocated = svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
  const videoFeedbackSsrc = Number(allocated.feedbackSources!.find((m) => m.id === 'jvb-v0')!.sources[0]!.attrs.ssrc);
  svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
  // B names its sources, as A (the fixture) does.
  svc.modify({ meetingId: MEETING, endpoints: [{ id: B, create: true, media: [], capabilities: ['source-names'], sources: B_SOURCES }], relays: [] });
  const say = (from: string, message: Record<string, unknown>) =>
    svc.onEndpointMessage(MEETING, from, parseBridgeChannelMessage(JSON.stringify(message)) as ClientToBridgeMessage);
  const of = (id: string, colibriClass: string) => inbox.get(id)!.filter((m) => m.colibriClass === colibriClass);
  return { svc, endpoints, inbox, say, of, a: endpoints.get(A)!, b: endpoints.get(B)!, videoFeedbackSsrc, clock };
}

/** Which layer each copy of A's camera an endpoint was sent came from (the last payload byte says). */
const layersOf = (e: { sentRtp: Buffer[] }, from = 0) => e.sentRtp.slice(from).filter((p) => p.readUInt32BE(8) === LOW).map((p) => (p.at(-1) === 0x10 ? 'low' : 'high'));

/** A's camera sending frames on both layers, 33 ms apart, each layer numbered on from its own start. */
function layerFrames(c: ReturnType<typeof conference>) {
  const seq = new Map([[LOW, 100], [HIGH, 7000]]);
  const next = (ssrc: number) => { const n = seq.get(ssrc)!; seq.set(ssrc, n + 1); return n; };
  const last = (ssrc: number) => seq.get(ssrc)! - 1;
  const frames = (n: number, key: (ssrc: number, i: number) => boolean) => {
    for (let i = 0; i < n; i++) {
      for (const ssrc of [LOW, HIGH]) c.a.emit('rtp', layerFrame(ssrc, next(ssrc), key(ssrc, i)));
      c.clock.now += 33;
    }
  };
  return { frames, next, last };
}

/**
 * A's camera sending one-packet frames on both layers 33 ms apart, the tall layer's ten times the
 * low one's (bitrates the bridge measures), each packet passed through `wrap` first.
 */
function weightedLayerFrames(c: ReturnType<typeof conference>, wrap: (packet: Buffer) => Buffer) {
  const seq = new Map([[LOW, 100], [HIGH, 7000]]);
  return (n: number, key: (ssrc: number, i: number) => boolean) => {
    for (let i = 0; i < n; i++) {
      for (const ssrc of [LOW, HIGH]) {
        const s = seq.get(ssrc)!;
        seq.set(ssrc, s + 1);
        const frame = layerFrame(ssrc, s, key(ssrc, i));
        c.a.emit('rtp', wrap(ssrc === HIGH ? Buffer.concat([frame.subarray(0, frame.length - 1), Buffer.alloc(900), frame.subarray(-1)]) : frame));
      }
      c.clock.now += 33;
    }
  };
}

/** A receiver's REMB (draft-alvestrand-rmcat-remb-03 §2.2) of `bitrate` bit/s (below 2^18) about A's camera. */
function remb(bitrate: number): Buffer {
  const packet = Buffer.alloc(24);
  packet[0] = 0x8f;
  packet[1] = 206;
  packet.writeUInt16BE(5, 2);
  packet.writeUInt32BE(0xc, 4);
  packet.write('REMB', 12, 'latin1');
  // Num SSRC (1), then BR Exp (6 bits, 0) and BR Mantissa (18 bits).
  packet.writeUInt32BE(((1 << 24) | bitrate) >>> 0, 16);
  packet.writeUInt32BE(LOW, 20);
  return packet;
}

/** A third endpoint, C, without sources, whose channel messages are kept. */
function thirdEndpoint(c: ReturnType<typeof conference>) {
  const C = 'ijkl9012';
  c.inbox.set(C, []);
  c.svc.modify({ meetingId: MEETING, endpoints: [{ id: C, create: true, media: [], capabilities: [] }], relays: [] });
  return { C, cEnd: c.endpoints.get(C)! };
}

/**
 * C (thirdEndpoint) with A's camera on stage at 720 (ranked first) and B's camera as a 180
 * thumbnail; `frames(n)` sends n frames of both: B's one layer of about 140 kbit/s (a 540-byte
 * frame every 33 ms), A's two layers (weightedLayerFrames). `bKey(i)` and `aKey(ssrc, i)` say which
 * are keyframes. `bCopies(from, to)`: C's copies of B's camera in that range of what it was sent.
 */
function thumbnailAndStage(c: ReturnType<typeof conference>) {
  const { C, cEnd } = thirdEndpoint(c);
  c.say(C, A_ON_STAGE);
  const aFrames = weightedLayerFrames(c, (p) => p);
  let bSeq = 500;
  const frames = (n: number, bKey: (i: number) => boolean = () => false, aKey: (ssrc: number, i: number) => boolean = () => false) => {
    for (let i = 0; i < n; i++) {
      c.b.emit('rtp', Buffer.concat([vp8Rtp(6001, bSeq++, { key: bKey(i), height: 180 }), Buffer.alloc(500)]));
      aFrames(1, (ssrc) => aKey(ssrc, i));
    }
  };
  const bCopies = (from = 0, to?: number) => cEnd.sentRtp.slice(from, to).filter((p) => p.readUInt32BE(8) === 6001);
  return { C, cEnd, conferenceOf: c.svc.conferenceList()[0]!, frames, bCopies };
}

describe('bridge conference and the bridge channel', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('forwards everything before any constraints and says so, asking senders for full height', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    assert.deepEqual(c.of(B, 'ForwardedSources').at(-1), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v0`] });
    assert.deepEqual(c.of(A, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 2160 });
    c.a.emit('rtp', vp8Rtp(1001, 1));
    c.a.emit('rtp', rtp(3190521134, 1));
    assert.deepEqual(c.b.sentRtp.map((p) => p.readUInt32BE(8)), [1001, 3190521134]);
  });

  it('sends an endpoint allocated audio only (a SIP gateway) no video, and asks senders for none on its behalf', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const C = 'ijkl9012';
    c.inbox.set(C, []);
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: C, create: true, media: [{ type: 'audio', payloadTypes: [], rtpHdrExts: [] }], capabilities: ['source-names'], sources: [
      { type: 'audio', id: `${C}-a0`, sources: [source(7001, `${C}-a0`)], ssrcGroups: [] },
    ] }], relays: [] });
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', lastN: -1, defaultConstraints: { maxHeight: 180 } });
    assert.deepEqual(c.of(A, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 180 }, "B's 180, not the full height of a receiver that said nothing");
    c.a.emit('rtp', vp8Rtp(1001, 1, { key: true }));
    c.a.emit('rtp', rtp(3190521134, 1));
    assert.deepEqual(c.endpoints.get(C)!.sentRtp.map((p) => p.readUInt32BE(8)), [3190521134], 'audio only');
    c.say(C, { colibriClass: 'ReceiverVideoConstraints', lastN: -1, defaultConstraints: { maxHeight: 720 } });
    assert.deepEqual(c.of(A, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 180 }, 'whatever its channel says');
  });

  it('stops video copies for lastN 0 while audio goes on, tells the receiver and the sender, and asks a keyframe when video resumes', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', lastN: 0 });
    assert.deepEqual(c.of(B, 'ForwardedSources').at(-1), { colibriClass: 'ForwardedSources', forwardedSources: [] });
    assert.deepEqual(c.of(A, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 0 });
    c.a.emit('rtp', vp8Rtp(1001, 2));
    c.a.emit('rtp', rtxRtp(vp8Rtp(1001, 2), 2001, 2));
    c.a.emit('rtp', rtp(3190521134, 2));
    assert.deepEqual(c.b.sentRtp.map((p) => p.readUInt32BE(8)), [3190521134], 'audio only; the video and its RTX are held back');

    c.a.sentRtcp.length = 0;
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', lastN: 1 });
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', lastN: 0 });
    assert.equal(c.a.sentRtcp.length, 0, 'keyframe requests for one source are paced: the first one\'s keyframe is on its way');
    c.clock.now += 1000;
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', lastN: -1, defaultConstraints: { maxHeight: 360 } });
    assert.deepEqual(c.of(B, 'ForwardedSources').at(-1), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v0`] });
    assert.deepEqual(c.of(A, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 360 });
    const pli = c.a.sentRtcp.find((p) => p[1] === 206 && (p[0]! & 0x1f) === 1);
    assert.ok(pli, 'a PLI went to the sender');
    assert.deepEqual([pli.readUInt32BE(4), pli.readUInt32BE(8)], [c.videoFeedbackSsrc, 1001], 'from the bridge\'s jvb-v0, for the primary SSRC');
    c.a.emit('rtp', vp8Rtp(1001, 3));
    assert.equal(c.b.sentRtp.at(-1)!.readUInt32BE(8), 1001);
  });

  it('stops only the source whose maxHeight is 0', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    c.say(A, { colibriClass: 'ReceiverVideoConstraints', constraints: { [`${B}-v0`]: { maxHeight: 0 }, 'nobody-v7': { maxHeight: 720 } } });
    c.b.emit('rtp', vp8Rtp(6001, 1));
    c.b.emit('rtp', rtp(5001, 1));
    assert.deepEqual(c.a.sentRtp.map((p) => p.readUInt32BE(8)), [5001]);
    c.a.emit('rtp', vp8Rtp(1001, 1));
    assert.deepEqual(c.b.sentRtp.map((p) => p.readUInt32BE(8)), [1001], 'the other direction is untouched');
  });

  it('follows the audio subscription and ignores video types for sources the endpoint does not own', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    c.say(B, { colibriClass: 'ReceiverAudioSubscription', mode: 'None' });
    c.a.emit('rtp', rtp(3190521134, 1));
    c.a.emit('rtp', vp8Rtp(1001, 1));
    assert.deepEqual(c.b.sentRtp.map((p) => p.readUInt32BE(8)), [1001]);
    const before = c.inbox.get(A)!.length + c.inbox.get(B)!.length;
    c.say(B, { colibriClass: 'SourceVideoTypeMessage', sourceName: `${A}-v0`, videoType: 'desktop' });
    c.say(B, { colibriClass: 'SourceVideoTypeMessage', sourceName: 'unknown-v3', videoType: 'desktop' });
    c.say(B, { colibriClass: 'VideoTypeMessage', videoType: 'desktop' });
    c.say(B, { colibriClass: 'ClientHello' });
    assert.equal(c.inbox.get(A)!.length + c.inbox.get(B)!.length, before, 'nothing changed, nothing said');
  });

  /** A conference with C (thirdEndpoint) at lastN 1, and what it has been told it is forwarded, oldest first; A's camera first. */
  function lastNOfOne() {
    const c = conference();
    close = () => c.svc.close('test over');
    const { C } = thirdEndpoint(c);
    c.say(C, { colibriClass: 'ReceiverVideoConstraints', lastN: 1, defaultConstraints: { maxHeight: 180 } });
    const forwarded = () => c.of(C, 'ForwardedSources').map((m) => (m as { forwardedSources: string[] }).forwardedSources.join());
    assert.equal(forwarded().at(-1), `${A}-v0`, 'A joined first');
    return { c, C, forwarded };
  }

  it('ranks a source its owner calls a screen share first, replanning at most every VIDEO_TYPE_REFRESH_MS however often the type flips', async () => {
    const { c, forwarded } = lastNOfOne();
    c.say(B, { colibriClass: 'SourceVideoTypeMessage', sourceName: `${B}-v0`, videoType: 'DESKTOP' });
    assert.equal(forwarded().at(-1), `${B}-v0`, 'a screen share comes first, at once');
    const told = forwarded().length;
    for (let i = 0; i < 40; i++) c.say(B, { colibriClass: 'SourceVideoTypeMessage', sourceName: `${B}-v0`, videoType: i % 2 === 0 ? 'CAMERA' : 'DESKTOP' });
    c.say(B, { colibriClass: 'SourceVideoTypeMessage', sourceName: `${B}-v0`, videoType: 'CAMERA' });
    assert.equal(forwarded().length, told, 'the flips wait for the next refresh');
    await new Promise((resolve) => setTimeout(resolve, VIDEO_TYPE_REFRESH_MS + 100));
    assert.deepEqual(forwarded().slice(told), [`${A}-v0`], 'one refresh, with the type last said');
  });

  it('sends nobody a camera its owner says is off (video type none, as lib-jitsi-meet says of a muted camera), which then takes no last-N slot; back when it says camera', async () => {
    const { c, C, forwarded } = lastNOfOne();
    c.say(A, { colibriClass: 'SourceVideoTypeMessage', sourceName: `${A}-v0`, videoType: 'none' });
    assert.equal(forwarded().at(-1), `${B}-v0`, "A's camera off: B's takes the one slot");
    c.a.emit('rtp', vp8Rtp(1001, 1, { key: true }));
    assert.ok(!c.endpoints.get(C)!.sentRtp.some((p) => p.readUInt32BE(8) === 1001), "nothing of A's camera goes to C");
    await new Promise((resolve) => setTimeout(resolve, VIDEO_TYPE_REFRESH_MS + 100));
    c.say(A, { colibriClass: 'SourceVideoTypeMessage', sourceName: `${A}-v0`, videoType: 'camera' });
    assert.equal(forwarded().at(-1), `${A}-v0`, 'back on: A first again');
  });

  it('keeps a video type said on the channel before the source is announced, and applies it when it is (the channel is faster than the focus)', () => {
    const { c, forwarded } = lastNOfOne();
    c.say(B, { colibriClass: 'SourceVideoTypeMessage', sourceName: `${B}-v1`, videoType: 'desktop' });
    assert.equal(forwarded().at(-1), `${A}-v0`, 'nothing to apply it to yet');
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: B, media: [], capabilities: [], sources: [
      ...B_SOURCES, { type: 'video', id: `${B}-v1`, sources: [source(6002, `${B}-v1`)], ssrcGroups: [] },
    ] }], relays: [] });
    assert.equal(forwarded().at(-1), `${B}-v1`, 'announced (as a camera by its signalling): the screen share it was said to be, first');
  });

  /** C, an endpoint without source names (no `source-names` capability: a lib-jitsi-meet of before them), with audio and a camera. */
  function legacyEndpoint(c: ReturnType<typeof conference>, media: Colibri2Media[] = []): string {
    const C = 'ijkl9012';
    c.inbox.set(C, []);
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: C, create: true, media, capabilities: [], sources: [
      { type: 'audio', id: `${C}-a0`, sources: [source(7001, `${C}-a0`)], ssrcGroups: [] },
      { type: 'video', id: `${C}-v0`, sources: [source(8001, `${C}-v0`)], ssrcGroups: [] },
    ] }], relays: [] });
    return C;
  }

  it('tells a receiver without source names which endpoints\' video it is forwarded the legacy way too, and only it', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const C = legacyEndpoint(c);
    // C is forwarded A's and B's video, then with last-N 1 only one of them.
    assert.deepEqual(c.of(C, 'ForwardedSources').at(-1), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v0`, `${B}-v0`] });
    assert.deepEqual(c.of(C, 'LastNEndpointsChangeEvent').at(-1), { colibriClass: 'LastNEndpointsChangeEvent', lastNEndpoints: [A, B] });
    c.say(C, { colibriClass: 'ReceiverVideoConstraints', lastN: 1 });
    const forwarded = c.of(C, 'ForwardedSources').at(-1) as { forwardedSources: string[] };
    assert.equal(forwarded.forwardedSources.length, 1);
    const owner = forwarded.forwardedSources[0]!.split('-')[0]!;
    assert.deepEqual(c.of(C, 'LastNEndpointsChangeEvent').at(-1), { colibriClass: 'LastNEndpointsChangeEvent', lastNEndpoints: [owner] });
    assert.deepEqual([...c.of(A, 'LastNEndpointsChangeEvent'), ...c.of(B, 'LastNEndpointsChangeEvent')], [], 'A and B, who name their sources, get ForwardedSources only');
    assert.ok(c.of(A, 'ForwardedSources').length > 0 && c.of(B, 'ForwardedSources').length > 0);
    // A channel that opens later learns both forms.
    c.inbox.set(C, []);
    c.svc.onChannelOpened(MEETING, C);
    assert.deepEqual(c.inbox.get(C)!.filter((m) => m.colibriClass === 'ForwardedSources' || m.colibriClass === 'LastNEndpointsChangeEvent'), [
      { colibriClass: 'ForwardedSources', forwardedSources: forwarded.forwardedSources },
      { colibriClass: 'LastNEndpointsChangeEvent', lastNEndpoints: [owner] },
    ]);
  });

  /** Longer than the bridge's least gap between two SenderVideoConstraints to one endpoint (250 ms), on the process clock. */
  const afterLegacyGap = () => new Promise((resolve) => setTimeout(resolve, 300));

  it('tells a sender without source names its camera\'s constraint the legacy way too (SenderVideoConstraints), and only it', async () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const C = legacyEndpoint(c);
    assert.deepEqual(c.of(C, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${C}-v0`, maxHeight: 2160 });
    assert.deepEqual(c.of(C, 'SenderVideoConstraints'), [{ colibriClass: 'SenderVideoConstraints', videoConstraints: { idealHeight: 2160 } }]);
    for (const id of [A, B]) c.say(id, { colibriClass: 'ReceiverVideoConstraints', constraints: { [`${C}-v0`]: { maxHeight: 180 } } });
    await afterLegacyGap();
    assert.deepEqual(c.of(C, 'SenderVideoConstraints').at(-1), { colibriClass: 'SenderVideoConstraints', videoConstraints: { idealHeight: 180 } });
    assert.deepEqual([...c.of(A, 'SenderVideoConstraints'), ...c.of(B, 'SenderVideoConstraints')], [], 'A and B, who name their sources, get SenderSourceConstraints only');
    c.inbox.set(C, []);
    c.svc.onChannelOpened(MEETING, C);
    assert.deepEqual(c.inbox.get(C)!.filter((m) => m.colibriClass.startsWith('Sender')), [
      { colibriClass: 'SenderSourceConstraints', sourceName: `${C}-v0`, maxHeight: 180 },
      { colibriClass: 'SenderVideoConstraints', videoConstraints: { idealHeight: 180 } },
    ], 'and again when its channel opens');
  });

  it('paces SenderVideoConstraints: one at a time at least 250 ms apart, the latest of those asked meanwhile, none after the endpoint left', () => {
    const media = new ManualClock();
    const c = conference({ mediaClock: media });
    close = () => c.svc.close('test over');
    const C = legacyEndpoint(c);
    const heights = () => c.of(C, 'SenderVideoConstraints').map((m) => (m as { videoConstraints: { idealHeight: number } }).videoConstraints.idealHeight);
    const constrain = (height: number) => c.say(A, { colibriClass: 'ReceiverVideoConstraints', onStageSources: height === 720 ? [`${C}-v0`] : [], constraints: { [`${C}-v0`]: { maxHeight: height } } });
    assert.deepEqual(heights(), [2160]);
    // A receiver's first constraints, then its stage, within milliseconds (as when it joins).
    media.advance(10);
    constrain(180);
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', constraints: { [`${C}-v0`]: { maxHeight: 180 } } });
    media.advance(20);
    constrain(720);
    assert.deepEqual(heights(), [2160], 'the next waits for the gap');
    assert.deepEqual(c.of(C, 'SenderSourceConstraints').map((m) => (m as { maxHeight: number }).maxHeight), [2160, 180, 720], 'SenderSourceConstraints are not paced');
    media.advance(219);
    assert.deepEqual(heights(), [2160], 'not before 250 ms');
    media.advance(1);
    assert.deepEqual(heights(), [2160, 720], 'then only the latest, 180 never');
    // Alone after the gap: at once.
    media.advance(250);
    constrain(180);
    assert.deepEqual(heights(), [2160, 720, 180]);
    // Changed, and changed back to the height sent, within the gap: nothing to send.
    media.advance(50);
    constrain(720);
    constrain(180);
    media.advance(500);
    assert.deepEqual(heights(), [2160, 720, 180]);
    // One waiting when the endpoint leaves is dropped with it.
    const D = 'mnop3456';
    c.say(C, { colibriClass: 'ReceiverVideoConstraints', constraints: {} }); // C too asks 180 of whom it does not name
    c.inbox.set(D, []);
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: D, create: true, media: [], capabilities: [], sources: [
      { type: 'video', id: `${D}-v0`, sources: [source(9001, `${D}-v0`)], ssrcGroups: [] },
    ] }], relays: [] });
    const dHeights = () => c.of(D, 'SenderVideoConstraints').length;
    assert.equal(dHeights(), 1);
    const timers = media.pending;
    c.say(A, { colibriClass: 'ReceiverVideoConstraints', constraints: { [`${D}-v0`]: { maxHeight: 360 } } });
    assert.equal(media.pending, timers + 1, 'D\'s next constraint waits');
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: D, expire: true, media: [], capabilities: [] }], relays: [] });
    media.advance(500);
    assert.equal(dHeights(), 1, 'nothing after it left');
    // One waiting when VP9 comes to be offered is not sent (that lib-jitsi-meet would cap its VP9 at the 180p layer).
    constrain(720);
    constrain(360);
    const vp9 = new Element('payload-type', { xmlns: 'urn:xmpp:jingle:apps:rtp:1', id: '101', name: 'VP9', clockrate: '90000' });
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: C, media: [{ type: 'video', payloadTypes: [vp9], rtpHdrExts: [], extmapAllowMixed: false }], capabilities: [] }], relays: [] });
    media.advance(500);
    // D, a receiver without constraints while it was there, had C's camera raised to 2160, then back (paced).
    assert.deepEqual(heights(), [2160, 720, 180, 2160, 180, 720], 'nothing once VP9 is offered');
  });

  it('sends no SenderVideoConstraints while VP9 is offered (lib-jitsi-meet 2.6726 would cap its VP9 at the 180p layer\'s bitrate)', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const vp9 = new Element('payload-type', { xmlns: 'urn:xmpp:jingle:apps:rtp:1', id: '101', name: 'VP9', clockrate: '90000' });
    const C = legacyEndpoint(c, [{ type: 'video', payloadTypes: [vp9], rtpHdrExts: [], extmapAllowMixed: false }]);
    assert.deepEqual(c.of(C, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${C}-v0`, maxHeight: 2160 });
    assert.deepEqual(c.of(C, 'SenderVideoConstraints'), []);
  });

  it('announces the dominant speaker from audio levels to everyone, and to a channel that opens later', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    c.a.emit('rtp', rtp(3190521134, 1, 0x80 | 20));
    const event = { colibriClass: 'DominantSpeakerEndpointChangeEvent', dominantSpeakerEndpoint: A, previousSpeakers: [], silence: false };
    assert.deepEqual(c.of(A, 'DominantSpeakerEndpointChangeEvent'), [event]);
    assert.deepEqual(c.of(B, 'DominantSpeakerEndpointChangeEvent'), [event]);
    assert.equal(c.b.sentRtp.at(-1)![17], 0x80 | 20, 'the level itself is forwarded untouched');

    c.inbox.set(B, []);
    c.svc.onChannelOpened(MEETING, B);
    assert.deepEqual(c.inbox.get(B), [
      event,
      { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v0`] },
      { colibriClass: 'SenderSourceConstraints', sourceName: `${B}-v0`, maxHeight: 2160 },
    ]);
  });

  it('with "route loudest only", forwards the loudest speakers\' audio and the dominant speaker\'s, and stops the rest', () => {
    const c = conference({ loudestAudio: 1 });
    close = () => c.svc.close('test over');
    const C = 'ijkl9012';
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: C, create: true, media: [], capabilities: [], sources: [
      { type: 'audio', id: `${C}-a0`, sources: [source(7001, `${C}-a0`)], ssrcGroups: [] },
    ] }], relays: [] });
    const audioAt = (e: typeof c.a, ssrc: number) => e.sentRtp.filter((p) => p.readUInt32BE(8) === ssrc).length;
    // A speaks loudly and becomes the dominant speaker; B and C murmur.
    for (let seq = 1; seq <= 20; seq++) {
      c.a.emit('rtp', rtp(3190521134, seq, 20));
      c.endpoints.get(C)!.emit('rtp', rtp(7001, seq, 60));
      c.b.emit('rtp', rtp(5001, seq, 90));
      c.clock.now += 20;
    }
    assert.equal(audioAt(c.b, 3190521134), 20, 'A, the loudest and dominant, reaches B every time');
    assert.ok(audioAt(c.a, 7001) <= 1, `C is not among the loudest one: at most its first packet passed (${audioAt(c.a, 7001)})`);
    assert.equal(audioAt(c.a, 5001), 0, 'B, quieter still, reaches nobody');
    // A goes quiet (muted: no packets): C is now the loudest that is sending.
    const before = audioAt(c.b, 7001);
    c.clock.now += 200;
    for (let seq = 21; seq <= 30; seq++) {
      c.endpoints.get(C)!.emit('rtp', rtp(7001, seq, 60));
      c.b.emit('rtp', rtp(5001, seq, 90));
      c.clock.now += 20;
    }
    assert.equal(audioAt(c.b, 7001) - before, 10, 'C reaches B once A is silent');
    assert.equal(audioAt(c.endpoints.get(C)!, 5001), 0, 'B still reaches nobody');
  });

  it('forgets what a departed endpoint asked for, and hands the floor on when the dominant speaker leaves', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    c.a.emit('rtp', rtp(3190521134, 1, 20));
    c.b.emit('rtp', rtp(5001, 1, 127));
    c.say(A, { colibriClass: 'ReceiverVideoConstraints', lastN: 0 });
    assert.deepEqual(c.of(B, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${B}-v0`, maxHeight: 0 });

    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: A, expire: true, media: [], capabilities: [] }], relays: [] });
    assert.deepEqual(c.of(B, 'DominantSpeakerEndpointChangeEvent').at(-1),
      { colibriClass: 'DominantSpeakerEndpointChangeEvent', dominantSpeakerEndpoint: B, previousSpeakers: [], silence: false });
    assert.deepEqual(c.of(B, 'ForwardedSources').at(-1), { colibriClass: 'ForwardedSources', forwardedSources: [] });
    c.svc.onEndpointMessage(MEETING, A, { colibriClass: 'LastNChangedEvent', lastN: 5 });
    c.svc.onChannelOpened(MEETING, A);

    // The same id joins again: it starts from nothing asked, so B's camera is wanted at full height again.
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: A, create: true, media: [], capabilities: [] }], relays: [] });
    assert.deepEqual(c.of(B, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${B}-v0`, maxHeight: 2160 });
    c.b.emit('rtp', vp8Rtp(6001, 2));
    assert.deepEqual(c.endpoints.get(A)!.sentRtp.map((p) => p.readUInt32BE(8)), [6001]);
  });

  it('numbers what it sends each receiver on ITS transport, and moves a receiver whose REMB cannot carry the tall layer down to the low one, the other staying', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const { C, cEnd } = thirdEndpoint(c);
    c.say(B, A_ON_STAGE);
    c.say(C, A_ON_STAGE);
    // The sender's packets carry ITS transport-wide sequence number (extension 5, focus/offer.ts).
    let senderTransportSeq = 40_000;
    const frames = weightedLayerFrames(c, (p) => {
      const out = Buffer.concat([p.subarray(0, 12), Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x51, 0, 0, 0]), p.subarray(12)]);
      out[0] = (out[0]! | 0x10);
      out.writeUInt16BE(senderTransportSeq++ & 0xffff, 17);
      return out;
    });
    frames(40, (_, i) => i === 0);
    assert.deepEqual(layersOf(c.b).slice(-3), ['high', 'high', 'high'], 'B gets the tall layer');
    assert.deepEqual(layersOf(cEnd).slice(-3), ['high', 'high', 'high'], 'C too');
    const transportSeqs = (e: typeof cEnd) => e.sentRtp.filter((p) => p[0]! & 0x10).map((p) => p.readUInt16BE(17));
    const bSeqs = transportSeqs(c.b);
    assert.ok(bSeqs.length >= 40 && bSeqs.every((s, i) => i === 0 || s === ((bSeqs[i - 1]! + 1) & 0xffff)), 'B\'s packets are numbered continuously on B\'s transport');
    assert.equal(bSeqs[0], 0, 'from the bridge\'s own start, not the sender\'s numbers');

    // C says (REMB) it can take 100 kbit/s: less than the tall layer.
    cEnd.emit('rtcp', remb(100_000));
    assert.ok((c.svc.conferenceList()[0]!.bandwidthEstimate(C) ?? Infinity) <= 100_000, `C's estimate follows its REMB: ${c.svc.conferenceList()[0]!.bandwidthEstimate(C)}`);
    const [fromB, fromC] = [c.b.sentRtp.length, cEnd.sentRtp.length];
    frames(10, (ssrc, i) => ssrc === LOW && i === 2);
    assert.deepEqual(layersOf(cEnd, fromC).slice(-3), ['low', 'low', 'low'], 'C moved to the low layer on its keyframe');
    assert.deepEqual(layersOf(c.b, fromB).slice(-3), ['high', 'high', 'high'], 'B, who said nothing, keeps the tall one');
  });

  it('numbers audio sent without the transport-wide sequence number for a receiver that gives transport-cc feedback, in a copy of its own, and counts its bytes; others get it as it came', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const { cEnd } = thirdEndpoint(c);
    const MIC = 3190521134;
    let seq = 1;
    // A's microphone with its transport-wide sequence number: B and C numbered on their own transports.
    for (let i = 0; i < 3; i++) c.a.emit('rtp', withTransportSeq(rtp(MIC, seq++), 900 + i));
    c.b.emit('rtcp', transportCc(3)); // B gives transport-cc feedback
    cEnd.emit('rtcp', remb(500_000)); // C, REMB only
    // Then, as from a gateway (Jigasi): with no extension, with the audio level alone, and with the extension again.
    const sent = [rtp(MIC, seq++), rtp(MIC, seq++, 30), withTransportSeq(rtp(MIC, seq++), 903)];
    const [fromB, fromC] = [c.b.sentRtp.length, cEnd.sentRtp.length];
    const bytesBefore = c.svc.conferenceList()[0]!.mediaStats().rtpBytesForwarded;
    for (const p of sent) c.a.emit('rtp', Buffer.from(p));

    const toB = c.b.sentRtp.slice(fromB);
    assert.deepEqual(toB.map((p) => numbering(p).seq), [3, 4, 5], 'B: numbered on, consecutive with the packets that carried the extension');
    assert.deepEqual(toB.map((p) => numbering(p).payload), sent.map((p) => numbering(p).payload), 'the payload as it came');
    assert.deepEqual(toB.map((p) => p.length), [sent[0]!.length + 8, sent[1]!.length + 4, sent[2]!.length]);
    assert.deepEqual(c.b.sentRtp.slice(0, fromB).map((p) => numbering(p).seq), [0, 1, 2]);
    const toC = cEnd.sentRtp.slice(fromC);
    assert.deepEqual(toC.slice(0, 2), sent.slice(0, 2), 'C: as it came, byte for byte');
    assert.equal(numbering(toC[2]!).seq, 3, 'numbered where the packet carries the extension');
    const bytes = [...toB, ...toC].reduce((sum, p) => sum + p.length, 0);
    assert.equal(c.svc.conferenceList()[0]!.mediaStats().rtpBytesForwarded - bytesBefore, bytes, 'the bytes sent are counted');
  });

  it('numbers packets sent without the transport-wide sequence number from the first one for a receiver whose media negotiated it, before any feedback (a receiver of a gateway\'s audio alone)', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const hdrext = (id: number, uri: string) => new Element('rtp-hdrext', { xmlns: 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0', id: String(id), uri });
    const TCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
    const media = (tcc: boolean): Colibri2Media[] => [{ type: 'audio', payloadTypes: [], rtpHdrExts: [hdrext(1, 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'), ...(tcc ? [hdrext(5, TCC_URI)] : [])] }];
    // C's session has the extension, D's (a client without transport-cc) does not; neither has given feedback.
    const [C, D] = ['ijkl9012', 'mnop3456'];
    for (const [id, tcc] of [[C, true], [D, false]] as const) {
      c.inbox.set(id, []);
      c.svc.modify({ meetingId: MEETING, endpoints: [{ id, create: true, media: media(tcc), capabilities: [] }], relays: [] });
    }
    const [cEnd, dEnd] = [c.endpoints.get(C)!, c.endpoints.get(D)!];
    const MIC = 3190521134;
    const sent = [rtp(MIC, 1), rtp(MIC, 2, 30), rtp(MIC, 3)];
    for (const p of sent) c.a.emit('rtp', Buffer.from(p));
    assert.deepEqual(cEnd.sentRtp.map((p) => numbering(p).seq), [0, 1, 2], 'C: numbered from the first packet');
    assert.deepEqual(cEnd.sentRtp.map((p) => numbering(p).payload), sent.map((p) => numbering(p).payload), 'the payload as it came');
    assert.deepEqual(dEnd.sentRtp, sent, 'D: as it came, byte for byte');
    // An update naming media without the extension (a renegotiation) stops it; one without media changes nothing.
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: C, media: [], capabilities: [] }], relays: [] });
    c.a.emit('rtp', rtp(MIC, 4));
    assert.equal(numbering(cEnd.sentRtp.at(-1)!).seq, 3);
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: C, media: media(false), capabilities: [] }], relays: [] });
    c.a.emit('rtp', rtp(MIC, 5));
    assert.deepEqual(cEnd.sentRtp.at(-1), rtp(MIC, 5));
  });

  it('numbers video sent without the transport-wide sequence number for a receiver that gives transport-cc feedback, a frame end repeated as the same numbered copy', () => {
    /** The real estimator, reporting 10 % loss on a path whose queue does not grow: frame ends go twice. */
    class Lossy extends SendSideBandwidthEstimator {
      override get lossFraction(): number {
        return 0.1;
      }
    }
    const c = conference({ createEstimator: () => new Lossy() });
    close = () => c.svc.close('test over');
    const { C, cEnd } = thirdEndpoint(c);
    const stage = { colibriClass: 'ReceiverVideoConstraints', onStageSources: [`${A}-v0`], defaultConstraints: { maxHeight: 180 }, constraints: { [`${A}-v0`]: { maxHeight: 180 } } };
    c.say(B, stage);
    c.say(C, stage);
    // One packet per picture, each ending it (the marker); with the sender's transport-wide sequence number until `bare`.
    let bare = false;
    let senderSeq = 0;
    const frames = weightedLayerFrames(c, (p) => {
      p[1] = p[1]! | 0x80;
      return bare ? p : withTransportSeq(p, senderSeq++);
    });
    frames(3, (_, i) => i === 0);
    c.b.emit('rtcp', transportCc(3));
    cEnd.emit('rtcp', remb(2_000_000));
    const low = (e: typeof cEnd, from: number) => e.sentRtp.slice(from).filter((p) => p.readUInt32BE(8) === LOW);
    const numberedB = low(c.b, 0).map((p) => numbering(p).seq);
    assert.deepEqual(numberedB, [0, 1, 2], 'numbered while the sender numbered its packets');
    const [fromB, fromC] = [c.b.sentRtp.length, cEnd.sentRtp.length];
    const bytesBefore = c.svc.conferenceList()[0]!.mediaStats().rtpBytesForwarded;
    bare = true;
    frames(3, () => false);

    const toB = low(c.b, fromB);
    assert.equal(toB.length, 6, 'each frame end twice');
    const last = numberedB.at(-1)!;
    assert.deepEqual(toB.map((p) => numbering(p).seq), [last + 1, last + 1, last + 2, last + 2, last + 3, last + 3], 'B: numbered on; a repeat is the same datagram');
    assert.ok(toB.every((p, i) => p.equals(toB[i - (i % 2)]!)), 'byte for byte');
    const toC = low(cEnd, fromC);
    assert.equal(toC.length, 6);
    assert.ok(toC.every((p) => !(p[0]! & 0x10)), 'C: no extension added');
    assert.ok(toB.every((p, i) => p.length === toC[i]!.length + 8));
    const bytes = [...c.b.sentRtp.slice(fromB), ...cEnd.sentRtp.slice(fromC)].reduce((sum, p) => sum + p.length, 0);
    assert.equal(c.svc.conferenceList()[0]!.mediaStats().rtpBytesForwarded - bytesBefore, bytes, 'the bytes sent are counted, repeats included');
  });

  it('stops a receiver\'s tall layer at once when its bandwidth moves it down while its path\'s queue fills, and only then', () => {
    /** The real estimator, but the test says whether the path's queue fills. */
    class Judged extends SendSideBandwidthEstimator {
      queueFills = false;
      override overloaded(): boolean {
        return this.queueFills;
      }
    }
    const closers: Array<() => void> = [];
    close = () => { for (const end of closers) end(); };
    /** B and C with A's camera on stage at 720, 40 frames on both layers; C's REMB then asks less than the tall layer, its queue filling or not. */
    const run = (queueFills: boolean) => {
      const estimators: Judged[] = [];
      const c = conference({ createEstimator: () => { const e = new Judged(); estimators.push(e); return e; } });
      closers.push(() => c.svc.close('test over'));
      const { C, cEnd } = thirdEndpoint(c);
      const cEstimator = estimators.at(-1)!; // C joined last
      c.say(B, A_ON_STAGE);
      c.say(C, A_ON_STAGE);
      // One packet per picture: each ends it (the marker).
      const frames = weightedLayerFrames(c, (p) => {
        p[1] = p[1]! | 0x80;
        return p;
      });
      frames(40, (_, i) => i === 0);
      assert.deepEqual(layersOf(cEnd).slice(-3), ['high', 'high', 'high'], 'C gets the tall layer');
      cEstimator.queueFills = queueFills;
      cEnd.emit('rtcp', remb(100_000));
      const conferenceOf = c.svc.conferenceList()[0]!;
      assert.ok((conferenceOf.bandwidthEstimate(C) ?? Infinity) <= 100_000, 'C\'s estimate follows its REMB');
      const [fromB, fromC] = [c.b.sentRtp.length, cEnd.sentRtp.length];
      frames(10, (ssrc, i) => ssrc === LOW && i === 2);
      return { c: layersOf(cEnd, fromC), b: layersOf(c.b, fromB), holds: conferenceOf.mediaStats().bandwidthHolds };
    };

    const filling = run(true);
    assert.deepEqual(filling.c, Array(8).fill('low'), 'nothing of the tall layer once moved down; the low one from its keyframe');
    assert.equal(filling.holds, 1);
    assert.deepEqual(filling.b, Array(10).fill('high'), 'B, who said nothing, keeps the tall one, every frame');
    const calm = run(false);
    assert.deepEqual(calm.c, ['high', 'high', ...Array(8).fill('low')], 'its queue not filling: the tall layer until the low one\'s keyframe');
    assert.equal(calm.holds, 0);
  });

  it('stops a REMB-only receiver\'s tall layer at once when its REMB falls below it (the receiver\'s own over-use signal)', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const { C, cEnd } = thirdEndpoint(c);
    c.say(C, A_ON_STAGE);
    const frames = weightedLayerFrames(c, (p) => {
      p[1] = p[1]! | 0x80;
      return p;
    });
    cEnd.emit('rtcp', remb(2_000_000)); // C's estimator from REMB only: room for the tall layer
    frames(40, (_, i) => i === 0);
    assert.deepEqual(layersOf(cEnd).slice(-3), ['high', 'high', 'high'], 'C gets the tall layer');
    const conferenceOf = c.svc.conferenceList()[0]!;
    cEnd.emit('rtcp', remb(2_000_000)); // its periodic REMB: an allocation now
    c.clock.now += 100; // the fall comes sooner after it than allocations usually follow each other
    cEnd.emit('rtcp', remb(100_000));
    const from = cEnd.sentRtp.length;
    frames(10, (ssrc, i) => ssrc === LOW && i === 2);
    assert.deepEqual(layersOf(cEnd, from), Array(8).fill('low'), 'nothing of the tall layer once its REMB fell; the low one from its keyframe');
    assert.equal(conferenceOf.mediaStats().bandwidthHolds, 1);
  });

  it('suspends for a receiver the source its bandwidth cannot carry even at its lowest layer, says so, and resumes it without a gap once it can', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    // B's camera takes more than C's REMB will leave for it.
    const { C, cEnd, conferenceOf, frames, bCopies } = thumbnailAndStage(c);
    frames(40, (i) => i === 0, (_, i) => i === 0);
    assert.ok(bCopies().length >= 39, 'C gets B\'s camera');
    assert.deepEqual(c.of(C, 'ForwardedSources').at(-1), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v0`, `${B}-v0`] });

    // C can take 100 kbit/s: A's low layer (about 10 kbit/s) fits, B's camera does not.
    cEnd.emit('rtcp', remb(100_000));
    assert.deepEqual(c.of(C, 'ForwardedSources').at(-1), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v0`] }, 'C is told B\'s camera is no longer forwarded');
    assert.equal(conferenceOf.mediaStats().bandwidthSuspensions, 1);
    const suspendedAt = cEnd.sentRtp.length;
    frames(10, () => false, (ssrc, i) => ssrc === LOW && i === 2);
    assert.equal(bCopies(suspendedAt).length, 0, 'nothing of B\'s camera while suspended');
    assert.deepEqual(layersOf(cEnd, suspendedAt).slice(-3), ['low', 'low', 'low'], 'A\'s camera, ranked first, goes on at its low layer');
    assert.equal(c.of(C, 'ForwardedSources').length, 2, 'said once');

    // Just enough for B's camera at the edge: not back yet (the margin), so no flapping.
    const plis = () => c.b.sentRtcp.filter((p) => p[1] === 206 && (p[0]! & 0x1f) === 1).length;
    const plisBefore = plis();
    c.clock.now += 300;
    cEnd.emit('rtcp', remb(160_000));
    frames(3);
    assert.equal(bCopies(suspendedAt).length, 0, 'still suspended at the edge');
    assert.equal(c.of(C, 'ForwardedSources').length, 2);

    // Room again: B's camera comes back, C is told, B is asked for a keyframe, and C's copies go on from the next sequence number.
    c.clock.now += 300;
    cEnd.emit('rtcp', remb(1_000_000));
    assert.deepEqual(c.of(C, 'ForwardedSources').at(-1), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v0`, `${B}-v0`] });
    assert.ok(plis() > plisBefore, 'B is asked for a keyframe of its camera');
    // It goes on at its keyframe (a VP8 stream paused: C still holds its old references).
    const resumedAt = cEnd.sentRtp.length;
    frames(3, (i) => i === 1);
    const resumed = bCopies(resumedAt);
    assert.equal(resumed.length, 2, 'B\'s camera again, from its keyframe');
    const lastBefore = bCopies(0, suspendedAt).length > 0 ? bCopies().at(-1 - resumed.length)! : undefined;
    assert.ok(lastBefore, 'C had B\'s camera before');
    assert.equal(resumed[0]!.readUInt16BE(2), (lastBefore.readUInt16BE(2) + 1) & 0xffff, 'no gap in C\'s sequence numbers');
    assert.equal(conferenceOf.mediaStats().bandwidthSuspensions, 1);
  });

  it('paces a probe cluster at its target on the timer grid, its copies marked, and drops its timer when the receiver leaves', () => {
    /** The real estimator with its estimate held at 400 kbit/s, what it is told of clusters kept. */
    class HeldEstimate extends SendSideBandwidthEstimator {
      readonly clusterSends: Array<{ at: number; cluster: number }> = [];
      readonly begun: Array<{ id: number; targetBps: number; at: number }> = [];
      readonly sent: number[] = [];
      override get estimateBps(): number {
        return 400_000;
      }
      override transportCcFeedback(): boolean {
        return false;
      }
      override beginProbeCluster(id: number, targetBps: number, at: number): boolean {
        this.begun.push({ id, targetBps, at });
        return super.beginProbeCluster(id, targetBps, at);
      }
      override packetSent(sequence: number, size: number, at: number, cluster = 0): void {
        if (cluster !== 0) this.clusterSends.push({ at, cluster });
        super.packetSent(sequence, size, at, cluster);
      }
      override probeClusterSent(id: number): void {
        this.sent.push(id);
        super.probeClusterSent(id);
      }
    }
    const media = new ManualClock();
    const estimators: HeldEstimate[] = [];
    const c = conference({ mediaClock: media, createEstimator: () => { const e = new HeldEstimate(); estimators.push(e); return e; } });
    close = () => c.svc.close('test over');
    const { C, cEnd } = thirdEndpoint(c);
    const estimator = estimators.at(-1)!;
    c.say(C, A_ON_STAGE);
    // Frames of 1,200 bytes on the low layer (290 kbit/s), 3,000 on the tall one (730), with the
    // sender's transport-wide sequence number (what C is sent is numbered in place).
    let senderTransportSeq = 0;
    const frames = weightedLayerFrames(c, (p) => {
      const size = p.readUInt32BE(8) === LOW ? 1200 : 3000;
      const numbered = withTransportSeq(p, senderTransportSeq++);
      return Buffer.concat([numbered.subarray(0, numbered.length - 1), Buffer.alloc(Math.max(0, size - numbered.length)), numbered.subarray(-1)]);
    });
    /** Both clocks (the channel's and the timers') on to `at`, one millisecond at a time. */
    const until = (at: number) => {
      while (c.clock.now < at) {
        c.clock.now++;
        media.advance(c.clock.now - media.now());
      }
    };
    frames(40, (_, i) => i === 0);
    until(c.clock.now);
    // Its transport-cc feedback with the estimate at 400 kbit/s: held below the tall layer it wants.
    cEnd.emit('rtcp', transportCc(2));
    frames(10, (ssrc, i) => ssrc === LOW && i === 2);
    assert.deepEqual(layersOf(cEnd).slice(-3), ['low', 'low', 'low'], 'C moved down to the low layer');
    assert.equal(estimator.begun.length, 0, 'no cluster in the first second held back');
    // Feedback every 99 ms, as a browser gives it, until a cluster opens (a second after the first).
    const heldAt = c.clock.now - 330;
    while (estimator.begun.length === 0) {
      frames(3, () => false);
      until(c.clock.now);
      cEnd.emit('rtcp', transportCc(2));
    }
    const start = c.clock.now;
    const afterFirstStep = cEnd.sentRtp.length;
    assert.ok(start - heldAt >= 1000 && start - heldAt < 1100, `a second after it was held back: ${start - heldAt} ms`);
    const target = estimator.begun[0]?.targetBps ?? 0;
    assert.deepEqual(estimator.begun, [{ id: 1, targetBps: target, at: start }]);
    assert.ok(target > 600_000 && target <= 800_000, `a cluster at what its layers take, up to twice the estimate: ${target}`);
    assert.deepEqual(estimator.clusterSends, [{ at: start, cluster: 1 }], 'its first packet at once, the rest later');
    until(start + 200);
    // A 1,200-byte packet each time the target owes one, each step on the grid up to 5 ms ahead
    // of it (the grid rounds up: never behind), so that the cluster leaves at its target or more.
    const gap = (1200 * 8000) / target;
    const times = estimator.clusterSends.map((s) => s.at - start);
    assert.equal(times.length, 5, `five packets: ${times}`);
    assert.ok(estimator.clusterSends.every((s) => s.cluster === 1));
    for (let i = 1; i < times.length; i++) {
      assert.ok(times[i]! - times[i - 1]! >= PROBE_PACE_MS && times[i]! <= gap * i && times[i]! > gap * i - PROBE_PACE_MS, `paced at the target (a packet every ${gap} ms): ${times}`);
    }
    assert.ok((4 * 1202 * 8000) / times[4]! < 1.5 * target, 'not a burst');
    assert.deepEqual(estimator.sent, [1], 'the estimator told once it was all sent');
    const later = cEnd.sentRtp.slice(afterFirstStep);
    assert.equal(later.length, 4, 'nothing else was sent meanwhile');
    assert.ok(later.every((p) => p.readUInt32BE(8) === LOW_RTX), 'the later steps\' copies, as RTX on the receiver\'s RTX SSRC');
    const originalSequence = (p: Buffer) => {
      const h = new RtpHeader();
      assert.equal(h.parse(p), 'ok');
      return p.readUInt16BE(h.payloadOffset);
    };
    assert.equal(new Set(later.map(originalSequence)).size, 4, 'of different packets (each step further back)');

    // The next cluster (the last raised nothing: two seconds later), C leaving during it.
    while (estimator.begun.length === 1) {
      frames(3, () => false);
      until(c.clock.now);
      cEnd.emit('rtcp', transportCc(2));
    }
    assert.deepEqual(estimator.begun.map((b) => b.id), [1, 2]);
    assert.ok(estimator.begun[1]!.at - start >= 2000 && estimator.begun[1]!.at - start < 2100, 'two seconds after the first');
    assert.equal(estimator.clusterSends.length, 6, 'its first packet');
    // Feedback meanwhile starts no second round of steps.
    until(c.clock.now + 3);
    cEnd.emit('rtcp', transportCc(2));
    until(estimator.begun[1]!.at + gap);
    assert.equal(estimator.clusterSends.length, 7, 'its second packet, once');
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: C, expire: true, media: [], capabilities: [] }], relays: [] });
    assert.deepEqual(estimator.sent, [1, 2], 'cut short after two steps: what was sent of it is all there will be');
    const pending = media.pending;
    until(c.clock.now + 200);
    assert.equal(estimator.clusterSends.length, 7, 'no step after it left');
    assert.ok(media.pending <= pending, 'its step timer was cancelled');
  });

  it('sends a frame end twice to a receiver losing packets without congestion, but a retransmission of it once', () => {
    /** The real estimator, reporting 10 % loss on a path whose queue does not grow. */
    class Lossy extends SendSideBandwidthEstimator {
      override get lossFraction(): number {
        return 0.1;
      }
    }
    const c = conference({ createEstimator: () => new Lossy() });
    close = () => c.svc.close('test over');
    const { cEnd } = thirdEndpoint(c);
    cEnd.emit('rtcp', remb(200_000)); // C gave feedback: its estimator's judgement counts
    // One packet per picture, each ending it (the marker).
    const frames = weightedLayerFrames(c, (p) => {
      p[1] = p[1]! | 0x80;
      return p;
    });
    frames(5, (_, i) => i === 0);
    const media = cEnd.sentRtp.filter((p) => p.readUInt32BE(8) === LOW);
    assert.ok(media.length >= 8 && media.length % 2 === 0, `each frame end twice: ${media.length}`);
    assert.ok(media.every((p, i) => p.equals(media[i - (i % 2)]!)), 'the same packet twice, byte for byte');
    const last = media.at(-1)!;
    const before = cEnd.sentRtp.length;
    cEnd.emit('rtcp', nack(0xc, LOW, last.readUInt16BE(2)));
    const resent = cEnd.sentRtp.slice(before);
    assert.deepEqual(resent.map((p) => p.readUInt32BE(8)), [LOW_RTX], 'its retransmission once: a lost RTX is asked again like any packet');
    assert.equal(c.svc.conferenceList()[0]!.mediaStats().frameEndsRepeated, media.length / 2);
  });

  it('applies a receiver\'s caps at once when its plan changes: a source new to it is not sent over them, and one the budget now affords is back without waiting for feedback', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const { C, cEnd, conferenceOf, frames: framesOf, bCopies: copiesOf } = thumbnailAndStage(c);
    const frames = (n: number) => framesOf(n, () => true, () => true);
    const bCopies = (from: number) => copiesOf(from).length;
    frames(40);
    cEnd.emit('rtcp', remb(100_000));
    assert.deepEqual(c.of(C, 'ForwardedSources').at(-1), { colibriClass: 'ForwardedSources', forwardedSources: [`${A}-v0`] }, 'B\'s camera suspended for C');
    const told = c.of(C, 'ForwardedSources').length;

    // C narrows to one source, then widens again, with no feedback between: B's camera, new to its plan, stays off.
    c.say(C, { colibriClass: 'ReceiverVideoConstraints', lastN: 1 });
    c.say(C, { colibriClass: 'ReceiverVideoConstraints', lastN: -1 });
    let mark = cEnd.sentRtp.length;
    frames(3);
    assert.equal(bCopies(mark), 0, 'not sent over its cap');
    assert.equal(c.of(C, 'ForwardedSources').length, told, 'nothing to tell: C is sent A\'s camera all along');
    assert.equal(conferenceOf.mediaStats().bandwidthSuspensions, 1, 'one stop, counted once');

    // A leaves: B's camera is C's first source now, sent whatever the budget, with no feedback from C needed.
    c.svc.modify({ meetingId: MEETING, endpoints: [{ id: A, expire: true, media: [], capabilities: [] }], relays: [] });
    const forwarded = c.of(C, 'ForwardedSources').map((m) => (m as { forwardedSources: string[] }).forwardedSources.join());
    assert.deepEqual(forwarded.slice(told - 1), [`${A}-v0`, `${B}-v0`], 'told when the set changed only');
    mark = cEnd.sentRtp.length;
    frames(3);
    assert.equal(bCopies(mark), 3, 'C gets B\'s camera again');
  });

  it('tells a receiver its forwarded sources when the set changes, not when only their rank does', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const { C, cEnd } = thirdEndpoint(c);
    c.say(C, { colibriClass: 'ReceiverVideoConstraints', onStageSources: [`${A}-v0`], defaultConstraints: { maxHeight: 180 } });
    let bSeq = 500;
    const aFrames = weightedLayerFrames(c, (p) => p);
    const frames = (n: number) => {
      for (let i = 0; i < n; i++) {
        c.b.emit('rtp', vp8Rtp(6001, bSeq++, { key: true, height: 180 }));
        aFrames(1, () => true);
      }
    };
    frames(40);
    cEnd.emit('rtcp', remb(2_000_000)); // room for everything
    const told = c.of(C, 'ForwardedSources').length;
    for (const stage of [B, A, B, A]) {
      c.say(C, { colibriClass: 'ReceiverVideoConstraints', onStageSources: [`${stage}-v0`] });
      c.clock.now += 300;
      cEnd.emit('rtcp', remb(2_000_000)); // an allocation after each
    }
    assert.equal(c.of(C, 'ForwardedSources').length, told, 'the same two sources all along');
  });

  it('caps camera video bridge-wide while overloaded: senders asked for less, receivers moved down on a keyframe, and back', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const { C, cEnd } = thirdEndpoint(c);
    c.say(C, { colibriClass: 'ReceiverVideoConstraints', onStageSources: [`${A}-v0`], constraints: { [`${A}-v0`]: { maxHeight: 720 } } });
    const { frames } = layerFrames(c);
    frames(1, () => false);
    frames(3, (_, i) => i === 0);
    assert.deepEqual(layersOf(cEnd), ['high', 'high', 'high'], 'C, with A on stage at 720, gets the high layer');

    c.svc.setCameraMaxHeight(360);
    assert.deepEqual(c.of(A, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 360 }, 'A is asked for 360 at most');
    const fromC = cEnd.sentRtp.length;
    const fromB = c.b.sentRtp.length;
    frames(4, (ssrc, i) => ssrc === LOW && i === 1);
    assert.deepEqual(layersOf(cEnd, fromC), ['high', 'low', 'low', 'low'], 'C moved down on the low layer\'s keyframe');
    assert.deepEqual(layersOf(c.b, fromB).slice(-3), ['low', 'low', 'low'], 'so did B');

    c.svc.setCameraMaxHeight(undefined);
    assert.deepEqual(c.of(A, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 2160 }, 'the cap lifted');
    const back = cEnd.sentRtp.length;
    frames(3, (ssrc, i) => ssrc === HIGH && i === 1);
    assert.deepEqual(layersOf(cEnd, back).slice(-2), ['high', 'high'], 'C back on the high layer from its keyframe');
  });

  it('applies the cap in force to a conference created under it', () => {
    const c = conference({ cameraMaxHeight: 180 });
    close = () => c.svc.close('test over');
    assert.deepEqual(c.of(A, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 180 });
  });

  it('sends each receiver the layer ITS constraints ask for, with its own numbering, NACK translation, retransmissions and sender reports', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    const { C, cEnd } = thirdEndpoint(c);
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', defaultConstraints: { maxHeight: 180 } });
    c.say(C, A_ON_STAGE);
    assert.deepEqual(c.of(A, 'SenderSourceConstraints').at(-1), { colibriClass: 'SenderSourceConstraints', sourceName: `${A}-v0`, maxHeight: 720 }, 'the sender is asked for the tallest');

    const { frames, next, last } = layerFrames(c);
    frames(1, () => false);
    frames(5, (_, i) => i === 0);
    assert.deepEqual(layersOf(c.b), Array(5).fill('low'), 'B (180) gets the low layer');
    assert.deepEqual(layersOf(cEnd), Array(5).fill('high'), 'C (720 on stage) gets the high layer, on the same SSRC');

    // NACKs: each receiver's sequence number goes back to the layer and sequence number it came
    // from, which the bridge still has: each gets its own layer's packet again, in its numbering, on
    // the known RTX SSRC; the sender is asked nothing
    c.a.sentRtcp.length = 0;
    const bLast = c.b.sentRtp.at(-1)!;
    const cLast = cEnd.sentRtp.at(-1)!;
    const before = [c.b.sentRtp.length, cEnd.sentRtp.length];
    c.b.emit('rtcp', nack(0xb, LOW, bLast.readUInt16BE(2)));
    cEnd.emit('rtcp', nack(0xc, LOW, cLast.readUInt16BE(2)));
    assert.deepEqual(c.a.sentRtcp.filter((p) => p[1] === 205), [], 'no NACK reaches the sender');
    const rtxTo = (e: typeof cEnd, from: number) => e.sentRtp.slice(from).map((p) => [p.readUInt32BE(8), p.readUInt16BE(12), p.at(-1) === 0x10 ? 'low' : 'high']);
    assert.deepEqual(rtxTo(cEnd, before[1]!), [[LOW_RTX, cLast.readUInt16BE(2), 'high']], 'C gets the high layer\'s packet again on the known RTX SSRC, in its numbering');
    assert.deepEqual(rtxTo(c.b, before[0]!), [[LOW_RTX, bLast.readUInt16BE(2), 'low']], 'B gets the low one, in its numbering');
    c.a.emit('rtp', rtxRtp(layerFrame(HIGH, last(HIGH), false), HIGH_RTX, 1));
    assert.equal(cEnd.sentRtp.length, before[1]! + 1, 'a retransmission nobody waits for stops at the bridge');

    // Sender reports: each layer's goes, re-stamped, to the receivers forwarded that layer only
    c.b.sentRtcp.length = 0;
    cEnd.sentRtcp.length = 0;
    c.a.emit('rtcp', senderReport(HIGH, (last(HIGH)) * 3000));
    const srs = (e: typeof cEnd) => e.sentRtcp.filter((p) => p[1] === 200).map((p) => [p.readUInt32BE(4), p.readUInt32BE(16)]);
    assert.deepEqual(srs(cEnd), [[LOW, cLast.readUInt32BE(4)]], 'C: the high layer\'s report, as the known SSRC and C\'s timestamps');
    assert.deepEqual(srs(c.b), [], 'B is not forwarded the high layer');
    c.a.emit('rtcp', senderReport(LOW, (last(LOW)) * 3000));
    assert.deepEqual(srs(c.b), [[LOW, bLast.readUInt32BE(4)]]);

    // B now wants 720 too: it switches on the high layer's keyframe, its numbering continuous
    c.clock.now += 1000;
    c.a.sentRtcp.length = 0;
    const from = c.b.sentRtp.length;
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', defaultConstraints: { maxHeight: 720 } });
    frames(2, () => false);
    assert.ok(c.a.sentRtcp.some((p) => p[1] === 206 && p.readUInt32BE(8) === HIGH), 'a keyframe is asked of the high layer');
    frames(3, (ssrc, i) => ssrc === HIGH && i === 0);
    assert.deepEqual(layersOf(c.b, from), ['low', 'low', 'low', 'high', 'high', 'high']);
    const bSeqs = c.b.sentRtp.filter((p) => p.readUInt32BE(8) === LOW).map((p) => p.readUInt16BE(2));
    for (let i = 1; i < bSeqs.length; i++) assert.equal(bSeqs[i], (bSeqs[i - 1]! + 1) & 0xffff, `B's sequence numbers continuous at ${i}`);
    const cSeqs = cEnd.sentRtp.filter((p) => p.readUInt32BE(8) === LOW).map((p) => p.readUInt16BE(2));
    for (let i = 1; i < cSeqs.length; i++) assert.equal(cSeqs[i], (cSeqs[i - 1]! + 1) & 0xffff, `C's sequence numbers continuous at ${i}`);
  });

  it('switches a receiver up at a keyframe whose first packet it had to ask the sender for again, and sends it the rest of the layer since, in order', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', defaultConstraints: { maxHeight: 180 } });
    const { frames, next } = layerFrames(c);
    frames(3, (_, i) => i === 0);
    assert.deepEqual(layersOf(c.b), Array(3).fill('low'));
    const from = c.b.sentRtp.length;
    c.say(B, { colibriClass: 'ReceiverVideoConstraints', defaultConstraints: { maxHeight: 720 } });
    // The tall layer's keyframe is lost on the way in; the two frames after it come.
    const keySeq = next(HIGH);
    const keyframe = layerFrame(HIGH, keySeq, true);
    c.a.sentRtcp.length = 0;
    for (let i = 0; i < 2; i++) {
      c.a.emit('rtp', layerFrame(HIGH, next(HIGH), false));
      c.a.emit('rtp', layerFrame(LOW, next(LOW), false));
      c.clock.now += 33;
    }
    assert.deepEqual(layersOf(c.b, from), ['low', 'low'], 'B waits for a keyframe of the tall layer');
    const asked = c.a.sentRtcp.filter((p) => p[1] === 205 && p.readUInt32BE(8) === HIGH).map((p) => p.readUInt16BE(12));
    assert.deepEqual(asked, [keySeq], 'the bridge asks the sender for the lost packet itself');
    // The sender's answer: B switches at it, and gets the keyframe and the two frames after it at once.
    c.a.emit('rtp', rtxRtp(keyframe, HIGH_RTX, 1));
    assert.deepEqual(layersOf(c.b, from), ['low', 'low', 'high', 'high', 'high']);
    const seqs = c.b.sentRtp.filter((p) => p.readUInt32BE(8) === LOW).map((p) => p.readUInt16BE(2));
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff, `B's sequence numbers continuous at ${i}`);
    frames(1, () => false);
    assert.deepEqual(layersOf(c.b, from).slice(-1), ['high'], 'and the tall layer live from then on');
  });

  it('catches a receiver up on a late keyframe only if the burst fits 100 ms of its bandwidth estimate (REMB here); else it switches at the next keyframe', () => {
    for (const [bitrate, caughtUp] of [[250_000, true], [30_000, false]] as const) {
      const c = conference();
      close = () => c.svc.close('test over');
      c.b.emit('rtcp', remb(bitrate));
      assert.equal(c.svc.conferenceList()[0]!.bandwidthEstimate(B), bitrate);
      c.say(B, { colibriClass: 'ReceiverVideoConstraints', defaultConstraints: { maxHeight: 180 } });
      const { frames, next } = layerFrames(c);
      frames(40, (_, i) => i === 0); // both layers measured
      const from = c.b.sentRtp.length;
      c.say(B, { colibriClass: 'ReceiverVideoConstraints', defaultConstraints: { maxHeight: 720 } });
      // A tall keyframe of about 1 kB, lost on the way in, then two frames of each layer.
      const keySeq = next(HIGH);
      const keyframe = Buffer.concat([layerFrame(HIGH, keySeq, true), Buffer.alloc(1_000, 0xab)]);
      for (let i = 0; i < 2; i++) {
        c.a.emit('rtp', layerFrame(HIGH, next(HIGH), false));
        c.a.emit('rtp', layerFrame(LOW, next(LOW), false));
        c.clock.now += 33;
      }
      c.a.emit('rtp', rtxRtp(keyframe, HIGH_RTX, 1));
      // 250 kbit/s carries 3,125 bytes in 100 ms: the burst of about 1.1 kB goes; 30 kbit/s, 375 bytes: it does not.
      assert.deepEqual(layersOf(c.b, from), caughtUp ? ['low', 'low', 'high', 'high', 'high'] : ['low', 'low'], `REMB ${bitrate}`);
      // Either way B wants the tall layer, and has it from its next keyframe on.
      frames(1, (ssrc) => ssrc === HIGH);
      assert.deepEqual(layersOf(c.b, from).slice(-1), ['high'], `REMB ${bitrate}: the tall layer from the next keyframe`);
      c.svc.close('test over');
    }
  });

  it('drops the VP8 temporal layers above a receiver\'s maxFrameRate, its numbering without holes', () => {
    const c = conference();
    close = () => c.svc.close('test over');
    /** One-packet frames of B's camera (single SSRC 6001) in the L1T3 pattern; TL1/TL2 layer syncs after each TL0. */
    const pattern = [0, 2, 1, 2];
    let n = 0;
    const frame = () => {
      const tid = pattern[n % 4]!;
      const p = Buffer.alloc(12 + 5 + 10, 0xab);
      p[0] = 0x80;
      p[1] = 100;
      p.writeUInt16BE(300 + n, 2);
      p.writeUInt32BE(n * 3000, 4);
      p.writeUInt32BE(6001, 8);
      p[12] = 0x90;
      p[13] = 0xa0; // I, T
      p.writeUInt16BE(0x8000 | n, 14);
      p[16] = (tid << 6) | (tid > 0 && n % 4 !== 3 ? 0x20 : 0);
      p[17] = n === 0 ? 0x10 : 0x11; // a keyframe first
      n++;
      return p;
    };
    c.say(A, { colibriClass: 'ReceiverVideoConstraints', constraints: { [`${B}-v0`]: { maxHeight: 720, maxFrameRate: 15 } } });
    for (let i = 0; i < 8; i++) c.b.emit('rtp', frame());
    const video = () => c.a.sentRtp.filter((p) => p.readUInt32BE(8) === 6001);
    // The VP8 payload descriptor where the packet sent has it: A's media negotiated the
    // transport-wide sequence number, so the bridge sends the packets numbered, the extension added.
    const descriptor = (p: Buffer): Buffer => {
      const header = new RtpHeader();
      assert.equal(header.parse(p), 'ok');
      return p.subarray(header.payloadOffset);
    };
    const tids = () => video().map((p) => descriptor(p)[4]! >> 6);
    assert.deepEqual(tids(), [0, 1, 0, 1], 'TL0 and TL1 only (15 of 30 fps)');
    c.say(A, { colibriClass: 'ReceiverVideoConstraints', constraints: { [`${B}-v0`]: { maxHeight: 720, maxFrameRate: 30 } } });
    for (let i = 0; i < 4; i++) c.b.emit('rtp', frame());
    assert.deepEqual(tids(), [0, 1, 0, 1, 0, 2, 1, 2], 'every layer again');
    const seqs = video().map((p) => p.readUInt16BE(2));
    const pids = video().map((p) => descriptor(p).readUInt16BE(2) & 0x7fff);
    for (let i = 1; i < seqs.length; i++) {
      assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff, `sequence continuous at ${i}`);
      assert.equal(pids[i], (pids[i - 1]! + 1) & 0x7fff, `PictureID continuous at ${i}`);
    }
  });
});
