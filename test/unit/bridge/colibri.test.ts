import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, type Element } from 'ltx';
import { pino } from 'pino';
import { ColibriService, readSources } from '../../../bridge/colibri.ts';
import type { EndpointActivity } from '../../../bridge/endpoint.ts';
import { buildConferenceModified, parseConferenceModified, parseConferenceModify, type Colibri2Error } from '../../../xmpp/protocol/colibri2.ts';
import { parseIceUdpTransport } from '../../../xmpp/protocol/jingle-ice.ts';
import { rtxRtp, vp8Rtp } from './rtp/fixtures.ts';
import { FakeEndpoint, serviceWithFakeEndpoints } from './fake-endpoint.ts';
import { buildNack } from '../../../bridge/rtp/rtcp.ts';

const fixture = (name: string): Element => parse(readFileSync(new URL(`../../fixtures/xmpp/colibri2/${name}.xml`, import.meta.url), 'utf8'));
const MEETING = '5f0c6e7a-3b1d-4e8f-9a2c-7d6b5e4f3a21';


function rtp(ssrc: number, seq = 1): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

/** A NACK of one packet (RFC 4585 §6.2.1), as receivers send it. */
const nack = (sender: number, media: number, seq: number): Buffer => buildNack(sender, media, [seq]);

function pli(sender: number, media: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x81;
  b[1] = 206;
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(sender, 4);
  b.writeUInt32BE(media, 8);
  return b;
}

const service = (options: { refusing?: boolean } = {}) => serviceWithFakeEndpoints({ refusingNewConferences: () => options.refusing ?? false });

