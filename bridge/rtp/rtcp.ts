// Walks an RTCP compound packet one sub-packet at a time, exposing the SSRC-bearing fields of
// each for reading and in-place rewriting. Allocation-free; never throws.
//
// Specs: RFC 3550 §6.4.1 SR, §6.4.2 RR, §6.5 SDES, §6.6 BYE, §6.7 APP, Appendix A.2 validity;
// RFC 4585 §6.1 common feedback header, §6.2.1 generic NACK, §6.3.1 PLI; RFC 5104 §4.3.1 FIR;
// draft-alvestrand-rmcat-remb-03 §2.2 REMB (PSFB FMT 15, "REMB"); draft-holmer-rmcat-transport-
// wide-cc-extensions-01 §3.1 transport-cc (RTPFB FMT 15; header fields only); RFC 5761 §4 demux.
// Reduced-size RTCP (RFC 5506, which Chrome negotiates) is accepted: the first sub-packet need
// not be SR/RR.

import { readU16, readU24, readU32, writeU16, writeU32 } from './bytes.ts';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;
export const RTCP_XR = 207;

/** RTPFB FMT values (RFC 4585 §6.2, transport-cc draft §3.1). */
export const FMT_NACK = 1;
export const FMT_TRANSPORT_CC = 15;
/** PSFB FMT values (RFC 4585 §6.3, RFC 5104 §4.3, REMB draft §2.2 via RFC 4585 AFB). */
export const FMT_PLI = 1;
export const FMT_FIR = 4;
export const FMT_AFB = 15;

/** SDES item type CNAME (RFC 3550 §6.5.1). */
export const SDES_CNAME = 1;

const REPORT_BLOCK_LENGTH = 24;
const REMB_ID = 0x52454d42; // "REMB"

/** What a sub-packet is; feedback kinds are resolved from (PT, FMT) and, for REMB, its identifier. */
export type RtcpKind =
  | 'sr'
  | 'rr'
  | 'sdes'
  | 'bye'
  | 'app'
  | 'nack'
  | 'transport-cc'
  | 'rtpfb'
  | 'pli'
  | 'fir'
  | 'remb'
  | 'psfb'
  | 'xr'
  | 'unknown';

/** Result of {@link RtcpWalker.next}. 'malformed' ends the walk: RFC 3550 A.2 discards the whole compound. */
export type RtcpStep = 'ok' | 'end' | 'malformed';

/** RFC 5761 §4: an RTCP packet on a muxed port has its second byte in 192–223 (PT 64–95 plus marker). */
export function isRtcp(buf: Uint8Array, length: number = buf.length): boolean {
  if (length < 2) return false;
  const b1 = buf[1]!;
  return b1 >= 192 && b1 <= 223;
}

const EMPTY = new Uint8Array(0);

/**
 * Iterates a compound packet: `walker.reset(buf); while (walker.next() === 'ok') switch (walker.kind) …`.
 * Accessors read the current sub-packet; their index arguments are bounded by the matching count,
 * which next() has checked against the sub-packet length.
 */
export class RtcpWalker {
  buf: Uint8Array = EMPTY;
  /** End of the compound within `buf`. */
  end = 0;
  /** Start of the current sub-packet. */
  offset = 0;
  /** Bytes of the current sub-packet, header and padding included. */
  length = 0;
  packetType = 0;
  /** The 5-bit RC / SC / FMT field. */
  count = 0;
  /** Trailing padding bytes of the current sub-packet (only the last one may have any). */
  paddingLength = 0;
  kind: RtcpKind = 'unknown';
  #next = 0;

  reset(buf: Uint8Array, length: number = buf.length): void {
    this.buf = buf;
    this.end = Math.min(length, buf.length);
    this.offset = 0;
    this.length = 0;
    this.#next = 0;
    this.kind = 'unknown';
  }

  /** Advances to the next sub-packet and validates its fixed layout for its kind. */
  next(): RtcpStep {
    const offset = this.#next;
    const remaining = this.end - offset;
    if (remaining === 0) return 'end';
    this.#next = this.end; // a malformed packet stops the walk for good
    if (remaining < 4) return 'malformed';
    const buf = this.buf;
    const b0 = buf[offset]!;
    if (b0 >>> 6 !== 2) return 'malformed';
    const length = 4 * (readU16(buf, offset + 2) + 1);
    if (length > remaining) return 'malformed';
    this.offset = offset;
    this.length = length;
    this.count = b0 & 0x1f;
    this.packetType = buf[offset + 1]!;
    this.paddingLength = 0;
    if ((b0 & 0x20) !== 0) {
      // A.2: padding only on the last sub-packet; the count octet includes itself.
      const pad = buf[offset + length - 1]!;
      if (offset + length !== this.end || pad === 0 || pad > length - 4) return 'malformed';
      this.paddingLength = pad;
    }
    const body = length - this.paddingLength;
    const kind = classify(buf, offset, this.packetType, this.count, body);
    if (kind === undefined) return 'malformed';
    this.kind = kind;
    this.#next = offset + length;
    return 'ok';
  }

