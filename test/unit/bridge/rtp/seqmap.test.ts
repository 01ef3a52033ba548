import assert from 'node:assert/strict';
import { RtpHeader } from '../../../../bridge/rtp/packet.ts';
import { SeqMap, createSeqMapPacket, readSeqMapPacket } from '../../../../bridge/rtp/seqmap.ts';
import { Vp8Descriptor } from '../../../../bridge/rtp/vp8.ts';
import { vp8DeltaTwoByteExt, vp8Keyframe } from './fixtures.ts';
import { L0, L1, L2, Layer, Receiver, TARGET, forward, mapOne, pkt, type Pkt } from './seqmap-stream.ts';

describe('bridge/rtp/seqmap', () => {
  it('forgets the ranges of a layer left a window of outputs ago, even when 65 536 outputs later its numbers look recent again', () => {
    const map = new SeqMap({ ssrc: 1 });
    const packet = createSeqMapPacket();
    const of = (ssrc: number, seq: number, keyframe = false) => Object.assign(packet, { ssrc, sequenceNumber: seq & 0xffff, timestamp: 0, keyframe });
    assert.ok(map.switchTo(of(0xa, 100, true)));
    for (let seq = 100; seq < 1124; seq++) map.map(of(0xa, seq)); // outputs 100 … 1123
    assert.ok(map.switchTo(of(0xb, 5000, true)));
    for (let i = 0; i < 0x10000; i++) assert.equal(map.map(of(0xb, 5000 + i)), 'new');
    // A's numbers went round too: its packet 1100 would map to output 1100, which B's packet used 23 outputs ago.
    assert.equal(map.map(of(0xa, 1100)), 'unknown');
    assert.equal(map.drop(of(0xa, 1100)), true, 'nor does it own a slot');
    // A NACK of output 1100 names B's packet, not A's.
    assert.ok(map.reverse(1100));
    assert.deepEqual([map.reverseSsrc, map.reverseSequence], [0xb, (1100 - 100 - 1024 + 5000 - 0x10000 + 0x10000) & 0xffff]);
  });

  it('counts outputs from the first segment, whatever was looked up before it', () => {
    const map = new SeqMap({ ssrc: 1 });
    const packet = createSeqMapPacket();
    const of = (seq: number, keyframe = false) => Object.assign(packet, { ssrc: 0xa, sequenceNumber: seq & 0xffff, timestamp: seq * 10, keyframe });
    assert.equal(map.map(of(39_995)), 'unknown', 'a retransmission tried on a receiver not started yet');
    assert.ok(map.switchTo(of(40_000, true)));
    map.map(of(40_000, true));
    const first = map.outSequence;
    assert.equal(map.drop(of(40_001)), true);
    for (let seq = 40_002; seq < 40_020; seq++) map.map(of(seq));
    assert.ok(map.reverse(first), 'the first slot is still known: its NACK names it');
    assert.equal(map.map(of(40_000)), 'old', 'and a late copy of it maps there');
  });

  describe('first segment', () => {
    it('keeps the input values and stamps the target SSRC', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const layer = new Layer(L0, 1000, 90_000, 500, 10);
      const [k0, k1] = layer.frame(true);
      assert.equal(map.currentSsrc, -1);
      assert.equal(map.switchTo(k0!), true);
      assert.equal(map.currentSsrc, L0);
      assert.deepEqual(mapOne(map, k0!), { result: 'new', seq: 1000, ts: 90_000, pid: 500, tl0: 11 });
      assert.deepEqual(mapOne(map, k1!), { result: 'new', seq: 1001, ts: 90_000, pid: 500, tl0: 11 });
    });

    it('nothing maps before the first switch', () => {
      const map = new SeqMap({ ssrc: TARGET });
      assert.equal(map.map(pkt(L0, 1, 1)), 'unknown');
      assert.equal(map.drop(pkt(L0, 1, 1)), true);
      assert.equal(map.reverse(1), false);
    });

    it('audio (no VP8 fields) passes through with keyframe: true to start', () => {
      const map = new SeqMap({ ssrc: TARGET, clockRate: 48_000 });
      const first = pkt(L0, 65535, 0xffff_fc40, { keyframe: true });
      map.switchTo(first);
      const outs = [first, pkt(L0, 0, 0xffff_ffff - 63), pkt(L0, 1, 896)].map((p) => mapOne(map, p));
      assert.deepEqual(
        outs.map((o) => [o.seq, o.ts, o.pid, o.tl0]),
        [
          [65535, 0xffff_fc40, -1, -1],
          [0, 0xffff_ffc0, -1, -1],
          [1, 896, -1, -1],
        ],
      );
    });
  });

  describe('switch decisions', () => {
    it('only the first packet of a keyframe of another layer allows a switch', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const a = new Layer(L0, 100, 0, 0, 0);
      const b = new Layer(L1, 200, 0, 0, 0);
      const [ak] = a.frame(true);
      const [bDelta] = b.frame(false);
      assert.equal(map.canSwitchTo(bDelta!), false);
      assert.equal(map.switchTo(bDelta!), false);
      assert.equal(map.currentSsrc, -1);
      assert.equal(map.canSwitchTo(ak!), true);
      map.switchTo(ak!);
      mapOne(map, ak!);
      assert.equal(map.canSwitchTo(ak!), false, 'same layer');
      const [bk, bk2] = b.frame(true);
      assert.equal(map.canSwitchTo(bk2!), false, 'second packet of the keyframe');
      assert.equal(map.canSwitchTo(bk!), true);
      assert.equal(map.currentSsrc, L0);
    });

    it('packets of a layer that is not forwarded do not map', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const a = new Layer(L0, 100, 0, 0, 0);
      const b = new Layer(L1, 200, 0, 0, 0);
      const [ak] = a.frame(true);
      map.switchTo(ak!);
      mapOne(map, ak!);
      for (const p of b.frame(true)) assert.equal(map.map(p), 'unknown');
    });
  });

  describe('layer switch continuity', () => {
    it('continues sequence, timestamp (+ one frame), PictureID (+1) and TL0PICIDX (+1) on the new layer', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const rx = new Receiver();
      const low = new Layer(L0, 30_000, 1_000_000, 100, 7);
      const mid = new Layer(L1, 5, 3_000_000_000, 20_000, 200);
      const first = low.frame(true);
      map.switchTo(first[0]!);
      forward(map, rx, first);
      for (let f = 0; f < 9; f++) forward(map, rx, low.frame());
      // Both layers run; the mid layer's keyframe arrives (answer to a PLI).
      for (let f = 0; f < 3; f++) mid.frame();
      const last = rx.packets.at(-1)!;
      const key = mid.frame(true);
      assert.equal(map.switchTo(key[0]!), true);
      forward(map, rx, key);
      const firstMid = rx.packets.at(-2)!;
      assert.equal(firstMid.seq, (last.seq + 1) & 0xffff);
      assert.equal(firstMid.ts, last.ts + 3000);
      assert.equal(firstMid.pid, last.pid + 1);
      assert.equal(firstMid.tl0, last.tl0 + 1);
      for (let f = 0; f < 20; f++) forward(map, rx, mid.frame());
      // And back down.
      const down = low.frame(true);
      map.switchTo(down[0]!);
      forward(map, rx, down);
      for (let f = 0; f < 20; f++) forward(map, rx, low.frame());
      rx.assertContinuous();
      assert.equal(rx.packets.length, 2 * (10 + 21 + 21));
    });

    it('uses the observed frame interval, or the wall-clock gap when it is longer', () => {
      const map = new SeqMap({ ssrc: TARGET });
      // 60 fps: 1500 ticks per frame.
      const a = new Layer(L0, 0, 0, 0, 0, 1);
      const b = new Layer(L1, 0, 0, 0, 0, 1);
      const frames = (layer: Layer, n: number, key: boolean, t0: number): Pkt[] => {
        const out: Pkt[] = [];
        for (let i = 0; i < n; i++) {
          const [p] = layer.frame(key && i === 0, t0 + i * 16.7);
          p!.timestamp = (p!.timestamp - i * 1500) >>> 0; // re-time to 1500 ticks per frame
          out.push(p!);
        }
        return out;
      };
      const aFrames = frames(a, 5, true, 0);
      map.switchTo(aFrames[0]!);
      for (const p of aFrames) map.map(p);
      assert.equal(map.frameTicks, 1500);
      const lastTs = map.outTimestamp;
      const bKey = frames(b, 1, true, 4 * 16.7 + 10)[0]!;
      map.switchTo(bKey);
      map.map(bKey);
      assert.equal(map.outTimestamp, lastTs + 1500, 'a switch right after the last frame advances one frame');
      map.pause();
      assert.equal(map.currentSsrc, -1);
      const aKey = frames(a, 1, true, 4 * 16.7 + 10 + 2000)[0]!;
      assert.equal(map.canSwitchTo(aKey), true);
      map.switchTo(aKey);
      map.map(aKey);
      assert.equal(map.outTimestamp, lastTs + 1500 + 180_000, 'after a 2 s pause the timestamp advances 2 s');
    });

    it('an unknown arrival time falls back to the frame interval (default clockRate / 30)', () => {
      const map = new SeqMap({ ssrc: TARGET });
      assert.equal(map.frameTicks, 3000);
      assert.equal(new SeqMap({ ssrc: TARGET, clockRate: 48_000 }).frameTicks, 1600);
      assert.equal(new SeqMap({ ssrc: TARGET, frameTicks: 960 }).frameTicks, 960);
      const a = pkt(L0, 10, 100, { keyframe: true });
      map.switchTo(a);
      map.map(a);
      const b = pkt(L1, 10, 5, { keyframe: true, arrivalMs: 1e9 });
      map.switchTo(b);
      assert.equal(mapOne(map, b).ts, 3100);
    });

    it('continues across the 16-bit sequence and 32-bit timestamp wraps', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const rx = new Receiver();
      const a = new Layer(L0, 65_500, 0xffff_ffff - 30_000, 0x7ff0, 250);
      const b = new Layer(L1, 65_530, 0xffff_f000, 0x7ffe, 255);
      const first = a.frame(true);
      map.switchTo(first[0]!);
      forward(map, rx, first);
      for (let f = 0; f < 15; f++) forward(map, rx, a.frame());
      const key = b.frame(true);
      map.switchTo(key[0]!);
      forward(map, rx, key);
      for (let f = 0; f < 40; f++) forward(map, rx, b.frame());
      rx.assertContinuous();
      const seqs = rx.packets.map((p) => p.seq);
      assert.ok(seqs.includes(65535) && seqs.includes(0), 'sequence wrapped');
      assert.ok(rx.packets.some((p) => p.ts < 100_000) && rx.packets.some((p) => p.ts > 0xffff_0000), 'timestamp wrapped');
      assert.ok(rx.packets.some((p) => p.pid === 0x7fff) && rx.packets.some((p) => p.pid === 0), 'PictureID wrapped');
      assert.ok(rx.packets.some((p) => p.tl0 === 255) && rx.packets.some((p) => p.tl0 === 0), 'TL0PICIDX wrapped');
    });
  });

  describe('dropped temporal layers', () => {
    it('dropping TL2 leaves no sequence or PictureID gap and keeps TL0PICIDX', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const rx = new Receiver();
      const a = new Layer(L0, 65_000, 0, 32_700, 0, 3);
      const first = a.frame(true);
      map.switchTo(first[0]!);
      forward(map, rx, first, 1);
      for (let f = 0; f < 200; f++) forward(map, rx, a.frame(), 1);
      rx.assertContinuous();
      // L1T3 (TIDs 0 2 1 2): every odd frame is TL2, so 101 of the 201 frames go out.
      assert.equal(rx.packets.length, 3 * 101);
    });

    it('switching between target framerates mid-stream stays continuous', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const rx = new Receiver();
      const a = new Layer(L0, 100, 0, 0, 0, 2);
      const first = a.frame(true);
      map.switchTo(first[0]!);
      forward(map, rx, first);
      for (let f = 0; f < 300; f++) forward(map, rx, a.frame(), [2, 0, 1, 0, 2][Math.floor(f / 60)]!);
      rx.assertContinuous();
    });

    it('7-bit PictureIDs are compacted modulo 128', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const a = new Layer(L0, 0, 0, 120, 0, 1, 7);
      const pids: number[] = [];
      const first = a.frame(true);
      map.switchTo(first[0]!);
      for (let f = 0; f < 40; f++) {
        for (const p of f === 0 ? first : a.frame()) {
          if (p.tid === 2) map.drop(p);
          else {
            map.map(p);
            pids.push(map.outPictureId);
          }
        }
      }
      for (let i = 1; i < pids.length; i++) assert.equal(pids[i], (pids[i - 1]! + 1) & 0x7f, `at ${i}: ${pids.join(',')}`);
      assert.ok(pids.includes(127) && pids.includes(0));
    });

    it('a loss gap before a drop keeps its slots; the late packet fills it', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const k = pkt(L0, 10, 0, { keyframe: true, pictureId: 1, pictureIdBits: 15 });
      map.switchTo(k);
      assert.equal(mapOne(map, k).seq, 10);
      // 11 (pid 2) lost upstream, 12 (pid 3) dropped, 13 (pid 4) forwarded.
      assert.equal(map.drop(pkt(L0, 12, 6000, { pictureId: 3, pictureIdBits: 15 })), true);
      assert.deepEqual(mapOne(map, pkt(L0, 13, 9000, { pictureId: 4, pictureIdBits: 15 })), { result: 'new', seq: 12, ts: 9000, pid: 3, tl0: -1 });
      // The retransmission of 11 gets the slot the receiver is NACKing.
      assert.deepEqual(mapOne(map, pkt(L0, 11, 3000, { pictureId: 2, pictureIdBits: 15 })), { result: 'old', seq: 11, ts: 3000, pid: 2, tl0: -1 });
      assert.equal(map.reverse(11), true);
      assert.deepEqual([map.reverseSsrc, map.reverseSequence], [L0, 11]);
      // 12 stays dropped however often it comes back.
      assert.equal(map.map(pkt(L0, 12, 6000, { pictureId: 3, pictureIdBits: 15 })), 'unknown');
      assert.equal(map.drop(pkt(L0, 12, 6000, { pictureId: 3, pictureIdBits: 15 })), true);
    });

    it('a packet that already owns an output slot cannot be dropped', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const k = pkt(L0, 10, 0, { keyframe: true });
      map.switchTo(k);
      map.map(k);
      map.map(pkt(L0, 12, 0)); // 11 lost: its slot is reserved
      assert.equal(map.drop(pkt(L0, 11, 0)), false);
      assert.equal(map.outSequence, 11, 'the slot to fill (with the packet or padding)');
      assert.equal(map.drop(pkt(L0, 12, 0)), false, 'duplicate of a forwarded packet');
      assert.equal(map.drop(pkt(L0, 9, 0)), true, 'before the segment: never had a slot');
    });

    it('consecutive drops and drops across a gap', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const k = pkt(L0, 100, 0, { keyframe: true });
      map.switchTo(k);
      map.map(k); // → 100
      map.drop(pkt(L0, 101, 0));
      map.drop(pkt(L0, 102, 0));
      assert.equal(mapOne(map, pkt(L0, 103, 0)).seq, 101);
      map.drop(pkt(L0, 106, 0)); // 104, 105 lost: slots 102, 103
      assert.equal(mapOne(map, pkt(L0, 108, 0)).seq, 105); // 107 lost: slot 104
      assert.equal(mapOne(map, pkt(L0, 105, 0)).seq, 103);
      assert.equal(mapOne(map, pkt(L0, 104, 0)).seq, 102);
      assert.equal(mapOne(map, pkt(L0, 107, 0)).seq, 104);
      assert.equal(map.map(pkt(L0, 106, 0)), 'unknown');
      assert.equal(map.map(pkt(L0, 102, 0)), 'unknown');
      const reverse = [100, 101, 102, 103, 104, 105].map((s) => (map.reverse(s) ? map.reverseSequence : -1));
      assert.deepEqual(reverse, [100, 103, 104, 105, 107, 108]);
    });
  });

  describe('reordering and retransmission', () => {
    it('a reordered packet gets the slot it would have had', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const k = pkt(L0, 65_534, 0, { keyframe: true });
      map.switchTo(k);
      const outs = [65_534, 0, 65_535, 2, 1].map((s) => mapOne(map, pkt(L0, s, 0)));
      assert.deepEqual(
        outs.map((o) => [o.result, o.seq]),
        [
          ['new', 65_534],
          ['new', 0],
          ['old', 65_535],
          ['new', 2],
          ['old', 1],
        ],
      );
    });

    it('a duplicate or retransmission maps to the same output every time', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const a = new Layer(L0, 40, 0, 10, 3);
      const frames = [a.frame(true), a.frame(), a.frame()].flat();
      map.switchTo(frames[0]!);
      const first = frames.map((p) => mapOne(map, p));
      for (const [i, p] of frames.entries()) {
        const again = mapOne(map, p);
        assert.deepEqual({ ...again, result: 'new' }, first[i]);
        assert.equal(again.result, 'old');
      }
    });

    it('a late packet of the previous layer keeps that layer’s offsets after a switch', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const a = new Layer(L0, 1000, 50_000, 100, 1);
      const b = new Layer(L1, 7000, 9_000_000, 3000, 90);
      const aPackets = [a.frame(true), a.frame(), a.frame()].flat();
      map.switchTo(aPackets[0]!);
      const aOut = aPackets.map((p) => (p === aPackets[3] ? undefined : mapOne(map, p))); // [3] is late
      const bPackets = b.frame(true);
      map.switchTo(bPackets[0]!);
      for (const p of bPackets) mapOne(map, p);
      const late = mapOne(map, aPackets[3]!);
      // It was lost in the middle of layer A's segment, so it keeps A's offsets (identity here).
      assert.deepEqual(late, { result: 'old', seq: 1003, ts: 53_000, pid: 101, tl0: aPackets[3]!.tl0PicIdx });
      assert.equal(aOut[4]!.seq, 1004);
      // The switch continued after the highest slot, 1005.
      assert.equal(map.reverse(1006), true);
      assert.deepEqual([map.reverseSsrc, map.reverseSequence], [L1, 7000]);
      assert.equal(map.reverse(1003), true);
      assert.deepEqual([map.reverseSsrc, map.reverseSequence], [L0, 1003]);
      // A's packets after the switch point are not forwarded.
      assert.equal(map.map(a.frame()[0]!), 'unknown');
    });

    it('switching back to a layer starts a new segment; its skipped packets stay unmapped', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const a = new Layer(L0, 0, 0, 0, 0, 1);
      const b = new Layer(L1, 500, 0, 0, 0, 1);
      const ak = a.frame(true);
      map.switchTo(ak[0]!);
      map.map(ak[0]!); // A seq 0 → 0
      const bk = b.frame(true)[0]!;
      map.switchTo(bk);
      map.map(bk); // B 500 → 1
      const skipped = a.frame()[0]!; // A seq 1, not forwarded
      const ak2 = a.frame(true)[0]!; // A seq 2
      map.switchTo(ak2);
      assert.equal(mapOne(map, ak2).seq, 2);
      assert.equal(map.map(skipped), 'unknown');
      assert.equal(mapOne(map, ak[0]!).seq, 0);
    });
  });

  describe('NACK reverse map', () => {
    it('maps every output back to (input SSRC, input seq) across switches, drops and the wrap', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const layers = [new Layer(L0, 65_000, 0, 0, 0, 2), new Layer(L1, 100, 0, 0, 0, 3), new Layer(L2, 30_000, 0, 0, 0, 4)];
      const sent = new Map<number, [number, number]>();
      let current = 0;
      let first = layers[0]!.frame(true);
      map.switchTo(first[0]!);
      for (let f = 0; f < 240; f++) {
        if (f % 40 === 39) {
          current = (current + 1) % 3;
          first = layers[current]!.frame(true);
          map.switchTo(first[0]!);
        }
        for (let l = 0; l < 3; l++) {
          const packets = l === current ? (f % 40 === 39 ? first : layers[l]!.frame()) : layers[l]!.frame();
          if (l !== current) continue;
          for (const p of packets) {
            if (p.tid === 2 && f % 80 < 40) {
              map.drop(p);
              continue;
            }
            map.map(p);
            sent.set(map.outSequence, [p.ssrc, p.sequenceNumber]);
          }
        }
      }
      let checked = 0;
      for (const [out, [ssrc, seq]] of sent) {
        if (((map.outSequence - out) & 0xffff) >= 1024) continue;
        assert.equal(map.reverse(out), true, `reverse ${out}`);
        assert.deepEqual([map.reverseSsrc, map.reverseSequence], [ssrc, seq], `reverse ${out}`);
        checked++;
      }
      assert.ok(checked > 500);
      assert.ok([...sent.keys()].some((s) => s > 65_000) && sent.has(0), 'output wrapped');
    });

    it('outputs never assigned or outside the window do not reverse', () => {
      const map = new SeqMap({ ssrc: TARGET, window: 64 });
      const k = pkt(L0, 0, 0, { keyframe: true });
      map.switchTo(k);
      for (let s = 0; s < 200; s++) map.map(pkt(L0, s, 0));
      assert.equal(map.reverse(200), false, 'not yet assigned');
      assert.equal(map.reverse(199), true);
      assert.equal(map.reverse(136), true, 'oldest inside the window');
      assert.equal(map.reverse(135), false, 'just outside the window');
      assert.equal(map.map(pkt(L0, 135, 0)), 'unknown', 'too old to map either');
      assert.equal(map.map(pkt(L0, 136, 0)), 'old');
    });
  });

  describe('limits', () => {
    it('a far jump ahead keeps the gap; packets older than the window become unknown', () => {
      const map = new SeqMap({ ssrc: TARGET, window: 256 });
      const k = pkt(L0, 10, 0, { keyframe: true });
      map.switchTo(k);
      map.map(k);
      assert.deepEqual(mapOne(map, pkt(L0, 20_010, 0)).seq, 20_010);
      assert.equal(map.map(pkt(L0, 11, 0)), 'unknown');
      assert.equal(mapOne(map, pkt(L0, 20_000, 0)).result, 'old');
      assert.equal(map.map(pkt(L0, 19_754, 0)), 'unknown');
    });

    it('a packet 2^15 or more behind is treated as old, not as a jump', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const k = pkt(L0, 40_000, 0, { keyframe: true });
      map.switchTo(k);
      map.map(k);
      assert.equal(map.map(pkt(L0, 40_000 - 0x8000, 0)), 'unknown');
      assert.equal(map.outSequence, 40_000);
    });

    it('the range ring forgets the oldest ranges instead of mis-mapping them', () => {
      const map = new SeqMap({ ssrc: TARGET, maxRanges: 4 });
      const k = pkt(L0, 0, 0, { keyframe: true });
      map.switchTo(k);
      map.map(k);
      // Alternate forward/drop: every forwarded packet opens a range.
      for (let s = 1; s < 40; s++) {
        if (s % 2 === 1) map.drop(pkt(L0, s, 0));
        else map.map(pkt(L0, s, 0));
      }
      assert.equal(map.outSequence, 19);
      assert.equal(map.map(pkt(L0, 38, 0)), 'old');
      assert.equal(map.outSequence, 19);
      assert.equal(map.map(pkt(L0, 32, 0)), 'old');
      assert.equal(map.outSequence, 16);
      assert.equal(map.map(pkt(L0, 30, 0)), 'unknown', 'evicted');
      assert.equal(map.reverse(15), false);
    });
  });

  describe('applying to a real packet', () => {
    it('rewrites SSRC, sequence, timestamp, PictureID and TL0PICIDX in place', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const rtp = new RtpHeader();
      const vp8 = new Vp8Descriptor();
      const input = createSeqMapPacket();
      // Start on another layer so the fixture's layer needs real rewriting.
      const other = pkt(L2, 65_535, 0xffff_ff00, { keyframe: true, pictureId: 0x7fff, pictureIdBits: 15, tl0PicIdx: 255 });
      map.switchTo(other);
      map.map(other);
      const buf = vp8Keyframe();
      assert.equal(rtp.parse(buf), 'ok');
      assert.equal(vp8.parse(buf, rtp.payloadOffset, rtp.payloadLength), true);
      readSeqMapPacket(input, rtp, vp8, 5);
      assert.equal(input.keyframe, true);
      assert.equal(map.switchTo(input), true);
      assert.equal(map.map(input), 'new');
      map.applyTo(rtp, vp8);
      const check = new RtpHeader();
      check.parse(buf);
      const d = new Vp8Descriptor();
      d.parse(buf, check.payloadOffset, check.payloadLength);
      assert.deepEqual(
        [check.ssrc, check.sequenceNumber, check.timestamp, d.pictureIdBits, d.pictureId, d.tl0PicIdx, d.temporalId],
        [TARGET, 0, 0xffff_ff00 + 3000 - 2 ** 32, 15, 0, 0, 0],
      );
      // The delta packet that follows maps on the same offsets.
      const next = vp8DeltaTwoByteExt();
      rtp.parse(next);
      vp8.parse(next, rtp.payloadOffset, rtp.payloadLength);
      readSeqMapPacket(input, rtp, vp8, 38);
      assert.equal(input.keyframe, false);
      assert.equal(map.map(input), 'new');
      map.applyTo(rtp, vp8);
      assert.deepEqual([rtp.sequenceNumber, rtp.timestamp, vp8.pictureId, vp8.tl0PicIdx], [1, 0xffff_ff00 + 6000 - 2 ** 32, 1, 0]);
    });

    it('without a descriptor only the RTP fields change', () => {
      const map = new SeqMap({ ssrc: TARGET });
      const rtp = new RtpHeader();
      const buf = vp8Keyframe();
      rtp.parse(buf);
      const input = readSeqMapPacket(createSeqMapPacket(), rtp, undefined, Number.NaN);
      assert.deepEqual([input.pictureId, input.tl0PicIdx, input.keyframe], [-1, -1, false]);
      input.keyframe = true;
      map.switchTo(input);
      map.map(input);
      map.applyTo(rtp);
      const before = vp8Keyframe();
      const changed = [...buf.keys()].filter((i) => buf[i] !== before[i]);
      assert.deepEqual(changed, [8, 9, 10, 11]);
    });
  });
});
