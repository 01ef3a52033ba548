// The previous TransportCcRecorder (a Map of arrivals, sorted each feedback), kept unchanged as
// the reference that bridge/rtp/transport-cc.ts's allocation-free recorder is checked against
// (transport-cc-oracle.test.ts): the same calls must give the same feedback bytes, `pending` and
// `size`. Also its buildTransportCc, the reference for the rewritten chunk packer. Test-only.

import { writeU16, writeU32 } from '../../../../bridge/rtp/bytes.ts';
import { FMT_TRANSPORT_CC, RTCP_RTPFB } from '../../../../bridge/rtp/rtcp.ts';
import { seqDiff } from '../../../../bridge/rtp/serial.ts';
import type { TransportCcFeedback, TransportCcRecorderOptions } from '../../../../bridge/rtp/transport-cc.ts';

/** Microseconds per reference-time unit and per delta tick (§3.1). */
const REFERENCE_TIME_US = 64_000;
const DELTA_TICK_US = 250;

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
 * Packs status symbols into chunks as they come, so that a feedback's size is known after each
 * status and the feedback can stop at a size limit. Symbols wait while they still fit one chunk:
 * any 7 (a two-bit vector), up to 14 without a large delta (a one-bit vector), or a run of one
 * symbol up to 8191 (a run length chunk). When the next symbol does not fit, the waiting ones
 * become a run length chunk if they are all the same, else a one-bit vector of 14, else a two-bit
 * vector of the first 7 (the rest wait on). A vector in the middle says all its 7 or 14 symbols:
 * only the last chunk, where the packet status count ends the list, may leave some unused.
 */
class ChunkPacker {
  readonly chunks: number[] = [];
  /** The waiting symbols (the first 14: past that they are a run of one symbol). */
  readonly #waiting: number[] = [];
  #size = 0;
  #allSame = true;
  #hasLarge = false;