  // Common fields.

  /** SR/RR/APP/XR/feedback: SSRC of the sender; SDES: first chunk's SSRC; BYE: first SSRC. */
  get senderSsrc(): number {
    return readU32(this.buf, this.offset + 4);
  }

  setSenderSsrc(value: number): void {
    writeU32(this.buf, this.offset + 4, value);
  }

  /** Feedback (RTPFB/PSFB): SSRC of the media source (0 for FIR and REMB). */
  get mediaSsrc(): number {
    return readU32(this.buf, this.offset + 8);
  }

  setMediaSsrc(value: number): void {
    writeU32(this.buf, this.offset + 8, value);
  }

  // SR sender info (RFC 3550 §6.4.1).

  get ntpSeconds(): number {
    return readU32(this.buf, this.offset + 8);
  }

  get ntpFraction(): number {
    return readU32(this.buf, this.offset + 12);
  }

  get rtpTimestamp(): number {
    return readU32(this.buf, this.offset + 16);
  }

  /** Rewrites the SR's RTP timestamp, e.g. into a re-stamped stream's timestamp space. */
  setRtpTimestamp(value: number): void {
    writeU32(this.buf, this.offset + 16, value);
  }

  get senderPacketCount(): number {
    return readU32(this.buf, this.offset + 20);
  }

  get senderOctetCount(): number {
    return readU32(this.buf, this.offset + 24);
  }

  // Report blocks of SR/RR (RFC 3550 §6.4.1): index < count.

  reportBlockOffset(index: number): number {
    return this.offset + (this.packetType === RTCP_SR ? 28 : 8) + REPORT_BLOCK_LENGTH * index;
  }

  reportSsrc(index: number): number {
    return readU32(this.buf, this.reportBlockOffset(index));
  }

  setReportSsrc(index: number, value: number): void {
    writeU32(this.buf, this.reportBlockOffset(index), value);
  }

  /** Fraction lost as the 8-bit fixed-point value (÷ 256). */
  reportFractionLost(index: number): number {
    return this.buf[this.reportBlockOffset(index) + 4]!;
  }

  /** Cumulative number of packets lost: a signed 24-bit value. */
  reportCumulativeLost(index: number): number {
    return (readU24(this.buf, this.reportBlockOffset(index) + 5) << 8) >> 8;
  }

  reportHighestSequence(index: number): number {
    return readU32(this.buf, this.reportBlockOffset(index) + 8);
  }

  reportJitter(index: number): number {
    return readU32(this.buf, this.reportBlockOffset(index) + 12);
  }

  reportLastSr(index: number): number {
    return readU32(this.buf, this.reportBlockOffset(index) + 16);
  }

  reportDelaySinceLastSr(index: number): number {
    return readU32(this.buf, this.reportBlockOffset(index) + 20);
  }

  // SDES (RFC 3550 §6.5): chunks are validated by classify().

  /** Offset of SDES chunk `index` (< count); its SSRC/CSRC is the first 4 bytes. */
  sdesChunkOffset(index: number): number {
    let chunk = this.offset + 4;
    for (let i = 0; i < index; i++) chunk = sdesChunkEnd(this.buf, this.offset, chunk);
    return chunk;
  }

  /** Item `type` of the chunk at `chunkOffset` as Latin-1 text, or undefined. Allocates; not for the hot path. */
  sdesItem(chunkOffset: number, type: number): string | undefined {
    const buf = this.buf;
    const end = this.offset + this.length - this.paddingLength;
    let i = chunkOffset + 4;
    while (i + 2 <= end && buf[i] !== 0) {
      const len = buf[i + 1]!;
      if (buf[i] === type) return i + 2 + len <= end ? String.fromCharCode(...buf.subarray(i + 2, i + 2 + len)) : undefined;
      i += 2 + len;
    }
    return undefined;
  }

  // BYE (RFC 3550 §6.6): index < count.

  byeSsrc(index: number): number {
    return readU32(this.buf, this.offset + 4 + 4 * index);
  }

  setByeSsrc(index: number, value: number): void {
    writeU32(this.buf, this.offset + 4 + 4 * index, value);
  }

