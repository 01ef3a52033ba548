// The conference's own NACKs towards a sender, through ColibriService with fake endpoints and the
// process clock: the tail-loss probe of a stream that falls silent within a frame.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, type Element } from 'ltx';
import type { ColibriService } from '../../../bridge/colibri.ts';
import { OWN_NACKS_PER_SECOND } from '../../../bridge/conference.ts';
import { RTCP_RTPFB, FMT_NACK, expandNack } from '../../../bridge/rtp/rtcp.ts';
import { MAX_GAP, TAIL_LOSS_MS } from '../../../bridge/rtp/retransmission-requester.ts';
import { parseConferenceModify } from '../../../xmpp/protocol/colibri2.ts';
import { rtxRtp, vp8Rtp } from './rtp/fixtures.ts';
import { serviceWithFakeEndpoints } from './fake-endpoint.ts';
import { ManualClock } from './transport/manual-clock.ts';

const fixture = (name: string): Element => parse(readFileSync(new URL(`../../fixtures/xmpp/colibri2/${name}.xml`, import.meta.url), 'utf8'));
const MEETING = '5f0c6e7a-3b1d-4e8f-9a2c-7d6b5e4f3a21';
/** The low simulcast layer the sender announces in modify-jicofo-update. */
const LAYER = 1001;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The sequence numbers the generic NACKs in `packets` ask of `mediaSsrc`. */
function nacked(packets: readonly Buffer[], mediaSsrc: number): number[] {
  const out: number[] = [];
  for (const p of packets) {
    if (p.length < 16 || p[1] !== RTCP_RTPFB || (p[0]! & 0x1f) !== FMT_NACK || p.readUInt32BE(8) !== mediaSsrc) continue;
    for (let at = 12; at + 4 <= p.length; at += 4) expandNack(p.readUInt16BE(at), p.readUInt16BE(at + 2), out);
  }
  return out;
}

