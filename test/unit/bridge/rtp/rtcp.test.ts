import assert from 'node:assert/strict';
import {
  RtcpWalker, SDES_CNAME, buildReceiverReports, buildSdesCname, buildSenderReport, expandNack, isRtcp, senderInfoOnly, type ReportBlock, type RtcpKind,
} from '../../../../bridge/rtp/rtcp.ts';
import { fir, hex, remb, rrNack, rrPli, sdesBye, srSdes, transportCc, vp8Keyframe } from './fixtures.ts';

function kinds(buf: Uint8Array): Array<RtcpKind | 'malformed'> {
  const w = new RtcpWalker();
  w.reset(buf);
  const out: Array<RtcpKind | 'malformed'> = [];
  for (;;) {
    const step = w.next();
    if (step === 'end') return out;
    if (step === 'malformed') {
      out.push('malformed');
      return out;
    }
    out.push(w.kind);
  }
}

/** Walks to the n-th sub-packet (0-based) and returns the walker positioned there. */
function at(buf: Uint8Array, n: number): RtcpWalker {
  const w = new RtcpWalker();
  w.reset(buf);
  for (let i = 0; i <= n; i++) assert.equal(w.next(), 'ok');
  return w;
}

describe('bridge/rtp/rtcp', () => {
  describe('walks compound packets sub-packet by sub-packet', () => {
    const cases: Array<[name: string, make: () => Buffer, expected: RtcpKind[]]> = [
      ['SR + SDES', srSdes, ['sr', 'sdes']],
      ['RR + PLI', rrPli, ['rr', 'pli']],
      ['RR + NACK', rrNack, ['rr', 'nack']],
      ['FIR alone (reduced size, RFC 5506)', fir, ['fir']],
      ['REMB alone', remb, ['remb']],
      ['transport-cc with padding', transportCc, ['transport-cc']],
      ['SDES with two chunks + BYE', sdesBye, ['sdes', 'bye']],
      ['everything concatenated', () => Buffer.concat([srSdes(), rrPli(), rrNack(), fir(), remb(), sdesBye(), transportCc()]), [
        'sr', 'sdes', 'rr', 'pli', 'rr', 'nack', 'fir', 'remb', 'sdes', 'bye', 'transport-cc',
      ]],
    ];
    for (const [name, make, expected] of cases) {
      it(`${name} → ${expected.join(', ')}`, () => {
        assert.deepEqual(kinds(make()), expected);
      });
    }

    it('reports the other feedback, APP, XR and unknown types as such', () => {
      const buf = hex(`
        83 cd 00 02  00 00 00 01  11 22 33 44   # RTPFB FMT 3 (TMMBR-ish, not decoded)
        82 ce 00 02  00 00 00 01  11 22 33 44   # PSFB FMT 2 (SLI)
        8f ce 00 03  00 00 00 01  00 00 00 00  41 42 43 44   # AFB that is not REMB
        80 cc 00 02  00 00 00 01  6e 61 6d 65   # APP "name"
        80 cf 00 01  00 00 00 01                # XR, no blocks
        80 d0 00 00                             # PT 208: unknown
      `);
      assert.deepEqual(kinds(buf), ['rtpfb', 'psfb', 'psfb', 'app', 'xr', 'unknown']);
    });
  });

  describe('field accessors', () => {
    it('SR: sender info and report block', () => {
      const w = at(srSdes(), 0);
      assert.equal(w.count, 1);
      assert.equal(w.senderSsrc, 0x11223344);
      assert.equal(w.ntpSeconds, 0xe99c5a4b);
      assert.equal(w.ntpFraction, 0x80000000);
      assert.equal(w.rtpTimestamp, 1_000_000);
      assert.equal(w.senderPacketCount, 300);
      assert.equal(w.senderOctetCount, 300_000);
      assert.equal(w.reportSsrc(0), 0xaabbccdd);
      assert.equal(w.reportFractionLost(0), 5);
      assert.equal(w.reportCumulativeLost(0), 10);
      assert.equal(w.reportHighestSequence(0), 0x11a2b);
      assert.equal(w.reportJitter(0), 32);
      assert.equal(w.reportLastSr(0), 0x5a4b8000);
      assert.equal(w.reportDelaySinceLastSr(0), 0x4000);
    });

    it('SDES: chunk SSRCs and CNAME', () => {
      const w = at(srSdes(), 1);
      const chunk = w.sdesChunkOffset(0);
      assert.equal(chunk, 56);
      assert.equal(w.senderSsrc, 0x11223344);
      assert.equal(w.sdesItem(chunk, SDES_CNAME), 'a1b2c3d4e5f6g7h8');
      assert.equal(w.sdesItem(chunk, 2), undefined);
      const two = at(sdesBye(), 0);
      assert.equal(two.count, 2);
      assert.equal(two.sdesItem(two.sdesChunkOffset(0), SDES_CNAME), 'ab');
      assert.equal(two.sdesChunkOffset(1), 16);
      assert.equal(two.sdesItem(16, SDES_CNAME), undefined);
      assert.equal(two.sdesItem(40, SDES_CNAME), undefined, 'an offset past the packet reads nothing');
    });

    it('RR: signed cumulative loss', () => {
      const w = at(rrPli(), 0);
      assert.equal(w.senderSsrc, 1);
      assert.equal(w.reportSsrc(0), 0x11223344);
      assert.equal(w.reportCumulativeLost(0), -1);
      assert.equal(w.reportHighestSequence(0), 6699);
    });

    it('PLI: sender and media source', () => {
      const w = at(rrPli(), 1);
      assert.equal(w.senderSsrc, 1);
      assert.equal(w.mediaSsrc, 0x11223344);
    });

    it('NACK: entries and their lost sequence numbers, across the 16-bit wrap', () => {
      const w = at(rrNack(), 1);
      assert.equal(w.nackCount, 2);
      const lost: number[] = [];
      for (let i = 0; i < w.nackCount; i++) expandNack(w.nackPid(i), w.nackBlp(i), lost);
      assert.deepEqual(lost, [6699, 6700, 6702, 65534, 14]);
    });

    it('expandNack covers every BLP bit', () => {
      const out: number[] = [];
      assert.equal(expandNack(65535, 0xffff, out), 17);
      assert.deepEqual(out, Array.from({ length: 17 }, (_, i) => (65535 + i) & 0xffff));
    });

    it('FIR: entries', () => {
      const w = at(fir(), 0);
      assert.equal(w.mediaSsrc, 0);
      assert.equal(w.firCount, 1);
      assert.equal(w.firSsrc(0), 0x11223344);
      assert.equal(w.firSequence(0), 7);
    });

    it('REMB: bitrate and SSRCs', () => {
      const w = at(remb(), 0);
      assert.equal(w.rembSsrcCount, 1);
      assert.equal(w.rembBitrate, 1_500_000);
      assert.equal(w.rembSsrc(0), 0x11223344);
      // Exponent 63 with the full mantissa must not overflow 32-bit arithmetic.
      const big = hex('8f ce 00 04  00 00 00 01  00 00 00 00  52 45 4d 42  00 ff ff ff');
      assert.equal(at(big, 0).rembBitrate, 0x3ffff * 2 ** 63);
    });

    it('transport-cc: header fields and padding', () => {
      const w = at(transportCc(), 0);
      assert.equal(w.paddingLength, 3);
      assert.equal(w.mediaSsrc, 0x11223344);
      assert.equal(w.tccBaseSequence, 1234);
      assert.equal(w.tccStatusCount, 3);
      assert.equal(w.tccReferenceTime, 300);
      assert.equal(w.tccFeedbackCount, 7);
      const negative = hex('8f cd 00 04  00 00 00 01  11 22 33 44  00 00 00 00  ff ff ff 00');
      assert.equal(at(negative, 0).tccReferenceTime, -1);
    });

    it('BYE: SSRC list', () => {
      const w = at(sdesBye(), 1);
      assert.equal(w.count, 1);
      assert.equal(w.byeSsrc(0), 0x11223344);
    });
  });

  describe('rewrites SSRC fields in place', () => {
    it('changes exactly the SSRC bytes of every kind', () => {
      const buf = Buffer.concat([srSdes(), rrPli(), rrNack(), fir(), remb(), sdesBye()]);
      const before = Buffer.from(buf);
      const w = new RtcpWalker();
      w.reset(buf);
      const X = 0xcafebabe;
      while (w.next() === 'ok') {
        switch (w.kind) {
          case 'sr':
          case 'rr':
            w.setSenderSsrc(X);
            for (let i = 0; i < w.count; i++) w.setReportSsrc(i, X);
            break;
          case 'sdes':
            for (let i = 0; i < w.count; i++) {
              const c = w.sdesChunkOffset(i);
              buf.writeUInt32BE(X, c);
            }
            break;
          case 'pli':
          case 'nack':
            w.setSenderSsrc(X);
            w.setMediaSsrc(X);
            break;
          case 'fir':
            w.setSenderSsrc(X);
            for (let i = 0; i < w.firCount; i++) w.setFirSsrc(i, X);
            break;
          case 'remb':
            w.setSenderSsrc(X);
            for (let i = 0; i < w.rembSsrcCount; i++) w.setRembSsrc(i, X);
            break;
          case 'bye':
            for (let i = 0; i < w.count; i++) w.setByeSsrc(i, X);
            break;
          default:
            assert.fail(`unexpected ${w.kind}`);
        }
      }
      // Every 4-byte word that held an SSRC now holds X; all other bytes are unchanged.
      const ssrcs = new Set([0x11223344, 0xaabbccdd, 0x00000001]);
      let rewritten = 0;
      for (let i = 0; i < buf.length; i += 4) {
        const now = buf.readUInt32BE(i);
        const was = before.readUInt32BE(i);
        if (now !== was) {
          assert.equal(now, X);
          assert.ok(ssrcs.has(was), `word ${i} was ${was.toString(16)}`);
          rewritten++;
        }
      }
      // SR+SDES 3, RR+PLI 4, RR+NACK 3, FIR 2 (media source stays 0), REMB 2, SDES×2+BYE 3.
      assert.equal(rewritten, 17);
      assert.deepEqual(kinds(buf), kinds(before));
    });

    it('rewrites an SR RTP timestamp and NACK entries', () => {
      const buf = srSdes();
      const w = at(buf, 0);
      w.setRtpTimestamp(0xffff_ffff);
      assert.equal(at(buf, 0).rtpTimestamp, 0xffff_ffff);
      const nack = rrNack();
      at(nack, 1).setNack(0, 0x1234, 0x8001);
      const n = at(nack, 1);
      assert.deepEqual([n.nackPid(0), n.nackBlp(0), n.nackPid(1)], [0x1234, 0x8001, 65534]);
    });
  });

  describe('malformed compounds stop the walk without throwing', () => {
    const cases: Array<[name: string, bytes: Buffer, expected: Array<RtcpKind | 'malformed'>]> = [
      ['3 bytes', hex('81 c9 00'), ['malformed']],
      ['version 1', hex('41 c9 00 01 00 00 00 01'), ['malformed']],
      ['length beyond the buffer', hex('80 c9 00 07 00 00 00 01'), ['malformed']],
      ['padding on a sub-packet that is not the last', Buffer.concat([hex('a0 c9 00 01 00 00 00 04'), rrPli()]), ['malformed']],
      ['padding count 0', hex('a0 c9 00 02 00 00 00 01 00 00 00 00'), ['malformed']],
      ['padding count beyond the body', hex('a0 c9 00 01 00 00 00 09'), ['malformed']],
      ['SR with RC=2 and one block', hex(srSdes().toString('hex').replace(/^81c8/, '82c8')), ['malformed']],
      ['RR with RC=1 and no block', hex('81 c9 00 01 00 00 00 01'), ['malformed']],
      ['SDES chunk without the null item', hex('81 ca 00 02 11 22 33 44 01 02 61 62'), ['malformed']],
      ['SDES item running past the packet', hex('81 ca 00 02 11 22 33 44 01 09 61 62'), ['malformed']],
      ['SDES count 2 with one chunk', hex('82 ca 00 02 11 22 33 44 00 00 00 00'), ['malformed']],
      ['BYE count 3 with two SSRCs', hex('83 cb 00 02 00 00 00 01 00 00 00 02'), ['malformed']],
      ['PLI of 8 bytes', hex('81 ce 00 01 00 00 00 01'), ['malformed']],
      ['NACK without FCI', hex('81 cd 00 02 00 00 00 01 11 22 33 44'), ['malformed']],
      ['FIR with a 4-byte FCI', hex('84 ce 00 03 00 00 00 01 00 00 00 00 11 22 33 44'), ['malformed']],
      ['REMB claiming 3 SSRCs with 1', hex(remb().toString('hex').replace('010edc6c', '030edc6c')), ['malformed']],
      ['transport-cc of 16 bytes', hex('8f cd 00 03 00 00 00 01 11 22 33 44 04 d2 00 03'), ['malformed']],
      ['valid RR then 2 stray bytes', Buffer.concat([rrPli(), hex('80 c9')]), ['rr', 'pli', 'malformed']],
      ['an RTP packet', vp8Keyframe(), ['malformed']],
    ];
    for (const [name, bytes, expected] of cases) {
      it(`${name} → ${expected.join(', ')}`, () => {
        assert.deepEqual(kinds(bytes), expected);
      });
    }

    it('a malformed step ends the walk for good', () => {
      const w = new RtcpWalker();
      w.reset(hex('41 c9 00 01 00 00 00 01'));
      assert.equal(w.next(), 'malformed');
      assert.equal(w.next(), 'end');
    });

    it('every truncation of every compound walks cleanly and reads in bounds', () => {
      const w = new RtcpWalker();
      for (const make of [srSdes, rrPli, rrNack, fir, remb, transportCc, sdesBye]) {
        const full = make();
        for (let len = 0; len <= full.length; len++) {
          const buf = new Uint8Array(full.subarray(0, len));
          w.reset(buf);
          let step;
          while ((step = w.next()) === 'ok') {
            assert.ok(w.offset + w.length <= len);
            if (w.kind === 'sdes') for (let i = 0; i < w.count; i++) assert.ok(w.sdesChunkOffset(i) + 4 <= len);
            if (w.kind === 'nack') assert.ok(w.offset + 12 + 4 * w.nackCount <= len);
            if (w.kind === 'fir') assert.ok(w.offset + 12 + 8 * w.firCount <= len);
            if (w.kind === 'remb') assert.ok(w.offset + 20 + 4 * w.rembSsrcCount <= len);
          }
          assert.ok(step === 'end' || step === 'malformed');
        }
      }
    });

    it('a length shorter than the buffer bounds the walk', () => {
      const buf = Buffer.concat([rrPli(), hex('ff ff ff ff')]);
      const w = new RtcpWalker();
      w.reset(buf, rrPli().length);
      assert.equal(w.next(), 'ok');
      assert.equal(w.next(), 'ok');
      assert.equal(w.next(), 'end');
    });
  });

  describe('RTP/RTCP demultiplexing (RFC 5761 §4)', () => {
    const cases: Array<[name: string, bytes: Buffer, rtcp: boolean]> = [
      ['SR', srSdes(), true],
      ['RR', rrPli(), true],
      ['PSFB', fir(), true],
      ['RTP PT 96', vp8Keyframe(), false],
      ['RTP PT 96 with marker (byte 0xe0)', hex('80 e0 00 01'), false],
      ['RTP PT 127 with marker (byte 0xff)', hex('80 ff 00 01'), false],
      ['RTP PT 63 with marker (byte 0xbf)', hex('80 bf 00 01'), false],
      ['one byte', hex('80'), false],
    ];
    for (const [name, bytes, rtcp] of cases) {
      it(`${name} → ${rtcp ? 'RTCP' : 'not RTCP'}`, () => assert.equal(isRtcp(bytes), rtcp));
    }
  });
});

