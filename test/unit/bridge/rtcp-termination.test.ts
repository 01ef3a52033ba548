import assert from 'node:assert/strict';
import pino from 'pino';
import { BridgeConference, type ConferenceEndpoint } from '../../../bridge/conference.ts';
import { MAX_NACKED_PER_PACKET, PASSED_NACKED_PER_PACKET, PASSED_NACKS_PER_SECOND, RtcpTermination, SENDER_REPORT_GAP_MS, type RtcpTerminationHost } from '../../../bridge/rtcp-termination.ts';
import { RtcpWalker, buildReceiverReports, expandNack, type RtcpKind } from '../../../bridge/rtp/rtcp.ts';
import { buildTransportCc, parseTransportCc } from '../../../bridge/rtp/transport-cc.ts';
import { TypedEvents } from '../../../bridge/transport/events.ts';
import { hex } from './rtp/fixtures.ts';
import { TimerGrid } from '../../../bridge/transport/clock.ts';
import { ManualClock } from './transport/manual-clock.ts';
import type { LoggedRtp, ReceiveLogReader } from '../../../bridge/transport/receive-log.ts';
import { NOT_FORWARDED } from '../../../bridge/native/index.ts';
import { seededRandom } from '../seeded-random.ts';

const log = pino({ level: 'silent' });
const FEEDBACK = { audio: 0xa0a0a0a0, video: 0xb0b0b0b0 };
const OPUS = 111;
const VP8 = 100;
const A_AUDIO = 1001;
const A_VIDEO = 1002;
const A_VIDEO_LAYER = 1003; // a simulcast layer the others do not receive
const B_VIDEO = 2002;

/** An RTP packet; with `transportSeq`, a one-byte extension block with id 5 (transport-wide seq). */
function rtp(ssrc: number, seq: number, timestamp: number, pt: number, transportSeq?: number): Buffer {
  const ext = transportSeq === undefined ? 0 : 8;
  const buf = Buffer.alloc(12 + ext + 10);
  buf[0] = ext ? 0x90 : 0x80;
  buf[1] = pt;
  buf.writeUInt16BE(seq & 0xffff, 2);
  buf.writeUInt32BE(timestamp >>> 0, 4);
  buf.writeUInt32BE(ssrc, 8);
  if (transportSeq !== undefined) {
    buf.writeUInt32BE(0xbede0001, 12);
    buf[16] = 0x51; // id 5, length 2
    buf.writeUInt16BE(transportSeq & 0xffff, 17);
  }
  return buf;
}

/** SR (RFC 3550 §6.4.1) with one report block, as a browser sends it. */
function sr(ssrc: number, ntpSeconds: number, ntpFraction: number): Buffer {
  const buf = hex(`
    81 c8 00 0c  00 00 00 00  00 00 00 00  00 00 00 00
    00 0f 42 40  00 00 01 2c  00 04 93 e0
    aa bb cc dd  05 00 00 0a  00 01 1a 2b  00 00 00 20  5a 4b 80 00  00 00 40 00
  `);
  buf.writeUInt32BE(ssrc, 4);
  buf.writeUInt32BE(ntpSeconds, 8);
  buf.writeUInt32BE(ntpFraction, 12);
  return buf;
}

const nack = (media: number): Buffer => hex(`81 cd 00 03  00 00 00 09  ${media.toString(16).padStart(8, '0')}  00 10 00 05`);
const pli = (media: number): Buffer => hex(`81 ce 00 02  00 00 00 09  ${media.toString(16).padStart(8, '0')}`);
const fir = (media: number): Buffer => hex(`84 ce 00 04  00 00 00 09  00 00 00 00  ${media.toString(16).padStart(8, '0')}  07 00 00 00`);
const remb = (media: number): Buffer => hex(`8f ce 00 05  00 00 00 09  00 00 00 00  52 45 4d 42  01 0b d0 90  ${media.toString(16).padStart(8, '0')}`);
const sdes = (): Buffer => hex('81 ca 00 02  00 00 00 09  00 00 00 00');

function kinds(packet: Buffer): RtcpKind[] {
  const w = new RtcpWalker();
  w.reset(packet);
  const out: RtcpKind[] = [];
  while (w.next() === 'ok') out.push(w.kind);
  return out;
}

class FakeHost implements RtcpTerminationHost {
  readonly owners = new Map<number, string>();
  readonly forwarded = new Map<string, Set<number>>();
  readonly sent: Array<{ to: string; packet: Buffer }> = [];
  ownerOf(ssrc: number): string | undefined {
    return this.owners.get(ssrc);
  }
  isForwarded(id: string, ssrc: number): boolean {
    return this.forwarded.get(id)?.has(ssrc) === true;
  }
  endpointIds(): Iterable<string> {
    return this.forwarded.keys();
  }
  sendRtcp(to: string, packet: Buffer): void {
    this.sent.push({ to, packet: Buffer.from(packet) });
  }
  take(): Array<{ to: string; packet: Buffer }> {
    return this.sent.splice(0);
  }
}

