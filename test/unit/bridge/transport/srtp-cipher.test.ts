// bridge/transport/srtp-cipher.ts through SrtpProtection, against an independent implementation:
// werift's SrtpSession / SrtcpSession (the SRTP the bridge used before) as the oracle, byte for
// byte, both ways; and the key derivation against RFC 3711 Appendix B.3's test vectors. The same
// cases run on the native path's transforms (bridge/native, SrtpProtection given the addon).

import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { RtpHeader, SrtcpSession, SrtpSession } from 'werift';
import { nativeMedia, type NativeMedia } from '../../../../bridge/native/index.ts';
import type { SrtpKeyingMaterial } from '../../../../bridge/transport/dtls-link.ts';
import { deriveSessionKey } from '../../../../bridge/transport/srtp-cipher.ts';
import { SrtpProtection } from '../../../../bridge/transport/srtp-protection.ts';

const PROFILES = [
  { profile: 1 as const, name: 'AES128_CM_HMAC_SHA1_80', salt: 14, tag: 10 },
  { profile: 7 as const, name: 'AEAD_AES_128_GCM', salt: 12, tag: 16 },
];

interface Side {
  ours: SrtpProtection;
  rtp: SrtpSession;
  rtcp: SrtcpSession;
}

/** Both ends of a session, each as ours and as werift's, keyed as DTLS-SRTP would key them. */
function session(profile: 1 | 7, saltLength: number, native: NativeMedia | undefined): { a: Side; b: Side } {
  const [k1, s1, k2, s2] = [randomBytes(16), randomBytes(saltLength), randomBytes(16), randomBytes(saltLength)];
  const side = (lk: Buffer, ls: Buffer, rk: Buffer, rs: Buffer): Side => {
    const keys: SrtpKeyingMaterial = { profile, localMasterKey: lk, localMasterSalt: ls, remoteMasterKey: rk, remoteMasterSalt: rs };
    const config = { profile, keys: { localMasterKey: lk, localMasterSalt: ls, remoteMasterKey: rk, remoteMasterSalt: rs } };
    return { ours: new SrtpProtection(keys, native), rtp: new SrtpSession(config), rtcp: new SrtcpSession(config) };
  };
  return { a: side(k1, s1, k2, s2), b: side(k2, s2, k1, s1) };
}

interface RtpShape {
  ssrc?: number;
  csrcs?: number;
  /** RFC 8285 one-byte elements (profile 0xBEDE) or two-byte ones (0x100x), or none. */
  extension?: 'one-byte' | 'two-byte';
  padding?: number;
  payload?: number;
}

function rtp(sequence: number, shape: RtpShape = {}): Buffer {
  const csrcs = shape.csrcs ?? 0;
  const padding = shape.padding ?? 0;
  let extension = Buffer.alloc(0);
  if (shape.extension === 'one-byte') {
    // id 1 (3 bytes), id 3 (1 byte), then one byte of zero padding: 8 bytes after the 4-byte header.
    extension = Buffer.from([0xbe, 0xde, 0, 2, 0x12, 1, 2, 3, 0x30, 9, 0, 0]);
  } else if (shape.extension === 'two-byte') {
    extension = Buffer.from([0x10, 0x00, 0, 2, 5, 3, 7, 8, 9, 6, 1, 0xff]);
  }
  const header = Buffer.alloc(12 + 4 * csrcs);
  header[0] = 0x80 | (padding > 0 ? 0x20 : 0) | (extension.length > 0 ? 0x10 : 0) | csrcs;
  header[1] = 96;
  header.writeUInt16BE(sequence & 0xffff, 2);
  header.writeUInt32BE((sequence * 3000) >>> 0, 4);
  header.writeUInt32BE(shape.ssrc ?? 0x1234_5678, 8);
  for (let i = 0; i < csrcs; i++) header.writeUInt32BE(0xc0de_0000 + i, 12 + 4 * i);
  const pad = Buffer.alloc(padding);
  if (padding > 0) pad[padding - 1] = padding;
  return Buffer.concat([header, extension, randomBytes(shape.payload ?? 100), pad]);
}

