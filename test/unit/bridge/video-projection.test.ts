import assert from 'node:assert/strict';
import { PacketCache } from '../../../bridge/rtp/packet-cache.ts';
import { RtpHeader } from '../../../bridge/rtp/packet.ts';
import { Vp8Descriptor } from '../../../bridge/rtp/vp8.ts';
import { LAYER_TIMEOUT_MS, VideoProjection, type LayerRouteRing, type VideoProjectionOptions } from '../../../bridge/video-projection.ts';

const VP8 = 100;
const RTX = 96;
const [L0, L1, L2] = [0x1000, 0x2000, 0x3000];
const [R0, R1, R2] = [0x1001, 0x2001, 0x3001];

/**
 * A VP8 packet: RTP header, descriptor with a 15-bit PictureID (and, with `tid`, TID and the
 * layer-sync bit), and a keyframe or delta frame header.
 */
function vp8(ssrc: number, seq: number, ts: number, pid: number, key: boolean, height = 0, tid?: { tid: number; sync: boolean }): Buffer {
  const t = tid === undefined ? 0 : 1;
  const b = Buffer.alloc(12 + 4 + t + 10 + 20);
  b[0] = 0x80;
  b[1] = VP8;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = 0x90; // X, S, partition 0
  b[13] = tid === undefined ? 0x80 : 0xa0; // I (and T)
  b.writeUInt16BE(0x8000 | (pid & 0x7fff), 14);
  if (tid) b[16] = (tid.tid << 6) | (tid.sync ? 0x20 : 0);
  const h = 16 + t;
  if (key) {
    b.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a], h);
    b.writeUInt16LE(Math.round((height * 16) / 9), h + 6);
    b.writeUInt16LE(height, h + 8);
  } else {
    b[h] = 0x11;
  }
  return b;
}

function rtxOf(packet: Buffer, rtxSsrc: number, rtxSeq: number): Buffer {
  const out = Buffer.alloc(packet.length + 2);
  packet.copy(out, 0, 0, 16 - 4);
  out[1] = RTX;
  out.writeUInt16BE(rtxSeq, 2);
  out.writeUInt32BE(rtxSsrc, 8);
  out.writeUInt16BE(packet.readUInt16BE(2), 12);
  packet.copy(out, 14, 12);
  return out;
}

interface Out { ssrc: number; seq: number; ts: number; pt: number; pid: number; tid: number; osn?: number }

function read(packet: Uint8Array): Out {
  const h = new RtpHeader();
  assert.equal(h.parse(packet), 'ok');
  const buf = Buffer.from(packet);
  if (h.payloadType === RTX) return { ssrc: h.ssrc, seq: h.sequenceNumber, ts: h.timestamp, pt: h.payloadType, pid: -1, tid: -1, osn: buf.readUInt16BE(h.payloadOffset) };
  const d = new Vp8Descriptor();
  assert.ok(d.parse(h.buf, h.payloadOffset, h.payloadLength));
  return { ssrc: h.ssrc, seq: h.sequenceNumber, ts: h.timestamp, pt: h.payloadType, pid: d.pictureId, tid: d.temporalId };
}

/** Three layers (180, 360, 720) sending frames of one packet at 30 fps. */
class Sender {
  seq = new Map([[L0, 100], [L1, 5000], [L2, 60000]]);
  pid = new Map([[L0, 10], [L1, 2000], [L2, 30000]]);
  ts = new Map([[L0, 1000], [L1, 777777], [L2, 4294960000]]);
  frame(ssrc: number, key = false, tid?: { tid: number; sync: boolean }): Buffer {
    const height = ssrc === L0 ? 180 : ssrc === L1 ? 360 : 720;
    const p = vp8(ssrc, this.seq.get(ssrc)!, this.ts.get(ssrc)!, this.pid.get(ssrc)!, key, height, tid);
    this.seq.set(ssrc, (this.seq.get(ssrc)! + 1) & 0xffff);
    this.pid.set(ssrc, (this.pid.get(ssrc)! + 1) & 0x7fff);
    this.ts.set(ssrc, (this.ts.get(ssrc)! + 3000) >>> 0);
    return p;
  }
}

function setup(layers = [L0, L1, L2], cache?: PacketCache, more: Partial<VideoProjectionOptions> = {}) {
  let now = 0;
  const requests: number[] = [];
  const holds: string[] = [];
  const projection = new VideoProjection(
    { layers, rtx: new Map([[L0, R0], [L1, R1], [L2, R2]]) },
    {
      rtxPayloadTypes: new Map([[RTX, VP8]]), vp8PayloadTypes: new Set([VP8]), now: () => now, requestKeyframe: (s) => requests.push(s),
      onBandwidthHold: (id) => holds.push(id), ...(cache ? { cache } : {}), ...more,
    },
  );
  /** What each receiver was handed, read at once (the buffer is rewritten for the next one). */
  const got = new Map<string, Out[]>();
  const sink = (id: string, packet: Buffer) => {
    let list = got.get(id);
    if (!list) got.set(id, (list = []));
    list.push(read(packet));
  };
  const project = (packet: Buffer, askers?: ReadonlySet<string>, lostOnTheWayIn = false) => projection.project(packet, sink, askers, lostOnTheWayIn);
  const of = (id: string) => got.get(id) ?? [];
  return { projection, requests, holds, project, of, sink, advance: (ms: number) => { now += ms; } };
}

/** Sequence numbers without gaps, timestamps advancing (< 1 s a step), PictureIDs without gaps. */
function assertContinuous(out: readonly Out[], who: string): void {
  for (let i = 1; i < out.length; i++) {
    assert.equal(out[i]!.seq, (out[i - 1]!.seq + 1) & 0xffff, `${who}: sequence continuous at ${i}`);
    assert.equal(out[i]!.pid, (out[i - 1]!.pid + 1) & 0x7fff, `${who}: PictureID continuous at ${i}`);
    const step = (out[i]!.ts - out[i - 1]!.ts) >>> 0;
    assert.ok(step > 0 && step < 90_000, `${who}: timestamp advances at ${i} (${step})`);
  }
}

