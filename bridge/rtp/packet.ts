// A reusable, allocation-free view of one RTP packet's header, with in-place setters, header
// extensions (read, rewritten, or added in a copy) and RTX (re)wrapping.
//
// Specs: RFC 3550 §5.1 (fixed header, CSRCs, padding) and §5.3.1 (extension block), RFC 8285
// §4.2/§4.3 (one-byte 0xBEDE and two-byte 0x100x extension elements), RFC 6464 §3 (audio level),
// draft-holmer-rmcat-transport-wide-cc-extensions-01 §2 (transport-wide sequence number),
// RFC 4588 §4 (RTX payload = 2-byte original sequence number + original payload).
//
// parse() never throws: a truncated or inconsistent packet yields a result code, so a hostile
// peer's bytes cost one comparison chain on the hot path.

import { readU16, readU32, writeU16, writeU32 } from './bytes.ts';

/** Outcome of {@link RtpHeader.parse}; anything but 'ok' means "drop the packet". */
export type RtpParseResult = 'ok' | 'truncated' | 'bad-version' | 'bad-csrc' | 'bad-extension' | 'bad-padding';

/** RFC 8285 §4.2: "defined by profile" value of the one-byte element form. */
export const EXTENSION_PROFILE_ONE_BYTE = 0xbede;
/** RFC 8285 §4.3: two-byte form is 0x100 followed by 4 "appbits"; compare `profile & 0xfff0`. */
export const EXTENSION_PROFILE_TWO_BYTE = 0x1000;

/** RFC 3550 §5.1: fixed header length. */
export const RTP_FIXED_HEADER_LENGTH = 12;

const EMPTY = new Uint8Array(0);

/**
 * A mutable view over one RTP packet. Reuse a single instance per pipeline stage: {@link parse}
 * overwrites every field, so no object is allocated per packet.
 */
export class RtpHeader {
  /** The packet the fields describe (after {@link unwrapRtx}, a subarray of the original). */
  buf: Uint8Array = EMPTY;
  /** Bytes of `buf` that belong to the packet. */
  length = 0;
  version = 0;
  padding = false;
  extension = false;
  csrcCount = 0;
  marker = false;
  payloadType = 0;
  sequenceNumber = 0;
  timestamp = 0;
  ssrc = 0;
  /** Fixed header + CSRC list + extension block (its 4-byte header included). */
  headerLength = 0;
  /** The extension block's "defined by profile" field; -1 when X = 0. */
  extensionProfile = -1;
  /** First byte of the extension elements (after the 4-byte extension header). */
  extensionOffset = 0;
  /** Bytes of extension elements (the block's length field × 4). */
  extensionLength = 0;
  payloadOffset = 0;
  /** Payload bytes, padding excluded. */
  payloadLength = 0;
  /** Trailing padding bytes, count octet included (0 when P = 0). */
  paddingLength = 0;
  /** Value length of the element found by the last successful {@link findExtension}. */
  foundLength = 0;
  /**
   * After a {@link findExtension} that found nothing: where the block's elements end (after the
   * last one read, so without the padding after it, nor anything from an id-15 byte on), or -1
   * when there is no block, or it is malformed or not RFC 8285's.
   */
  elementsEnd = -1;

  /**
   * Reads the header of `buf[0, length)`. Validation follows RFC 3550 Appendix A.1 for a single
   * packet: version 2, CSRC list, extension block and padding all inside the packet.
   */
  parse(buf: Uint8Array, length: number = buf.length): RtpParseResult {
    this.buf = buf;
    this.length = length;
    if (length < RTP_FIXED_HEADER_LENGTH || length > buf.length) return 'truncated';
    const b0 = buf[0]!;
    const b1 = buf[1]!;
    this.version = b0 >>> 6;
    if (this.version !== 2) return 'bad-version';
    this.padding = (b0 & 0x20) !== 0;
    this.extension = (b0 & 0x10) !== 0;
    this.csrcCount = b0 & 0x0f;
    this.marker = (b1 & 0x80) !== 0;
    this.payloadType = b1 & 0x7f;
    this.sequenceNumber = readU16(buf, 2);
    this.timestamp = readU32(buf, 4);
    this.ssrc = readU32(buf, 8);
    let offset = RTP_FIXED_HEADER_LENGTH + 4 * this.csrcCount;
    if (offset > length) return 'bad-csrc';
    this.extensionProfile = -1;
    this.extensionOffset = offset;
    this.extensionLength = 0;
    if (this.extension) {
      if (offset + 4 > length) return 'bad-extension';
      this.extensionProfile = readU16(buf, offset);
      this.extensionLength = 4 * readU16(buf, offset + 2);
      this.extensionOffset = offset + 4;
      offset += 4 + this.extensionLength;
      if (offset > length) return 'bad-extension';
    }
    this.headerLength = offset;
    this.payloadOffset = offset;
    this.paddingLength = 0;
    if (this.padding) {
      // §5.1: the last octet counts the padding, itself included, so it is at least 1.
      const count = buf[length - 1]!;
      if (count === 0 || count > length - offset) return 'bad-padding';
      this.paddingLength = count;
    }
    this.payloadLength = length - offset - this.paddingLength;
    return 'ok';
  }

