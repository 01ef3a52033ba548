/**
 * One video source as each of its receivers sees it (jitsi-protocol.md §8.5). A simulcast sender
 * sends up to three layers, each on its own SSRC with its own RTX SSRC, but the focus tells
 * receivers only the first SSRC of the SIM group and its RTX partner. The bridge forwards to each
 * receiver ONE layer at a time, re-stamped onto that SSRC with sequence numbers, timestamps and
 * VP8 PictureID / TL0PICIDX continuous for THAT receiver (one bridge/rtp/seqmap.ts SeqMap per
 * receiver), and retransmissions re-wrapped onto the known RTX SSRC.
 *
 * Layer choice, per receiver (the fixed policy until receivers' bandwidth counts; jitsi-videobridge
 * keeps one projection context per receiver and source as well, AdaptiveSourceProjection.java):
 * the highest layer that is arriving and not taller than the height the receiver wants (learned
 * from each layer's VP8 keyframes; before that, by position: the top layer is assumed full height,
 * each one below half of it); when no arriving layer fits, the lowest arriving one. A sender that
 * stops a layer (Chrome does when its bandwidth estimate is low, and a screen share often sends only
 * its top layer) is left after {@link LAYER_TIMEOUT_MS}. Switches happen on a keyframe of the
 * target layer, which is requested from the sender (PLI) when the target changes and again while
 * none comes; requests are paced per layer, however many receivers wait for it.
 *
 * Temporal layers: a receiver with a frame-rate limit gets only the VP8 temporal layers (TID) that
 * fit it; the rest are dropped through SeqMap.drop(), so its stream stays without holes. Going up
 * waits for a layer-sync (Y) picture of a layer not forwarded (or a keyframe), whose references it
 * has.
 *
 * SVC, VP9 and AV1 (lib-jitsi-meet sends either as one SSRC carrying up to three spatial layers,
 * L3T3_KEY; VP9's layers are read from its payload descriptor, AV1's from the Dependency Descriptor
 * header extension and the template structure its keyframes carry):
 * within the forwarded SSRC, a receiver gets the spatial layers (SID) up to the tallest that fits
 * its height — the resolutions come from the scalability structure of the keyframes, else each
 * layer is taken as half the next — and the temporal layers (TID) its frame rate allows, decided
 * per picture; the RTP marker is moved to the end of the highest spatial layer it is sent. Every
 * lower spatial layer goes too (simple and always decodable; JVB sends K-SVC's upper layer alone
 * between keyframes, which saves about a quarter). Going down happens at the next picture; going
 * up, whose layer chain the receiver does not have, on a keyframe (asked of the sender). The
 * stream keeps its picture IDs (no SSRC switch in SVC); dropped packets leave no hole in the
 * receiver's sequence numbers (SeqMap.drop). RFC 9628; AV1 RTP specification Appendix A;
 * jitsi-videobridge's Vp9QualityFilter and Av1DDQualityFilter. A temporal layer comes back at a
 * TID 0 picture (everything after it references it or later ones) or, VP9, a switching-up point.
 * The Dependency Descriptor of VP8 and VP9 packets is blanked to padding: their receivers are
 * sent those codecs' own descriptors rewritten, and a descriptor left as the sender numbered it
 * would contradict them after a simulcast switch. AV1 packets keep theirs (one SSRC, no switch).
 *
 * One packet in, one rewrite per receiver: the packet (or, for a retransmission, one scratch
 * buffer) is re-stamped in place for each receiver in turn and handed over at once; the receiver's
 * endpoint consumes it before the next rewrite (it encrypts into a buffer of its own).
 */
import type { ExternalPackets, PacketCache } from './rtp/packet-cache.ts';
import { RtpHeader, unwrapRtx, wrapRtx } from './rtp/packet.ts';
import { SeqMap, createSeqMapPacket, readSeqMapPacket, type SeqMapPacket } from './rtp/seqmap.ts';
import { Vp8Descriptor, readKeyframeDimensions } from './rtp/vp8.ts';
import { DependencyDescriptor, DependencyStructure } from './rtp/dependency-descriptor.ts';
import { VP9_MAX_SPATIAL_LAYERS, Vp9Descriptor } from './rtp/vp9.ts';
import { H264Payload, readSpsDimensions } from './rtp/h264.ts';

/** A layer that sent nothing this long is taken as stopped. */
export const LAYER_TIMEOUT_MS = 500;
/** Keyframe requests for one layer (whoever wants it) are at least this far apart. */
export const KEYFRAME_REQUEST_INTERVAL_MS = 300;
/** Frame rate of the top VP8 temporal layer when it is not known better (LJM sends 30 fps, L1T3). */
export const FULL_FRAME_RATE = 30;
/** Each layer's bitrate is measured over windows this long. */
const BITRATE_WINDOW_MS = 1000;
/**
 * A window this far along counts when read: a layer's bitrate is then the higher of the last
 * window's and the current one's so far, so that a layer turned on or ramping up (Chrome raises a
 * new layer's rate over seconds) is seen within this long, not up to two windows later.
 */
const PARTIAL_WINDOW_MS = 300;
/**
 * Packets of a layer, from a keyframe's first one to the newest, that a receiver switching at that
 * keyframe late is sent at once (#switchAtLateKeyframe): a 720p keyframe and a few frames after it.
 */
const LATE_KEYFRAME_PACKETS = 128;
/** Packets of a layer watched for the late original of one forwarded late (from its retransmission, or the cache): twice the SRTP replay window, a power of two. */
const FROM_RETRANSMISSION_SLOTS = 128;
/** Output sequence numbers remembered per receiver as sent (ReceiverState.takeSlot): the sequence map's window. */
const SENT_SLOTS = 1024;

/** Whether 16-bit sequence number `a` is after `b` (by 1 to 32767). */
function isNewer(a: number, b: number): boolean {
  const ahead = (a - b) & 0xffff;
  return ahead !== 0 && ahead < 0x8000;
}
/** Highest VP8 TID forwarded when the receiver sets no frame-rate limit. */
const ALL_TEMPORAL_LAYERS = 3;
/** SVC: a SID above any (every spatial layer goes). */
const ALL_SPATIAL_LAYERS = VP9_MAX_SPATIAL_LAYERS;
/** Spatial and temporal id of an SVC packet whose layers cannot be read: above any receiver's. */
const UNCLASSIFIED_LAYER = 255;

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
  /** Payload types that carry VP9 (spatial and temporal layers are read from them); default none. */
  vp9PayloadTypes?: ReadonlySet<number>;
  /** Payload types that carry AV1 (layers from the Dependency Descriptor); default none. */
  av1PayloadTypes?: ReadonlySet<number>;
  /** Payload types that carry H.264 (simulcast as VP8's; keyframes and their heights read from the NAL units); default none. */
  h264PayloadTypes?: ReadonlySet<number>;
  /** The negotiated id of the Dependency Descriptor header extension, or -1 (read when packets come). */
  dependencyDescriptorId?(): number;
  /** Monotonic milliseconds. */
  now(): number;
  /** Asks the sender for a keyframe on `ssrc` (the conference sends a PLI). */
  requestKeyframe(ssrc: number): void;
  /** A receiver's current layer stopped until the keyframe of the lower layer its bandwidth estimate moved it to (see #holdLayerFor). */
  onBandwidthHold?(receiverId: string): void;
  /**
   * Where every layer packet that arrives (and every retransmission, unwrapped) is kept, as the
   * sender sent it, so that receivers' NACKs are answered by the bridge ({@link retransmit}).
   */
  cache?: PacketCache;
  /**
   * The most bytes a receiver may be handed at once when caught up on a late keyframe
   * ({@link #switchAtLateKeyframe}): what its path would take in a short while. Default: no bound.
   */
  lateKeyframeBurstBytes?(receiverId: string): number;
  /**
   * On the native path: has the media socket's read forward `layerSsrc` itself to the receivers of
   * `route` (undefined: no more), each re-stamped as this projection would, from `route.next` on;
   * returns the route's ring, where the read notes each packet it forwarded (undefined: refused,
   * the layer stays JavaScript's). See {@link LayerRoute}.
   */
  route?(layerSsrc: number, route: LayerRoute | undefined): LayerRouteRing | undefined;
  /** Whether a receiver may be sent a layer by the read (the conference's part: a send target, no frame ends sent twice). Default: never. */
  routable?(receiverId: string): boolean;
  /**
   * A layer packet the read forwarded, taken in (for the bridge's own NACKs: every media packet's
   * arrival); `contiguous`: the packets since the one reported last arrived too (reported are
   * then only picture ends and a run's last packet).
   */
  forwardedMedia?(layerSsrc: number, sequence: number, marker: boolean, arrival: number, contiguous: boolean): void;
  /** Whether the bridge's own NACKs await a packet of the layer (what the read forwarded is then reported packet by packet). */
  awaited?(layerSsrc: number): boolean;
}

/**
 * A steady layer the media socket's read forwards itself (salon_media.cc ForwardVideo): to each
 * receiver on it that takes every temporal layer, waits for no switch, hold or keyframe, only the
 * layer's next packet in order (`next`) that starts no keyframe, re-stamped with the receiver's
 * current deltas; anything else comes to {@link VideoProjection.project}, which first takes in
 * what the read forwarded (its ring, {@link VideoProjection.catchUp}). A layer no receiver is on
 * is routed to nobody: the read only notes its packets.
 */
export interface LayerRoute {
  next: number;
  receivers: Array<{ id: string; ssrc: number; sequenceDelta: number; timestampDelta: number; pictureIdDelta: number; tl0PicIdxDelta: number }>;
}

/** A route's ring (salon_media.cc VideoRing): per packet the read forwarded, its bytes and VIDEO_RING_FIELDS numbers. */
export interface LayerRouteRing {
  readonly meta: Float64Array;
  readonly bytes: Uint8Array;
  /** [0]: packets waiting; [1]: set once the route is gone (its endpoint's session changed); [2]: the sequence number the read takes next; [3]: the first waiting packet's. */
  readonly state: Int32Array;
  /** What to subtract from the ring's arrivals (the monotonic clock) to have them on now()'s clock. */
  monotonicOffset(): number;
}

/** Numbers per packet of a route's ring: sequence number, timestamp, PictureID (-1: none), its bits, TL0PICIDX (-1), marker, length, arrival (monotonic ms). */
const VIDEO_RING_FIELDS = 8;
/** Room per packet in a route's ring. */
const VIDEO_RING_SLOT_BYTES = 1500;
/** Packets a route's ring holds, in the slot their sequence number's low bits name (salon_media.cc kVideoRingSlots). */
const VIDEO_RING_SLOTS = 256;

