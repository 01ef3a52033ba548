// Recognises where an H.264 keyframe starts in its RTP packets, and the picture size its sequence
// parameter set gives, for the simulcast switch (video-projection.ts): an H.264 layer, as a VP8
// one, may only be switched to at the first packet of a keyframe.
//
// Specs: RFC 6184 §5.2–5.8 (NAL unit header F|NRI|Type; single NAL unit packets, types 1–23;
// STAP-A, type 24: NAL units each after a 16-bit size; FU-A, type 28: FU indicator, then
// S|E|R|Type; the interleaved types STAP-B, MTAP and FU-B are not used with WebRTC's
// packetization-mode 0 and 1). ITU-T H.264 §7.3.2.1.1 (seq_parameter_set_data), §7.3.3
// (slice_header: first_mb_in_slice first), §7.4.2.1.1 (frame cropping), §9.1 (Exp-Golomb codes),
// §7.4.1 (emulation prevention bytes: 00 00 03).
//
// A keyframe, as libwebrtc's encoders (OpenH264, VideoToolbox, Android's) send one, is an access
// unit that starts with its SPS and PPS (alone, or in a STAP-A) before the IDR slices. Only such a
// start is a switch between simulcast layers: the layers number their parameter sets alike (ids 0),
// so an IDR decoded with the previous layer's SPS would be garbage. A receiver that stays on its
// layer may also take up the stream again at an IDR's first slice (first_mb_in_slice 0) that
// follows a picture's end. Written by hand: the npm parsers of SPS that exist allocate per call or
// read whole streams, where this runs on packets as they are forwarded.

const NAL_IDR = 5;
const NAL_SPS = 7;
const STAP_A = 24;
const FU_A = 28;

/** Profiles whose SPS carries chroma format, bit depths and scaling matrices (H.264 §7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** What one RTP packet of H.264 carries; {@link parse} overwrites every field. */
export class H264Payload {
  /** It carries an SPS (single, in a STAP-A, or an FU-A's first fragment of one). */
  hasSps = false;
  /** It carries the start of an IDR slice that is the picture's first (first_mb_in_slice 0). */
  idrStart = false;
  /** It carries some of an IDR picture. */
  idr = false;
  /** Where the SPS's NAL unit (header included) lies in the packet, when {@link hasSps}; an FU-A fragment's may stop short. */
  spsOffset = -1;
  spsLength = 0;

  /** Reads the payload at `buf[offset, offset + length)`; false when it is not H.264 RTP as RFC 6184 packs it (empty, a size past the end, an interleaved type). */
  parse(buf: Uint8Array, offset: number, length: number): boolean {
    this.hasSps = false;
    this.idrStart = false;
    this.idr = false;
    this.spsOffset = -1;
    this.spsLength = 0;
    if (length < 1) return false;
    const end = offset + length;
    const type = buf[offset]! & 0x1f;
    if (type >= 1 && type <= 23) {
      this.#nal(buf, offset, end);
      return true;
    }
    if (type === STAP_A) {
      let at = offset + 1;
      while (at < end) {
        if (at + 2 > end) return false;
        const size = (buf[at]! << 8) | buf[at + 1]!;
        at += 2;
        if (size === 0 || at + size > end) return false;
        this.#nal(buf, at, at + size);
        at += size;
      }
      return true;
    }
    if (type === FU_A) {
      if (length < 2) return false;
      const header = buf[offset + 1]!;
      const start = (header & 0x80) !== 0;
      const fragmentType = header & 0x1f;
      if (fragmentType === NAL_IDR) {
        this.idr = true;
        // The slice header follows the FU header in the first fragment.
        if (start && length > 2 && (buf[offset + 2]! & 0x80) !== 0) this.idrStart = true;
      } else if (fragmentType === NAL_SPS && start) {
        // The NAL header is the FU indicator's F and NRI with the fragment's type: the SPS reader skips it.
        this.hasSps = true;
        this.spsOffset = offset + 1;
        this.spsLength = length - 1;
      }
      return true;
    }
    return false;
  }

  /**
   * Whether a receiver that holds this stream's parameter sets can start decoding at this packet:
   * it carries an SPS (a keyframe's start), or an IDR's first slice right after a picture's end.
   * A switch from another layer needs the SPS ({@link hasSps}).
   */
  decodableFrom(followsPictureEnd: boolean): boolean {
    return this.hasSps || (this.idrStart && followsPictureEnd);
  }

  /** One NAL unit, header at `start`, ending before `end`. */
  #nal(buf: Uint8Array, start: number, end: number): void {
    const type = buf[start]! & 0x1f;
    if (type === NAL_IDR) {
      this.idr = true;
      // first_mb_in_slice, ue(v): 0 is a single 1 bit.
      if (start + 1 < end && (buf[start + 1]! & 0x80) !== 0) this.idrStart = true;
    } else if (type === NAL_SPS && !this.hasSps) {
      this.hasSps = true;
      this.spsOffset = start;
      this.spsLength = end - start;
    }
  }
}