  // Generic NACK (RFC 4585 §6.2.1).

  get nackCount(): number {
    return (this.length - this.paddingLength - 12) >>> 2;
  }

  nackPid(index: number): number {
    return readU16(this.buf, this.offset + 12 + 4 * index);
  }

  nackBlp(index: number): number {
    return readU16(this.buf, this.offset + 14 + 4 * index);
  }

  setNack(index: number, pid: number, blp: number): void {
    writeU16(this.buf, this.offset + 12 + 4 * index, pid);
    writeU16(this.buf, this.offset + 14 + 4 * index, blp);
  }

  // FIR (RFC 5104 §4.3.1.1): entries of SSRC (4), sequence number (1), reserved (3).

  get firCount(): number {
    return (this.length - this.paddingLength - 12) >>> 3;
  }

  firSsrc(index: number): number {
    return readU32(this.buf, this.offset + 12 + 8 * index);
  }

  setFirSsrc(index: number, value: number): void {
    writeU32(this.buf, this.offset + 12 + 8 * index, value);
  }

  firSequence(index: number): number {
    return this.buf[this.offset + 16 + 8 * index]!;
  }

  // REMB (draft-alvestrand-rmcat-remb-03 §2.2).

  get rembSsrcCount(): number {
    return this.buf[this.offset + 16]!;
  }

  /** Bits per second: 18-bit mantissa × 2^(6-bit exponent). */
  get rembBitrate(): number {
    const b17 = this.buf[this.offset + 17]!;
    const mantissa = ((b17 & 0x03) << 16) | readU16(this.buf, this.offset + 18);
    return mantissa * 2 ** (b17 >>> 2);
  }

  rembSsrc(index: number): number {
    return readU32(this.buf, this.offset + 20 + 4 * index);
  }

  setRembSsrc(index: number, value: number): void {
    writeU32(this.buf, this.offset + 20 + 4 * index, value);
  }

  // Transport-wide congestion control feedback header (draft §3.1); chunks are not decoded here.

  get tccBaseSequence(): number {
    return readU16(this.buf, this.offset + 12);
  }

  get tccStatusCount(): number {
    return readU16(this.buf, this.offset + 14);
  }

  /** Signed 24-bit reference time in multiples of 64 ms. */
  get tccReferenceTime(): number {
    return (readU24(this.buf, this.offset + 16) << 8) >> 8;
  }

  get tccFeedbackCount(): number {
    return this.buf[this.offset + 19]!;
  }
}

/** One reception report block (RFC 3550 §6.4.1), as the bridge writes it into its receiver reports. */
export interface ReportBlock {
  /** SSRC_n: the source reported on. */
  ssrc: number;
  /** Fraction lost since the previous report, 8-bit fixed point (÷ 256). */
  fractionLost: number;
  /** Cumulative packets lost, signed 24-bit. */
  cumulativeLost: number;
  /** Extended highest sequence number received. */
  highestSequence: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** LSR: middle 32 bits of the NTP timestamp of the last SR received, 0 if none. */
  lastSr: number;
  /** DLSR: delay since that SR in units of 1/65536 s, 0 if none. */
  delaySinceLastSr: number;
}

/** RFC 3550 §6.4: the 5-bit RC field limits a report to 31 blocks; more go into further RRs. */
export const MAX_REPORT_BLOCKS = 31;

/**
 * Receiver reports (RFC 3550 §6.4.2) from `senderSsrc` carrying `blocks`, 31 per RR, as one
 * compound packet; a single empty RR when there are no blocks.
 */
export function buildReceiverReports(senderSsrc: number, blocks: readonly ReportBlock[]): Buffer {
  const packets = Math.max(1, Math.ceil(blocks.length / MAX_REPORT_BLOCKS));
  const out = Buffer.alloc(8 * packets + REPORT_BLOCK_LENGTH * blocks.length);
  let offset = 0;
  for (let p = 0; p < packets; p++) {
    const chunk = blocks.slice(p * MAX_REPORT_BLOCKS, (p + 1) * MAX_REPORT_BLOCKS);
    out[offset] = 0x80 | chunk.length;
    out[offset + 1] = RTCP_RR;
    writeU16(out, offset + 2, 1 + (REPORT_BLOCK_LENGTH / 4) * chunk.length);
    writeU32(out, offset + 4, senderSsrc);
    offset += 8;
    offset = writeReportBlocks(out, offset, chunk);
  }
  return out;
}

