import assert from 'node:assert/strict';
import { PacketCache } from '../../../bridge/rtp/packet-cache.ts';
import { RtpHeader } from '../../../bridge/rtp/packet.ts';
import { VideoProjection } from '../../../bridge/video-projection.ts';
import { baselineSps } from './rtp/h264-writer.ts';

const H264 = 107;
const RTX = 99;
const [L0, L1, L2] = [0x1000, 0x2000, 0x3000];
const PPS = Buffer.from('68ce3c80', 'hex');

/** NAL unit types of what a receiver was sent (the first one of a STAP-A, an FU-A's fragment type). */
type Kind = 'stap-a' | 'idr' | 'slice' | 'fu-idr' | 'fu-slice';

interface Out { ssrc: number; seq: number; ts: number; marker: boolean; kind: Kind; pt: number }

function kindOf(payload: Uint8Array): Kind {
  const type = payload[0]! & 0x1f;
  if (type === 24) return 'stap-a';
  if (type === 28) return (payload[1]! & 0x1f) === 5 ? 'fu-idr' : 'fu-slice';
  return type === 5 ? 'idr' : 'slice';
}

/**
 * Three H.264 layers as libwebrtc packs them (RFC 6184, packetization-mode 1), two packets a frame:
 * a keyframe's STAP-A with its SPS and PPS, then its IDR slice; a delta frame's slice in two FU-A
 * fragments.
 */
class Sender {
  readonly seq = new Map([[L0, 100], [L1, 5000], [L2, 65500]]);
  readonly ts = new Map([[L0, 1000], [L1, 777777], [L2, 4294960000]]);
  constructor(private readonly sizes: ReadonlyMap<number, readonly [number, number]>) {}

  /** A keyframe, a delta frame, or (`idr`) an IDR picture sent without its SPS and PPS, in two FU-A fragments. */
  frame(ssrc: number, key: boolean | 'idr' = false): Buffer[] {
    let payloads: Buffer[];
    if (key === 'idr') {
      payloads = [Buffer.from([0x7c, 0x85, 0x88, 0x22]), Buffer.from([0x7c, 0x45, 0x33, 0x44])];
    } else if (key) {
      const [width, height] = this.sizes.get(ssrc)!;
      const sps = baselineSps(width, height);
      const stap = Buffer.concat([Buffer.from([0x78, 0, sps.length]), sps, Buffer.from([0, PPS.length]), PPS]);
      payloads = [stap, Buffer.from([0x65, 0xb8, 0x00, 0x04, 0x11])];
    } else {
      payloads = [Buffer.from([0x7c, 0x81, 0x9a, 0x22]), Buffer.from([0x7c, 0x41, 0x33, 0x44])];
    }
    const packets = payloads.map((payload, i) => {
      const b = Buffer.alloc(12 + payload.length);
      b[0] = 0x80;
      b[1] = H264 | (i === payloads.length - 1 ? 0x80 : 0);
      b.writeUInt16BE(this.seq.get(ssrc)!, 2);
      b.writeUInt32BE(this.ts.get(ssrc)!, 4);
      b.writeUInt32BE(ssrc, 8);
      payload.copy(b, 12);
      this.seq.set(ssrc, (this.seq.get(ssrc)! + 1) & 0xffff);
      return b;
    });
    this.ts.set(ssrc, (this.ts.get(ssrc)! + 3000) >>> 0);
    return packets;
  }
}

function setup(h264PayloadTypes: ReadonlySet<number> = new Set([H264]), cache?: PacketCache, layers = [L0, L1, L2]) {
  let now = 0;
  const requests: number[] = [];
  const projection = new VideoProjection(
    { layers, rtx: new Map([[L0, L0 + 1], [L1, L1 + 1], [L2, L2 + 1]]) },
    { rtxPayloadTypes: new Map([[RTX, H264]]), vp8PayloadTypes: new Set([100]), h264PayloadTypes, now: () => now, requestKeyframe: (s) => requests.push(s), ...(cache ? { cache } : {}) },
  );
  const got = new Map<string, Out[]>();
  const header = new RtpHeader();
  const sink = (id: string, packet: Buffer) => {
    assert.equal(header.parse(packet), 'ok');
    const list = got.get(id) ?? [];
    got.set(id, list);
    list.push({ ssrc: header.ssrc, seq: header.sequenceNumber, ts: header.timestamp, marker: header.marker, kind: kindOf(packet.subarray(header.payloadOffset)), pt: header.payloadType });
  };
  const send = (packets: Buffer[]) => {
    for (const p of packets) projection.project(p, sink);
  };
  /** The bridge's own request for `packet` answered: its RTX, lost on the way in. */
  const repaired = (packet: Buffer, rtxSequence: number) => {
    const rtx = Buffer.alloc(packet.length + 2);
    packet.copy(rtx, 0, 0, 12);
    rtx[1] = (packet[1]! & 0x80) | RTX;
    rtx.writeUInt16BE(rtxSequence, 2);
    rtx.writeUInt32BE(packet.readUInt32BE(8) + 1, 8);
    rtx.writeUInt16BE(packet.readUInt16BE(2), 12);
    packet.copy(rtx, 14, 12);
    return projection.project(rtx, sink, new Set(), true);
  };
  return { projection, requests, send, repaired, of: (id: string) => got.get(id) ?? [], advance: (ms: number) => { now += ms; } };
}

