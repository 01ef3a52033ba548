import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { RtcpWalker } from '../../../../bridge/rtp/rtcp.ts';
import {
  MAX_HELD, REORDER_LIMIT, TransportCcRecorder, buildTransportCc, parseTransportCc, type TransportCcFeedback,
} from '../../../../bridge/rtp/transport-cc.ts';
import { hex } from './fixtures.ts';
import { seededRandom } from '../../seeded-random.ts';

const SENDER = 0x11111111;
const MEDIA = 0x22222222;

/**
 * What a sender reads from feedback packets, in order: each 16-bit sequence number's arrival in
 * 250 µs ticks as last reported received (the reference time plus the deltas so far), and how many
 * statuses were reported in all.
 */
function readArrivals(packets: readonly Buffer[], into = new Map<number, number>()): { arrivals: Map<number, number>; statuses: number } {
  let statuses = 0;
  for (const packet of packets) {
    const fb = parseTransportCc(packet)!;
    let ticks = fb.referenceTime * 256;
    fb.deltas.forEach((delta, k) => {
      if (delta === undefined) return;
      ticks += delta;
      into.set((fb.baseSequence + k) & 0xffff, ticks);
    });
    statuses += fb.deltas.length;
  }
  return { arrivals: into, statuses };
}

function feedback(baseSequence: number, referenceTime: number, feedbackCount: number, deltas: Array<number | undefined>): TransportCcFeedback {
  return { senderSsrc: SENDER, mediaSsrc: MEDIA, baseSequence, referenceTime, feedbackCount, deltas };
}


