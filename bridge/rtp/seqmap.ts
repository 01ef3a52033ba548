// Re-stamps the packets of whichever simulcast layer is forwarded onto one fixed outgoing SSRC,
// with continuous sequence numbers, timestamps, VP8 PictureIDs and TL0PICIDX (Galène's packetmap
// idea: input sequence ranges mapped with an offset, remembered over a bounded window).
//
// Why (docs/jitsi-protocol.md §8.5): receivers only know the first SSRC of a SIM group, so every
// layer is sent as that SSRC and a layer switch must look like one stream to the receiver.
//
// Model. Forwarding is a series of segments, one per switch, each from one input SSRC. Inside a
// segment the output is input + delta (16-bit sequence, 32-bit timestamp, 15-bit PictureID, 8-bit
// TL0PICIDX). A deliberately dropped packet (say, a temporal layer above the target) lowers the
// sequence delta by one so the receiver sees no gap, and a dropped picture lowers the PictureID
// delta by one: libwebrtc's VP8 reference finder (rtp_vp8_ref_finder.cc) stashes a TL1 frame while
// a PictureID between it and its reference was never received, so uncompacted gaps freeze video.
// Every run of input sequence numbers sharing deltas is a range in a small ring; a reordered or
// retransmitted packet is looked up there and gets the same output as before, a dropped one is in
// no range and stays dropped. Packets lost upstream keep their slot (a gap the receiver NACKs).
// The reverse lookup maps a receiver's NACKed output sequence number to (input SSRC, input seq).
//
// Policy (which layer, which temporal layers) belongs to the caller: this module only answers
// whether a switch is possible now and applies it. Audio uses it without VP8 fields.

import type { RtpHeader } from './packet.ts';
import type { Vp8Descriptor } from './vp8.ts';

/**
 * What the map needs from one input packet. Allocate one with {@link createSeqMapPacket} per
 * stage and refill it per packet ({@link readSeqMapPacket}); the map never keeps a reference.
 */
export interface SeqMapPacket {
  /** Unsigned, as {@link RtpHeader} reads it. */
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  /** VP8 PictureID, or -1 when absent. */
  pictureId: number;
  /** 7 or 15 when a PictureID is present. */
  pictureIdBits: number;
  /** VP8 TL0PICIDX, or -1 when absent. */
  tl0PicIdx: number;
  /** First packet of a keyframe (for audio, which has none, pass true to allow the first switch). */
  keyframe: boolean;
  /** Arrival time in ms on a monotonic clock, or NaN when unknown. */
  arrivalMs: number;
}

export function createSeqMapPacket(): SeqMapPacket {
  return {
    ssrc: 0,
    sequenceNumber: 0,
    timestamp: 0,
    pictureId: -1,
    pictureIdBits: 0,
    tl0PicIdx: -1,
    keyframe: false,
    arrivalMs: Number.NaN,
  };
}

/** Fills `out` from a parsed RTP header and, for VP8, its parsed payload descriptor. */
export function readSeqMapPacket(out: SeqMapPacket, rtp: RtpHeader, vp8: Vp8Descriptor | undefined, arrivalMs: number): SeqMapPacket {
  out.ssrc = rtp.ssrc;
  out.sequenceNumber = rtp.sequenceNumber;
  out.timestamp = rtp.timestamp;
  out.arrivalMs = arrivalMs;
  if (vp8 === undefined) {
    out.pictureId = -1;
    out.pictureIdBits = 0;
    out.tl0PicIdx = -1;
    out.keyframe = false;
  } else {
    out.pictureId = vp8.pictureId;
    out.pictureIdBits = vp8.pictureIdBits;
    out.tl0PicIdx = vp8.tl0PicIdx;
    out.keyframe = vp8.isKeyframeStart(rtp.payloadOffset + rtp.payloadLength);
  }
  return out;
}

export interface SeqMapOptions {
  /** The outgoing SSRC every forwarded packet is stamped with (the SIM group's first SSRC). */
  ssrc: number;
  /** RTP clock rate. Default 90000 (video). */
  clockRate?: number;
  /** Timestamp advance across a switch until a frame interval has been observed. Default clockRate / 30. */
  frameTicks?: number;
  /** Packets (output sequence numbers) behind the newest that still map or reverse-map. Default 1024, at most 16384. */
  window?: number;
  /** Ranges remembered (each drop or switch starts one). Default 128. */
  maxRanges?: number;
}

