// Reception statistics of one received RTP stream (one SSRC), for the report blocks of the
// bridge's receiver reports.
//
// Specs: RFC 3550 Appendix A.1 (sequence number validity: probation, extended sequence number,
// restart after a large jump), A.3 (expected and lost packets, cumulative and fraction since the
// last report), A.8 (interarrival jitter), §6.4.1 (LSR: middle 32 bits of the SR's NTP timestamp;
// DLSR in units of 1/65536 s). Pure: arrival times are given by the caller in milliseconds.

import type { ReportBlock } from './rtcp.ts';

/** A.1: a stream is valid after this many consecutive packets. */
const MIN_SEQUENTIAL = 2;
/** A.1: a forward jump of at most this many is a loss, a larger one a possible restart. */
const MAX_DROPOUT = 3000;
/** A.1: a backward jump of at most this many is a reordered (or duplicate) packet. */
const MAX_MISORDER = 100;
const SEQ_MOD = 0x1_0000;

/** Cumulative lost is a signed 24-bit field (§6.4.1): clamp rather than wrap. */
const LOST_MAX = 0x7f_ffff;
const LOST_MIN = -0x80_0000;

/** Outcome of {@link ReceiveStatistics.update}. */
export type SequenceUpdate = 'counted' | 'probation' | 'bad-jump' | 'restarted';

export class ReceiveStatistics {
  /** A.1 `max_seq`: highest sequence number seen (16 bits). */
  #maxSeq = 0;
  /** A.1 `cycles`: sequence number wraps, times 2^16. */
  #cycles = 0;
  #baseSeq = 0;
  /** A.1 `bad_seq`: the sequence number that would confirm a restart after a large jump. */
  #badSeq = SEQ_MOD + 1;
  #probation = MIN_SEQUENTIAL;
  #received = 0;
  #expectedPrior = 0;
  /** What the numberings before a restart counted (A.1 starts the counts again): for the totals. */
  #expectedBeforeRestarts = 0;
  #lostBeforeRestarts = 0;
  #receivedPrior = 0;
  /** A.8 relative transit time of the previous in-order packet, in timestamp units; undefined before one. */
  #transit: number | undefined;
  #transitClockRate = 0;
  /** A.8 jitter estimate in timestamp units, unrounded. */
  #jitter = 0;
  /** §6.4.1 LSR of the last sender report and when it arrived (ms); 0 before one. */
  #lastSr = 0;
  #lastSrArrivalMs = 0;
  #started = false;

  /** @param ssrc The SSRC of the stream (the report block's "SSRC_n"). */
  constructor(readonly ssrc: number) {}

