// Transport-wide congestion control feedback: the wire format (build and parse) and the receiver
// side that records transport-wide sequence numbers with their arrival times and turns them into
// feedback packets.
//
// Spec: draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1 (RTPFB PT 205 FMT 15): base
// sequence number, packet status count, 24-bit reference time in multiples of 64 ms, 8-bit
// feedback packet count; packet status chunks — run length (T=0: 2-bit symbol, 13-bit run) and
// status vector (T=1; S=0: 14 one-bit symbols, S=1: 7 two-bit symbols); symbols 00 not received,
// 01 received with a small delta (1 byte, 0..255 × 250 µs), 10 received with a large or negative
// delta (2 bytes, signed); deltas in sequence order, the first relative to the reference time,
// each next relative to the previous received packet. As libwebrtc does, the packet is padded to
// 32 bits with RTCP padding (P bit, RFC 3550 §6.4.1). Pure: times are given by the caller.
// The status chunks are packed in transport-cc-chunks.ts.

import { readU16, readU24, readU32, writeU16, writeU32 } from './bytes.ts';
import { FMT_TRANSPORT_CC, RTCP_RTPFB } from './rtcp.ts';
import { seqDiff } from './serial.ts';
import { ChunkPacker, LARGE, MAX_RUN, NOT_RECEIVED, SMALL } from './transport-cc-chunks.ts';

/** One feedback packet's content; `deltas` has one entry per sequence number from `baseSequence`. */
export interface TransportCcFeedback {
  senderSsrc: number;
  mediaSsrc: number;
  /** First sequence number reported (16 bits). */
  baseSequence: number;
  /** 24-bit reference time in multiples of 64 ms. */
  referenceTime: number;
  /** 8-bit count of feedback packets sent, for loss detection of feedback. */
  feedbackCount: number;
  /** Receive delta in 250 µs ticks (−32768..32767), or undefined when the packet was not received. */
  deltas: ReadonlyArray<number | undefined>;
}

/** Microseconds per reference-time unit and per delta tick (§3.1). */
export const REFERENCE_TIME_US = 64_000;
export const DELTA_TICK_US = 250;

const HEADER_LENGTH = 20;

function symbolOf(delta: number | undefined): number {
  if (delta === undefined) return NOT_RECEIVED;
  if (!Number.isInteger(delta) || delta < -0x8000 || delta > 0x7fff) throw new RangeError(`transport-cc delta ${delta} does not fit 16 bits`);
  return delta >= 0 && delta <= 0xff ? SMALL : LARGE;
}

/** Bytes of a feedback with this many chunks and receive delta bytes, padded to 32 bits. */
function paddedLength(chunkCount: number, deltaBytes: number): number {
  return (HEADER_LENGTH + 2 * chunkCount + deltaBytes + 3) & ~3;
}

/** Writes a receive delta of `symbol`'s size at `offset`; the offset after it. */
function writeDelta(out: Uint8Array, offset: number, symbol: number, delta: number): number {
  if (symbol === SMALL) out[offset] = delta;
  else if (symbol === LARGE) writeU16(out, offset, delta & 0xffff);
  return offset + symbol;
}

/** The RTCP packet for `feedback` (at least one status; throws RangeError for a delta out of range). */
export function buildTransportCc(feedback: TransportCcFeedback): Buffer {
  const count = feedback.deltas.length;
  if (count === 0 || count > 0xffff) throw new RangeError(`transport-cc status count ${count}`);
  const symbols = feedback.deltas.map(symbolOf);
  const packer = new ChunkPacker();
  for (const symbol of symbols) packer.add(symbol);
  const deltaBytes = new Uint8Array(symbols.reduce((sum, s) => sum + s, 0));
  let offset = 0;
  feedback.deltas.forEach((delta, k) => {
    offset = writeDelta(deltaBytes, offset, symbols[k]!, delta ?? 0);
  });
  return writeTransportCc(feedback, count, packer, deltaBytes, deltaBytes.length);
}

/** A feedback's header fields. */
type FeedbackHeader = Omit<TransportCcFeedback, 'deltas'>;

/**
 * A feedback's packet: its header fields, status count, the packet status chunks `packer` holds
 * (finished here) and the first `deltaLength` bytes of `deltaBytes`, the receive deltas.
 */
