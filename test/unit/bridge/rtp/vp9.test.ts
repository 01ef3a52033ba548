import assert from 'node:assert/strict';
import { Vp9Descriptor } from '../../../../bridge/rtp/vp9.ts';

/** Descriptor octets as RFC 9628 §4.2 lays them out. */
function descriptor(fields: {
  pid?: number; short?: boolean; inter?: boolean; flexible?: boolean; begin?: boolean; end?: boolean;
  layers?: { tid: number; u: boolean; sid: number; d: boolean }; tl0?: number; pdiffs?: number[];
  ss?: { sizes?: Array<[number, number]>; layers?: number };
}): Buffer {
  const out: number[] = [];
  out.push((fields.pid !== undefined ? 0x80 : 0) | (fields.inter ? 0x40 : 0) | (fields.layers ? 0x20 : 0) | (fields.flexible ? 0x10 : 0)
    | (fields.begin ? 0x08 : 0) | (fields.end ? 0x04 : 0) | (fields.ss ? 0x02 : 0));
  if (fields.pid !== undefined) {
    if (fields.short) out.push(fields.pid & 0x7f);
    else out.push(0x80 | ((fields.pid >> 8) & 0x7f), fields.pid & 0xff);
  }
  if (fields.layers) {
    const l = fields.layers;
    out.push((l.tid << 5) | (l.u ? 0x10 : 0) | (l.sid << 1) | (l.d ? 1 : 0));
    if (!fields.flexible) out.push(fields.tl0 ?? 0);
  }
  for (const [i, diff] of (fields.pdiffs ?? []).entries()) out.push((diff << 1) | (i < fields.pdiffs!.length - 1 ? 1 : 0));
  if (fields.ss) {
    const sizes = fields.ss.sizes;
    const n = sizes?.length ?? fields.ss.layers ?? 1;
    out.push(((n - 1) << 5) | (sizes ? 0x10 : 0));
    for (const [w, h] of sizes ?? []) out.push(w >> 8, w & 0xff, h >> 8, h & 0xff);
  }
  return Buffer.concat([Buffer.from(out), Buffer.from([0xde, 0xad])]);
}

describe('bridge/rtp/vp9 (RFC 9628 payload descriptor)', () => {
  const d = new Vp9Descriptor();

  it('reads a keyframe start with its scalability structure: three spatial layers and their sizes', () => {
    const b = descriptor({ pid: 0x1234, begin: true, layers: { tid: 0, u: false, sid: 0, d: false }, tl0: 7, ss: { sizes: [[320, 180], [640, 360], [1280, 720]] } });
    assert.ok(d.parse(b, 0, b.length));
    assert.equal(d.pictureId, 0x1234);
    assert.equal(d.spatialId, 0);
    assert.equal(d.temporalId, 0);
    assert.equal(d.tl0PicIdx, 7);
    assert.equal(d.ssLayers, 3);
    assert.deepEqual([...d.ssHeights.subarray(0, 3)], [180, 360, 720]);
    assert.deepEqual([...d.ssWidths.subarray(0, 3)], [320, 640, 1280]);
    assert.ok(d.keyframeStart && d.pictureStart && d.beginsFrame && !d.endsFrame);
  });

  it('reads the layer indices of a delta frame: not a keyframe, an upper layer starts no picture', () => {
    const b = descriptor({ pid: 5, short: true, inter: true, begin: true, end: true, layers: { tid: 2, u: true, sid: 1, d: false }, tl0: 200 });
    assert.ok(d.parse(b, 0, b.length));
    assert.equal(d.pictureId, 5);
    assert.equal(d.temporalId, 2);
    assert.equal(d.spatialId, 1);
    assert.ok(d.switchingUp && !d.interLayer && d.endsFrame);
    assert.equal(d.ssLayers, 0, 'no scalability structure in this packet');
    assert.ok(!d.keyframeStart && !d.pictureStart);
    // The upper spatial layer of a keyframe: P = 0 but SID 1 and D = 1 — not a keyframe start.
    const upper = descriptor({ pid: 6, begin: true, layers: { tid: 0, u: false, sid: 1, d: true }, tl0: 1 });
    assert.ok(d.parse(upper, 0, upper.length));
    assert.ok(d.interLayer && !d.keyframeStart);
  });

  it('reads flexible mode (P_DIFFs, no TL0PICIDX) and a structure without sizes', () => {
    const b = descriptor({ pid: 300, inter: true, flexible: true, begin: true, layers: { tid: 1, u: false, sid: 0, d: false }, pdiffs: [1, 2], ss: { layers: 2 } });
    assert.ok(d.parse(b, 0, b.length));
    assert.equal(d.tl0PicIdx, -1);
    assert.equal(d.temporalId, 1);
    assert.equal(d.ssLayers, 2);
    assert.deepEqual([...d.ssHeights.subarray(0, 2)], [0, 0]);
  });

  it('without layer indices: SID 0, TID 0', () => {
    const b = descriptor({ pid: 9, begin: true, end: true });
    assert.ok(d.parse(b, 0, b.length));
    assert.equal(d.spatialId, 0);
    assert.equal(d.temporalId, 0);
    assert.ok(d.keyframeStart);
  });

  it('refuses descriptors cut short, and more than three P_DIFFs', () => {
    const full = descriptor({ pid: 0x1234, begin: true, layers: { tid: 0, u: false, sid: 0, d: false }, tl0: 7, ss: { sizes: [[320, 180], [640, 360]] } });
    const octets = full.length - 2; // the two payload octets are not descriptor
    for (let cut = 0; cut < octets; cut++) assert.equal(d.parse(full, 0, cut), false, `cut at ${cut}`);
    assert.ok(d.parse(full, 0, octets));
    const four = descriptor({ pid: 1, inter: true, flexible: true, layers: { tid: 0, u: false, sid: 0, d: false }, pdiffs: [1, 1, 1, 1] });
    assert.equal(d.parse(four, 0, four.length), false);
    assert.equal(d.parse(full, 0, full.length + 1), false, 'beyond the buffer');
  });
});
