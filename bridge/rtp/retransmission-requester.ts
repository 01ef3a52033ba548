// The bridge's own NACKs towards a sender (RFC 4585 §6.2.1 Generic NACK): packets of a sender's
// video stream that never reached the bridge are asked again as soon as the gap shows, without
// waiting for a receiver to notice and NACK them through the bridge — which adds the receiver's
// round trip, and asks nothing at all while no receiver is forwarded that layer (the packet then
// misses from the bridge's cache when a receiver switches to it). jitsi-videobridge does the same
// (RetransmissionRequester in jitsi-nlj).
//
// Per stream: the highest sequence number seen; each gap opened by a newer packet (up to
// MAX_GAP missing) becomes pending; a pending packet is asked now, then again every retry
// interval, at most MAX_REQUESTS times, and forgotten when it arrives (late, or retransmitted) or
// once asked enough. The retry interval follows the sender: the time from the first NACK of a
// packet to its retransmission (a round trip plus the sender's pacing; a packet asked twice gives
// no sample, as its answer could be to either NACK — Karn's rule), smoothed, doubled, and kept
// within [MIN_RETRY_INTERVAL_MS, MAX_RETRY_INTERVAL_MS]; RETRY_INTERVAL_MS before any answer. On a
// near network a lost NACK or retransmission is thus asked again within tens of milliseconds, in
// time for the receiver's jitter buffer, and a far sender is not asked twice before it can answer.
// A packet answered only after a second NACK, or never, doubles the interval (Karn's backoff).
// Bounded: MAX_PENDING per stream (the oldest give way), MAX_STREAMS streams (the idlest is
// forgotten). Pure: the caller gives the time and sends the NACKs.
//
// Tail loss. A gap shows only when a newer packet arrives; when the lost packets end a frame, that
// is the next frame, a frame interval later (33–50 ms), and by the time the retransmission comes
// the receivers have decoded that next frame and dropped the incomplete one (a frame of the top
// temporal layer, which nothing references, is skipped; a small layer's frame is often one
// packet). So, as TCP's tail loss probe does, a silent stream has the next sequence number asked:
// - after TAIL_LOSS_MS of silence when its newest packet did not end a frame (no RTP marker);
// - after its frame interval (smoothed from the arrivals of its frame ends) plus the larger of
//   TAIL_LOSS_MS and a quarter of it, when it did: a whole frame is late, lost or not sent.
// One probe per silence, then asked again like any gap (MAX_REQUESTS times at most). If nothing
// was lost (the sender paused, or skipped a frame) the NACK names a packet not sent yet: the
// sender ignores it, and the packet settles the request when it arrives; a later gap that shows
// it lost has it asked at once. Such a request never backs the retry interval off.

import { seqDiff } from './serial.ts';

/** A gap larger than this is a restart or a jump of the sender, not loss: nothing is asked. */
export const MAX_GAP = 100;
/** How often one missing packet is asked again while the sender's response time is unknown. */
export const RETRY_INTERVAL_MS = 100;
/** Bounds of the retry interval learnt from the sender's response times. */
export const MIN_RETRY_INTERVAL_MS = 20;
export const MAX_RETRY_INTERVAL_MS = 400;
/** How many times one missing packet is asked. */
export const MAX_REQUESTS = 4;
/** A stream silent this long after a packet that did not end a frame has its next packet asked. */
export const TAIL_LOSS_MS = 15;
/** Frame intervals longer than this (a paused or static source) are not learnt. */
const MAX_FRAME_INTERVAL_MS = 500;
const MAX_PENDING = 256;
const MAX_STREAMS = 256;

interface Pending {
  /** Its sequence number (the key it is kept under). */
  sequence: number;
  /** When it was last asked (-Infinity: not yet). */
  askedAt: number;
  asked: number;
  /** Asked as a tail-loss probe: maybe never sent, so no backoff when it is not answered. */
  tail: boolean;
}

interface Stream {
  /** Its SSRC (the key it is kept under). */
  ssrc: number;
  highest: number;
  lastSeenAt: number;
  /** Sequence number → its state, in the order the gaps opened (Map keeps insertion order). */
  pending: Map<number, Pending>;
  /** Smoothed time from a first NACK to its retransmission (ms); NaN before one. */
  responseMs: number;
  /** Twice that, bounded; RETRY_INTERVAL_MS before any sample. */
  retryIntervalMs: number;
  /** When the highest packet arrived, and whether it left a frame open (no marker; false when unknown). */
  highestAt: number;
  frameOpen: boolean;
  /** Arrival of the last frame end (NaN: none yet), and the smoothed interval between frame ends (NaN: unknown). */
  frameEndAt: number;
  frameIntervalMs: number;
  /** The silence since the highest packet was probed already. */
  probed: boolean;
  /**
   * After a packet far behind the highest: the sequence number that, arriving next, makes it a
   * restart of the stream's numbering rather than a stray old packet (RFC 3550 A.1's two
   * sequential packets); -1 when none.
   */
  restartAt: number;
}