function randomShape(ssrc: number): RtpShape {
  const extensions = [undefined, 'one-byte', 'two-byte'] as const;
  return {
    ssrc,
    csrcs: randomInt(4),
    extension: extensions[randomInt(3)],
    padding: randomInt(3) === 0 ? 1 + randomInt(40) : 0,
    payload: 1 + randomInt(1_300),
  };
}

/** werift's encryption of a plaintext RTP packet, the way the bridge used to call it. */
function weriftProtect(side: Side, packet: Buffer): Buffer {
  const header = RtpHeader.deSerialize(packet);
  return side.rtp.encrypt(packet.subarray(header.payloadOffset), header);
}

/** A sender report (RFC 3550 §6.4.1) with `blocks` report blocks and random contents. */
function rtcp(ssrc: number, blocks: number): Buffer {
  const packet = randomBytes(28 + 24 * blocks);
  packet[0] = 0x80 | blocks;
  packet[1] = 200;
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  packet.writeUInt32BE(ssrc, 4);
  return packet;
}

/**
 * Sequence numbers in sending order: a stream that starts just before the 16-bit wrap, with
 * 65 535 (ROC 0) reordered after 0 and 1 (ROC 1), then onwards.
 */
const ACROSS_THE_WRAP = [65_520, 65_521, 65_530, 65_533, 65_534, 0, 1, 65_535, 2, 3, 4, 10, 100, 1_000];

/** The TypeScript transforms, then the addon's (absent only when SALON_BRIDGE_NATIVE=off). */
const PATHS: Array<{ path: string; native: () => NativeMedia | undefined }> = [
  { path: 'TypeScript path', native: () => undefined },
  {
    path: 'native path',
    native: () => {
      const { native, error } = nativeMedia();
      assert.ok(native, `the native media path did not load (${error ?? ''}): npm install builds it with node-gyp`);
      return native;
    },
  },
];