function setup(): { host: FakeHost; clock: ManualClock; rtcp: RtcpTermination } {
  const host = new FakeHost();
  const clock = new ManualClock();
  host.owners.set(A_AUDIO, 'a').set(A_VIDEO, 'a').set(A_VIDEO_LAYER, 'a').set(B_VIDEO, 'b');
  host.forwarded.set('a', new Set([A_AUDIO, A_VIDEO])).set('b', new Set([B_VIDEO])).set('c', new Set());
  const rtcp = new RtcpTermination(host, { feedbackSsrcs: FEEDBACK, log, clock });
  for (const id of ['a', 'b', 'c']) rtcp.addEndpoint(id);
  rtcp.start();
  return { host, clock, rtcp };
}

describe('bridge/rtcp-termination', () => {
  it('sends transport-cc feedback every 50 ms to the sender, for every packet with extension 5', () => {
    const { host, clock, rtcp } = setup();
    rtcp.receiveRtp('a', rtp(A_AUDIO, 1, 0, OPUS, 10));
    clock.advance(1);
    rtcp.receiveRtp('a', rtp(9999, 1, 0, 96, 11)); // an unannounced SSRC (e.g. a probe) still counts
    clock.advance(2);
    rtcp.receiveRtp('a', rtp(A_VIDEO, 1, 0, VP8, 13)); // 12 lost
    rtcp.receiveRtp('a', rtp(A_VIDEO, 2, 0, VP8)); // no transport-wide sequence number
    assert.deepEqual(host.take(), [], 'nothing before the feedback period');
    clock.advance(47);
    const sent = host.take();
    assert.deepEqual(sent.map((s) => s.to), ['a']);
    const fb = parseTransportCc(sent[0]!.packet)!;
    assert.deepEqual(fb, {
      senderSsrc: FEEDBACK.video, mediaSsrc: A_VIDEO, baseSequence: 10, referenceTime: 0, feedbackCount: 0, deltas: [0, 4, undefined, 8],
    });
    clock.advance(50);
    assert.deepEqual(host.take(), [], 'nothing new, nothing sent');
  });

  it('ticks on the multiples of the feedback period of the grid it shares with other conferences, whenever its media started', () => {
    const clock = new ManualClock();
    const timers = new TimerGrid(clock);
    const conferences = [new FakeHost(), new FakeHost()].map((host) => {
      host.owners.set(A_VIDEO, 'a');
      host.forwarded.set('a', new Set());
      const rtcp = new RtcpTermination(host, { feedbackSsrcs: FEEDBACK, log, timers });
      rtcp.addEndpoint('a');
      rtcp.start();
      return { host, rtcp };
    });
    const ticks: number[][] = [[], []];
    const step = (ms: number): void => {
      for (let i = 0; i < ms; i++) {
        clock.advance(1);
        conferences.forEach(({ host }, n) => {
          if (host.take().length > 0) ticks[n]!.push(clock.now());
        });
      }
    };
    // Media starts at 7 ms in one, at 31 ms in the other; each sends a packet every 10 ms.
    step(7);
    for (let t = 0; t < 20; t++) {
      conferences[0]!.rtcp.receiveRtp('a', rtp(A_VIDEO, t, 0, VP8, t));
      if (t >= 3) conferences[1]!.rtcp.receiveRtp('a', rtp(A_VIDEO, t, 0, VP8, t));
      step(t === 2 ? 24 : 10);
    }
    assert.deepEqual(ticks[0], [50, 100, 150, 200]);
    assert.deepEqual(ticks[1], [100, 150, 200], 'its first packet came at 31 ms: a period at least half over');
    assert.equal(clock.pending, 1, 'one clock timer for both conferences');
    for (const { rtcp } of conferences) rtcp.close();
    assert.equal(clock.pending, 0);
  });

  it('reports the arrival a packet comes with, not when it was handled: a busy event loop is not congestion', () => {
    const { host, clock, rtcp } = setup();
    clock.advance(100);
    // Three packets read together at 100 ms that reached the socket at 70, 75 and 90 ms.
    rtcp.receiveRtp('a', rtp(A_VIDEO, 1, 0, VP8, 20), 70);
    rtcp.receiveRtp('a', rtp(A_VIDEO, 2, 0, VP8, 21), 75);
    rtcp.receiveRtp('a', rtp(A_VIDEO, 3, 0, VP8, 22), 90);
    rtcp.receiveRtp('a', rtp(A_VIDEO, 4, 0, VP8, 23)); // none given: now
    clock.advance(50);
    const fb = parseTransportCc(host.take()[0]!.packet)!;
    // Reference time: 64 ms units; deltas: 250 µs units, from it and then from each other.
    assert.equal(fb.referenceTime, 1);
    assert.deepEqual(fb.deltas, [(70 - 64) * 4, 5 * 4, 15 * 4, 10 * 4]);
  });

  it('sends feedback at once when 100 packets await it', () => {
    const { host, rtcp } = setup();
    for (let i = 0; i < 99; i++) rtcp.receiveRtp('b', rtp(B_VIDEO, i, 0, VP8, i));
    assert.equal(host.sent.length, 0);
    rtcp.receiveRtp('b', rtp(B_VIDEO, 99, 0, VP8, 99));
    const sent = host.take();
    assert.deepEqual(sent.map((s) => s.to), ['b']);
    assert.equal(parseTransportCc(sent[0]!.packet)!.deltas.length, 100);
  });

  describe('packets read from the endpoint\'s receive log (the native path)', () => {
    /** The records a media socket's read would have noted, in order. */
    class TestLog implements ReceiveLogReader {
      readonly records: Array<Parameters<LoggedRtp>> = [];
      get waiting(): number {
        return this.records.length;
      }
      drain(onPacket: LoggedRtp): void {
        for (const record of this.records.splice(0)) onPacket(...record);
      }
    }

    interface Side { host: FakeHost; clock: ManualClock; rtcp: RtcpTermination; log?: TestLog }
    /** Two terminations: one handed each packet, one reading the same from a log. */
    function pair(): [Side, Side] {
      const [plain, logged] = [undefined, new TestLog()].map((testLog): Side => {
        const host = new FakeHost();
        const clock = new ManualClock();
        host.owners.set(A_AUDIO, 'a').set(A_VIDEO, 'a').set(A_VIDEO_LAYER, 'a');
        host.forwarded.set('a', new Set([A_AUDIO, A_VIDEO])).set('b', new Set());
        const rtcp = new RtcpTermination(host, { feedbackSsrcs: FEEDBACK, log, clock });
        rtcp.addEndpoint('a', testLog);
        rtcp.addEndpoint('b');
        rtcp.start();
        return { host, clock, rtcp, log: testLog };
      });
      return [plain!, logged!];
    }

    for (const seed of [1, 7, 42]) {
      it(`give the same transport-cc feedback and receiver reports as the same packets handed over one by one (seed ${seed})`, () => {
        const random = seededRandom(seed);
        const sides = pair();
        const next = new Map([[A_AUDIO, 100], [A_VIDEO, 5000], [A_VIDEO_LAYER, 9000]]);
        let transportSeq = 60_000; // wraps
        for (let step = 0; step < 3000; step++) {
          const r = random();
          if (r < 0.01) {
            for (const { rtcp } of sides) rtcp.receiveRtcp('a', sr(A_VIDEO, 0x1000 + step, 0x8000_0000));
          } else if (r < 0.3) {
            const ms = Math.floor(random() * 12);
            for (const { clock } of sides) clock.advance(ms);
          } else {
            const ssrc = [A_AUDIO, A_VIDEO, A_VIDEO_LAYER, 0x5555][Math.floor(random() * 4)]!; // one unannounced
            const pt = ssrc === A_AUDIO ? OPUS : VP8;
            let seq = next.get(ssrc) ?? 1;
            if (random() < 0.05) seq -= 1 + Math.floor(random() * 5); // late
            else next.set(ssrc, seq + (random() < 0.05 ? 2 : 1)); // sometimes one lost
            const tseq = random() < 0.9 ? (transportSeq = (transportSeq + (random() < 0.03 ? 2 : 1)) & 0xffff) : undefined;
            const timestamp = (seq * (pt === OPUS ? 960 : 3000)) >>> 0;
            const packet = rtp(ssrc, seq, timestamp, pt, tseq);
            const arrival = sides[0]!.clock.now() - Math.floor(random() * 3);
            sides[0]!.rtcp.receiveRtp('a', packet, arrival);
            // A few come with their facts, as when the log was full or logging was off, behind records still waiting.
            const logged = random() < 0.9;
            if (logged) sides[1]!.log!.records.push([tseq ?? -1, ssrc, seq & 0xffff, timestamp, pt, arrival, 0, NOT_FORWARDED]);
            sides[1]!.rtcp.receiveRtp('a', packet, arrival, logged);
          }
          const [plain, logged] = sides.map(({ host }) => host.take().map(({ to, packet }) => `${to} ${packet.toString('hex')}`));
          assert.deepEqual(logged, plain, `step ${step}`);
        }
        assert.deepEqual(sides[1]!.rtcp.counters(), sides[0]!.rtcp.counters());
        assert.ok(sides[0]!.rtcp.counters().packetsExpected > 1000);
      });
    }

    it('keeps sending receiver reports on time while its ticks read packets the read forwarded, whatever they change (keepAwake during a tick)', () => {
      const host = Object.assign(new FakeHost(), { logsRead: () => rtcp.keepAwake(true) }); // the routes made anew, say for a new speaker
      const clock = new ManualClock();
      host.owners.set(A_AUDIO, 'a');
      host.forwarded.set('a', new Set([A_AUDIO])).set('b', new Set());
      const rtcp = new RtcpTermination(host, { feedbackSsrcs: FEEDBACK, log, clock });
      const testLog = new TestLog();
      rtcp.addEndpoint('a', testLog);
      rtcp.addEndpoint('b');
      rtcp.start();
      rtcp.keepAwake(true); // audio routed: nothing comes through receiveRtp
      for (let seq = 0; seq < 150; seq++) {
        testLog.records.push([seq, A_AUDIO, seq, seq * 960, OPUS, clock.now(), 100, -1]);
        clock.advance(20);
      }
      const reports = host.take().filter((s) => s.to === 'a' && kinds(s.packet).includes('rr'));
      assert.ok(reports.length >= 2, `a report a second over 3 s: ${reports.length}`);
      rtcp.close();
    });

    it('reads the log before a sender report, so that the stream it reports on is known to it', () => {
      const [, { host, clock, rtcp, log: testLog }] = pair();
      for (let seq = 0; seq < 5; seq++) {
        testLog!.records.push([seq, A_VIDEO, seq, seq * 3000, VP8, 0, 0, NOT_FORWARDED]);
        rtcp.receiveRtp('a', rtp(A_VIDEO, seq, seq * 3000, VP8, seq), 0, true);
      }
      rtcp.receiveRtcp('a', sr(A_VIDEO, 0x0000_1234, 0x5678_0000)); // before any feedback period ended
      clock.advance(1000);
      const reports = host.take().filter((s) => kinds(s.packet).includes('rr'));
      const w = new RtcpWalker();
      w.reset(reports[0]!.packet);
      assert.equal(w.next(), 'ok');
      assert.equal(w.reportLastSr(0), 0x1234_5678, 'the report carries the SR it had');
    });

    it('reads the log at once when as many packets wait as would send feedback early', () => {
      const [, { host, rtcp, log: testLog }] = pair();
      for (let seq = 0; seq < 99; seq++) {
        testLog!.records.push([seq, A_VIDEO, seq, seq * 3000, VP8, 0, 0, NOT_FORWARDED]);
        rtcp.receiveRtp('a', rtp(A_VIDEO, seq, seq * 3000, VP8, seq), 0, true);
      }
      assert.deepEqual(host.take(), []);
      testLog!.records.push([99, A_VIDEO, 99, 99 * 3000, VP8, 0, 0, NOT_FORWARDED]);
      rtcp.receiveRtp('a', rtp(A_VIDEO, 99, 99 * 3000, VP8, 99), 0, true);
      const sent = host.take();
      assert.equal(sent.length, 1);
      assert.equal(parseTransportCc(sent[0]!.packet)?.deltas.length, 100);
      assert.equal(testLog!.waiting, 0);
    });
  });

  it('sends each sender a receiver report per second: audio blocks from jvb-a0, video from jvb-v0, LSR/DLSR from its SRs', () => {
    const { host, clock, rtcp } = setup();
    for (let i = 0; i < 10; i++) {
      if (i !== 5) rtcp.receiveRtp('a', rtp(A_AUDIO, 100 + i, i * 960, OPUS));
      rtcp.receiveRtp('a', rtp(A_VIDEO, 5000 + i, i * 3000, VP8));
      rtcp.receiveRtp('a', rtp(A_VIDEO_LAYER, 7000 + i, i * 3000, VP8));
    }
    clock.advance(500);
    rtcp.receiveRtcp('a', sr(A_VIDEO, 0x0000_1234, 0x5678_0000));
    host.take();
    clock.advance(500);
    const reports = host.take().filter((s) => kinds(s.packet).includes('rr'));
    assert.equal(reports.length, 1);
    assert.equal(reports[0]!.to, 'a');
    const w = new RtcpWalker();
    w.reset(reports[0]!.packet);
    const seen: Array<Record<string, number>> = [];
    while (w.next() === 'ok') {
      for (let i = 0; i < w.count; i++) {
        seen.push({
          from: w.senderSsrc, ssrc: w.reportSsrc(i), fraction: w.reportFractionLost(i), lost: w.reportCumulativeLost(i),
          highest: w.reportHighestSequence(i), lsr: w.reportLastSr(i), dlsr: w.reportDelaySinceLastSr(i),
        });
      }
    }
    assert.deepEqual(seen, [
      // audio: 101…109 expected (the first packet is probation), 105 lost
      { from: FEEDBACK.audio, ssrc: A_AUDIO, fraction: Math.floor(256 / 9), lost: 1, highest: 109, lsr: 0, dlsr: 0 },
      { from: FEEDBACK.video, ssrc: A_VIDEO, fraction: 0, lost: 0, highest: 5009, lsr: 0x1234_5678, dlsr: 65536 / 2 },
      { from: FEEDBACK.video, ssrc: A_VIDEO_LAYER, fraction: 0, lost: 0, highest: 7009, lsr: 0, dlsr: 0 },
    ]);
    clock.advance(1000);
    assert.deepEqual(host.take(), [], 'no report for streams not heard from since the last one');
    assert.deepEqual(rtcp.counters(), { packetsExpected: 9 + 9 + 9, packetsLost: 1 });
  });

  it('counts the DLSR from the arrival an SR comes with, so the sender\'s RTT leaves out the bridge\'s read delay', () => {
    const { host, clock, rtcp } = setup();
    for (let i = 0; i < 3; i++) rtcp.receiveRtp('a', rtp(A_VIDEO, 5000 + i, i * 3000, VP8));
    clock.advance(500);
    rtcp.receiveRtcp('a', sr(A_VIDEO, 0x0000_1234, 0x5678_0000), 250); // read at 500 ms, arrived at 250
    host.take();
    clock.advance(500);
    const w = new RtcpWalker();
    w.reset(host.take().find((s) => kinds(s.packet).includes('rr'))!.packet);
    assert.equal(w.next(), 'ok');
    assert.equal(w.reportLastSr(0), 0x1234_5678);
    assert.equal(w.reportDelaySinceLastSr(0), (65536 * 3) / 4, '750 ms since it arrived');
  });

  it('forwards the SRs of forwarded SSRCs to every other endpoint, without report blocks', () => {
    const { host, rtcp } = setup();
    rtcp.receiveRtp('a', rtp(A_VIDEO, 1, 0, VP8));
    rtcp.receiveRtcp('a', Buffer.concat([sr(A_VIDEO, 1, 2), sr(A_VIDEO_LAYER, 1, 2), sdes()]));
    const sent = host.take();
    assert.deepEqual(sent.map((s) => s.to), ['b', 'c']);
    for (const { packet } of sent) {
      assert.deepEqual(kinds(packet), ['sr'], 'only the forwarded SSRC\'s SR, no SDES');
      assert.equal(packet.length, 28);
      assert.equal(packet[0], 0x80, 'RC = 0');
      assert.equal(packet.readUInt32BE(4), A_VIDEO);
    }
    rtcp.receiveRtcp('a', sr(B_VIDEO, 1, 2));
    assert.deepEqual(host.take(), [], 'an SR for an SSRC the endpoint does not own is dropped');
  });

  it('passes on one sender report per SSRC per 200 ms: a compound of a hundred copies is one', () => {
    const { host, clock, rtcp } = setup();
    rtcp.receiveRtp('a', rtp(A_VIDEO, 1, 0, VP8));
    rtcp.receiveRtcp('a', Buffer.concat(Array.from({ length: 100 }, () => sr(A_VIDEO, 1, 2))));
    assert.deepEqual(host.take().map((s) => [s.to, s.packet.length]), [['b', 28], ['c', 28]], 'one SR to each');
    clock.advance(SENDER_REPORT_GAP_MS - 1);
    rtcp.receiveRtcp('a', sr(A_VIDEO, 1, 3));
    assert.deepEqual(host.take(), [], 'too soon after the last');
    rtcp.receiveRtcp('a', sr(A_AUDIO, 1, 3));
    assert.equal(host.take().length, 2, 'another SSRC has its own gap');
    clock.advance(1);
    rtcp.receiveRtcp('a', sr(A_VIDEO, 1, 4));
    assert.equal(host.take().length, 2, 'and after the gap it goes');
  });

  it('hands the host each NACKed sequence number once, at most 1,000 per NACK, and passes on at most 100 NACKs a second unchanged', () => {
    const { host, clock, rtcp } = setup();
    const asked: number[][] = [];
    (host as RtcpTerminationHost).translateFeedback = (kind, mediaSsrc, lost) => {
      if (mediaSsrc !== A_VIDEO) return undefined; // re-stamped: A's video; not: A's audio
      asked.push([...lost]);
      return [];
    };
    /** A NACK about `media` with these (PID, BLP) entries. */
    const nackOf = (media: number, entries: Array<[number, number]>): Buffer => {
      const p = Buffer.alloc(12 + 4 * entries.length);
      p[0] = 0x81;
      p[1] = 205;
      p.writeUInt16BE(2 + entries.length, 2);
      p.writeUInt32BE(9, 4);
      p.writeUInt32BE(media, 8);
      entries.forEach(([pid, blp], i) => p.writeUInt16BE(pid, 12 + 4 * i) && p.writeUInt16BE(blp, 14 + 4 * i));
      return p;
    };
    rtcp.receiveRtcp('b', nackOf(A_VIDEO, Array.from({ length: 1000 }, () => [65530, 0xffff] as [number, number])));
    const wrapped = Array.from({ length: 17 }, (_, i) => (65530 + i) & 0xffff);
    assert.deepEqual(asked, [wrapped], 'the same 17 packets named 1,000 times are asked once each');
    rtcp.receiveRtcp('b', nackOf(A_VIDEO, Array.from({ length: 1000 }, (_, i) => [(i * 17) & 0xffff, 0xffff] as [number, number])));
    assert.equal(asked[1]!.length, MAX_NACKED_PER_PACKET, '17,000 distinct: the first 1,000');
    assert.deepEqual(asked[1]!.slice(0, 3), [0, 1, 2]);
    rtcp.receiveRtcp('b', nackOf(A_VIDEO, [[65530, 0]]));
    assert.deepEqual(asked[2], [65530], 'nothing is left marked from the earlier NACKs');
    host.take();
    for (let i = 0; i < PASSED_NACKS_PER_SECOND + 20; i++) rtcp.receiveRtcp('b', nackOf(A_AUDIO, [[i, 0]]));
    assert.equal(host.take().length, PASSED_NACKS_PER_SECOND, 'NACKs passed on unchanged: 100 in a second');
    clock.advance(1000);
    rtcp.receiveRtcp('b', nackOf(A_AUDIO, [[1, 0]]));
    assert.equal(host.take().length, 1, 'and more the next second');
    // A NACK of 1,000 scattered numbers (4 KB) passed on is rebuilt from the first PASSED_NACKED_PER_PACKET of them.
    clock.advance(1000);
    rtcp.receiveRtcp('b', nackOf(A_AUDIO, Array.from({ length: 1000 }, (_, i) => [(i * 17) & 0xffff, 0] as [number, number])));
    const passed = host.take();
    assert.equal(passed.length, 1);
    assert.ok(passed[0]!.packet.length <= 12 + 4 * PASSED_NACKED_PER_PACKET, `${passed[0]!.packet.length} bytes`);
    const relayed: number[] = [];
    for (let at = 12; at < passed[0]!.packet.length; at += 4) expandNack(passed[0]!.packet.readUInt16BE(at), passed[0]!.packet.readUInt16BE(at + 2), relayed);
    assert.deepEqual(relayed, Array.from({ length: PASSED_NACKED_PER_PACKET }, (_, i) => i * 17));
    assert.equal(passed[0]!.packet.readUInt32BE(4), FEEDBACK.video, 'from the bridge\'s feedback SSRC');
  });

  it('routes NACK, PLI and FIR to the owner of the media SSRC as the bridge\'s own, and drops RR, SDES, REMB and transport-cc', () => {
    const { host, clock, rtcp } = setup();
    const fromB = Buffer.concat([
      buildReceiverReports(2, [{ ssrc: A_VIDEO, fractionLost: 0, cumulativeLost: 0, highestSequence: 1, jitter: 0, lastSr: 0, delaySinceLastSr: 0 }]),
      sdes(), nack(A_VIDEO), pli(A_VIDEO), fir(A_VIDEO), remb(A_VIDEO), nack(424242), pli(B_VIDEO),
      buildTransportCc({ senderSsrc: 2, mediaSsrc: A_VIDEO, baseSequence: 1, referenceTime: 0, feedbackCount: 0, deltas: [1] }),
    ]);
    rtcp.receiveRtcp('b', fromB);
    const sent = host.take();
    assert.deepEqual(sent.map((s) => s.to), ['a'], 'unknown SSRCs and the sender\'s own go nowhere');
    assert.deepEqual(kinds(sent[0]!.packet), ['nack', 'pli'], 'the FIR right after the PLI is one keyframe request too many');
    const asBridge = (p: Buffer) => { const c = Buffer.from(p); c.writeUInt32BE(FEEDBACK.video, 4); return c; };
    assert.deepEqual(sent[0]!.packet, Buffer.concat([asBridge(nack(A_VIDEO)), asBridge(pli(A_VIDEO))]), 'from the bridge\'s feedback SSRC, otherwise unchanged');

    // a flood of keyframe requests from receivers reaches the sender once per 300 ms
    for (let i = 0; i < 50; i++) rtcp.receiveRtcp('c', pli(A_VIDEO));
    assert.deepEqual(host.take(), [], 'within the gap: nothing more');
    clock.advance(300);
    rtcp.receiveRtcp('c', Buffer.concat([fir(A_VIDEO), pli(A_VIDEO), pli(A_VIDEO)]));
    const later = host.take();
    assert.equal(later.length, 1);
    assert.deepEqual(kinds(later[0]!.packet), ['fir']);
  });

  it('passes on only what the compound it reads holds, even after passing one on failed', () => {
    const { host, rtcp } = setup();
    const send = host.sendRtcp.bind(host);
    host.sendRtcp = () => {
      throw new Error('send failed');
    };
    assert.throws(() => rtcp.receiveRtcp('b', nack(A_VIDEO)), /send failed/);
    host.sendRtcp = send;
    rtcp.receiveRtcp('c', pli(B_VIDEO));
    const sent = host.take();
    assert.deepEqual(sent.map((s) => s.to), ['b'], 'nothing of the failed compound is left to go with the next');
    assert.deepEqual(kinds(sent[0]!.packet), ['pli']);
  });

  it('keeps the A.3 totals when sources change or endpoints leave, and removes their state', () => {
    const { host, rtcp } = setup();
    for (const seq of [1, 2, 3, 5]) rtcp.receiveRtp('a', rtp(A_VIDEO_LAYER, seq, 0, VP8, seq));
    for (const seq of [1, 2, 4]) rtcp.receiveRtp('b', rtp(B_VIDEO, seq, 0, VP8, seq));
    assert.deepEqual(rtcp.counters(), { packetsExpected: 4 + 3, packetsLost: 1 + 1 });
    assert.equal(rtcp.sizes.streams, 2);
    host.owners.delete(A_VIDEO_LAYER);
    rtcp.sourcesChanged('a');
    assert.equal(rtcp.sizes.streams, 1);
    rtcp.removeEndpoint('b');
    assert.deepEqual(rtcp.sizes, { endpoints: 2, streams: 0, timers: 1 });
    assert.deepEqual(rtcp.counters(), { packetsExpected: 7, packetsLost: 2 });
    rtcp.receiveRtp('b', rtp(B_VIDEO, 5, 0, VP8, 5));
    assert.equal(rtcp.sizes.streams, 0, 'a removed endpoint\'s packets are ignored');
  });

  it('holds a timer only while RTP arrives: armed by a packet, lapsing two report periods after the last', () => {
    const { host, clock, rtcp } = setup();
    clock.advance(10_000);
    assert.equal(clock.pending, 0, 'no media, no timer');
    rtcp.receiveRtcp('b', pli(A_VIDEO));
    assert.equal(clock.pending, 0, 'RTCP alone does not arm it');
    for (let i = 0; i < 3; i++) rtcp.receiveRtp('a', rtp(A_VIDEO, i, i * 3000, VP8, i));
    assert.equal(rtcp.sizes.timers, 1);
    clock.advance(1000);
    assert.ok(host.take().some((s) => kinds(s.packet).includes('rr')), 'a report one period after media started');
    clock.advance(1000);
    assert.equal(rtcp.sizes.timers, 1, 'still armed two periods after the last packet');
    clock.advance(100);
    assert.equal(rtcp.sizes.timers, 0, 'then it lapses');
    assert.equal(clock.pending, 0);
    rtcp.receiveRtp('a', rtp(A_VIDEO, 3, 9000, VP8, 3));
    assert.equal(clock.pending, 1, 'the next packet arms it again');
    clock.advance(50);
    assert.equal(parseTransportCc(host.take()[0]!.packet)!.baseSequence, 3);
  });

  it('close() stops its timer and forgets every endpoint; idempotent', () => {
    const { clock, rtcp } = setup();
    rtcp.receiveRtp('a', rtp(A_VIDEO, 1, 0, VP8, 1));
    assert.equal(clock.pending, 1);
    rtcp.close();
    rtcp.close();
    assert.equal(clock.pending, 0);
    assert.deepEqual(rtcp.sizes, { endpoints: 0, streams: 0, timers: 0 });
  });

  describe('in BridgeConference', () => {
    class FakeEndpoint implements ConferenceEndpoint {
      readonly events = new TypedEvents<{ rtp: (p: Buffer, arrival?: number, logged?: boolean) => void; rtcp: (p: Buffer, arrival?: number) => void }>(log);
      readonly rtcpOut: Buffer[] = [];
      readonly rtpOut: Buffer[] = [];
      closed = false;
      constructor(readonly id: string) {}
      sendRtp(packet: Buffer): void {
        this.rtpOut.push(Buffer.from(packet));
      }
      sendRtcp(packet: Buffer): void {
        this.rtcpOut.push(Buffer.from(packet));
      }
      close(): void {
        this.closed = true;
      }
    }

    it('counts what an endpoint\'s receive log holds under the sources it came under, before they change', () => {
      const conference = new BridgeConference('m', undefined, log, () => undefined, () => undefined, { feedbackSsrcs: FEEDBACK });
      try {
        const records: Array<Parameters<LoggedRtp>> = [];
        const receiveLog: ReceiveLogReader = {
          get waiting() {
            return records.length;
          },
          drain: (onPacket) => {
            for (const record of records.splice(0)) onPacket(...record);
          },
        };
        const a = Object.assign(new FakeEndpoint('a'), { receiveLog: () => receiveLog });
        conference.addEndpoint(a);
        conference.addEndpoint(new FakeEndpoint('b'));
        conference.setSources('a', { all: new Set([A_VIDEO]), forwarded: new Set([A_VIDEO]), sourceOf: new Map(), named: [] });
        const now = performance.now();
        for (const seq of [1, 2, 3, 4, 6]) {
          records.push([seq, A_VIDEO, seq, seq * 3000, VP8, now, 0, NOT_FORWARDED]);
          a.events.emit('rtp', rtp(A_VIDEO, seq, seq * 3000, VP8, seq), now, true);
        }
        // The source goes (the camera stopped) before any feedback period read the log.
        conference.setSources('a', { all: new Set(), forwarded: new Set(), sourceOf: new Map(), named: [] });
        const stats = conference.mediaStats();
        assert.equal(stats.packetsExpected, 5);
        assert.equal(stats.packetsLost, 1);
      } finally {
        conference.close('test');
      }
    });

    it('reports on what a sender sends, fills packetsExpected/packetsLost and leaves no timer after close', () => {
      const clock = new ManualClock();
      const conference = new BridgeConference('m', undefined, log, () => undefined, () => undefined, { feedbackSsrcs: FEEDBACK, clock });
      const a = new FakeEndpoint('a');
      const b = new FakeEndpoint('b');
      conference.addEndpoint(a);
      conference.addEndpoint(b);
      conference.setSources('a', { all: new Set([A_VIDEO]), forwarded: new Set([A_VIDEO]), sourceOf: new Map(), named: [] });
      conference.setSources('b', { all: new Set([B_VIDEO]), forwarded: new Set([B_VIDEO]), sourceOf: new Map(), named: [] });
      for (const seq of [1, 2, 3, 4, 6]) a.events.emit('rtp', rtp(A_VIDEO, seq, seq * 3000, VP8, seq));
      assert.equal(b.rtpOut.length, 5, 'forwarding goes on');
      b.events.emit('rtcp', pli(A_VIDEO));
      assert.deepEqual(a.rtcpOut.map(kinds), [['pli']]);
      clock.advance(1000);
      const toA = a.rtcpOut.slice(1).map(kinds);
      assert.ok(toA.some((k) => k.includes('transport-cc')), 'transport-cc feedback to the sender');
      assert.ok(toA.some((k) => k.includes('rr')), 'a receiver report to the sender');
      assert.ok(b.rtcpOut.every((p) => !kinds(p).includes('rr')), 'b sent nothing, gets no report');
      const stats = conference.mediaStats();
      assert.equal(stats.packetsExpected, 5);
      assert.equal(stats.packetsLost, 1);
      conference.removeEndpoint('a', 'left');
      assert.equal(conference.mediaStats().packetsExpected, 5, 'cumulative after the sender left');
      conference.close('test');
      assert.equal(clock.pending, 0, 'no timer left');
      assert.ok(a.closed && b.closed);
    });

    it('times transport-cc feedback by the arrival its endpoint tells (on the process clock), or by its own clock', async () => {
      const feedbackFor = async (clock: ManualClock | undefined): Promise<Array<number | undefined>> => {
        const conference = new BridgeConference('m', undefined, log, () => undefined, () => undefined, { feedbackSsrcs: FEEDBACK, ...(clock ? { clock } : {}) });
        try {
          const a = new FakeEndpoint('a');
          conference.addEndpoint(a);
          conference.setSources('a', { all: new Set([A_VIDEO]), forwarded: new Set([A_VIDEO]), sourceOf: new Map(), named: [] });
          clock?.advance(1000);
          // Read together now, arrived 30, 25 and 10 ms ago.
          const now = performance.now();
          for (const [seq, ago] of [[1, 30], [2, 25], [3, 10]] as const) a.events.emit('rtp', rtp(A_VIDEO, seq, seq * 3000, VP8, seq), now - ago);
          if (clock) clock.advance(50);
          else await new Promise((resolve) => setTimeout(resolve, 80)); // the feedback period, on the process clock
          const feedback = a.rtcpOut.find((p) => kinds(p).includes('transport-cc'));
          assert.ok(feedback, 'transport-cc feedback to the sender');
          return parseTransportCc(feedback)!.deltas.slice(1);
        } finally {
          conference.close('test');
        }
      };
      // 250 µs units: 5 ms, then 15 ms apart, as they arrived.
      assert.deepEqual(await feedbackFor(undefined), [20, 60]);
      // A conference on another clock cannot place process-clock arrivals: its own now() for all three.
      assert.deepEqual(await feedbackFor(new ManualClock()), [0, 0]);
    });
  });
});
