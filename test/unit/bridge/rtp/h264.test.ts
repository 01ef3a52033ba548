import assert from 'node:assert/strict';
import { H264Payload, readSpsDimensions } from '../../../../bridge/rtp/h264.ts';
import { baselineSps, SpsWriter } from './h264-writer.ts';

/**
 * SPS NAL units (header byte first) as Chromium's H.264 encoder (OpenH264, Constrained Baseline)
 * wrote them at the start of keyframes, read from the encoded frames of a loopback call.
 */
const CHROMIUM_SPS = [
  { hex: '6742c0158c8d40a0cbcf3506060607844235', width: 320, height: 180 },
  { hex: '6742c01f8c8d405017fcb35060606078442350', width: 640, height: 360 },
  { hex: '6742c01e8c8d40f047f53506060607844235', width: 480, height: 270 },
];

/** A High-profile 1920×1080 SPS (1088 coded, 8 lines cropped), with scaling lists and POC type 1. */
function highProfileSps(): Buffer {
  const w = new SpsWriter().u(8, 100).u(8, 0).u(8, 40).ue(0);
  w.ue(1).ue(0).ue(0).u(1, 0); // 4:2:0, 8 bits, no bypass
  w.u(1, 1); // seq_scaling_matrix_present_flag
  for (let i = 0; i < 8; i++) {
    w.u(1, i === 0 || i === 6 ? 1 : 0);
    if (i === 0) for (let j = 0; j < 16; j++) w.se(j === 0 ? 8 : 1);
    if (i === 6) w.se(-8); // nextScale 0 at once: the default list
  }
  w.ue(0).ue(1).u(1, 0).se(-2).se(0).ue(2).se(4).se(-4); // frame_num, POC type 1 with a two-frame cycle
  w.ue(3).u(1, 0).ue(119).ue(67).u(1, 1).u(1, 1); // 4 refs, 120×68 MBs, frame_mbs_only, direct_8x8
  w.u(1, 1).ue(0).ue(0).ue(0).ue(4); // cropping: 4 × 2 lines at the bottom
  w.u(1, 0); // no VUI
  return w.nal(0x67);
}

/** An interlaced 4:2:2 SPS (field pairs): 720×576 coded as 45×18 map units of two fields. */
function interlacedSps(): Buffer {
  const w = new SpsWriter().u(8, 122).u(8, 0).u(8, 30).ue(1);
  w.ue(2).ue(2).ue(2).u(1, 0).u(1, 0); // 4:2:2, 10 bits, no matrices
  w.ue(4).ue(2); // POC type 2
  w.ue(2).u(1, 0).ue(44).ue(17).u(1, 0).u(1, 0).u(1, 1); // 45×18 map units, fields, mb_adaptive 0
  w.u(1, 1).ue(0).ue(0).ue(0).ue(0);
  w.u(1, 0);
  return w.nal(0x67);
}