describe('bridge conference: its own NACKs towards a sender (tail-loss probes)', () => {
  let svc: ColibriService | undefined;
  afterEach(() => svc?.close('test over'));

  it('asks a sender for the packet after one that left a frame open, or a frame that is late, once per silence, and counts it', async () => {
    const made = serviceWithFakeEndpoints();
    svc = made.svc;
    const endpoints = made.endpoints;
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
    const sender = endpoints.get('abcd1234')!;
    const conference = svc.conferenceList()[0]!;

    // A frame end (marker), then a packet of the next frame without one, then nothing.
    const end = vp8Rtp(LAYER, 500);
    end[1] = end[1]! | 0x80;
    sender.emit('rtp', end);
    sender.emit('rtp', vp8Rtp(LAYER, 501, { key: false }));
    assert.deepEqual(nacked(sender.sentRtcp, LAYER), [], 'nothing before the silence');
    await sleep(TAIL_LOSS_MS + 30);
    assert.deepEqual(nacked(sender.sentRtcp, LAYER), [502], 'the packet after the open frame is asked');
    assert.equal(conference.mediaStats().tailLossProbes, 1);
    // It arrives (the sender had only paused) and ends the frame: settled, and the first frame
    // interval is known (500 → 502). A whole frame that then fails to come is probed too.
    const closing = vp8Rtp(LAYER, 502, { key: false });
    closing[1] = closing[1]! | 0x80;
    sender.emit('rtp', closing);
    assert.deepEqual(nacked(sender.sentRtcp, LAYER), [502], 'not asked again: it came');
    await sleep(250);
    assert.deepEqual([...new Set(nacked(sender.sentRtcp, LAYER))], [502, 503], 'the next frame, late, is asked');
    assert.equal(conference.mediaStats().tailLossProbes, 2, 'one probe per silence (503 is then asked again as any gap)');
  });

  it('checks for tail losses on the bridge\'s timer grid: the probe at the first multiple of 5 ms after the silence, and no timer left once the conference closes', () => {
    const clock = new ManualClock();
    const made = serviceWithFakeEndpoints({ clock, now: () => clock.now() });
    svc = made.svc;
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
    const sender = made.endpoints.get('abcd1234')!;
    clock.advance(3);
    const end = vp8Rtp(LAYER, 500);
    end[1] = end[1]! | 0x80;
    sender.emit('rtp', end);
    sender.emit('rtp', vp8Rtp(LAYER, 501, { key: false })); // a frame left open at 3 ms: due at 3 + TAIL_LOSS_MS
    const dueAt = 3 + TAIL_LOSS_MS;
    const instant = Math.ceil(dueAt / 5) * 5;
    assert.ok(instant > dueAt, 'the case where the grid moves the check');
    clock.advance(instant - 1 - clock.now());
    assert.deepEqual(nacked(sender.sentRtcp, LAYER), [], 'not before the grid\'s instant');
    clock.advance(1);
    assert.deepEqual(nacked(sender.sentRtcp, LAYER), [502], 'asked at the instant');
    assert.ok(clock.pending > 0, 'the next check and the RTCP tick are armed');
    svc.close('test over');
    svc = undefined;
    assert.equal(clock.pending, 0, 'closing the conference cancels its timers on the grid');
  });

  it('forwards at once, as the stream\'s next packet, the answer to a tail-loss probe that nothing newer overtook', async () => {
    const made = serviceWithFakeEndpoints();
    svc = made.svc;
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
    svc.modify({ meetingId: MEETING, endpoints: [{ id: 'efgh5678', create: true, media: [], capabilities: ['source-names'] }], relays: [] });
    const sender = made.endpoints.get('abcd1234')!;
    const receiver = made.endpoints.get('efgh5678')!;
    const end = vp8Rtp(LAYER, 500);
    end[1] = end[1]! | 0x80;
    sender.emit('rtp', end);
    sender.emit('rtp', vp8Rtp(LAYER, 501, { key: false }));
    const copies = () => receiver.sentRtp.filter((p) => p.readUInt32BE(8) === LAYER);
    assert.equal(copies().length, 2);
    await sleep(TAIL_LOSS_MS + 30);
    assert.deepEqual(nacked(sender.sentRtcp, LAYER), [502], 'the packet after the open frame is asked');
    // It was lost on the way in: the sender retransmits it (RTX 2001, payload type 96), before any later packet.
    const lost = vp8Rtp(LAYER, 502, { key: false });
    lost[1] = lost[1]! | 0x80;
    sender.emit('rtp', rtxRtp(lost, 2001, 7));
    const after = copies();
    assert.equal(after.length, 3, 'the receiver gets it now, not after the next frame shows the gap and its own NACK');
    assert.equal(after[2]!.readUInt16BE(2), (after[1]!.readUInt16BE(2) + 1) & 0xffff, 'as the next packet of its stream');
    assert.equal(after[2]![1]! & 0x7f, 100, 'with the media payload type');
    // The next frame goes on after it.
    sender.emit('rtp', vp8Rtp(LAYER, 503, { key: false }));
    assert.equal(copies().at(-1)!.readUInt16BE(2), (after[2]!.readUInt16BE(2) + 1) & 0xffff);
  });

  it('asks a sender whose sequence numbers jump for no more packets than its budget a second', () => {
    const clock = new ManualClock();
    const made = serviceWithFakeEndpoints({ clock, now: () => clock.now() });
    svc = made.svc;
    svc.modify(parseConferenceModify(fixture('modify-jicofo-allocate')));
    svc.modify(parseConferenceModify(fixture('modify-jicofo-update')));
    svc.modify({ meetingId: MEETING, endpoints: [{ id: 'efgh5678', create: true, media: [], capabilities: ['source-names'] }], relays: [] });
    const sender = made.endpoints.get('abcd1234')!;
    const conference = svc.conferenceList()[0]!;
    // Each packet MAX_GAP on from the last: a gap of MAX_GAP - 1 packets each time, 200 packets in 1 s.
    let sequence = 0;
    for (let i = 0; i < 200; i++) {
      sender.emit('rtp', vp8Rtp(LAYER, sequence, { key: false }));
      sequence = (sequence + MAX_GAP) & 0xffff;
      clock.advance(4);
    }
    const asked = nacked(sender.sentRtcp, LAYER).length;
    assert.ok(asked > 0, 'the gaps are asked');
    assert.ok(asked <= OWN_NACKS_PER_SECOND, `at most ${OWN_NACKS_PER_SECOND} packets in the first second, not ${asked}`);
    assert.equal(conference.mediaStats().ownRetransmissionRequests, asked);
    // The next second has a budget of its own.
    clock.advance(1000);
    sender.emit('rtp', vp8Rtp(LAYER, sequence, { key: false }));
    assert.ok(nacked(sender.sentRtcp, LAYER).length > asked, 'asked again once the second is over');
  });
});
