import assert from 'node:assert/strict';
import {
  RtpHeader,
  readAudioLevel,
  readTransportSequence,
  rtxOriginalSequence,
  unwrapRtx,
  withHeaderExtension,
  wrapRtx,
  writeTransportSequence,
  type RtpParseResult,
} from '../../../../bridge/rtp/packet.ts';
import { readU16, readU24, readU32, writeU16, writeU32 } from '../../../../bridge/rtp/bytes.ts';
import { seqDiff, seqNewer, tsDiff, tsNewer } from '../../../../bridge/rtp/serial.ts';
import {
  csrcAndPadding,
  hex,
  opusWithAudioLevel,
  rtxOfKeyframe,
  rtxPaddingOnly,
  vp8DeltaTwoByteExt,
  vp8Keyframe,
} from './fixtures.ts';

function parsed(buf: Uint8Array): RtpHeader {
  const h = new RtpHeader();
  assert.equal(h.parse(buf), 'ok');
  return h;
}

describe('bridge/rtp/packet', () => {
  describe('parse reads the RFC 3550 §5.1 header of real-looking packets', () => {
    const cases: Array<{
      name: string;
      make: () => Buffer;
      expect: Partial<Record<keyof RtpHeader, number | boolean>>;
    }> = [
      {
        name: 'VP8 keyframe, one-byte extensions',
        make: vp8Keyframe,
        expect: {
          version: 2,
          padding: false,
          extension: true,
          csrcCount: 0,
          marker: false,
          payloadType: 96,
          sequenceNumber: 6699,
          timestamp: 1_000_000,
          ssrc: 0x11223344,
          extensionProfile: 0xbede,
          extensionOffset: 16,
          extensionLength: 8,
          headerLength: 24,
          payloadOffset: 24,
          payloadLength: 20,
          paddingLength: 0,
        },
      },
      {
        name: 'VP8 delta, two-byte extensions, marker',
        make: vp8DeltaTwoByteExt,
        expect: { marker: true, payloadType: 96, sequenceNumber: 6700, timestamp: 1_003_000, extensionProfile: 0x1000, headerLength: 24, payloadLength: 13 },
      },
      {
        name: 'Opus with audio level',
        make: opusWithAudioLevel,
        expect: { marker: true, payloadType: 111, sequenceNumber: 12345, timestamp: 15360, ssrc: 0xaabbccdd, headerLength: 24, payloadLength: 3 },
      },
      {
        name: 'CSRCs and padding',
        make: csrcAndPadding,
        expect: { padding: true, extension: false, csrcCount: 2, extensionProfile: -1, headerLength: 20, payloadOffset: 20, payloadLength: 4, paddingLength: 4 },
      },
      {
        name: 'RTX padding-only probe',
        make: rtxPaddingOnly,
        expect: { padding: true, payloadType: 97, headerLength: 12, payloadLength: 0, paddingLength: 8 },
      },
    ];
    for (const { name, make, expect } of cases) {
      it(`${name}`, () => {
        const h = parsed(make());
        for (const [key, value] of Object.entries(expect)) assert.equal(h[key as keyof RtpHeader], value, key);
      });
    }
  });

  describe('malformed packets yield a result code and never throw', () => {
    const cases: Array<[name: string, bytes: Buffer, result: RtpParseResult]> = [
      ['empty', hex(''), 'truncated'],
      ['11 bytes', hex('80 60 00 01 00 00 00 00 00 00 00'), 'truncated'],
      ['version 0 (e.g. STUN)', hex('00 01 00 00 21 12 a4 42 00 00 00 00'), 'bad-version'],
      ['version 3', hex('c0 60 00 01 00 00 00 00 00 00 00 01'), 'bad-version'],
      ['CSRC count 15 in a 16-byte packet', hex('8f 60 00 01 00 00 00 00 00 00 00 01 00 00 00 02'), 'bad-csrc'],
      ['CSRC count 1 with 2 of its 4 bytes', hex('81 60 00 01 00 00 00 00 00 00 00 01 00 00'), 'bad-csrc'],
      ['X=1 without the extension header', hex('90 60 00 01 00 00 00 00 00 00 00 01 be de'), 'bad-extension'],
      ['extension length beyond the packet', hex('90 60 00 01 00 00 00 00 00 00 00 01 be de 00 10 10 aa 00 00'), 'bad-extension'],
      ['extension length 0xffff', hex('90 60 00 01 00 00 00 00 00 00 00 01 be de ff ff'), 'bad-extension'],
      ['padding count 0', hex('a0 60 00 01 00 00 00 00 00 00 00 01 aa bb cc 00'), 'bad-padding'],
      ['padding count beyond the payload', hex('a0 60 00 01 00 00 00 00 00 00 00 01 aa bb cc 05'), 'bad-padding'],
      ['padding bit on a header-only packet', hex('a0 60 00 01 00 00 00 00 00 00 00 01'), 'bad-padding'],
    ];
    for (const [name, bytes, result] of cases) {
      it(`${name} → ${result}`, () => {
        assert.equal(new RtpHeader().parse(bytes), result);
      });
    }

    it('a length larger than the buffer is truncated', () => {
      assert.equal(new RtpHeader().parse(vp8Keyframe(), 200), 'truncated');
    });

    it('every truncation of every fixture parses or fails cleanly, offsets inside the packet', () => {
      const h = new RtpHeader();
      let ok = 0;
      for (const make of [vp8Keyframe, vp8DeltaTwoByteExt, opusWithAudioLevel, csrcAndPadding, rtxOfKeyframe, rtxPaddingOnly]) {
        const full = make();
        for (let len = 0; len <= full.length; len++) {
          const buf = Uint8Array.prototype.slice.call(full, 0, len);
          const result = h.parse(buf);
          if (result !== 'ok') continue;
          ok++;
          assert.ok(h.payloadOffset + h.payloadLength + h.paddingLength === len);
          assert.ok(h.payloadLength >= 0 && h.headerLength <= len);
          for (let id = 0; id < 16; id++) {
            const at = h.findExtension(id);
            if (at >= 0) assert.ok(at + h.foundLength <= h.extensionOffset + h.extensionLength);
          }
        }
      }
      assert.ok(ok > 6);
    });

    it('random garbage never throws (seeded)', () => {
      const h = new RtpHeader();
      let seed = 0x2545f491;
      const rnd = (): number => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return (seed >>> 0) & 0xff;
      };
      const buf = new Uint8Array(64);
      let parsedOk = 0;
      for (let n = 0; n < 5000; n++) {
        const len = rnd() % 65;
        for (let i = 0; i < len; i++) buf[i] = rnd();
        buf[0] = (buf[0]! & 0x3f) | 0x80; // mostly version 2, to reach the deeper checks
        if (h.parse(buf, len) === 'ok') {
          parsedOk++;
          for (let id = 0; id < 256; id += 17) h.findExtension(id);
        }
      }
      assert.ok(parsedOk > 0);
    });
  });

  describe('header extensions (RFC 8285)', () => {
    it('finds one-byte elements and reports their length', () => {
      const h = parsed(vp8Keyframe());
      assert.equal(h.findExtension(3), 17);
      assert.equal(h.foundLength, 3);
      assert.equal(readU24(h.buf, 17), 0x010203);
      assert.equal(readTransportSequence(h, 5), 1234);
      assert.equal(h.findExtension(1), -1);
      assert.equal(readAudioLevel(h, 1), -1);
    });

    it('finds two-byte elements', () => {
      const h = parsed(vp8DeltaTwoByteExt());
      assert.equal(readTransportSequence(h, 5), 1235);
      const at = h.findExtension(11);
      assert.equal(h.foundLength, 1);
      assert.equal(h.buf[at], 0x80);
      assert.equal(h.findExtension(3), -1);
    });

    it('reads the RFC 6464 audio level octet (V bit and -dBov)', () => {
      const h = parsed(opusWithAudioLevel());
      const level = readAudioLevel(h, 1);
      assert.equal(level >>> 7, 1);
      assert.equal(level & 0x7f, 42);
      assert.equal(readTransportSequence(h, 5), 7);
    });

    it('rewrites the transport-wide sequence number in place and leaves other bytes alone', () => {
      const buf = vp8Keyframe();
      const before = Buffer.from(buf);
      const h = parsed(buf);
      assert.equal(writeTransportSequence(h, 5, 0xfffe), true);
      assert.equal(readTransportSequence(h, 5), 0xfffe);
      const changed = [...buf.keys()].filter((i) => buf[i] !== before[i]);
      assert.deepEqual(changed, [21, 22]);
      assert.equal(writeTransportSequence(h, 9, 1), false);
    });

    it('stops at id 15, skips padding, rejects elements running past the block', () => {
      const cases: Array<[name: string, ext: string, id: number, found: number]> = [
        ['id 15 terminates the scan', 'be de 00 02  f0 00 51 00  07 00 00 00', 5, -1],
        ['padding bytes before an element', 'be de 00 02  00 00 00 51  00 07 00 00', 5, 20],
        ['id 0 with a length stops the scan, as libwebrtc\'s parser stops there', 'be de 00 02  05 51 00 07  00 00 00 00', 5, -1],
        ['id 0 with a length after an element stops the scan', 'be de 00 02  10 aa 01 51  00 07 00 00', 5, -1],
        ['element longer than the block', 'be de 00 01  5f 00 00 00', 5, -1],
        ['two-byte element longer than the block', '10 00 00 01  05 09 00 00', 5, -1],
        ['two-byte header cut after the id', '10 00 00 01  00 00 00 05', 5, -1],
        ['unknown profile', 'ab cd 00 01  51 00 07 00', 5, -1],
        ['empty one-byte block', 'be de 00 00', 5, -1],
      ];
      for (const [name, ext, id, found] of cases) {
        const h = parsed(hex(`90 60 00 01 00 00 00 00 00 00 00 01 ${ext} aa`));
        assert.equal(h.findExtension(id), found, name);
      }
    });
  });

  describe('adding a header extension element (RFC 8285), for packets sent without the transport-wide sequence number', () => {
    // A header of seq 1, ts 0, SSRC 1 (X, CC and P in the first octet), the given middle, then payload 'de ad be ef'.
    const packet = (first: string, middle: string, tail = '') => hex(`${first} 60 00 01 00 00 00 00 00 00 00 01 ${middle} de ad be ef ${tail}`);
    const cases: Array<[name: string, before: Buffer, id: number, value: string, after: Buffer]> = [
      ['no extension: a one-byte block', packet('80', ''), 5, '12 34', packet('90', 'be de 00 01  51 12 34 00')],
      ['no extension, CSRCs and RTP padding: the block after the CSRCs, the padding kept', packet('a2', '0a 0b 0c 0d  0e 0f 10 11', '00 00 00 04'), 5, '12 34',
        packet('b2', '0a 0b 0c 0d  0e 0f 10 11  be de 00 01  51 12 34 00', '00 00 00 04')],
      ['no extension, an element the one-byte form cannot carry: a two-byte block', packet('80', ''), 20, '12 34', packet('90', '10 00 00 01  14 02 12 34')],
      ['one-byte block: after the last element, padding between elements kept, after it dropped', packet('90', 'be de 00 02  10 aa 00 22  01 02 03 00'), 5, '12 34',
        packet('90', 'be de 00 03  10 aa 00 22  01 02 03 51  12 34 00 00')],
      ['one-byte block: its trailing padding makes room', packet('90', 'be de 00 02  10 aa 00 00  00 00 00 00'), 5, '12 34', packet('90', 'be de 00 02  10 aa 51 12  34 00 00 00')],
      ['one-byte block: before an id-15 byte, where a receiver stops reading', packet('90', 'be de 00 02  10 aa f0 00  51 00 07 00'), 5, '12 34',
        packet('90', 'be de 00 02  10 aa 51 12  34 00 00 00')],
      ['one-byte block: before a byte of id 0 with a length, where a receiver stops reading', packet('90', 'be de 00 02  10 aa 01 51  00 07 00 00'), 5, '12 34',
        packet('90', 'be de 00 02  10 aa 51 12  34 00 00 00')],
      ['one-byte block, CSRCs and RTP padding', packet('b1', '0a 0b 0c 0d  be de 00 01  10 aa 00 00', '00 00 03'), 5, '12 34',
        packet('b1', '0a 0b 0c 0d  be de 00 02  10 aa 51 12  34 00 00 00', '00 00 03')],
      ['two-byte block, its appbits kept', packet('90', '10 03 00 01  0b 01 80 00'), 5, '12 34', packet('90', '10 03 00 02  0b 01 80 05  02 12 34 00')],
      ['two-byte block: an id above 14, padding before the elements kept', packet('90', '10 00 00 01  00 0b 01 80'), 200, '12 34', packet('90', '10 00 00 02  00 0b 01 80  c8 02 12 34')],
      ['two-byte block and RTP padding', packet('b0', '10 00 00 01  0b 01 80 00', '00 02'), 5, '12 34', packet('b0', '10 00 00 02  0b 01 80 05  02 12 34 00', '00 02')],
    ];
    for (const [name, before, id, value, after] of cases) {
      it(`${name}`, () => {
        const original = Buffer.from(before);
        const h = parsed(before);
        const out = withHeaderExtension(h, id, hex(value));
        assert.ok(out, 'added');
        assert.equal(Buffer.from(out).toString('hex'), after.toString('hex'));
        assert.deepEqual(before, original, 'the packet itself is left alone');
        // Round trip: the element reads back, and payload, padding and CSRCs are as they were.
        const back = parsed(out);
        assert.equal(readTransportSequence(back, id), 0x1234);
        assert.equal(Buffer.from(back.buf.subarray(back.payloadOffset, back.payloadOffset + back.payloadLength)).toString('hex'), 'deadbeef');
        assert.equal(back.paddingLength, h.paddingLength);
        assert.deepEqual(Buffer.from(back.buf.subarray(12, 12 + 4 * back.csrcCount)), Buffer.from(h.buf.subarray(12, 12 + 4 * h.csrcCount)));
        assert.equal(readTransportSequence(parsed(original), id), -1, 'absent before');
      });
    }

    it('keeps the elements a packet had: the audio level and abs-send-time still read', () => {
      const h = parsed(opusWithAudioLevel());
      const out = withHeaderExtension(h, 7, hex('ab cd'));
      assert.ok(out);
      const back = parsed(out);
      assert.equal(readAudioLevel(back, 1), readAudioLevel(h, 1));
      assert.equal(readTransportSequence(back, 5), 7);
      assert.equal(readTransportSequence(back, 7), 0xabcd);
    });

    it('leaves unnumbered what it cannot number: another profile, a malformed block, an element already there, one the block\'s form cannot carry', () => {
      const cases: Array<[name: string, ext: string, id: number]> = [
        ['a profile other than RFC 8285\'s', 'ab cd 00 01  10 aa 00 00', 5],
        ['an element longer than the block', 'be de 00 01  5f 00 00 00', 5],
        ['a two-byte element longer than the block', '10 00 00 01  05 09 00 00', 5],
        ['the element already there', 'be de 00 01  50 07 00 00', 5],
        ['an id above 14 in a one-byte block', 'be de 00 01  10 aa 00 00', 20],
        ['id 0', 'be de 00 01  10 aa 00 00', 0],
      ];
      for (const [name, ext, id] of cases) {
        assert.equal(withHeaderExtension(parsed(hex(`90 60 00 01 00 00 00 00 00 00 00 01 ${ext} aa`)), id, hex('12 34')), undefined, name);
      }
      assert.equal(withHeaderExtension(parsed(hex('80 60 00 01 00 00 00 00 00 00 00 01 aa')), 5, new Uint8Array(256)), undefined, 'a value no form can carry');
      assert.equal(withHeaderExtension(parsed(hex('90 60 00 01 00 00 00 00 00 00 00 01 be de 00 01 10 aa 00 00 aa')), 5, new Uint8Array(17)), undefined, 'a value too long for a one-byte block');
    });
  });

  describe('in-place setters', () => {
    it('rewrite sequence, timestamp, SSRC, payload type and marker without touching other bits', () => {
      const buf = vp8Keyframe();
      const h = parsed(buf);
      h.setSequenceNumber(0x1_0005); // wraps to 5
      h.setTimestamp(0x1_0000_0007); // wraps to 7
      h.setSsrc(0xdeadbeef);
      h.setPayloadType(0xe4); // only 7 bits: 100
      h.setMarker(true);
      const again = parsed(buf);
      assert.equal(again.sequenceNumber, 5);
      assert.equal(again.timestamp, 7);
      assert.equal(again.ssrc, 0xdeadbeef);
      assert.equal(again.payloadType, 100);
      assert.equal(again.marker, true);
      assert.equal(again.extension, true);
      assert.deepEqual([h.sequenceNumber, h.timestamp, h.ssrc, h.payloadType], [5, 7, 0xdeadbeef, 100]);
      h.setMarker(false);
      assert.equal(parsed(buf).marker, false);
      assert.equal(parsed(buf).payloadType, 100);
    });
  });

  describe('RTX (RFC 4588)', () => {
    it('reads the original sequence number', () => {
      assert.equal(rtxOriginalSequence(parsed(rtxOfKeyframe())), 6699);
      assert.equal(rtxOriginalSequence(parsed(rtxPaddingOnly())), -1);
    });

    it('unwraps in place into the original packet', () => {
      const buf = rtxOfKeyframe();
      const h = parsed(buf);
      const original = unwrapRtx(h, 0x11223344, 96);
      assert.ok(original);
      assert.equal(original.buffer, buf.buffer);
      assert.equal(original.length, buf.length - 2);
      const o = parsed(original);
      assert.equal(o.sequenceNumber, 6699);
      assert.equal(o.ssrc, 0x11223344);
      assert.equal(o.payloadType, 96);
      assert.equal(o.timestamp, 1_000_000);
      assert.deepEqual(Buffer.from(original.subarray(o.payloadOffset)), hex('90 e0 9f a1 2c 20 50 42 00 9d 01 2a 80 02 68 01'));
      assert.equal(h.payloadLength, o.payloadLength);
      assert.equal(h.sequenceNumber, 6699);
    });

    it('refuses to unwrap a padding-only probe', () => {
      assert.equal(unwrapRtx(parsed(rtxPaddingOnly()), 1, 96), undefined);
    });

    it('wraps and unwraps back to identical bytes, extensions, CSRCs and padding included', () => {
      for (const make of [vp8Keyframe, csrcAndPadding, opusWithAudioLevel]) {
        const original = make();
        const h = parsed(original);
        const rtx = wrapRtx(h, 0x55667788, 97, 0xffff);
        assert.deepEqual(Buffer.from(original), make(), 'original untouched');
        const r = parsed(rtx);
        assert.equal(r.ssrc, 0x55667788);
        assert.equal(r.payloadType, 97);
        assert.equal(r.sequenceNumber, 0xffff);
        assert.equal(r.marker, h.marker);
        assert.equal(r.paddingLength, h.paddingLength);
        assert.equal(rtxOriginalSequence(r), h.sequenceNumber);
        const back = unwrapRtx(r, h.ssrc, h.payloadType);
        assert.deepEqual(Buffer.from(back!), make());
      }
    });

    it('wraps into a caller buffer when it is large enough, else allocates', () => {
      const h = parsed(vp8Keyframe());
      const scratch = new Uint8Array(1500);
      const rtx = wrapRtx(h, 1, 97, 2, scratch);
      assert.equal(rtx.buffer, scratch.buffer);
      assert.equal(rtx.length, h.length + 2);
      const small = new Uint8Array(10);
      assert.notEqual(wrapRtx(h, 1, 97, 2, small).buffer, small.buffer);
    });
  });

  describe('bytes and serial arithmetic', () => {
    it('reads and writes big-endian integers', () => {
      const b = new Uint8Array(8);
      writeU32(b, 0, 0xfedcba98);
      writeU16(b, 4, 0x1_2345);
      assert.equal(readU32(b, 0), 0xfedcba98);
      assert.equal(readU16(b, 4), 0x2345);
      assert.equal(readU24(b, 1), 0xdcba98);
    });

    const seqCases: Array<[a: number, b: number, diff: number]> = [
      [1, 0, 1],
      [0, 65535, 1],
      [65535, 0, -1],
      [5, 65530, 11],
      [32767, 0, 32767],
      [32768, 0, -32768],
      [100, 100, 0],
    ];
    for (const [a, b, diff] of seqCases) {
      it(`seqDiff(${a}, ${b}) = ${diff}, seqNewer = ${diff > 0}`, () => {
        assert.equal(seqDiff(a, b), diff);
        assert.equal(seqNewer(a, b), diff > 0);
      });
    }

    it('compares timestamps across the 32-bit wrap', () => {
      assert.equal(tsDiff(10, 0xffff_fff6), 20);
      assert.equal(tsNewer(10, 0xffff_fff6), true);
      assert.equal(tsNewer(0xffff_fff6, 10), false);
      assert.equal(tsDiff(0, 0x8000_0000), -0x8000_0000);
      assert.equal(tsNewer(5, 5), false);
    });
  });
});
