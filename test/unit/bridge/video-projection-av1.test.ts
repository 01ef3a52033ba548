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

describe('VideoProjection with AV1: packets whose layers cannot be read, and whose structure', () => {
  const RTX_PT = 96;
  /** An AV1 packet of `ssrc` with a Dependency Descriptor (two-byte form), 20 payload bytes. */
  function av1(ssrc: number, seq: number, d: Parameters<typeof writeDependencyDescriptor>[0], payload = 20): Buffer {
    const packet = rtp(AV1, seq, seq * 3000, false, writeDependencyDescriptor(d), payload);
    packet.writeUInt32BE(ssrc, 8);
    return packet;
  }
  /** `packet` as RTX on `ssrc` (RFC 4588: the original sequence number before the payload). */
  function rtx(packet: Buffer, ssrc: number, seq: number): Buffer {
    const h = new RtpHeader();
    h.parse(packet);
    const out = Buffer.concat([packet.subarray(0, h.payloadOffset), Buffer.alloc(2), packet.subarray(h.payloadOffset)]);
    out[1] = RTX_PT;
    out.writeUInt16BE(seq, 2);
    out.writeUInt32BE(ssrc, 8);
    out.writeUInt16BE(h.sequenceNumber, h.payloadOffset);
    return out;
  }
  function projectionOf(layers: number[], rtxOf: Map<number, number> = new Map()) {
    let now = 0;
    const requests: number[] = [];
    const got = new Map<string, number[]>(); // receiver → template ids sent
    const projection = new VideoProjection({ layers, rtx: rtxOf }, {
      rtxPayloadTypes: new Map([[RTX_PT, AV1]]), vp8PayloadTypes: new Set([VP8]), av1PayloadTypes: new Set([AV1]), dependencyDescriptorId: () => DD_ID,
      now: () => now, requestKeyframe: (s) => requests.push(s),
    });
    const h = new RtpHeader();
    const dd = new DependencyDescriptor();
    const sink = (id: string, packet: Buffer): void => {
      h.parse(packet);
      dd.parse(h.buf, h.findExtension(DD_ID), h.foundLength);
      got.set(id, [...(got.get(id) ?? []), dd.templateId]);
    };
    const take = (id: string): number[] => {
      const list = got.get(id) ?? [];
      got.set(id, []);
      return list;
    };
    return { projection, requests, take, send: (packet: Buffer, askers?: Set<string>) => projection.project(packet, sink, askers, true), advance: (ms: number) => { now += ms; } };
  }

  it('sends a packet naming a template of no structure to no receiver, and counts its bytes in the top spatial layer', () => {
    const { projection, take, send, advance } = projectionOf([S0]);
    projection.setWantedHeight('low', 180);
    projection.setWantedHeight('all', 720);
    let seq = 1;
    const structure = l3t3Structure(0);
    for (const template of [0, 4, 8]) send(av1(S0, seq++, { start: true, end: true, templateId: template, frameNumber: 1, ...(template === 0 ? { structure } : {}) }));
    for (let ms = 0; ms < 2000; ms += 10) {
      advance(10);
      if (ms % 100 === 0) for (const template of [1, 5, 9]) send(av1(S0, seq++, { start: true, end: true, templateId: template, frameNumber: seq }));
      send(av1(S0, seq++, { start: true, end: true, templateId: 40, frameNumber: seq }, 1000)); // no template 40 in L3T3
    }
    assert.ok(take('low').every((t) => t === 0 || t === 1) && take('all').every((t) => t !== 40), 'template 40 went to nobody');
    const layers = projection.arrivingLayers();
    assert.equal(layers.length, 3);
    assert.ok(layers[2]!.bitrate > 100 * 1000 * 8, `the top layer pays for 100 packets of 1 kB a second: ${JSON.stringify(layers)}`);
    assert.ok(layers[0]!.bitrate < 50_000, `not the lowest: ${JSON.stringify(layers)}`);
  });

  it('keeps a structure per simulcast SSRC: one layer\'s keyframe does not replace the other\'s templates', () => {
    const { projection, requests, take, send, advance } = projectionOf([S0, S1]);
    projection.setWantedHeight('r', 180); // S0
    projection.setMaxFrameRate('r', 15); // T0 and T1
    const l1t3 = (offset: number, height: number) => ({
      templateIdOffset: offset, decodeTargets: 3, chains: 1,
      templates: [{ spatialId: 0, temporalId: 0 }, { spatialId: 0, temporalId: 0, fdiffs: [4] }, { spatialId: 0, temporalId: 1, fdiffs: [2] }, { spatialId: 0, temporalId: 2, fdiffs: [1] }],
      resolutions: [[Math.round((height * 16) / 9), height]] as Array<[number, number]>,
    });
    send(av1(S0, 100, { start: true, end: true, templateId: 0, frameNumber: 100, structure: l1t3(0, 180) }));
    send(av1(S1, 500, { start: true, end: true, templateId: 4, frameNumber: 500, structure: l1t3(4, 720) }));
    advance(1000);
    requests.length = 0;
    take('r');
    for (let i = 0; i < 40; i++) {
      const tid = TIDS[i % 4]!;
      send(av1(S0, 101 + i, { start: true, end: true, templateId: tid === 0 ? 1 : tid + 1, frameNumber: 101 + i }));
      advance(33);
    }
    const sent = take('r');
    assert.deepEqual(requests, [], 'S0\'s structure is known: no keyframe asked');
    assert.equal(sent.length, 20, 'every T0 and T1 picture of S0 (two in four)');
    assert.ok(!sent.includes(3), 'no T2 (template 3) at 15 fps');
  });

  it('learns a new structure from the retransmission of a keyframe\'s first packet lost on the way in', () => {
    const R0 = S0 + 1;
    const { projection, take, send } = projectionOf([S0], new Map([[S0, R0]]));
    projection.setWantedHeight('low', 180);
    let seq = 100;
    const first = l3t3Structure(0);
    for (const template of [0, 4, 8]) send(av1(S0, seq++, { start: true, end: true, templateId: template, frameNumber: seq, ...(template === 0 ? { structure: first } : {}) }));
    // The sender's structure changes (numbered on from 12); its keyframe's first packet is lost, then asked again by the bridge.
    const next = l3t3Structure(12);
    const lost = av1(S0, seq++, { start: true, end: true, templateId: 12, frameNumber: seq, structure: next });
    for (const template of [16, 20]) send(av1(S0, seq++, { start: true, end: true, templateId: template, frameNumber: seq }));
    send(rtx(lost, R0, 1), new Set(['low']));
    take('low');
    for (let i = 0; i < 3; i++) for (const template of [13, 17, 21]) send(av1(S0, seq++, { start: true, end: true, templateId: template, frameNumber: seq }));
    assert.deepEqual(take('low'), [13, 13, 13], 'S0 only (template 13), by the structure the retransmission brought');
  });
});