/** A route's ring as the packet cache looks in it (after its own pool): the packets the read forwarded stay there until their slot is taken again. */
class RingPackets implements ExternalPackets {
  constructor(readonly ring: LayerRouteRing) {}

  get(sequence: number, now: number, maxAgeMs: number): Uint8Array | undefined {
    const slot = sequence & (VIDEO_RING_SLOTS - 1);
    const meta = this.ring.meta;
    const f = slot * VIDEO_RING_FIELDS;
    const length = meta[f + 6]!;
    if (meta[f] !== sequence || length === 0 || now - (meta[f + 7]! - this.ring.monotonicOffset()) > maxAgeMs) return undefined;
    return this.ring.bytes.subarray(slot * VIDEO_RING_SLOT_BYTES, slot * VIDEO_RING_SLOT_BYTES + length);
  }
}

/** A route as last handed to the read, per layer. */
interface PushedRoute {
  /** What it was made from, per receiver: its SSRC and four deltas (compared to decide a new push). */
  params: number[];
  receivers: ReceiverState[];
  ring: LayerRouteRing;
  /**
   * What was taken in and not yet given to the receivers' sequence maps and sent slots (see
   * VideoProjection.#syncReceivers): the newest packet taken in (-1: none), whether the receivers
   * mapped it, the newest packet of the picture before its own that they did not map (-1: none to
   * map), each with its ring record copied (the read may write over its slot meanwhile), and how
   * many packets were taken in since they last did.
   */
  last: number;
  lastRecord: Float64Array;
  synced: boolean;
  previous: number;
  previousRecord: Float64Array;
  pending: number;
}

/** Numbers per receiver in a route's params: its SSRC and its four deltas. */
const ROUTE_PARAMS = 5;

/** Copies the ring's record of packet `sequence` into `into`, its arrival (field 7) onto the process clock (`offset`: the ring's monotonicOffset). */
function copyRecord(meta: Float64Array, sequence: number, offset: number, into: Float64Array): void {
  const f = (sequence & (VIDEO_RING_SLOTS - 1)) * VIDEO_RING_FIELDS;
  for (let i = 0; i < VIDEO_RING_FIELDS; i++) into[i] = meta[f + i]!;
  into[7] = into[7]! - offset;
}

/**
 * Packets of a route taken in before its receivers are given them (#syncReceivers) at the latest,
 * far below the half of the 16-bit numbers over which the sequence maps extend theirs (maintain
 * does it at least once a second besides).
 */
const SYNC_AFTER_PACKETS = 1024;

/** How long maintain lets the routes stand without making them again when nothing they depend on moved. */
const ROUTES_CHECK_MS = 1000;

/** Whether the route pushed (its `next` aside) is the first `count` of `receivers` with their params (ROUTE_PARAMS each). */
function sameRoute(pushed: PushedRoute, receivers: readonly ReceiverState[], params: readonly number[], count: number): boolean {
  if (pushed.receivers.length !== count) return false;
  for (let i = 0; i < count; i++) if (pushed.receivers[i] !== receivers[i]) return false;
  for (let i = 0; i < count * ROUTE_PARAMS; i++) if (pushed.params[i] !== params[i]) return false;
  return true;
}

/** What {@link VideoProjection.retransmit} did with a receiver's NACKed sequence number. */
export type RetransmitResult =
  /** The bridge's copy went to the receiver as RTX. */
  | 'sent'
  /** Not in the cache: the sender must be asked for (layer SSRC, sequence). */
  | { ssrc: number; sequence: number }
  /** The sequence number maps to nothing still known. */
  | undefined;

/** An arriving layer as bandwidth allocation sees it (bridge/bandwidth-allocation.ts). */
export interface ArrivingLayer {
  ssrc: number;
  /** From its last keyframe, else by position. */
  height: number;
  /** Bits per second of RTP (headers included) over the last full window; 0 before one. */
  bitrate: number;
}

/** One packet's place in an SVC stream, from the VP9 descriptor or the AV1 Dependency Descriptor. */
interface SvcPacket {
  /** First packet of a picture (temporal unit): its SID 0 frame's first packet. */
  pictureStart: boolean;
  /** First packet of a keyframe picture. */
  keyframe: boolean;
  spatialId: number;
  temporalId: number;
  /** VP9's U bit: a higher temporal layer may start here. */
  switchingUp: boolean;
  /** Last packet of its spatial layer's frame. */
  endsFrame: boolean;
  /** On a keyframe: the spatial layers announced, 0 when not said. */
  declaredLayers: number;
  /** With declaredLayers: their heights (0 where unknown). */
  declaredHeights: ArrayLike<number>;
}

/**
 * Whether this SVC packet ends the picture as `receiver` gets it: the last packet of the highest
 * spatial layer it is sent (RFC 9628 §4.1; AV1 RTP §4.3: the end of the temporal unit).
 */
function endsPictureFor(svc: SvcPacket, receiver: ReceiverState): boolean {
  return svc.endsFrame && svc.spatialId === receiver.spatialId;
}

/** Hands one projected packet to a receiver; the buffer is reused once the call returns. */
export type ProjectedPacketSink = (receiverId: string, packet: Buffer) => void;

/** What one receiver of the source is sent. */
class ReceiverState {
  readonly map: SeqMap;
  /** 0: paused (nothing forwarded, the stream continues where it stopped when it resumes). */
  wantedHeight = 0;
  /** The layer (SSRC) to stop at its next picture's start: its bandwidth moved it lower while its path's queue fills (see #holdLayerFor); -1: none. */
  holdLayer = -1;
  /** Stopped that way and waiting for a keyframe (no layer forwarded until then). */
  held = false;
  /** Highest VP8 temporal layer (TID) wanted. */
  maxTemporalId = ALL_TEMPORAL_LAYERS;
  /** Highest TID forwarded now: falls at once, rises to a layer's TID on its layer-sync picture (or to maxTemporalId on a keyframe). */
  temporalId = ALL_TEMPORAL_LAYERS;
  /** PictureID of the picture whose TID decided {@link dropping} (every packet of a picture follows its first). */
  decidedPicture = -1;
  dropping = false;
  /** SVC: the temporal layers in force for the picture being forwarded (set at its first packet; a frame-rate change waits for the next). */
  pictureTemporalId = ALL_TEMPORAL_LAYERS;
  target = -1;
  /** The layer forwarded before the current one: its late packets still own output slots. */
  previousSsrc = -1;
  /** The probe cluster whose steps this receiver was last sent copies for, and the output sequence number its next step copies first (see VideoProjection.probe). */
  probeCluster = 0;
  probeNext = 0;
  /** SVC: highest spatial layer (SID) forwarded; ALL_SPATIAL_LAYERS until a keyframe sets it. */
  spatialId = ALL_SPATIAL_LAYERS;
  /** Input minus output RTP timestamp of the current segment, for Sender Reports. */
  timestampDelta = 0;
  rtxSequence = Math.floor(Math.random() * 0x10000);
  /**
   * The output sequence numbers last sent as media, by their low bits (SENT_SLOTS, as far back as
   * the sequence map gives a late packet its slot): a slot is sent once. Two packets in one slot would be two plaintexts under one SRTP index (keystream or
   * GCM nonce reuse towards the receiver); the sender's own replay window normally refuses the
   * second, but that window can be gone (its sender made the table forget it with packets of new
   * SSRCs), and a late duplicate then maps to the slot its first copy took.
   */
  #sentSlots: Uint16Array | undefined;

  constructor(readonly id: string, ssrc: number) {
    this.map = new SeqMap({ ssrc });
  }

  /** Whether the packet just re-stamped (its output sequence number) may go: false when that slot was sent already; marks it sent. */
  takeSlot(outSequence: number): boolean {
    const entry = outSequence & (SENT_SLOTS - 1);
    // Made at the first packet sent (2 KB; most receiver states of a large room are never sent
    // anything). Entry i starts at a number no output sequence number of that entry can have.
    const slots = (this.#sentSlots ??= Uint16Array.from({ length: SENT_SLOTS }, (_, i) => i ^ (SENT_SLOTS >>> 1)));
    if (slots[entry] === outSequence) return false;
    slots[entry] = outSequence;
    return true;
  }
}

export class VideoProjection {
  /** The SSRC receivers know (first of the SIM group) and its RTX partner. */
  readonly ssrc: number;
  readonly rtxSsrc: number | undefined;
  readonly #layers: readonly number[];
  readonly #layerOfRtx = new Map<number, number>();
  readonly #options: VideoProjectionOptions;
  readonly #receivers = new Map<string, ReceiverState>();
  /**
   * The receivers that want this source (height > 0), in the order they came, as an array: the
   * per-packet loop walks it, and a room's paused receivers (last-N keeps most of a large room's
   * sources from most receivers) cost it nothing.
   */
  #receiverList: ReceiverState[] = [];
  /** Per layer (index into #layers): last arrival, and height from its last keyframe (0: unknown). */
  readonly #lastSeen: Float64Array;
  readonly #heights: Float64Array;
  /** The layers arriving (lowest first) with their heights, as of {@link #survey}; shared by every receiver's choice. */
  readonly #arriving: Uint32Array;
  readonly #arrivingHeight: Float64Array;
  #arrivingCount = 0;
  /** Per layer: RTP bytes in the current window, and the bitrate of the last full one. */
  readonly #windowBytes: Float64Array;
  readonly #bitrates: Float64Array;
  #windowStart = Number.NEGATIVE_INFINITY;
  readonly #lastKeyframeRequest = new Map<number, number>();
  readonly #header = new RtpHeader();
  readonly #vp8 = new Vp8Descriptor();
  readonly #vp9 = new Vp9Descriptor();
  readonly #h264 = new H264Payload();
  readonly #dd = new DependencyDescriptor();
  /**
   * AV1: per layer SSRC, the template structure of its last keyframe (templateCount 0: none yet),
   * and that keyframe's frame number (-1: none). Each simulcast stream numbers its own templates.
   */
  readonly #ddStructures: DependencyStructure[];
  readonly #ddStructureFrames: Int32Array;
  readonly #svc: SvcPacket = {
    pictureStart: false, keyframe: false, spatialId: 0, temporalId: 0, switchingUp: false, endsFrame: false, declaredLayers: 0, declaredHeights: [],
  };
  /** #svc when the last packet read was VP9 (its Dependency Descriptor, if any, is blanked), else undefined. */
  #vp9Svc: SvcPacket | undefined;
  /** The last AV1 packet named a template of no structure known: a keyframe is needed. */
  #structureMissing = false;
  /** SVC: spatial layers of the stream (from its scalability structure, else the highest SID seen + 1), their heights (0: unknown), last arrivals and bytes per window. */
  #spatialCount = 0;
  readonly #spatialHeights = new Float64Array(VP9_MAX_SPATIAL_LAYERS);
  readonly #spatialLastSeen = new Float64Array(VP9_MAX_SPATIAL_LAYERS).fill(Number.NEGATIVE_INFINITY);
  readonly #spatialWindowBytes = new Float64Array(VP9_MAX_SPATIAL_LAYERS);
  readonly #spatialBitrates = new Float64Array(VP9_MAX_SPATIAL_LAYERS);
  /** The SSRC whose SVC spatial layers were last seen. */
  #spatialSsrc = -1;
  readonly #packet: SeqMapPacket = createSeqMapPacket();
  /** Outgoing RTX payload type per repaired payload type. */
  readonly #rtxPayloadTypeOf = new Map<number, number>();
  /** Where retransmissions are re-wrapped, one receiver after the other. */
  #scratch = Buffer.allocUnsafe(1600);
  /** Where a cached packet is copied to be re-stamped (the cache's own copy stays as the sender sent it). */
  #cached = Buffer.allocUnsafe(1600);
  /** Where a cached packet is copied to be forwarded late as media (#switchAtLateKeyframe). */
  #late = Buffer.allocUnsafe(1600);
  /** Whether the packet being projected starts a keyframe (read before a single layer's switch rule). */
  #keyframe = false;
  /** Whether a receiver whose stream paused may go on at the packet being projected (see project). */
  #resumable = false;
  /** Per layer: sequence number of the last packet to arrive with the marker bit (a picture's end), -1 before one. */
  readonly #lastPictureEnd: Int32Array;
  /** Per layer: the highest sequence number arrived (media, or the bridge's own request answered ahead of it), -1 before one. */
  readonly #highestSequence: Int32Array;
  /**
   * Per layer, FROM_RETRANSMISSION_SLOTS entries indexed by sequence number modulo that: the
   * packets lately forwarded as media from their retransmission (see project) or from the cache
   * (#switchAtLateKeyframe), -1 for none. Their originals, should they come after all, are
   * dropped: sent again in their slots, they would be other bytes (the transport-wide sequence
   * number is written per copy) under the same SRTP index, which the cipher must never see twice.
   * An original can come only within the bridge's SRTP replay window for the sender's SSRC (64
   * packets) of the newest; an entry lives until a packet of its layer FROM_RETRANSMISSION_SLOTS
   * further takes its place.
   */
  readonly #fromRetransmission: Int32Array;
  /** Whether the layer packet being projected is the one right after its layer's last picture end. */
  #followsPictureEnd = false;
  /** Per layer: entries of #fromRetransmission set (such a layer is not routed: the read would not drop their originals). */
  readonly #fromRetransmissionCount: Int32Array;
  /** Per layer: the route the media socket's read forwards it by, if any. */
  readonly #routes: Array<PushedRoute | undefined>;
  /** refreshRoutes' working lists (reused: it runs after every packet JavaScript handles). */
  readonly #routeReceivers: ReceiverState[] = [];
  readonly #routeParams: number[] = [];
  /** #routeInputs' lists, before and after a change to one receiver (reused). */
  readonly #inputsBefore: number[] = [];
  readonly #inputsAfter: number[] = [];
  /** Whether any layer has a route (nothing to take in otherwise). */
  #routed = false;

