// Synthetic media for the bridge load generator: VP8-shaped RTP on three simulcast layers plus
// Opus-shaped audio, each packet carrying a trailer (who sent it, and when, on this process's
// clock) so that receivers can measure the delay the bridge adds; and the receivers' counters.
//
// The VP8 payload descriptor is a valid RFC 7741 §4.2 one (X, I with a 15-bit PictureID, L with
// TL0PICIDX, T with TID 0 and Y), and the first packet of a keyframe carries the RFC 6386 §9.1
// keyframe header with the layer's dimensions, since the bridge learns layer heights from it.
// Every packet carries RFC 8285 §4.2 one-byte header extensions as Chrome's do under the focus's
// offer: audio the RFC 6464 ssrc-audio-level (from which the bridge picks the dominant speaker and
// the loudest streams) and the transport-wide sequence number
// (draft-holmer-rmcat-transport-wide-cc-extensions-01), video abs-send-time and the transport-wide
// sequence number. Those two are written when the packet is sent (stampTransport), since the
// transport-wide number counts every packet of the participant's transport, audio and video.

import { performance } from 'node:perf_hooks';

export const VP8_PT = 100;
export const OPUS_PT = 111;
export const VIDEO_CLOCK = 90_000;
const TRAILER_MAGIC = 0x53_4c_42_4c; // "SLBL"
/** magic (4) + sender index (2) + layer (1) + reserved (1) + send time in ms (float64, 8). */
export const TRAILER_BYTES = 16;

/** Per simulcast layer, lowest first as in the SIM group. */
export interface LayerSpec {
  width: number;
  height: number;
  /** Packets per frame. */
  packets: number;
  /** RTP packet size in bytes (header included, before SRTP). */
  bytes: number;
}

export const LAYERS: readonly LayerSpec[] = [
  { width: 320, height: 180, packets: 1, bytes: 400 },
  { width: 640, height: 360, packets: 2, bytes: 900 },
  { width: 1280, height: 720, packets: 5, bytes: 1200 },
];
export const FRAME_RATE = 30;
export const AUDIO_PACKET_MS = 20;
export const AUDIO_BYTES = 120;
/** RFC 6464 levels (−dBov) of the synthetic audio: a talker, and a participant unmuted but silent. */
export const TALKER_LEVEL = 20;
export const QUIET_LEVEL = 60;
/** The ssrc-audio-level extension id when the offer names none (the focus's default table). */
export const DEFAULT_AUDIO_LEVEL_ID = 1;
/** A keyframe on every layer this often, besides those the bridge asks for (PLI/FIR). */
export const KEYFRAME_INTERVAL_MS = 3000;

/** Negotiated ids (1–14) of the header extensions the generator writes; undefined: not offered, left out. */
export interface ExtensionIds {
  audioLevel: number | undefined;
  absSendTime: number | undefined;
  transportCc: number | undefined;
}

/** The focus's default table (focus/offer.ts DEFAULT_CODECS), until an offer says otherwise. */
export const DEFAULT_EXTENSION_IDS: Readonly<ExtensionIds> = Object.freeze({ audioLevel: 1, absSendTime: 3, transportCc: 5 });

/**
 * Fixed header (12) + one-byte extension block: its 4-byte header and 8 bytes of elements, the
 * same size for both kinds so that packet sizes do not depend on what is offered. Without
 * feedback (`--feedback off`, the load before 2026-11-30): video carries no extension block
 * (LEGACY_VIDEO_HEADER_BYTES) and audio its level alone in a 4-byte block (LEGACY_AUDIO_HEADER_BYTES).
 *   audio: [level id|0][level] [tcc id|1][seq][seq] [0][0][0]
 *   video: [abs id|2][t][t][t] [tcc id|1][seq][seq] [0]
 * An element whose extension was not offered is left as padding (zero bytes, RFC 8285 §4.2).
 */
export const RTP_HEADER_BYTES = 24;
export const LEGACY_VIDEO_HEADER_BYTES = 12;
export const LEGACY_AUDIO_HEADER_BYTES = 20;
const ELEMENTS_AT = 16;
const AUDIO_TRANSPORT_CC_AT = 18;
const VIDEO_TRANSPORT_CC_AT = 20;

/**
 * Writes the send-time extensions of one packet built here: the transport-wide sequence number
 * and, on video, abs-send-time (24-bit seconds in 6.18 fixed point, from `nowMs`).
 */
