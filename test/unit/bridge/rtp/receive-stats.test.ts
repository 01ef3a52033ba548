import assert from 'node:assert/strict';
import { ReceiveStatistics, compactNtp } from '../../../../bridge/rtp/receive-stats.ts';

const VIDEO = 90_000;

/** Feeds sequence numbers with timestamps 3000 apart and arrivals 1 ms apart; returns the results. */
function feed(stats: ReceiveStatistics, seqs: number[], startMs = 0): string[] {
  return seqs.map((seq, i) => stats.update(seq, (seq * 3000) >>> 0, startMs + i, VIDEO));
}

describe('bridge/rtp/receive-stats (RFC 3550 A.1, A.3, A.8)', () => {
  describe('probation (A.1)', () => {
    it('counts nothing until two packets in sequence; the second one starts the count', () => {
      const s = new ReceiveStatistics(1);
      assert.deepEqual(feed(s, [100]), ['probation']);
      assert.equal(s.report(0), undefined, 'no report block while on probation');
      assert.equal(s.packetsExpected, 0);
      assert.deepEqual(feed(s, [101]), ['counted']);
      assert.equal(s.packetsReceived, 1);
      assert.equal(s.packetsExpected, 1);
      assert.equal(s.packetsLost, 0);
      assert.equal(s.extendedHighestSequence, 101);
    });

    it('restarts probation when the second packet is not the next one', () => {
      const s = new ReceiveStatistics(1);
      assert.deepEqual(feed(s, [100, 102, 103, 104]), ['probation', 'probation', 'counted', 'counted']);
      assert.equal(s.packetsExpected, 2, 'base is 103');
      assert.equal(s.packetsLost, 0);
    });
  });

  describe('expected and lost (A.3)', () => {
    it('counts a gap as lost, cumulatively and as the fraction of the interval', () => {
      const s = new ReceiveStatistics(0xaabbccdd);
      feed(s, [100, 101, 102, 103, 104, 106, 107, 108, 109, 110]); // 105 lost
      assert.equal(s.packetsExpected, 10);
      assert.equal(s.packetsLost, 1);
      const first = s.report(100)!;
      assert.equal(first.ssrc, 0xaabbccdd);
      assert.equal(first.cumulativeLost, 1);
      assert.equal(first.fractionLost, Math.floor(256 / 10)); // 25
      assert.equal(first.highestSequence, 110);
      // next interval: 111..120 with 113 and 117 lost → 2/10
      feed(s, [111, 112, 114, 115, 116, 118, 119, 120], 200);
      const second = s.report(300)!;
      assert.equal(second.fractionLost, Math.floor((2 * 256) / 10)); // 51
      assert.equal(second.cumulativeLost, 3);
      // an interval without loss reports fraction 0 but keeps the cumulative count
      feed(s, [121, 122], 400);
      assert.equal(s.report(500)!.fractionLost, 0);
      assert.equal(s.packetsLost, 3);
    });

    it('counts a reordered packet once it arrives, and duplicates make loss negative (fraction 0)', () => {
      const s = new ReceiveStatistics(1);
      feed(s, [10, 11, 13, 14]);
      assert.equal(s.packetsLost, 1);
      assert.deepEqual(feed(s, [12]), ['counted'], 'late 12 within MAX_MISORDER');
      assert.equal(s.packetsLost, 0);
      assert.equal(s.extendedHighestSequence, 14, 'a late packet does not move the highest sequence');
      feed(s, [14, 14]);
      assert.equal(s.packetsLost, -2);
      const block = s.report(0)!;
      assert.equal(block.cumulativeLost, -2);
      assert.equal(block.fractionLost, 0);
    });

    it('extends the sequence number across the 16-bit wrap (cycles)', () => {
      const s = new ReceiveStatistics(1);
      feed(s, [65533, 65534, 65535, 0, 1, 3]);
      assert.equal(s.extendedHighestSequence, 65536 + 3);
      assert.equal(s.packetsExpected, 6, '65534 … 3');
      assert.equal(s.packetsLost, 1, 'only 2 is missing');
      assert.equal(s.report(0)!.highestSequence, 0x10003);
    });

    it('treats a packet just before the wrap that arrives after it as reordered, not as a new cycle', () => {
      const s = new ReceiveStatistics(1);
      feed(s, [65532, 65533, 65535, 0, 1]);
      assert.deepEqual(feed(s, [65534]), ['counted']);
      assert.equal(s.extendedHighestSequence, 65536 + 1);
      assert.equal(s.packetsLost, 0);
    });

    it('a large jump is ignored once and restarts the stream when the next packet follows it', () => {
      const s = new ReceiveStatistics(1);
      feed(s, [100, 101, 102]);
      assert.deepEqual(feed(s, [9000]), ['bad-jump']);
      assert.equal(s.packetsReceived, 2, 'the jump is not counted');
      assert.deepEqual(feed(s, [103]), ['counted'], 'the old stream goes on');
      assert.deepEqual(feed(s, [20000, 20001, 20002]), ['bad-jump', 'restarted', 'counted']);
      assert.equal(s.packetsExpected, 2, 'base is 20001');
      assert.equal(s.packetsReceived, 2);
      assert.equal(s.extendedHighestSequence, 20002);
    });

    it('keeps what the numbering before a restart counted in its totals, the report counts starting again', () => {
      const s = new ReceiveStatistics(1);
      feed(s, [100, 101, 102, 105, 106]); // 103 and 104 lost
      const before = { expected: s.packetsExpected, lost: s.packetsLost };
      assert.equal(before.lost, 2);
      assert.deepEqual(feed(s, [30000, 30001, 30003]), ['bad-jump', 'restarted', 'counted']);
      assert.deepEqual([s.packetsExpected, s.packetsLost], [3, 1], 'the report block counts from the restart');
      assert.deepEqual([s.totalExpected, s.totalLost], [before.expected + 3, before.lost + 1], 'the totals from the start');
    });

    it('a jump back by more than MAX_MISORDER is a jump, not a late packet', () => {
      const s = new ReceiveStatistics(1);
      feed(s, [1000, 1001, 1002]);
      assert.deepEqual(feed(s, [1002 - 101]), ['bad-jump']);
      assert.deepEqual(feed(s, [1002 - 100 + 1]), ['counted'], 'within MAX_MISORDER: reordered (and not the restart candidate 902)');
      assert.equal(s.extendedHighestSequence, 1002);
    });

    it('clamps the cumulative lost to 24 bits signed', () => {
      const s = new ReceiveStatistics(1);
      feed(s, [0, 1]);
      // Advance by 2999 (within MAX_DROPOUT) many times: 2998 lost each time.
      let seq = 1;
      for (let i = 0; i < 3000; i++) {
        seq = (seq + 2999) & 0xffff;
        s.update(seq, 0, i, VIDEO);
      }
      assert.ok(s.packetsLost > 0x7fffff);
      assert.equal(s.report(0)!.cumulativeLost, 0x7fffff);
    });
  });

  describe('interarrival jitter (A.8)', () => {
    it('is 0 for perfectly paced packets and follows J += (|D| − J)/16 otherwise', () => {
      const s = new ReceiveStatistics(1);
      // 90 kHz, 10 ms apart (900 ticks); the 4th packet arrives 2 ms (180 ticks) late.
      const arrivals = [0, 10, 20, 32, 40];
      arrivals.forEach((ms, i) => s.update(i, i * 900, ms, VIDEO));
      // transits 0,0,0,180,0 → D: 0, 180, 180 → J = 180/16 = 11.25, then 11.25 + (180 − 11.25)/16
      assert.equal(s.jitter, Math.floor(11.25 + (180 - 11.25) / 16));
      assert.equal(s.report(40)!.jitter, 21);
    });

    it('survives the 32-bit timestamp wrap and uses the clock rate given (48 kHz audio)', () => {
      const s = new ReceiveStatistics(1);
      const base = 0xffff_ff00;
      for (let i = 0; i < 10; i++) s.update(i, (base + i * 960) >>> 0, 1000 + i * 20, 48_000);
      assert.equal(s.jitter, 0, '960 ticks per 20 ms at 48 kHz is perfect pacing');
    });

    it('ignores reordered packets and restarts when the clock rate changes', () => {
      const s = new ReceiveStatistics(1);
      [0, 10, 20].forEach((ms, i) => s.update(i, i * 900, ms, VIDEO));
      s.update(1, 900, 500, VIDEO); // a duplicate, very late: no jitter sample
      assert.equal(s.jitter, 0);
      s.update(3, 0, 30, 8000); // another payload type's clock: new baseline, no sample
      assert.equal(s.jitter, 0);
    });
  });

  describe('LSR and DLSR (§6.4.1)', () => {
    it('LSR is the middle 32 bits of the SR NTP time; DLSR is in 1/65536 s since its arrival', () => {
      assert.equal(compactNtp(0x12345678, 0x9abcdef0), 0x56789abc);
      const s = new ReceiveStatistics(1);
      feed(s, [1, 2]);
      assert.equal(s.report(0)!.lastSr, 0, 'no SR yet: LSR 0');
      feed(s, [3]);
      s.onSenderReport(0x12345678, 0x9abcdef0, 1000);
      const block = s.report(1500)!;
      assert.equal(block.lastSr, 0x56789abc);
      assert.equal(block.delaySinceLastSr, 32768);
    });
  });

  it('heardSinceReport is true only when packets arrived since the last report', () => {
    const s = new ReceiveStatistics(1);
    feed(s, [1]);
    assert.equal(s.heardSinceReport, false, 'on probation');
    feed(s, [2]);
    assert.equal(s.heardSinceReport, true);
    s.report(0);
    assert.equal(s.heardSinceReport, false);
    feed(s, [3]);
    assert.equal(s.heardSinceReport, true);
  });
});
