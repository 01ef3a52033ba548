// VideoProjection with a VP9 SVC sender (lib-jitsi-meet's L3T3_KEY: one SSRC, three spatial
// layers, three temporal layers): per receiver, the spatial layers up to its height and the
// temporal layers up to its frame rate, the marker moved to the end of its highest spatial layer,
// without holes in its sequence numbers; up on a keyframe only.
import assert from 'node:assert/strict';
import { PacketCache } from '../../../bridge/rtp/packet-cache.ts';
import { RtpHeader } from '../../../bridge/rtp/packet.ts';
import { Vp9Descriptor } from '../../../bridge/rtp/vp9.ts';
import { VideoProjection } from '../../../bridge/video-projection.ts';
import { recordProjection } from './projection-recorder.ts';

const VP9 = 101;
const RTX = 97;
const [S0, S1, S2] = [0x5000, 0x6000, 0x7000];
const R0 = 0x5001;
const HEIGHTS = [180, 360, 720];
/** L1T3's temporal pattern, per picture. */
const TIDS = [0, 2, 1, 2];

interface Out { seq: number; ts: number; marker: boolean; sid: number; tid: number; pid: number }

class Vp9Sender {
  seq = 65_530;
  pid = 32_760;
  ts = 1_000;
  tl0 = 250;
  picture = 0;

  /** One picture: two packets per spatial layer; the keyframe's first packet carries the scalability structure. */
  next(key: boolean, spatialLayers = 3): Buffer[] {
    const tid = key ? 0 : TIDS[this.picture % 4]!;
    if (key) this.picture = 0;
    if (tid === 0) this.tl0 = (this.tl0 + 1) & 0xff;
    const packets: Buffer[] = [];
    for (let sid = 0; sid < spatialLayers; sid++) {
      for (let part = 0; part < 2; part++) {
        const ss = key && sid === 0 && part === 0;
        const b = Buffer.alloc(12 + 5 + (ss ? 1 + 4 * spatialLayers : 0) + 30);
        b[0] = 0x80;
        b[1] = VP9 | (sid === spatialLayers - 1 && part === 1 ? 0x80 : 0);
        b.writeUInt16BE(this.seq, 2);
        this.seq = (this.seq + 1) & 0xffff;
        b.writeUInt32BE(this.ts >>> 0, 4);
        b.writeUInt32BE(S0, 8);
        b[12] = 0x80 | (key ? 0 : 0x40) | 0x20 | (part === 0 ? 0x08 : 0) | (part === 1 ? 0x04 : 0) | (ss ? 0x02 : 0);
        b.writeUInt16BE(0x8000 | this.pid, 13);
        b[15] = (tid << 5) | (tid > 0 ? 0x10 : 0) | (sid << 1) | (key && sid > 0 ? 1 : 0);
        b[16] = this.tl0;
        if (ss) {
          b[17] = ((spatialLayers - 1) << 5) | 0x10;
          for (let s = 0; s < spatialLayers; s++) {
            b.writeUInt16BE(Math.round((HEIGHTS[s]! * 16) / 9), 18 + 4 * s);
            b.writeUInt16BE(HEIGHTS[s]!, 20 + 4 * s);
          }
        }
        packets.push(b);
      }
    }
    this.pid = (this.pid + 1) & 0x7fff;
    this.ts = (this.ts + 3000) >>> 0;
    this.picture++;
    return packets;
  }
}

function setup() {
  let now = 0;
  const requests: number[] = [];
  const projection = new VideoProjection(
    { layers: [S0, S1, S2], rtx: new Map([[S0, R0]]) },
    {
      rtxPayloadTypes: new Map([[RTX, VP9]]), vp8PayloadTypes: new Set([100]), vp9PayloadTypes: new Set([VP9]), now: () => now,
      requestKeyframe: (s) => requests.push(s), cache: new PacketCache(),
    },
  );
  const h = new RtpHeader();
  const d = new Vp9Descriptor();
  const { send, take } = recordProjection(projection, (packet): Out => {
    assert.equal(h.parse(packet), 'ok');
    assert.ok(d.parse(h.buf, h.payloadOffset, h.payloadLength));
    return { seq: h.sequenceNumber, ts: h.timestamp, marker: h.marker, sid: d.spatialId, tid: d.temporalId, pid: d.pictureId };
  }, () => { now += 33; });
  return { projection, requests, send, take, advance: (ms: number) => { now += ms; } };
}

function assertNoHoles(out: readonly Out[], who: string): void {
  for (let i = 1; i < out.length; i++) assert.equal(out[i]!.seq, (out[i - 1]!.seq + 1) & 0xffff, `${who}: sequence continuous at ${i}`);
}