describe('bridge Colibri2 service', () => {
  it('creates a conference and an endpoint from Jicofo\'s allocation and answers its local transport', () => {
    const { svc, endpoints } = service();
    const answer = svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    assert.equal(svc.conferenceCount, 1);
    assert.ok(endpoints.has('abcd1234'));
    const [ep] = answer.endpoints;
    assert.equal(ep?.id, 'abcd1234');
    const transport = parseIceUdpTransport(ep!.transport!.iceUdp!);
    assert.equal(transport.ufrag, 'u-abcd1234');
    assert.equal(transport.fingerprints[0]?.setup, 'actpass');
    assert.equal(transport.candidates[0]?.port, 10000);
    assert.equal(transport.webSockets[0]?.url, `wss://meet.example/colibri-ws/jvb1/${MEETING}/abcd1234?pwd=${'p'.repeat(24)}`);
    assert.ok(transport.rtcpMux);
    // the bridge's own sources come with a created endpoint (JVB's jvb-a0 / jvb-v0)
    assert.deepEqual(answer.feedbackSources?.map((m) => [m.type, m.id, m.sources[0]?.attrs.name]), [['audio', 'jvb-a0', 'jvb-a0'], ['video', 'jvb-v0', 'jvb-v0']]);
    // the answer serialises and parses back as a conference-modified
    assert.equal(parseConferenceModified(buildConferenceModified(answer)).endpoints[0]?.id, 'abcd1234');
  });

  it('hands the client\'s transport to the endpoint and records its sources on update', () => {
    const { svc, endpoints } = service();
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    const answer = svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
    assert.deepEqual(answer.endpoints, [], 'an update creates nothing to answer');
    const remote = endpoints.get('abcd1234')!.remote;
    assert.ok(remote && remote.fingerprints.length >= 1 && remote.candidates.length >= 1);
  });

  it('refuses unknown conferences and endpoints, duplicate creation and creation while draining', () => {
    const { svc } = service();
    assert.throws(() => svc.modify(parseConferenceModify(fixture('modify-jicofo-update'))), (e: Colibri2Error) => e.reason === 'conference_not_found');
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    assert.throws(() => svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate'))), (e: Colibri2Error) => e.reason === 'conference_already_exists');
    assert.throws(() => svc.modify({ meetingId: MEETING, endpoints: [{ id: 'nobody', media: [], capabilities: [] }], relays: [] }), (e: Colibri2Error) => e.reason === 'unknown_endpoint' && e.endpointId === 'nobody');
    const draining = service({ refusing: true });
    assert.throws(() => draining.svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate'))), (e: Colibri2Error) => e.reason === 'graceful_shutdown');
  });

  it('refuses, changing nothing, an endpoint announcing an SSRC another endpoint owns; allows it once the owner gives it up', async () => {
    const { svc, endpoints } = service();
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify(parseConferenceModify(fixture('modify-jicofo-update'))); // abcd1234 owns 1001
    for (const id of ['efgh5678', 'recv']) svc.modify({ meetingId: MEETING, endpoints: [{ id, create: true, media: [], capabilities: [] }], relays: [] });
    const camera = (id: string, ...ssrcs: number[]) => [{ type: 'video' as const, id: `${id}-v0`, ssrcGroups: [], sources: ssrcs.map((ssrc) => parse(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="${ssrc}" name="${id}-v0"/>`)) }];
    const claim = { id: 'efgh5678', media: [], capabilities: [], sources: camera('efgh5678', 1001) };
    assert.throws(() => svc.modify({ meetingId: MEETING, endpoints: [{ id: 'late', create: true, media: [], capabilities: [] }, claim], relays: [] }),
      (e: Error & { condition?: string }) => e.condition === 'bad-request' && /efgh5678 announces SSRC 1001, which is endpoint abcd1234's/.test(e.message));
    assert.equal(endpoints.get('late'), undefined, 'the endpoint before it in the request was not created');
    assert.throws(() => svc.modify({ meetingId: MEETING, endpoints: [
      { id: 'efgh5678', media: [], capabilities: [], sources: camera('efgh5678', 5005) },
      { id: 'recv', media: [], capabilities: [], sources: camera('recv', 5005) },
    ], relays: [] }), /announces SSRC 5005, which is endpoint efgh5678's/, 'nor two endpoints of one request the same');
    // The PLI for 1001 still reaches its owner (after the keyframe-request gap since the update's).
    await new Promise((resolve) => setTimeout(resolve, 310));
    const owner = endpoints.get('abcd1234')!.sentRtcp;
    const claimant = endpoints.get('efgh5678')!.sentRtcp;
    const [ownerBefore, claimantBefore] = [owner.length, claimant.length];
    endpoints.get('recv')!.emit('rtcp', pli(777, 1001));
    assert.deepEqual([owner.length - ownerBefore, claimant.length - claimantBefore], [1, 0], 'the owner keeps its SSRC');
    // The owner announcing its set again without 1001, in the same request: the claim stands.
    svc.modify({ meetingId: MEETING, endpoints: [{ id: 'abcd1234', media: [], capabilities: [], sources: camera('abcd1234', 1002) }, claim], relays: [] });
  });

  it("refuses an endpoint announcing one of the bridge's own SSRCs (jvb-a0, jvb-v0), which every offer gives", () => {
    const { svc } = service();
    const created = svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify({ meetingId: MEETING, endpoints: [{ id: 'efgh5678', create: true, media: [], capabilities: [] }], relays: [] });
    const own = (id: string) => Number(created.feedbackSources!.find((m) => m.id === id)!.sources[0]!.attrs.ssrc);
    for (const [type, id] of [['video', 'jvb-v0'], ['audio', 'jvb-a0']] as const) {
      const ssrc = own(id);
      const sources = [{ type, id: `efgh5678-${type[0]}0`, ssrcGroups: [], sources: [parse(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="${ssrc}" name="efgh5678-${type[0]}0"/>`)] }];
      assert.throws(() => svc.modify({ meetingId: MEETING, endpoints: [{ id: 'efgh5678', media: [], capabilities: [], sources }], relays: [] }),
        (e: Error & { condition?: string }) => e.condition === 'bad-request' && new RegExp(`SSRC ${ssrc}, which is the bridge's own`).test(e.message));
      assert.equal(svc.conferenceList()[0]!.ownerOf(ssrc), undefined);
    }
  });

  it('expires endpoints and conferences, closing what it created', () => {
    const { svc, endpoints } = service();
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify({ meetingId: MEETING, endpoints: [{ id: 'efgh5678', create: true, media: [], capabilities: [] }], relays: [] });
    svc.modify(parseConferenceModify(fixture('modify-jicofo-expire-endpoints')));
    assert.equal(endpoints.get('abcd1234')!.closedWith, 'expired by the focus');
    assert.equal(svc.endpointCount, 0);
    svc.modify(parseConferenceModify(fixture('modify-jicofo-expire-conference')));
    assert.equal(svc.conferenceCount, 0);
  });

  it('forwards audio and one simulcast layer per video source, re-stamped onto the primary SSRC (retransmissions onto its RTX), to the others only', () => {
    const { svc, endpoints } = service();
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
    svc.modify({ meetingId: MEETING, endpoints: [{ id: 'efgh5678', create: true, media: [], capabilities: [] }, { id: 'ijkl9012', create: true, media: [], capabilities: [] }], relays: [] });
    const sender = endpoints.get('abcd1234')!;
    // layer 1 (1001, RTX 2001) sends a keyframe; layer 2 (1002) a delta frame: not switchable yet
    const key = vp8Rtp(1001, 10);
    sender.emit('rtp', rtp(3190521134));
    sender.emit('rtp', Buffer.from(key));
    sender.emit('rtp', vp8Rtp(1002, 7000, { key: false }));
    sender.emit('rtp', rtp(4242));
    for (const id of ['efgh5678', 'ijkl9012']) {
      const got = endpoints.get(id)!.sentRtp.map((p) => p.readUInt32BE(8));
      assert.deepEqual(got, [3190521134, 1001], `${id} receives audio and one layer on the primary SSRC; not the other layer nor unknown SSRCs`);
    }
    // efgh5678 NACKs the forwarded packet: the bridge has it in its cache and sends it again at once,
    // re-wrapped on the primary's RTX SSRC, to efgh5678 alone; the sender is not asked
    const forwardedSeq = endpoints.get('efgh5678')!.sentRtp[1]!.readUInt16BE(2);
    const rtxAt = (id: string) => endpoints.get(id)!.sentRtp.filter((p) => p.readUInt32BE(8) === 2001);
    const nacksToSender = () => sender.sentRtcp.filter((p) => p[1] === 205 && (p[0]! & 0x1f) === 1);
    endpoints.get('efgh5678')!.emit('rtcp', nack(0xdead, 1001, forwardedSeq));
    assert.equal(nacksToSender().length, 0, 'a packet the bridge has is not asked of the sender');
    assert.equal(rtxAt('efgh5678').length, 1, 'answered from the cache');
    assert.equal(rtxAt('efgh5678')[0]!.readUInt16BE(12), forwardedSeq, 'the retransmission names the forwarded sequence number');
    assert.deepEqual([...rtxAt('efgh5678')[0]!.subarray(14)], [...key.subarray(12)], 'with the payload the sender sent');
    assert.equal(rtxAt('ijkl9012').length, 0, 'no retransmission for who did not ask');

    // Sequence number 11 never reached the bridge: the gap makes the bridge NACK it at once, for
    // the layer SSRC and the sender's own sequence number; efgh5678's NACK of its slot, coming
    // while that request is fresh, asks nothing more; the retransmission goes to both receivers,
    // which lack it alike, whether they NACKed it yet or not
    sender.emit('rtp', vp8Rtp(1001, 12, { key: false }));
    assert.equal(nacksToSender().length, 1, 'the bridge asks for the missing packet itself');
    const afterGap = endpoints.get('efgh5678')!.sentRtp.at(-1)!.readUInt16BE(2);
    endpoints.get('efgh5678')!.emit('rtcp', nack(0xdead, 1001, (afterGap - 1) & 0xffff));
    const asked = nacksToSender();
    assert.equal(asked.length, 1, 'one NACK reaches the sender');
    assert.deepEqual([asked[0]!.readUInt32BE(8), asked[0]!.readUInt16BE(12)], [1001, 11], 'for the layer SSRC and its own sequence number');
    assert.notEqual(asked[0]!.readUInt32BE(4), 0xdead, 'sent as the bridge, not as the receiver');
    sender.emit('rtp', rtxRtp(vp8Rtp(1001, 11, { key: false }), 2001, 500));
    sender.emit('rtp', rtxRtp(vp8Rtp(1001, 9), 2001, 501)); // nobody asked (a probe): stops here
    assert.equal(rtxAt('efgh5678').length, 2);
    assert.equal(rtxAt('efgh5678')[1]!.readUInt16BE(12), (afterGap - 1) & 0xffff, 'the retransmission fills the receiver\'s hole');
    assert.equal(rtxAt('ijkl9012').length, 1, 'and the other receiver\'s, without its NACK; the probe reaches nobody');
    const otherGap = endpoints.get('ijkl9012')!.sentRtp.filter((p) => p.readUInt32BE(8) === 1001).at(-1)!.readUInt16BE(2);
    assert.equal(rtxAt('ijkl9012')[0]!.readUInt16BE(12), (otherGap - 1) & 0xffff);

    // 13 is late, not lost: the bridge asks for it, then the original comes and goes out to both;
    // the sender's retransmission that follows goes to nobody (nobody NACKed it).
    sender.emit('rtp', vp8Rtp(1001, 14, { key: false }));
    assert.equal(nacksToSender().length, 2, 'asked');
    const copies = (id: string) => endpoints.get(id)!.sentRtp.filter((p) => p.readUInt32BE(8) === 1001).length;
    const [e0, i0] = [copies('efgh5678'), copies('ijkl9012')];
    sender.emit('rtp', vp8Rtp(1001, 13, { key: false }));
    assert.deepEqual([copies('efgh5678'), copies('ijkl9012')], [e0 + 1, i0 + 1], 'the late original fills both holes');
    sender.emit('rtp', rtxRtp(vp8Rtp(1001, 13, { key: false }), 2001, 502));
    assert.deepEqual([rtxAt('efgh5678').length, rtxAt('ijkl9012').length], [2, 1], 'its retransmission is not sent to receivers that have it');
    assert.equal(sender.sentRtp.length, 0, 'nothing is sent back to the sender');
    const plis = sender.sentRtcp.filter((p) => p[1] === 206 && (p[0]! & 0x1f) === 1).map((p) => p.readUInt32BE(8));
    assert.ok(plis.length >= 1 && plis.every((ssrc) => ssrc === 1001 || ssrc === 1002), 'keyframes are asked of the source\'s layers');
  });

  it('lets a new conference of a meeting replace one left without endpoints (a lost expiry), not a live one', () => {
    const { svc } = service();
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    assert.throws(() => svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate'))), /already exists|conference/i, 'a live conference is not replaced');
    svc.modify(parseConferenceModify(fixture('modify-jicofo-expire-endpoints')));
    assert.equal(svc.conferenceCount, 1, 'its endpoints went, the conference stayed (the expiry of the conference was lost)');
    const again = svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    assert.ok(again.endpoints.some((e) => e.transport), 'the room\'s next conference is created');
    assert.equal(svc.conferenceCount, 1);
    assert.equal(svc.endpointCount, 1);
  });

  it('routes a receiver\'s PLI to the sender of the media SSRC it names', async () => {
    const { svc, endpoints } = service();
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
    svc.modify({ meetingId: MEETING, endpoints: [{ id: 'efgh5678', create: true, media: [], capabilities: [] }], relays: [] });
    const sent = endpoints.get('abcd1234')!.sentRtcp;
    await new Promise((r) => setTimeout(r, 310)); // past the pacing of the bridge's own request, made as efgh5678 started receiving
    const before = sent.length;
    endpoints.get('efgh5678')!.emit('rtcp', pli(777, 1001));
    assert.equal(sent.length, before + 1);
    assert.deepEqual([sent.at(-1)![1], sent.at(-1)!.readUInt32BE(8)], [206, 1001], 'a PLI for the layer being forwarded');
    endpoints.get('efgh5678')!.emit('rtcp', pli(777, 1001));
    assert.equal(sent.length, before + 1, 'a second request within 300 ms shares the keyframe coming');
    endpoints.get('efgh5678')!.emit('rtcp', pli(777, 999999));
    assert.equal(sent.length, before + 1, 'feedback for unknown SSRCs goes nowhere');
  });

  it('reads the SSRCs of a source set: every layer and RTX of video goes to the projection, with its simulcast layers', () => {
    const update = parseConferenceModify(fixture('modify-jicofo-update'));
    const sources = readSources(update.endpoints[0]!.sources!);
    assert.deepEqual([...sources.forwarded].sort(), [1001, 1002, 2001, 2002, 3190521134].sort());
    assert.equal(sources.all.size, 5);
    const video = sources.named.find((s) => s.media === 'video')!;
    assert.deepEqual(video.layers?.layers, [1001, 1002]);
    assert.deepEqual([...video.layers!.rtx], [[1001, 2001], [1002, 2002]]);
  });

  it('names the source each forwarded SSRC belongs to, with its primary SSRC and video type', () => {
    const update = parseConferenceModify(fixture('modify-jicofo-update'));
    const sources = readSources(update.endpoints[0]!.sources!);
    assert.deepEqual(sources.named.map(({ layers: _, ...s }) => s), [
      { name: 'abcd1234-a0', media: 'audio', desktop: false, primarySsrc: 3190521134 },
      { name: 'abcd1234-v0', media: 'video', desktop: false, primarySsrc: 1001 },
    ]);
    assert.deepEqual([...sources.sourceOf].map(([ssrc, s]) => [ssrc, s.name]).sort(), [[1001, 'abcd1234-v0'], [1002, 'abcd1234-v0'], [2001, 'abcd1234-v0'], [2002, 'abcd1234-v0'], [3190521134, 'abcd1234-a0']]);
    const screen = readSources([{ type: 'video', id: 'abcd1234-v1', ssrcGroups: [], sources: [parse('<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="77" name="abcd1234-v1" videoType="desktop"/>')] }]);
    assert.deepEqual(screen.named, [{ name: 'abcd1234-v1', media: 'video', desktop: true, primarySsrc: 77, layers: { layers: [77], rtx: new Map() } }]);
  });

  it('forwards one SSRC of an audio source: more (video layers named like a microphone) are owned, not forwarded as audio', () => {
    const ssma = (ssrc: number) => parse(`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="${ssrc}" name="abcd1234-a0"/>`);
    const group = parse('<ssrc-group xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" semantics="SIM"><source ssrc="21"/><source ssrc="22"/><source ssrc="23"/></ssrc-group>');
    const sources = readSources([{ type: 'audio', id: 'abcd1234-a0', ssrcGroups: [group], sources: [ssma(20), ssma(21), ssma(22), ssma(23)] }]);
    assert.deepEqual([...sources.forwarded], [20]);
    assert.deepEqual([...sources.all].sort(), [20, 21, 22, 23]);
    assert.deepEqual(sources.named, [{ name: 'abcd1234-a0', media: 'audio', desktop: false, primarySsrc: 20 }]);
  });
});

describe('forwarded RTP header extensions', () => {
  it('blanks the sender-scoped MID extension (one-byte form) and keeps the others', async () => {
    const { blankExtensions } = await import('../../../bridge/conference.ts');
    // V=2, X=1; seq 1; ts 0; ssrc 1; extension 0xBEDE length 2 words: id 1 (audio level, 1 byte), id 10 (MID "0"), padding
    const packet = Buffer.from('9000000100000000000000' + '01' + 'bede0002' + '10' + '85' + 'a0' + '30' + '00000000' + 'cafe', 'hex');
    blankExtensions(packet, new Set([10]));
    assert.equal(packet.subarray(16, 24).toString('hex'), '108500000000' + '0000', 'MID element zeroed (padding), audio level kept');
    assert.equal(packet.subarray(24).toString('hex'), 'cafe', 'payload untouched');
  });

  it('blanks in the two-byte form and ignores a truncated extension block', async () => {
    const { blankExtensions } = await import('../../../bridge/conference.ts');
    const packet = Buffer.from('900000010000000000000001' + '10000001' + '0a013000', 'hex');
    blankExtensions(packet, new Set([10]));
    assert.equal(packet.subarray(16).toString('hex'), '00000000');
    const truncated = Buffer.from('900000010000000000000001bede0009', 'hex');
    blankExtensions(truncated, new Set([10]));
    assert.equal(truncated.toString('hex'), '900000010000000000000001bede0009');
  });
});

/** A fake endpoint whose liveness the test sets (what bridge/endpoint.ts reports from ICE, DTLS and SRTP). */
class LivenessEndpoint extends FakeEndpoint {
  state: EndpointActivity = { failed: false, heard: true, idleMs: 0 };
  activity(): EndpointActivity {
    return { ...this.state };
  }
}

describe('bridge expiry of failed and silent endpoints (JVB VideobridgeExpireThread)', () => {
  function expiringService() {
    let now = 0;
    const endpoints = new Map<string, LivenessEndpoint>();
    const removed: string[] = [];
    const svc = new ColibriService({
      log: pino({ level: 'silent' }),
      createEndpoint: (id) => {
        const e = new LivenessEndpoint(id);
        endpoints.set(id, e);
        return e;
      },
      webSocketUrl: () => 'wss://meet.example/colibri-ws/x',
      refusingNewConferences: () => false,
      onEndpointRemoved: (meetingId, endpointId) => removed.push(`${meetingId}/${endpointId}`),
      now: () => now,
      expiry: { checkIntervalMs: 0 },
    });
    const create = (id: string, conference = false) =>
      svc.modify({ meetingId: MEETING, ...(conference ? { create: true } : {}), endpoints: [{ id, create: true, media: [], capabilities: [] }], relays: [] });
    return { svc, endpoints, removed, create, advance: (ms: number) => void (now += ms) };
  }

  it('expires an endpoint whose ICE failed at the next sweep, and keeps the live one', () => {
    const { svc, endpoints, removed, create } = expiringService();
    create('alice', true);
    create('bob');
    endpoints.get('alice')!.state = { failed: true, heard: true, idleMs: 1_000 };
    const swept = svc.expireInactive();
    assert.deepEqual(swept.endpoints.map((e) => e.endpointId), ['alice']);
    assert.equal(endpoints.get('alice')!.closedWith, 'expired: its transport failed');
    assert.equal(endpoints.get('bob')!.closedWith, undefined);
    assert.deepEqual(removed, [`${MEETING}/alice`], 'its bridge channel is closed as for a focus expiry');
    assert.equal(svc.endpointCount, 1);
    assert.equal(svc.conferenceCount, 1);
    // the focus, not knowing yet, gets unknown_endpoint for it (how Jicofo learns it)
    assert.throws(() => svc.modify({ meetingId: MEETING, endpoints: [{ id: 'alice', media: [], capabilities: [] }], relays: [] }),
      (e: Colibri2Error) => e.reason === 'unknown_endpoint' && e.endpointId === 'alice');
  });

  it('expires an endpoint silent for the inactivity time (60 s by default), one never heard from after 120 s', () => {
    const { svc, endpoints, create } = expiringService();
    create('alice', true);
    create('bob');
    create('carol');
    endpoints.get('alice')!.state = { failed: false, heard: true, idleMs: 59_999 };
    endpoints.get('bob')!.state = { failed: false, heard: false, idleMs: 119_999 };
    assert.deepEqual(svc.expireInactive().endpoints, [], 'not yet');
    endpoints.get('alice')!.state = { failed: false, heard: true, idleMs: 60_000 };
    endpoints.get('bob')!.state = { failed: false, heard: false, idleMs: 120_000 };
    const swept = svc.expireInactive();
    assert.deepEqual(swept.endpoints.map((e) => [e.endpointId, e.reason]), [['alice', 'expired: inactive'], ['bob', 'expired: never heard from its client']]);
    assert.equal(svc.endpointCount, 1, 'carol, who is heard, stays');
  });

  it('closes a conference left without endpoints once 20 s old, freeing the meeting id', () => {
    const { svc, endpoints, create, advance } = expiringService();
    create('alice', true);
    endpoints.get('alice')!.state = { failed: true, heard: false, idleMs: 0 };
    const early = svc.expireInactive();
    assert.deepEqual(early.endpoints.map((e) => e.endpointId), ['alice']);
    assert.deepEqual(early.conferences, [], 'a young empty conference waits (the focus may be re-inviting)');
    assert.equal(svc.conferenceCount, 1);
    advance(20_000);
    assert.deepEqual(svc.expireInactive().conferences, [MEETING]);
    assert.equal(svc.conferenceCount, 0);
    assert.equal(svc.endpointCount, 0);
    assert.throws(() => svc.modify({ meetingId: MEETING, endpoints: [{ id: 'alice', create: true, media: [], capabilities: [] }], relays: [] }),
      (e: Colibri2Error) => e.reason === 'conference_not_found', 'the focus learns it on its next request');
    create('alice', true);
    assert.equal(svc.conferenceCount, 1, 'a new conference of the meeting can be created');
  });

  it('leaves alone endpoints that report no activity (only the focus expires them)', () => {
    const { svc } = service();
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    assert.deepEqual(svc.expireInactive().endpoints, []);
    assert.equal(svc.endpointCount, 1);
    svc.close('test over');
  });
});
