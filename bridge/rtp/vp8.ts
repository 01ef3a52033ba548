// Reads and rewrites the VP8 RTP payload descriptor in place, and recognises keyframes and their
// dimensions.
//
// Specs: RFC 7741 §4.2 (payload descriptor), §4.3 (payload header: P bit = inverse key frame
// flag, keyframe start code and dimensions), RFC 6386 §9.1 (uncompressed data chunk: 3-byte frame
// tag, start code 9d 01 2a, 14-bit width and height with 2-bit scaling, little-endian).
//
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |X|R|N|S|R| PID |   required
//       +-+-+-+-+-+-+-+-+
//  X:   |I|L|T|K| RSV   |   when X
//       +-+-+-+-+-+-+-+-+
//  I:   |M| PictureID   |   when I; M = 1 ⇒ a second octet, 15-bit PictureID
//       |   PictureID   |
//  L:   |   TL0PICIDX   |   when L
//  T/K: |TID|Y| KEYIDX  |   when T or K
//       +-+-+-+-+-+-+-+-+

const EMPTY = new Uint8Array(0);

/** A reusable view of one VP8 payload descriptor; {@link parse} overwrites every field. */
export class Vp8Descriptor {
  buf: Uint8Array = EMPTY;
  /** Offset of the descriptor (the RTP payload offset). */
  offset = 0;
  /** Descriptor bytes; the VP8 payload header/frame data follows. */
  length = 0;
  extended = false;
  /** N: a non-reference frame (may be discarded without affecting others). */
  nonReference = false;
  /** S: first packet of a VP8 partition. */
  start = false;
  partitionId = 0;
  /** 7 or 15 when a PictureID is present, else 0. */
  pictureIdBits = 0;
  /** PictureID, or -1 when absent. */
  pictureId = -1;
  pictureIdOffset = -1;
  /** TL0PICIDX, or -1 when absent. */
  tl0PicIdx = -1;
  tl0PicIdxOffset = -1;
  /** TID, or -1 when T = 0. */
  temporalId = -1;
  /** Y: layer sync (meaningful with T). */
  layerSync = false;
  /** KEYIDX, or -1 when K = 0. */
  keyIdx = -1;

  /** Reads the descriptor at `buf[offset, offset + length)`; false when it does not fit. */
  parse(buf: Uint8Array, offset: number, length: number): boolean {
    this.buf = buf;
    this.offset = offset;
    this.pictureIdBits = 0;
    this.pictureId = -1;
    this.pictureIdOffset = -1;
    this.tl0PicIdx = -1;
    this.tl0PicIdxOffset = -1;
    this.temporalId = -1;
    this.layerSync = false;
    this.keyIdx = -1;
    const end = offset + length;
    if (length < 1 || end > buf.length) return false;
    const b0 = buf[offset]!;
    this.extended = (b0 & 0x80) !== 0;
    this.nonReference = (b0 & 0x20) !== 0;
    this.start = (b0 & 0x10) !== 0;
    this.partitionId = b0 & 0x07;
    let i = offset + 1;
    if (this.extended) {
      if (i >= end) return false;
      const x = buf[i++]!;
      if ((x & 0x80) !== 0) {
        if (i >= end) return false;
        this.pictureIdOffset = i;
        const p0 = buf[i++]!;
        if ((p0 & 0x80) !== 0) {
          if (i >= end) return false;
          this.pictureIdBits = 15;
          this.pictureId = ((p0 & 0x7f) << 8) | buf[i++]!;
        } else {
          this.pictureIdBits = 7;
          this.pictureId = p0;
        }
      }
      if ((x & 0x40) !== 0) {
        if (i >= end) return false;
        this.tl0PicIdxOffset = i;
        this.tl0PicIdx = buf[i++]!;
      }
      if ((x & 0x30) !== 0) {
        if (i >= end) return false;
        const tk = buf[i++]!;
        if ((x & 0x20) !== 0) {
          this.temporalId = tk >>> 6;
          this.layerSync = (tk & 0x20) !== 0;
        }
        if ((x & 0x10) !== 0) this.keyIdx = tk & 0x1f;
      }
    }
    this.length = i - offset;
    return true;
  }

  /**
   * Whether this packet begins a keyframe: S = 1, PID = 0 and the payload header's P bit
   * (inverse key frame flag, the first octet's least significant bit) is 0. `payloadEnd` is the
   * end of the RTP payload (padding excluded).
   */
  isKeyframeStart(payloadEnd: number): boolean {
    const header = this.offset + this.length;
    return this.start && this.partitionId === 0 && header < payloadEnd && (this.buf[header]! & 0x01) === 0;
  }

  /** Rewrites PictureID in place, keeping its 7- or 15-bit width; no-op when absent. */
  setPictureId(value: number): void {
    const i = this.pictureIdOffset;
    if (i < 0) return;
    if (this.pictureIdBits === 15) {
      this.pictureId = value & 0x7fff;
      this.buf[i] = 0x80 | (this.pictureId >>> 8);
      this.buf[i + 1] = this.pictureId & 0xff;
    } else {
      this.pictureId = value & 0x7f;
      this.buf[i] = this.pictureId;
    }
  }

  /** Rewrites TL0PICIDX in place; no-op when absent. */
  setTl0PicIdx(value: number): void {
    if (this.tl0PicIdxOffset < 0) return;
    this.tl0PicIdx = value & 0xff;
    this.buf[this.tl0PicIdxOffset] = this.tl0PicIdx;
  }
}

/** Keyframe dimensions in pixels, with the 2-bit upscaling hints of RFC 6386 §9.1. */
export interface Vp8Dimensions {
  width: number;
  height: number;
  horizontalScale: number;
  verticalScale: number;
}

/**
 * Dimensions from the keyframe header that follows the descriptor of a keyframe's first packet,
 * or undefined when the frame tag is not a keyframe's or the start code 9d 01 2a is missing.
 * Allocates its result: call once per keyframe, not per packet.
 */
export function readKeyframeDimensions(descriptor: Vp8Descriptor, payloadEnd: number): Vp8Dimensions | undefined {
  const buf = descriptor.buf;
  const h = descriptor.offset + descriptor.length;
  if (h + 10 > payloadEnd || !descriptor.isKeyframeStart(payloadEnd)) return undefined;
  if (buf[h + 3] !== 0x9d || buf[h + 4] !== 0x01 || buf[h + 5] !== 0x2a) return undefined;
  const w = buf[h + 6]! | (buf[h + 7]! << 8);
  const v = buf[h + 8]! | (buf[h + 9]! << 8);
  return { width: w & 0x3fff, height: v & 0x3fff, horizontalScale: w >>> 14, verticalScale: v >>> 14 };
}