/** The SPS reader's state (module-level: one packet is read at a time, and nothing is allocated per call). */
const reader: { buf: Uint8Array; at: number; end: number; bit: number; byte: number; zeros: number; over: boolean } = { buf: new Uint8Array(0), at: 0, end: 0, bit: 0, byte: 0, zeros: 0, over: false };

/** Starts reading RBSP bits at `buf[start, end)`. */
function begin(buf: Uint8Array, start: number, end: number): void {
  reader.buf = buf;
  reader.at = start;
  reader.end = end;
  reader.bit = 8;
  reader.byte = 0;
  reader.zeros = 0;
  reader.over = false;
}

/** The next bit, the emulation prevention bytes (00 00 03) left out; 0 past the end (then `over`). */
function readBit(): number {
  if (reader.bit === 8) {
    if (reader.at >= reader.end) {
      reader.over = true;
      return 0;
    }
    let byte = reader.buf[reader.at++]!;
    if (reader.zeros >= 2 && byte === 3) {
      reader.zeros = 0;
      if (reader.at >= reader.end) {
        reader.over = true;
        return 0;
      }
      byte = reader.buf[reader.at++]!;
    }
    reader.zeros = byte === 0 ? reader.zeros + 1 : 0;
    reader.byte = byte;
    reader.bit = 0;
  }
  return (reader.byte >> (7 - reader.bit++)) & 1;
}

function readBits(count: number): number {
  let value = 0;
  for (let i = 0; i < count; i++) value = value * 2 + readBit();
  return value;
}

/** ue(v) (H.264 §9.1); -1 when longer than 31 leading zeros or past the end. */
function readUe(): number {
  let zeros = 0;
  while (readBit() === 0) {
    if (reader.over || ++zeros > 31) return -1;
  }
  return 2 ** zeros - 1 + readBits(zeros);
}

/** se(v) (H.264 §9.1.1). */
function readSe(): number {
  const code = readUe();
  if (code < 0) return 0;
  return code % 2 === 1 ? (code + 1) / 2 : -(code / 2);
}

/**
 * The picture size (after cropping) that the SPS NAL unit at `buf[offset, offset + length)`
 * (its header byte first) gives; undefined when it is cut short or inconsistent.
 */
export function readSpsDimensions(buf: Uint8Array, offset: number, length: number): { width: number; height: number } | undefined {
  if (length < 4) return undefined;
  begin(buf, offset + 1, offset + length);
  const profile = readBits(8);
  readBits(16); // constraint flags, level_idc
  if (readUe() < 0) return undefined; // seq_parameter_set_id
  let chromaFormat = 1;
  let separateColourPlane = 0;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = readUe();
    if (chromaFormat < 0 || chromaFormat > 3) return undefined;
    if (chromaFormat === 3) separateColourPlane = readBit();
    readUe(); // bit_depth_luma_minus8
    readUe(); // bit_depth_chroma_minus8
    readBit(); // qpprime_y_zero_transform_bypass_flag
    if (readBit() === 1) {
      // seq_scaling_matrix_present_flag: each list present is skipped (§7.3.2.1.1.1).
      const lists = chromaFormat === 3 ? 12 : 8;
      for (let i = 0; i < lists && !reader.over; i++) {
        if (readBit() === 0) continue;
        const size = i < 6 ? 16 : 64;
        let last = 8;
        let next = 8;
        for (let j = 0; j < size && !reader.over; j++) {
          if (next !== 0) next = (last + readSe() + 256) % 256;
          last = next === 0 ? last : next;
        }
      }
    }
  }
  readUe(); // log2_max_frame_num_minus4
  const pocType = readUe();
  if (pocType === 0) {
    readUe(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    readBit(); // delta_pic_order_always_zero_flag
    readSe(); // offset_for_non_ref_pic
    readSe(); // offset_for_top_to_bottom_field
    const cycle = readUe();
    if (cycle < 0 || cycle > 255) return undefined;
    for (let i = 0; i < cycle; i++) readSe();
  } else if (pocType !== 2) {
    return undefined;
  }
  readUe(); // max_num_ref_frames
  readBit(); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = readUe() + 1;
  const heightInMapUnits = readUe() + 1;
  const frameMbsOnly = readBit();
  if (frameMbsOnly === 0) readBit(); // mb_adaptive_frame_field_flag
  readBit(); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (readBit() === 1) crop = [readUe(), readUe(), readUe(), readUe()];
  if (reader.over || widthInMbs <= 0 || heightInMapUnits <= 0 || crop.some((c) => c < 0)) return undefined;
  const monochrome = chromaFormat === 0 || separateColourPlane === 1;
  const cropUnitX = monochrome ? 1 : chromaFormat === 3 ? 1 : 2;
  const cropUnitY = (monochrome ? 1 : chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = widthInMbs * 16 - (crop[0]! + crop[1]!) * cropUnitX;
  const height = (2 - frameMbsOnly) * heightInMapUnits * 16 - (crop[2]! + crop[3]!) * cropUnitY;
  return width > 0 && height > 0 ? { width, height } : undefined;
}
