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

import { readU16, readU24, readU32, writeU16, writeU32 } from './bytes.ts';
import { FMT_TRANSPORT_CC, RTCP_RTPFB } from './rtcp.ts';
import { seqDiff } from './serial.ts';

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
const MAX_RUN = 0x1fff;
const NOT_RECEIVED = 0;
const SMALL = 1;
const LARGE = 2;

function symbolOf(delta: number | undefined): number {
  if (delta === undefined) return NOT_RECEIVED;
  if (!Number.isInteger(delta) || delta < -0x8000 || delta > 0x7fff) throw new RangeError(`transport-cc delta ${delta} does not fit 16 bits`);
  return delta >= 0 && delta <= 0xff ? SMALL : LARGE;
}

/**
 * Packs the status symbols into chunks: a run length chunk for runs of 14 or more (or for a run
 * that ends the list), a one-bit vector when the next 14 symbols have no large delta, else a run
 * length chunk for runs of 7 or more, else a two-bit vector of 7.
 */
function encodeChunks(symbols: readonly number[]): number[] {
  const chunks: number[] = [];
  const n = symbols.length;
  let i = 0;
  while (i < n) {
    const symbol = symbols[i]!;
    let run = 1;
    while (i + run < n && run < MAX_RUN && symbols[i + run] === symbol) run++;
    const oneBit = Math.min(14, n - i);
    if (run >= 14 || i + run === n) {
      chunks.push((symbol << 13) | run);
      i += run;
    } else if (symbols.slice(i, i + oneBit).every((s) => s !== LARGE)) {
      let chunk = 0x8000;
      for (let k = 0; k < oneBit; k++) chunk |= symbols[i + k]! << (13 - k);
      chunks.push(chunk);
      i += oneBit;
    } else if (run >= 7) {
      chunks.push((symbol << 13) | run);
      i += run;
    } else {
      const count = Math.min(7, n - i);
      let chunk = 0xc000;
      for (let k = 0; k < count; k++) chunk |= symbols[i + k]! << (2 * (6 - k));
      chunks.push(chunk);
      i += count;
    }
  }
  return chunks;
}

/** The RTCP packet for `feedback` (at least one status; throws RangeError for a delta out of range). */
export function buildTransportCc(feedback: TransportCcFeedback): Buffer {
  const count = feedback.deltas.length;
  if (count === 0 || count > 0xffff) throw new RangeError(`transport-cc status count ${count}`);
  const symbols = feedback.deltas.map(symbolOf);
  const chunks = encodeChunks(symbols);
  const deltaBytes = symbols.reduce((sum, s) => sum + s, 0);
  const body = HEADER_LENGTH + 2 * chunks.length + deltaBytes;
  const padding = (4 - (body % 4)) % 4;
  const out = Buffer.alloc(body + padding);
  out[0] = 0x80 | (padding > 0 ? 0x20 : 0) | FMT_TRANSPORT_CC;
  out[1] = RTCP_RTPFB;
  writeU16(out, 2, out.length / 4 - 1);
  writeU32(out, 4, feedback.senderSsrc);
  writeU32(out, 8, feedback.mediaSsrc);
  writeU16(out, 12, feedback.baseSequence);
  writeU16(out, 14, count);
  writeU32(out, 16, ((feedback.referenceTime & 0xff_ffff) << 8) | (feedback.feedbackCount & 0xff));
  let offset = HEADER_LENGTH;
  for (const chunk of chunks) {
    writeU16(out, offset, chunk);
    offset += 2;
  }
  feedback.deltas.forEach((delta, k) => {
    if (symbols[k] === SMALL) out[offset++] = delta!;
    else if (symbols[k] === LARGE) {
      writeU16(out, offset, delta! & 0xffff);
      offset += 2;
    }
  });
  if (padding > 0) out[out.length - 1] = padding;
  return out;
}

