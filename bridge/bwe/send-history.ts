// What the bridge sent on one transport, by transport-wide sequence number, so that transport-cc
// feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) can be matched to the send
// time and size of each packet it reports.
//
// A ring of typed arrays (no allocation per packet). Sequence numbers are 16 bits on the wire and
// unwrapped here (RFC 1982 distance from the highest sent); an entry is found only while its slot
// still holds that exact unwrapped number, so a number older than the ring, never sent, or from the
// future is simply unknown. Each entry also remembers what feedback said about it (not yet
// reported / reported lost / received), which is how repeated and reordered feedback is
// recognised.

import { seqDiff } from '../rtp/serial.ts';

/** Default number of packets remembered: at 2 000 packets/s, two seconds. */
export const SEND_HISTORY_SIZE = 4096;

/** What feedback said about one sent packet. */
export const FeedbackStatus = { Unreported: 0, Lost: 1, Received: 2 } as const;
export type FeedbackStatus = (typeof FeedbackStatus)[keyof typeof FeedbackStatus];

/** Sent packets by unwrapped transport-wide sequence number, in a fixed ring. */
export class SendHistory {
  readonly #mask: number;
  /** Unwrapped sequence number held by each slot (−1: none). */
  readonly #sequence: Float64Array;
  readonly #sendMs: Float64Array;
  readonly #size: Uint32Array;
  readonly #status: Uint8Array;
  /** Probe cluster each packet belonged to (0: none). */
  readonly #cluster: Uint32Array;
  #highest = -1;

  /** `capacity` is rounded up to a power of two in [16, 32768] (half the 16-bit space, for unwrapping). */
  constructor(capacity = SEND_HISTORY_SIZE) {
    let size = 16;
    while (size < capacity && size < 0x8000) size *= 2;
    this.#mask = size - 1;
    this.#sequence = new Float64Array(size).fill(-1);
    this.#sendMs = new Float64Array(size);
    this.#size = new Uint32Array(size);
    this.#status = new Uint8Array(size);
    this.#cluster = new Uint32Array(size);
  }

  /** Unwrapped number of the highest packet sent, or −1 before the first. */
  get highest(): number {
    return this.#highest;
  }

  /**
   * Records one packet sent with the 16-bit transport-wide `sequence`, `size` bytes on the wire, at
   * `sendMs`, as part of probe cluster `cluster` (0: none). A number sent twice keeps its first
   * record; one further behind than the ring holds is taken as a restart of the numbering.
   */
  add(sequence: number, size: number, sendMs: number, cluster = 0): void {
    if (!Number.isFinite(sequence) || !Number.isFinite(sendMs)) return;
    const seq = sequence & 0xffff;
    // Unwrapped numbers start at 2^16 so that a first packet followed by older ones stays positive.
    let unwrapped = this.#highest < 0 ? 0x10000 + seq : this.#highest + seqDiff(seq, this.#highest & 0xffff);
    // Far behind the ring: the numbering restarted, not a packet sent late; take it as a jump ahead.
    if (unwrapped <= this.#highest - this.#sequence.length) unwrapped += 0x10000;
    const slot = unwrapped & this.#mask;
    if (this.#sequence[slot]! >= unwrapped) return;
    this.#sequence[slot] = unwrapped;
    this.#sendMs[slot] = sendMs;
    this.#size[slot] = Number.isFinite(size) && size > 0 ? Math.min(Math.round(size), 0xffff) : 0;
    this.#status[slot] = FeedbackStatus.Unreported;
    this.#cluster[slot] = cluster >>> 0;
    if (unwrapped > this.#highest) this.#highest = unwrapped;
  }

  /** Slot of the packet sent with 16-bit `sequence`, or −1 when it is unknown (never sent, or forgotten). */
  find(sequence: number): number {
    if (this.#highest < 0) return -1;
    const unwrapped = this.#highest + seqDiff(sequence & 0xffff, this.#highest & 0xffff);
    const slot = unwrapped & this.#mask;
    return this.#sequence[slot] === unwrapped ? slot : -1;
  }

  /** Unwrapped sequence number of the packet in `slot` (from {@link find}). */
  sequenceAt(slot: number): number {
    return this.#sequence[slot]!;
  }

  sendMsAt(slot: number): number {
    return this.#sendMs[slot]!;
  }

  sizeAt(slot: number): number {
    return this.#size[slot]!;
  }

  clusterAt(slot: number): number {
    return this.#cluster[slot]!;
  }

  statusAt(slot: number): FeedbackStatus {
    return this.#status[slot] as FeedbackStatus;
  }

  setStatus(slot: number, status: FeedbackStatus): void {
    this.#status[slot] = status;
  }
}
