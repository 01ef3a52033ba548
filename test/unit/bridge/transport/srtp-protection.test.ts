import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { nativeMedia, type NativeMedia } from '../../../../bridge/native/index.ts';
import type { SrtpKeyingMaterial } from '../../../../bridge/transport/dtls-link.ts';
import { SrtpProtection } from '../../../../bridge/transport/srtp-protection.ts';

const PROFILES = [
  { profile: 7 as const, name: 'AEAD_AES_128_GCM', salt: 12 },
  { profile: 1 as const, name: 'AES128_CM_HMAC_SHA1_80', salt: 14 },
];

/** Keying material for two sides keyed for each other, as DTLS-SRTP would key them. */
function keying(profile: 1 | 7, saltLength: number): [SrtpKeyingMaterial, SrtpKeyingMaterial] {
  const [k1, s1, k2, s2] = [randomBytes(16), randomBytes(saltLength), randomBytes(16), randomBytes(saltLength)];
  return [
    { profile, localMasterKey: k1, localMasterSalt: s1, remoteMasterKey: k2, remoteMasterSalt: s2 },
    { profile, localMasterKey: k2, localMasterSalt: s2, remoteMasterKey: k1, remoteMasterSalt: s1 },
  ];
}

/** The addon, which the native rows need (npm install builds it). */
function addon(): NativeMedia {
  const { native, error } = nativeMedia();
  assert.ok(native, `the native media path did not load (${error ?? ''})`);
  return native;
}

function rtp(sequence: number, options: { ssrc?: number; payload?: Buffer; padding?: number; extension?: boolean } = {}): Buffer {
  const payload = options.payload ?? randomBytes(100);
  const padding = options.padding ?? 0;
  // Extension: RFC 8285 one-byte header, id 1 length 1 (2 bytes) + 2 bytes of zero padding.
  const extension = options.extension ? Buffer.from([0xbe, 0xde, 0, 1, 0x11, 0xaa, 0xbb, 0]) : Buffer.alloc(0);
  const header = Buffer.alloc(12);
  header.writeUInt8(0x80 | (padding > 0 ? 0x20 : 0) | (options.extension ? 0x10 : 0), 0);
  header.writeUInt8(96, 1);
  header.writeUInt16BE(sequence & 0xffff, 2);
  header.writeUInt32BE(sequence * 3000, 4);
  header.writeUInt32BE(options.ssrc ?? 0x1234_5678, 8);
  const pad = Buffer.alloc(padding);
  if (padding > 0) pad.writeUInt8(padding, padding - 1);
  return Buffer.concat([header, extension, payload, pad]);
}

/** A receiver report (RFC 3550 §6.4.2) with no report blocks. */
function rtcp(ssrc: number): Buffer {
  const packet = Buffer.alloc(8);
  packet.writeUInt8(0x80, 0);
  packet.writeUInt8(201, 1);
  packet.writeUInt16BE(1, 2);
  packet.writeUInt32BE(ssrc, 4);
  return packet;
}

/** The TypeScript transforms, and the addon's (bridge/native), under the same bookkeeping. */
const PATHS = [
  { path: 'TypeScript', native: (): NativeMedia | undefined => undefined },
  ...(process.env.SALON_BRIDGE_NATIVE === 'off' ? [] : [{ path: 'native', native: addon }]),
];