  setSequenceNumber(value: number): void {
    this.sequenceNumber = value & 0xffff;
    writeU16(this.buf, 2, value);
  }

  setTimestamp(value: number): void {
    this.timestamp = value >>> 0;
    writeU32(this.buf, 4, value);
  }

  setSsrc(value: number): void {
    this.ssrc = value >>> 0;
    writeU32(this.buf, 8, value);
  }

  setPayloadType(value: number): void {
    this.payloadType = value & 0x7f;
    this.buf[1] = (this.buf[1]! & 0x80) | this.payloadType;
  }

  setMarker(value: boolean): void {
    this.marker = value;
    this.buf[1] = (this.buf[1]! & 0x7f) | (value ? 0x80 : 0);
  }

  /**
   * Offset of the value of header extension element `id`, or -1 when absent or malformed; its
   * length is left in {@link foundLength} (when absent, where the elements end in
   * {@link elementsEnd}). One-byte form: ids 1–14, a 0 byte is padding, and id 15 or a byte of id 0
   * with a non-zero length stops the scan (RFC 8285 §4.2; the second as libwebrtc reads it). Two-byte
   * form: ids 1–255, a 0 byte is padding (§4.3).
   */
  findExtension(id: number): number {
    const buf = this.buf;
    const end = this.extensionOffset + this.extensionLength;
    let i = this.extensionOffset;
    let used = i;
    if (this.extensionProfile === EXTENSION_PROFILE_ONE_BYTE) {
      while (i < end) {
        const b = buf[i]!;
        const elementId = b >>> 4;
        if (b === 0) {
          i++; // padding
          continue;
        }
        // Id 15, or id 0 with a length: libwebrtc's parser (RtpPacket::ParseBuffer) stops reading
        // there, so an element after it would be one the receiver never sees.
        if (elementId === 15 || elementId === 0) break;
        const len = (b & 0x0f) + 1;
        if (i + 1 + len > end) return this.#unreadable();
        if (elementId === id) {
          this.foundLength = len;
          return i + 1;
        }
        i += 1 + len;
        used = i;
      }
    } else if ((this.extensionProfile & 0xfff0) === EXTENSION_PROFILE_TWO_BYTE) {
      while (i < end) {
        const elementId = buf[i]!;
        if (elementId === 0) {
          i++;
          continue;
        }
        if (i + 2 > end) return this.#unreadable();
        const len = buf[i + 1]!;
        if (i + 2 + len > end) return this.#unreadable();
        if (elementId === id) {
          this.foundLength = len;
          return i + 2;
        }
        i += 2 + len;
        used = i;
      }
    } else {
      return this.#unreadable();
    }
    this.elementsEnd = used;
    return -1;
  }

  /** findExtension's answer when there is no block, or one it cannot read: nothing found, nowhere to add. */
  #unreadable(): -1 {
    this.elementsEnd = -1;
    return -1;
  }
}

/**
 * RFC 6464 §3 audio level octet (V bit << 7 | level in −dBov, 0 = loudest, 127 = silence) carried
 * in extension `id`, or -1 when absent.
 */
export function readAudioLevel(header: RtpHeader, id: number): number {
  const offset = header.findExtension(id);
  if (offset < 0 || header.foundLength < 1) return -1;
  return header.buf[offset]!;
}

/** The transport-wide sequence number carried in extension `id`, or -1 when absent. */
export function readTransportSequence(header: RtpHeader, id: number): number {
  const offset = header.findExtension(id);
  if (offset < 0 || header.foundLength < 2) return -1;
  return readU16(header.buf, offset);
}

/** Overwrites the transport-wide sequence number in place; false when the packet lacks extension `id`. */
export function writeTransportSequence(header: RtpHeader, id: number, value: number): boolean {
  const offset = header.findExtension(id);
  if (offset < 0 || header.foundLength < 2) return false;
  writeU16(header.buf, offset, value);
  return true;
}

/**
 * A copy of the parsed packet `header` with header extension element `id` = `value` added (RFC
 * 8285), X set, and CSRCs, payload and RTP padding as they were; undefined when that cannot be done
 * (the packet is left as it is). A packet without a block gets a one-byte (0xBEDE) one, or a
 * two-byte (0x1000) one for an element the one-byte form cannot carry (§4.2: id 1–14, 1–16 bytes).
 * A one-byte block takes only such an element; a two-byte block (its appbits kept) takes one of id
 * 1–255 and 0–255 bytes (§4.3). The element goes right after the block's last element: the padding
 * after that, and anything from an id-15 byte on (which ends a receiver's reading, §4.2), are
 * dropped, and the block is padded to 32-bit words with zeros. Undefined too when the packet has
 * element `id` already, or its block is malformed or of another profile (RFC 3550 §5.3.1).
 */