/**
 * 'new': the packet advances the stream; 'old': reordered or retransmitted, it gets the output it
 * had (or would have had); 'unknown': do not forward (another layer, dropped before, or too old).
 */
export type SeqMapResult = 'new' | 'old' | 'unknown';

const MAX_ELAPSED_TICKS = 0x4000_0000;

export class SeqMap {
  readonly ssrc: number;
  /** Outputs of the last successful {@link map}. */
  outSequence = 0;
  outTimestamp = 0;
  /** -1 when the input had no PictureID. */
  outPictureId = -1;
  /** -1 when the input had no TL0PICIDX. */
  outTl0PicIdx = -1;
  /** Outputs of the last successful {@link reverse}. */
  reverseSsrc = 0;
  reverseSequence = 0;

  readonly #clockRate: number;
  readonly #window: number;
  readonly #capacity: number;
  #frameTicks: number;

  // Ranges, newest at #head: input [first, first + count) of ssrc, and the deltas applied to them.
  readonly #rSsrc: Uint32Array;
  readonly #rFirst: Uint16Array;
  readonly #rCount: Uint16Array;
  readonly #rSeqDelta: Uint16Array;
  readonly #rTsDelta: Uint32Array;
  readonly #rPidDelta: Uint16Array;
  readonly #rTl0Delta: Uint8Array;
  /**
   * Per range: its newest output slot, extended past 16 bits (counted on from the first output).
   * A range whose newest slot is a window or more behind the highest output is dead: after 65 536
   * outputs its 16-bit numbers would otherwise look recent again, and a late packet of a layer
   * left long ago would take a slot another packet went out in (one SRTP index, other bytes).
   */
  readonly #rOutEnd: Float64Array;
  /** The highest output slot, extended (see #rOutEnd); -1 before the first. */
  #highestOutExtended = -1;
  #head = -1;
  #size = 0;

  // Current segment.
  #active = false;
  #inSsrc = 0;
  /** Whether the newest range belongs to the current deltas and may grow. */
  #open = false;
  /** Where the next range starts (the input after the last one mapped or dropped). */
  #pendingStart = 0;
  /** Newest input sequence number mapped or dropped in this segment. */
  #lastIn = 0;
  #seqDelta = 0;
  #tsDelta = 0;
  #pidDelta = 0;
  #tl0Delta = 0;
  #lastInPid = -1;
  #lastInTs = -1;

  // What the receiver has seen.
  #started = false;
  #lastOutSeq = 0;
  #lastOutTs = 0;
  #lastOutPid = -1;
  #lastOutTl0 = -1;
  #lastOutMs = Number.NaN;

  constructor(options: SeqMapOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.#clockRate = options.clockRate ?? 90_000;
    this.#frameTicks = options.frameTicks ?? Math.round(this.#clockRate / 30);
    this.#window = Math.min(Math.max(options.window ?? 1024, 1), 0x4000);
    this.#capacity = Math.max(options.maxRanges ?? 128, 1);
    this.#rSsrc = new Uint32Array(this.#capacity);
    this.#rFirst = new Uint16Array(this.#capacity);
    this.#rCount = new Uint16Array(this.#capacity);
    this.#rSeqDelta = new Uint16Array(this.#capacity);
    this.#rTsDelta = new Uint32Array(this.#capacity);
    this.#rPidDelta = new Uint16Array(this.#capacity);
    this.#rTl0Delta = new Uint8Array(this.#capacity);
    this.#rOutEnd = new Float64Array(this.#capacity);
  }

  /** Whether a segment ever started (a stream the receiver has seen, paused or not). */
  get started(): boolean {
    return this.#started;
  }

  /** Input SSRC of the current segment, or -1 before the first switch and after {@link pause}. */
  get currentSsrc(): number {
    return this.#active ? this.#inSsrc : -1;
  }

  /** Current estimate of one frame interval in timestamp ticks. */
  get frameTicks(): number {
    return this.#frameTicks;
  }