describe('VideoProjection (one simulcast source re-stamped per receiver onto the SSRC receivers know)', () => {
  it('forwards the tallest layer that fits the wanted height, switching on its keyframe', () => {
    const { projection, requests, project, of, advance } = setup();
    projection.setWantedHeight('r', 360);
    const s = new Sender();
    // keyframes teach two heights; the first layer arriving is forwarded at once; 360p is
    // estimated (half of 720) and wanted, but its first keyframe comes only at frame 5
    for (const ssrc of [L0, L1, L2]) project(s.frame(ssrc, ssrc !== L1));
    for (let i = 0; i < 10; i++) {
      advance(33);
      for (const ssrc of [L0, L1, L2]) project(s.frame(ssrc, i === 5 && ssrc === L1));
    }
    const out = of('r');
    assert.equal(projection.forwardedLayer('r'), L1, 'the 360p layer is forwarded');
    assert.ok(requests.includes(L1), 'a keyframe was asked of the 360p layer');
    assert.ok(out.every((p) => p.ssrc === L0), 'every packet goes out on the SSRC receivers know');
    assertContinuous(out, 'r');
    // 180p until the switch (frames 0-5), 360p from its keyframe (frames 5-10), never 720p
    assert.equal(out.length, 12, `one layer at a time: ${out.length}`);
  });

  it('two receivers with different heights get different layers of one sender, each stream continuous across its own switch', () => {
    const { projection, requests, project, of, advance } = setup();
    projection.setWantedHeight('a', 720);
    projection.setWantedHeight('b', 180);
    const s = new Sender();
    const layerAt = new Map<string, number[]>([['a', []], ['b', []]]);
    const frames = (n: number, keyAt: (i: number, ssrc: number) => boolean) => {
      for (let i = 0; i < n; i++) {
        for (const ssrc of [L0, L1, L2]) {
          const before = [of('a').length, of('b').length];
          project(s.frame(ssrc, keyAt(i, ssrc)));
          if (of('a').length > before[0]!) layerAt.get('a')!.push(ssrc);
          if (of('b').length > before[1]!) layerAt.get('b')!.push(ssrc);
        }
        advance(33);
      }
    };
    frames(1, () => false); // every layer is seen arriving; nothing starts without a keyframe
    frames(5, (i) => i === 0);
    assert.equal(projection.forwardedLayer('a'), L2, 'a, 720 wanted, gets the 720p layer');
    assert.equal(projection.forwardedLayer('b'), L0, 'b, 180 wanted, gets the 180p layer');
    assert.deepEqual(layerAt.get('a'), Array(5).fill(L2));
    assert.deepEqual(layerAt.get('b'), Array(5).fill(L0));

    // b asks for 720: it stays on 180p until a 720p keyframe (asked of the sender), then switches
    requests.length = 0;
    advance(KEYFRAME_GAP);
    projection.setWantedHeight('b', 720);
    frames(3, () => false);
    assert.equal(projection.forwardedLayer('b'), L0, 'no switch without a keyframe of the target');
    assert.ok(requests.includes(L2), 'a keyframe was asked of the 720p layer');
    frames(4, (i, ssrc) => i === 0 && ssrc === L2);
    assert.equal(projection.forwardedLayer('b'), L2);
    assert.deepEqual(layerAt.get('b'), [...Array(9).fill(L0), ...Array(4).fill(L2)], 'the 180p frame sent before the 720p keyframe of the same round still goes');
    assert.deepEqual(layerAt.get('a'), Array(12).fill(L2), 'a is not disturbed');
    for (const id of ['a', 'b']) {
      assert.ok(of(id).every((p) => p.ssrc === L0), `${id}: on the SSRC receivers know`);
      assertContinuous(of(id), id);
    }
    assert.notDeepEqual(of('a').map((p) => p.seq), of('b').map((p) => p.seq), 'each receiver has its own numbering');

    // and back down to 180: again on the 180p keyframe only, still continuous
    projection.setWantedHeight('b', 180);
    frames(2, () => false);
    frames(2, (i, ssrc) => i === 0 && ssrc === L0);
    assert.equal(projection.forwardedLayer('b'), L0);
    assertContinuous(of('b'), 'b after going down');
  });

  it('a screen share sending only its top layer is forwarded from that layer', () => {
    const { projection, project, of } = setup();
    projection.setWantedHeight('r', 180);
    const s = new Sender();
    for (let i = 0; i < 5; i++) project(s.frame(L2, i === 0));
    assert.equal(of('r').length, 5);
    assert.equal(projection.forwardedLayer('r'), L2);
  });

  it('falls back to a lower layer when the forwarded one stops', () => {
    const { projection, requests, project, advance } = setup();
    projection.setWantedHeight('r', 2160);
    const s = new Sender();
    project(s.frame(L0, true));
    project(s.frame(L2, true));
    assert.equal(project(s.frame(L2)), 1);
    assert.equal(projection.forwardedLayer('r'), L2);
    advance(LAYER_TIMEOUT_MS + 1);
    assert.equal(project(s.frame(L0)), 0, 'not before a keyframe of the lower layer');
    assert.ok(requests.includes(L0));
    assert.equal(project(s.frame(L0, true)), 1);
    assert.equal(projection.forwardedLayer('r'), L0);
  });

  it('retransmissions go to the receivers that asked, each re-wrapped onto the known RTX SSRC with its own numbers; NACKs map back per receiver', () => {
    const { projection, project, of } = setup([L0, L1]);
    projection.setWantedHeight('a', 720);
    projection.setWantedHeight('b', 720);
    const s = new Sender();
    project(s.frame(L1, true));
    projection.setWantedHeight('b', 0); // b pauses: its numbering stops, a's goes on
    project(s.frame(L1));
    projection.setWantedHeight('b', 720);
    const original = s.frame(L1, true);
    const copy = Buffer.from(original);
    project(original);
    const [a, b] = [of('a').at(-1)!, of('b').at(-1)!];
    assert.deepEqual([a.ssrc, b.ssrc], [L0, L0]);
    assert.equal(b.seq, (of('b')[0]!.seq + 1) & 0xffff, 'b\'s stream continues where it paused');
    assert.notEqual(a.seq, b.seq);
    assert.deepEqual(projection.reverse('a', a.seq), { ssrc: L1, sequence: copy.readUInt16BE(2) });
    assert.deepEqual(projection.reverse('b', b.seq), { ssrc: L1, sequence: copy.readUInt16BE(2) });
    assert.equal(projection.reverse('nobody', a.seq), undefined);

    assert.equal(project(rtxOf(copy, R1, 9), new Set(['a', 'b', 'nobody'])), 2, 'one retransmission per receiver that asked');
    const [ra, rb] = [of('a').at(-1)!, of('b').at(-1)!];
    assert.deepEqual([ra.ssrc, ra.pt, ra.osn, ra.ts], [R0, RTX, a.seq, a.ts]);
    assert.deepEqual([rb.ssrc, rb.pt, rb.osn, rb.ts], [R0, RTX, b.seq, b.ts]);
    assert.equal(project(rtxOf(copy, R1, 10), new Set(['a'])), 1);
    assert.equal(of('a').at(-1)!.seq, (ra.seq + 1) & 0xffff, 'a\'s RTX numbering is continuous');
    // without askers, a layer not forwarded, and a padding-only probe: nothing
    assert.equal(project(rtxOf(copy, R1, 11)), 0);
    assert.equal(project(rtxOf(s.frame(L0, true), R0, 12), new Set(['a'])), 0);
    const probe = Buffer.alloc(12 + 1);
    probe[0] = 0x80; probe[1] = RTX; probe.writeUInt32BE(R1, 8);
    assert.equal(project(probe, new Set(['a'])), 0);
  });

  it('a packet lost on the way in and resent at the bridge\'s own request goes to every receiver with a slot for it, and never advances a stream', () => {
    const { projection, project, of } = setup([L0, L1]);
    projection.setWantedHeight('a', 720);
    projection.setWantedHeight('b', 720);
    projection.setWantedHeight('c', 180);
    const s = new Sender();
    project(s.frame(L1, true));
    project(s.frame(L0, true));
    const lost = s.frame(L1);
    project(s.frame(L1));
    const [a, b] = [of('a').map((p) => p.seq), of('b').map((p) => p.seq)];
    assert.equal(a[1], (a[0]! + 2) & 0xffff, 'a\'s stream keeps the lost packet\'s slot');
    const cBefore = of('c').length;

    assert.equal(project(rtxOf(lost, R1, 1), new Set(), true), 2, 'a and b, which never had it, without a NACK of theirs');
    for (const [id, seqs] of [['a', a], ['b', b]] as const) {
      const repair = of(id).at(-1)!;
      assert.deepEqual([repair.ssrc, repair.pt, repair.osn], [R0, RTX, (seqs[0]! + 1) & 0xffff], `${id} gets it in its slot`);
    }
    assert.equal(of('c').length, cBefore, 'c, on the 180p layer, has no slot for it');

    // The answer to a request of the bridge newer than anything its layer brought (a tail-loss
    // probe's: the packet that ended a frame, lost before anything later came): it goes on at once
    // as the layer's next packet, media in each stream's next slot.
    const next = s.frame(L1);
    assert.equal(project(rtxOf(next, R1, 2), new Set(), true), 2, 'a and b');
    for (const [id, seqs] of [['a', a], ['b', b]] as const) {
      const sent = of(id).at(-1)!;
      assert.deepEqual([sent.ssrc, sent.pt, sent.seq], [L0, VP8, (seqs[1]! + 1) & 0xffff], `${id}: as media, continuous`);
    }
    assert.equal(of('c').length, cBefore, 'c, on the 180p layer, still nothing');
    // Had the original only been late, it is dropped: its slot went out already, and other bytes
    // (each copy has its own transport-wide number) under the same SRTP index must never be sent.
    const sentBefore = of('a').length;
    assert.equal(project(next), 0);
    assert.equal(of('a').length, sentBefore);
    const after = s.frame(L1);
    project(after);
    assert.equal(of('a').at(-1)!.seq, (a[1]! + 2) & 0xffff, 'the stream goes on after it');
  });

  it('a receiver waiting to switch to a layer whose keyframe lost its first packet on the way in switches when the bridge\'s own request brings it back, and is sent the rest of that keyframe and what followed, in order', () => {
    const { projection, project, of, advance } = setup([L0, L1], new PacketCache());
    projection.setWantedHeight('a', 720);
    projection.setWantedHeight('b', 180);
    const s = new Sender();
    project(s.frame(L1, true));
    project(s.frame(L0, true));
    for (let i = 0; i < 3; i++) {
      advance(33);
      project(s.frame(L1));
      project(s.frame(L0));
    }
    /** A keyframe of `ssrc` in three packets: the first starts it; the other two (not partition starts) share its PictureID and timestamp, the last ends it. */
    const keyframe = (ssrc: number): Buffer[] => {
      const first = s.frame(ssrc, true);
      const rest = [1, 2].map((k) => {
        const p = Buffer.from(first.subarray(0, 26));
        p.writeUInt16BE((first.readUInt16BE(2) + k) & 0xffff, 2);
        p[12] = 0x80; // X only: not the start of a partition
        if (k === 2) p[1] = p[1]! | 0x80;
        return p;
      });
      s.seq.set(ssrc, (s.seq.get(ssrc)! + 2) & 0xffff);
      return [first, ...rest];
    };
    const bBefore = of('b').length;
    projection.setWantedHeight('b', 720);
    advance(33);
    project(s.frame(L0));
    const [k1, k2, k3] = keyframe(L1);
    const k1Copy = Buffer.from(k1!);
    // k1 lost on the way in: k2 and k3 come, then a frame of each layer.
    project(k2!);
    project(k3!);
    advance(33);
    project(s.frame(L0));
    const next = s.frame(L1);
    project(next);
    assert.equal(projection.forwardedLayer('b'), L0, 'b waits: no keyframe started for it');
    const waited = of('b').length;
    const aSlots = of('a').map((p) => p.seq);

    // The bridge's own request for k1 answered: a gets it in its slot as RTX; b switches at it.
    assert.equal(project(rtxOf(k1Copy, R1, 1), new Set(), true), 5, 'a\'s repair, and b\'s k1, k2, k3 and the frame after');
    assert.equal(projection.forwardedLayer('b'), L1, 'b switched to the 720p layer');
    const repair = of('a').at(-1)!;
    assert.deepEqual([repair.ssrc, repair.pt, repair.osn], [R0, RTX, (aSlots.at(-4)! + 1) & 0xffff], 'a: in the slot it kept for k1');
    const caughtUp = of('b').slice(waited);
    assert.deepEqual(caughtUp.map((p) => [p.ssrc, p.pt]), Array(4).fill([L0, VP8]), 'b: as media, on the SSRC it knows');
    const b = of('b').slice(bBefore);
    for (let i = 1; i < b.length; i++) assert.equal(b[i]!.seq, (b[i - 1]!.seq + 1) & 0xffff, `b's sequence numbers without a gap at ${i}`);
    assert.deepEqual(caughtUp.map((p) => (p.pid - b[waited - bBefore - 1]!.pid) & 0x7fff), [1, 1, 1, 2], 'PictureIDs: the keyframe\'s three packets one picture, the next frame the one after');

    // The stream goes on live; k1's original, late after all, is not sent again in its slot.
    advance(33);
    project(s.frame(L1));
    assert.equal(of('b').at(-1)!.seq, (caughtUp.at(-1)!.seq + 1) & 0xffff);
    const count = of('b').length;
    assert.equal(project(k1!), 0, 'the late original: its slot went out already');
    assert.equal(of('b').length, count);
  });

  /** Two layers with a cache: a on the 720p layer, b on the 180p one, then wanting 720 (a keyframe of it to come). */
  function bWaitingForTheTallLayer(more: Partial<VideoProjectionOptions> = {}) {
    const t = setup([L0, L1], new PacketCache(), more);
    t.projection.setWantedHeight('a', 720);
    t.projection.setWantedHeight('b', 180);
    const s = new Sender();
    t.project(s.frame(L1, true));
    t.project(s.frame(L0, true));
    t.projection.setWantedHeight('b', 720);
    t.advance(33);
    t.project(s.frame(L0));
    return { ...t, s };
  }

  it('sends a receiver caught up on a late keyframe each output sequence number once: the originals of packets that came back as answers too are dropped', () => {
    const { projection, project, of, s } = bWaitingForTheTallLayer();
    // A keyframe of one packet, then three frames; the keyframe and the frame after it lost on the way in.
    const k1 = s.frame(L1, true);
    const d1 = s.frame(L1);
    const later = [s.frame(L1), s.frame(L1)];
    for (const p of later) project(p);
    const [k1Copy, d1Copy] = [Buffer.from(k1), Buffer.from(d1)];
    // The bridge's requests answered, d1's first: a gets it as RTX; then k1's: b switches, caught up on k1, d1 and the two after.
    assert.equal(project(rtxOf(d1Copy, R1, 1), new Set(), true), 1);
    assert.equal(project(rtxOf(k1Copy, R1, 2), new Set(), true), 1 + 4);
    assert.equal(projection.forwardedLayer('b'), L1);
    // Both originals, late after all: neither goes again.
    const count = of('b').length;
    assert.equal(project(d1), 0);
    assert.equal(project(k1), 0);
    assert.equal(of('b').length, count);
    const seqs = of('b').filter((p) => p.pt === VP8).map((p) => p.seq);
    assert.equal(new Set(seqs).size, seqs.length, `each output sequence number once: ${seqs.join()}`);
  });

  it('catches a receiver up only if the burst fits what its path takes in a short while (lateKeyframeBurstBytes)', () => {
    for (const [bound, caughtUp] of [[Infinity, true], [10_000, true], [100, false]] as const) {
      const asked: string[] = [];
      const { projection, project, of, s } = bWaitingForTheTallLayer({ lateKeyframeBurstBytes: (id) => (asked.push(id), bound) });
      const k1 = s.frame(L1, true);
      const later = [s.frame(L1), s.frame(L1)];
      for (const p of later) project(p);
      // The keyframe and two frames: some hundreds of bytes in all.
      const burst = [k1, ...later].reduce((sum, p) => sum + p.length, 0);
      assert.ok(burst > 100 && burst < 10_000, `the burst: ${burst} bytes`);
      const before = of('b').length;
      assert.equal(project(rtxOf(k1, R1, 1), new Set(), true), caughtUp ? 1 + 3 : 1, `bound ${bound}: a's repair${caughtUp ? ', and b\'s three packets' : ' only'}`);
      assert.equal(projection.forwardedLayer('b'), caughtUp ? L1 : L0);
      assert.equal(of('b').length - before, caughtUp ? 3 : 0);
      assert.deepEqual(asked, ['b'], 'asked about the receiver waiting for the layer only');
    }
  });

  it('does not catch a receiver up on a keyframe whose first packet comes back more than 128 packets behind its layer (it waits for the next)', () => {
    const { projection, project, of, s } = bWaitingForTheTallLayer();
    const k1 = s.frame(L1, true);
    for (let i = 0; i < 128; i++) project(s.frame(L1));
    const before = of('b').length;
    assert.equal(project(rtxOf(k1, R1, 1), new Set(), true), 1, 'a\'s repair only');
    assert.equal(projection.forwardedLayer('b'), L0);
    assert.equal(of('b').length, before);
  });

  it('never sends one output sequence number twice: neither the answer to the bridge\'s request for the newest packet, nor the late originals of answers sent as media', () => {
    const { projection, project, of } = setup([L0]);
    projection.setWantedHeight('a', 720);
    const s = new Sender();
    project(s.frame(L0, true));
    // The bridge's request answered for the packet it already forwarded last (its own request given up before the original came).
    const newest = s.frame(L0);
    const newestCopy = Buffer.from(newest);
    project(newest);
    assert.equal(project(rtxOf(newestCopy, R0, 1), new Set(), true), 1);
    const resent = of('a').at(-1)!;
    assert.deepEqual([resent.pt, resent.osn], [RTX, of('a').at(-2)!.seq], 'not newer than the layer\'s highest: a retransmission, on the RTX stream');
    // Ten answers newer than anything (tail-loss probes one after the other, a sender going silent
    // and answering each), then their originals, late (within its replay window, they pass it).
    const answered = Array.from({ length: 10 }, () => s.frame(L0));
    const late = answered.map((p) => Buffer.from(p));
    answered.forEach((packet, i) => assert.equal(project(rtxOf(packet, R0, 2 + i), new Set(), true), 1));
    for (const original of late) assert.equal(project(original), 0, 'its slot went out already');
    project(s.frame(L0));
    const seqs = of('a').filter((p) => p.pt === VP8).map((p) => p.seq);
    assert.equal(new Set(seqs).size, seqs.length, `each output sequence number once: ${seqs.join()}`);
    assert.deepEqual(seqs.slice(1).map((seq, i) => (seq - seqs[i]!) & 0xffff), Array(seqs.length - 1).fill(1), 'and continuous');
  });

  it('sends a packet that comes again (its sender\'s replay window forgotten) not a second time in its slot, even with other bytes: one SRTP index, one plaintext', () => {
    const { projection, project, of } = setup([L0, L1]);
    projection.setWantedHeight('a', 180);
    projection.setWantedHeight('b', 180);
    const s = new Sender();
    project(s.frame(L0, true));
    const packets = Array.from({ length: 5 }, () => s.frame(L0));
    const copies = packets.map((p) => Buffer.from(p));
    for (const packet of packets) project(packet);
    assert.equal(of('a').length, 6);
    // The third again, its payload changed: each receiver has its slot already.
    const again = copies[2]!;
    again[again.length - 1] = again[again.length - 1]! ^ 0xff;
    assert.equal(project(again), 0, 'sent to nobody');
    // A packet lost on the way in still takes its slot once when it comes late.
    const lost = s.frame(L0);
    const lostCopy = Buffer.from(lost);
    project(s.frame(L0));
    assert.equal(project(lost), 2, 'late, into the slot left for it, for both receivers');
    assert.equal(project(lostCopy), 0, 'and once only');
    for (const id of ['a', 'b']) {
      const seqs = of(id).map((p) => p.seq);
      assert.equal(new Set(seqs).size, seqs.length, `${id}: each output sequence number once: ${seqs.join()}`);
    }
  });

  it('a single-layer VP8 stream starts at once, but after a pause goes on only at a keyframe, asked (the receiver holds stale references)', () => {
    const { projection, project, of, requests, advance } = setup([L0]);
    const s = new Sender();
    projection.setWantedHeight('a', 720);
    project(s.frame(L0));
    assert.equal(of('a').length, 1, 'a first delta frame goes: the receiver has nothing to decode it against, and asks');
    project(s.frame(L0));
    projection.setWantedHeight('a', 0);
    for (let i = 0; i < 30; i++) project(s.frame(L0));
    advance(1_000);
    const asked = requests.length;
    projection.setWantedHeight('a', 720);
    assert.ok(requests.length > asked, 'a keyframe asked on resuming');
    project(s.frame(L0));
    project(s.frame(L0));
    assert.equal(of('a').length, 2, 'no delta frame after the pause');
    project(s.frame(L0, true));
    const out = of('a');
    assert.equal(out.length, 3, 'the keyframe');
    assert.equal(out[2]!.seq, (out[1]!.seq + 1) & 0xffff, 'continuous');
  });

  it('measures a layer turned on within its first 300 ms of a window, not only once the window closes', () => {
    const { projection, project, advance } = setup([L0, L1]);
    const s = new Sender();
    for (let i = 0; i < 32; i++) {
      project(s.frame(L0, i === 0));
      advance(33);
    }
    // The first window (L0 alone) has closed: L1 not measured.
    assert.deepEqual(projection.arrivingLayers().map((l) => l.ssrc), [L0]);
    const frames = (n: number) => {
      for (let i = 0; i < n; i++) {
        project(s.frame(L0));
        project(s.frame(L1, i === 0));
        advance(33);
      }
    };
    frames(3); // 99 ms into the window: too little to say
    assert.equal(projection.arrivingLayers()[1]!.bitrate, 0, 'not measured after 100 ms');
    frames(9); // 400 ms into it
    const [low, high] = projection.arrivingLayers();
    assert.ok(high!.bitrate > 0.8 * low!.bitrate && high!.bitrate < 1.25 * low!.bitrate, `L1 (the same frames as L0) measured at its rate so far: ${JSON.stringify([low, high])}`);
  });

  it('keeps the layers\' measured bitrates over a pause of the source, rather than calling them unmeasured (free to allocate)', () => {
    const { projection, project, advance } = setup([L0, L1, L2]);
    projection.setWantedHeight('a', 720);
    const s = new Sender();
    const frames = (n: number, key = false) => {
      for (let i = 0; i < n; i++) {
        for (const layer of [L0, L1, L2]) project(s.frame(layer, key && i === 0));
        advance(33);
      }
    };
    frames(90, true);
    const before = projection.arrivingLayers().map((l) => l.bitrate);
    assert.ok(before.length === 3 && before.every((b) => b > 0), `measured: ${before.join()}`);
    advance(2_500); // the sender's camera muted
    frames(1, true); // back: the window that spanned the pause closes, saying nothing of the rate now
    assert.deepEqual(projection.arrivingLayers().map((l) => l.bitrate), before, 'the rates from before the pause stand');
  });

  it('wanted height 0 forwards nothing; sender reports follow each receiver\'s layer and timestamps', () => {
    const { projection, project, of, advance } = setup();
    projection.setWantedHeight('a', 720);
    projection.setWantedHeight('b', 180);
    const s = new Sender();
    project(s.frame(L0));
    project(s.frame(L2));
    s.ts.set(L0, 1000);
    s.ts.set(L2, 4294960000);
    project(s.frame(L0, true));
    project(s.frame(L2, true));
    assert.equal(projection.senderReportTimestamp('b', L0, 1000), 1000, 'the first segment keeps its timestamps');
    assert.equal(projection.senderReportTimestamp('a', L0, 1000), undefined, 'a is not forwarded 180p');
    assert.equal(projection.senderReportTimestamp('a', L2, 4294960000), 4294960000);
    advance(100);
    projection.setWantedHeight('b', 720);
    project(s.frame(L2, true));
    const last = of('b').at(-1)!;
    assert.equal(projection.forwardedLayer('b'), L2);
    assert.equal(projection.senderReportTimestamp('b', L2, (4294960000 + 3000) >>> 0), last.ts, 'b\'s report is in b\'s timestamps');
    assert.equal(projection.senderReportTimestamp('b', L0, 1000), undefined);
    projection.setWantedHeight('a', 0);
    projection.setWantedHeight('b', 0);
    assert.equal(project(s.frame(L2, true)), 0);
    assert.equal(projection.senderReportTimestamp('a', L2, 1), undefined, 'paused: no reports');
  });

  it('asks for keyframes per layer: two receivers waiting for different layers both get their request', () => {
    const { projection, requests, project } = setup();
    const s = new Sender();
    for (const ssrc of [L0, L1, L2]) project(s.frame(ssrc));
    projection.setWantedHeight('a', 720);
    projection.setWantedHeight('b', 180);
    assert.deepEqual(requests, [L2, L0]);
    projection.keyframeNeeded('a');
    projection.keyframeNeeded('b');
    assert.deepEqual(requests, [L2, L0], 'paced per layer');
  });

  it('drops VP8 temporal layers above a receiver\'s frame rate, without holes, and goes up again on a layer sync', () => {
    const { projection, project, of, advance } = setup([L0]);
    projection.setWantedHeight('full', 720);
    projection.setWantedHeight('slow', 720);
    projection.setMaxFrameRate('slow', 15);
    const s = new Sender();
    // L1T3: TIDs 0 2 1 2 0 2 1 2 …; the first TL1 and TL2 after each TL0 are layer syncs here
    const pattern = [0, 2, 1, 2];
    const tidOf: number[] = [];
    const send = (n: number) => {
      for (let i = 0; i < n; i++) {
        const tid = pattern[tidOf.length % 4]!;
        tidOf.push(tid);
        project(s.frame(L0, tidOf.length === 1, { tid, sync: tid > 0 && tidOf.length % 4 !== 0 }));
        advance(33);
      }
    };
    send(12);
    assert.equal(of('full').length, 12);
    assert.deepEqual(of('slow').map((p) => p.tid), [0, 1, 0, 1, 0, 1], '15 fps: TL0 and TL1');
    assertContinuous(of('slow'), 'slow');
    assertContinuous(of('full'), 'full');
    projection.setMaxFrameRate('slow', 7.5);
    send(8);
    assert.deepEqual(of('slow').slice(6).map((p) => p.tid), [0, 0]);
    projection.setMaxFrameRate('slow', undefined);
    send(8);
    assert.deepEqual(of('slow').slice(8).map((p) => p.tid), [0, 2, 1, 2, 0, 2, 1, 2], 'every layer again from the first syncs');
    assertContinuous(of('slow'), 'slow');
  });

  describe('a receiver its bandwidth estimate moves down', () => {
    /** A frame's packets end with the marker bit (RFC 7741 §4.1: the last packet of a picture). */
    const ending = (packet: Buffer): Buffer => {
      packet[1] = packet[1]! | 0x80;
      return packet;
    };
    /**
     * Receivers a and b on the 720p layer, every layer arriving.
     */
    function onTop(cache?: PacketCache) {
      const t = setup([L0, L1, L2], cache);
      t.projection.setWantedHeight('a', 720);
      t.projection.setWantedHeight('b', 720);
      const s = new Sender();
      for (let i = 0; i < 3; i++) {
        for (const ssrc of [L0, L1, L2]) t.project(ending(s.frame(ssrc, i === 0)));
        t.advance(33);
      }
      assert.equal(t.projection.forwardedLayer('b'), L2);
      /** One round of frames (one packet each); `key`: the layers whose frame is a keyframe. Returns the layers b was sent. */
      const round = (...key: number[]): number[] => {
        const sent: number[] = [];
        for (const ssrc of [L0, L1, L2]) {
          const before = t.of('b').length;
          t.project(ending(s.frame(ssrc, key.includes(ssrc))));
          if (t.of('b').length > before) sent.push(ssrc);
        }
        t.advance(33);
        return sent;
      };
      t.requests.length = 0;
      t.advance(KEYFRAME_GAP);
      return { ...t, s, round };
    }
    /** setWantedHeight's third argument: what its constraints alone ask (720 unless said), its path's queue filling or not. */
    const overloaded = (constraintHeight = 720) => ({ constraintHeight, overloaded: true });
    const calm = (constraintHeight = 720) => ({ constraintHeight, overloaded: false });

    it('moved down by its bandwidth while its path\'s queue fills: stops that layer at once and goes on, without a gap, at the lower layer\'s keyframe; the others are not touched', () => {
      const { projection, requests, holds, of, round } = onTop();
      const aBefore = of('a').length;
      projection.setWantedHeight('b', 180, overloaded());
      assert.deepEqual(round(), [], 'nothing of the 720p layer once moved down');
      assert.deepEqual(holds, ['b']);
      assert.ok(requests.includes(L0), 'the 180p keyframe is asked');
      assert.equal(projection.forwardedLayer('b'), -1);
      assert.equal(projection.isHeld('b'), true);
      assert.deepEqual(round(), [], 'still nothing before the keyframe');
      assert.deepEqual(round(L0), [L0], 'the 180p keyframe starts the lower layer');
      assert.deepEqual(round(), [L0]);
      assert.equal(projection.forwardedLayer('b'), L0);
      assert.equal(projection.isHeld('b'), false);
      assertContinuous(of('b'), 'b');
      assert.deepEqual(holds, ['b'], 'one hold');
      assert.equal(of('a').length, aBefore + 4, 'a keeps its 720p layer, a frame per round');
    });

    it('a move down on a path whose queue does not fill (a budget shared anew), or for its constraints, or with no estimate yet, keeps the current layer until the switch', () => {
      for (const bandwidth of [calm(), overloaded(180), undefined]) {
        const { projection, holds, round } = onTop();
        projection.setWantedHeight('b', 180, bandwidth);
        assert.deepEqual([round(), round()], [[L2], [L2]], JSON.stringify(bandwidth));
        assert.deepEqual(round(L0), [L0]);
        assert.deepEqual(holds, []);
      }
    });

    it('only an allocation that lowers its height starts a hold: heights learnt from a later keyframe do not, even with its queue filling', () => {
      const { projection, holds, round, s, project } = onTop();
      projection.setWantedHeight('b', 360, calm());
      round(L1);
      assert.equal(projection.forwardedLayer('b'), L1);
      // Its path's queue filling, but its layer the one its bandwidth affords…
      projection.setWantedHeight('b', 360, overloaded());
      // …until the middle layer's next keyframe says 540 lines: 360 now picks the 180p layer, and the
      // next allocation (its height unchanged) sees the 180p layer as its target.
      project(ending(vp8(L1, s.seq.get(L1)!, s.ts.get(L1)!, s.pid.get(L1)!, true, 540)));
      s.seq.set(L1, s.seq.get(L1)! + 1);
      s.pid.set(L1, s.pid.get(L1)! + 1);
      s.ts.set(L1, s.ts.get(L1)! + 3000);
      projection.setWantedHeight('b', 360, overloaded());
      assert.deepEqual([round(), round()], [[L1], [L1]], 'the middle layer goes on until the 180p keyframe');
      assert.deepEqual(holds, []);
      // An allocation that lowers it does.
      projection.setWantedHeight('b', 180, overloaded());
      assert.deepEqual(round(), []);
      assert.deepEqual(holds, ['b']);
    });

    it('a receiver held for its keyframe and then suspended (height 0) is no longer held: it waits for nothing, and may be probed', () => {
      const { projection, round } = onTop();
      projection.setWantedHeight('b', 180, overloaded());
      assert.deepEqual(round(), []);
      assert.equal(projection.isHeld('b'), true);
      projection.setWantedHeight('b', 0, overloaded());
      assert.equal(projection.isHeld('b'), false, 'suspended, not waiting for a keyframe');
      assert.deepEqual(round(L0), [], 'and sent nothing');
      assert.equal(projection.isHeld('b'), false, 'not even when the keyframe it waited for comes');
    });

    it('a hold armed and not yet started is dropped when its reasons go (the queue no longer fills)', () => {
      const { projection, holds, round } = onTop();
      projection.setWantedHeight('b', 180, overloaded());
      projection.setWantedHeight('b', 180, calm());
      assert.deepEqual([round(), round()], [[L2], [L2]]);
      assert.deepEqual(holds, []);
    });

    it('an estimate that recovers before the keyframe: the current layer resumes only at its own keyframe (asked), still without a gap', () => {
      const { projection, requests, holds, of, round } = onTop();
      projection.setWantedHeight('b', 180, overloaded());
      assert.deepEqual(round(), []);
      projection.setWantedHeight('b', 720, calm());
      requests.length = 0;
      assert.deepEqual(round(L0), [], 'neither the 180p keyframe (no longer the target) nor 720p deltas whose references b never got');
      assert.ok(requests.includes(L2), 'the 720p keyframe is asked');
      assert.deepEqual(round(L2), [L2]);
      assert.deepEqual(round(), [L2]);
      assertContinuous(of('b'), 'b');
      assert.deepEqual(holds, ['b']);
    });

    it('starts only with a picture that follows the last one\'s end: not within a picture, not on a late packet, not after a lost end', () => {
      const { projection, holds, of, s, project } = onTop();
      let seq = s.seq.get(L2)!;
      let [ts, pid] = [s.ts.get(L2)!, s.pid.get(L2)!];
      /** Packet `k` of `n` of the current picture. */
      const packet = (k: number, n: number) => {
        const p = vp8(L2, seq + k, ts, pid, false, 720);
        if (k > 0) p[12] = 0x80; // X, not S: a later packet of the same picture
        return k === n - 1 ? ending(p) : p;
      };
      const nextPicture = (n: number) => {
        seq += n;
        ts += 3000;
        pid++;
      };
      project(packet(0, 3));
      projection.setWantedHeight('b', 180, overloaded());
      const before = of('b').length;
      assert.equal(project(packet(1, 3)), 2, 'a and b both get the rest of the picture');
      assert.equal(project(packet(2, 3)), 2);
      assert.equal(of('b').length, before + 2);
      nextPicture(3);
      // The next picture's packets arrive out of order: its first comes after its second.
      const [first, second, third] = [packet(0, 3), packet(1, 3), packet(2, 3)];
      assert.equal(project(second), 2, 'its second packet does not follow a picture\'s end');
      assert.equal(project(first), 2, 'its first, late, is not new to b');
      assert.equal(project(third), 2);
      assert.deepEqual(holds, []);
      // Not moved down meanwhile, a picture whose end is lost on the way in…
      projection.setWantedHeight('b', 720, calm());
      nextPicture(3);
      project(packet(0, 2));
      nextPicture(2);
      // …then moved down again: the next picture does not follow an end, the one after does.
      projection.setWantedHeight('b', 180, overloaded());
      assert.equal(project(packet(0, 1)), 2, 'after a lost end');
      nextPicture(1);
      assert.deepEqual(holds, []);
      assert.equal(project(packet(0, 1)), 1, 'a picture right after an end: a only');
      assert.deepEqual(holds, ['b']);
    });

    it('is not caught up on a lower layer\'s keyframe whose first packet came back late (no burst into a path whose queue fills): it waits for the next', () => {
      const { projection, of, round, s, project } = onTop(new PacketCache());
      projection.setWantedHeight('b', 180, overloaded());
      assert.deepEqual(round(), []);
      assert.equal(projection.isHeld('b'), true);
      const k1 = ending(s.frame(L0, true));
      project(ending(s.frame(L0)));
      const before = of('b').length;
      assert.equal(project(rtxOf(Buffer.from(k1), R0, 1), new Set(), true), 0);
      assert.equal(projection.isHeld('b'), true);
      assert.equal(of('b').length, before);
      assert.deepEqual(round(L0), [L0], 'the next keyframe starts it');
    });

    it('is not probed while it waits (probing copies would queue ahead of the keyframe too)', () => {
      const { projection, sink, round } = onTop(new PacketCache());
      assert.ok(projection.probe('b', 1000, 2, sink) > 0, 'probed while forwarded');
      projection.setWantedHeight('b', 180, overloaded());
      round();
      assert.equal(projection.isHeld('b'), true);
      assert.equal(projection.probe('b', 1000, 2, sink), 0);
      round(L0);
      assert.ok(projection.probe('b', 1000, 2, sink) > 0, 'probed again once on the lower layer');
    });
  });

  it('answers a NACK from its cache (RTX re-stamped per receiver), asks the sender only for what it lacks, and probes with copies of the newest packets', () => {
    const cache = new PacketCache();
    const { projection, project, of, sink, advance } = setup([L0, L1], cache);
    projection.setWantedHeight('a', 720);
    projection.setWantedHeight('b', 180);
    const s = new Sender();
    for (let i = 0; i < 5; i++) {
      project(s.frame(L0, i === 0));
      project(s.frame(L1, i === 0));
      advance(33);
    }
    const [a, b] = [of('a'), of('b')];
    assert.equal(projection.forwardedLayer('a'), L1);
    assert.equal(projection.forwardedLayer('b'), L0);
    // a NACKs its third packet: the cache has it; a gets it as RTX in a's numbering
    assert.equal(projection.retransmit('a', a[2]!.seq, sink), 'sent');
    const ra = of('a').at(-1)!;
    assert.deepEqual([ra.ssrc, ra.pt, ra.osn, ra.ts], [R0, RTX, a[2]!.seq, a[2]!.ts]);
    assert.equal(projection.retransmit('b', b[1]!.seq, sink), 'sent');
    assert.deepEqual([of('b').at(-1)!.osn, of('b').at(-1)!.ts], [b[1]!.seq, b[1]!.ts]);
    // a packet lost before the bridge: its slot is known, the sender is asked for it
    const gap = s.frame(L1); // never projected: lost on the way in
    advance(33);
    project(s.frame(L1));
    const lost = (of('a').at(-1)!.seq - 1) & 0xffff;
    assert.deepEqual(projection.retransmit('a', lost, sink), { ssrc: L1, sequence: gap.readUInt16BE(2) });
    // a second later the cache no longer answers: the sender is asked
    advance(1001);
    assert.deepEqual(projection.retransmit('a', a[2]!.seq, sink), { ssrc: L1, sequence: 5001 }, 'a[0] was the 180p layer\'s first packet, a[1] and a[2] the 360p layer\'s 5000 and 5001');
    assert.equal(projection.retransmit('nobody', a[2]!.seq, sink), undefined);
    // Nor once the source is no longer sent to the receiver (paused, or suspended for its bandwidth): neither from the cache nor asked of the sender.
    const sent = of('b').length;
    projection.setWantedHeight('b', 0);
    assert.equal(projection.retransmit('b', b[2]!.seq, sink), undefined);
    assert.equal(of('b').length, sent);
    projection.setWantedHeight('b', 180);

    // probing: copies of the newest packets, newest first, until the bytes asked are sent
    project(s.frame(L1));
    project(s.frame(L1));
    const newest = of('a').slice(-2);
    const before = of('a').length;
    const size = gap.length + 2;
    assert.equal(projection.probe('a', 2 * size - 1, 10, sink), 2 * size, 'two RTX copies cover the bytes asked');
    assert.deepEqual(of('a').slice(before).map((p) => [p.ssrc, p.osn]), [[R0, newest[1]!.seq], [R0, newest[0]!.seq]]);
    assert.equal(projection.probe('nobody', 10_000, 10, sink), 0);
    // a probe cluster's steps: each goes on from where the last stopped, however much media came
    // between them, so that no packet is copied twice in a cluster; a new cluster starts at the newest
    const copied = (from: number) => of('a').slice(from).map((p) => p.osn);
    for (let i = 0; i < 4; i++) project(s.frame(L1));
    const fresh = of('a').slice(-4).map((p) => p.seq);
    const stepAt = of('a').length;
    assert.equal(projection.probe('a', 2 * size - 1, 10, sink, 7), 2 * size, 'the first step: two copies');
    assert.deepEqual(copied(stepAt), [fresh[3], fresh[2]]);
    project(s.frame(L1)); // media between the steps
    project(s.frame(L1));
    const afterMedia = of('a').length;
    assert.equal(projection.probe('a', 2 * size - 1, 10, sink, 7), 2 * size, 'the second step: two copies');
    assert.deepEqual(copied(afterMedia), [fresh[1], fresh[0]], 'older than the first step\'s, not the media sent since');
    const nextCluster = of('a').length;
    projection.probe('a', 1, 10, sink, 8);
    assert.deepEqual(copied(nextCluster), [of('a')[afterMedia - 1]!.seq], 'another cluster: from the newest again');
    // each layer's bitrate is measured from what arrives
    for (let i = 0; i < 70; i++) {
      advance(33);
      project(s.frame(L0));
      if (i >= 35) project(s.frame(L1)); // the 360p layer only in the second window
    }
    const layers = projection.arrivingLayers();
    assert.deepEqual(layers.map((l) => l.ssrc), [L0, L1]);
    const frameBits = gap.length * 8;
    assert.ok(Math.abs(layers[0]!.bitrate - 30 * frameBits) < 0.1 * 30 * frameBits, `180p: one packet per 33 ms: ${JSON.stringify(layers)}`);
    assert.ok(layers[1]!.bitrate > 0 && layers[1]!.bitrate < layers[0]!.bitrate, `360p: part of the window only: ${JSON.stringify(layers)}`);
  });
});

