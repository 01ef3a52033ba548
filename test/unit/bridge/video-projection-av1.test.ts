// VideoProjection with an AV1 SVC sender: one SSRC, three spatial and three temporal layers named
// by the Dependency Descriptor (two-byte header extension, the template structure on keyframes).
// Per receiver, the spatial layers up to its height and the temporal layers up to its frame rate,
// the marker at the end of its highest spatial layer, no holes; up on a keyframe only. A VP8
// packet's Dependency Descriptor is blanked to padding.
import assert from 'node:assert/strict';
import { DependencyDescriptor } from '../../../bridge/rtp/dependency-descriptor.ts';
import { RtpHeader } from '../../../bridge/rtp/packet.ts';
import { VideoProjection } from '../../../bridge/video-projection.ts';
import { recordProjection } from './projection-recorder.ts';
import { l3t3Structure, writeDependencyDescriptor } from './rtp/dd-writer.ts';

const AV1 = 41;
const VP8 = 100;
const DD_ID = 11;
const [S0, S1, S2] = [0x5000, 0x6000, 0x7000];
const TIDS = [0, 2, 1, 2];
const OFFSET = 50;

/** An RTP packet with the descriptor as a two-byte header extension element (RFC 8285 §4.3). */
function rtp(pt: number, seq: number, ts: number, marker: boolean, dd: Buffer, payload = 30): Buffer {
  const elements = Buffer.concat([Buffer.from([DD_ID, dd.length]), dd]);
  const padded = Math.ceil(elements.length / 4) * 4;
  const b = Buffer.alloc(12 + 4 + padded + payload, 0xaa);
  b[0] = 0x90;
  b[1] = pt | (marker ? 0x80 : 0);
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(S0, 8);
  b.writeUInt16BE(0x1000, 12);
  b.writeUInt16BE(padded / 4, 14);
  b.fill(0, 16, 16 + padded);
  elements.copy(b, 16);
  return b;
}

class Av1Sender {
  seq = 65_000;
  ts = 90_000;
  frameNumber = 65_530;
  picture = 0;

  next(key: boolean): Buffer[] {
    const tid = key ? 0 : TIDS[this.picture % 4]!;
    if (key) this.picture = 0;
    const packets: Buffer[] = [];
    for (let sid = 0; sid < 3; sid++) {
      const template = sid * 4 + (tid === 0 ? (key ? 0 : 1) : tid + 1);
      for (let part = 0; part < 2; part++) {
        const dd = writeDependencyDescriptor({
          start: part === 0, end: part === 1, templateId: (OFFSET + template) % 64, frameNumber: this.frameNumber,
          ...(key && sid === 0 && part === 0 ? { structure: l3t3Structure(OFFSET) } : {}),
        });
        packets.push(rtp(AV1, this.seq, this.ts, sid === 2 && part === 1, dd));
        this.seq = (this.seq + 1) & 0xffff;
      }
      this.frameNumber = (this.frameNumber + 1) & 0xffff;
    }
    this.ts = (this.ts + 3000) >>> 0;
    this.picture++;
    return packets;
  }
}

interface Out { seq: number; marker: boolean; sid: number; tid: number; frameNumber: number }

function setup() {
  let now = 0;
  const requests: number[] = [];
  const projection = new VideoProjection(
    { layers: [S0, S1, S2], rtx: new Map() },
    {
      rtxPayloadTypes: new Map(), vp8PayloadTypes: new Set([VP8]), av1PayloadTypes: new Set([AV1]), dependencyDescriptorId: () => DD_ID,
      now: () => now, requestKeyframe: (s) => requests.push(s),
    },
  );
  const h = new RtpHeader();
  const dd = new DependencyDescriptor();
  const structure = l3t3Structure(OFFSET);
  const { send, take } = recordProjection(projection, (packet): Out => {
    assert.equal(h.parse(packet), 'ok');
    const at = h.findExtension(DD_ID);
    assert.ok(at >= 0 && dd.parse(h.buf, at, h.foundLength), 'AV1 packets keep their descriptor');
    const template = structure.templates[(dd.templateId + 64 - OFFSET) % 64]!;
    return { seq: h.sequenceNumber, marker: h.marker, sid: template.spatialId, tid: template.temporalId, frameNumber: dd.frameNumber };
  }, () => { now += 33; });
  return { projection, requests, send, take, advance: (ms: number) => { now += ms; } };
}