export class RetransmissionRequester {
  readonly #streams = new Map<number, Stream>();
  /** Pending packets over all streams. */
  #pending = 0;

  /**
   * A packet of `ssrc` arrived (new, late, or `retransmitted` on RTX): 'gap' when it showed packets
   * missing before it (ask {@link due} now), 'filled' when it was one of them, else 'ok'.
   * `frameEnd`: its RTP marker bit, for tail losses (undefined: not known, no tail probing).
   * `contiguous`: every packet between the highest and this one arrived too, not reported (the
   * media socket's read forwarded them, video-projection.ts): no gap, and any pending there settled.
   */
  received(ssrc: number, sequence: number, now: number, retransmitted = false, frameEnd?: boolean, contiguous = false): 'ok' | 'gap' | 'filled' {
    sequence &= 0xffff;
    let stream = this.#streams.get(ssrc);
    if (!stream) {
      if (this.#streams.size >= MAX_STREAMS) this.#forgetIdlest();
      this.#streams.set(ssrc, {
        ssrc, highest: sequence, lastSeenAt: now, pending: new Map(), responseMs: Number.NaN, retryIntervalMs: RETRY_INTERVAL_MS,
        highestAt: now, frameOpen: frameEnd === false, frameEndAt: frameEnd === true ? now : Number.NaN, frameIntervalMs: Number.NaN, probed: false, restartAt: -1,
      });
      return 'ok';
    }
    stream.lastSeenAt = now;
    let ahead = seqDiff(sequence, stream.highest);
    // (A packet asked for is a late one, however far behind: never a restart.)
    if (ahead < -MAX_GAP && !retransmitted && !stream.pending.has(sequence)) {
      // Far behind: a stray old packet, or the sender numbering anew from lower down (a restart
      // with the same SSRC). The second of two packets in a row there says which.
      if (sequence !== stream.restartAt) {
        stream.restartAt = (sequence + 1) & 0xffff;
        return 'ok';
      }
      ahead = MAX_GAP + 1; // a restart: taken as a jump ahead (old gaps dropped, nothing asked)
    }
    stream.restartAt = -1;
    if (ahead <= 0) return this.#filled(stream, sequence, now, retransmitted) ? 'filled' : 'ok';
    let gap = false;
    if (ahead > 1 && ahead <= MAX_GAP && contiguous) {
      // (Pending only if a check ran while those packets waited to be reported: they came.)
      if (stream.pending.size > 0) for (let k = 1; k < ahead; k++) this.#filled(stream, (stream.highest + k) & 0xffff, now, false);
    } else if (ahead > 1 && ahead <= MAX_GAP) {
      for (let missing = stream.highest + 1; missing !== stream.highest + ahead; missing++) {
        const probe = stream.pending.get(missing & 0xffff);
        if (probe) {
          // A tail probe, maybe asked before the packet existed: now known lost, it is asked at
          // once as any gap (and its answer times the sender).
          probe.tail = false;
          probe.askedAt = Number.NEGATIVE_INFINITY;
          probe.asked = 0;
          gap = true;
          continue;
        }
        this.#addPending(stream, missing & 0xffff, false);
        gap = true;
      }
    } else if (ahead > MAX_GAP) {
      this.#pending -= stream.pending.size;
      stream.pending.clear();
    }
    stream.highest = sequence;
    stream.highestAt = now;
    stream.frameOpen = frameEnd === false;
    stream.probed = false;
    if (frameEnd === true && !retransmitted) {
      const interval = now - stream.frameEndAt;
      if (interval > 0 && interval <= MAX_FRAME_INTERVAL_MS) {
        stream.frameIntervalMs = Number.isNaN(stream.frameIntervalMs) ? interval : 0.875 * stream.frameIntervalMs + 0.125 * interval;
      } else if (interval > MAX_FRAME_INTERVAL_MS) {
        stream.frameIntervalMs = Number.NaN; // paused or static: the old rate says nothing now
      }
      stream.frameEndAt = now;
    }
    // Pending ahead of the highest: a tail probe, answered (retransmitted) or sent since (not lost).
    if (ahead === 1 && this.#filled(stream, sequence, now, retransmitted)) return 'filled';
    return gap ? 'gap' : 'ok';
  }

  /** Whether any packet of `ssrc` is pending (a gap, a tail probe): its packets must then be reported one by one. */
  awaits(ssrc: number): boolean {
    return (this.#streams.get(ssrc)?.pending.size ?? 0) > 0;
  }

  /** A packet to ask for, not asked yet (the oldest pending gives way at MAX_PENDING). */
  #addPending(stream: Stream, sequence: number, tail: boolean): void {
    if (stream.pending.size >= MAX_PENDING) this.#settle(stream, stream.pending.keys().next().value!);
    stream.pending.set(sequence, { sequence, askedAt: Number.NEGATIVE_INFINITY, asked: 0, tail });
    this.#pending++;
  }

