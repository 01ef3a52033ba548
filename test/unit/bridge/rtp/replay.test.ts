import assert from 'node:assert/strict';
import { ReplayWindow, estimateSrtpIndex, readSrtcpIndex, rolloverCounter, type ReplayVerdict } from '../../../../bridge/rtp/replay.ts';
import { hex } from './fixtures.ts';

/** Runs check-then-update (update only on 'ok', as after a successful tag check) and returns each verdict. */
function run(window: ReplayWindow, indices: number[]): ReplayVerdict[] {
  return indices.map((index) => {
    const verdict = window.check(index);
    if (verdict === 'ok') window.update(index);
    return verdict;
  });
}

describe('bridge/rtp/replay', () => {
  describe('the RFC 3711 §3.3.2 window', () => {
    const cases: Array<[name: string, indices: number[], expected: ReplayVerdict[]]> = [
      ['in order', [0, 1, 2, 3], ['ok', 'ok', 'ok', 'ok']],
      ['duplicate of the newest', [10, 11, 11], ['ok', 'ok', 'replayed']],
      ['duplicate inside the window', [10, 11, 12, 10], ['ok', 'ok', 'ok', 'replayed']],
      ['out of order within the window, once', [100, 105, 101, 104, 101], ['ok', 'ok', 'ok', 'ok', 'replayed']],
      ['oldest index still inside (highest − 63)', [1000, 937], ['ok', 'ok']],
      ['too old (highest − 64)', [1000, 936], ['ok', 'too-old']],
      ['far jump ahead forgets the past', [5, 6, 10_000, 6, 9_999, 9_999], ['ok', 'ok', 'ok', 'too-old', 'ok', 'replayed']],
      ['jump of exactly the window size', [0, 64, 1, 0], ['ok', 'ok', 'ok', 'too-old']],
      ['jump of window − 1 keeps the oldest bit', [0, 63, 0, 1], ['ok', 'ok', 'replayed', 'ok']],
      ['bits of skipped indices are cleared on a slide', [0, 1, 2, 66, 65, 64, 3], ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']],
      ['slides across ring positions', [63, 64, 127, 128, 65, 64, 126], ['ok', 'ok', 'ok', 'ok', 'ok', 'too-old', 'ok']],
      ['across the 16-bit sequence wrap (ROC 0 → 1)', [65534, 65535, 65536, 65537, 65535, 65533], ['ok', 'ok', 'ok', 'ok', 'replayed', 'ok']],
      ['large SRTP indices (ROC near 2^32)', [2 ** 48 - 3, 2 ** 48 - 1, 2 ** 48 - 2, 2 ** 48 - 1], ['ok', 'ok', 'ok', 'replayed']],
      ['negative or NaN index is never accepted', [5, -1, Number.NaN], ['ok', 'too-old', 'too-old']],
    ];
    for (const [name, indices, expected] of cases) {
      it(`${name}: ${expected.join(' ')}`, () => {
        assert.deepEqual(run(new ReplayWindow(), indices), expected);
      });
    }

    it('check alone never changes state (a packet failing authentication cannot move the window)', () => {
      const w = new ReplayWindow();
      run(w, [100]);
      assert.equal(w.check(5000), 'ok');
      assert.equal(w.highest, 100);
      assert.equal(w.check(99), 'ok');
      assert.equal(w.check(100), 'replayed');
    });

    it('update of an index older than the window is ignored', () => {
      const w = new ReplayWindow();
      run(w, [1000]);
      w.update(10);
      assert.equal(w.highest, 1000);
      assert.equal(w.check(999), 'ok');
    });

    it('a larger window remembers further back; size rounds up to a multiple of 32', () => {
      const w = new ReplayWindow(1000);
      assert.equal(w.size, 1024);
      assert.deepEqual(run(w, [5000, 3977, 3976, 3977]), ['ok', 'ok', 'too-old', 'replayed']);
      assert.equal(new ReplayWindow(1).size, 32);
    });

    it('reset forgets everything', () => {
      const w = new ReplayWindow();
      run(w, [1, 2, 3]);
      w.reset();
      assert.equal(w.highest, -1);
      assert.deepEqual(run(w, [2, 2]), ['ok', 'replayed']);
    });

    it('agrees with a brute-force set model over a long random sequence (seeded)', () => {
      let seed = 7;
      const rnd = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (const size of [64, 128, 96]) {
        const w = new ReplayWindow(size);
        const seen = new Set<number>();
        let highest = -1;
        for (let n = 0; n < 20_000; n++) {
          const roll = rnd(100);
          const index = Math.max(0, roll < 70 ? highest + 1 + rnd(3) : roll < 95 ? highest - rnd(size + 20) : highest + rnd(5 * size));
          const expected: ReplayVerdict = index > highest ? 'ok' : highest - index >= size ? 'too-old' : seen.has(index) ? 'replayed' : 'ok';
          assert.equal(w.check(index), expected, `index ${index} highest ${highest}`);
          if (expected === 'ok' && rnd(10) > 0) {
            w.update(index);
            seen.add(index);
            highest = Math.max(highest, index);
          }
        }
      }
    });
  });

  describe('index estimation (RFC 3711 §3.3.1, Appendix A)', () => {
    const cases: Array<[name: string, highest: number, seq: number, index: number]> = [
      ['first packet', -1, 4660, 4660],
      ['next in order', 100, 101, 101],
      ['reordered, same ROC', 100, 90, 90],
      ['seq wraps: ROC + 1', 65535, 0, 65536],
      ['seq wraps from the upper half', 60_000, 100, 65_536 + 100],
      ['late packet from before the wrap: ROC − 1', 65536 + 5, 65530, 65530],
      ['boundary: s_l − 2^15 > SEQ is strict', 40_000, 40_000 - 32_768, 40_000 - 32_768],
      ['boundary: one below', 40_000, 40_000 - 32_769, 65_536 + 40_000 - 32_769],
      ['boundary: SEQ − s_l > 2^15 is strict', 65_536 + 1000, 1000 + 32_768, 65_536 + 1000 + 32_768],
      ['boundary: one above', 65_536 + 1000, 1000 + 32_769, 1000 + 32_769],
      ['ROC 7 stays 7', 7 * 65_536 + 30_000, 30_500, 7 * 65_536 + 30_500],
      ['ROC 0 with a far-behind seq wraps ROC modulo 2^32 (literal Appendix A)', 5, 65_000, (2 ** 32 - 1) * 65_536 + 65_000],
      ['ROC 2^32 − 1 wrapping forward returns to ROC 0', (2 ** 32 - 1) * 65_536 + 65_000, 5, 5],
    ];
    for (const [name, highest, seq, index] of cases) {
      it(`${name}: highest ${highest}, seq ${seq} → ${index}`, () => {
        assert.equal(estimateSrtpIndex(highest, seq), index);
      });
    }

    it('tracks a stream of 200 000 packets with reordering across three wraps', () => {
      const w = new ReplayWindow();
      for (let i = 0; i < 200_000; i++) {
        // Swap each pair (i, i + 1) for odd i: a constant reorder of one.
        const truth = i % 2 === 1 && i + 1 < 200_000 ? i + 1 : i % 2 === 0 && i > 0 ? i - 1 : i;
        const index = estimateSrtpIndex(w.highest, truth & 0xffff);
        assert.equal(index, truth);
        assert.equal(w.check(index), 'ok');
        w.update(index);
      }
      assert.equal(rolloverCounter(w.highest), 3);
    });
  });

  describe('SRTCP index from the trailer (RFC 3711 §3.4)', () => {
    it('reads the 31-bit index before a 10-byte HMAC tag, ignoring the E flag', () => {
      const buf = hex('80 c9 00 01 00 00 00 01 aa bb cc dd  80 00 01 02  11 22 33 44 55 66 77 88 99 00');
      assert.equal(readSrtcpIndex(buf, 10), 0x102);
    });

    it('reads the index at the very end for AEAD (no trailing tag)', () => {
      const buf = hex('80 c9 00 01 00 00 00 01 aa bb cc dd  ff ff ff ff');
      assert.equal(readSrtcpIndex(buf, 0), 0x7fffffff);
    });

    it('returns -1 for a packet too short to hold header and trailer', () => {
      assert.equal(readSrtcpIndex(hex('80 c9 00 01 00 00 00 01 00 00 00'), 0), -1);
      assert.equal(readSrtcpIndex(hex('80 c9 00 01 00 00 00 01 00 00 00 01'), 10), -1);
    });
  });
});
