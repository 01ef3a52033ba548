/**
 * One video source as its receivers see it (jitsi-protocol.md §8.5). A simulcast sender sends up
 * to three layers, each on its own SSRC with its own RTX SSRC, but the focus tells receivers only
 * the first SSRC of the SIM group and its RTX partner. The bridge forwards ONE layer at a time,
 * re-stamped onto that SSRC with continuous sequence numbers, timestamps and VP8 PictureID /
 * TL0PICIDX (bridge/rtp/seqmap.ts), and retransmissions re-wrapped onto the known RTX SSRC.
 *
 * Layer choice (the fixed policy until receivers' bandwidth counts): the highest layer that is
 * arriving and not taller than the wanted height (learned from each layer's VP8 keyframes; before
 * that, by position: the top layer is assumed full height, each one below half of it); when no
 * arriving layer fits, the lowest arriving one. A sender that stops a layer (Chrome does when its
 * bandwidth estimate is low, and a screen share often sends only its top layer) is left after
 * {@link LAYER_TIMEOUT_MS}. Switches happen on a keyframe of the target layer, which is requested
 * from the sender (PLI) when the target changes and again while none comes.
 *
 * One projection serves every receiver of the source: the output is the same stream for all.
 */
import { RtpHeader, unwrapRtx, wrapRtx } from './rtp/packet.ts';
import { SeqMap, createSeqMapPacket, readSeqMapPacket, type SeqMapPacket } from './rtp/seqmap.ts';
import { Vp8Descriptor, readKeyframeDimensions } from './rtp/vp8.ts';

/** A layer that sent nothing this long is taken as stopped. */
export const LAYER_TIMEOUT_MS = 500;
/** Keyframe requests of one source (for a wanted layer, or for receivers) are at least this far apart. */
export const KEYFRAME_REQUEST_INTERVAL_MS = 300;

export interface VideoSourceLayers {
  /** SSRCs of the layers, lowest first (the SIM group's order); one entry without simulcast. */
  layers: readonly number[];
  /** Layer SSRC → its RTX SSRC (FID groups). */
  rtx: ReadonlyMap<number, number>;
}

export interface VideoProjectionOptions {
  /** RTX payload type → the payload type it repairs (`apt`). */
  rtxPayloadTypes: ReadonlyMap<number, number>;
  /** Payload types that carry VP8 (keyframes and PictureIDs are read from them). */
  vp8PayloadTypes: ReadonlySet<number>;
  /** Monotonic milliseconds. */
  now(): number;
  /** Asks the sender for a keyframe on `ssrc` (the conference sends a PLI). */
  requestKeyframe(ssrc: number): void;
}

export class VideoProjection {
  /** The SSRC receivers know (first of the SIM group) and its RTX partner. */
  readonly ssrc: number;
  readonly rtxSsrc: number | undefined;
  readonly #layers: readonly number[];
  readonly #layerOfRtx = new Map<number, number>();
  readonly #options: VideoProjectionOptions;
  readonly #map: SeqMap;
  readonly #lastSeen = new Map<number, number>();
  readonly #heights = new Map<number, number>();
  readonly #header = new RtpHeader();
  readonly #vp8 = new Vp8Descriptor();
  readonly #packet: SeqMapPacket = createSeqMapPacket();
  /** Outgoing RTX payload type per repaired payload type. */
  readonly #rtxPayloadTypeOf = new Map<number, number>();
  #wantedHeight = Number.POSITIVE_INFINITY;
  #target = -1;
  #lastKeyframeRequest = Number.NEGATIVE_INFINITY;
  #rtxSequence = Math.floor(Math.random() * 0x10000);
  /** Input minus output RTP timestamp of the current segment, for Sender Reports. */
  #timestampDelta = 0;

  constructor(source: VideoSourceLayers, options: VideoProjectionOptions) {
    if (source.layers.length === 0) throw new Error('a video source needs at least one SSRC');
    this.#layers = source.layers.map((s) => s >>> 0);
    this.ssrc = this.#layers[0]!;
    this.rtxSsrc = source.rtx.get(this.ssrc);
    for (const layer of this.#layers) {
      const rtx = source.rtx.get(layer);
      if (rtx !== undefined) this.#layerOfRtx.set(rtx >>> 0, layer);
    }
    this.#options = options;
    for (const [rtxPt, apt] of options.rtxPayloadTypes) this.#rtxPayloadTypeOf.set(apt, rtxPt);
    this.#map = new SeqMap({ ssrc: this.ssrc });
  }

