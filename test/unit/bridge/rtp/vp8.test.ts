import assert from 'node:assert/strict';
import { RtpHeader } from '../../../../bridge/rtp/packet.ts';
import { Vp8Descriptor, readKeyframeDimensions } from '../../../../bridge/rtp/vp8.ts';
import { hex, vp8DeltaTwoByteExt, vp8Keyframe } from './fixtures.ts';

type Expected = Pick<
  Vp8Descriptor,
  'length' | 'extended' | 'nonReference' | 'start' | 'partitionId' | 'pictureIdBits' | 'pictureId' | 'tl0PicIdx' | 'temporalId' | 'layerSync' | 'keyIdx'
>;

const base: Expected = {
  length: 1,
  extended: false,
  nonReference: false,
  start: true,
  partitionId: 0,
  pictureIdBits: 0,
  pictureId: -1,
  tl0PicIdx: -1,
  temporalId: -1,
  layerSync: false,
  keyIdx: -1,
};

function descriptor(text: string): Vp8Descriptor {
  const buf = hex(text);
  const d = new Vp8Descriptor();
  assert.equal(d.parse(buf, 0, buf.length), true);
  return d;
}

describe('bridge/rtp/vp8', () => {
  describe('parses every payload descriptor shape (RFC 7741 §4.2)', () => {
    const cases: Array<[name: string, bytes: string, expected: Partial<Expected>]> = [
      ['minimal: S=1 PID=0', '10', {}],
      ['non-reference, continuation of partition 3', '23', { nonReference: true, start: false, partitionId: 3 }],
      ['X with no optional fields', '90 00', { length: 2, extended: true }],
      ['7-bit PictureID', '90 80 05', { length: 3, extended: true, pictureIdBits: 7, pictureId: 5 }],
      ['7-bit PictureID 127', '90 80 7f', { length: 3, extended: true, pictureIdBits: 7, pictureId: 127 }],
      ['15-bit PictureID', '90 80 81 23', { length: 4, extended: true, pictureIdBits: 15, pictureId: 0x123 }],
      ['15-bit PictureID 32767', '90 80 ff ff', { length: 4, extended: true, pictureIdBits: 15, pictureId: 0x7fff }],
      ['TL0PICIDX only', '90 40 2c', { length: 3, extended: true, tl0PicIdx: 44 }],
      ['TID only: TID 1, Y=0', '90 20 40', { length: 3, extended: true, temporalId: 1 }],
      ['KEYIDX only', '90 10 0a', { length: 3, extended: true, keyIdx: 10 }],
      ['T and K share one octet: TID 3, Y, KEYIDX 5', '90 30 e5', { length: 3, extended: true, temporalId: 3, layerSync: true, keyIdx: 5 }],
      ['T without K ignores KEYIDX bits', '90 20 bf', { length: 3, extended: true, temporalId: 2, layerSync: true }],
      [
        'Chrome simulcast: I (15-bit) + L + T',
        '90 e0 9f a1 2c 20',
        { length: 6, extended: true, pictureIdBits: 15, pictureId: 0x1fa1, tl0PicIdx: 44, temporalId: 0, layerSync: true },
      ],
      [
        'everything: I (15-bit) + L + T + K',
        '90 f0 80 00 ff 65',
        { length: 6, extended: true, pictureIdBits: 15, pictureId: 0, tl0PicIdx: 255, temporalId: 1, layerSync: true, keyIdx: 5 },
      ],
      ['I (7-bit) + L + T', '90 e0 7f 00 80', { length: 5, extended: true, pictureIdBits: 7, pictureId: 127, tl0PicIdx: 0, temporalId: 2 }],
    ];
    for (const [name, bytes, expected] of cases) {
      it(`${name}: ${bytes}`, () => {
        const d = descriptor(`${bytes} 00`); // one payload byte after the descriptor
        const want = { ...base, ...expected };
        for (const key of Object.keys(want) as Array<keyof Expected>) assert.equal(d[key], want[key], key);
      });
    }
  });

  describe('truncated descriptors are rejected without throwing', () => {
    const cases: Array<[name: string, bytes: string]> = [
      ['empty', ''],
      ['X without the extension octet', '90'],
      ['I without PictureID', '90 80'],
      ['M=1 with one PictureID octet', '90 80 81'],
      ['L without TL0PICIDX', '90 40'],
      ['I + L with only PictureID', '90 c0 81 23'],
      ['T without its octet', '90 20'],
      ['K without its octet', '90 10'],
    ];
    for (const [name, bytes] of cases) {
      it(name, () => {
        const buf = hex(bytes);
        assert.equal(new Vp8Descriptor().parse(buf, 0, buf.length), false);
      });
    }

    it('a length reaching past the buffer is rejected', () => {
      assert.equal(new Vp8Descriptor().parse(hex('10 00'), 0, 3), false);
      assert.equal(new Vp8Descriptor().parse(hex('10 00'), 2, 1), false);
    });
  });

  describe('keyframes', () => {
    function fromRtp(buf: Buffer): { d: Vp8Descriptor; end: number } {
      const rtp = new RtpHeader();
      assert.equal(rtp.parse(buf), 'ok');
      const d = new Vp8Descriptor();
      assert.equal(d.parse(buf, rtp.payloadOffset, rtp.payloadLength), true);
      return { d, end: rtp.payloadOffset + rtp.payloadLength };
    }

    it('recognises the first packet of a keyframe and reads 640x360', () => {
      const { d, end } = fromRtp(vp8Keyframe());
      assert.equal(d.isKeyframeStart(end), true);
      assert.deepEqual(readKeyframeDimensions(d, end), { width: 640, height: 360, horizontalScale: 0, verticalScale: 0 });
    });

    it('a delta frame (P=1) is not a keyframe', () => {
      const { d, end } = fromRtp(vp8DeltaTwoByteExt());
      assert.equal(d.isKeyframeStart(end), false);
      assert.equal(readKeyframeDimensions(d, end), undefined);
    });

    const cases: Array<[name: string, bytes: string, keyframe: boolean]> = [
      ['S=1 PID=0 P=0', '10 50 42 00', true],
      ['S=0 (not the first packet)', '00 50 42 00', false],
      ['PID=1 (second partition)', '11 50 42 00', false],
      ['P=1', '10 51 42 00', false],
      ['descriptor without a payload header', '90 e0 9f a1 2c 20', false],
    ];
    for (const [name, bytes, keyframe] of cases) {
      it(`${name} → ${keyframe ? 'keyframe' : 'not a keyframe'}`, () => {
        const buf = hex(bytes);
        const d = new Vp8Descriptor();
        assert.equal(d.parse(buf, 0, buf.length), true);
        assert.equal(d.isKeyframeStart(buf.length), keyframe);
      });
    }

    it('reads scaling bits and 14-bit dimensions', () => {
      const buf = hex('10  50 42 00  9d 01 2a  00 45  38 c4'); // 1280 scale 1, 1080 scale 3
      const d = new Vp8Descriptor();
      d.parse(buf, 0, buf.length);
      assert.deepEqual(readKeyframeDimensions(d, buf.length), { width: 1280, height: 1080, horizontalScale: 1, verticalScale: 3 });
    });

    it('no dimensions without the start code or with a cut header', () => {
      for (const bytes of ['10 50 42 00 9d 01 2b 80 02 68 01', '10 50 42 00 9d 01 2a 80 02 68']) {
        const buf = hex(bytes);
        const d = new Vp8Descriptor();
        d.parse(buf, 0, buf.length);
        assert.equal(readKeyframeDimensions(d, buf.length), undefined, bytes);
      }
    });
  });

  describe('in-place rewrite', () => {
    it('keeps a 15-bit PictureID 15 bits wide (M bit set) and wraps the value', () => {
      const buf = hex('90 e0 9f a1 2c 20 50');
      const d = new Vp8Descriptor();
      d.parse(buf, 0, buf.length);
      d.setPictureId(0x8000 + 3);
      d.setTl0PicIdx(256 + 7);
      assert.deepEqual(buf, hex('90 e0 80 03 07 20 50'));
      assert.deepEqual([d.pictureId, d.tl0PicIdx], [3, 7]);
      const again = new Vp8Descriptor();
      again.parse(buf, 0, buf.length);
      assert.deepEqual([again.pictureIdBits, again.pictureId, again.tl0PicIdx], [15, 3, 7]);
    });

    it('keeps a 7-bit PictureID 7 bits wide', () => {
      const buf = hex('90 e0 7f 00 80 51');
      const d = new Vp8Descriptor();
      d.parse(buf, 0, buf.length);
      d.setPictureId(0x1234);
      assert.deepEqual(buf, hex('90 e0 34 00 80 51'));
    });

    it('rewrites inside a full RTP packet at the payload offset', () => {
      const buf = vp8Keyframe();
      const rtp = new RtpHeader();
      rtp.parse(buf);
      const d = new Vp8Descriptor();
      d.parse(buf, rtp.payloadOffset, rtp.payloadLength);
      d.setPictureId(0x7fff);
      d.setTl0PicIdx(0);
      assert.deepEqual(buf.subarray(24, 30), hex('90 e0 ff ff 00 20'));
    });

    it('is a no-op for absent fields', () => {
      const buf = hex('90 20 40 50');
      const d = new Vp8Descriptor();
      d.parse(buf, 0, buf.length);
      d.setPictureId(5);
      d.setTl0PicIdx(5);
      assert.deepEqual(buf, hex('90 20 40 50'));
      assert.deepEqual([d.pictureId, d.tl0PicIdx], [-1, -1]);
    });
  });
});