/** Writes report blocks from `offset`; returns the offset after them. */
function writeReportBlocks(out: Buffer, offset: number, blocks: readonly ReportBlock[]): number {
  for (const block of blocks) {
    writeU32(out, offset, block.ssrc);
    writeU32(out, offset + 4, block.cumulativeLost & 0xff_ffff);
    out[offset + 4] = block.fractionLost & 0xff;
    writeU32(out, offset + 8, block.highestSequence);
    writeU32(out, offset + 12, block.jitter);
    writeU32(out, offset + 16, block.lastSr);
    writeU32(out, offset + 20, block.delaySinceLastSr);
    offset += REPORT_BLOCK_LENGTH;
  }
  return offset;
}

/** The sender info of an SR (RFC 3550 §6.4.1). */
export interface SenderInfo {
  /** NTP timestamp of the report: whole seconds since 1900, and the fraction as a 32-bit binary fraction. */
  ntpSeconds: number;
  ntpFraction: number;
  /** The same instant in the stream's RTP timestamp units. */
  rtpTimestamp: number;
  /** Packets and payload octets sent since the stream began (modulo 2^32). */
  packetCount: number;
  octetCount: number;
}

/**
 * A sender report (RFC 3550 §6.4.1) from `senderSsrc` with `blocks` as its reception reports
 * (at most 31), followed, when `cname` is given, by an SDES packet with that CNAME (§6.5.1): the
 * compound a sender sends (§6.1: every compound carries a CNAME).
 */
export function buildSenderReport(senderSsrc: number, info: SenderInfo, blocks: readonly ReportBlock[] = [], cname?: string): Buffer {
  if (blocks.length > MAX_REPORT_BLOCKS) throw new RangeError(`an SR carries at most ${MAX_REPORT_BLOCKS} report blocks`);
  const srLength = 28 + REPORT_BLOCK_LENGTH * blocks.length;
  const sdes = cname === undefined ? undefined : buildSdesCname(senderSsrc, cname);
  const out = Buffer.alloc(srLength + (sdes?.length ?? 0));
  out[0] = 0x80 | blocks.length;
  out[1] = RTCP_SR;
  writeU16(out, 2, srLength / 4 - 1);
  writeU32(out, 4, senderSsrc);
  writeU32(out, 8, info.ntpSeconds);
  writeU32(out, 12, info.ntpFraction);
  writeU32(out, 16, info.rtpTimestamp);
  writeU32(out, 20, info.packetCount);
  writeU32(out, 24, info.octetCount);
  writeReportBlocks(out, 28, blocks);
  sdes?.copy(out, srLength);
  return out;
}

/** An SDES packet (RFC 3550 §6.5) of one chunk: `ssrc` with its CNAME item (at most 255 bytes of UTF-8). */
export function buildSdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, 'utf8');
  if (text.length > 255) throw new RangeError('an SDES item holds at most 255 bytes');
  // Chunk: SSRC, CNAME item (type, length, text), then a null octet and padding to 32 bits.
  const chunkLength = (4 + 2 + text.length + 1 + 3) & ~3;
  const out = Buffer.alloc(4 + chunkLength);
  out[0] = 0x81;
  out[1] = RTCP_SDES;
  writeU16(out, 2, out.length / 4 - 1);
  writeU32(out, 4, ssrc);
  out[8] = SDES_CNAME;
  out[9] = text.length;
  text.copy(out, 10);
  return out;
}

/**
 * A copy of the SR the walker is on with only its sender info (RFC 3550 §6.4.1): report blocks
 * and profile-specific extensions removed, RC = 0, no padding. The report blocks describe what
 * its sender received, which is the bridge's business, not the other receivers'.
 */
export function senderInfoOnly(walker: RtcpWalker): Buffer {
  const out = Buffer.from(walker.buf.subarray(walker.offset, walker.offset + 28));
  out[0] = 0x80;
  writeU16(out, 2, 6);
  return out;
}

/**
 * Appends the sequence numbers one generic NACK entry reports lost (RFC 4585 §6.2.1: PID, then
 * PID + i + 1 for each set bit i of BLP) to `out`; returns how many were appended. With `seen`
 * (65,536 entries, one per sequence number), only those not marked yet, which it marks: the
 * caller clears what `out` holds afterwards.
 */
export function expandNack(pid: number, blp: number, out: number[], seen?: Uint8Array): number {
  let n = 0;
  for (let i = -1; i < 16; i++) {
    if (i >= 0 && ((blp >>> i) & 1) === 0) continue;
    const sequence = (pid + i + 1) & 0xffff;
    if (seen) {
      if (seen[sequence]) continue;
      seen[sequence] = 1;
    }
    out.push(sequence);
    n++;
  }
  return n;
}