function writeTransportCc(header: FeedbackHeader, count: number, packer: ChunkPacker, deltaBytes: Uint8Array, deltaLength: number): Buffer {
  const body = HEADER_LENGTH + 2 * packer.finish() + deltaLength;
  const padding = (4 - (body % 4)) % 4;
  const out = Buffer.alloc(body + padding);
  out[0] = 0x80 | (padding > 0 ? 0x20 : 0) | FMT_TRANSPORT_CC;
  out[1] = RTCP_RTPFB;
  writeU16(out, 2, out.length / 4 - 1);
  writeU32(out, 4, header.senderSsrc);
  writeU32(out, 8, header.mediaSsrc);
  writeU16(out, 12, header.baseSequence);
  writeU16(out, 14, count);
  writeU32(out, 16, ((header.referenceTime & 0xff_ffff) << 8) | (header.feedbackCount & 0xff));
  const offset = packer.write(out, HEADER_LENGTH);
  for (let k = 0; k < deltaLength; k++) out[offset + k] = deltaBytes[k]!;
  if (padding > 0) out[out.length - 1] = padding;
  return out;
}

/** parseTransportCc's statuses: as many as a packet status count says at most, and a chunk's more. */
const PARSED_SYMBOLS = new Uint8Array(0xffff + 14);

/** Reads one transport-cc packet (header included, as buildTransportCc makes it); undefined when malformed. */
export function parseTransportCc(buf: Uint8Array): TransportCcFeedback | undefined {
  if (buf.length < HEADER_LENGTH + 2 || buf[1] !== RTCP_RTPFB || (buf[0]! & 0x1f) !== FMT_TRANSPORT_CC) return undefined;
  const length = 4 * (readU16(buf, 2) + 1);
  if (length > buf.length) return undefined;
  const end = length - ((buf[0]! & 0x20) !== 0 ? buf[length - 1]! : 0);
  const count = readU16(buf, 14);
  if (count === 0) return undefined;
  // The statuses, read into one scratch array for every call (a bridge parses each receiver's
  // feedback, hundreds a second): only the deltas are the caller's.
  const symbols = PARSED_SYMBOLS;
  let parsed = 0;
  let offset = HEADER_LENGTH;
  while (parsed < count) {
    if (offset + 2 > end) return undefined;
    const chunk = readU16(buf, offset);
    offset += 2;
    if ((chunk & 0x8000) === 0) {
      // (A run may say more than the count: what is past it is not read.)
      const run = Math.min(chunk & MAX_RUN, count - parsed);
      symbols.fill((chunk >>> 13) & 3, parsed, parsed + run);
      parsed += run;
    } else if ((chunk & 0x4000) === 0) {
      // (A vector's statuses past the count are written, not read: the array has room for them.)
      for (let k = 0; k < 14; k++) symbols[parsed++] = (chunk >>> (13 - k)) & 1;
    } else {
      for (let k = 0; k < 7; k++) symbols[parsed++] = (chunk >>> (2 * (6 - k))) & 3;
    }
  }
  const deltas: Array<number | undefined> = [];
  for (let k = 0; k < count; k++) {
    const symbol = symbols[k]!;
    if (symbol === NOT_RECEIVED) deltas.push(undefined);
    else if (symbol === SMALL && offset + 1 <= end) deltas.push(buf[offset++]!);
    else if (symbol === LARGE && offset + 2 <= end) {
      deltas.push((readU16(buf, offset) << 16) >> 16);
      offset += 2;
    } else return undefined;
  }
  const word = readU32(buf, 16);
  return {
    senderSsrc: readU32(buf, 4),
    mediaSsrc: readU32(buf, 8),
    baseSequence: readU16(buf, 12),
    referenceTime: readU24(buf, 16),
    feedbackCount: word & 0xff,
    deltas,
  };
}

/** Options of {@link TransportCcRecorder}. */
export interface TransportCcRecorderOptions {
  /** Arrival times older than this are forgotten once reported; default 500 ms (as libwebrtc). */
  historyUs?: number;
  /** Largest feedback packet in bytes; default 1200. */
  maxPacketBytes?: number;
}

/** Sequence numbers one feedback round reports at most; a larger gap is skipped (a sender bug). */
const MAX_SPAN = 0x2000;