describe('bridge/transport/srtp-protection', () => {
  for (const { profile, name, salt } of PROFILES) for (const { path, native } of PATHS) {
    /** Two sides keyed for each other on this path. */
    const pair = (p: 1 | 7, saltLength: number): { sender: SrtpProtection; receiver: SrtpProtection } => {
      const [a, b] = keying(p, saltLength);
      return { sender: new SrtpProtection(a, native()), receiver: new SrtpProtection(b, native()) };
    };
    describe(`${name}, ${path}`, () => {
      it('round-trips RTP byte for byte, header extension and padding included', () => {
        const { sender, receiver } = pair(profile, salt);
        for (const packet of [rtp(1), rtp(2, { padding: 7 }), rtp(3, { extension: true, padding: 1 })]) {
          const wire = sender.protectRtp(packet);
          assert.ok(wire);
          assert.equal(wire.length, packet.length + (profile === 7 ? 16 : 10), 'the padding is sent, encrypted');
          const back = receiver.unprotectRtp(wire);
          assert.ok(back.ok);
          assert.deepEqual(back.packet, packet);
        }
      });

      it('drops a replayed RTP packet and one too old for the 64-packet window, and keeps decrypting', () => {
        const { sender, receiver } = pair(profile, salt);
        const wire = Array.from({ length: 100 }, (_, i) => sender.protectRtp(rtp(i))!);
        for (const packet of wire.slice(0, 10)) assert.ok(receiver.unprotectRtp(packet).ok);
        assert.deepEqual(receiver.unprotectRtp(wire[5]!), { ok: false, reason: 'replay' });
        for (const packet of wire.slice(80)) assert.ok(receiver.unprotectRtp(packet).ok);
        assert.deepEqual(receiver.unprotectRtp(wire[12]!), { ok: false, reason: 'replay' }, 'older than the window');
        assert.ok(receiver.unprotectRtp(wire[40]!).ok, 'late but inside the window');
      });

      it('counts a tampered packet as an authentication failure and does not let it move the window', () => {
        const { sender, receiver } = pair(profile, salt);
        const first = sender.protectRtp(rtp(1))!;
        const forged = Buffer.from(sender.protectRtp(rtp(30_000))!);
        forged[forged.length - 1]! ^= 1;
        assert.deepEqual(receiver.unprotectRtp(forged), { ok: false, reason: 'auth' });
        assert.ok(receiver.unprotectRtp(first).ok, 'a far-ahead forged index was not committed');
        assert.deepEqual(receiver.unprotectRtp(Buffer.from([0x80, 96, 0])), { ok: false, reason: 'malformed' });
      });

      it('follows the sequence number across the 16-bit wrap', () => {
        const { sender, receiver } = pair(profile, salt);
        for (let i = 65_500; i < 65_600; i++) assert.ok(receiver.unprotectRtp(sender.protectRtp(rtp(i))!).ok, `packet ${i}`);
      });

      it('protects an index once: the same or another packet under a used index is refused, a late one never sent goes, one too old to tell is refused', () => {
        const { sender } = pair(profile, salt);
        const ssrc = 0x5555;
        for (let seq = 65_000; seq < 65_536 + 2_000; seq++) if (seq % 7 !== 0) assert.ok(sender.protectRtp(rtp(seq, { ssrc })), `packet ${seq}`);
        assert.equal(sender.protectRtp(rtp(65_536 + 1_999, { ssrc })), undefined, 'the newest again');
        assert.equal(sender.protectRtp(rtp(65_536 + 1_500, { ssrc, payload: Buffer.alloc(100, 1) })), undefined, 'another packet under a used index');
        const late = sender.protectRtp(rtp(65_536 + 999, { ssrc })); // a multiple of 7: never sent, 1,000 behind
        assert.ok(late, 'late, never sent, within the window');
        assert.equal(sender.protectRtp(rtp(65_536 + 999, { ssrc })), undefined, 'and once only');
        assert.equal(sender.protectRtp(rtp(65_536 + 14, { ssrc })), undefined, 'never sent, but too far behind to tell');
        assert.ok(sender.protectRtp(rtp(1, { ssrc: 0x6666 })), 'other SSRCs are their own');
        assert.ok(sender.protectRtp(rtp(65_535, { ssrc: 0x6666 })), 'one before the first, while the ROC is 0');
        assert.equal(sender.protectRtp(rtp(65_535, { ssrc: 0x6666 })), undefined, 'once');
      });

      it('round-trips SRTCP and drops a replayed SRTCP packet by its index', () => {
        const { sender, receiver } = pair(profile, salt);
        const first = sender.protectRtcp(rtcp(7))!;
        const second = sender.protectRtcp(rtcp(7))!;
        const back = receiver.unprotectRtcp(first);
        assert.ok(back.ok);
        assert.deepEqual(back.packet, rtcp(7));
        assert.ok(receiver.unprotectRtcp(second).ok);
        assert.deepEqual(receiver.unprotectRtcp(first), { ok: false, reason: 'replay' });
        const forged = Buffer.from(sender.protectRtcp(rtcp(7))!);
        forged[9]! ^= 1;
        assert.deepEqual(receiver.unprotectRtcp(forged), { ok: false, reason: 'auth' });
      });

      it('follows a packet reordered across the first wrap, and drops one from before the first packet while the ROC is 0', () => {
        const { sender, receiver } = pair(profile, salt);
        const early = sender.protectRtp(rtp(65_534))!;
        const wrapped = sender.protectRtp(rtp(65_536 + 3))!; // seq 3, ROC 1 at the sender
        assert.ok(receiver.unprotectRtp(early).ok);
        assert.ok(receiver.unprotectRtp(wrapped).ok);
        assert.ok(receiver.unprotectRtp(sender.protectRtp(rtp(65_536 + 4))!).ok);

        const other = pair(profile, salt);
        // RFC 3711 Appendix A takes 65 534 after 5 as ROC - 1: there is none, so it is too old, and
        // the window stays where it was.
        for (const seq of [5, 65_534, 6, 7]) {
          const result = other.receiver.unprotectRtp(other.sender.protectRtp(rtp(seq))!);
          if (seq === 65_534) assert.deepEqual(result, { ok: false, reason: 'replay' });
          else assert.ok(result.ok, `seq ${seq}`);
        }
      });

      it('carries 5 000 packets of 1 100 bytes in order, each verified once (the cost is measured in bench/bridge-srtp.ts)', () => {
        const { sender, receiver } = pair(profile, salt);
        const count = 5_000;
        const plain = Array.from({ length: count }, (_, i) => rtp(i, { payload: randomBytes(1_100) }));
        const wire = plain.map((p) => sender.protectRtp(p)!);
        let ok = 0;
        for (const packet of wire) if (receiver.unprotectRtp(packet).ok) ok++;
        assert.equal(ok, count);
        assert.equal(receiver.unprotectRtp(wire[count - 1]!).ok, false, 'and a second copy of the last one is a replay');
      });

      // Per-SSRC state is bounded (a peer could name SSRCs without end) by forgetting the SSRCs
      // unused the longest: a stream that keeps sending keeps its rollover counter and replay
      // window however many other SSRCs come and go, which is what the peer's SRTP expects.
      describe('per-SSRC state under many SSRCs', () => {
        const HOST = 0x1111;
        /** A 40-byte RTP packet. */
        const small = (seq: number, ssrc: number): Buffer => rtp(seq, { ssrc, payload: Buffer.alloc(28, seq) });
        // The addon decrypts in place: a packet kept to be replayed is given to the receiver as a copy.

        it('an active outgoing stream keeps its ROC after 1 024 other SSRCs were sent to the same receiver', () => {
          const { sender: bridge, receiver: browser } = pair(profile, salt);
          for (let seq = 60_000; seq < 65_536 + 100; seq++) assert.ok(browser.unprotectRtp(bridge.protectRtp(small(seq, HOST))!).ok, `packet ${seq}`);
          for (let other = 0; other < 1_024; other++) bridge.protectRtp(small(1, 0x10000 + other));
          let ok = 0;
          for (let seq = 65_536 + 100; seq < 65_536 + 200; seq++) if (browser.unprotectRtp(bridge.protectRtp(small(seq, HOST))!).ok) ok++;
          assert.equal(ok, 100, 'sent with ROC 1, as the receiver counts');
        });

        it('an outgoing stream sending once per 2 000 other SSRCs is never forgotten while 40 000 come and go', () => {
          const { sender: bridge, receiver: browser } = pair(profile, salt);
          let seq = 65_500;
          for (; seq < 65_536 + 10; seq++) assert.ok(browser.unprotectRtp(bridge.protectRtp(small(seq, HOST))!).ok);
          let ok = 0;
          for (let other = 0; other < 40_000; other++) {
            bridge.protectRtp(small(1, 0x10000 + other));
            if (other % 2_000 === 1_999 && browser.unprotectRtp(bridge.protectRtp(small(seq++, HOST))!).ok) ok++;
          }
          assert.equal(ok, 20);
        });

        it('an outgoing stream idle while thousands of SSRCs were sent is forgotten: the bound holds', () => {
          const { sender: bridge, receiver: browser } = pair(profile, salt);
          for (let seq = 65_500; seq < 65_536 + 10; seq++) assert.ok(browser.unprotectRtp(bridge.protectRtp(small(seq, HOST))!).ok);
          for (let other = 0; other < 20_000; other++) bridge.protectRtp(small(1, 0x10000 + other));
          // Back with ROC 0 where the receiver counts 1: what the bound costs a stream idle that
          // long, never one that sends.
          assert.deepEqual(browser.unprotectRtp(bridge.protectRtp(small(65_536 + 10, HOST))!), { ok: false, reason: 'auth' });
        });

        it('an active incoming stream keeps its ROC after 256 other SSRCs came from the same peer', () => {
          const { sender: browser, receiver: bridge } = pair(profile, salt);
          for (let seq = 60_000; seq < 65_536 + 100; seq++) assert.ok(bridge.unprotectRtp(browser.protectRtp(small(seq, HOST))!).ok, `packet ${seq}`);
          for (let other = 0; other < 256; other++) assert.ok(bridge.unprotectRtp(browser.protectRtp(small(1, 0x10000 + other))!).ok);
          let ok = 0;
          for (let seq = 65_536 + 100; seq < 65_536 + 200; seq++) if (bridge.unprotectRtp(browser.protectRtp(small(seq, HOST))!).ok) ok++;
          assert.equal(ok, 100);
        });

        it('drops every replay of an incoming stream sending once per 250 other SSRCs while 5 000 come and go', () => {
          const { sender: browser, receiver: bridge } = pair(profile, salt);
          let previous = browser.protectRtp(small(0, HOST))!;
          assert.ok(bridge.unprotectRtp(Buffer.from(previous)).ok);
          for (let other = 0; other < 5_000; other++) {
            assert.ok(bridge.unprotectRtp(browser.protectRtp(small(1, 0x10000 + other))!).ok);
            if (other % 250 !== 249) continue;
            const next = browser.protectRtp(small((other + 1) / 250, HOST))!;
            assert.ok(bridge.unprotectRtp(Buffer.from(next)).ok);
            assert.deepEqual(bridge.unprotectRtp(previous), { ok: false, reason: 'replay' }, `after ${other + 1} other SSRCs`);
            previous = next;
          }
        });

        it('an idle incoming stream forgotten for thousands of others starts a new window when it returns, and its old packets stay refused', () => {
          const { sender: browser, receiver: bridge } = pair(profile, salt);
          const old = Array.from({ length: 100 }, (_, seq) => browser.protectRtp(small(seq, HOST))!);
          for (const packet of old) assert.ok(bridge.unprotectRtp(Buffer.from(packet)).ok);
          for (let other = 0; other < 5_000; other++) assert.ok(bridge.unprotectRtp(browser.protectRtp(small(1, 0x10000 + other))!).ok);
          for (let seq = 1_000; seq < 1_010; seq++) assert.ok(bridge.unprotectRtp(browser.protectRtp(small(seq, HOST))!).ok, `packet ${seq}`);
          for (const packet of old) assert.deepEqual(bridge.unprotectRtp(packet), { ok: false, reason: 'replay' }, 'older than the new window');
        });

        it('drops every replayed SRTCP packet of an active SSRC while 5 000 other SSRCs come and go', () => {
          // One SRTCP index for all SSRCs: the replayed packet is to be inside the 64-index window.
          const { sender: browser, receiver: bridge } = pair(profile, salt);
          let previous = browser.protectRtcp(rtcp(HOST))!;
          assert.ok(bridge.unprotectRtcp(Buffer.from(previous)).ok);
          for (let other = 0; other < 5_000; other++) {
            assert.ok(bridge.unprotectRtcp(browser.protectRtcp(rtcp(0x10000 + other))!).ok);
            if (other % 10 !== 9) continue;
            const next = browser.protectRtcp(rtcp(HOST))!;
            assert.ok(bridge.unprotectRtcp(Buffer.from(next)).ok);
            assert.deepEqual(bridge.unprotectRtcp(previous), { ok: false, reason: 'replay' }, `after ${other + 1} other SSRCs`);
            previous = next;
          }
        });
      });
    });
  }

  // The addon keeps the rollover counters of what it sends (salon_media.cc SrtpTransform::ProtectRtp):
  // the same packets, under the same keys, must come out as the TypeScript path's, byte for byte.
  if (process.env.SALON_BRIDGE_NATIVE !== 'off') for (const { profile, name, salt } of PROFILES) {
    it(`${name}: the addon's sending rollover counters give the TypeScript path's bytes, over jumps, wraps and 5 000 SSRCs coming and going`, () => {
      const [keys] = keying(profile, salt);
      const typescript = new SrtpProtection(keys);
      const native = new SrtpProtection(keys, addon());
      const payload = randomBytes(40);
      let sent = 0;
      const refused: string[] = [];
      const send = (sequence: number, ssrc: number): void => {
        const packet = rtp(sequence, { ssrc, payload });
        const expected = typescript.protectRtp(packet);
        assert.deepEqual(native.protectRtp(packet), expected, `SSRC ${ssrc.toString(16)}, sequence number ${sequence}`);
        if (expected) sent++;
        else refused.push(`${ssrc.toString(16)}:${sequence}`);
      };
      const active = 0x1111_0000;
      const idle = 0x2222_0000;
      // The idle stream wraps (ROC 1) before its long silence.
      for (const sequence of [65_534, 65_535, 0]) send(sequence, idle);
      // From before the first packet while the ROC is 0 (65534: ROC − 1, sent with ROC 0, the
      // highest index left alone; 40000, as far before it, too old to tell), then forward over the
      // 16-bit wrap (ROC 1) and back across it.
      for (const sequence of [5, 65_534, 6, 40_000, 7, 30_000, 60_000, 65_535, 0, 1, 65_535, 2, 33_000, 3]) send(sequence, active);
      // 5 000 other SSRCs, one packet each: the table (2 048 SSRCs a generation) turns over twice.
      // The active stream sends every 1 900 of them and keeps its counter (a table of 1 024 would
      // lose it); the idle one is forgotten, so its next packet goes with ROC 0 again (a table of
      // 4 096 would still have it at ROC 1).
      let sequence = 4;
      for (let other = 0; other < 5_000; other++) {
        send(other & 0xffff, 0x3333_0000 + other);
        if (other % 1_900 === 0) send(sequence++, active);
      }
      for (const next of [sequence, 65_000, sequence + 1]) send(next, active);
      send(1, idle);
      send(2, idle);
      // Refused by both: 65 535 of the active stream a second time (its index was used), and 40 000
      // and 33 000, more than SENT_WINDOW behind the highest index sent (too old to tell).
      assert.deepEqual(refused, [40_000, 65_535, 33_000].map((sequence) => `${active.toString(16)}:${sequence}`));
      assert.equal(sent, 3 + 11 + 5_000 + 3 + 3 + 2);
    });
  }
});
