// What the media socket's read notes of each RTP packet it unprotects for one endpoint
// (salon_media.cc ReceiveLogMemory), read by the RTCP termination in one go — when it builds
// transport-cc feedback (every 50 ms) or receiver reports, when a sender report comes, or when
// enough are waiting — instead of once per packet: the packet's arrival, transport-wide sequence
// number, SSRC, sequence number, timestamp and payload type, in arrival order. So the receive
// bookkeeping costs no JavaScript call, header parse or map lookup per packet; and a packet the
// read forwarded itself, which JavaScript never sees, is known from its record alone. Only on the native path, and not while a
// test impairs a link (MediaTransport.impair); the TypeScript path, and any packet that comes with
// `logged` false, hands its facts over as it comes (RtcpTermination.receiveRtp).

import { RECEIVE_LOG_FIELDS, type NativeReceiveLogArrays, type NativeTransform } from '../native/index.ts';

/**
 * One logged packet, as the RTCP termination takes it; `arrival` on performance.now()'s clock, -1
 * for no transport-wide number; `length` its RTP length; `forwarded` NOT_FORWARDED when JavaScript
 * was handed the packet, else the read forwarded it itself (NativeSrtpTransform.setRoute) and this
 * is its audio level octet, -1 without one.
 */
export type LoggedRtp = (transportSequence: number, ssrc: number, sequenceNumber: number, timestamp: number, payloadType: number, arrival: number, length: number, forwarded: number) => void;

/** What the RTCP termination reads of a log. */
export interface ReceiveLogReader {
  /** Records waiting to be read. */
  readonly waiting: number;
  /** Hands every waiting record to `onPacket`, oldest first, and empties the log. */
  drain(onPacket: LoggedRtp): void;
}

interface Attached {
  readonly transform: NativeTransform;
  readonly arrays: NativeReceiveLogArrays;
}

/** One endpoint's log, over the receiving transforms its sessions had (a new DTLS session, a new one). */
export class ReceiveLog implements ReceiveLogReader {
  readonly #extensionId: number;
  #current: Attached | undefined;
  /** Transforms replaced while records of theirs were waiting: read once more, then let go. */
  #older: Attached[] = [];
  /** Records not kept by transforms let go of. */
  #droppedBefore = 0;

  /** `transportCcExtensionId`: the header extension carrying the transport-wide sequence number (0: none). */
  constructor(transportCcExtensionId: number) {
    this.#extensionId = transportCcExtensionId;
  }

  /** From now on what `transform` unprotects is logged (undefined: nothing more); what the one before it logged is still read. */
  attach(transform: NativeTransform | undefined): void {
    if (this.#current?.transform === transform) return;
    if (this.#current) this.#older.push(this.#current);
    this.#current = transform ? { transform, arrays: transform.receiveLog(this.#extensionId) } : undefined;
  }

  /** Records waiting to be read. */
  get waiting(): number {
    let waiting = this.#current?.arrays.state[0] ?? 0;
    for (const older of this.#older) waiting += older.arrays.state[0]!;
    return waiting;
  }

  /**
   * Records not kept because the log was full (it holds salon_media.cc kReceiveLogRecords): their
   * packets came with `logged` false, their facts read from them as without a log.
   */
  get dropped(): number {
    let dropped = this.#droppedBefore + (this.#current?.arrays.state[1] ?? 0);
    for (const older of this.#older) dropped += older.arrays.state[1]!;
    return dropped;
  }

  /** Hands every waiting record to `onPacket`, oldest first, and empties the log. */
  drain(onPacket: LoggedRtp): void {
    if (this.#older.length > 0) {
      for (const older of this.#older) {
        this.#read(older, onPacket);
        this.#droppedBefore += older.arrays.state[1]!;
      }
      this.#older = [];
    }
    if (this.#current) this.#read(this.#current, onPacket);
  }

  #read(attached: Attached, onPacket: LoggedRtp): void {
    const { arrivals, fields, state } = attached.arrays;
    const count = state[0]!;
    if (count === 0) return;
    // Emptied first: onPacket may send feedback, and nothing is read twice if it throws.
    state[0] = 0;
    const offset = attached.transform.monotonicOffset();
    for (let i = 0, f = 0; i < count; i++, f += RECEIVE_LOG_FIELDS) {
      onPacket(fields[f]!, fields[f + 1]! >>> 0, fields[f + 2]!, fields[f + 3]! >>> 0, fields[f + 4]!, arrivals[i]! - offset, fields[f + 5]!, fields[f + 6]!);
    }
  }
}
