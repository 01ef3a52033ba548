// Annotated RTP/RTCP wire fixtures for the bridge/rtp tests and bench, shaped like Chrome's
// traffic towards Jitsi (extension ids of the Jitsi offer: 1 audio level, 3 abs-send-time,
// 5 transport-cc, 11 dependency descriptor; VP8 PT 100 … here 96/97 as in the RFC examples).
// Text after `#` is a comment; every fixture function returns a fresh, mutable Buffer.

export function hex(text: string): Buffer {
  const digits = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return Buffer.from(digits, 'hex');
}

const ascii = (text: string): string => Buffer.from(text, 'latin1').toString('hex');

/** First packet of a VP8 640x360 keyframe on simulcast layer 0, one-byte header extensions. */
export const vp8Keyframe = (): Buffer =>
  hex(`
    90 60 1a 2b   # V=2 P=0 X=1 CC=0 | M=0 PT=96 | seq 6699
    00 0f 42 40   # timestamp 1000000
    11 22 33 44   # SSRC (SIM layer 0)
    be de 00 02   # one-byte extension block (RFC 8285), 2 words
    32 01 02 03   # id 3 L=2: abs-send-time 0x010203
    51 04 d2 00   # id 5 L=1: transport-wide seq 1234 | padding
    90            # VP8 descriptor: X=1 N=0 S=1 PID=0
    e0            # I=1 L=1 T=1 K=0
    9f a1         # M=1 PictureID 0x1fa1 = 8097
    2c            # TL0PICIDX 44
    20            # TID=0 Y=1 KEYIDX=0
    50 42 00      # frame tag: P=0 (key frame) VER=0 show_frame=1, first partition size
    9d 01 2a      # keyframe start code
    80 02         # width 640, horizontal scale 0
    68 01         # height 360, vertical scale 0
    00 11 22 33   # (compressed data)
  `);

/** A VP8 delta frame on temporal layer 2 with a two-byte header extension block and the marker set. */
export const vp8DeltaTwoByteExt = (): Buffer =>
  hex(`
    90 e0 1a 2c   # X=1 | M=1 PT=96 | seq 6700
    00 0f 4d f8   # timestamp 1003000
    11 22 33 44   # SSRC
    10 00 00 02   # two-byte extension block (0x100, appbits 0), 2 words
    05 02 04 d3   # id 5 len 2: transport-wide seq 1235
    0b 01 80 00   # id 11 len 1: 0x80 | padding
    90 e0         # X=1 S=1 PID=0 | I L T
    9f a2         # PictureID 8098
    2c            # TL0PICIDX 44
    80            # TID=2 Y=0
    31 2a 00      # frame tag: P=1 (inter frame)
    de ad be ef   # (compressed data)
  `);

/** An Opus packet with the RFC 6464 audio level (voice, -42 dBov) and transport-cc. */
export const opusWithAudioLevel = (): Buffer =>
  hex(`
    90 ef 30 39   # X=1 | M=1 PT=111 | seq 12345
    00 00 3c 00   # timestamp 15360
    aa bb cc dd   # SSRC
    be de 00 02   # one-byte extension block, 2 words
    10 aa         # id 1 L=0: V=1 level 42
    51 00 07      # id 5 L=1: transport-wide seq 7
    00 00 00      # padding
    fc ff fe      # Opus TOC + frame
  `);

/** Two CSRCs and 4 bytes of RTP padding. */
export const csrcAndPadding = (): Buffer =>
  hex(`
    a2 60 00 01   # V=2 P=1 X=0 CC=2 | PT=96 | seq 1
    00 00 00 64   # timestamp 100
    01 02 03 04   # SSRC
    0a 0b 0c 0d   # CSRC 1
    0e 0f 10 11   # CSRC 2
    de ad be ef   # payload
    00 00 00 04   # padding, count 4
  `);

/** RTX (RFC 4588) retransmission of the keyframe packet, PT 97, on the layer's RTX SSRC. */
export const rtxOfKeyframe = (): Buffer =>
  hex(`
    80 61 00 07   # V=2 X=0 | M=0 PT=97 | RTX seq 7
    00 0f 42 40   # timestamp 1000000 (the original's)
    55 66 77 88   # RTX SSRC
    1a 2b         # OSN 6699
    90 e0 9f a1 2c 20   # original payload: VP8 descriptor …
    50 42 00 9d 01 2a 80 02 68 01
  `);

/** Chrome's padding-only probe on an RTX SSRC: P=1 and nothing but padding. */
export const rtxPaddingOnly = (): Buffer =>
  hex(`
    a0 61 00 08   # V=2 P=1 | PT=97 | seq 8
    00 0f 42 40
    55 66 77 88
    00 00 00 00 00 00 00 08   # 8 bytes of padding
  `);

/** SR with one report block + SDES CNAME: a sender's regular compound (RFC 3550 §6.4.1, §6.5). */
export const srSdes = (): Buffer =>
  hex(`
    81 c8 00 0c   # V=2 P=0 RC=1 PT=200 SR, length 12 (52 bytes)
    11 22 33 44   # SSRC of sender
    e9 9c 5a 4b   # NTP seconds
    80 00 00 00   # NTP fraction (.5)
    00 0f 42 40   # RTP timestamp 1000000
    00 00 01 2c   # sender's packet count 300
    00 04 93 e0   # sender's octet count 300000
    aa bb cc dd   # report block: SSRC_1
    05 00 00 0a   #   fraction lost 5/256, cumulative lost 10
    00 01 1a 2b   #   extended highest sequence 0x11a2b
    00 00 00 20   #   interarrival jitter 32
    5a 4b 80 00   #   LSR
    00 00 40 00   #   DLSR
    81 ca 00 06   # V=2 SC=1 PT=202 SDES, length 6 (28 bytes)
    11 22 33 44   # chunk SSRC
    01 10 ${ascii('a1b2c3d4e5f6g7h8')}   # CNAME, 16 octets
    00 00         # end of items + pad to 32 bits
  `);