function check(out: readonly Out[], who: string): void {
  for (let i = 1; i < out.length; i++) assert.equal(out[i]!.seq, (out[i - 1]!.seq + 1) & 0xffff, `${who}: sequence continuous at ${i}`);
  for (let i = 0; i < out.length; i++) {
    // The last packet of a temporal unit: the next packet starts a new SID 0 frame, or none follows.
    const last = i === out.length - 1 || (out[i + 1]!.sid === 0 && out[i + 1]!.frameNumber !== out[i]!.frameNumber);
    assert.equal(out[i]!.marker, last, `${who}: marker at ${i} (SID ${out[i]!.sid})`);
  }
}

describe('VideoProjection with AV1 SVC (Dependency Descriptor: layers per receiver)', () => {
  it('sends a 720 receiver every spatial layer and a 180 one only S0, marker moved, no holes; heights from the structure', () => {
    const { projection, send, take } = setup();
    const sender = new Av1Sender();
    projection.setWantedHeight('a', 720);
    projection.setWantedHeight('b', 180);
    send(sender.next(true));
    for (let i = 0; i < 8; i++) send(sender.next(false));
    const a = take('a');
    const b = take('b');
    assert.equal(a.length, 9 * 6);
    assert.equal(b.length, 9 * 2);
    assert.deepEqual([...new Set(b.map((o) => o.sid))], [0]);
    check(a, 'a');
    check(b, 'b');
    assert.deepEqual(projection.arrivingLayers().map((l) => l.height), [180, 360, 720]);
  });

  it('goes down at the next picture, up on a keyframe, and drops temporal layers above a frame rate', () => {
    const { projection, requests, send, take, advance } = setup();
    const sender = new Av1Sender();
    projection.setWantedHeight('b', 720);
    send(sender.next(true));
    projection.setWantedHeight('b', 360);
    send(sender.next(false));
    assert.deepEqual([...new Set(take('b').filter((o) => o.frameNumber > 65_532 || o.frameNumber < 100).map((o) => o.sid))], [0, 1]);
    advance(300);
    requests.length = 0;
    projection.setWantedHeight('b', 720);
    send(sender.next(false));
    assert.ok(take('b').every((o) => o.sid <= 1), 'no S2 before a keyframe');
    assert.deepEqual(requests, [S0]);
    send(sender.next(true));
    assert.deepEqual([...new Set(take('b').map((o) => o.sid))], [0, 1, 2]);
    projection.setMaxFrameRate('b', 15);
    for (let i = 0; i < 8; i++) send(sender.next(false));
    const limited = take('b');
    assert.ok(limited.every((o) => o.tid <= 1), 'no T2');
    check(limited, 'limited');
    projection.setMaxFrameRate('b', undefined);
    for (let i = 0; i < 3; i++) send(sender.next(false));
    assert.ok(take('b').every((o) => o.tid <= 1), 'T2 waits for a T0 picture (no switching-up bit in AV1 here)');
    for (let i = 0; i < 3; i++) send(sender.next(false));
    assert.ok(take('b').some((o) => o.tid === 2), 'T2 again after a T0 picture');
  });

  it('packets before any structure ask the sender for a keyframe; the receiver starts with it', () => {
    const { projection, requests, send, take, advance } = setup();
    const sender = new Av1Sender();
    sender.next(true); // lost: never reaches the bridge
    projection.setWantedHeight('b', 180);
    advance(300); // past the request made when B started
    requests.length = 0;
    send(sender.next(false));
    assert.deepEqual(requests, [S0], 'a keyframe is asked (once, paced) when the structure is missing');
    assert.equal(take('b').length, 0, 'nothing before a keyframe');
    send(sender.next(true));
    assert.equal(take('b').length, 2);
  });

  it('blanks the Dependency Descriptor of a VP8 packet to padding, the rest untouched', () => {
    const { projection, take } = setup();
    projection.setWantedHeight('b', 720);
    const dd = writeDependencyDescriptor({ start: true, end: true, templateId: 1, frameNumber: 5, structure: l3t3Structure() });
    const packet = rtp(VP8, 100, 1000, true, dd, 0);
    // A VP8 keyframe payload: descriptor (S, PID), then the 10-byte keyframe header.
    const vp8 = Buffer.from([0x90, 0x80, 0x81, 0x00, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
    const full = Buffer.concat([packet, vp8]);
    let seen: Buffer | undefined;
    projection.project(full, (_id, p) => { seen = Buffer.from(p); });
    assert.ok(seen, 'forwarded');
    const h = new RtpHeader();
    assert.equal(h.parse(seen), 'ok');
    assert.equal(h.findExtension(DD_ID), -1, 'no descriptor left');
    assert.ok(seen.subarray(16, 16 + h.extensionLength).every((b) => b === 0), 'its bytes are padding');
    assert.deepEqual(seen.subarray(h.payloadOffset), vp8, 'the payload follows as it was');
    take('b');
  });
});