/** Reads one transport-cc packet (header included, as buildTransportCc makes it); undefined when malformed. */
export function parseTransportCc(buf: Uint8Array): TransportCcFeedback | undefined {
  if (buf.length < HEADER_LENGTH + 2 || buf[1] !== RTCP_RTPFB || (buf[0]! & 0x1f) !== FMT_TRANSPORT_CC) return undefined;
  const length = 4 * (readU16(buf, 2) + 1);
  if (length > buf.length) return undefined;
  const end = length - ((buf[0]! & 0x20) !== 0 ? buf[length - 1]! : 0);
  const count = readU16(buf, 14);
  if (count === 0) return undefined;
  const symbols: number[] = [];
  let offset = HEADER_LENGTH;
  while (symbols.length < count) {
    if (offset + 2 > end) return undefined;
    const chunk = readU16(buf, offset);
    offset += 2;
    if ((chunk & 0x8000) === 0) {
      // (A run may say more than the count: what is past it is not read.)
      const run = Math.min(chunk & MAX_RUN, count - symbols.length);
      for (let k = 0; k < run; k++) symbols.push((chunk >>> 13) & 3);
    } else if ((chunk & 0x4000) === 0) {
      for (let k = 0; k < 14; k++) symbols.push((chunk >>> (13 - k)) & 1);
    } else {
      for (let k = 0; k < 7; k++) symbols.push((chunk >>> (2 * (6 - k))) & 3);
    }
  }
  symbols.length = count;
  const deltas: Array<number | undefined> = [];
  for (const symbol of symbols) {
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
 * The receive side of one transport (one BUNDLE endpoint): records each packet's transport-wide
 * sequence number and arrival time, and reports every sequence number since the previous
 * feedback. Sequence numbers are unwrapped to integers; a packet that arrives after its number
 * was reported missing moves the window back so the next feedback reports it (the sender
 * ignores repeats); duplicates are ignored.
 */
export class TransportCcRecorder {
  /** Unwrapped sequence number → arrival µs, in arrival order. */
  readonly #arrivals = new Map<number, number>();
  readonly #historyUs: number;
  readonly #maxPacketBytes: number;
  #highest: number | undefined;
  /** First unwrapped sequence number the next feedback reports. */
  #windowStart = 0;
  /** Arrival times before this sequence number may have been forgotten. */
  #historyStart = 0;
  #pending = 0;
  #feedbackCount = 0;

  constructor(options: TransportCcRecorderOptions = {}) {
    this.#historyUs = options.historyUs ?? 500_000;
    this.#maxPacketBytes = options.maxPacketBytes ?? 1200;
  }

  /** Received packets recorded since the last feedback. */
  get pending(): number {
    return this.#pending;
  }

  /** Arrival times held (for leak checks). */
  get size(): number {
    return this.#arrivals.size;
  }

  /** Records one packet's transport-wide sequence number (16 bits) and arrival time. */
  record(sequence: number, arrivalUs: number): void {
    if (this.#highest === undefined) {
      this.#highest = sequence & 0xffff;
      this.#windowStart = this.#highest;
      this.#historyStart = this.#highest;
      this.#arrivals.set(this.#highest, arrivalUs);
      this.#pending++;
      return;
    }
    const unwrapped = this.#highest + seqDiff(sequence, this.#highest & 0xffff);
    if (unwrapped < this.#historyStart || this.#arrivals.has(unwrapped)) return;
    this.#arrivals.set(unwrapped, arrivalUs);
    this.#pending++;
    if (unwrapped > this.#highest) this.#highest = unwrapped;
    else if (unwrapped < this.#windowStart) this.#windowStart = unwrapped;
  }

  /**
   * Feedback packets reporting every sequence number from the end of the previous feedback to the
   * highest received; empty when nothing arrived since. Forgets reported arrivals older than the
   * history. `nowUs` is the current time on the arrival clock.
   */
  takeFeedback(senderSsrc: number, mediaSsrc: number, nowUs: number): Buffer[] {
    const packets: Buffer[] = [];
    const highest = this.#highest;
    if (highest === undefined || this.#pending === 0) return packets;
    if (highest - this.#windowStart >= MAX_SPAN) this.#windowStart = highest - MAX_SPAN + 1;
    while (this.#windowStart <= highest) {
      const { packet, reported } = this.#buildOne(senderSsrc, mediaSsrc, highest);
      packets.push(packet);
      this.#windowStart += reported;
    }
    this.#pending = 0;
    this.#prune(nowUs);
    return packets;
  }

  /** One feedback from the window start: as many numbers as fit 16-bit deltas and the size limit. */
  #buildOne(senderSsrc: number, mediaSsrc: number, highest: number): { packet: Buffer; reported: number } {
    const start = this.#windowStart;
    let first = start;
    while (!this.#arrivals.has(first)) first++; // `highest` itself was received
    const referenceTime = Math.floor(this.#arrivals.get(first)! / REFERENCE_TIME_US);
    let previous = referenceTime * (REFERENCE_TIME_US / DELTA_TICK_US);
    const deltas: Array<number | undefined> = [];
    for (let seq = start; seq <= highest && deltas.length < 0xffff; seq++) {
      const arrival = this.#arrivals.get(seq);
      if (arrival === undefined) {
        deltas.push(undefined);
        continue;
      }
      const ticks = Math.round(arrival / DELTA_TICK_US);
      const delta = ticks - previous;
      if (delta < -0x8000 || delta > 0x7fff) break; // §3.1: needs a new reference time
      deltas.push(delta);
      previous = ticks;
    }
    for (;;) {
      const packet = buildTransportCc({
        senderSsrc, mediaSsrc, baseSequence: start & 0xffff, referenceTime, feedbackCount: this.#feedbackCount, deltas,
      });
      if (packet.length <= this.#maxPacketBytes || deltas.length === 1) {
        this.#feedbackCount = (this.#feedbackCount + 1) & 0xff;
        return { packet, reported: deltas.length };
      }
      deltas.length = Math.ceil(deltas.length / 2);
    }
  }

  /** Drops reported arrivals older than the history (the map is in arrival order). */
  #prune(nowUs: number): void {
    const cutoff = nowUs - this.#historyUs;
    for (const [seq, arrival] of this.#arrivals) {
      if (arrival >= cutoff) break;
      this.#arrivals.delete(seq);
      if (seq >= this.#historyStart) this.#historyStart = seq + 1;
    }
  }
}