/** RR with one report block + PLI for the layer-0 SSRC (what a receiver sends for a keyframe). */
export const rrPli = (): Buffer =>
  hex(`
    81 c9 00 07   # RC=1 PT=201 RR, length 7 (32 bytes)
    00 00 00 01   # SSRC of packet sender (Chrome's receive-only SSRC)
    11 22 33 44   # SSRC_1
    00 ff ff ff   # fraction lost 0, cumulative lost -1 (duplicates)
    00 00 1a 2b   # extended highest sequence 6699
    00 00 00 05   # jitter
    00 00 00 00   # LSR
    00 00 00 00   # DLSR
    81 ce 00 02   # FMT=1 PT=206 PSFB: PLI, length 2
    00 00 00 01   # SSRC of packet sender
    11 22 33 44   # SSRC of media source
  `);

/** Empty RR + generic NACK with two FCI entries, the second wrapping past 65535. */
export const rrNack = (): Buffer =>
  hex(`
    80 c9 00 01   # RC=0 RR, length 1
    00 00 00 01   # SSRC of packet sender
    81 cd 00 04   # FMT=1 PT=205 RTPFB: generic NACK, length 4
    00 00 00 01   # SSRC of packet sender
    11 22 33 44   # SSRC of media source
    1a 2b 00 05   # PID 6699, BLP 0b101: 6700, 6702
    ff fe 80 00   # PID 65534, BLP bit 15: 65534 + 16 = 14
  `);

/** FIR (RFC 5104 §4.3.1) asking 0x11223344 for a keyframe, command sequence number 7. */
export const fir = (): Buffer =>
  hex(`
    84 ce 00 04   # FMT=4 PT=206 PSFB: FIR, length 4
    00 00 00 01   # SSRC of packet sender
    00 00 00 00   # SSRC of media source: unused, 0
    11 22 33 44   # FCI: SSRC
    07 00 00 00   #      seq nr 7, reserved
  `);

/** REMB of 1.5 Mbit/s for one SSRC. */
export const remb = (): Buffer =>
  hex(`
    8f ce 00 05   # FMT=15 PT=206 PSFB: application layer feedback, length 5
    00 00 00 01   # SSRC of packet sender
    00 00 00 00   # SSRC of media source: 0
    52 45 4d 42   # "REMB"
    01 0e dc 6c   # Num SSRC 1 | BR Exp 3 | BR Mantissa 0x2dc6c = 187500 → 1 500 000
    11 22 33 44   # SSRC feedback
  `);

/** Transport-wide CC feedback with RTCP padding (P=1, 3 bytes). */
export const transportCc = (): Buffer =>
  hex(`
    af cd 00 06   # V=2 P=1 FMT=15 PT=205 RTPFB: transport-cc, length 6 (28 bytes)
    00 00 00 01   # SSRC of packet sender
    11 22 33 44   # SSRC of media source
    04 d2 00 03   # base sequence 1234, packet status count 3
    00 01 2c 07   # reference time 300 (× 64 ms), feedback packet count 7
    20 03         # run-length chunk: small delta × 3
    14 28 3c      # receive deltas
    00 00 03      # RTCP padding, count 3
  `);

/** SDES with two chunks (second without items) + BYE. */
export const sdesBye = (): Buffer =>
  hex(`
    82 ca 00 05   # SC=2 SDES, length 5 (24 bytes)
    11 22 33 44   # chunk 1 SSRC
    01 02 61 62   # CNAME "ab"
    00 00 00 00   # end + pad
    aa bb cc dd   # chunk 2 SSRC
    00 00 00 00   # end (no items) + pad
    81 cb 00 01   # SC=1 BYE, length 1
    11 22 33 44   # SSRC
  `);

/**
 * A one-packet VP8 frame of the focus's offer (PT 100): RTP header (timestamp seq × 3000), a
 * descriptor with a 15-bit PictureID (= seq), and a keyframe header of `height` (16:9) or a
 * delta frame's tag.
 */
export function vp8Rtp(ssrc: number, seq: number, options: { key?: boolean; height?: number; payloadType?: number } = {}): Buffer {
  const key = options.key ?? true;
  const height = options.height ?? 360;
  const b = Buffer.alloc(12 + 4 + 10 + 16, 0xab);
  b[0] = 0x80;
  b[1] = options.payloadType ?? 100;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 3000) >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b[12] = 0x90; // X, S, partition 0
  b[13] = 0x80; // I: PictureID follows
  b.writeUInt16BE(0x8000 | (seq & 0x7fff), 14);
  if (key) {
    b.set([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a], 16);
    b.writeUInt16LE(Math.round((height * 16) / 9), 22);
    b.writeUInt16LE(height, 24);
  } else {
    b[16] = 0x11; // P = 1: an interframe
  }
  return b;
}

/** RFC 4588 retransmission of `original` on `rtxSsrc` (PT 96 by default): OSN first in the payload. */
export function rtxRtp(original: Buffer, rtxSsrc: number, rtxSeq: number, payloadType = 96): Buffer {
  const out = Buffer.alloc(original.length + 2);
  original.copy(out, 0, 0, 12);
  out[0] = 0x80;
  out[1] = (original[1]! & 0x80) | payloadType;
  out.writeUInt16BE(rtxSeq & 0xffff, 2);
  out.writeUInt32BE(rtxSsrc >>> 0, 8);
  out.writeUInt16BE(original.readUInt16BE(2), 12);
  original.copy(out, 14, 12);
  return out;
}