  constructor(source: VideoSourceLayers, options: VideoProjectionOptions) {
    if (source.layers.length === 0) throw new Error('a video source needs at least one SSRC');
    this.#layers = source.layers.map((s) => s >>> 0);
    this.#ddStructures = this.#layers.map(() => new DependencyStructure());
    this.#ddStructureFrames = new Int32Array(this.#layers.length).fill(-1);
    this.ssrc = this.#layers[0]!;
    this.rtxSsrc = source.rtx.get(this.ssrc);
    for (const layer of this.#layers) {
      const rtx = source.rtx.get(layer);
      if (rtx !== undefined) this.#layerOfRtx.set(rtx >>> 0, layer);
    }
    const n = this.#layers.length;
    this.#lastSeen = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
    this.#heights = new Float64Array(n);
    this.#arriving = new Uint32Array(n);
    this.#arrivingHeight = new Float64Array(n);
    this.#windowBytes = new Float64Array(n);
    this.#bitrates = new Float64Array(n);
    this.#lastPictureEnd = new Int32Array(n).fill(-1);
    this.#highestSequence = new Int32Array(n).fill(-1);
    this.#fromRetransmission = new Int32Array(n * FROM_RETRANSMISSION_SLOTS).fill(-1);
    this.#routes = new Array<PushedRoute | undefined>(n).fill(undefined);
    this.#fromRetransmissionCount = new Int32Array(n);
    this.#options = options;
    for (const [rtxPt, apt] of options.rtxPayloadTypes) this.#rtxPayloadTypeOf.set(apt, rtxPt);
  }

  /** Every SSRC of the source (layers and RTX): the packets {@link project} takes. */
  ssrcs(): number[] {
    return [...this.#layers, ...this.#layerOfRtx.keys()];
  }

  /** The receivers that want this source now (height > 0); a copy. */
  wantingReceiverIds(): string[] {
    this.catchUpLayers();
    return this.#receiverList.map((receiver) => receiver.id);
  }

  /** The layer SSRC forwarded to `receiverId`, or -1. */
  forwardedLayer(receiverId: string): number {
    this.catchUpLayers();
    return this.#receivers.get(receiverId)?.map.currentSsrc ?? -1;
  }

  /**
   * The height `receiverId` wants of this source (0: none; its stream pauses and continues where
   * it stopped when it resumes). A receiver starting or resuming needs a keyframe, asked here.
   * `bandwidth`: what its constraints alone ask (`height` being that within what its bandwidth
   * affords) and whether its path's queue fills (bwe/estimator.ts overloaded); when its bandwidth
   * then moves it to a lower layer, the layer it is on stops at once (see #holdLayerFor).
   */
  setWantedHeight(receiverId: string, height: number, bandwidth?: { constraintHeight: number; overloaded: boolean }): void {
    // Brought up to date first when its height changes. The same height (what an allocation sets
    // most often, for every source a receiver is sent) changes at most its hold, to none: that
    // takes it off no route, and one it then joins is made by refreshRoutes, which catches up first.
    const known = this.#receivers.get(receiverId);
    if (known === undefined || height <= 0 || known.wantedHeight !== height) this.catchUp();
    else this.catchUpLayers();
    const before = this.#routeInputs(receiverId, this.#inputsBefore);
    try {
      this.#setWantedHeight(receiverId, height, bandwidth);
    } finally {
      this.#refreshRoutesFor(receiverId, before);
    }
  }

  /** What a receiver's part in the routes depends on (see refreshRoutes), into `into`; its length (0: no such receiver). */
  #routeInputs(receiverId: string, into: number[]): number {
    const receiver = this.#receivers.get(receiverId);
    into.length = 0;
    if (!receiver) return 0;
    into.push(receiver.wantedHeight > 0 ? 1 : 0, this.#targetFor(receiver.wantedHeight), receiver.held ? 1 : 0, receiver.holdLayer, receiver.maxTemporalId, receiver.temporalId, receiver.map.currentSsrc);
    return into.length;
  }

  /**
   * After a change to one receiver: the routes made anew only if what its part depends on changed
   * (an allocation sets every receiver's height of every source, most often to what it was: each
   * refresh walking every receiver of every layer made that quadratic in a large room).
   */
  #refreshRoutesFor(receiverId: string, before: number): void {
    if (!this.#options.route) return;
    const after = this.#routeInputs(receiverId, this.#inputsAfter);
    if (after === before) {
      let same = true;
      for (let i = 0; i < after && same; i++) same = this.#inputsBefore[i] === this.#inputsAfter[i];
      if (same) return;
    }
    this.refreshRoutes();
  }

  #setWantedHeight(receiverId: string, height: number, bandwidth?: { constraintHeight: number; overloaded: boolean }): void {
    let receiver = this.#receivers.get(receiverId);
    if (!receiver) {
      if (height <= 0) return;
      this.#receivers.set(receiverId, (receiver = new ReceiverState(receiverId, this.ssrc)));
    }
    const before = receiver.wantedHeight;
    receiver.wantedHeight = Math.max(0, height);
    if ((before > 0) !== (receiver.wantedHeight > 0)) this.#listWanting();
    if (receiver.wantedHeight === 0) {
      receiver.map.pause();
      // Sent nothing now, it waits for no keyframe: held, it would keep the conference from probing
      // its path (Conference.waitsForKeyframe), which is what lets a suspended source come back.
      receiver.held = false;
    } else if (before === 0) {
      this.keyframeNeeded(receiverId);
    }
    // Armed when this allocation lowers the height; kept while the reasons hold.
    const hold = this.#holdLayerFor(receiver, bandwidth);
    if (receiver.wantedHeight < before || hold < 0) receiver.holdLayer = hold;
  }

  /** Whether the receiver's layer stopped for its bandwidth and it waits for a keyframe (it is not probed meanwhile). */
  isHeld(receiverId: string): boolean {
    // Not caught up first (catchUp): taking in what the read forwarded holds or releases nobody.
    const receiver = this.#receivers.get(receiverId);
    return receiver !== undefined && receiver.held && receiver.map.currentSsrc < 0;
  }

  /**
   * Simulcast: the layer to stop at its next picture's start rather than at the target's keyframe,
   * or -1. So it is when the receiver's bandwidth moves it to a lower layer (its constraints alone
   * would keep the current one or a taller) while its path's queue fills: the layer it is on is
   * too much for the path, and its packets would queue ahead of the keyframe the receiver
   * waits for and hold it back by seconds. A move down for its constraints, or on a path that is
   * not overloaded (a budget shared anew between sources, a lossy but uncongested link), keeps the
   * current layer until the switch, without a pause. Armed only by an allocation that lowers the
   * height (setWantedHeight), never per packet: heights learnt from a keyframe start none.
   */
  #holdLayerFor(receiver: ReceiverState, bandwidth: { constraintHeight: number; overloaded: boolean } | undefined): number {
    const current = receiver.map.currentSsrc;
    if (!bandwidth?.overloaded || current < 0 || receiver.wantedHeight <= 0 || this.#layers.length < 2) return -1;
    this.#survey(this.#options.now());
    const layer = this.#layers.indexOf(current);
    const target = this.#targetFor(receiver.wantedHeight);
    if (target < 0 || this.#layers.indexOf(target) >= layer) return -1;
    return this.#layers.indexOf(this.#targetFor(bandwidth.constraintHeight)) >= layer ? current : -1;
  }

  /**
   * The frame rate `receiverId` wants at most (ReceiverVideoConstraints' maxFrameRate; -1 or
   * absent: no limit): VP8 temporal layers above it are not forwarded. Layer TID t is taken to
   * run at FULL_FRAME_RATE / 2^(2 - t) (L1T3: 7.5, 15, 30 fps); TL0 always goes.
   */
  setMaxFrameRate(receiverId: string, maxFrameRate: number | undefined): void {
    this.catchUp();
    const before = this.#routeInputs(receiverId, this.#inputsBefore);
    try {
      this.#setMaxFrameRate(receiverId, maxFrameRate);
    } finally {
      this.#refreshRoutesFor(receiverId, before);
    }
  }

  #setMaxFrameRate(receiverId: string, maxFrameRate: number | undefined): void {
    const receiver = this.#receivers.get(receiverId);
    if (!receiver) return;
    let tid = ALL_TEMPORAL_LAYERS;
    if (maxFrameRate !== undefined && maxFrameRate >= 0) {
      tid = 0;
      while (tid < 2 && FULL_FRAME_RATE / 2 ** (2 - (tid + 1)) <= maxFrameRate) tid++;
      if (tid === 2) tid = ALL_TEMPORAL_LAYERS;
    }
    receiver.maxTemporalId = tid;
    if (receiver.temporalId > tid) receiver.temporalId = tid;
  }

