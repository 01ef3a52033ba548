// Reads the RTP Dependency Descriptor header extension (AV1 RTP specification, Appendix A): the
// frame boundaries and template id of every packet, and the template dependency structure that
// keyframes carry, from which each template's spatial and temporal layer and each spatial layer's
// resolution are known. That is what the bridge needs to forward an AV1 SVC stream's layers per
// receiver; the DTIs, frame differences and chains are read past, not kept (the bridge forwards
// whole layers, see bridge/video-projection.ts).
//
// Syntax (A.8.2), bit fields MSB first across the element's bytes:
//   start_of_frame f(1), end_of_frame f(1), frame_dependency_template_id f(6), frame_number f(16);
//   when the element is longer than 3 bytes: five flags (structure present, active decode targets
//   present, custom DTIs, custom fdiffs, custom chains), then the structure —
//   template_id_offset f(6), dt_cnt_minus_one f(5), template layers (next_layer_idc f(2) until 3),
//   DTIs (2 bits per template and decode target), fdiffs (follows f(1), fdiff_minus_one f(4)),
//   chains (chain_cnt ns(DtCnt + 1), protected_by ns(chain_cnt) per target, f(4) per template and
//   chain), resolutions_present_flag f(1) and then 16-bit width − 1, height − 1 per spatial layer.

/** Templates at most (A.8.3: the template id is 6 bits). */
const MAX_TEMPLATES = 64;
/** Spatial layers at most that a structure may describe here (libwebrtc allows 4). */
export const DD_MAX_SPATIAL_LAYERS = 8;

/** What a keyframe's template dependency structure says about the layers. */
export class DependencyStructure {
  templateIdOffset = 0;
  decodeTargetCount = 0;
  templateCount = 0;
  readonly templateSpatialIds = new Uint8Array(MAX_TEMPLATES);
  readonly templateTemporalIds = new Uint8Array(MAX_TEMPLATES);
  maxSpatialId = 0;
  maxTemporalId = 0;
  /** Render height of each spatial layer; 0 when the structure gives no resolutions. */
  readonly heights = new Uint16Array(DD_MAX_SPATIAL_LAYERS);

  /** The template a packet's id names, or -1 when outside this structure (a keyframe with a new one was missed). */
  templateIndex(templateId: number): number {
    const index = (templateId + MAX_TEMPLATES - this.templateIdOffset) % MAX_TEMPLATES;
    return index < this.templateCount ? index : -1;
  }

  copyFrom(other: DependencyStructure): void {
    this.templateIdOffset = other.templateIdOffset;
    this.decodeTargetCount = other.decodeTargetCount;
    this.templateCount = other.templateCount;
    this.templateSpatialIds.set(other.templateSpatialIds);
    this.templateTemporalIds.set(other.templateTemporalIds);
    this.maxSpatialId = other.maxSpatialId;
    this.maxTemporalId = other.maxTemporalId;
    this.heights.set(other.heights);
  }
}

/** A reusable view of one Dependency Descriptor; {@link parse} overwrites every field. */
export class DependencyDescriptor {
  startOfFrame = false;
  endOfFrame = false;
  templateId = 0;
  frameNumber = 0;
  /** Whether this packet carries a template dependency structure (the first packet of a keyframe). */
  hasStructure = false;
  /** The structure this packet carries, valid when {@link hasStructure}. */
  readonly structure = new DependencyStructure();
  #buf: Uint8Array = new Uint8Array(0);
  #bit = 0;
  #end = 0;

  /** Reads the element value `buf[offset, offset + length)`; false when it is malformed or cut short. */
  parse(buf: Uint8Array, offset: number, length: number): boolean {
    this.hasStructure = false;
    if (length < 3 || offset + length > buf.length) return false;
    this.#buf = buf;
    this.#bit = offset * 8;
    this.#end = (offset + length) * 8;
    const b0 = buf[offset]!;
    this.startOfFrame = (b0 & 0x80) !== 0;
    this.endOfFrame = (b0 & 0x40) !== 0;
    this.templateId = b0 & 0x3f;
    this.frameNumber = (buf[offset + 1]! << 8) | buf[offset + 2]!;
    if (length === 3) return true;
    this.#bit += 24;
    const flags = this.#read(5);
    if (flags < 0) return false;
    if ((flags & 0x10) === 0) return true;
    if (!this.#readStructure()) return false;
    this.hasStructure = true;
    return true;
  }

  #readStructure(): boolean {
    const s = this.structure;
    const offset = this.#read(6);
    const dtCount = this.#read(5) + 1;
    if (offset < 0 || dtCount <= 0) return false;
    s.templateIdOffset = offset;
    s.decodeTargetCount = dtCount;
    // Template layers: each next_layer_idc says where the next template is (same, T+1, S+1 T0) or that none follows.
    let spatialId = 0;
    let temporalId = 0;
    let count = 0;
    let maxTemporalId = 0;
    for (;;) {
      if (count >= MAX_TEMPLATES || spatialId >= DD_MAX_SPATIAL_LAYERS) return false;
      s.templateSpatialIds[count] = spatialId;
      s.templateTemporalIds[count] = temporalId;
      count++;
      const next = this.#read(2);
      if (next < 0) return false;
      if (next === 3) break;
      if (next === 1) maxTemporalId = Math.max(maxTemporalId, ++temporalId);
      else if (next === 2) {
        temporalId = 0;
        spatialId++;
      }
    }
    s.templateCount = count;
    s.maxSpatialId = spatialId;
    s.maxTemporalId = maxTemporalId;
    // DTIs: 2 bits per template and decode target.
    if (!this.#skip(2 * count * dtCount)) return false;
    // Frame differences: a follows-flag before each 4-bit fdiff_minus_one, then a clear one.
    for (let t = 0; t < count; t++) {
      for (;;) {
        const follows = this.#read(1);
        if (follows < 0) return false;
        if (follows === 0) break;
        if (!this.#skip(4)) return false;
      }
    }
    // Chains.
    const chains = this.#ns(dtCount + 1);
    if (chains < 0) return false;
    if (chains > 0) {
      for (let dt = 0; dt < dtCount; dt++) if (this.#ns(chains) < 0) return false;
      if (!this.#skip(4 * count * chains)) return false;
    }
    s.heights.fill(0);
    const resolutions = this.#read(1);
    if (resolutions < 0) return false;
    if (resolutions === 1) {
      for (let sid = 0; sid <= spatialId; sid++) {
        const width = this.#read(16);
        const height = this.#read(16);
        if (width < 0 || height < 0) return false;
        s.heights[sid] = height + 1;
      }
    }
    return true;
  }

  /** f(n) for n ≤ 16; -1 past the end. */
  #read(n: number): number {
    if (this.#bit + n > this.#end) return -1;
    let value = 0;
    for (let i = 0; i < n; i++, this.#bit++) value = (value << 1) | ((this.#buf[this.#bit >>> 3]! >> (7 - (this.#bit & 7))) & 1);
    return value;
  }

  #skip(n: number): boolean {
    if (this.#bit + n > this.#end) return false;
    this.#bit += n;
    return true;
  }

  /** A.8.2 ns(n): a value in [0, n) in w − 1 or w bits (w: the bit length of n); -1 past the end. */
  #ns(n: number): number {
    let w = 0;
    for (let x = n; x !== 0; x >>= 1) w++;
    const m = (1 << w) - n;
    const v = this.#read(w - 1);
    if (v < 0) return -1;
    if (v < m) return v;
    const extra = this.#read(1);
    return extra < 0 ? -1 : (v << 1) - m + extra;
  }
}