function assertContinuous(out: readonly Out[], who: string): void {
  for (let i = 1; i < out.length; i++) {
    assert.equal(out[i]!.seq, (out[i - 1]!.seq + 1) & 0xffff, `${who}: sequence continuous at ${i}`);
    const step = (out[i]!.ts - out[i - 1]!.ts) >>> 0;
    assert.ok(step < 90_000, `${who}: timestamp does not jump back at ${i} (${step})`);
  }
}

const SIZES = new Map<number, readonly [number, number]>([[L0, [320, 180]], [L1, [640, 360]], [L2, [1280, 720]]]);

describe('VideoProjection with H.264 simulcast (keyframes and heights from the NAL units)', () => {
  it('switches a receiver between layers at the first packet of a keyframe only, its stream continuous on the SSRC it knows', () => {
    const { projection, requests, send, of, advance } = setup();
    projection.setWantedHeight('r', 180);
    const s = new Sender(SIZES);
    for (const ssrc of [L0, L1, L2]) send(s.frame(ssrc, true));
    for (let i = 0; i < 5; i++) {
      advance(33);
      for (const ssrc of [L0, L1, L2]) send(s.frame(ssrc));
    }
    assert.equal(projection.forwardedLayer('r'), L0);
    assert.deepEqual(of('r').slice(0, 2).map((o) => o.kind), ['stap-a', 'idr'], 'it starts at the keyframe\'s STAP-A');
    // Up to 720: a keyframe of the top layer is asked, and nothing of it goes before one comes.
    projection.setWantedHeight('r', 720);
    advance(33);
    for (const ssrc of [L0, L1, L2]) send(s.frame(ssrc));
    assert.ok(requests.includes(L2), 'a keyframe of the top layer is asked');
    assert.equal(projection.forwardedLayer('r'), L0, 'no switch on a delta frame');
    // An IDR slice that does not start its picture (after a lost STAP-A) is no switch either.
    advance(33);
    send([s.frame(L2, true)[1]!]);
    assert.equal(projection.forwardedLayer('r'), L0, 'no switch in the middle of a picture');
    advance(33);
    send(s.frame(L0));
    send(s.frame(L2, true));
    assert.equal(projection.forwardedLayer('r'), L2);
    const out = of('r');
    const at = out.findIndex((o) => o.kind === 'stap-a' && out.indexOf(o) > 1);
    assert.ok(at > 0, 'the switch is at a STAP-A');
    assert.deepEqual(out.slice(at).map((o) => o.kind), ['stap-a', 'idr']);
    assert.ok(out.every((o) => o.ssrc === L0), 'every packet on the SSRC the receiver knows');
    assertContinuous(out, 'r');
    // Back down to 180 at the bottom layer's next keyframe, where its slices resume.
    projection.setWantedHeight('r', 180);
    advance(33);
    send(s.frame(L2));
    send(s.frame(L0, true));
    assert.equal(projection.forwardedLayer('r'), L0);
    assertContinuous(of('r'), 'r');
  });

  it('switches layers only at a keyframe with its SPS: an IDR sent without one (the layers number their parameter sets alike) is no switch', () => {
    const { projection, requests, send, of, advance } = setup();
    projection.setWantedHeight('r', 180);
    const s = new Sender(SIZES);
    for (const ssrc of [L0, L2]) send(s.frame(ssrc, true));
    projection.setWantedHeight('r', 720);
    advance(33);
    send(s.frame(L0));
    send(s.frame(L2, 'idr')); // its first packet follows the last picture's end
    assert.equal(projection.forwardedLayer('r'), L0, 'no switch at an IDR without its SPS');
    assert.ok(requests.includes(L2), 'a keyframe is asked');
    advance(33);
    send(s.frame(L2, true));
    assert.equal(projection.forwardedLayer('r'), L2);
    assertContinuous(of('r'), 'r');
  });

  it('takes up a single H.264 stream after a pause at a keyframe or an IDR that starts a picture, never at a delta frame', () => {
    const { projection, requests, send, of, advance } = setup(new Set([H264]), undefined, [L0]);
    projection.setWantedHeight('r', 720);
    const s = new Sender(SIZES);
    send(s.frame(L0, true));
    send(s.frame(L0));
    const before = of('r').length;
    assert.equal(before, 4, 'a single stream starts at once');
    projection.setWantedHeight('r', 0); // paused (a suspended source, a height of 0)
    advance(33);
    send(s.frame(L0));
    projection.setWantedHeight('r', 720);
    requests.length = 0;
    for (let i = 0; i < 3; i++) {
      advance(150); // keyframe requests for one layer are 300 ms apart
      const [first, last] = s.frame(L0);
      send([last!]); // a delta frame's last fragment first, as after a loss
      send([first!]);
    }
    assert.equal(of('r').length, before, 'no delta frame after the pause');
    assert.ok(requests.includes(L0), 'a keyframe is asked');
    advance(33);
    send(s.frame(L0, 'idr'));
    assert.deepEqual(of('r').slice(before).map((o) => o.kind), ['fu-idr', 'fu-idr'], 'taken up at the IDR that starts a picture');
    assertContinuous(of('r'), 'r');
  });

  it('learns each layer\'s height from its SPS, not its place: 1080 / 540 / 270 layers give a 400 receiver the lowest', () => {
    const { projection, send, advance } = setup();
    const s = new Sender(new Map([[L0, [480, 270]], [L1, [960, 540]], [L2, [1920, 1080]]]));
    projection.setWantedHeight('r', 400);
    for (const ssrc of [L0, L1, L2]) send(s.frame(ssrc, true));
    for (let i = 0; i < 3; i++) {
      advance(33);
      for (const ssrc of [L0, L1, L2]) send(s.frame(ssrc));
    }
    assert.deepEqual(projection.arrivingLayers().map((l) => l.height), [270, 540, 1080]);
    assert.equal(projection.forwardedLayer('r'), L0, 'by place the middle layer (360 of an assumed 720) would fit 400');
  });

  it('switches a receiver waiting for a layer at a keyframe whose STAP-A was lost on the way in, once the bridge\'s request brings it back, and catches it up from the cache', () => {
    const { projection, send, repaired, of, advance } = setup(new Set([H264]), new PacketCache());
    projection.setWantedHeight('b', 180);
    const s = new Sender(SIZES);
    for (const ssrc of [L0, L2]) send(s.frame(ssrc, true));
    advance(33);
    for (const ssrc of [L0, L2]) send(s.frame(ssrc));
    assert.equal(projection.forwardedLayer('b'), L0);
    projection.setWantedHeight('b', 720);
    advance(33);
    send(s.frame(L0));
    const [stap, idr] = s.frame(L2, true);
    const stapCopy = Buffer.from(stap!);
    send([idr!]); // the STAP-A is lost on the way in
    advance(33);
    send(s.frame(L0));
    send(s.frame(L2));
    assert.equal(projection.forwardedLayer('b'), L0, 'b waits: no keyframe started for it');
    const waited = of('b').length;
    assert.equal(repaired(stapCopy, 1), 4, 'b gets the STAP-A, the IDR and the next frame\'s two packets');
    assert.equal(projection.forwardedLayer('b'), L2);
    const caughtUp = of('b').slice(waited);
    assert.deepEqual(caughtUp.map((o) => [o.kind, o.ssrc, o.pt]), [['stap-a', L0, H264], ['idr', L0, H264], ['fu-slice', L0, H264], ['fu-slice', L0, H264]], 'as media, on the SSRC it knows, in order');
    assertContinuous(of('b'), 'b');
    advance(33);
    send(s.frame(L2));
    assertContinuous(of('b'), 'b');
  });

  it('without the H.264 payload type known, no packet is a keyframe: a simulcast receiver gets nothing (what the bridge did before)', () => {
    const { projection, send, of, advance } = setup(new Set());
    projection.setWantedHeight('r', 720);
    const s = new Sender(SIZES);
    for (let i = 0; i < 3; i++) {
      for (const ssrc of [L0, L1, L2]) send(s.frame(ssrc, i === 0));
      advance(33);
    }
    assert.equal(of('r').length, 0);
  });
});