  /** Forgets a receiver that left. */
  removeReceiver(receiverId: string): void {
    this.catchUp();
    if (this.#receivers.delete(receiverId)) this.#listWanting();
    this.refreshRoutes();
  }

  #listWanting(): void {
    this.#receiverList = [...this.#receivers.values()].filter((receiver) => receiver.wantedHeight > 0);
  }

  /**
   * Asks the sender for a keyframe of the layer `receiverId` waits for (or is forwarded): its
   * decoder needs one now. Without a receiver, of every layer some receiver waits for.
   */
  keyframeNeeded(receiverId?: string): void {
    this.catchUp();
    const now = this.#options.now();
    if (receiverId !== undefined) {
      const receiver = this.#receivers.get(receiverId);
      if (receiver) this.#askKeyframe(this.#layerFor(receiver, now), now);
      return;
    }
    for (const receiver of this.#receivers.values()) if (receiver.wantedHeight > 0) this.#askKeyframe(this.#layerFor(receiver, now), now);
  }

  /** The layer the receiver should be forwarded now (its height may have changed since the last packet). */
  #layerFor(receiver: ReceiverState, now: number): number {
    this.#survey(now);
    const target = this.#targetFor(receiver.wantedHeight);
    if (target >= 0) return target;
    const current = receiver.map.currentSsrc;
    return current >= 0 ? current : this.ssrc;
  }

