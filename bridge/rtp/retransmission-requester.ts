// The bridge's own NACKs towards a sender (RFC 4585 §6.2.1 Generic NACK): packets of a sender's
// video stream that never reached the bridge are asked again as soon as the gap shows, without
// waiting for a receiver to notice and NACK them through the bridge — which adds the receiver's
// round trip, and asks nothing at all while no receiver is forwarded that layer (the packet then
// misses from the bridge's cache when a receiver switches to it). jitsi-videobridge does the same
// (RetransmissionRequester in jitsi-nlj).
//
// Per stream: the highest sequence number seen; each gap opened by a newer packet (up to
// MAX_GAP missing) becomes pending; a pending packet is asked now, then again every
// RETRY_INTERVAL_MS, at most MAX_REQUESTS times, and forgotten when it arrives (late, or
// retransmitted) or once asked enough. Bounded: MAX_PENDING per stream (the oldest give way),
// MAX_STREAMS streams (the idlest is forgotten). Pure: the caller gives the time and sends the NACKs.

import { seqDiff } from './serial.ts';

/** A gap larger than this is a restart or a jump of the sender, not loss: nothing is asked. */
export const MAX_GAP = 100;
/** How often one missing packet is asked again (about a round trip to a sender plus its pacing). */
export const RETRY_INTERVAL_MS = 100;
/** How many times one missing packet is asked. */
export const MAX_REQUESTS = 3;
const MAX_PENDING = 256;
const MAX_STREAMS = 256;

interface Pending {
  /** When it was last asked (-Infinity: not yet). */
  askedAt: number;
  asked: number;
}

interface Stream {
  highest: number;
  lastSeenAt: number;
  /** Sequence number → its state, in the order the gaps opened (Map keeps insertion order). */
  pending: Map<number, Pending>;
}

export class RetransmissionRequester {
  readonly #streams = new Map<number, Stream>();
  /** Pending packets over all streams. */
  #pending = 0;

  /**
   * A packet of `ssrc` arrived (new, late or retransmitted): 'gap' when it showed packets missing
   * before it (ask {@link due} now), 'filled' when it was one of them, else 'ok'.
   */
  received(ssrc: number, sequence: number, now: number): 'ok' | 'gap' | 'filled' {
    sequence &= 0xffff;
    let stream = this.#streams.get(ssrc);
    if (!stream) {
      if (this.#streams.size >= MAX_STREAMS) this.#forgetIdlest();
      this.#streams.set(ssrc, { highest: sequence, lastSeenAt: now, pending: new Map() });
      return 'ok';
    }
    stream.lastSeenAt = now;
    const ahead = seqDiff(sequence, stream.highest);
    if (ahead <= 0) return this.#settle(stream, sequence) ? 'filled' : 'ok';
    let gap = false;
    if (ahead > 1 && ahead <= MAX_GAP) {
      for (let missing = stream.highest + 1; missing !== stream.highest + ahead; missing++) {
        if (stream.pending.size >= MAX_PENDING) this.#settle(stream, stream.pending.keys().next().value!);
        stream.pending.set(missing & 0xffff, { askedAt: Number.NEGATIVE_INFINITY, asked: 0 });
        this.#pending++;
        gap = true;
      }
    } else if (ahead > MAX_GAP) {
      this.#pending -= stream.pending.size;
      stream.pending.clear();
    }
    stream.highest = sequence;
    return gap ? 'gap' : 'ok';
  }

  /**
   * The packets to ask for now, per stream (each noted as asked); `into` is filled and returned.
   * Call it after received() for the packet that showed a gap, and from time to time for the retries.
   */
  due(now: number, into: Map<number, number[]> = new Map()): Map<number, number[]> {
    for (const [ssrc, stream] of this.#streams) {
      for (const [sequence, pending] of stream.pending) {
        if (now - pending.askedAt < RETRY_INTERVAL_MS) continue;
        pending.askedAt = now;
        pending.asked++;
        const list = into.get(ssrc);
        if (list) list.push(sequence);
        else into.set(ssrc, [sequence]);
        if (pending.asked >= MAX_REQUESTS) this.#settle(stream, sequence);
      }
    }
    return into;
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

  #forgetIdlest(): void {
    let idlest: number | undefined;
    let idlestAt = Number.POSITIVE_INFINITY;
    for (const [ssrc, stream] of this.#streams) if (stream.lastSeenAt < idlestAt) [idlest, idlestAt] = [ssrc, stream.lastSeenAt];
    if (idlest !== undefined) this.remove(idlest);
  }
}