describe('bridge/rtp/h264 (RFC 6184 packets, the SPS picture size)', () => {
  it('reads the picture size of the SPS Chromium\'s encoder sends, cropping included', () => {
    for (const { hex, width, height } of CHROMIUM_SPS) {
      const sps = Buffer.from(hex, 'hex');
      assert.deepEqual(readSpsDimensions(sps, 0, sps.length), { width, height }, hex);
    }
  });

  it('reads the SPS the tests build for any size (their writer checked against the reader)', () => {
    for (const [width, height] of [[1280, 720], [1920, 1080], [320, 180], [16, 16], [2, 2]] as const) {
      const sps = baselineSps(width, height);
      assert.deepEqual(readSpsDimensions(sps, 0, sps.length), { width, height });
    }
  });

  it('reads a High-profile SPS past its scaling lists, with emulation prevention bytes, and an interlaced 4:2:2 one', () => {
    const high = highProfileSps();
    assert.deepEqual(readSpsDimensions(high, 0, high.length), { width: 1920, height: 1080 });
    const interlaced = interlacedSps();
    assert.deepEqual(readSpsDimensions(interlaced, 0, interlaced.length), { width: 720, height: 576 });
    // Emulation prevention: a long run of zero bits (a large ue) is escaped, and still read.
    const escaped = new SpsWriter().u(8, 66).u(8, 0).u(8, 0).ue(0).ue(0).ue(2).ue(1).u(1, 0).ue(0xfffff).ue(16).u(1, 1).u(1, 1).u(1, 0).nal(0x67);
    assert.equal(escaped.toString('hex'), '67420000da000004000003023a', 'the test SPS has emulation prevention bytes');
    assert.deepEqual(readSpsDimensions(escaped, 0, escaped.length), { width: 0x100000 * 16, height: 17 * 16 });
  });

  it('gives nothing for an SPS cut short or with a reserved POC type, wherever it is cut', () => {
    const sps = Buffer.from(CHROMIUM_SPS[1]!.hex, 'hex');
    for (let length = 0; length < 8; length++) assert.equal(readSpsDimensions(sps, 0, length), undefined, `cut at ${length}`);
    const reserved = new SpsWriter().u(8, 66).u(8, 0).u(8, 30).ue(0).ue(0).ue(3).nal(0x67);
    assert.equal(readSpsDimensions(reserved, 0, reserved.length), undefined);
    // 64 zero bits: no Exp-Golomb code ends.
    const zeros = Buffer.concat([Buffer.from([0x67, 66, 0, 30]), Buffer.alloc(8)]);
    assert.equal(readSpsDimensions(zeros, 0, zeros.length), undefined);
  });

  describe('H264Payload', () => {
    const sps = Buffer.from(CHROMIUM_SPS[1]!.hex, 'hex');
    const pps = Buffer.from('68ce3c80', 'hex');
    const payload = new H264Payload();

    /** An RTP payload at offset 12 of a packet, as the projection reads it. */
    function read(bytes: Buffer): boolean {
      const packet = Buffer.concat([Buffer.alloc(12, 0xee), bytes, Buffer.alloc(4, 0xee)]);
      return payload.parse(packet, 12, bytes.length);
    }
    function stapA(...units: Buffer[]): Buffer {
      return Buffer.concat([Buffer.from([0x78]), ...units.flatMap((u) => [Buffer.from([u.length >> 8, u.length & 0xff]), u])]);
    }

    it('takes a STAP-A carrying the SPS and PPS (libwebrtc\'s keyframe start) as a place to start decoding, and finds the SPS in it', () => {
      const packet = stapA(Buffer.from([0x09, 0xf0]), sps, pps); // access unit delimiter first
      assert.equal(read(packet), true);
      assert.equal(payload.hasSps, true);
      assert.equal(payload.decodableFrom(false), true);
      assert.deepEqual(readSpsDimensions(Buffer.concat([Buffer.alloc(12), packet]), payload.spsOffset + 0, payload.spsLength), { width: 640, height: 360 });
    });

    it('takes an SPS alone as a place to start decoding, and an IDR\'s first slice only right after a picture\'s end', () => {
      assert.equal(read(sps), true);
      assert.equal(payload.decodableFrom(false), true);
      const idrFirstSlice = Buffer.from([0x65, 0xb8, 0x00, 0x04]); // first_mb_in_slice 0
      assert.equal(read(idrFirstSlice), true);
      assert.equal(payload.idr, true);
      assert.equal(payload.decodableFrom(true), true);
      assert.equal(payload.decodableFrom(false), false, 'after the SPS and PPS packets of its picture, not a start');
      const idrLaterSlice = Buffer.from([0x65, 0x4c, 0x00]); // first_mb_in_slice 2
      read(idrLaterSlice);
      assert.equal(payload.idr, true);
      assert.equal(payload.decodableFrom(true), false);
    });

    it('reads FU-A: the first fragment of an IDR\'s first slice starts it, later fragments and non-IDR slices do not', () => {
      const fu = (start: boolean, type: number, first: number) => Buffer.from([0x7c, (start ? 0x80 : 0) | type, first, 0x11, 0x22]);
      read(fu(true, 5, 0x88));
      assert.deepEqual([payload.idr, payload.decodableFrom(true)], [true, true]);
      read(fu(false, 5, 0x88));
      assert.deepEqual([payload.idr, payload.decodableFrom(true)], [true, false]);
      read(fu(true, 1, 0x88));
      assert.deepEqual([payload.idr, payload.decodableFrom(true)], [false, false]);
      // An SPS so long it was fragmented: its first fragment is the start.
      const fragmented = Buffer.concat([Buffer.from([0x7c, 0x80 | 7]), sps.subarray(1)]);
      read(fragmented);
      assert.equal(payload.decodableFrom(false), true);
      const packet = Buffer.concat([Buffer.alloc(12), fragmented]);
      assert.deepEqual(readSpsDimensions(packet, payload.spsOffset, payload.spsLength), { width: 640, height: 360 });
    });

    it('takes a delta frame\'s slices as no start, and refuses what RFC 6184 does not pack so (empty, sizes past the end, interleaved types)', () => {
      assert.equal(read(Buffer.from([0x41, 0x9a, 0x00])), true);
      assert.deepEqual([payload.idr, payload.hasSps, payload.decodableFrom(true)], [false, false, false]);
      assert.equal(read(Buffer.alloc(0)), false);
      assert.equal(read(Buffer.from([0x78, 0x00, 0x09, 0x67])), false, 'STAP-A unit past the end');
      assert.equal(read(Buffer.from([0x78, 0x00])), false, 'STAP-A size cut');
      assert.equal(read(Buffer.from([0x78, 0x00, 0x00])), false, 'STAP-A unit of size 0');
      assert.equal(read(Buffer.from([0x7c])), false, 'FU-A without its header');
      for (const type of [0, 25, 26, 27, 29, 30, 31]) {
        assert.equal(read(Buffer.from([type, 0x80, 0x01])), false, `type ${type}`);
        assert.equal(payload.decodableFrom(true), false);
      }
      // Random bytes: never a throw.
      let seed = 7;
      for (let i = 0; i < 2_000; i++) {
        const bytes = Buffer.alloc(1 + (i % 40));
        for (let j = 0; j < bytes.length; j++) bytes[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
        read(bytes);
        if (payload.hasSps) readSpsDimensions(Buffer.concat([Buffer.alloc(12), bytes]), payload.spsOffset, payload.spsLength);
      }
    });
  });
});
