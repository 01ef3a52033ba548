// Reads the VP9 RTP payload descriptor (RFC 9628 §4.2): the layer indices that let the bridge drop
// spatial and temporal layers of an SVC stream, the frame boundaries, keyframes, and the
// scalability structure with each spatial layer's resolution (§4.2.1).
//
//        0 1 2 3 4 5 6 7
//       +-+-+-+-+-+-+-+-+
//       |I|P|L|F|B|E|V|Z|   required
//       +-+-+-+-+-+-+-+-+
//  I:   |M| PICTURE ID  |   M = 1 ⇒ a second octet, 15-bit picture ID
//  M:   | EXTENDED PID  |
//  L:   |  T  |U|  S  |D|   TID, switching-up point, SID, inter-layer dependency
//       |   TL0PICIDX   |   when L and F = 0 (non-flexible mode)
//  P,F: | P_DIFF      |N|   flexible mode: up to 3 reference differences
//  V:   | SS ...        |   scalability structure: | N_S |Y|G|-|-|-| then, with Y, N_S + 1 times
//                           16-bit WIDTH and HEIGHT, then with G: N_G and N_G picture descriptions
//       +-+-+-+-+-+-+-+-+
//
// B and E mark the first and last packet of one spatial layer's frame; the RTP marker bit marks the
// end of the whole picture (its highest spatial layer). A picture starts with B on SID 0.

const EMPTY = new Uint8Array(0);
/** RFC 9628 §4.2: SID and N_S are 3 bits. */
export const VP9_MAX_SPATIAL_LAYERS = 8;

/** A reusable view of one VP9 payload descriptor; {@link parse} overwrites every field. */
export class Vp9Descriptor {
  buf: Uint8Array = EMPTY;
  /** P: the frame references an earlier picture (inter-picture predicted). */
  interPicture = false;
  /** F: flexible mode (references in the descriptor, no TL0PICIDX). */
  flexible = false;
  /** B: first packet of a spatial layer's frame. */
  beginsFrame = false;
  /** E: last packet of a spatial layer's frame. */
  endsFrame = false;
  /** Picture ID (7 or 15 bits), or -1 when absent. */
  pictureId = -1;
  /** TID; 0 when the descriptor has no layer indices. */
  temporalId = 0;
  /** U: a switching-up point (a later frame of a higher TID references only this or later ones). */
  switchingUp = false;
  /** SID; 0 when the descriptor has no layer indices. */
  spatialId = 0;
  /** D: the frame depends on the spatial layer below in the same picture. */
  interLayer = false;
  /** TL0PICIDX (non-flexible mode), or -1. */
  tl0PicIdx = -1;
  /** The scalability structure's number of spatial layers, or 0 when this packet has none. */
  ssLayers = 0;
  /** With {@link ssLayers} and Y: each spatial layer's height (SID order); 0 where not given. */
  readonly ssHeights = new Uint16Array(VP9_MAX_SPATIAL_LAYERS);
  readonly ssWidths = new Uint16Array(VP9_MAX_SPATIAL_LAYERS);

  /** Reads the descriptor at `buf[offset, offset + length)`; false when it does not fit. */
  parse(buf: Uint8Array, offset: number, length: number): boolean {
    this.buf = buf;
    this.pictureId = -1;
    this.temporalId = 0;
    this.switchingUp = false;
    this.spatialId = 0;
    this.interLayer = false;
    this.tl0PicIdx = -1;
    this.ssLayers = 0;
    const end = offset + length;
    if (length < 1 || end > buf.length) return false;
    const b0 = buf[offset]!;
    const hasPictureId = (b0 & 0x80) !== 0;
    this.interPicture = (b0 & 0x40) !== 0;
    const hasLayers = (b0 & 0x20) !== 0;
    this.flexible = (b0 & 0x10) !== 0;
    this.beginsFrame = (b0 & 0x08) !== 0;
    this.endsFrame = (b0 & 0x04) !== 0;
    const hasSs = (b0 & 0x02) !== 0;
    let i = offset + 1;
    if (hasPictureId) {
      if (i >= end) return false;
      const p0 = buf[i++]!;
      if ((p0 & 0x80) !== 0) {
        if (i >= end) return false;
        this.pictureId = ((p0 & 0x7f) << 8) | buf[i++]!;
      } else {
        this.pictureId = p0;
      }
    }
    if (hasLayers) {
      if (i >= end) return false;
      const l = buf[i++]!;
      this.temporalId = l >> 5;
      this.switchingUp = (l & 0x10) !== 0;
      this.spatialId = (l >> 1) & 0x07;
      this.interLayer = (l & 0x01) !== 0;
      if (!this.flexible) {
        if (i >= end) return false;
        this.tl0PicIdx = buf[i++]!;
      }
    }
    if (this.flexible && this.interPicture) {
      // Up to three P_DIFF octets, N set on all but the last.
      for (let k = 0; ; k++) {
        if (i >= end || k === 3) return false;
        if ((buf[i++]! & 0x01) === 0) break;
      }
    }
    if (hasSs) {
      if (i >= end) return false;
      const v = buf[i++]!;
      const layers = (v >> 5) + 1;
      if ((v & 0x10) !== 0) {
        if (i + 4 * layers > end) return false;
        for (let s = 0; s < layers; s++, i += 4) {
          this.ssWidths[s] = (buf[i]! << 8) | buf[i + 1]!;
          this.ssHeights[s] = (buf[i + 2]! << 8) | buf[i + 3]!;
        }
      } else {
        this.ssWidths.fill(0);
        this.ssHeights.fill(0);
      }
      // The picture group description (G) is not needed to drop layers: not read.
      this.ssLayers = layers;
    }
    return true;
  }

  /** The first packet of a keyframe picture: SID 0, its frame's first packet, no inter-picture reference. */
  get keyframeStart(): boolean {
    return this.beginsFrame && this.spatialId === 0 && !this.interPicture;
  }

  /** The first packet of a picture (its SID 0 frame's first packet). */
  get pictureStart(): boolean {
    return this.beginsFrame && this.spatialId === 0;
  }
}