export function withHeaderExtension(header: RtpHeader, id: number, value: Uint8Array): Uint8Array | undefined {
  const oneByteFits = id >= 1 && id <= 14 && value.length >= 1 && value.length <= 16;
  const twoByteFits = id >= 1 && id <= 255 && value.length <= 255;
  let profile = oneByteFits ? EXTENSION_PROFILE_ONE_BYTE : EXTENSION_PROFILE_TWO_BYTE;
  /** Bytes of the block's elements kept. */
  let kept = 0;
  if (header.extension) {
    if (header.findExtension(id) >= 0 || header.elementsEnd < 0) return undefined;
    profile = header.extensionProfile;
    if (profile === EXTENSION_PROFILE_ONE_BYTE ? !oneByteFits : !twoByteFits) return undefined;
    kept = header.elementsEnd - header.extensionOffset;
  } else if (!twoByteFits) {
    return undefined;
  }
  const oneByte = profile === EXTENSION_PROFILE_ONE_BYTE;
  const blockLength = (kept + (oneByte ? 1 : 2) + value.length + 3) & ~3;
  const blockStart = RTP_FIXED_HEADER_LENGTH + 4 * header.csrcCount;
  const src = header.buf;
  const out = new Uint8Array(blockStart + 4 + blockLength + header.length - header.payloadOffset);
  out.set(src.subarray(0, blockStart), 0);
  out[0] = out[0]! | 0x10;
  writeU16(out, blockStart, profile);
  writeU16(out, blockStart + 2, blockLength >>> 2);
  let at = blockStart + 4;
  out.set(src.subarray(header.extensionOffset, header.extensionOffset + kept), at);
  at += kept;
  if (oneByte) {
    out[at++] = (id << 4) | (value.length - 1);
  } else {
    out[at++] = id;
    out[at++] = value.length;
  }
  out.set(value, at);
  // Payload and RTP padding, its count octet last as before.
  out.set(src.subarray(header.payloadOffset, header.length), blockStart + 4 + blockLength);
  return out;
}

/**
 * RFC 4588 §4: the original sequence number (OSN) at the start of an RTX payload, or -1 for a
 * packet too short to carry one (Chrome's padding-only probes on the RTX SSRC).
 */
export function rtxOriginalSequence(header: RtpHeader): number {
  if (header.payloadLength < 2) return -1;
  return readU16(header.buf, header.payloadOffset);
}

/**
 * Turns a parsed RTX packet back into the original packet in place: the header moves forward over
 * the OSN, then sequence number, SSRC and payload type are restored. Returns the original packet
 * (a subarray of `header.buf`, sharing its memory; `header` now describes it), or undefined when
 * the RTX payload has no OSN.
 */
export function unwrapRtx(header: RtpHeader, originalSsrc: number, originalPayloadType: number): Uint8Array | undefined {
  const osn = rtxOriginalSequence(header);
  if (osn < 0) return undefined;
  const buf = header.buf;
  buf.copyWithin(2, 0, header.payloadOffset);
  header.buf = buf.subarray(2, header.length);
  header.length -= 2;
  header.payloadLength -= 2;
  header.setSequenceNumber(osn);
  header.setSsrc(originalSsrc);
  header.setPayloadType(originalPayloadType);
  return header.buf;
}

/**
 * RFC 4588 §4: builds the RTX packet for the parsed packet `header` (left untouched): same header
 * (marker, timestamp, extensions, CSRCs, padding), the given RTX SSRC, payload type and sequence
 * number, and the original sequence number in front of the payload. Writes into `out` when it has
 * room (length + 2 bytes), otherwise allocates. Returns the RTX packet.
 */
export function wrapRtx(
  header: RtpHeader,
  rtxSsrc: number,
  rtxPayloadType: number,
  rtxSequenceNumber: number,
  out?: Uint8Array,
): Uint8Array {
  const length = header.length + 2;
  const target = out !== undefined && out.length >= length ? out.subarray(0, length) : new Uint8Array(length);
  const src = header.buf;
  const payloadOffset = header.payloadOffset;
  target.set(src.subarray(0, payloadOffset), 0);
  writeU16(target, payloadOffset, header.sequenceNumber);
  target.set(src.subarray(payloadOffset, header.length), payloadOffset + 2);
  target[1] = (target[1]! & 0x80) | (rtxPayloadType & 0x7f);
  writeU16(target, 2, rtxSequenceNumber);
  writeU32(target, 8, rtxSsrc);
  return target;
}