/** Kind of the sub-packet at `offset` with `body` bytes before padding, or undefined when its layout does not fit. */
function classify(buf: Uint8Array, offset: number, pt: number, count: number, body: number): RtcpKind | undefined {
  switch (pt) {
    case RTCP_SR:
      return body >= 28 + REPORT_BLOCK_LENGTH * count ? 'sr' : undefined;
    case RTCP_RR:
      return body >= 8 + REPORT_BLOCK_LENGTH * count ? 'rr' : undefined;
    case RTCP_SDES: {
      let chunk = offset + 4;
      for (let i = 0; i < count; i++) {
        chunk = sdesChunkEnd(buf, offset, chunk, offset + body);
        if (chunk < 0) return undefined;
      }
      return 'sdes';
    }
    case RTCP_BYE:
      return body >= 4 + 4 * count ? 'bye' : undefined;
    case RTCP_APP:
      return body >= 12 ? 'app' : undefined;
    case RTCP_XR:
      return body >= 8 ? 'xr' : undefined;
    case RTCP_RTPFB:
      if (body < 12) return undefined;
      if (count === FMT_NACK) return body >= 16 ? 'nack' : undefined;
      if (count === FMT_TRANSPORT_CC) return body >= 20 ? 'transport-cc' : undefined;
      return 'rtpfb';
    case RTCP_PSFB:
      if (body < 12) return undefined;
      if (count === FMT_PLI) return 'pli';
      if (count === FMT_FIR) return body >= 20 && (body - 12) % 8 === 0 ? 'fir' : undefined;
      if (count === FMT_AFB && body >= 16 && readU32(buf, offset + 12) === REMB_ID) {
        return body >= 20 && body >= 20 + 4 * buf[offset + 16]! ? 'remb' : undefined;
      }
      return 'psfb';
    default:
      return 'unknown';
  }
}

/**
 * End of the SDES chunk starting at `chunk` (the next chunk's offset), or -1 when its items run
 * past `limit`. RFC 3550 §6.5: items end with a null octet, then pad to a 32-bit boundary.
 */
function sdesChunkEnd(buf: Uint8Array, packetOffset: number, chunk: number, limit: number = buf.length): number {
  let i = chunk + 4;
  for (;;) {
    if (i >= limit) return -1;
    if (buf[i] === 0) break;
    if (i + 2 > limit) return -1;
    i += 2 + buf[i + 1]!;
  }
  i++;
  const aligned = packetOffset + ((i - packetOffset + 3) & ~3);
  return aligned <= limit ? aligned : -1;
}

/** RFC 4585 §6.3.1 Picture Loss Indication: PSFB (PT 206) FMT 1, no FCI; 12 bytes. */
export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = 0x80 | FMT_PLI;
  packet[1] = RTCP_PSFB;
  writeU16(packet, 2, 2);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  return packet;
}

/**
 * RFC 4585 §6.2.1 generic NACK (RTPFB, PT 205, FMT 1) for the given lost sequence numbers of
 * `mediaSsrc`, packed into PID + BLP entries (each covers a PID and the 16 that follow it).
 */
export function buildNack(senderSsrc: number, mediaSsrc: number, lost: readonly number[]): Buffer {
  const sorted = [...new Set(lost.map((s) => s & 0xffff))].sort((a, b) => a - b);
  // Sequence numbers wrap: start after the largest gap so a run across 65535 → 0 stays together.
  let start = 0;
  let widest = -1;
  for (let i = 0; i < sorted.length; i++) {
    const gap = ((sorted[i]! - sorted[(i + sorted.length - 1) % sorted.length]!) & 0xffff) || 0x10000;
    if (gap > widest) {
      widest = gap;
      start = i;
    }
  }
  const ordered = [...sorted.slice(start), ...sorted.slice(0, start)];
  const entries: Array<[number, number]> = [];
  for (const seq of ordered) {
    const last = entries.at(-1);
    const distance = last ? (seq - last[0]) & 0xffff : 0;
    if (last && distance >= 1 && distance <= 16) last[1] |= 1 << (distance - 1);
    else entries.push([seq, 0]);
  }
  const packet = Buffer.alloc(12 + 4 * entries.length);
  packet[0] = 0x80 | FMT_NACK;
  packet[1] = RTCP_RTPFB;
  writeU16(packet, 2, 2 + entries.length);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  entries.forEach(([pid, blp], i) => {
    writeU16(packet, 12 + 4 * i, pid);
    writeU16(packet, 14 + 4 * i, blp);
  });
  return packet;
}