  /** At most one request per layer per {@link KEYFRAME_REQUEST_INTERVAL_MS}, whoever asks and however often targets move. */
  #askKeyframe(ssrc: number, now: number): void {
    if (now - (this.#lastKeyframeRequest.get(ssrc) ?? Number.NEGATIVE_INFINITY) < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.#lastKeyframeRequest.set(ssrc, now);
    this.#options.requestKeyframe(ssrc);
  }

  /**
   * Re-stamps one RTP packet of this source (layer or RTX) for each receiver it goes to and hands
   * it to `send`: media to every receiver that is forwarded its layer, a retransmission to those of
   * `askers` (the receivers that NACKed it) that were sent the packet it repairs — or, when the
   * bridge itself asked for it (`lostOnTheWayIn`: no receiver has it), to every receiver that has a
   * slot for it, without waiting for their NACKs; such a retransmission newer than anything of its
   * layer goes on as media instead (see below). The media packet is rewritten in place. Returns
   * how many packets were handed over.
   */
  project(packet: Buffer, send: ProjectedPacketSink, askers?: ReadonlySet<string>, lostOnTheWayIn = false): number {
    this.catchUp();
    try {
      return this.#project(packet, send, askers, lostOnTheWayIn);
    } finally {
      if (this.#options.route) this.refreshRoutes();
    }
  }

  #project(packet: Buffer, send: ProjectedPacketSink, askers?: ReadonlySet<string>, lostOnTheWayIn = false): number {
    const header = this.#header;
    if (header.parse(packet) !== 'ok') return 0;
    const now = this.#options.now();
    const repairedLayer = this.#layerOfRtx.get(header.ssrc);
    let original = -1;
    this.#followsPictureEnd = false;
    // A media packet of a layer; or a retransmission the bridge asked for itself that is newer than
    // anything its layer brought (a tail-loss probe answered: the packet ending a frame, lost on
    // the way in, before any later one came): no receiver has a slot for it, and it goes on as
    // that layer's next packet, as if it had arrived in time.
    let media = repairedLayer === undefined;
    if (repairedLayer !== undefined) {
      original = this.#options.rtxPayloadTypes.get(header.payloadType) ?? -1;
      // Chrome's bandwidth probes are padding-only RTX packets: nothing to repair.
      if (original < 0 || unwrapRtx(header, repairedLayer, original) === undefined) return 0;
      const highest = this.#highestSequence[this.#layers.indexOf(repairedLayer)] ?? -1;
      media = lostOnTheWayIn && highest >= 0 && isNewer(header.sequenceNumber, highest);
    }
    if (media) {
      const index = this.#layers.indexOf(header.ssrc);
      if (index < 0) return 0;
      const entry = index * FROM_RETRANSMISSION_SLOTS + (header.sequenceNumber & (FROM_RETRANSMISSION_SLOTS - 1));
      if (repairedLayer !== undefined) {
        this.#setFromRetransmission(entry, header.sequenceNumber);
      } else if (this.#fromRetransmission[entry] !== -1) {
        const sent = this.#fromRetransmission[entry] === header.sequenceNumber;
        this.#setFromRetransmission(entry, -1); // answered, or one slot round older: taken either way
        if (sent) return 0;
      }
      this.#lastSeen[index] = now;
      this.#measure(index, header.length, now);
      const lastEnd = this.#lastPictureEnd[index]!;
      this.#followsPictureEnd = lastEnd >= 0 && ((header.sequenceNumber - lastEnd) & 0xffff) === 1;
      if (header.marker) this.#lastPictureEnd[index] = header.sequenceNumber;
      const highest = this.#highestSequence[index]!;
      if (highest < 0 || isNewer(header.sequenceNumber, highest)) this.#highestSequence[index] = header.sequenceNumber;
    }
    const vp8 = this.#options.vp8PayloadTypes.has(header.payloadType) && this.#vp8.parse(header.buf, header.payloadOffset, header.payloadLength) ? this.#vp8 : undefined;
    this.#structureMissing = false;
    // A retransmission's keyframe is an old one: its structure is not the one in force.
    const h264 = vp8 === undefined && this.#options.h264PayloadTypes?.has(header.payloadType) === true && this.#h264.parse(header.buf, header.payloadOffset, header.payloadLength) ? this.#h264 : undefined;
    const svc = vp8 === undefined && h264 === undefined ? this.#readSvc(header.payloadType, media) : undefined;
    // H.264 keeps no descriptor of its own to rewrite, but a simulcast switch would contradict its sender's Dependency Descriptor all the same.
    if (vp8 !== undefined || h264 !== undefined || (svc !== undefined && svc === this.#vp9Svc)) this.#blankDependencyDescriptor();
    // AV1 without a structure yet (its keyframe was lost): nothing can be decoded before the next one.
    if (this.#structureMissing) this.#askKeyframe(header.ssrc, now);
    // Kept before any receiver's rewrite, under the sender's own SSRC and sequence number.
    this.#options.cache?.insert(header.ssrc, header.sequenceNumber, header.buf, now, !media);
    const input = readSeqMapPacket(this.#packet, header, vp8, now);
    if (svc !== undefined) {
      input.keyframe = svc.keyframe;
      if (media) this.#noteSpatialLayer(svc, header.ssrc, header.length, now);
    } else if (h264 !== undefined) {
      // Only a keyframe's SPS starts a switch between layers (bridge/rtp/h264.ts).
      input.keyframe = h264.hasSps;
    }
    this.#keyframe = input.keyframe;
    // One layer means no switch: its stream (any codec) starts at once, the receiver asks for a keyframe.
    // Not a VP8 stream resumed after a pause: its PictureIDs, continuous, would show the receiver
    // a delta frame whose references it holds (stale ones); it waits for a keyframe (#follow).
    // Nor an H.264 one, whose frames follow each other by sequence number alone: it goes on at a
    // keyframe, or an IDR of its layer that starts a picture (a retransmission's place is not known).
    this.#resumable = input.keyframe || (vp8 === undefined && h264 === undefined) || (h264 !== undefined && h264.decodableFrom(media && this.#followsPictureEnd));
    if (this.#layers.length === 1) input.keyframe = true;
    if (input.keyframe && vp8 !== undefined && media) {
      const size = readKeyframeDimensions(vp8, header.payloadOffset + header.payloadLength);
      if (size) this.#heights[this.#layers.indexOf(header.ssrc)] = size.height;
    } else if (h264?.hasSps === true && media) {
      const size = readSpsDimensions(header.buf, h264.spsOffset, h264.spsLength);
      if (size) this.#heights[this.#layers.indexOf(header.ssrc)] = size.height;
    }
    if (media) return this.#forwardMedia(input, vp8, svc, now, send);
    // Read before the receivers' re-stamping rewrites the header.
    const layer = header.ssrc;
    // The keyframe bit as read (this.#keyframe): a single layer's packets all count as one, but it never switches.
    const keyframeStart = lostOnTheWayIn && (vp8 !== undefined || h264 !== undefined) && this.#keyframe && this.#layers.length > 1 ? header.sequenceNumber : -1;
    const sent = this.#forwardRetransmission(input, vp8, svc, original, send, lostOnTheWayIn ? this.#receivers.keys() : askers);
    return keyframeStart < 0 ? sent : sent + this.#switchAtLateKeyframe(layer, keyframeStart, now, send);
  }

  /**
   * The first packet of a VP8 or H.264 keyframe of `layer` (sequence number `first`), lost on the way in,
   * came back from the bridge's own request after the rest of the keyframe: a receiver waiting to
   * switch to that layer (its target) switches at it now, and is sent it and the layer's packets
   * that came after it from the cache, in order, as media — instead of waiting for the next
   * keyframe, asked for again no sooner than KEYFRAME_REQUEST_INTERVAL_MS later. Not past
   * LATE_KEYFRAME_PACKETS (a keyframe a burst that long behind the stream is better asked again),
   * nor to a receiver held for its bandwidth (its path's queue fills: no burst into it), nor to
   * one whose path would queue the burst too long (`lateKeyframeBurstBytes`): sent at once, its
   * packets would stand in the queue of a bottleneck and its estimate read that as congestion. The
   * receiver's timeline then runs ahead of the picture by the time the packet took to come back,
   * which its jitter buffer takes up. Returns the packets handed over.
   */
  #switchAtLateKeyframe(layer: number, first: number, now: number, send: ProjectedPacketSink): number {
    const index = this.#layers.indexOf(layer);
    const cache = this.#options.cache;
    const highest = index < 0 ? -1 : this.#highestSequence[index]!;
    const count = ((highest - first) & 0xffff) + 1;
    if (!cache || highest < 0 || count > LATE_KEYFRAME_PACKETS) return 0;
    let sent = 0;
    this.#survey(now);
    let burst = -1; // the bytes of the catch-up, summed when a receiver's bound asks
    for (const receiver of this.#receiverList) {
      if (receiver.target !== layer || receiver.map.currentSsrc === layer || receiver.held) continue;
      const bound = this.#options.lateKeyframeBurstBytes?.(receiver.id) ?? Infinity;
      if (bound < Infinity) {
        if (burst < 0) burst = this.#cachedBytes(cache, layer, first, count, now);
        if (burst > bound) continue;
      }
      for (let k = 0; k < count; k++) {
        const sequence = (first + k) & 0xffff;
        // One lost on the way in too is a hole the receiver asks for (its NACK finds it in the cache once it came).
        const cached = cache.get(layer, sequence, now);
        if (cached === undefined) {
          if (k === 0) break;
          continue;
        }
        if (this.#late.length < cached.byteLength) this.#late = Buffer.allocUnsafe(cached.byteLength);
        const copy = this.#late.subarray(0, cached.byteLength);
        copy.set(cached);
        const header = this.#header;
        if (header.parse(copy) !== 'ok') break;
        const vp8 = this.#options.vp8PayloadTypes.has(header.payloadType) && this.#vp8.parse(header.buf, header.payloadOffset, header.payloadLength) ? this.#vp8 : undefined;
        const input = readSeqMapPacket(this.#packet, header, vp8, now);
        // H.264: the keyframe's first packet is the one with its SPS (its IDR slices follow the SPS and PPS).
        const h264 = vp8 === undefined && this.#options.h264PayloadTypes?.has(header.payloadType) === true && this.#h264.parse(header.buf, header.payloadOffset, header.payloadLength);
        if (h264) input.keyframe = this.#h264.hasSps;
        this.#keyframe = input.keyframe;
        this.#resumable = input.keyframe || (vp8 === undefined && !h264);
        this.#followsPictureEnd = false; // no hold starts on a packet sent late
        if (this.#forwardMediaTo(receiver, input, vp8, undefined, vp8 === undefined ? -1 : vp8.temporalId, 0, copy[1]!, now, send) > 0) {
          sent++;
          // Its original, should it come after all (this one may be the answer to a request too),
          // must not be sent again in the slot the copy took.
          this.#setFromRetransmission(index * FROM_RETRANSMISSION_SLOTS + (sequence & (FROM_RETRANSMISSION_SLOTS - 1)), sequence);
        }
        // The keyframe's first packet did not switch it (its target moved since it was last judged): nothing to catch up.
        if (k === 0 && receiver.map.currentSsrc !== layer) break;
      }
    }
    return sent;
  }

  /** The bytes of the `count` packets of `layer` from `first` on that the cache holds. */
  #cachedBytes(cache: PacketCache, layer: number, first: number, count: number, now: number): number {
    let bytes = 0;
    for (let k = 0; k < count; k++) bytes += cache.lengthOf(layer, (first + k) & 0xffff, now);
    return bytes;
  }

  /**
   * The parsed packet's (this.#header) SVC facts, for VP9 and AV1 payload types; undefined for
   * others. A packet of those whose layers cannot be read (a descriptor that does not parse, a
   * template of no structure known) is {@link #unclassified}. `media`: a packet in arrival order
   * (not a late retransmission), whose AV1 keyframe structure becomes its SSRC's one in force.
   */
  #readSvc(payloadType: number, media: boolean): SvcPacket | undefined {
    const header = this.#header;
    const svc = this.#svc;
    this.#vp9Svc = undefined;
    if (this.#options.vp9PayloadTypes?.has(payloadType)) {
      const vp9 = this.#vp9;
      if (!vp9.parse(header.buf, header.payloadOffset, header.payloadLength)) return this.#unclassified();
      svc.pictureStart = vp9.pictureStart;
      svc.keyframe = vp9.keyframeStart;
      svc.spatialId = vp9.spatialId;
      svc.temporalId = vp9.temporalId;
      svc.switchingUp = vp9.switchingUp;
      svc.endsFrame = vp9.endsFrame;
      svc.declaredLayers = vp9.ssLayers;
      svc.declaredHeights = vp9.ssHeights;
      this.#vp9Svc = svc;
      return svc;
    }
    if (!this.#options.av1PayloadTypes?.has(payloadType)) return undefined;
    const id = this.#options.dependencyDescriptorId?.() ?? -1;
    const at = id > 0 ? header.findExtension(id) : -1;
    const dd = this.#dd;
    const layer = this.#layers.indexOf(header.ssrc);
    if (at < 0 || layer < 0 || !dd.parse(header.buf, at, header.foundLength)) return this.#unclassified();
    // A structure comes with each keyframe, in its first packet; it names every later packet's
    // template. From a retransmission too (the keyframe's first packet lost on the way in) when
    // none is known or it is newer than the one in force.
    const inForce = this.#ddStructures[layer]!;
    const learntAt = this.#ddStructureFrames[layer]!;
    if (dd.hasStructure && dd.startOfFrame && (media || learntAt < 0 || isNewer(dd.frameNumber, learntAt))) {
      inForce.copyFrom(dd.structure);
      this.#ddStructureFrames[layer] = dd.frameNumber;
    }
    const structure = dd.hasStructure ? dd.structure : inForce;
    const template = structure.templateCount > 0 ? structure.templateIndex(dd.templateId) : -1;
    if (template < 0) {
      this.#structureMissing = media;
      return this.#unclassified();
    }
    svc.spatialId = structure.templateSpatialIds[template]!;
    svc.temporalId = structure.templateTemporalIds[template]!;
    svc.pictureStart = dd.startOfFrame && svc.spatialId === 0;
    svc.keyframe = dd.hasStructure && dd.startOfFrame;
    svc.switchingUp = false;
    svc.endsFrame = dd.endOfFrame;
    svc.declaredLayers = dd.hasStructure ? structure.maxSpatialId + 1 : 0;
    svc.declaredHeights = structure.heights;
    return svc;
  }

  /**
   * An SVC packet whose layers cannot be read: taken as above every layer, so that it goes to no
   * receiver (whose decoder could not place it either) rather than to all, whatever their layers;
   * its bytes count in the top spatial layer's bitrate (#noteSpatialLayer).
   */
  #unclassified(): SvcPacket {
    const svc = this.#svc;
    svc.pictureStart = false;
    svc.keyframe = false;
    svc.spatialId = UNCLASSIFIED_LAYER;
    svc.temporalId = UNCLASSIFIED_LAYER;
    svc.switchingUp = false;
    svc.endsFrame = false;
    svc.declaredLayers = 0;
    return svc;
  }

  /** Turns the parsed packet's Dependency Descriptor element, if any, into padding (id 0 bytes, RFC 8285 §4.2-§4.3). */
  #blankDependencyDescriptor(): void {
    const id = this.#options.dependencyDescriptorId?.() ?? -1;
    if (id <= 0) return;
    const header = this.#header;
    const at = header.findExtension(id);
    if (at < 0) return;
    // The element's own header (1 byte in the one-byte form, 2 in the two-byte form) goes too.
    const start = at - (header.extensionProfile === 0xbede ? 1 : 2);
    header.buf.fill(0, start, at + header.foundLength);
  }

  /** SVC: the packet's spatial layer is arriving; a keyframe's structure gives the layers and their heights. */
  #noteSpatialLayer(svc: SvcPacket, ssrc: number, bytes: number, now: number): void {
    if (svc.spatialId === UNCLASSIFIED_LAYER) {
      // Counted, not taken as a layer: the top one known pays for it.
      if (ssrc === this.#spatialSsrc && this.#spatialCount > 0) this.#spatialWindowBytes[this.#spatialCount - 1] = this.#spatialWindowBytes[this.#spatialCount - 1]! + bytes;
      return;
    }
    const sid = svc.spatialId;
    if (ssrc !== this.#spatialSsrc) {
      this.#spatialSsrc = ssrc;
      this.#spatialCount = 0;
      this.#spatialHeights.fill(0);
      this.#spatialLastSeen.fill(Number.NEGATIVE_INFINITY);
    }
    const declared = Math.min(svc.declaredLayers, VP9_MAX_SPATIAL_LAYERS);
    if (declared > 0) {
      this.#spatialCount = declared;
      for (let s = 0; s < VP9_MAX_SPATIAL_LAYERS; s++) {
        this.#spatialHeights[s] = s < declared ? svc.declaredHeights[s] ?? 0 : 0;
        // The structure announces the layers of this very picture: they count as arriving from its first packet.
        this.#spatialLastSeen[s] = s < declared ? now : Number.NEGATIVE_INFINITY;
      }
      const top = this.#spatialHeights[declared - 1]!;
      if (top > 0) this.#heights[this.#layers.indexOf(ssrc)] = top;
    } else if (sid >= this.#spatialCount) {
      this.#spatialCount = sid + 1;
    }
    this.#spatialLastSeen[sid] = now;
    this.#spatialWindowBytes[sid] = this.#spatialWindowBytes[sid]! + bytes;
  }

  /** SVC spatial layers arriving on `ssrc` now (SIDs 0 … n-1 with none silent too long); 0 when it is not SVC. */
  #spatialLayersOf(ssrc: number, now: number): number {
    if (ssrc !== this.#spatialSsrc) return 0;
    let n = 0;
    while (n < this.#spatialCount && now - this.#spatialLastSeen[n]! <= LAYER_TIMEOUT_MS) n++;
    return n;
  }

  /** Height of SVC spatial layer `sid` of `count`: from the scalability structure, else half the next (the top one the SSRC's height). */
  #spatialHeight(sid: number, count: number): number {
    const known = this.#spatialHeights[sid]!;
    if (known > 0) return known;
    const index = this.#layers.indexOf(this.#spatialSsrc);
    const top = this.#spatialHeights[count - 1]! > 0 ? this.#spatialHeights[count - 1]! : index >= 0 ? this.#heightOf(index) : 720;
    return top / 2 ** (count - 1 - sid);
  }

  /** The highest SVC spatial layer that fits `wantedHeight` (else 0) among `count`. */
  #spatialTargetFor(wantedHeight: number, count: number): number {
    let target = 0;
    for (let s = 1; s < count; s++) if (this.#spatialHeight(s, count) <= wantedHeight) target = s;
    return target;
  }

  #forwardMedia(input: SeqMapPacket, vp8: Vp8Descriptor | undefined, svc: SvcPacket | undefined, now: number, send: ProjectedPacketSink): number {
    const header = this.#header;
    const packet = header.buf as Buffer;
    const tid = vp8 === undefined ? -1 : vp8.temporalId;
    // SVC: the octet with the marker bit, restored after each receiver it was moved for.
    const markerOctet = packet[1]!;
    const spatialLayers = svc === undefined ? 0 : this.#spatialLayersOf(input.ssrc, now);
    let sent = 0;
    this.#survey(now);
    for (const receiver of this.#receiverList) {
      if (receiver.wantedHeight > 0) sent += this.#forwardMediaTo(receiver, input, vp8, svc, tid, spatialLayers, markerOctet, now, send);
    }
    packet[1] = markerOctet;
    return sent;
  }

  /**
   * The parsed media packet (this.#header, `input`) to one receiver forwarded its source, as
   * {@link #forwardMedia} says: 1 when handed over, else 0.
   */
  #forwardMediaTo(
    receiver: ReceiverState, input: SeqMapPacket, vp8: Vp8Descriptor | undefined, svc: SvcPacket | undefined, tid: number, spatialLayers: number, markerOctet: number, now: number,
    send: ProjectedPacketSink,
  ): number {
    const header = this.#header;
    const packet = header.buf as Buffer;
    const id = receiver.id;
    this.#follow(receiver, input, now);
    let current = receiver.map.currentSsrc;
    // The hold (#holdLayerFor) starts with a picture that directly follows the end of the last
    // one in arrival order, and is new to the receiver: the pictures it was sent are whole. The
    // stream pauses (SeqMap.pause) and goes on, without a gap in sequence numbers, at the next
    // keyframe of whatever layer is the target by then — the same one again if the estimate
    // recovers first (#follow asks for it): its picture stands still for one keyframe's time.
    if (input.ssrc === receiver.holdLayer && input.ssrc === current && receiver.target !== current && this.#followsPictureEnd && receiver.map.isAhead(input)) {
      receiver.map.pause();
      receiver.holdLayer = -1;
      receiver.held = true;
      // Late packets of the held layer keep their slots (the layer before it loses that; NACKs still find both in the cache).
      receiver.previousSsrc = current;
      current = -1;
      this.#options.onBandwidthHold?.(id);
    }
    // Another layer's packet maps only when it is a late one of the layer left before.
    if (input.ssrc !== current && input.ssrc !== receiver.previousSsrc) return 0;
    const dropped = svc !== undefined
      ? input.ssrc === current && this.#dropSvc(receiver, input, svc, spatialLayers, now)
      : tid >= 0 && input.ssrc === current && this.#dropTemporal(receiver, input, vp8!, tid);
    // The end of the highest spatial layer the receiver gets ends its picture (RFC 9628 §4.1; AV1 RTP §4.3: end of the temporal unit).
    if (svc !== undefined) packet[1] = !dropped && endsPictureFor(svc, receiver) ? markerOctet | 0x80 : markerOctet;
    // Packets of other layers only map when late ones of a layer left still own a slot.
    if (dropped) {
      if (receiver.map.drop(input)) return 0;
      // It already owns an output slot (lost, now late): send it there rather than leave a hole.
      receiver.map.applyTo(header, vp8);
      if (!receiver.takeSlot(header.sequenceNumber)) return 0;
      send(id, packet);
      return 1;
    }
    const verdict = receiver.map.map(input);
    if (verdict === 'unknown') return 0;
    if (verdict === 'new') receiver.timestampDelta = (input.timestamp - receiver.map.outTimestamp) >>> 0;
    receiver.map.applyTo(header, vp8);
    if (!receiver.takeSlot(header.sequenceNumber)) return 0;
    send(id, packet);
    return 1;
  }

  /**
   * SVC: whether this packet of the forwarded SSRC is above the spatial or temporal layers the
   * receiver gets. Those layers change on a picture's first packet: a keyframe sets the spatial
   * layer to the target, a lower target takes effect at once, a higher one waits for a keyframe
   * (asked here); a temporal layer dropped comes back at a TID 0 picture or a switching-up point.
   */
  #dropSvc(receiver: ReceiverState, input: SeqMapPacket, svc: SvcPacket, spatialLayers: number, now: number): boolean {
    if (svc.pictureStart) {
      const target = spatialLayers > 1 ? this.#spatialTargetFor(receiver.wantedHeight, spatialLayers) : ALL_SPATIAL_LAYERS;
      if (this.#keyframe) {
        receiver.spatialId = target;
        receiver.temporalId = receiver.maxTemporalId;
      } else {
        if (target < receiver.spatialId) receiver.spatialId = target;
        else if (target > receiver.spatialId) this.#askKeyframe(input.ssrc, now);
        const tid = svc.temporalId;
        // After a TID 0 picture every later one references it or later ones: all wanted layers may go.
        if (tid === 0) receiver.temporalId = receiver.maxTemporalId;
        else if (tid > receiver.temporalId && tid <= receiver.maxTemporalId && svc.switchingUp) receiver.temporalId = tid;
      }
      receiver.pictureTemporalId = receiver.temporalId;
    }
    // Per packet, from its own layer ids (every VP9 packet, every AV1 Dependency Descriptor carries
    // them) against the layers in force for the picture: one whose first packet was lost on the way
    // in is judged by its own layer, not by the picture before it, and a frame-rate limit that
    // comes mid-picture does not cut the picture in two.
    return svc.temporalId > receiver.pictureTemporalId || svc.spatialId > receiver.spatialId;
  }

  /**
   * Whether this packet of the forwarded layer is above the temporal layers the receiver gets.
   * Decided on a picture's first packet, the rest of the picture follows; going up takes a
   * layer-sync picture (its references are all in lower layers) or a keyframe.
   */
  #dropTemporal(receiver: ReceiverState, input: SeqMapPacket, vp8: Vp8Descriptor, tid: number): boolean {
    if (receiver.maxTemporalId >= ALL_TEMPORAL_LAYERS && receiver.temporalId >= ALL_TEMPORAL_LAYERS) return false;
    if (input.pictureId < 0 || input.pictureId !== receiver.decidedPicture) {
      receiver.decidedPicture = input.pictureId;
      // After a keyframe every later picture references only pictures from it on: all may go.
      if (this.#keyframe) receiver.temporalId = receiver.maxTemporalId;
      else if (tid > receiver.temporalId && tid <= receiver.maxTemporalId && vp8.layerSync) receiver.temporalId = tid;
      receiver.dropping = tid > receiver.temporalId;
    }
    return receiver.dropping;
  }

  #forwardRetransmission(
    input: SeqMapPacket, vp8: Vp8Descriptor | undefined, svc: SvcPacket | undefined, original: number, send: ProjectedPacketSink,
    askers: Iterable<string> | undefined,
  ): number {
    const rtxPayloadType = this.#rtxPayloadTypeOf.get(original);
    if (rtxPayloadType === undefined || !askers) return 0;
    let sent = 0;
    for (const id of askers) {
      const receiver = this.#receivers.get(id);
      if (receiver && this.#resendTo(receiver, input, vp8, svc, rtxPayloadType, send)) sent++;
    }
    return sent;
  }

  /**
   * Re-stamps the parsed packet (this.#header, `input`) as `receiver` was sent it and hands it over
   * as RTX on the receiver's RTX SSRC — for SVC with the marker where its live copy had it (the end
   * of the highest spatial layer it gets). False when the receiver never had a slot for it ('new'
   * would be a packet it cannot have asked for) or there is no RTX to send on.
   */
  #resendTo(receiver: ReceiverState, input: SeqMapPacket, vp8: Vp8Descriptor | undefined, svc: SvcPacket | undefined, rtxPayloadType: number, send: ProjectedPacketSink): boolean {
    const header = this.#header;
    if (this.rtxSsrc === undefined || receiver.map.isAhead(input) || receiver.map.map(input) !== 'old') return false;
    if (this.#scratch.length < header.length + 2) this.#scratch = Buffer.allocUnsafe(header.length + 2);
    receiver.map.applyTo(header, vp8);
    receiver.rtxSequence = (receiver.rtxSequence + 1) & 0xffff;
    const markerOctet = header.buf[1]!;
    if (svc !== undefined && endsPictureFor(svc, receiver)) header.buf[1] = markerOctet | 0x80;
    send(receiver.id, wrapRtx(header, this.rtxSsrc, rtxPayloadType, receiver.rtxSequence, this.#scratch) as Buffer);
    header.buf[1] = markerOctet;
    return true;
  }

  /**
   * A receiver's NACK of `sequence` (of {@link ssrc}, as it was sent it): answered from the cache
   * when the bridge has the packet (RFC 4588 RTX on the receiver's RTX SSRC, re-stamped as the
   * first time), else the sender's (layer SSRC, sequence) to ask for.
   */
  retransmit(receiverId: string, sequence: number, send: ProjectedPacketSink): RetransmitResult {
    this.catchUp();
    const receiver = this.#receivers.get(receiverId);
    // Not for a receiver no longer sent the source (paused, or suspended for its bandwidth): a
    // frame completed now would be shown by nobody, and its bytes are what that path lacks.
    if (!receiver || receiver.wantedHeight <= 0 || !receiver.map.reverse(sequence)) return undefined;
    const ssrc = receiver.map.reverseSsrc;
    const original = receiver.map.reverseSequence;
    const now = this.#options.now();
    const cached = this.#options.cache?.get(ssrc, original, now);
    if (cached === undefined || this.rtxSsrc === undefined) return { ssrc, sequence: original };
    if (this.#cached.length < cached.byteLength) this.#cached = Buffer.allocUnsafe(cached.byteLength);
    const copy = this.#cached.subarray(0, cached.byteLength);
    copy.set(cached);
    const header = this.#header;
    const rtxPayloadType = this.#rtxPayloadTypeOf.get(header.parse(copy) === 'ok' ? header.payloadType : -1);
    if (rtxPayloadType === undefined) return { ssrc, sequence: original };
    const vp8 = this.#options.vp8PayloadTypes.has(header.payloadType) && this.#vp8.parse(header.buf, header.payloadOffset, header.payloadLength) ? this.#vp8 : undefined;
    const svc = vp8 === undefined ? this.#readSvc(header.payloadType, false) : undefined;
    const input = readSeqMapPacket(this.#packet, header, vp8, now);
    return this.#resendTo(receiver, input, vp8, svc, rtxPayloadType, send) ? 'sent' : { ssrc, sequence: original };
  }

  /**
   * A receiver's NACKed sequence number (of {@link ssrc}) as the sender's (layer SSRC, sequence
   * number), or undefined when it maps to nothing still known.
   */
  reverse(receiverId: string, sequence: number): { ssrc: number; sequence: number } | undefined {
    this.catchUp();
    const map = this.#receivers.get(receiverId)?.map;
    return map?.reverse(sequence) ? { ssrc: map.reverseSsrc, sequence: map.reverseSequence } : undefined;
  }

  /**
   * Bandwidth probing: sends `receiverId` again, as RTX, up to `count` of the packets it was sent
   * last (newest first, from the cache), until `bytes` are sent. The receiver drops the copies; its
   * transport-cc feedback counts them, which lets its estimate grow past what it receives now.
   * Returns the bytes sent. Nothing is asked of the sender. `cluster`: the id of the probe cluster
   * this is a step of (ReceiverBandwidth.clusterId), whose copies go further back from where its
   * last step stopped, so that no packet is copied twice in a cluster however much media was sent
   * between its steps; 0: none, from the newest.
   */
  probe(receiverId: string, bytes: number, count: number, send: ProjectedPacketSink, cluster = 0): number {
    this.catchUp();
    const receiver = this.#receivers.get(receiverId);
    if (!receiver || receiver.wantedHeight <= 0 || receiver.map.currentSsrc < 0) return 0;
    const from = cluster !== 0 && receiver.probeCluster === cluster ? receiver.probeNext : receiver.map.highestOutSequence;
    let sent = 0;
    const counting: ProjectedPacketSink = (id, packet) => {
      sent += packet.length;
      send(id, packet);
    };
    let k = 0;
    for (; k < count && sent < bytes; k++) this.retransmit(receiverId, (from - k) & 0xffff, counting);
    if (cluster !== 0) {
      receiver.probeCluster = cluster;
      receiver.probeNext = (from - k) & 0xffff;
    }
    return sent;
  }

  /** A sender report's RTP timestamp for `layerSsrc` as `receiverId` sees it; undefined when that layer is not what it is forwarded. */
  senderReportTimestamp(receiverId: string, layerSsrc: number, rtpTimestamp: number): number | undefined {
    const receiver = this.#receivers.get(receiverId);
    if (!receiver || receiver.wantedHeight <= 0 || layerSsrc >>> 0 !== receiver.map.currentSsrc) return undefined;
    return (rtpTimestamp - receiver.timestampDelta) >>> 0;
  }

  #setFromRetransmission(entry: number, sequence: number): void {
    const was = this.#fromRetransmission[entry] !== -1;
    this.#fromRetransmission[entry] = sequence;
    const index = Math.floor(entry / FROM_RETRANSMISSION_SLOTS);
    if (was !== (sequence !== -1)) this.#fromRetransmissionCount[index] = this.#fromRetransmissionCount[index]! + (was ? -1 : 1);
  }

  /**
   * Takes in what the media socket's read forwarded by this projection's routes since the last
   * time, leaving the state {@link project} would have left: the layer's arrival, bitrate, picture
   * ends and highest sequence number, each receiver's sequence map and sent slots, the bridge's own
   * NACK tracking (forwardedMedia). Not per packet where the run of consecutive packets allows
   * less: the maps take the last two pictures since they last did, the NACK tracking the run's
   * picture ends; the packets stay in the ring, where the packet cache finds them (RingPackets).
   * Called before anything reads that state (every public method does, or {@link catchUpLayers}
   * where it reads only the layers'), and by the conference.
   */
  catchUp(): void {
    if (!this.#routed) return;
    for (let index = 0; index < this.#routes.length; index++) {
      const route = this.#routes[index];
      if (!route) continue;
      if (route.ring.state[0]! > 0) this.#takeIn(index, route);
      this.#syncReceivers(index, route);
    }
  }

  /**
   * {@link catchUp} for the layers alone (arrival, bitrate, picture ends, the NACK tracking), the
   * receivers' sequence maps and sent slots left for later (#syncReceivers): for the conference's
   * tick, and what reads only the layers. A route's receivers cost the same to bring up to date
   * whatever was taken in; in a room of 50 each tick did it for every receiver of every layer.
   */
  catchUpLayers(): void {
    if (!this.#routed) return;
    for (let index = 0; index < this.#routes.length; index++) {
      const route = this.#routes[index];
      if (route && route.ring.state[0]! > 0) this.#takeIn(index, route);
    }
  }

  #takeIn(index: number, route: PushedRoute): void {
    const { meta, state } = route.ring;
    const count = state[0]!;
    const first = state[3]!;
    state[0] = 0;
    const ssrc = this.#layers[index]!;
    const forwarded = this.#options.forwardedMedia;
    const offset = route.ring.monotonicOffset();
    const last = (first + count - 1) & 0xffff;
    // Each packet to the NACK tracking while it awaits one of the layer's (a gap, a tail probe),
    // else only the picture ends and the last.
    const each = this.#options.awaited?.(ssrc) ?? true;
    // The newest packet of the picture before the last one (-1: the run is one picture's).
    let previousPicture = -1;
    const lastTimestamp = meta[(last & (VIDEO_RING_SLOTS - 1)) * VIDEO_RING_FIELDS + 1];
    // The bytes counted in the current bitrate window at once, up to a packet that closes it.
    let bytes = 0;
    let arrival = 0;
    for (let k = 0; k < count; k++) {
      const sequence = (first + k) & 0xffff;
      const f = (sequence & (VIDEO_RING_SLOTS - 1)) * VIDEO_RING_FIELDS;
      const marker = meta[f + 5] === 1;
      arrival = meta[f + 7]! - offset;
      if (arrival - this.#windowStart >= BITRATE_WINDOW_MS) {
        this.#windowBytes[index] = this.#windowBytes[index]! + bytes;
        bytes = 0;
        this.#measure(index, meta[f + 6]!, arrival);
      } else {
        bytes += meta[f + 6]!;
      }
      if (marker) this.#lastPictureEnd[index] = sequence;
      if (meta[f + 1] !== lastTimestamp) previousPicture = sequence;
      if (each || marker || k === count - 1) forwarded?.(ssrc, sequence, marker, arrival, !each);
    }
    this.#windowBytes[index] = this.#windowBytes[index]! + bytes;
    this.#lastSeen[index] = arrival;
    const highest = this.#highestSequence[index]!;
    if (highest < 0 || isNewer(last, highest)) this.#highestSequence[index] = last;
    // What the receivers are to map of it when next brought up to date (#syncReceivers).
    if (previousPicture >= 0) {
      route.previous = previousPicture;
      copyRecord(meta, previousPicture, offset, route.previousRecord);
    } else if (route.last >= 0 && route.lastRecord[1] !== lastTimestamp) {
      route.previous = route.synced ? -1 : route.last;
      route.previousRecord.set(route.lastRecord);
    }
    // (Else the run goes on with the picture of the last packet taken in: the picture before stays.)
    route.last = last;
    copyRecord(meta, last, offset, route.lastRecord);
    route.synced = false;
    route.pending += count;
    if (route.pending >= SYNC_AFTER_PACKETS) this.#syncReceivers(index, route);
  }

  /**
   * Each receiver's sequence map and sent slots as if it had mapped every packet taken in of the
   * route since it last did: the packets are consecutive and mapped with the same deltas (a route
   * is made anew, after this, when they change), so the map's range grows to the newest; its
   * frame interval is the step between the last two pictures (a jump of over a second aside).
   */
  #syncReceivers(index: number, route: PushedRoute): void {
    if (route.synced || route.last < 0) return;
    const ssrc = this.#layers[index]!;
    const count = route.pending;
    for (const receiver of route.receivers) {
      if (route.previous >= 0) receiver.map.map(this.#recordPacket(ssrc, route.previous, route.previousRecord));
      if (receiver.map.map(this.#recordPacket(ssrc, route.last, route.lastRecord)) !== 'new') continue;
      const out = receiver.map.outSequence;
      for (let k = Math.min(count, SENT_SLOTS) - 1; k >= 0; k--) receiver.takeSlot((out - k) & 0xffff);
    }
    route.synced = true;
    route.previous = -1;
    route.pending = 0;
  }

  /** A packet's ring record (copyRecord) as the sequence map takes it (in the projection's reused packet). */
  #recordPacket(ssrc: number, sequence: number, record: Float64Array): SeqMapPacket {
    const input = this.#packet;
    input.ssrc = ssrc;
    input.sequenceNumber = sequence;
    input.timestamp = record[1]!;
    input.pictureId = record[2]!;
    input.pictureIdBits = input.pictureId < 0 ? 0 : record[3]!;
    input.tl0PicIdx = record[4]!;
    input.keyframe = false;
    input.arrivalMs = record[7]!;
    return input;
  }

  /**
   * Hands the media socket's read each layer whose receivers are all steady (see
   * {@link LayerRoute}), or takes it back: after anything that may have changed a receiver's
   * state, and by the conference when what it allows changed (`again`: every route handed over
   * anew, or taken back). Otherwise only what changed is handed over.
   */
  refreshRoutes(again = false): void {
    const route = this.#options.route;
    if (!route) return;
    this.catchUp();
    const routable = this.#options.routable;
    this.#survey(this.#options.now());
    let routed = false;
    // Filled from the start for each layer, `count` of them: never truncated, which would make
    // V8 give their backing stores up and grow them again at every call (maintain runs it every
    // feedback period for every source). Past `count` they hold what an earlier call put there:
    // at most as many receivers as the projection had at once, let go of with it.
    const receivers = this.#routeReceivers;
    const params = this.#routeParams;
    for (let index = 0; index < this.#layers.length; index++) {
      const ssrc = this.#layers[index]!;
      let count = 0;
      let next = -1;
      let steady = routable !== undefined && this.#options.vp8PayloadTypes.size > 0 && this.#fromRetransmissionCount[index] === 0;
      for (const receiver of this.#receiverList) {
        if (!steady) break;
        if (receiver.map.currentSsrc !== ssrc) {
          // One to start or switch onto this layer: its packets are JavaScript's, which starts it
          // (a single layer's first packet, or the layer's keyframe) and asks for keyframes.
          if (this.#targetFor(receiver.wantedHeight) === ssrc) steady = false;
          continue;
        }
        const segment = receiver.map.segment;
        if (!segment || receiver.held || receiver.holdLayer >= 0 || this.#targetFor(receiver.wantedHeight) !== ssrc || receiver.maxTemporalId < ALL_TEMPORAL_LAYERS
          || receiver.temporalId < ALL_TEMPORAL_LAYERS || !routable!(receiver.id) || (next >= 0 && next !== ((segment.lastInput + 1) & 0xffff))) {
          steady = false;
          break;
        }
        next = (segment.lastInput + 1) & 0xffff;
        const p = count * ROUTE_PARAMS;
        receivers[count] = receiver;
        params[p] = this.ssrc;
        params[p + 1] = segment.sequenceDelta;
        params[p + 2] = segment.timestampDelta;
        params[p + 3] = segment.pictureIdDelta;
        params[p + 4] = segment.tl0PicIdxDelta;
        count++;
      }
      const pushed = this.#routes[index];
      // A layer no receiver is on is routed too, to nobody: the read notes its packets (its
      // arrival, bitrate, cache) and JavaScript sees only its keyframes' starts. Not before its
      // first packet: the read's `next` would be a guess (and one half the numbers away never moves).
      if (count === 0 && this.#highestSequence[index]! < 0) steady = false;
      if (!steady) {
        if (pushed) {
          this.#routes[index] = undefined;
          route(ssrc, undefined);
        }
        continue;
      }
      // The read moves its `next` on by itself, past what it forwarded and what it handed JavaScript:
      // a route is not made anew for a `next` of its own. That one is ahead of the projection's
      // while packets the read handed on wait to be projected (a packet of another layer projected
      // first refreshes the routes: setting `next` back then made the read refuse the layer until
      // the next packet handed on moved it again, route after route). Behind it, the read's `next`
      // moves on with the first packet it hands on.
      if (!again && pushed && pushed.ring.state[1] === 0 && sameRoute(pushed, receivers, params, count)) {
        routed = true;
        continue;
      }
      // Nobody on it: from the layer's newest packet.
      if (count === 0) next = (this.#highestSequence[index]! + 1) & 0xffff;
      const onRoute = receivers.slice(0, count);
      const ring = route(ssrc, {
        next,
        receivers: onRoute.map((receiver, i) => {
          const p = ROUTE_PARAMS * i;
          return { id: receiver.id, ssrc: params[p]!, sequenceDelta: params[p + 1]!, timestampDelta: params[p + 2]!, pictureIdDelta: params[p + 3]!, tl0PicIdxDelta: params[p + 4]! };
        }),
      });
      // A new ring is where the cache finds the layer's packets the read forwards (the one before
      // it keeps what it held until then: looked up no more, those are at most a second's).
      if (ring && ring !== pushed?.ring) this.#options.cache?.attach(ssrc, new RingPackets(ring));
      this.#routes[index] = ring ? {
        params: params.slice(0, count * ROUTE_PARAMS), receivers: onRoute, ring,
        last: -1, lastRecord: new Float64Array(VIDEO_RING_FIELDS), synced: true, previous: -1, previousRecord: new Float64Array(VIDEO_RING_FIELDS), pending: 0,
      } : undefined;
      routed ||= ring !== undefined;
    }
    this.#routed = routed;
    this.#routesMadeAt = this.#options.now();
    const made = this.#routesSurvey;
    made[0] = this.#arrivingCount;
    for (let i = 0; i < this.#arrivingCount; i++) {
      made[1 + 2 * i] = this.#arriving[i]!;
      made[2 + 2 * i] = this.#arrivingHeight[i]!;
    }
  }

  /** When refreshRoutes last ran, and the survey it made the routes from: count, then SSRC and height per layer. */
  #routesMadeAt = Number.NEGATIVE_INFINITY;
  readonly #routesSurvey: number[] = [-1];

  /** Whether the read forwards (or notes) any layer of this source itself. */
  get routed(): boolean {
    return this.#routed;
  }

  /** Takes every route back from the read (the projection is dropped: its source gone or announced anew). */
  dropRoutes(): void {
    const route = this.#options.route;
    for (let index = 0; index < this.#routes.length; index++) {
      const pushed = this.#routes[index];
      if (!pushed) continue;
      // JavaScript goes on from what its receivers were sent.
      this.#syncReceivers(index, pushed);
      this.#routes[index] = undefined;
      route?.(this.#layers[index]!, undefined);
    }
    this.#routed = false;
  }

  /**
   * The conference's tick (every feedback period): what the read forwarded taken in, and a keyframe
   * asked for each receiver waiting to switch — as {@link #follow} does for every packet it sees,
   * which a routed layer no longer shows it. The routes are made again when what time alone moves
   * in them did (the layers arriving and their heights; a route the read gave up), and once a
   * second whatever: everything else that changes them (a receiver's height, state or packets
   * JavaScript projects, the conference's members) refreshes them where it happens.
   */
  maintain(): void {
    if (!this.#routed) return;
    this.catchUpLayers();
    const now = this.#options.now();
    this.#survey(now);
    for (const receiver of this.#receiverList) {
      const target = this.#targetFor(receiver.wantedHeight);
      receiver.target = target;
      if (target >= 0 && target !== receiver.map.currentSsrc) this.#askKeyframe(target, now);
    }
    if (now - this.#routesMadeAt >= ROUTES_CHECK_MS || !this.#sameSurvey() || this.#routeGone()) this.refreshRoutes();
  }

  /** Whether the layers surveyed are those refreshRoutes last made the routes from, with the same heights. */
  #sameSurvey(): boolean {
    const made = this.#routesSurvey;
    if (made[0] !== this.#arrivingCount) return false;
    for (let i = 0; i < this.#arrivingCount; i++) {
      if (made[1 + 2 * i] !== this.#arriving[i] || made[2 + 2 * i] !== this.#arrivingHeight[i]) return false;
    }
    return true;
  }

  /** Whether the read gave up a route (its ring's state[1]). */
  #routeGone(): boolean {
    for (const route of this.#routes) if (route && route.ring.state[1] !== 0) return true;
    return false;
  }

  /** Chooses the receiver's target layer from what arrives, and switches to it on its keyframe. */
  #follow(receiver: ReceiverState, input: SeqMapPacket, now: number): void {
    const target = this.#targetFor(receiver.wantedHeight);
    receiver.target = target;
    if (target < 0 || target === receiver.map.currentSsrc) return;
    if (input.ssrc === target && receiver.map.canSwitchTo(input) && (this.#resumable || !receiver.map.started)) {
      // After a pause (a hold, or no height wanted) the layer it stopped stays the previous one (its late packets keep their slots).
      if (receiver.map.currentSsrc >= 0) receiver.previousSsrc = receiver.map.currentSsrc;
      receiver.map.switchTo(input);
      receiver.held = false;
      receiver.holdLayer = -1;
      // A keyframe references nothing: every temporal layer wanted may follow it.
      receiver.temporalId = receiver.maxTemporalId;
      receiver.decidedPicture = -1;
      return;
    }
    this.#askKeyframe(target, now);
  }

  /** Counts a layer packet's bytes; closes the bitrate window when it is over. */
  #measure(index: number, bytes: number, now: number): void {
    const elapsed = now - this.#windowStart;
    if (elapsed >= BITRATE_WINDOW_MS) {
      // A window much longer than planned (the source paused) says nothing of the rate now: the
      // rates measured before it stand until the next window (not 0, which the allocation would
      // take for a layer not measured yet and give every receiver for free, the tallest included).
      const valid = elapsed < 2 * BITRATE_WINDOW_MS;
      for (let i = 0; i < this.#bitrates.length; i++) {
        if (valid) this.#bitrates[i] = (this.#windowBytes[i]! * 8000) / elapsed;
        this.#windowBytes[i] = 0;
      }
      for (let s = 0; s < VP9_MAX_SPATIAL_LAYERS; s++) {
        if (valid) this.#spatialBitrates[s] = (this.#spatialWindowBytes[s]! * 8000) / elapsed;
        this.#spatialWindowBytes[s] = 0;
      }
      this.#windowStart = now;
    }
    this.#windowBytes[index] = this.#windowBytes[index]! + bytes;
  }

  /** The layers arriving now, lowest first, with their heights and bitrates (for bandwidth allocation). */
  arrivingLayers(): ArrivingLayer[] {
    this.catchUpLayers();
    const now = this.#options.now();
    this.#survey(now);
    const layers: ArrivingLayer[] = [];
    for (let i = 0; i < this.#arrivingCount; i++) {
      const ssrc = this.#arriving[i]!;
      const spatial = this.#spatialLayersOf(ssrc, now);
      if (spatial > 1) {
        // SVC: each spatial layer is a choice; it costs itself and every layer below (all are sent).
        // A spatial layer not measured yet is unmeasured as a choice too (0), not the price of the one below.
        let bitrate = 0;
        for (let s = 0; s < spatial; s++) {
          const own = this.#withCurrentWindow(this.#spatialBitrates[s]!, this.#spatialWindowBytes[s]!, now);
          bitrate += own;
          layers.push({ ssrc, height: this.#spatialHeight(s, spatial), bitrate: own > 0 ? bitrate : 0 });
        }
        continue;
      }
      const index = this.#layers.indexOf(ssrc);
      layers.push({ ssrc, height: this.#arrivingHeight[i]!, bitrate: this.#withCurrentWindow(this.#bitrates[index]!, this.#windowBytes[index]!, now) });
    }
    return layers;
  }

  /** A bitrate measured, raised to the current window's rate so far once that window is PARTIAL_WINDOW_MS along (and not a pause: see #measure). */
  #withCurrentWindow(measured: number, windowBytes: number, now: number): number {
    const elapsed = now - this.#windowStart;
    if (elapsed < PARTIAL_WINDOW_MS || elapsed >= 2 * BITRATE_WINDOW_MS) return measured;
    return Math.max(measured, (windowBytes * 8000) / elapsed);
  }

  /** Notes which layers arrive (none silent longer than {@link LAYER_TIMEOUT_MS}) and their heights. */
  #survey(now: number): void {
    let count = 0;
    for (let i = 0; i < this.#layers.length; i++) {
      if (now - this.#lastSeen[i]! > LAYER_TIMEOUT_MS) continue;
      this.#arriving[count] = this.#layers[i]!;
      this.#arrivingHeight[count] = this.#heightOf(i);
      count++;
    }
    this.#arrivingCount = count;
  }

  /** Of the layers surveyed: the tallest that fits, else the lowest; -1 when none arrives. */
  #targetFor(wantedHeight: number): number {
    if (this.#arrivingCount === 0) return -1;
    let fitting = this.#arriving[0]!;
    for (let i = 1; i < this.#arrivingCount; i++) if (this.#arrivingHeight[i]! <= wantedHeight) fitting = this.#arriving[i]!;
    return fitting;
  }

  /** The layer's height from its last keyframe; unknown: by position (each layer half the next). */
  #heightOf(index: number): number {
    const known = this.#heights[index]!;
    if (known > 0) return known;
    const top = this.#layers.length - 1;
    const topHeight = this.#heights[top]! > 0 ? this.#heights[top]! : 720;
    return topHeight / 2 ** (top - index);
  }
}