describe('bridge/rtp/transport-cc', () => {
  describe('buildTransportCc (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1)', () => {
    it('three small deltas: one run length chunk, RTCP padding to 32 bits', () => {
      const built = buildTransportCc(feedback(1000, 100, 2, [4, 8, 1]));
      assert.deepEqual(built, hex(`
        af cd 00 06   # V=2 P=1 FMT=15 | PT=205 | length 6 (28 bytes)
        11 11 11 11   # SSRC of packet sender
        22 22 22 22   # SSRC of media source
        03 e8 00 03   # base sequence 1000 | packet status count 3
        00 00 64 02   # reference time 100 (6.4 s) | feedback packet count 2
        20 03         # run length chunk: T=0 S=01 (small delta) run 3
        04 08 01      # receive deltas 1 ms, 2 ms, 0.25 ms
        00 00 03      # padding, count 3
      `));
    });

    it('a missing packet and large deltas: a two-bit status vector chunk', () => {
      const built = buildTransportCc(feedback(0xfffe, 0x123456, 0xff, [1, undefined, 256, -4, 2]));
      assert.deepEqual(built, hex(`
        8f cd 00 06   # V=2 P=0 FMT=15 | PT=205 | length 6 (28 bytes, no padding needed)
        11 11 11 11
        22 22 22 22
        ff fe 00 05   # base sequence 65534 | 5 statuses (65534 … 2, across the wrap)
        12 34 56 ff   # reference time 0x123456 | feedback packet count 255
        d2 90         # T=1 S=1: 01 00 10 10 01 (small, missing, large, large, small) 00 00
        01            # small delta 0.25 ms
        01 00         # large delta 256 ticks = 64 ms
        ff fc         # large (negative) delta −4 ticks = −1 ms: reordered
        02            # small delta 0.5 ms
      `));
    });

    it('received and missing packets without large deltas: a one-bit status vector chunk', () => {
      const built = buildTransportCc(feedback(7, 0, 0, [10, undefined, 20, 30, undefined, undefined, 40, 50, 60, 70]));
      assert.deepEqual(built, hex(`
        af cd 00 07   # P=1, length 7 (32 bytes)
        11 11 11 11
        22 22 22 22
        00 07 00 0a   # base 7 | 10 statuses
        00 00 00 00   # reference time 0 | count 0
        ac f0         # T=1 S=0: 1 0 1 1 0 0 1 1 1 1 (+4 unused zero bits)
        0a 14 1e 28 32 3c 46
        00 00 03
      `));
    });

    it('a long run of missing packets: a run length chunk of symbol 00', () => {
      const deltas = [5, ...new Array<undefined>(30).fill(undefined), 6];
      const built = buildTransportCc(feedback(0, 0, 0, deltas));
      assert.deepEqual(built.subarray(20), hex(`
        a0 00         # one-bit vector: received, then 13 missing
        00 11         # run length: 17 missing
        20 01         # run length: 1 small delta
        05 06         # deltas
      `));
    });

    it('reads a run that says more than the status count up to the count only', () => {
      const built = buildTransportCc(feedback(0, 0, 0, [undefined, undefined, 7]));
      // Status count 3; chunks replaced by one run of 8191 missing packets, then one of 1 small delta (a run that overshoots).
      const forged = Buffer.concat([built.subarray(0, 20), Buffer.from([0x1f, 0xff, 0x20, 0x01, 0x07, 0x00, 0x00, 0x00])]);
      forged.writeUInt16BE(forged.length / 4 - 1, 2);
      forged[0] = forged[0]! & ~0x20;
      const parsed = parseTransportCc(forged);
      assert.equal(parsed?.deltas.length, 3, 'three statuses, not 8,191');
      assert.deepEqual(parsed?.deltas, [undefined, undefined, undefined]);
    });

    it('is a transport-cc sub-packet to the RTCP walker', () => {
      const built = buildTransportCc(feedback(1234, 300, 7, [20, 40, 60]));
      const walker = new RtcpWalker();
      walker.reset(built);
      assert.equal(walker.next(), 'ok');
      assert.equal(walker.kind, 'transport-cc');
      assert.deepEqual([walker.tccBaseSequence, walker.tccStatusCount, walker.tccReferenceTime, walker.tccFeedbackCount], [1234, 3, 300, 7]);
      assert.equal(walker.next(), 'end');
    });

    it('refuses an empty feedback and deltas that do not fit 16 bits', () => {
      assert.throws(() => buildTransportCc(feedback(0, 0, 0, [])), RangeError);
      assert.throws(() => buildTransportCc(feedback(0, 0, 0, [0x8000])), RangeError);
      assert.throws(() => buildTransportCc(feedback(0, 0, 0, [-0x8001])), RangeError);
    });

    it('parse(build(x)) is x for 500 random feedbacks (every chunk kind and delta size)', () => {
      const next = seededRandom(42);
      for (let n = 0; n < 500; n++) {
        const count = 1 + Math.floor(next() * 200);
        const lossy = next();
        const deltas: Array<number | undefined> = [];
        for (let i = 0; i < count; i++) {
          const r = next();
          if (r < lossy * 0.5) deltas.push(undefined);
          else if (r < 0.9) deltas.push(Math.floor(next() * 256));
          else deltas.push(Math.floor(next() * 0x10000) - 0x8000);
        }
        // some runs to exercise run length chunks
        if (next() < 0.3) deltas.push(...new Array<number>(Math.floor(next() * 40)).fill(3));
        if (deltas[0] === undefined) deltas[0] = 0;
        const x = feedback(Math.floor(next() * 0x10000), Math.floor(next() * 0x1000000), n & 0xff, deltas);
        const built = buildTransportCc(x);
        assert.equal(built.length % 4, 0);
        assert.deepEqual(parseTransportCc(built), x, `case ${n}`);
      }
    });
  });

  describe('TransportCcRecorder', () => {
    const take = (r: TransportCcRecorder, nowUs: number): TransportCcFeedback[] =>
      r.takeFeedback(SENDER, MEDIA, nowUs).map((p) => parseTransportCc(p)!);

    it('reports packets in order with deltas from the 64 ms reference time, then nothing until more arrive', () => {
      const r = new TransportCcRecorder();
      // first arrival 1 000 000 µs: reference time floor(1e6 / 64e3) = 15 (960 ms), first delta 40 ms = 160 ticks
      r.record(10, 1_000_000);
      r.record(11, 1_001_000);
      r.record(12, 1_001_250);
      assert.equal(r.pending, 3);
      const [fb, more] = take(r, 1_002_000);
      assert.equal(more, undefined);
      assert.deepEqual(fb, feedback(10, 15, 0, [160, 4, 1]));
      assert.equal(r.pending, 0);
      assert.deepEqual(take(r, 1_050_000), []);
      r.record(13, 1_060_000);
      assert.deepEqual(take(r, 1_070_000), [feedback(13, 16, 1, [Math.round(1_060_000 / 250) - 16 * 256])]);
    });

    it('reports a missing packet as not received, across the sequence wrap', () => {
      const r = new TransportCcRecorder();
      r.record(65534, 0);
      r.record(0, 2000); // 65535 lost
      r.record(1, 3000);
      assert.deepEqual(take(r, 4000), [feedback(65534, 0, 0, [0, undefined, 8, 4])]);
    });

    it('reports a reordered packet in sequence order with a negative (large) delta', () => {
      const r = new TransportCcRecorder();
      r.record(100, 0);
      r.record(102, 1000);
      r.record(101, 2000);
      assert.deepEqual(take(r, 3000), [feedback(100, 0, 0, [0, 8, -4])]);
    });

    it('reports a packet that arrives after it was reported missing again, with what follows it', () => {
      const r = new TransportCcRecorder();
      r.record(100, 0);
      r.record(102, 1000);
      assert.deepEqual(take(r, 1000), [feedback(100, 0, 0, [0, undefined, 4])]);
      r.record(101, 60_000);
      r.record(103, 61_000);
      // window goes back to 101: 101 (now received), 102 (repeated), 103
      assert.deepEqual(take(r, 62_000), [feedback(101, 0, 1, [240, -236, 240])]);
    });

    it('ignores duplicates and packets older than the history', () => {
      const r = new TransportCcRecorder({ historyUs: 100_000 });
      r.record(1, 0);
      r.record(2, 1000);
      take(r, 1000);
      r.record(2, 2000);
      assert.equal(r.pending, 0, 'a duplicate is not recorded');
      r.record(3, 200_000);
      assert.equal(take(r, 200_000).length, 1);
      assert.equal(r.size, 1, 'arrivals older than the history are forgotten once reported');
      r.record(0, 200_500);
      assert.equal(r.pending, 0, 'a packet from before the forgotten history is ignored');
    });

    it('starts a new feedback (new reference time) when a delta does not fit 16 bits', () => {
      const r = new TransportCcRecorder();
      r.record(1, 0);
      r.record(2, 9_000_000); // 36 000 ticks later
      assert.deepEqual(take(r, 9_000_000), [
        feedback(1, 0, 0, [0]),
        feedback(2, Math.floor(9_000_000 / 64_000), 1, [(9_000_000 / 250) - 140 * 256]),
      ]);
    });

    it('splits a round into packets under the size limit and counts feedback packets modulo 256', () => {
      const r = new TransportCcRecorder({ maxPacketBytes: 64 });
      for (let i = 0; i < 200; i++) r.record(i, i * 1000);
      const packets = r.takeFeedback(SENDER, MEDIA, 200_000);
      assert.ok(packets.length > 1);
      for (const p of packets) assert.ok(p.length <= 64);
      const parsed = packets.map((p) => parseTransportCc(p)!);
      const seqs = parsed.flatMap((fb) => fb.deltas.map((_, k) => (fb.baseSequence + k) & 0xffff));
      assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => i), 'every sequence number once, in order');
      assert.deepEqual(parsed.map((fb) => fb.feedbackCount), parsed.map((_, k) => k));
      const many = new TransportCcRecorder();
      for (let i = 0; i < 300; i++) {
        many.record(i, i * 1000);
        many.takeFeedback(SENDER, MEDIA, i * 1000);
      }
      many.record(300, 300_000);
      assert.equal(parseTransportCc(many.takeFeedback(SENDER, MEDIA, 300_000)[0]!)!.feedbackCount, 300 & 0xff);
    });

    it('reports reordering of a few packets across feedbacks with every arrival right', () => {
      const next = seededRandom(7);
      const r = new TransportCcRecorder();
      // 3 000 packets from 65 000 (across the wrap), 1 in 50 lost, a third of them moved a few
      // places later, feedback every 1 to 40 packets (the 100-packet limit or the 50 ms period).
      const order = Array.from({ length: 3000 }, (_, k) => 65_000 + k).filter(() => next() >= 0.02);
      for (let k = 0; k < order.length; k++) {
        if (next() >= 0.33) continue;
        const to = Math.min(order.length - 1, k + 1 + Math.floor(next() * 5));
        order.splice(to, 0, order.splice(k, 1)[0]!);
      }
      const sent = new Map<number, number>();
      const reported = new Map<number, number>();
      let nowUs = 7_000_000_000;
      let statuses = 0;
      let untilFeedback = 1;
      for (const seq of order) {
        nowUs += Math.floor(next() * 3000);
        r.record(seq & 0xffff, nowUs);
        sent.set(seq & 0xffff, Math.round(nowUs / 250));
        if (--untilFeedback > 0) continue;
        statuses += readArrivals(r.takeFeedback(SENDER, MEDIA, nowUs), reported).statuses;
        untilFeedback = 1 + Math.floor(next() * 40);
      }
      statuses += readArrivals(r.takeFeedback(SENDER, MEDIA, nowUs), reported).statuses;
      assert.deepEqual([...reported].sort(([a], [b]) => a - b), [...sent].sort(([a], [b]) => a - b), 'every packet received, at its arrival');
      assert.ok(statuses < 3000 * 1.25, `${statuses} statuses for 3000 numbers`);
    });

    it(`reports a packet up to ${REORDER_LIMIT} numbers before the end of the last feedback, ignores one later`, () => {
      const r = new TransportCcRecorder();
      for (let seq = 1000; seq < 1200; seq++) if (seq !== 1200 - REORDER_LIMIT && seq !== 1199 - REORDER_LIMIT) r.record(seq, seq * 1000);
      take(r, 1_200_000);
      r.record(1199 - REORDER_LIMIT, 1_201_000);
      assert.equal(r.pending, 0, 'too late: it stays reported missing');
      r.record(1200 - REORDER_LIMIT, 1_202_000);
      assert.equal(r.pending, 1);
      const [fb, more] = take(r, 1_203_000);
      assert.equal(more, undefined);
      assert.equal(fb!.baseSequence, 1200 - REORDER_LIMIT);
      assert.equal(fb!.deltas.length, REORDER_LIMIT, 'from it to the end of the last feedback, no further back');
    });

    it('reports each packet about once whatever the order: late packets move the window back a bounded way', () => {
      // A sender with every transport-wide number in descending blocks of 100 (all deltas
      // negative, 2 bytes), feedback forced after every 100 packets as RtcpTermination does,
      // and, when `lateBy` blocks is set, one number of each block held back and sent that many
      // blocks later (each reported missing, then moving the window back).
      const run = (lateBy: number | undefined) => {
        const r = new TransportCcRecorder();
        const held: number[] = [];
        let nowUs = 1e9;
        let base = 0;
        let received = 0;
        let bytes = 0;
        let packets = 0;
        let statuses = 0;
        const reported = new Map<number, number>();
        while (received < 32_000) {
          const block = Array.from({ length: 100 }, (_, k) => base + 99 - k);
          base += 100;
          if (lateBy !== undefined) {
            held.push(block.shift()!);
            if (held.length > lateBy) block.push(held.shift()!);
          }
          for (const seq of block) {
            nowUs += 62.5; // 16 000 packets a second
            r.record(seq & 0xffff, nowUs);
            received++;
            if (r.pending < 100) continue;
            const out = r.takeFeedback(SENDER, MEDIA, nowUs);
            packets += out.length;
            for (const p of out) bytes += p.length;
            statuses += readArrivals(out, reported).statuses;
          }
        }
        return { received, bytes, packets, statuses, reportedReceived: reported.size };
      };
      const normal = run(undefined);
      for (const lateBy of [60, 78, 1]) {
        const hostile = run(lateBy);
        assert.ok(hostile.bytes < 1.5 * normal.bytes, `${lateBy} blocks late: ${hostile.bytes} bytes, ${normal.bytes} in order`);
        assert.ok(hostile.packets < 1.5 * normal.packets, `${lateBy} blocks late: ${hostile.packets} feedback packets, ${normal.packets} in order`);
        assert.ok(hostile.statuses < 1.5 * hostile.received, `${lateBy} blocks late: ${hostile.statuses} statuses for ${hostile.received} packets`);
      }
      assert.ok(normal.statuses <= normal.received, `${normal.statuses} statuses for ${normal.received} packets`);
    });

    it('reports a long gap as a run: one small packet', () => {
      const r = new TransportCcRecorder({ maxPacketBytes: 64 });
      r.record(10, 1000);
      r.record(8000, 2000);
      const packets = r.takeFeedback(SENDER, MEDIA, 2000);
      assert.equal(packets.length, 1);
      assert.ok(packets[0]!.length <= 32, `${packets[0]!.length} bytes`);
      assert.deepEqual(parseTransportCc(packets[0]!), feedback(10, 0, 0, [4, ...new Array<undefined>(7989).fill(undefined), 4]));
    });

    it(`holds at most ${MAX_HELD} arrival times: past that the oldest are forgotten early, and every packet is still reported`, () => {
      const r = new TransportCcRecorder({ historyUs: 3_600_000_000 });
      const reported = new Map<number, number>();
      const count = MAX_HELD + 5000;
      // Each round must report, all received, the numbers that follow the previous round's: a
      // round lost or short shows even where the 16-bit numbers come round again.
      let next = 0;
      for (let seq = 0; seq < count; seq++) {
        r.record(seq & 0xffff, seq * 100);
        if (r.pending !== 100 && seq !== count - 1) continue;
        for (const packet of r.takeFeedback(SENDER, MEDIA, seq * 100)) {
          const fb = parseTransportCc(packet)!;
          assert.equal(fb.baseSequence, next & 0xffff, `the round after number ${next - 1}`);
          assert.ok(fb.deltas.every((d) => d !== undefined), `all received from ${next}`);
          next += fb.deltas.length;
          readArrivals([packet], reported);
        }
      }
      assert.equal(next, count, 'every number reported once, in order');
      assert.equal(r.size, MAX_HELD);
      assert.equal(reported.get((count - 1) & 0xffff), Math.round(((count - 1) * 100) / 250));
    });

    it('allocates nothing per packet once warmed up: records none, a feedback round only the packets it returns', () => {
      // The JS heap's used size around the calls, less that around an empty burst (what reading
      // it costs); a collection in between only lowers the figure, so the old recorder (a Map)
      // measured this way showed about 60 bytes per record and 55 kB per round.
      const r = new TransportCcRecorder();
      const used = (): number => v8.getHeapStatistics().used_heap_size;
      let seq = 0;
      let nowUs = 1e9;
      const burst = (n: number): void => {
        for (let k = 0; k < n; k++) {
          seq += k % 37 === 5 ? 2 : 1; // losses
          nowUs += 700;
          r.record((k % 11 === 3 ? seq - 1 : seq) & 0xffff, nowUs); // and reordering
        }
      };
      // Medians over the bursts: a burst may meet an allocation of V8's own (code, feedback
      // vectors, a timer of the test runner), which a sum over all of them would count.
      const recordBytes: number[] = [];
      const roundBytes: number[] = [];
      for (let round = 0; round < 500; round++) {
        let before = used();
        burst(0);
        const reading = used() - before;
        before = used();
        burst(500);
        const recorded = used() - before;
        before = used();
        const packets = r.takeFeedback(SENDER, MEDIA, nowUs);
        const fed = used() - before;
        assert.equal(packets.length, 1);
        if (round < 100) continue; // warm-up: rings grown, code compiled
        recordBytes.push(Math.max(0, recorded - reading));
        roundBytes.push(Math.max(0, fed - reading));
      }
      recordBytes.sort((a, b) => a - b);
      roundBytes.sort((a, b) => a - b);
      assert.ok(recordBytes[200]! < 256, `median ${recordBytes[200]} bytes per burst of 500 records (the old recorder: about 11,000)`);
      assert.ok(roundBytes[200]! < 1024, `median ${roundBytes[200]} bytes per feedback round of 500 packets`);
    });
  });
});