export function stampTransport(packet: Buffer, ids: ExtensionIds, sequence: number, nowMs: number): void {
  const video = (packet[1]! & 0x7f) === VP8_PT;
  if (video && ids.absSendTime !== undefined) {
    packet[ELEMENTS_AT] = (ids.absSendTime << 4) | 2;
    packet.writeUIntBE(Math.floor((nowMs * (1 << 18)) / 1000) & 0xff_ffff, ELEMENTS_AT + 1, 3);
  }
  if (ids.transportCc !== undefined) {
    const at = video ? VIDEO_TRANSPORT_CC_AT : AUDIO_TRANSPORT_CC_AT;
    packet[at] = (ids.transportCc << 4) | 1;
    packet.writeUInt16BE(sequence & 0xffff, at + 1);
  }
}

/** Packets per second one sender offers, by kind. */
export function offeredPps(): { video: number; audio: number; total: number } {
  const video = LAYERS.reduce((sum, l) => sum + l.packets * FRAME_RATE, 0);
  const audio = 1000 / AUDIO_PACKET_MS;
  return { video, audio, total: video + audio };
}

/** One SSRC's RTP numbering, and what its sender reports need. */
export class RtpStream {
  sequence: number;
  timestamp: number;
  /** Packets and payload octets sent (RFC 3550 §6.4.1 sender's counts). */
  packets = 0;
  octets = 0;
  /** The RTP timestamp of the last packet built, and when (ms, performance.now). */
  #lastTimestamp = 0;
  #lastAt = -1;

  /** @param headerBytes the fixed header and the extension block (none at 12). */
  constructor(readonly ssrc: number, readonly clockRate: number, readonly headerBytes = RTP_HEADER_BYTES) {
    this.sequence = (ssrc * 7) & 0xffff;
    this.timestamp = ssrc >>> 3;
  }