  /** Every SSRC of the source (layers and RTX): the packets {@link project} takes. */
  ssrcs(): number[] {
    return [...this.#layers, ...this.#layerOfRtx.keys()];
  }

  /** The layer SSRC being forwarded, or -1. */
  get forwardedLayer(): number {
    return this.#map.currentSsrc;
  }

  /** The tallest picture any receiver wants (0: nobody wants this source; the stream pauses). */
  setWantedHeight(height: number): void {
    this.#wantedHeight = height;
    if (height <= 0) this.#map.pause();
  }

  /** Asks the sender for a keyframe of the layer wanted (or forwarded): a receiver needs one now. */
  keyframeNeeded(): void {
    const current = this.#map.currentSsrc;
    this.#askKeyframe(this.#target >= 0 ? this.#target : current >= 0 ? current : this.ssrc, this.#options.now());
  }

  /** At most one request per {@link KEYFRAME_REQUEST_INTERVAL_MS}, whoever asks and however often the target moves. */
  #askKeyframe(ssrc: number, now: number): void {
    if (now - this.#lastKeyframeRequest < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.#lastKeyframeRequest = now;
    this.#options.requestKeyframe(ssrc);
  }

  /**
   * Re-stamps one RTP packet of this source (layer or RTX) for the receivers, in place for media
   * and into a new buffer for a retransmission. Undefined when it is not to be forwarded.
   */
  project(packet: Uint8Array): Uint8Array | undefined {
    if (this.#wantedHeight <= 0) return undefined;
    const header = this.#header;
    if (header.parse(packet) !== 'ok') return undefined;
    const now = this.#options.now();
    const repairedLayer = this.#layerOfRtx.get(header.ssrc);
    let original = -1;
    if (repairedLayer !== undefined) {
      original = this.#options.rtxPayloadTypes.get(header.payloadType) ?? -1;
      // Chrome's bandwidth probes are padding-only RTX packets: nothing to repair.
      if (original < 0 || unwrapRtx(header, repairedLayer, original) === undefined) return undefined;
    } else if (this.#layers.includes(header.ssrc)) {
      this.#lastSeen.set(header.ssrc, now);
    } else {
      return undefined;
    }
    const vp8 = this.#options.vp8PayloadTypes.has(header.payloadType) && this.#vp8.parse(header.buf, header.payloadOffset, header.payloadLength) ? this.#vp8 : undefined;
    const input = readSeqMapPacket(this.#packet, header, vp8, now);
    // One layer means no switch: its stream (any codec) starts at once, the receiver asks for a keyframe.
    if (this.#layers.length === 1) input.keyframe = true;
    if (input.keyframe && vp8 !== undefined && repairedLayer === undefined) {
      const size = readKeyframeDimensions(vp8, header.payloadOffset + header.payloadLength);
      if (size) this.#heights.set(header.ssrc, size.height);
    }
    if (repairedLayer === undefined) this.#follow(input, now);
    const verdict = this.#map.map(input);
    if (verdict === 'unknown') return undefined;
    if (verdict === 'new') this.#timestampDelta = (input.timestamp - this.#map.outTimestamp) >>> 0;
    this.#map.applyTo(header, vp8);
    if (repairedLayer === undefined) return header.buf.subarray(0, header.length);
    const rtxPayloadType = this.#rtxPayloadTypeOf.get(original);
    if (this.rtxSsrc === undefined || rtxPayloadType === undefined) return undefined;
    this.#rtxSequence = (this.#rtxSequence + 1) & 0xffff;
    return wrapRtx(header, this.rtxSsrc, rtxPayloadType, this.#rtxSequence);
  }

  /**
   * A receiver's NACKed sequence number (of {@link ssrc}) as the sender's (layer SSRC, sequence
   * number), or undefined when it maps to nothing still known.
   */
  reverse(sequence: number): { ssrc: number; sequence: number } | undefined {
    return this.#map.reverse(sequence) ? { ssrc: this.#map.reverseSsrc, sequence: this.#map.reverseSequence } : undefined;
  }

  /** A sender report's RTP timestamp for the forwarded layer, as receivers see it; undefined for the others. */
  senderReportTimestamp(layerSsrc: number, rtpTimestamp: number): number | undefined {
    if (layerSsrc >>> 0 !== this.#map.currentSsrc) return undefined;
    return (rtpTimestamp - this.#timestampDelta) >>> 0;
  }

  /** Chooses the target layer from what arrives, and switches to it on its keyframe. */
  #follow(input: SeqMapPacket, now: number): void {
    const target = this.#chooseTarget(now);
    this.#target = target;
    if (target < 0 || target === this.#map.currentSsrc) return;
    if (input.ssrc === target && this.#map.canSwitchTo(input)) {
      this.#map.switchTo(input);
      return;
    }
    this.#askKeyframe(target, now);
  }

  #chooseTarget(now: number): number {
    const top = this.#layers.length - 1;
    let fitting = -1;
    let lowestArriving = -1;
    for (let i = 0; i <= top; i++) {
      const ssrc = this.#layers[i]!;
      const seen = this.#lastSeen.get(ssrc);
      if (seen === undefined || now - seen > LAYER_TIMEOUT_MS) continue;
      if (lowestArriving < 0) lowestArriving = ssrc;
      if (this.#heightOf(i) <= this.#wantedHeight) fitting = ssrc;
    }
    return fitting >= 0 ? fitting : lowestArriving;
  }

  /** The layer's height from its last keyframe; unknown: by position (each layer half the next). */
  #heightOf(index: number): number {
    const known = this.#heights.get(this.#layers[index]!);
    if (known !== undefined) return known;
    const topHeight = this.#heights.get(this.#layers[this.#layers.length - 1]!) ?? 720;
    return topHeight / 2 ** (this.#layers.length - 1 - index);
  }
}