/**
 * How far before the end of the previous feedback a late packet is still reported. Reporting it
 * means reporting again every number from it on (a feedback covers consecutive numbers), so the
 * bound keeps each round's repeats below this whatever the sender's order, while reordering of
 * a few packets across a feedback is still reported; a packet later than this stays reported
 * missing. libwebrtc's RFC 8888 feedback keeps the same 64 numbers for reordering.
 */
export const REORDER_LIMIT = 64;

/** Capacity the recorder starts with, for the numbers it indexes and the arrivals it holds (each doubles as needed). */
const INITIAL_CAPACITY = 64;

/**
 * Most arrival times a recorder holds: 65,536, at the default history 131,000 packets a second
 * from one endpoint. Past it the oldest is forgotten early rather than the memory grow.
 */
export const MAX_HELD = 1 << 16;

/** How far below the highest number a 16-bit sequence number unwraps at most (RFC 1982). */
const UNWRAP_BACK = 0x8000;

/**
 * The receive side of one transport (one BUNDLE endpoint): records each packet's transport-wide
 * sequence number and arrival time, and reports every sequence number since the previous
 * feedback. Sequence numbers are unwrapped to integers; a packet that arrives after its number
 * was reported missing, by at most REORDER_LIMIT numbers, moves the window back so the next
 * feedback reports it (the sender ignores repeats); a later one, and duplicates, are ignored.
 *
 * Per packet it allocates nothing: arrivals go into typed-array rings that double when full, so
 * they grow to what the sender needs once, then stay. Two rings:
 * - the index, by unwrapped number modulo its capacity, for finding a number (duplicates, the
 *   feedback's walk in sequence order). It needs only the live numbers, those that can still be
 *   recorded again or reported (#liveFrom up to the highest): a slot holding an older one is
 *   reused, and two live ones sharing a slot make the index double. Live numbers are less than
 *   32,769 apart, which 65,536 slots always part: that is as far as it grows (1 MiB, for a sender
 *   whose numbers jump); a sender numbering one by one needs REORDER_LIMIT
 *   plus one feedback round's numbers;
 * - the held queue, every arrival time held, in the order recorded, so that they are forgotten by
 *   age in that order (a reordered packet may be forgotten after numbers above it: the history
 *   start then moves past the highest number forgotten) and `size` counts them.
 *
 * Past MAX_HELD arrivals within the history, the oldest is forgotten early, as if past the history:
 * `size` stays at MAX_HELD and a late packet before it is then ignored; if it was not reported
 * yet (more than MAX_HELD − REORDER_LIMIT arrivals between two feedbacks), it is reported missing.
 * Only there can `pending`, `size` or a feedback differ from keeping every arrival.
 */
export class TransportCcRecorder {
  /** The index: slot `seq & #indexMask` holds unwrapped number #indexSeqs[slot] (−1: none), arrived at #indexTimes[slot] µs. */
  #indexSeqs = new Float64Array(INITIAL_CAPACITY).fill(-1);
  #indexTimes = new Float64Array(INITIAL_CAPACITY);
  #indexMask = INITIAL_CAPACITY - 1;
  /** The held queue: #held arrivals (unwrapped number and µs) in the order recorded, the first at #heldFirst. */
  #heldSeqs = new Float64Array(INITIAL_CAPACITY);
  #heldTimes = new Float64Array(INITIAL_CAPACITY);
  #heldFirst = 0;
  #held = 0;
  readonly #historyUs: number;
  readonly #maxPacketBytes: number;
  /** Receive deltas of the feedback being built (it stops before they pass the size limit). */
  readonly #deltaBytes: Buffer;
  readonly #packer = new ChunkPacker();
  /** The header of the feedback being built. */
  readonly #header: FeedbackHeader = { senderSsrc: 0, mediaSsrc: 0, baseSequence: 0, referenceTime: 0, feedbackCount: 0 };
  /** Highest unwrapped sequence number recorded; −1 before the first. */
  #highest = -1;
  /** First unwrapped sequence number the next feedback reports. */
  #windowStart = 0;
  /** First unwrapped sequence number no feedback reported yet (the window start after the last one). */
  #reportedEnd = 0;
  /** Arrival times before this sequence number may have been forgotten. */
  #historyStart = 0;
  /** While a feedback is built: the first received number from the window start on (highest + 1: none). */
  #nextReceived = 0;
  #pending = 0;
  #feedbackCount = 0;