describe('bridge/transport/srtp-cipher', () => {
  it('derives the session keys of RFC 3711 Appendix B.3', () => {
    const key = Buffer.from('E1F97A0D3E018BE0D64FA32C06DE4139', 'hex');
    const salt = Buffer.from('0EC675AD498AFEEBB6960B3AABE6', 'hex');
    assert.equal(deriveSessionKey(key, salt, 0, 16).toString('hex'), 'c61e7a93744f39ee10734afe3ff7a087');
    assert.equal(deriveSessionKey(key, salt, 2, 14).toString('hex'), '30cbbc08863d8c85d49db34a9ae1');
    assert.equal(deriveSessionKey(key, salt, 1, 20).toString('hex'), 'cebe321f6ff7716b6fd4ab49af256a156d38baa4');
  });

  for (const { path, native: pathNative } of PATHS) for (const { profile, name, salt, tag } of PROFILES) {
    describe(`${path}: ${name}`, function () {
      if (path === 'native path' && process.env.SALON_BRIDGE_NATIVE === 'off') return;
      let native: NativeMedia | undefined;
      before(() => {
        native = pathNative();
      });
      it('protects RTP exactly as werift does, and each side decrypts the other, across the 16-bit wrap', () => {
        const { a, b } = session(profile, salt, native);
        const ssrcs = [0x1234_5678, 0xdead_beef];
        for (const sequence of ACROSS_THE_WRAP) {
          for (const ssrc of ssrcs) {
            const plain = rtp(sequence, randomShape(ssrc));
            const what = `seq ${sequence} ssrc ${ssrc.toString(16)} (${plain.length} bytes)`;
            const ours = a.ours.protectRtp(plain);
            const theirs = weriftProtect(a, plain);
            assert.ok(ours);
            assert.equal(ours.length, plain.length + tag, what);
            assert.ok(ours.equals(theirs), `ours = werift's, ${what}`);
            assert.ok(b.rtp.decrypt(ours).equals(plain), `werift decrypts ours, ${what}`);
            const back = b.ours.unprotectRtp(theirs);
            assert.ok(back.ok, `we decrypt werift's, ${what}`);
            assert.ok(back.packet.equals(plain), what);
          }
        }
      });

      it('matches werift on many random packets, and on packets going the other way', () => {
        const { a, b } = session(profile, salt, native);
        let sequence = randomInt(65_536);
        for (let i = 0; i < 300; i++, sequence++) {
          const plain = rtp(sequence, randomShape(0xabcd_0001));
          assert.ok(a.ours.protectRtp(plain)!.equals(weriftProtect(a, plain)), `packet ${i}`);
          const reply = rtp(sequence + 7, randomShape(0x5555_0002));
          const theirs = weriftProtect(b, reply);
          assert.ok(b.ours.protectRtp(reply)!.equals(theirs), `reply ${i}`);
          const back = a.ours.unprotectRtp(theirs);
          assert.ok(back.ok && back.packet.equals(reply), `reply ${i} decrypted`);
        }
      });

      it("rejects a tampered tag, payload or header as 'auth', a truncated packet as 'malformed', a replay as 'replay'", () => {
        const { a, b } = session(profile, salt, native);
        const wire = a.ours.protectRtp(rtp(10, { extension: 'one-byte', csrcs: 2 }))!;
        for (const at of [wire.length - 1, wire.length - tag - 1, 1, 13]) {
          const forged = Buffer.from(wire);
          forged[at]! ^= 0x40;
          assert.deepEqual(b.ours.unprotectRtp(forged), { ok: false, reason: 'auth' }, `byte ${at} flipped`);
        }
        assert.deepEqual(b.ours.unprotectRtp(wire.subarray(0, 11)), { ok: false, reason: 'malformed' });
        // Too short for the header's CSRCs and extension once the tag is set aside.
        assert.deepEqual(b.ours.unprotectRtp(wire.subarray(0, 12 + 8 + 4 + tag - 1)), { ok: false, reason: 'malformed' });
        assert.deepEqual(b.ours.unprotectRtp(Buffer.concat([Buffer.from([0x40]), wire.subarray(1)])), { ok: false, reason: 'malformed' }, 'version 1');
        assert.ok(b.ours.unprotectRtp(wire).ok);
        assert.deepEqual(b.ours.unprotectRtp(wire), { ok: false, reason: 'replay' });
        assert.equal(a.ours.protectRtp(Buffer.from([0x80, 96, 0, 1])), undefined, 'not RTP');
      });

      it('protects SRTCP exactly as werift does for one SSRC, and each side decrypts the other', () => {
        const { a, b } = session(profile, salt, native);
        for (let i = 0; i < 20; i++) {
          const plain = rtcp(0x0102_0304, i % 4);
          const ours = a.ours.protectRtcp(plain)!;
          const theirs = a.rtcp.encrypt(plain);
          assert.ok(ours.equals(theirs), `packet ${i}: ours = werift's`);
          assert.ok(b.rtcp.decrypt(ours).equals(plain), `packet ${i}: werift decrypts ours`);
          const back = b.ours.unprotectRtcp(theirs);
          assert.ok(back.ok && back.packet.equals(plain), `packet ${i}: we decrypt werift's`);
        }
        // Another SSRC continues the session's SRTCP index: werift (an index per SSRC) still decrypts it.
        const other = rtcp(0x0a0b_0c0d, 1);
        assert.ok(b.rtcp.decrypt(a.ours.protectRtcp(other)!).equals(other));
      });

      it("rejects tampered SRTCP as 'auth', short as 'malformed', replayed as 'replay'", () => {
        const { a, b } = session(profile, salt, native);
        const wire = a.ours.protectRtcp(rtcp(77, 2))!;
        const trailer = tag + 4;
        for (const at of [wire.length - 1, wire.length - trailer - 1, 9, 1]) {
          const forged = Buffer.from(wire);
          forged[at]! ^= 0x01;
          assert.deepEqual(b.ours.unprotectRtcp(forged), { ok: false, reason: 'auth' }, `byte ${at} flipped`);
        }
        assert.deepEqual(b.ours.unprotectRtcp(wire.subarray(0, 8 + trailer - 1)), { ok: false, reason: 'malformed' });
        assert.ok(b.ours.unprotectRtcp(wire).ok);
        assert.deepEqual(b.ours.unprotectRtcp(wire), { ok: false, reason: 'replay' });
        const later = a.ours.protectRtcp(rtcp(77, 0))!;
        assert.ok(b.ours.unprotectRtcp(later).ok);
        assert.equal(a.ours.protectRtcp(Buffer.from([0x80, 200, 0])), undefined, 'not RTCP');
      });
    });
  }
});