  /** Whether `packet` may start a segment: the first packet of a keyframe, of a layer not being forwarded. */
  canSwitchTo(packet: SeqMapPacket): boolean {
    return packet.keyframe && !(this.#active && packet.ssrc === this.#inSsrc);
  }

  /**
   * Starts forwarding `packet`'s layer at `packet`, which {@link map} then forwards as the next
   * output: sequence number last + 1, timestamp last + max(frame interval, time since the last
   * forwarded packet), PictureID last + 1, TL0PICIDX last + 1. The very first segment keeps the
   * input values. Returns false (and changes nothing) when {@link canSwitchTo} says no.
   */
  switchTo(packet: SeqMapPacket): boolean {
    if (!this.canSwitchTo(packet)) return false;
    const seq = packet.sequenceNumber;
    if (!this.#started) {
      this.#started = true;
      this.#seqDelta = 0;
      this.#tsDelta = 0;
      this.#pidDelta = 0;
      this.#tl0Delta = 0;
    } else {
      const lastOutSeq = this.#highestOut();
      this.#seqDelta = (lastOutSeq + 1 - seq) & 0xffff;
      let advance = this.#frameTicks;
      const elapsedMs = packet.arrivalMs - this.#lastOutMs; // NaN when either is unknown
      if (elapsedMs > 0) advance = Math.max(advance, Math.min(Math.round((elapsedMs * this.#clockRate) / 1000), MAX_ELAPSED_TICKS));
      this.#tsDelta = (this.#lastOutTs + advance - packet.timestamp) >>> 0;
      this.#pidDelta = packet.pictureId >= 0 && this.#lastOutPid >= 0 ? (this.#lastOutPid + 1 - packet.pictureId) & 0x7fff : 0;
      this.#tl0Delta = packet.tl0PicIdx >= 0 && this.#lastOutTl0 >= 0 ? (this.#lastOutTl0 + 1 - packet.tl0PicIdx) & 0xff : 0;
    }
    this.#active = true;
    this.#inSsrc = packet.ssrc >>> 0;
    this.#open = false;
    this.#pendingStart = seq;
    this.#lastIn = (seq - 1) & 0xffff;
    this.#lastInPid = -1;
    this.#lastInTs = -1;
    return true;
  }

  /** Stops forwarding (e.g. the receiver wants no video); late packets still map, and the next switch continues the stream. */
  pause(): void {
    if (!this.#active) return;
    this.#lastOutSeq = this.#highestOut();
    this.#active = false;
    this.#open = false;
  }

  /** Whether {@link map} would take `packet` as 'new' (advancing the stream): a repair must not. */
  isAhead(packet: SeqMapPacket): boolean {
    if (!this.#active || packet.ssrc !== this.#inSsrc) return false;
    const ahead = (packet.sequenceNumber - this.#lastIn) & 0xffff;
    return ahead !== 0 && ahead < 0x8000;
  }

  /**
   * Maps `packet` to its output values (left in outSequence, outTimestamp, outPictureId,
   * outTl0PicIdx). Only the current layer advances the stream; any layer may be looked up.
   */
  map(packet: SeqMapPacket): SeqMapResult {
    const seq = packet.sequenceNumber;
    if (this.#active && packet.ssrc === this.#inSsrc) {
      const ahead = (seq - this.#lastIn) & 0xffff;
      if (ahead !== 0 && ahead < 0x8000) {
        this.#advance(packet);
        return 'new';
      }
    }
    const range = this.#find(packet.ssrc, seq);
    if (range < 0) return 'unknown';
    this.#output(packet, this.#rSeqDelta[range]!, this.#rTsDelta[range]!, this.#rPidDelta[range]!, this.#rTl0Delta[range]!);
    return 'old';
  }

  /**
   * Records that `packet` is deliberately not forwarded, so later outputs close up over it.
   * Returns true when dropping leaves no hole in the output. False when the packet already owns an
   * output slot: it was lost and arrives late, after newer packets were mapped around it, so the
   * map could not know it would be dropped. Its slot is then left in the out* fields, as by
   * {@link map}: send the packet there, or a padding-only packet, or the receiver NACKs the hole.
   */
  drop(packet: SeqMapPacket): boolean {
    const seq = packet.sequenceNumber;
    const ahead = (seq - this.#lastIn) & 0xffff;
    if (!this.#active || packet.ssrc !== this.#inSsrc || ahead === 0 || ahead >= 0x8000) {
      const range = this.#find(packet.ssrc, seq);
      if (range < 0) return true;
      this.#output(packet, this.#rSeqDelta[range]!, this.#rTsDelta[range]!, this.#rPidDelta[range]!, this.#rTl0Delta[range]!);
      return false;
    }
    // Packets lost between the last one and this one keep their slots, with the current deltas.
    if (ahead > 1) this.#cover((seq - 1) & 0xffff);
    this.#open = false;
    this.#pendingStart = (seq + 1) & 0xffff;
    this.#lastIn = seq;
    this.#seqDelta = (this.#seqDelta + 0xffff) & 0xffff;
    if (packet.pictureId >= 0) {
      if (this.#lastInPid < 0) {
        this.#lastInPid = packet.pictureId;
      } else {
        const mask = packet.pictureIdBits === 7 ? 0x7f : 0x7fff;
        const newer = (packet.pictureId - this.#lastInPid) & mask;
        if (newer !== 0 && newer <= mask >>> 1) {
          this.#pidDelta = (this.#pidDelta + 0x7fff) & 0x7fff;
          this.#lastInPid = packet.pictureId;
        }
      }
    }
    return true;
  }

  /**
   * Maps an output sequence number (from a receiver's NACK) back to the input packet, left in
   * reverseSsrc / reverseSequence. False when it is outside the window or was never assigned.
   */
  reverse(outSequence: number): boolean {
    if (this.#size === 0) return false;
    const out = outSequence & 0xffff;
    if (((this.#highestOut() - out) & 0xffff) >= this.#window) return false;
    const live = this.#extendHighest() - this.#window;
    let i = this.#head;
    for (let k = 0; k < this.#size; k++) {
      const delta = this.#rSeqDelta[i]!;
      const outFirst = (this.#rFirst[i]! + delta) & 0xffff;
      if (this.#rOutEnd[i]! > live && ((out - outFirst) & 0xffff) < this.#rCount[i]!) {
        this.reverseSsrc = this.#rSsrc[i]!;
        this.reverseSequence = (out - delta) & 0xffff;
        return true;
      }
      i = i === 0 ? this.#capacity - 1 : i - 1;
    }
    return false;
  }

  /** Writes the last {@link map} outputs and the outgoing SSRC into the packet in place. */
  applyTo(rtp: RtpHeader, vp8?: Vp8Descriptor): void {
    rtp.setSequenceNumber(this.outSequence);
    rtp.setTimestamp(this.outTimestamp);
    rtp.setSsrc(this.ssrc);
    if (vp8 !== undefined) {
      if (this.outPictureId >= 0) vp8.setPictureId(this.outPictureId);
      if (this.outTl0PicIdx >= 0) vp8.setTl0PicIdx(this.outTl0PicIdx);
    }
  }

  /**
   * The current segment's newest input sequence number and the deltas its next packets are
   * re-stamped with (undefined when paused): what the media socket's read forwards a steady layer
   * with (video-projection.ts routes), {@link map} then given each packet it forwarded.
   */
  get segment(): { lastInput: number; sequenceDelta: number; timestampDelta: number; pictureIdDelta: number; tl0PicIdxDelta: number } | undefined {
    if (!this.#active) return undefined;
    return { lastInput: this.#lastIn, sequenceDelta: this.#seqDelta, timestampDelta: this.#tsDelta, pictureIdDelta: this.#pidDelta, tl0PicIdxDelta: this.#tl0Delta };
  }

  /** Newest output sequence number assigned (lost-upstream slots included). */
  get highestOutSequence(): number {
    return this.#highestOut();
  }

  #highestOut(): number {
    return this.#active ? (this.#lastIn + this.#seqDelta) & 0xffff : this.#lastOutSeq;
  }

  #advance(packet: SeqMapPacket): void {
    const seq = packet.sequenceNumber;
    this.#cover(seq);
    this.#lastIn = seq;
    this.#output(packet, this.#seqDelta, this.#tsDelta, this.#pidDelta, this.#tl0Delta);
    this.#lastOutTs = this.outTimestamp;
    if (this.outPictureId >= 0) {
      this.#lastOutPid = this.outPictureId;
      this.#lastInPid = packet.pictureId;
    }
    if (this.outTl0PicIdx >= 0) this.#lastOutTl0 = this.outTl0PicIdx;
    if (packet.arrivalMs === packet.arrivalMs) this.#lastOutMs = packet.arrivalMs;
    // Frame interval: the step between consecutive forwarded frames, ignoring jumps over a second.
    const ts = packet.timestamp;
    if (this.#lastInTs >= 0) {
      const step = (ts - this.#lastInTs) >>> 0;
      if (step === 0 || step >= 0x8000_0000) return;
      if (step <= this.#clockRate) this.#frameTicks = step;
    }
    this.#lastInTs = ts;
  }

  #output(packet: SeqMapPacket, seqDelta: number, tsDelta: number, pidDelta: number, tl0Delta: number): void {
    this.outSequence = (packet.sequenceNumber + seqDelta) & 0xffff;
    this.outTimestamp = (packet.timestamp + tsDelta) >>> 0;
    this.outPictureId = packet.pictureId < 0 ? -1 : (packet.pictureId + pidDelta) & (packet.pictureIdBits === 7 ? 0x7f : 0x7fff);
    this.outTl0PicIdx = packet.tl0PicIdx < 0 ? -1 : (packet.tl0PicIdx + tl0Delta) & 0xff;
  }

  /** Makes the newest range cover input `seq` with the current deltas, opening one if needed. */
  #cover(seq: number): void {
    const window = this.#window;
    if (this.#open) {
      const h = this.#head;
      let count = ((seq - this.#rFirst[h]!) & 0xffff) + 1;
      if (count > window) {
        this.#rFirst[h] = (seq - window + 1) & 0xffff;
        count = window;
      }
      this.#rCount[h] = count;
      this.#rOutEnd[h] = this.#extendOut((seq + this.#seqDelta) & 0xffff);
      return;
    }
    let first = this.#pendingStart;
    let count = ((seq - first) & 0xffff) + 1;
    if (count > window) {
      first = (seq - window + 1) & 0xffff;
      count = window;
    }
    const h = this.#head + 1 === this.#capacity ? 0 : this.#head + 1;
    this.#head = h;
    if (this.#size < this.#capacity) this.#size++;
    this.#rSsrc[h] = this.#inSsrc;
    this.#rFirst[h] = first;
    this.#rCount[h] = count;
    this.#rSeqDelta[h] = this.#seqDelta;
    this.#rTsDelta[h] = this.#tsDelta;
    this.#rPidDelta[h] = this.#pidDelta;
    this.#rTl0Delta[h] = this.#tl0Delta;
    this.#rOutEnd[h] = this.#extendOut((seq + this.#seqDelta) & 0xffff);
    this.#open = true;
  }

  /** A 16-bit output slot near the highest, extended as #rOutEnd counts. */
  #extendOut(out: number): number {
    const base = this.#extendHighest();
    const step = (out - (base % 0x10000)) & 0xffff;
    return base + (step < 0x8000 ? step : step - 0x10000);
  }

  /** The range holding input (ssrc, seq) whose output is inside the window, or -1. */
  #find(ssrc: number, seq: number): number {
    const highest = this.#highestOut();
    const live = this.#extendHighest() - this.#window;
    let i = this.#head;
    for (let k = 0; k < this.#size; k++) {
      if (this.#rSsrc[i] === ssrc && ((seq - this.#rFirst[i]!) & 0xffff) < this.#rCount[i]!) {
        const out = (seq + this.#rSeqDelta[i]!) & 0xffff;
        return ((highest - out) & 0xffff) < this.#window && this.#rOutEnd[i]! > live ? i : -1;
      }
      i = i === 0 ? this.#capacity - 1 : i - 1;
    }
    return -1;
  }

  /** The highest output slot, extended past 16 bits: brought up to date (it moves less than 32 768 between calls). */
  #extendHighest(): number {
    const highest = this.#highestOut();
    // Before the first segment the highest is a placeholder, not an output: nothing to count from.
    if (!this.#started) return highest;
    if (this.#highestOutExtended < 0) return (this.#highestOutExtended = highest);
    const step = (highest - (this.#highestOutExtended % 0x10000)) & 0xffff;
    this.#highestOutExtended += step < 0x8000 ? step : step - 0x10000;
    return this.#highestOutExtended;
  }
}