  constructor(options: TransportCcRecorderOptions = {}) {
    this.#historyUs = options.historyUs ?? 500_000;
    this.#maxPacketBytes = options.maxPacketBytes ?? 1200;
    this.#deltaBytes = Buffer.alloc(Math.max(this.#maxPacketBytes, 2));
  }

  /** Received packets recorded since the last feedback. */
  get pending(): number {
    return this.#pending;
  }

  /** Arrival times held (for leak checks). */
  get size(): number {
    return this.#held;
  }

  /** Records one packet's transport-wide sequence number (16 bits) and arrival time. */
  record(sequence: number, arrivalUs: number): void {
    let seq: number;
    if (this.#highest < 0) {
      seq = sequence & 0xffff;
      this.#highest = seq;
      this.#windowStart = seq;
      this.#reportedEnd = seq;
      this.#historyStart = seq;
    } else {
      seq = this.#highest + seqDiff(sequence, this.#highest & 0xffff);
      const liveFrom = this.#liveFrom();
      if (seq < liveFrom) return;
      const there = this.#indexSeqs[seq & this.#indexMask]!;
      if (there === seq) return; // a duplicate
      if (there >= liveFrom) this.#growIndexFor(seq, there);
      if (seq > this.#highest) this.#highest = seq;
      else if (seq < this.#windowStart) this.#windowStart = seq;
    }
    const slot = seq & this.#indexMask;
    this.#indexSeqs[slot] = seq;
    this.#indexTimes[slot] = arrivalUs;
    this.#hold(seq, arrivalUs);
    this.#pending++;
  }

  /**
   * Feedback packets reporting every sequence number from the end of the previous feedback (or
   * from a late packet, see REORDER_LIMIT) to the highest received; empty when nothing arrived
   * since. Forgets reported arrivals older than the history. `nowUs` is the current time on the
   * arrival clock. The numbers are walked in order in the index, the gaps between received ones
   * reported as runs.
   */
  takeFeedback(senderSsrc: number, mediaSsrc: number, nowUs: number): Buffer[] {
    const packets: Buffer[] = [];
    const highest = this.#highest;
    if (highest < 0 || this.#pending === 0) return packets;
    if (highest - this.#windowStart >= MAX_SPAN) this.#windowStart = highest - MAX_SPAN + 1;
    this.#header.senderSsrc = senderSsrc;
    this.#header.mediaSsrc = mediaSsrc;
    this.#nextReceived = this.#receivedFrom(this.#windowStart);
    // The highest number is received, so the window ends with a received one (unless forgotten
    // past MAX_HELD: then the numbers after the last one received are not reported).
    while (this.#nextReceived <= highest) packets.push(this.#buildOne());
    this.#windowStart = highest + 1;
    this.#reportedEnd = highest + 1;
    this.#pending = 0;
    this.#prune(nowUs);
    return packets;
  }

  /**
   * One feedback from the window start, which it moves past what it reports: as many numbers as
   * fit 16-bit deltas, the status count and the size limit (at least one), the size counted as
   * each status is added.
   */
  #buildOne(): Buffer {
    const start = this.#windowStart;
    const highest = this.#highest;
    const times = this.#indexTimes;
    const mask = this.#indexMask;
    let received = this.#nextReceived;
    const referenceTime = Math.floor(times[received & mask]! / REFERENCE_TIME_US);
    let previous = referenceTime * (REFERENCE_TIME_US / DELTA_TICK_US);
    const deltaBytes = this.#deltaBytes;
    let deltaLength = 0;
    const packer = this.#packer;
    packer.reset();
    let seq = start;
    while (received <= highest && seq - start < 0xffff) {
      if (seq < received) {
        if (seq > start && paddedLength(packer.chunkCountWith(NOT_RECEIVED), deltaLength) > this.#maxPacketBytes) break;
        seq += packer.add(NOT_RECEIVED, Math.min(received - seq, 0xffff - (seq - start)));
        continue;
      }
      const ticks = Math.round(times[seq & mask]! / DELTA_TICK_US);
      const delta = ticks - previous;
      if (delta < -0x8000 || delta > 0x7fff) break; // §3.1: needs a new reference time
      const symbol = delta >= 0 && delta <= 0xff ? SMALL : LARGE;
      if (seq > start && paddedLength(packer.chunkCountWith(symbol), deltaLength + symbol) > this.#maxPacketBytes) break;
      packer.add(symbol);
      deltaLength = writeDelta(deltaBytes, deltaLength, symbol, delta);
      previous = ticks;
      seq++;
      received = this.#receivedFrom(seq);
    }
    this.#nextReceived = received;
    this.#windowStart = seq;
    const header = this.#header;
    header.baseSequence = start & 0xffff;
    header.referenceTime = referenceTime;
    header.feedbackCount = this.#feedbackCount;
    this.#feedbackCount = (this.#feedbackCount + 1) & 0xff;
    return writeTransportCc(header, seq - start, packer, deltaBytes, deltaLength);
  }

  /** The first received number from `seq` to the highest; highest + 1 if none. */
  #receivedFrom(seq: number): number {
    const seqs = this.#indexSeqs;
    const mask = this.#indexMask;
    while (seq <= this.#highest && seqs[seq & mask] !== seq) seq++;
    return seq;
  }

  /**
   * First number that can still be recorded: those before the history start may have been
   * forgotten, those more than REORDER_LIMIT before the last feedback's end are too late, and
   * none unwraps further below the highest than UNWRAP_BACK. It only moves up, and every
   * feedback window (at most MAX_SPAN numbers up to the highest) starts at or after it.
   */
  #liveFrom(): number {
    return Math.max(this.#historyStart, this.#reportedEnd - REORDER_LIMIT, this.#highest - UNWRAP_BACK);
  }

  /**
   * Doubles the index until `seq` and the live number `there` in its slot part, at the latest
   * at 65,536 slots: `seq` unwrapped is less than 32,768 above the highest, `there` at most
   * UNWRAP_BACK below it.
   */
  #growIndexFor(seq: number, there: number): void {
    do this.#growIndex();
    while (this.#indexSeqs[seq & this.#indexMask] === there);
  }

  /** Doubles the index, keeping the live numbers (distinct slots before, so after too). */
  #growIndex(): void {
    const seqs = this.#indexSeqs;
    const times = this.#indexTimes;
    const capacity = 2 * seqs.length;
    const mask = capacity - 1;
    const liveFrom = this.#liveFrom();
    this.#indexSeqs = new Float64Array(capacity).fill(-1);
    this.#indexTimes = new Float64Array(capacity);
    this.#indexMask = mask;
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      if (seq < liveFrom) continue;
      this.#indexSeqs[seq & mask] = seq;
      this.#indexTimes[seq & mask] = times[i]!;
    }
  }

  /** Appends an arrival to the held queue, which doubles when full (past MAX_HELD, the oldest is forgotten). */
  #hold(seq: number, arrivalUs: number): void {
    if (this.#held === this.#heldSeqs.length) {
      if (this.#held < MAX_HELD) this.#growHeld();
      else this.#forgetFirst();
    }
    const i = (this.#heldFirst + this.#held) & (this.#heldSeqs.length - 1);
    this.#heldSeqs[i] = seq;
    this.#heldTimes[i] = arrivalUs;
    this.#held++;
  }

  #growHeld(): void {
    const capacity = 2 * this.#heldSeqs.length;
    const seqs = new Float64Array(capacity);
    const times = new Float64Array(capacity);
    const mask = this.#heldSeqs.length - 1;
    for (let k = 0; k < this.#held; k++) {
      seqs[k] = this.#heldSeqs[(this.#heldFirst + k) & mask]!;
      times[k] = this.#heldTimes[(this.#heldFirst + k) & mask]!;
    }
    this.#heldSeqs = seqs;
    this.#heldTimes = times;
    this.#heldFirst = 0;
  }

  /** Drops reported arrivals older than the history, in the order recorded. */
  #prune(nowUs: number): void {
    const cutoff = nowUs - this.#historyUs;
    while (this.#held > 0 && !(this.#heldTimes[this.#heldFirst]! >= cutoff)) this.#forgetFirst();
  }

  /** Forgets the arrival held longest; numbers up to it may no longer be recorded. */
  #forgetFirst(): void {
    const first = this.#heldFirst;
    const seq = this.#heldSeqs[first]!;
    const slot = seq & this.#indexMask;
    if (this.#indexSeqs[slot] === seq) this.#indexSeqs[slot] = -1;
    if (seq >= this.#historyStart) this.#historyStart = seq + 1;
    this.#heldFirst = (first + 1) & (this.#heldSeqs.length - 1);
    this.#held--;
  }
}