describe('bridge/rtp/rtcp builders', () => {
  const block = (ssrc: number): ReportBlock => ({
    ssrc, fractionLost: 5, cumulativeLost: -2, highestSequence: 0x11a2b, jitter: 32, lastSr: 0x5a4b8000, delaySinceLastSr: 0x4000,
  });

  it('buildReceiverReports writes RFC 3550 §6.4.2 RRs with signed 24-bit cumulative loss', () => {
    assert.deepEqual(buildReceiverReports(0x01020304, [block(0xaabbccdd)]), hex(`
      81 c9 00 07   # V=2 RC=1 PT=201 RR, length 7 (32 bytes)
      01 02 03 04   # SSRC of packet sender (the bridge's feedback SSRC)
      aa bb cc dd   # SSRC_1
      05 ff ff fe   # fraction lost 5/256 | cumulative lost −2
      00 01 1a 2b   # extended highest sequence
      00 00 00 20   # jitter
      5a 4b 80 00   # LSR
      00 00 40 00   # DLSR
    `));
    assert.deepEqual(buildReceiverReports(7, []), hex('80 c9 00 01  00 00 00 07'), 'no blocks: an empty RR');
  });

  it('buildReceiverReports puts at most 31 blocks in one RR and walks back block by block', () => {
    const blocks = Array.from({ length: 40 }, (_, i) => block(1000 + i));
    const built = buildReceiverReports(9, blocks);
    const w = new RtcpWalker();
    w.reset(built);
    const seen: number[] = [];
    const counts: number[] = [];
    while (w.next() === 'ok') {
      assert.equal(w.kind, 'rr');
      assert.equal(w.senderSsrc, 9);
      counts.push(w.count);
      for (let i = 0; i < w.count; i++) {
        seen.push(w.reportSsrc(i));
        assert.equal(w.reportCumulativeLost(i), -2);
        assert.equal(w.reportFractionLost(i), 5);
        assert.equal(w.reportLastSr(i), 0x5a4b8000);
      }
    }
    assert.deepEqual(counts, [31, 9]);
    assert.deepEqual(seen, blocks.map((b) => b.ssrc));
  });

  it('buildSenderReport writes an RFC 3550 §6.4.1 SR, then the SDES CNAME of the same SSRC', () => {
    const info = { ntpSeconds: 0xe8f0a1b2, ntpFraction: 0x80000000, rtpTimestamp: 0x01020304, packetCount: 1500, octetCount: 0x10000 };
    const built = buildSenderReport(0x0a0b0c0d, info, [block(0xaabbccdd)], 'abc');
    assert.deepEqual(built, hex(`
      81 c8 00 0c   # V=2 RC=1 PT=200 SR, length 12 (52 bytes)
      0a 0b 0c 0d   # SSRC of sender
      e8 f0 a1 b2   # NTP seconds
      80 00 00 00   # NTP fraction
      01 02 03 04   # RTP timestamp
      00 00 05 dc   # sender's packet count
      00 01 00 00   # sender's octet count
      aa bb cc dd   05 ff ff fe   00 01 1a 2b   00 00 00 20   5a 4b 80 00   00 00 40 00
      81 ca 00 03   # V=2 SC=1 PT=202 SDES, length 3 (16 bytes)
      0a 0b 0c 0d   # chunk SSRC
      01 03 61 62   # CNAME, 3 bytes: "ab…
      63 00 00 00   # …c", null item, padding
    `));
    const w = new RtcpWalker();
    w.reset(built);
    assert.equal(w.next(), 'ok');
    assert.equal(w.kind, 'sr');
    assert.equal(w.ntpSeconds, info.ntpSeconds);
    assert.equal(w.rtpTimestamp, info.rtpTimestamp);
    assert.equal(w.senderPacketCount, 1500);
    assert.equal(w.reportCumulativeLost(0), -2);
    assert.equal(w.next(), 'ok');
    assert.equal(w.kind, 'sdes');
    assert.equal(w.sdesItem(w.sdesChunkOffset(0), SDES_CNAME), 'abc');
    assert.equal(w.next(), 'end');
    assert.deepEqual(buildSenderReport(1, info).subarray(0, 4), hex('80 c8 00 06'), 'no blocks, no SDES: 28 bytes');
    assert.equal(buildSenderReport(1, info).length, 28);
    assert.throws(() => buildSenderReport(1, info, Array.from({ length: 32 }, (_, i) => block(i))), RangeError);
  });

  it('buildSdesCname pads the chunk to 32 bits with at least one null octet', () => {
    for (let n = 1; n <= 12; n++) {
      const sdes = buildSdesCname(7, 'x'.repeat(n));
      assert.equal(sdes.length % 4, 0);
      assert.ok(sdes.length >= 4 + 4 + 2 + n + 1);
      const w = new RtcpWalker();
      w.reset(sdes);
      assert.equal(w.next(), 'ok', `CNAME of ${n}`);
      assert.equal(w.sdesItem(w.sdesChunkOffset(0), SDES_CNAME), 'x'.repeat(n));
      assert.equal(w.next(), 'end');
    }
    assert.throws(() => buildSdesCname(7, 'x'.repeat(256)), RangeError);
  });

  it('senderInfoOnly copies an SR without its report blocks', () => {
    const w = new RtcpWalker();
    const buf = srSdes();
    w.reset(buf);
    assert.equal(w.next(), 'ok');
    const sr = senderInfoOnly(w);
    assert.deepEqual(sr, Buffer.concat([hex('80 c8 00 06'), buf.subarray(4, 28)]));
    sr[4] = 0;
    assert.equal(buf[4], 0x11, 'a copy, not a view');
    const again = new RtcpWalker();
    again.reset(sr);
    assert.equal(again.next(), 'ok');
    assert.equal(again.kind, 'sr');
    assert.equal(again.count, 0);
    assert.equal(again.next(), 'end');
  });
});