  /**
   * Writes the fixed header and an empty one-byte extension block (`headerBytes` in all; the
   * caller fills the elements), and counts the packet.
   */
  header(packet: Buffer, pt: number, marker: boolean): void {
    const extended = this.headerBytes > 12;
    packet[0] = extended ? 0x90 : 0x80; // V=2, X
    packet[1] = (marker ? 0x80 : 0) | pt;
    packet.writeUInt16BE(this.sequence, 2);
    packet.writeUInt32BE(this.timestamp >>> 0, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    if (extended) {
      packet.writeUInt16BE(0xbede, 12);
      packet.writeUInt16BE((this.headerBytes - ELEMENTS_AT) / 4, 14);
      packet.fill(0, ELEMENTS_AT, this.headerBytes);
    }
    this.sequence = (this.sequence + 1) & 0xffff;
    this.packets++;
    this.octets += packet.length - this.headerBytes;
    this.#lastTimestamp = this.timestamp >>> 0;
    this.#lastAt = performance.now();
  }

  /**
   * The RTP timestamp of instant `nowMs` on the stream's clock, from its last packet, as a sender
   * report gives it (RFC 3550 §6.4.1); undefined before the first packet.
   */
  /** When its last packet was built (ms, performance.now); -1 before the first. */
  get lastSentAt(): number {
    return this.#lastAt;
  }

  timestampAt(nowMs: number): number | undefined {
    if (this.#lastAt < 0) return undefined;
    return (this.#lastTimestamp + Math.round(((nowMs - this.#lastAt) * this.clockRate) / 1000)) >>> 0;
  }
}

function writeTrailer(packet: Buffer, sender: number, layer: number): void {
  const at = packet.length - TRAILER_BYTES;
  packet.writeUInt32BE(TRAILER_MAGIC, at);
  packet.writeUInt16BE(sender, at + 4);
  packet[at + 6] = layer;
  packet[at + 7] = 0;
  packet.writeDoubleBE(performance.now(), at + 8);
}

/** One simulcast layer's VP8 stream. */
export class Vp8Layer {
  readonly rtp: RtpStream;
  readonly #packets: Buffer[];
  #pictureId: number;
  #tl0PicIdx: number;
  keyframeWanted = true;

  /** @param extensions false: no extension block at all (`--feedback off`). */
  constructor(ssrc: number, readonly index: number, readonly spec: LayerSpec, readonly sender: number, extensions = true) {
    this.rtp = new RtpStream(ssrc, VIDEO_CLOCK, extensions ? RTP_HEADER_BYTES : LEGACY_VIDEO_HEADER_BYTES);
    this.#packets = Array.from({ length: spec.packets }, () => Buffer.alloc(spec.bytes));
    this.#pictureId = ssrc & 0x7fff;
    this.#tl0PicIdx = ssrc & 0xff;
  }

  get ssrc(): number {
    return this.rtp.ssrc;
  }

  /** The layer's frame height, as its keyframes signal it. */
  get height(): number {
    return this.spec.height;
  }

  /**
   * The packets of the next frame (plaintext RTP), in buffers the layer reuses: valid until its
   * next frame() (the generator protects and sends them at once). Two new buffers per packet sent,
   * this one and the SRTP one, made the generator's collector stop it for 10–15 ms every second.
   */
  frame(keyframe: boolean): readonly Buffer[] {
    const key = keyframe || this.keyframeWanted;
    this.keyframeWanted = false;
    const out = this.#packets;
    const { packets, width, height } = this.spec;
    for (let i = 0; i < packets; i++) {
      const packet = out[i]!;
      this.rtp.header(packet, VP8_PT, i === packets - 1);
      let at = this.rtp.headerBytes;
      // X=1, N=0, S=1 on the frame's first packet, PID=0.
      packet[at++] = 0x80 | (i === 0 ? 0x10 : 0);
      packet[at++] = 0xe0; // I, L, T
      packet[at++] = 0x80 | (this.#pictureId >>> 8);
      packet[at++] = this.#pictureId & 0xff;
      packet[at++] = this.#tl0PicIdx;
      packet[at++] = 0x20; // TID 0, Y=1, KEYIDX 0
      if (i === 0) {
        // VP8 payload header: 3-byte frame tag (P bit = 0 for a keyframe, show_frame = 1).
        packet[at++] = key ? 0x10 : 0x11;
        packet[at++] = 0x02;
        packet[at++] = 0x00;
        if (key) {
          packet[at++] = 0x9d;
          packet[at++] = 0x01;
          packet[at++] = 0x2a;
          packet.writeUInt16LE(width, at);
          packet.writeUInt16LE(height, at + 2);
        } else {
          packet.fill(0, at, at + 7); // no start code and dimensions left from a keyframe
        }
      }
      writeTrailer(packet, this.sender, this.index);
    }
    this.rtp.timestamp += VIDEO_CLOCK / FRAME_RATE;
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    this.#tl0PicIdx = (this.#tl0PicIdx + 1) & 0xff;
    return out;
  }
}

/** Opus-shaped audio with an RFC 6464 audio level in every packet. */
export class AudioStream {
  readonly rtp: RtpStream;
  /**
   * @param level RFC 6464 §3 level, 0..127 (−dBov; 127 = silence), sent with V = 0.
   * @param levelExtensionId the negotiated id of urn:ietf:params:rtp-hdrext:ssrc-audio-level (1..14).
   * @param extensions false: the level alone in its block (`--feedback off`).
   */
  constructor(ssrc: number, readonly sender: number, public level: number, public levelExtensionId = DEFAULT_AUDIO_LEVEL_ID, extensions = true) {
    this.rtp = new RtpStream(ssrc, 48_000, extensions ? RTP_HEADER_BYTES : LEGACY_AUDIO_HEADER_BYTES);
  }

  readonly #packet = Buffer.alloc(AUDIO_BYTES, 0x5a);

  get ssrc(): number {
    return this.rtp.ssrc;
  }

  /** One packet of AUDIO_BYTES, extensions included. */
  /** Valid until the next packet() (the stream reuses its buffer, as Vp8Layer.frame). */
  packet(): Buffer {
    const packet = this.#packet;
    this.rtp.header(packet, OPUS_PT, false);
    // RFC 8285 §4.2: element ID | (L = 0: one byte), then the level (V = 0).
    packet[ELEMENTS_AT] = (this.levelExtensionId << 4) | 0;
    packet[ELEMENTS_AT + 1] = this.level & 0x7f;
    packet[this.rtp.headerBytes] = 0x78; // an Opus TOC byte (SILK/CELT hybrid-looking); the bridge does not read it
    writeTrailer(packet, this.sender, 255);
    this.rtp.timestamp += 48 * AUDIO_PACKET_MS;
    return packet;
  }
}

/**
 * A histogram of delays in 0.05 ms steps up to 2 s, then 10 ms steps up to 60 s (a saturated
 * bridge queues for seconds), so percentiles need no per-packet storage.
 */
export class DelayHistogram {
  static readonly STEP_MS = 0.05;
  static readonly FINE_MS = 2000;
  static readonly COARSE_STEP_MS = 10;
  static readonly MAX_MS = 60_000;
  static readonly #FINE = DelayHistogram.FINE_MS / DelayHistogram.STEP_MS;
  readonly buckets = new Uint32Array(DelayHistogram.#FINE + (DelayHistogram.MAX_MS - DelayHistogram.FINE_MS) / DelayHistogram.COARSE_STEP_MS);
  count = 0;
  over = 0;

  add(ms: number): void {
    const i = ms < DelayHistogram.FINE_MS
      ? Math.max(0, Math.floor(ms / DelayHistogram.STEP_MS))
      : DelayHistogram.#FINE + Math.floor((ms - DelayHistogram.FINE_MS) / DelayHistogram.COARSE_STEP_MS);
    if (i >= this.buckets.length) this.over++;
    else this.buckets[i]!++;
    this.count++;
  }

  merge(other: DelayHistogram): void {
    if (other.count === 0) return;
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i]! += other.buckets[i]!;
    this.count += other.count;
    this.over += other.over;
  }

  /** The upper bound of the bucket holding the p-th percentile; Infinity beyond MAX_MS. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) {
        return i < DelayHistogram.#FINE
          ? (i + 1) * DelayHistogram.STEP_MS
          : DelayHistogram.FINE_MS + (i - DelayHistogram.#FINE + 1) * DelayHistogram.COARSE_STEP_MS;
      }
    }
    return Infinity;
  }
}

/**
 * Sequence accounting of one received SSRC within the measured window. The bridge forwards each
 * video source on one SSRC with sequence numbers it keeps continuous over layer switches, layers a
 * sender stops and packets it drops on purpose (bridge/rtp/seqmap.ts), so a sender that stops a
 * layer, or all its video, leaves a pause and no gap: only packets lost or dropped by accident count.
 */
class SeqTrack {
  first = -1;
  highest = -1;
  received = 0;

  constructor(readonly video: boolean) {}

  add(sequence: number): void {
    if (this.highest < 0) {
      this.first = this.highest = sequence;
    } else {
      // Extend the 16-bit number to the one nearest the highest seen (RFC 3550 A.1 in spirit).
      const diff = ((sequence - (this.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      const extended = this.highest + diff;
      if (extended > this.highest) this.highest = extended;
      if (extended < this.first) this.first = extended;
    }
    this.received++;
  }

  get expected(): number {
    return this.first < 0 ? 0 : this.highest - this.first + 1;
  }
}

/** Sequence numbers expected and packets received, over every received SSRC and by kind. */
export interface SequenceTotals {
  expected: number;
  received: number;
  video: { expected: number; received: number };
  audio: { expected: number; received: number };
}

/** What one participant's receiving side counts. */
export class ReceiveStats {
  measuring = false;
  packets = 0;
  videoPackets = 0;
  audioPackets = 0;
  rtx = 0;
  bytes = 0;
  /** Packets without our trailer (e.g. padding probes). */
  foreign = 0;
  authFailures = 0;
  /** Packets counted from their (clear) SRTP header only, not decrypted: no delay from them. */
  headerOnly = 0;
  readonly delay = new DelayHistogram();
  readonly #tracks = new Map<number, SeqTrack>();

  /** A decrypted RTP packet. */
  onRtp(packet: Buffer, now: number): void {
    if (!this.measuring) return;
    const pt = packet[1]! & 0x7f;
    if (pt !== VP8_PT && pt !== OPUS_PT) {
      this.rtx++;
      return;
    }
    const at = packet.length - TRAILER_BYTES;
    if (at < 12 || packet.readUInt32BE(at) !== TRAILER_MAGIC) {
      this.foreign++;
      return;
    }
    this.delay.add(now - packet.readDoubleBE(at + 8));
    this.#count(packet, pt);
  }

  /**
   * An SRTP packet counted without decrypting it (RFC 3711 §3.1: the RTP header, with payload type,
   * sequence number and SSRC, is sent in the clear): packets and gaps, not delay. It saves the
   * generator the decryption of what most receivers of a large room get.
   */
  onProtectedRtp(packet: Buffer): void {
    if (!this.measuring || packet.length < 12) return;
    const pt = packet[1]! & 0x7f;
    if (pt !== VP8_PT && pt !== OPUS_PT) {
      this.rtx++;
      return;
    }
    this.headerOnly++;
    this.#count(packet, pt);
  }

  #count(packet: Buffer, pt: number): void {
    this.packets++;
    this.bytes += packet.length;
    if (pt === VP8_PT) this.videoPackets++;
    else this.audioPackets++;
    const ssrc = packet.readUInt32BE(8);
    let track = this.#tracks.get(ssrc);
    if (!track) this.#tracks.set(ssrc, (track = new SeqTrack(pt === VP8_PT)));
    track.add(packet.readUInt16BE(2));
  }

  /** Per received SSRC: sequence numbers expected and packets received. */
  perSsrc(): Array<{ ssrc: number; expected: number; received: number }> {
    return [...this.#tracks].map(([ssrc, t]) => ({ ssrc, expected: t.expected, received: t.received }));
  }

  /** Sequence numbers expected and received over every SSRC (gaps = lost), and by kind. */
  sequenceTotals(): SequenceTotals {
    const video = { expected: 0, received: 0 };
    const audio = { expected: 0, received: 0 };
    for (const t of this.#tracks.values()) {
      const kind = t.video ? video : audio;
      kind.expected += t.expected;
      kind.received += Math.min(t.received, t.expected);
    }
    return { expected: video.expected + audio.expected, received: video.received + audio.received, video, audio };
  }
}