  /** Settles `sequence` if it was pending, learning from the sender's answer; whether it was. */
  #filled(stream: Stream, sequence: number, now: number, retransmitted: boolean): boolean {
    const pending = stream.pending.get(sequence);
    if (!pending) return false;
    if (retransmitted && pending.asked === 1) this.#learnResponse(stream, now - pending.askedAt);
    // Answered only after being asked again: the interval may be too short for this sender now.
    else if (retransmitted && pending.asked > 1) this.#backOff(stream);
    this.#settle(stream, sequence);
    return true;
  }

  /**
   * The packets to ask for now, per stream (each noted as asked); `into` is filled and returned.
   * Call it after received() for the packet that showed a gap, and from time to time for the retries.
   */
  due(now: number, into: Map<number, number[]> = new Map()): Map<number, number[]> {
    // Over values(), the keys kept in them: an entries() loop makes a [key, value] array per entry,
    // and this runs every few milliseconds per conference (its tail-loss check).
    for (const stream of this.#streams.values()) {
      const ssrc = stream.ssrc;
      if (!stream.probed && now >= tailProbeAt(stream)) {
        // Once per silence: the probe is then pending like any gap, and asked again as one.
        stream.probed = true;
        const next = (stream.highest + 1) & 0xffff;
        if (!stream.pending.has(next)) {
          this.#addPending(stream, next, true);
          this.tailProbes++;
        }
      }
      let gaveUp = false;
      for (const pending of stream.pending.values()) {
        const sequence = pending.sequence;
        if (now - pending.askedAt < stream.retryIntervalMs) continue;
        pending.askedAt = now;
        pending.asked++;
        const list = into.get(ssrc);
        if (list) list.push(sequence);
        else into.set(ssrc, [sequence]);
        if (pending.asked >= MAX_REQUESTS) {
          this.#settle(stream, sequence);
          gaveUp ||= !pending.tail;
        }
      }
      // Once per stream and call: the packets still pending keep the interval they were asked with.
      if (gaveUp) this.#backOff(stream);
    }
    return into;
  }

  /** Tail-loss probes made so far (see the file comment). */
  tailProbes = 0;

  /** When {@link due} next has a tail-loss probe to make (the earliest over the streams); undefined for none. */
  nextTailCheck(): number | undefined {
    let next: number | undefined;
    for (const stream of this.#streams.values()) {
      const at = stream.probed ? Number.NaN : tailProbeAt(stream);
      if (at < (next ?? Number.POSITIVE_INFINITY)) next = at;
    }
    return next;
  }

  /** How long after a NACK of `ssrc` to ask again when nothing came (ms). */
  retryInterval(ssrc: number): number {
    return this.#streams.get(ssrc)?.retryIntervalMs ?? RETRY_INTERVAL_MS;
  }

  /** Whether anything waits to be asked (again): the caller need not call {@link due} otherwise. */
  get waiting(): boolean {
    return this.#pending > 0;
  }

  /** Forgets a stream (its source went away). */
  remove(ssrc: number): void {
    const stream = this.#streams.get(ssrc);
    if (!stream) return;
    this.#pending -= stream.pending.size;
    this.#streams.delete(ssrc);
  }

  get size(): { streams: number; pending: number } {
    return { streams: this.#streams.size, pending: this.#pending };
  }

  #settle(stream: Stream, sequence: number): boolean {
    if (!stream.pending.delete(sequence)) return false;
    this.#pending--;
    return true;
  }

  /**
   * Karn's rule takes no sample from a packet asked twice, so an interval learnt on a fast path
   * would never grow when the sender slows down; as in TCP, an answer that needed a second NACK,
   * or none at all, doubles it (within the bounds) until a clean sample comes.
   */
  #backOff(stream: Stream): void {
    stream.retryIntervalMs = Math.min(MAX_RETRY_INTERVAL_MS, 2 * stream.retryIntervalMs);
  }

  #learnResponse(stream: Stream, sample: number): void {
    if (!(sample >= 0)) return;
    stream.responseMs = Number.isNaN(stream.responseMs) ? sample : 0.875 * stream.responseMs + 0.125 * sample;
    stream.retryIntervalMs = Math.min(MAX_RETRY_INTERVAL_MS, Math.max(MIN_RETRY_INTERVAL_MS, 2 * stream.responseMs));
  }

  #forgetIdlest(): void {
    let idlest: number | undefined;
    let idlestAt = Number.POSITIVE_INFINITY;
    for (const [ssrc, stream] of this.#streams) if (stream.lastSeenAt < idlestAt) [idlest, idlestAt] = [ssrc, stream.lastSeenAt];
    if (idlest !== undefined) this.remove(idlest);
  }
}

/** When a stream's silence becomes a tail-loss probe (see the file comment); NaN when it cannot. */
function tailProbeAt(stream: Stream): number {
  if (stream.frameOpen) return stream.highestAt + TAIL_LOSS_MS;
  // Frame ends only: a packet without a marker (or unknown) since the last one leaves no interval.
  if (Number.isNaN(stream.frameIntervalMs) || stream.frameEndAt !== stream.highestAt) return Number.NaN;
  return stream.highestAt + stream.frameIntervalMs + Math.max(TAIL_LOSS_MS, stream.frameIntervalMs / 4);
}