  /** Chunks in the feedback if it ended after one more `symbol`. */
  chunkCountWith(symbol: number): number {
    return this.chunks.length + (this.#fits(symbol) ? 1 : 2);
  }

  /**
   * Adds `symbol` once, or up to `count` times when it extends a run of 14 or more (which adds
   * no byte: a long gap costs one step, not one per number); returns how many were added.
   */
  add(symbol: number, count = 1): number {
    if (this.#size >= 14 && this.#allSame && symbol === this.#waiting[0] && this.#size < MAX_RUN) {
      const added = Math.min(count, MAX_RUN - this.#size);
      this.#size += added;
      return added;
    }
    if (!this.#fits(symbol)) this.#emit();
    this.#allSame = this.#size === 0 || (this.#allSame && symbol === this.#waiting[0]);
    this.#hasLarge = (this.#size > 0 && this.#hasLarge) || symbol === LARGE;
    if (this.#size < 14) this.#waiting.push(symbol);
    this.#size++;
    return 1;
  }

  /** All the chunks, the waiting symbols last. */
  finish(): number[] {
    if (this.#size === 0) return this.chunks;
    const waiting = this.#waiting;
    if (this.#allSame) this.chunks.push((waiting[0]! << 13) | this.#size);
    else if (!this.#hasLarge) this.chunks.push(oneBitVector(waiting, this.#size));
    else this.chunks.push(twoBitVector(waiting, this.#size));
    waiting.length = 0;
    this.#size = 0;
    return this.chunks;
  }

  #fits(symbol: number): boolean {
    if (this.#size < 7) return true;
    if (this.#size < 14 && !this.#hasLarge && symbol !== LARGE) return true;
    return this.#allSame && symbol === this.#waiting[0] && this.#size < MAX_RUN;
  }

  /** Makes room: waiting symbols become a chunk (7 or more of them, as #fits is true below 7). */
  #emit(): void {
    const waiting = this.#waiting;
    if (this.#allSame) {
      this.chunks.push((waiting[0]! << 13) | this.#size);
      waiting.length = 0;
    } else if (this.#size === 14) {
      this.chunks.push(oneBitVector(waiting, 14));
      waiting.length = 0;
    } else {
      this.chunks.push(twoBitVector(waiting, 7));
      waiting.splice(0, 7);
    }
    this.#size = waiting.length;
    this.#allSame = waiting.every((s) => s === waiting[0]);
    this.#hasLarge = waiting.includes(LARGE);
  }
}

function oneBitVector(symbols: readonly number[], count: number): number {
  let chunk = 0x8000;
  for (let k = 0; k < count; k++) chunk |= symbols[k]! << (13 - k);
  return chunk;
}

function twoBitVector(symbols: readonly number[], count: number): number {
  let chunk = 0xc000;
  for (let k = 0; k < count; k++) chunk |= symbols[k]! << (2 * (6 - k));
  return chunk;
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
export function buildTransportCcOracle(feedback: TransportCcFeedback): Buffer {
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
  return writeTransportCc(feedback, count, packer.finish(), deltaBytes);
}

/** A feedback's packet: its header fields, status count, packet status chunks and receive deltas. */
function writeTransportCc(header: Omit<TransportCcFeedback, 'deltas'>, count: number, chunks: readonly number[], deltaBytes: Uint8Array): Buffer {
  const body = HEADER_LENGTH + 2 * chunks.length + deltaBytes.length;
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
  let offset = HEADER_LENGTH;
  for (const chunk of chunks) {
    writeU16(out, offset, chunk);
    offset += 2;
  }
  out.set(deltaBytes, offset);
  if (padding > 0) out[out.length - 1] = padding;
  return out;
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
const REORDER_LIMIT = 64;

/**
 * The receive side of one transport (one BUNDLE endpoint): records each packet's transport-wide
 * sequence number and arrival time, and reports every sequence number since the previous
 * feedback. Sequence numbers are unwrapped to integers; a packet that arrives after its number
 * was reported missing, by at most REORDER_LIMIT numbers, moves the window back so the next
 * feedback reports it (the sender ignores repeats); a later one, and duplicates, are ignored.
 */
export class TransportCcRecorderOracle {
  /** Unwrapped sequence number → arrival µs, in arrival order. */
  readonly #arrivals = new Map<number, number>();
  /** Unwrapped sequence numbers recorded since the last feedback, in arrival order. */
  readonly #recent: number[] = [];
  readonly #historyUs: number;
  readonly #maxPacketBytes: number;
  /** Receive deltas of the feedback being built (it stops before they pass the size limit). */
  readonly #deltaBytes: Buffer;
  #highest: number | undefined;
  /** First unwrapped sequence number the next feedback reports. */
  #windowStart = 0;
  /** First unwrapped sequence number no feedback reported yet (the window start after the last one). */
  #reportedEnd = 0;
  /** Arrival times before this sequence number may have been forgotten. */
  #historyStart = 0;
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
    return this.#arrivals.size;
  }

  /** Records one packet's transport-wide sequence number (16 bits) and arrival time. */
  record(sequence: number, arrivalUs: number): void {
    if (this.#highest === undefined) {
      this.#highest = sequence & 0xffff;
      this.#windowStart = this.#highest;
      this.#reportedEnd = this.#highest;
      this.#historyStart = this.#highest;
      this.#arrivals.set(this.#highest, arrivalUs);
      this.#recent.push(this.#highest);
      this.#pending++;
      return;
    }
    const unwrapped = this.#highest + seqDiff(sequence, this.#highest & 0xffff);
    if (unwrapped < this.#historyStart || unwrapped < this.#reportedEnd - REORDER_LIMIT || this.#arrivals.has(unwrapped)) return;
    this.#arrivals.set(unwrapped, arrivalUs);
    this.#recent.push(unwrapped);
    this.#pending++;
    if (unwrapped > this.#highest) this.#highest = unwrapped;
    else if (unwrapped < this.#windowStart) this.#windowStart = unwrapped;
  }

  /**
   * Feedback packets reporting every sequence number from the end of the previous feedback (or
   * from a late packet, see REORDER_LIMIT) to the highest received; empty when nothing arrived
   * since. Forgets reported arrivals older than the history. `nowUs` is the current time on the
   * arrival clock. The work is in the packets received, not in the numbers spanned: the gaps
   * between them are reported as runs.
   */
  takeFeedback(senderSsrc: number, mediaSsrc: number, nowUs: number): Buffer[] {
    const packets: Buffer[] = [];
    const highest = this.#highest;
    if (highest === undefined || this.#pending === 0) return packets;
    if (highest - this.#windowStart >= MAX_SPAN) this.#windowStart = highest - MAX_SPAN + 1;
    // The received numbers in the window, in order: those reported before and again now (a late
    // packet moved the window back by at most REORDER_LIMIT), then those new since.
    const received: number[] = [];
    for (let seq = this.#windowStart; seq < this.#reportedEnd; seq++) if (this.#arrivals.has(seq)) received.push(seq);
    const newFrom = Math.max(this.#windowStart, this.#reportedEnd);
    this.#recent.sort((a, b) => a - b);
    for (const seq of this.#recent) if (seq >= newFrom) received.push(seq);
    let next = 0;
    while (this.#windowStart <= highest) {
      const { packet, reported, receivedReported } = this.#buildOne(senderSsrc, mediaSsrc, received, next);
      packets.push(packet);
      this.#windowStart += reported;
      next += receivedReported;
    }
    this.#reportedEnd = this.#windowStart;
    this.#recent.length = 0;
    this.#pending = 0;
    this.#prune(nowUs);
    return packets;
  }

  /**
   * One feedback from the window start, `received[next]` being the first received number in it:
   * as many numbers as fit 16-bit deltas, the status count and the size limit (at least one), the
   * size counted as each status is added.
   */
  #buildOne(senderSsrc: number, mediaSsrc: number, received: readonly number[], next: number): { packet: Buffer; reported: number; receivedReported: number } {
    const start = this.#windowStart;
    const referenceTime = Math.floor(this.#arrivals.get(received[next]!)! / REFERENCE_TIME_US);
    let previous = referenceTime * (REFERENCE_TIME_US / DELTA_TICK_US);
    const deltaBytes = this.#deltaBytes;
    let deltaLength = 0;
    const packer = new ChunkPacker();
    let seq = start;
    let index = next;
    // The highest number is received: the window ends with the last of `received`.
    while (index < received.length && seq - start < 0xffff) {
      const nextReceived = received[index]!;
      if (seq < nextReceived) {
        if (seq > start && paddedLength(packer.chunkCountWith(NOT_RECEIVED), deltaLength) > this.#maxPacketBytes) break;
        seq += packer.add(NOT_RECEIVED, Math.min(nextReceived - seq, 0xffff - (seq - start)));
        continue;
      }
      const ticks = Math.round(this.#arrivals.get(seq)! / DELTA_TICK_US);
      const delta = ticks - previous;
      if (delta < -0x8000 || delta > 0x7fff) break; // §3.1: needs a new reference time
      const symbol = delta >= 0 && delta <= 0xff ? SMALL : LARGE;
      if (seq > start && paddedLength(packer.chunkCountWith(symbol), deltaLength + symbol) > this.#maxPacketBytes) break;
      packer.add(symbol);
      deltaLength = writeDelta(deltaBytes, deltaLength, symbol, delta);
      previous = ticks;
      seq++;
      index++;
    }
    const header = { senderSsrc, mediaSsrc, baseSequence: start & 0xffff, referenceTime, feedbackCount: this.#feedbackCount };
    this.#feedbackCount = (this.#feedbackCount + 1) & 0xff;
    const packet = writeTransportCc(header, seq - start, packer.finish(), deltaBytes.subarray(0, deltaLength));
    return { packet, reported: seq - start, receivedReported: index - next };
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
