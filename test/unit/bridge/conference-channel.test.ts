/**
 * The conference's side of the bridge channel, driven through the Colibri2 service with fake
 * endpoints: receivers' constraints decide which RTP copies go out, and the conference answers
 * with ForwardedSources, SenderSourceConstraints, keyframe requests and dominant speaker events.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Element, parse } from 'ltx';
import { pino } from 'pino';
import { ColibriService } from '../../../bridge/colibri.ts';
import { parseConferenceModify, type Colibri2MediaSource } from '../../../xmpp/protocol/colibri2.ts';
import { parseBridgeChannelMessage, type BridgeToClientMessage, type ClientToBridgeMessage } from '../../../xmpp/protocol/bridge-channel.ts';
import { rtxRtp, vp8Rtp } from './rtp/fixtures.ts';
import { FakeEndpoint } from './fake-endpoint.ts';

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

const source = (ssrc: number, name: string) => new Element('source', { xmlns: NS_SSMA, ssrc: String(ssrc), name });
const B_SOURCES: Colibri2MediaSource[] = [
  { type: 'audio', id: `${B}-a0`, sources: [source(5001, `${B}-a0`)], ssrcGroups: [] },
  { type: 'video', id: `${B}-v0`, sources: [source(6001, `${B}-v0`)], ssrcGroups: [] },
];

function conference() {
  const clock = { now: 0 };
  const endpoints = new Map<string, FakeEndpoint>();
  const inbox = new Map<string, BridgeToClientMessage[]>([[A, []], [B, []]]);
  const svc = new ColibriService({
    log: pino({ level: 'silent' }),
    createEndpoint: (id) => {
      const e = new FakeEndpoint(id);
      endpoints.set(id, e);
      return e;
    },
    webSocketUrl: () => 'wss://meet.example/colibri-ws',
    refusingNewConferences: () => false,
    now: () => clock.now,
    sendToEndpoint: (meetingId, endpointId, message) => {
      assert.equal(meetingId, MEETING);
      inbox.get(endpointId)?.push(message);
    },
  });
  const allocated = svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
  const videoFeedbackSsrc = Number(allocated.feedbackSources!.find((m) => m.id === 'jvb-v0')!.sources[0]!.attrs.ssrc);
  svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
  svc.modify({ meetingId: MEETING, endpoints: [{ id: B, create: true, media: [], capabilities: [], sources: B_SOURCES }], relays: [] });
  const say = (from: string, message: Record<string, unknown>) =>
    svc.onEndpointMessage(MEETING, from, parseBridgeChannelMessage(JSON.stringify(message)) as ClientToBridgeMessage);
  const of = (id: string, colibriClass: string) => inbox.get(id)!.filter((m) => m.colibriClass === colibriClass);
  return { svc, endpoints, inbox, say, of, a: endpoints.get(A)!, b: endpoints.get(B)!, videoFeedbackSsrc, clock };
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
});