  /**
   * Accounts for one received packet. `clockRate` is its payload type's RTP clock rate (48000
   * for opus, 90000 for video); jitter restarts when it changes. Returns whether the packet
   * counted as received (A.1 `update_seq` returning 1).
   */
  update(sequence: number, timestamp: number, arrivalMs: number, clockRate: number): SequenceUpdate {
    const seq = sequence & 0xffff;
    if (!this.#started) {
      // A.1: init_seq, then max_seq = seq - 1 and a probation of MIN_SEQUENTIAL packets.
      this.#started = true;
      this.#initSequence(seq);
      this.#maxSeq = (seq - 1) & 0xffff;
      this.#probation = MIN_SEQUENTIAL;
    }
    const delta = (seq - this.#maxSeq) & 0xffff;
    let result: SequenceUpdate = 'counted';
    let inOrder = false;
    if (this.#probation > 0) {
      if (seq === ((this.#maxSeq + 1) & 0xffff)) {
        this.#probation--;
        this.#maxSeq = seq;
        if (this.#probation > 0) return 'probation';
        this.#initSequence(seq);
        inOrder = true;
      } else {
        this.#probation = MIN_SEQUENTIAL - 1;
        this.#maxSeq = seq;
        return 'probation';
      }
    } else if (delta < MAX_DROPOUT) {
      if (delta !== 0) {
        if (seq < this.#maxSeq) this.#cycles += SEQ_MOD;
        this.#maxSeq = seq;
        inOrder = true;
      }
    } else if (delta <= SEQ_MOD - MAX_MISORDER) {
      // A very large jump: a restart of the sender if the next packet follows this one.
      if (seq !== this.#badSeq) {
        this.#badSeq = (seq + 1) & 0xffff;
        return 'bad-jump';
      }
      // The counts start again (A.1), for the report blocks; the totals keep what came before.
      this.#expectedBeforeRestarts += this.packetsExpected;
      this.#lostBeforeRestarts += this.packetsLost;
      this.#initSequence(seq);
      result = 'restarted';
      inOrder = true;
    }
    // Otherwise a duplicate or reordered packet: counted, no change to max_seq (A.1).
    this.#received++;
    if (inOrder) this.#updateJitter(timestamp, arrivalMs, clockRate);
    return result;
  }

  /** Records a sender report of this stream (§6.4.1): the LSR and DLSR of the next report block. */
  onSenderReport(ntpSeconds: number, ntpFraction: number, arrivalMs: number): void {
    this.#lastSr = compactNtp(ntpSeconds, ntpFraction);
    this.#lastSrArrivalMs = arrivalMs;
  }

  /** Packets counted as received (duplicates included, as A.3 notes). */
  get packetsReceived(): number {
    return this.#received;
  }

  /** A.3 extended highest sequence number received (cycles + max_seq), 32-bit. */
  get extendedHighestSequence(): number {
    return (this.#cycles + this.#maxSeq) >>> 0;
  }

  /** A.3 packets expected: extended highest − base + 1; 0 while on probation. */
  get packetsExpected(): number {
    if (!this.#valid) return 0;
    return this.#cycles + this.#maxSeq - this.#baseSeq + 1;
  }

  /** A.3 cumulative packets lost (negative with duplicates); 0 while on probation. */
  get packetsLost(): number {
    return this.#valid ? this.packetsExpected - this.#received : 0;
  }

  /** Packets expected over the stream's life: {@link packetsExpected} of each numbering since a restart, summed. */
  get totalExpected(): number {
    return this.#expectedBeforeRestarts + this.packetsExpected;
  }

  /** Packets lost over the stream's life, as {@link totalExpected}. */
  get totalLost(): number {
    return this.#lostBeforeRestarts + this.packetsLost;
  }

  /** A.8 interarrival jitter in timestamp units, as the report block carries it. */
  get jitter(): number {
    return Math.floor(this.#jitter);
  }

  /** True when a packet arrived since the last {@link report} (§6.4: report only sources heard from). */
  get heardSinceReport(): boolean {
    return this.#valid && this.#received !== this.#receivedPrior;
  }

  /**
   * The report block for now, and the start of the next reporting interval (A.3: fraction lost
   * is over the interval since the previous call). Undefined while the stream is on probation.
   */
  report(nowMs: number): ReportBlock | undefined {
    if (!this.#valid) return undefined;
    const expected = this.packetsExpected;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    const lost = Math.min(LOST_MAX, Math.max(LOST_MIN, expected - this.#received));
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fractionLost),
      cumulativeLost: lost,
      highestSequence: this.extendedHighestSequence,
      jitter: this.jitter,
      lastSr: this.#lastSr,
      // §6.4.1: units of 1/65536 s; 0 when no SR has been received.
      delaySinceLastSr: this.#lastSr === 0 ? 0 : Math.max(0, Math.round(((nowMs - this.#lastSrArrivalMs) * 65536) / 1000)) >>> 0,
    };
  }

  get #valid(): boolean {
    return this.#started && this.#probation === 0;
  }

  /** A.1 init_seq. */
  #initSequence(seq: number): void {
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#badSeq = SEQ_MOD + 1;
    this.#cycles = 0;
    this.#received = 0;
    this.#receivedPrior = 0;
    this.#expectedPrior = 0;
    this.#transit = undefined;
  }

  /** A.8: J += (|D| − J) / 16, D the change of relative transit time between consecutive packets. */
  #updateJitter(timestamp: number, arrivalMs: number, clockRate: number): void {
    if (clockRate !== this.#transitClockRate) {
      this.#transitClockRate = clockRate;
      this.#transit = undefined;
    }
    // Arrival in timestamp units, modulo 2^32 like the timestamp, so the difference wraps with it.
    const arrival = Math.round((arrivalMs * clockRate) / 1000) % 0x1_0000_0000;
    const transit = (arrival - timestamp) | 0;
    if (this.#transit !== undefined) {
      const d = Math.abs((transit - this.#transit) | 0);
      this.#jitter += (d - this.#jitter) / 16;
    }
    this.#transit = transit;
  }
}

/** §4: the middle 32 bits of a 64-bit NTP timestamp (as LSR carries it). */
export function compactNtp(ntpSeconds: number, ntpFraction: number): number {
  return (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
}
