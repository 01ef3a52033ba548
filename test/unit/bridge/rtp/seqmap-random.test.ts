// Seeded randomised runs of the seqmap against simulated simulcast senders: layer switches,
// temporal-layer drops, retransmissions, loss, reordering and NACK repair.

import assert from 'node:assert/strict';
import { SeqMap } from '../../../../bridge/rtp/seqmap.ts';
import { seqNewer, tsNewer } from '../../../../bridge/rtp/serial.ts';
import { Layer, Receiver, TARGET, mapOne, type Out, type Pkt } from './seqmap-stream.ts';

describe('bridge/rtp/seqmap (randomised)', () => {
  describe('randomised invariants (seeded)', () => {
    it('no gaps, monotonic time, +1 PictureIDs; replays map identically; dropped stays dropped', () => {
      let seed = 12345;
      const rnd = (n: number): number => {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        return seed % n;
      };
      let totalSwitches = 0;
      let totalDrops = 0;
      for (let run = 0; run < 20; run++) {
        const map = new SeqMap({ ssrc: TARGET, window: 512, maxRanges: 512 });
        const rx = new Receiver();
        const layers = [0, 1, 2].map(
          (i) => new Layer(0x1000 + i, rnd(65_536), rnd(2 ** 32), rnd(0x8000), rnd(256), 1 + i + rnd(2)),
        );
        const history: Array<{ p: Pkt; out?: Out }> = [];
        let current = rnd(3);
        let target = current;
        let maxTid = 2;
        let started = false;
        let switches = 0;
        let drops = 0;
        for (let f = 0; f < 600; f++) {
          if (rnd(25) === 0) target = rnd(3);
          if (rnd(40) === 0) maxTid = rnd(3);
          for (let l = 0; l < 3; l++) {
            const wantKey = l === target && (target !== current || !started) && rnd(3) === 0;
            const packets = layers[l]!.frame(wantKey);
            for (const p of packets) {
              if (map.canSwitchTo(p) && p.ssrc === layers[target]!.ssrc) {
                map.switchTo(p);
                current = l;
                started = true;
                switches++;
              }
              if (!started || l !== current) {
                if (map.map(p) === 'new') assert.fail(`${p.ssrc}/${p.sequenceNumber} advanced the stream without a switch`);
                continue;
              }
              if (p.tid > maxTid) {
                if (!map.drop(p)) assert.fail(`drop of ${p.sequenceNumber} left a hole`);
                drops++;
                history.push({ p });
              } else {
                const out = mapOne(map, p);
                rx.add(out);
                history.push({ p, out });
              }
            }
          }
          // Replay a few recent packets as retransmissions.
          for (let r = 0; r < 2 && history.length > 0; r++) {
            const { p, out } = history[history.length - 1 - rnd(Math.min(history.length, 200))]!;
            const again = mapOne(map, p);
            if (out === undefined) assert.equal(again.result, 'unknown');
            else if (again.result !== 'old' || again.seq !== out.seq || again.ts !== out.ts || again.pid !== out.pid || again.tl0 !== out.tl0) {
              assert.fail(`replay of ${p.ssrc}/${p.sequenceNumber}: ${JSON.stringify(again)} ≠ ${JSON.stringify(out)}`);
            }
          }
        }
        rx.assertContinuous();
        assert.ok(rx.packets.length > 300, `run ${run}: ${rx.packets.length} sent`);
        totalSwitches += switches;
        totalDrops += drops;
      }
      assert.ok(totalSwitches > 100 && totalDrops > 1000, `${totalSwitches} switches, ${totalDrops} drops`);
    });
  });

  describe('randomised loss, reordering and NACK repair (seeded)', () => {
    it('outputs are unique, "new" ones increase, and NACK repair closes every hole', () => {
      let seed = 99;
      const rnd = (n: number): number => {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        return seed % n;
      };
      let totalRepaired = 0;
      let totalLate = 0;
      for (let run = 0; run < 15; run++) {
        const map = new SeqMap({ ssrc: TARGET, window: 4096, maxRanges: 4096 });
        const layers = [0, 1, 2].map((i) => new Layer(0x2000 + i, rnd(65_536), rnd(2 ** 32), rnd(0x8000), rnd(256), 1 + i + rnd(3)));
        // Emit 300 frames per layer, then deliver with jitter, short reordering and late recoveries.
        const emitted: Array<{ p: Pkt; layer: number; at: number }> = [];
        let target = rnd(3);
        const schedule: number[] = []; // the layer the policy wants, per frame time
        for (let f = 0; f < 300; f++) {
          if (rnd(30) === 0) target = rnd(3);
          schedule.push(target);
          for (let l = 0; l < 3; l++) {
            const key = l === target && rnd(4) === 0;
            for (const p of layers[l]!.frame(key)) {
              const late = rnd(100) < 3 ? 20 + rnd(40) : 0;
              emitted.push({ p, layer: l, at: f * 10 + rnd(4) + late * 10 });
            }
          }
        }
        const arrivals = emitted.map((e, i) => ({ ...e, i })).sort((a, b) => a.at - b.at || a.i - b.i);
        const cache = new Map<string, Pkt>();
        for (const { p } of emitted) cache.set(`${p.ssrc}/${p.sequenceNumber}`, p);
        const owner = new Map<number, string>(); // output slot → input key
        const outputs = new Map<string, Out>(); // input key → output
        const assign = (key: string, out: Out): void => {
          const prev = owner.get(out.seq);
          if (prev !== undefined && prev !== key) assert.fail(`slot ${out.seq} given to ${prev} and ${key}`);
          owner.set(out.seq, key);
          outputs.set(key, out);
        };
        let lastNew: Out | undefined;
        let maxTid = 2;
        for (const { p, layer, at } of arrivals) {
          if (at % 97 === 0) maxTid = rnd(3);
          if (layer === schedule[Math.min(Math.floor(at / 10), 299)] && map.canSwitchTo(p)) map.switchTo(p);
          const key = `${p.ssrc}/${p.sequenceNumber}`;
          if (p.ssrc === map.currentSsrc && p.tid > maxTid) {
            if (map.drop(p)) continue;
            totalLate++;
            assign(key, mapOne(map, p)); // it owns a slot: forward it anyway
            continue;
          }
          const out = mapOne(map, p);
          if (out.result === 'unknown') continue;
          assign(key, out);
          if (out.result === 'new') {
            if (lastNew !== undefined) {
              if (!seqNewer(out.seq, lastNew.seq)) assert.fail(`new output ${out.seq} after ${lastNew.seq}`);
              if (out.ts !== lastNew.ts && !tsNewer(out.ts, lastNew.ts)) assert.fail(`new timestamp ${out.ts} after ${lastNew.ts}`);
            }
            lastNew = out;
          }
        }
        // The receiver NACKs every hole between its first and newest packet; the bridge reverse-maps
        // each to an input packet from its cache and maps it again.
        const slots = [...owner.keys()];
        const first = slots.reduce((a, b) => (seqNewer(a, b) ? b : a));
        const last = slots.reduce((a, b) => (seqNewer(b, a) ? b : a));
        for (let s = first; s !== ((last + 1) & 0xffff); s = (s + 1) & 0xffff) {
          if (owner.has(s)) continue;
          assert.equal(map.reverse(s), true, `hole ${s} does not reverse`);
          const p = cache.get(`${map.reverseSsrc}/${map.reverseSequence}`);
          assert.ok(p, `hole ${s} reverses to an unknown packet`);
          const out = mapOne(map, p);
          assert.equal(out.result, 'old');
          assert.equal(out.seq, s);
          assign(`${p.ssrc}/${p.sequenceNumber}`, out);
          totalRepaired++;
        }
        // Retransmissions of everything map identically.
        for (const [key, out] of outputs) {
          const again = mapOne(map, cache.get(key)!);
          if (again.result !== 'old' || again.seq !== out.seq || again.ts !== out.ts || again.pid !== out.pid) {
            assert.fail(`replay of ${key}: ${JSON.stringify(again)} ≠ ${JSON.stringify(out)}`);
          }
        }
        assert.ok(owner.size > 300, `run ${run}: ${owner.size} slots`);
      }
      assert.ok(totalRepaired > 0 && totalLate > 0, `${totalRepaired} repaired, ${totalLate} late-dropped`);
    });
  });

});