const KEYFRAME_GAP = 300;

describe('VideoProjection routes (the layers the media socket\'s read forwards itself)', () => {
  /** A projection whose routes are recorded (the ring handed back is never written: no packet forwarded by the read). */
  function routed(layers: number[]) {
    const pushed: Array<{ ssrc: number; receivers: string[] | undefined; next?: number }> = [];
    const rings = new Map<number, LayerRouteRing>();
    const setupped = setup(layers, undefined, {
      routable: () => true,
      route: (ssrc, route) => {
        pushed.push({ ssrc, receivers: route?.receivers.map((r) => r.id), next: route?.next });
        if (!route) return undefined;
        let ring = rings.get(ssrc);
        if (!ring) rings.set(ssrc, (ring = { meta: new Float64Array(256 * 8), bytes: new Uint8Array(256 * 1500), state: new Int32Array(4), monotonicOffset: () => 0 }));
        return ring;
      },
    });
    const live = (): Map<number, string[]> => {
      const routes = new Map<number, string[]>();
      for (const { ssrc, receivers } of pushed) {
        if (receivers) routes.set(ssrc, receivers);
        else routes.delete(ssrc);
      }
      return routes;
    };
    return { ...setupped, pushed, live, rings };
  }

  it('routes a steady layer to its receivers and one nobody is on to nobody (once a packet of it came); dropRoutes takes every one back', () => {
    const { projection, project, advance, live } = routed([L0, L1, L2]);
    projection.setWantedHeight('a', 180);
    const s = new Sender();
    for (let i = 0; i < 3; i++) {
      for (const ssrc of [L0, L1]) project(s.frame(ssrc, i === 0));
      advance(33);
    }
    assert.deepEqual([...live()].sort(), [[L0, ['a']], [L1, []]], 'no route for 720p: none of its packets came');
    projection.dropRoutes();
    assert.deepEqual([...live()], []);
  });

  it('brings a route\'s receivers up to date once for many take-ins of the layer (catchUpLayers), with what taking in brings each time', () => {
    /** Runs of the read's forwarding, pictures of three packets, each run then taken in; then a packet JavaScript projects. */
    const play = (lazy: boolean) => {
      const { projection, project, advance, pushed, rings, of } = routed([L0]);
      projection.setWantedHeight('a', 180);
      const s = new Sender();
      project(s.frame(L0, true));
      advance(33);
      project(s.frame(L0));
      const route = pushed.findLast((p) => p.ssrc === L0)!;
      assert.deepEqual(route.receivers, ['a']);
      const ring = rings.get(L0)!;
      // (The read's `next` moved on past what JavaScript projected since the route was made.)
      let sequence = s.seq.get(L0)!;
      let timestamp = s.ts.get(L0)!;
      let pictureId = s.pid.get(L0)!;
      let inPicture = 0;
      const firstOut = of('a').at(-1)!.seq + 1;
      // Runs ending within a picture, one of a single packet, and one long enough to write over
      // the ring slots of the packets taken in before it.
      for (const run of [2, 4, 3, 5, 1, 7, 250, 3, 2]) {
        for (let k = 0; k < run; k++) {
          const marker = inPicture === 2;
          ring.meta.set([sequence, timestamp, pictureId, 15, pictureId & 0xff, marker ? 1 : 0, 1000, 0], (sequence & 255) * 8);
          if (ring.state[0] === 0) ring.state[3] = sequence;
          ring.state[0]!++;
          sequence = (sequence + 1) & 0xffff;
          if (marker) {
            inPicture = 0;
            timestamp = (timestamp + 3000) >>> 0;
            pictureId = (pictureId + 1) & 0x7fff;
          } else {
            inPicture++;
          }
        }
        advance(10);
        if (lazy) projection.catchUpLayers();
        else projection.catchUp();
      }
      assert.equal(ring.state[0], 0, 'all taken in');
      const lastOut = (firstOut + 277 - 1) & 0xffff;
      // What the receiver's NACKs map to (reverse catches up first), then the next picture JavaScript projects.
      const reversed = [];
      for (let out = (firstOut - 2) & 0xffff; out !== ((lastOut + 3) & 0xffff); out = (out + 1) & 0xffff) reversed.push(projection.reverse('a', out));
      s.seq.set(L0, sequence);
      s.ts.set(L0, (timestamp + 3000) >>> 0);
      s.pid.set(L0, (pictureId + 1) & 0x7fff);
      advance(33);
      project(s.frame(L0));
      return { reversed, next: of('a').at(-1)!, lastOut };
    };
    const eager = play(false);
    const lazy = play(true);
    assert.deepEqual(lazy, eager);
    assert.equal(eager.next.seq, (eager.lastOut + 1) & 0xffff, 'JavaScript goes on from the last packet the read forwarded');
    assert.ok(eager.reversed.filter((r) => r !== undefined).length >= 277, 'every packet the read forwarded maps back');
  });

  it('maintain makes the routes again when the layers arriving change (the one a receiver is on stopped)', () => {
    const { projection, project, advance, pushed, live, rings, requests } = routed([L0, L1]);
    projection.setWantedHeight('a', 360);
    const s = new Sender();
    for (let i = 0; i < 3; i++) {
      for (const ssrc of [L0, L1]) project(s.frame(ssrc, i === 0));
      advance(33);
    }
    assert.deepEqual([...live()].sort(), [[L0, []], [L1, ['a']]]);
    const made = pushed.length;
    // 180p goes on through the read (a one-packet picture each 50 ms, as its ring records them);
    // 360p stops.
    const ring = rings.get(L0)!;
    let now = 3 * 33;
    const forward = () => {
      const sequence = s.seq.get(L0)!;
      ring.meta.set([sequence, s.ts.get(L0)!, s.pid.get(L0)!, 15, 0, 1, 1000, now], (sequence & 255) * 8);
      if (ring.state[0] === 0) ring.state[3] = sequence;
      ring.state[0]!++;
      s.frame(L0);
    };
    for (let i = 0; i < 5; i++) {
      advance(50);
      now += 50;
      forward();
      projection.maintain();
    }
    assert.equal(pushed.length, made, 'nothing handed over again');
    for (let elapsed = 0; elapsed <= LAYER_TIMEOUT_MS; elapsed += 50) {
      advance(50);
      now += 50;
      forward();
      projection.maintain();
    }
    // Its receiver is to switch to 180p, which JavaScript does on a keyframe: both routes are taken back.
    assert.deepEqual([...live()], [], 'the routes are made again once 360p no longer arrives');
    assert.ok(requests.includes(L0), 'a keyframe is asked of 180p');
  });

  it('keeps a layer in JavaScript while a receiver waits to start or switch onto it (a single layer starts at any packet)', () => {
    const { projection, project, advance, live, of } = routed([L0]);
    projection.setWantedHeight('a', 180);
    const s = new Sender();
    project(s.frame(L0, true));
    advance(33);
    project(s.frame(L0));
    assert.deepEqual([...live()], [[L0, ['a']]]);
    projection.setWantedHeight('b', 180);
    assert.deepEqual([...live()], [], 'b waits to start on it');
    advance(33);
    project(s.frame(L0));
    assert.equal(of('b').length, 1, 'b started at the next packet, a delta frame');
    assert.deepEqual([...live()], [[L0, ['a', 'b']]]);
  });
});