/** The marker is on the last packet of each picture sent, and only there. */
function assertMarkers(out: readonly Out[], who: string): void {
  for (let i = 0; i < out.length; i++) {
    const last = i === out.length - 1 || out[i + 1]!.pid !== out[i]!.pid;
    assert.equal(out[i]!.marker, last, `${who}: marker at ${i} (picture ${out[i]!.pid}, SID ${out[i]!.sid})`);
  }
}

describe('VideoProjection with VP9 SVC (one SSRC, spatial and temporal layers per receiver)', () => {
  it('sends a 720 receiver every spatial layer and a 180 one only SID 0, with the marker moved and no holes', () => {
    const { projection, send, take } = setup();
    const sender = new Vp9Sender();
    projection.setWantedHeight('a', 720);
    projection.setWantedHeight('b', 180);
    send(sender.next(true));
    for (let i = 0; i < 8; i++) send(sender.next(false));
    const a = take('a');
    const b = take('b');
    assert.equal(a.length, 9 * 6);
    assert.deepEqual([...new Set(a.map((o) => o.sid))], [0, 1, 2]);
    assert.equal(b.length, 9 * 2);
    assert.deepEqual([...new Set(b.map((o) => o.sid))], [0]);
    for (const [who, out] of [['a', a], ['b', b]] as const) {
      assertNoHoles(out, who);
      assertMarkers(out, who);
      assert.ok(out.every((o) => o.ts >= 1_000), `${who}: timestamps kept`);
    }
    assert.equal(projection.forwardedLayer('b'), S0);
    const layers = projection.arrivingLayers();
    assert.deepEqual(layers.map((l) => l.height), [180, 360, 720], 'the scalability structure gives the heights');
  });

  it('a receiver goes down at the next picture, and up only on a keyframe it asked for', () => {
    const { projection, requests, send, take, advance } = setup();
    const sender = new Vp9Sender();
    projection.setWantedHeight('b', 720);
    send(sender.next(true));
    send(sender.next(false));
    assert.equal(new Set(take('b').map((o) => o.sid)).size, 3);
    projection.setWantedHeight('b', 360);
    send(sender.next(false));
    const down = take('b');
    assert.deepEqual([...new Set(down.map((o) => o.sid))], [0, 1], 'SID 2 stops at once');
    assertMarkers(down, 'down');
    requests.length = 0;
    advance(300); // past the pacing of the keyframe request made when B started
    projection.setWantedHeight('b', 720);
    for (let i = 0; i < 3; i++) send(sender.next(false));
    assert.deepEqual([...new Set(take('b').map((o) => o.sid))], [0, 1], 'no upper layer before a keyframe');
    assert.deepEqual(requests, [S0], 'one keyframe request (paced) for the layer it waits for');
    send(sender.next(true));
    send(sender.next(false));
    const up = take('b');
    assert.deepEqual([...new Set(up.map((o) => o.sid))], [0, 1, 2], 'all layers from the keyframe on');
    assertMarkers(up, 'up');
  });

  it('drops temporal layers above a frame-rate limit, picture by picture, without holes', () => {
    const { projection, send, take } = setup();
    const sender = new Vp9Sender();
    projection.setWantedHeight('b', 180);
    send(sender.next(true));
    projection.setMaxFrameRate('b', 15);
    for (let i = 0; i < 8; i++) send(sender.next(false));
    const out = take('b');
    assert.ok(out.every((o) => o.tid <= 1), `no TID 2: ${JSON.stringify(out.map((o) => o.tid))}`);
    assert.equal(out.length, 2 * (1 + 4), 'the keyframe and the four TID 0/1 pictures');
    assertNoHoles(out, 'b');
    projection.setMaxFrameRate('b', undefined);
    for (let i = 0; i < 4; i++) send(sender.next(false));
    assert.ok(take('b').some((o) => o.tid === 2), 'TID 2 again from a switching-up point');
  });

  it('judges a picture whose first packet was lost on the way in by its own temporal layer, not the picture before it', () => {
    const { projection, send, take } = setup();
    const sender = new Vp9Sender();
    projection.setWantedHeight('b', 180);
    projection.setMaxFrameRate('b', 15);
    send(sender.next(true));
    send(sender.next(false)); // TID 2: dropped for b
    send(sender.next(false)); // TID 1
    send(sender.next(false)); // TID 2: dropped
    take('b');
    const base = sender.next(false); // a TID 0 picture, which every later one references
    assert.equal(base[0]![15]! >> 5, 0);
    send(base.slice(1)); // its first packet lost upstream
    const out = take('b');
    assert.deepEqual(out.map((o) => [o.sid, o.tid]), [[0, 0]], 'the rest of its SID 0 frame goes (a hole before it: NACKed, repaired)');
  });

  it('applies a lower frame-rate limit from the next picture: the one being forwarded goes out whole', () => {
    const { projection, send, take } = setup();
    const sender = new Vp9Sender();
    projection.setWantedHeight('b', 720);
    send(sender.next(true));
    take('b');
    const picture = sender.next(false); // TID 2
    assert.equal(picture[0]![15]! >> 5, 2);
    send(picture.slice(0, 3));
    projection.setMaxFrameRate('b', 15);
    send(picture.slice(3));
    const out = take('b');
    assert.equal(out.length, 6, 'all six packets of the picture');
    assert.equal(out.at(-1)!.marker, true);
    send(sender.next(false)); // TID 1: goes
    send(sender.next(false)); // TID 2: dropped now
    assert.deepEqual([...new Set(take('b').map((o) => o.tid))], [1]);
  });

  it('a NACKed packet comes back from the cache as RTX with the marker where the receiver\'s live copy had it', () => {
    const { projection, send, take } = setup();
    const sender = new Vp9Sender();
    projection.setWantedHeight('b', 180);
    send(sender.next(true));
    send(sender.next(false));
    const live = take('b');
    const end = live.at(-1)!;
    assert.ok(end.marker && end.sid === 0, 'the live copy of the end of SID 0 has the marker');
    const h = new RtpHeader();
    const resent: Array<{ marker: boolean; osn: number }> = [];
    const result = projection.retransmit('b', end.seq, (_id, packet) => {
      assert.equal(h.parse(packet), 'ok');
      assert.equal(h.ssrc, R0);
      resent.push({ marker: h.marker, osn: packet.readUInt16BE(h.payloadOffset) });
    });
    assert.equal(result, 'sent');
    assert.deepEqual(resent, [{ marker: true, osn: end.seq }]);
    const first = live.at(-2)!;
    projection.retransmit('b', first.seq, (_id, packet) => {
      assert.equal(h.parse(packet), 'ok');
      assert.equal(h.marker, false, 'a packet that did not end the picture comes back without it');
    });
  });

  it('a single-layer VP9 stream (L1T3) is forwarded whole, its marker untouched', () => {
    const { projection, send, take } = setup();
    const sender = new Vp9Sender();
    projection.setWantedHeight('b', 180);
    send(sender.next(true, 1));
    for (let i = 0; i < 4; i++) send(sender.next(false, 1));
    const out = take('b');
    assert.equal(out.length, 5 * 2);
    assertMarkers(out, 'b');
  });

  it('gives a spatial layer announced but not measured yet no price of its own (0), not the one of the layer below', () => {
    const { projection, send } = setup();
    const sender = new Vp9Sender();
    // Keyframes announcing three spatial layers, but only S0 and S1 sent (the sender has not turned S2 on yet).
    send(sender.next(true).slice(0, 4));
    for (let i = 0; i < 31; i++) send(sender.next(false).slice(0, 4)); // past the first bitrate window
    send(sender.next(true).slice(0, 4)); // announces S2 again, early in the next window
    const layers = projection.arrivingLayers();
    assert.deepEqual(layers.map((l) => l.height), [180, 360, 720], 'the structure announced three');
    assert.ok(layers[0]!.bitrate > 0 && layers[1]!.bitrate > layers[0]!.bitrate, JSON.stringify(layers));
    assert.equal(layers[2]!.bitrate, 0, 'S2: unmeasured, which the allocation leaves out while others are measured');
  });

  it('sends a packet whose VP9 descriptor does not parse to no receiver, whatever its layers', () => {
    const { projection, send, take } = setup();
    const sender = new Vp9Sender();
    projection.setWantedHeight('low', 180);
    projection.setWantedHeight('all', 720);
    send(sender.next(true));
    for (let i = 0; i < 3; i++) send(sender.next(false));
    const [low, all] = [take('low').length, take('all').length];
    assert.ok(low > 0 && all > low);
    // F=1 and P=1, then three P_DIFF octets each saying another follows (at most three): no descriptor.
    const bad = Buffer.concat([Buffer.from([0x80, VP9, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0x50, 0]), Buffer.from([0x50, 0x03, 0x03, 0x03]), Buffer.alloc(1000)]);
    bad.writeUInt32BE(S0, 8);
    send([bad]);
    assert.deepEqual([take('low').length, take('all').length], [0, 0]);
  });
});
