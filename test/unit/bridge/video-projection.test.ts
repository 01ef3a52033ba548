import assert from 'node:assert/strict';
import { RtpHeader } from '../../../bridge/rtp/packet.ts';
import { Vp8Descriptor } from '../../../bridge/rtp/vp8.ts';
import { LAYER_TIMEOUT_MS, VideoProjection } from '../../../bridge/video-projection.ts';

const VP8 = 100;
const RTX = 96;
const [L0, L1, L2] = [0x1000, 0x2000, 0x3000];
const [R0, R1, R2] = [0x1001, 0x2001, 0x3001];

/** A VP8 packet: RTP header, descriptor with a 15-bit PictureID, and a keyframe or delta frame header. */
function vp8(ssrc: number, seq: number, ts: number, pid: number, key: boolean, height = 0): Buffer {
  const b = Buffer.alloc(12 + 4 + 10 + 20);
  b[0] = 0x80;
  b[1] = VP8;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = 0x90; // X, S, partition 0
  b[13] = 0x80; // I
  b.writeUInt16BE(0x8000 | (pid & 0x7fff), 14);
  if (key) {
    b.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a], 16);
    b.writeUInt16LE(Math.round((height * 16) / 9), 22);
    b.writeUInt16LE(height, 24);
  } else {
    b[16] = 0x11;
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

function read(packet: Uint8Array): { ssrc: number; seq: number; ts: number; pt: number; pid: number; osn?: number } {
  const h = new RtpHeader();
  assert.equal(h.parse(packet), 'ok');
  const buf = Buffer.from(packet);
  if (h.payloadType === RTX) return { ssrc: h.ssrc, seq: h.sequenceNumber, ts: h.timestamp, pt: h.payloadType, pid: -1, osn: buf.readUInt16BE(h.payloadOffset) };
  const d = new Vp8Descriptor();
  assert.ok(d.parse(h.buf, h.payloadOffset, h.payloadLength));
  return { ssrc: h.ssrc, seq: h.sequenceNumber, ts: h.timestamp, pt: h.payloadType, pid: d.pictureId };
}

/** Three layers (180, 360, 720) sending frames of one packet at 30 fps. */
class Sender {
  seq = new Map([[L0, 100], [L1, 5000], [L2, 60000]]);
  pid = new Map([[L0, 10], [L1, 2000], [L2, 30000]]);
  ts = new Map([[L0, 1000], [L1, 777777], [L2, 4294960000]]);
  frame(ssrc: number, key = false): Buffer {
    const height = ssrc === L0 ? 180 : ssrc === L1 ? 360 : 720;
    const p = vp8(ssrc, this.seq.get(ssrc)!, this.ts.get(ssrc)!, this.pid.get(ssrc)!, key, height);
    this.seq.set(ssrc, (this.seq.get(ssrc)! + 1) & 0xffff);
    this.pid.set(ssrc, (this.pid.get(ssrc)! + 1) & 0x7fff);
    this.ts.set(ssrc, (this.ts.get(ssrc)! + 3000) >>> 0);
    return p;
  }
}

function setup(layers = [L0, L1, L2]) {
  let now = 0;
  const requests: number[] = [];
  const projection = new VideoProjection(
    { layers, rtx: new Map([[L0, R0], [L1, R1], [L2, R2]]) },
    { rtxPayloadTypes: new Map([[RTX, VP8]]), vp8PayloadTypes: new Set([VP8]), now: () => now, requestKeyframe: (s) => requests.push(s) },
  );
  return { projection, requests, advance: (ms: number) => { now += ms; } };
}

describe('VideoProjection (one simulcast source re-stamped onto the SSRC receivers know)', () => {
  it('forwards the tallest layer that fits the wanted height, switching on its keyframe', () => {
    const { projection, requests, advance } = setup();
    projection.setWantedHeight(360);
    const s = new Sender();
    const out: Array<ReturnType<typeof read>> = [];
    // keyframes teach two heights; the first layer arriving is forwarded at once; 360p is
    // estimated (half of 720) and wanted, but its first keyframe comes only at frame 5
    for (const ssrc of [L0, L1, L2]) {
      const r = projection.project(s.frame(ssrc, ssrc !== L1));
      if (r) out.push(read(r));
    }
    for (let i = 0; i < 10; i++) {
      advance(33);
      for (const ssrc of [L0, L1, L2]) {
        const r = projection.project(s.frame(ssrc, i === 5 && ssrc === L1));
        if (r) out.push(read(r));
      }
    }
    assert.equal(projection.forwardedLayer, L1, 'the 360p layer is forwarded');
    assert.ok(requests.includes(L1), 'a keyframe was asked of the 360p layer');
    assert.ok(out.every((p) => p.ssrc === L0), 'every packet goes out on the SSRC receivers know');
    for (let i = 1; i < out.length; i++) {
      assert.equal(out[i]!.seq, (out[i - 1]!.seq + 1) & 0xffff, `sequence continuous at ${i}`);
      assert.equal(out[i]!.pid, (out[i - 1]!.pid + 1) & 0x7fff, `PictureID continuous at ${i}`);
      assert.ok(((out[i]!.ts - out[i - 1]!.ts) >>> 0) > 0 && ((out[i]!.ts - out[i - 1]!.ts) >>> 0) < 90_000, `timestamp advances at ${i}`);
    }
    // 180p until the switch (frames 0-5), 360p from its keyframe (frames 5-10), never 720p
    assert.equal(out.length, 12, `one layer at a time: ${out.length}`);
  });

  it('a screen share sending only its top layer is forwarded from that layer', () => {
    const { projection } = setup();
    projection.setWantedHeight(180);
    const s = new Sender();
    let forwarded = 0;
    for (let i = 0; i < 5; i++) if (projection.project(s.frame(L2, i === 0))) forwarded++;
    assert.equal(forwarded, 5);
    assert.equal(projection.forwardedLayer, L2);
  });

  it('falls back to a lower layer when the forwarded one stops', () => {
    const { projection, requests, advance } = setup();
    const s = new Sender();
    projection.project(s.frame(L0, true));
    projection.project(s.frame(L2, true));
    assert.ok(projection.project(s.frame(L2)));
    assert.equal(projection.forwardedLayer, L2);
    advance(LAYER_TIMEOUT_MS + 1);
    assert.equal(projection.project(s.frame(L0)), undefined, 'not before a keyframe of the lower layer');
    assert.ok(requests.includes(L0));
    assert.ok(projection.project(s.frame(L0, true)));
    assert.equal(projection.forwardedLayer, L0);
  });

  it('retransmissions are re-wrapped onto the known RTX SSRC with the output sequence number; NACKs map back', () => {
    const { projection } = setup([L0, L1]);
    const s = new Sender();
    const first = s.frame(L1, true);
    const original = Buffer.from(first);
    const forwarded = read(projection.project(first)!);
    assert.equal(forwarded.ssrc, L0);
    const rtx = projection.project(rtxOf(original, R1, 9))!;
    assert.ok(rtx, 'the retransmission is forwarded');
    const r = read(rtx);
    assert.deepEqual([r.ssrc, r.pt, r.osn, r.ts], [R0, RTX, forwarded.seq, forwarded.ts]);
    assert.deepEqual(projection.reverse(forwarded.seq), { ssrc: L1, sequence: original.readUInt16BE(2) });
    // a retransmission of a layer not forwarded, and a padding-only probe, go nowhere
    assert.equal(projection.project(rtxOf(s.frame(L0, true), R0, 10)), undefined);
    const probe = Buffer.alloc(12 + 1);
    probe[0] = 0x80; probe[1] = RTX; probe.writeUInt32BE(R1, 8);
    assert.equal(projection.project(probe), undefined);
  });

  it('wanted height 0 forwards nothing; sender reports follow the forwarded layer', () => {
    const { projection } = setup([L0]);
    const s = new Sender();
    const p = read(projection.project(s.frame(L0, true))!);
    assert.equal(projection.senderReportTimestamp(L0, 1000), 1000, 'the first segment keeps its timestamps');
    assert.equal(p.ts, 1000);
    assert.equal(projection.senderReportTimestamp(L1, 5), undefined);
    projection.setWantedHeight(0);
    assert.equal(projection.project(s.frame(L0, true)), undefined);
  });
});
