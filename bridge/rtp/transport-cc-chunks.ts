// Packet status chunks of transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
// §3.1), packed as the statuses come so that a feedback can stop at a size limit.
//
// Chunks: run length (T=0: 2-bit symbol, 13-bit run) and status vector (T=1; S=0: 14 one-bit
// symbols, S=1: 7 two-bit symbols). Symbols: 00 not received, 01 received with a small delta
// (1 byte), 10 received with a large or negative delta (2 bytes) — also the delta's size in bytes.

import { writeU16 } from './bytes.ts';

/** Longest run of a run length chunk. */
export const MAX_RUN = 0x1fff;
/** Status symbols. */
export const NOT_RECEIVED = 0;
export const SMALL = 1;
export const LARGE = 2;

/**
 * Packs status symbols into chunks as they come, so that a feedback's size is known after each
 * status and the feedback can stop at a size limit. Symbols wait while they still fit one chunk:
 * any 7 (a two-bit vector), up to 14 without a large delta (a one-bit vector), or a run of one
 * symbol up to 8191 (a run length chunk). When the next symbol does not fit, the waiting ones
 * become a run length chunk if they are all the same, else a one-bit vector of 14, else a two-bit
 * vector of the first 7 (the rest wait on). A vector in the middle says all its 7 or 14 symbols:
 * only the last chunk, where the packet status count ends the list, may leave some unused.
 * Reusable (`reset`); it allocates only when a feedback has more chunks than any before.
 */
export class ChunkPacker {
  #chunks = new Uint16Array(64);
  #chunkCount = 0;
  /** The waiting symbols (the first 14: past that they are a run of one symbol). */
  readonly #waiting = new Uint8Array(14);
  #size = 0;
  #allSame = true;
  #hasLarge = false;

  /** Starts a new feedback. */
  reset(): void {
    this.#chunkCount = 0;
    this.#size = 0;
    this.#allSame = true;
    this.#hasLarge = false;
  }

  /** Chunks in the feedback if it ended after one more `symbol`. */
  chunkCountWith(symbol: number): number {
    return this.#chunkCount + (this.#fits(symbol) ? 1 : 2);
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
    if (this.#size < 14) this.#waiting[this.#size] = symbol;
    this.#size++;
    return 1;
  }

  /** Ends the feedback: the waiting symbols become its last chunk; returns the chunk count. */
  finish(): number {
    if (this.#size === 0) return this.#chunkCount;
    const waiting = this.#waiting;
    if (this.#allSame) this.#push((waiting[0]! << 13) | this.#size);
    else if (!this.#hasLarge) this.#push(oneBitVector(waiting, this.#size));
    else this.#push(twoBitVector(waiting, this.#size));
    this.#size = 0;
    return this.#chunkCount;
  }

  /** Writes the chunks at `offset` of `out`; the offset after them. */
  write(out: Uint8Array, offset: number): number {
    for (let k = 0; k < this.#chunkCount; k++, offset += 2) writeU16(out, offset, this.#chunks[k]!);
    return offset;
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
      this.#push((waiting[0]! << 13) | this.#size);
      this.#size = 0;
    } else if (this.#size === 14) {
      this.#push(oneBitVector(waiting, 14));
      this.#size = 0;
    } else {
      // 7 to 13 mixed, a large delta among them or next: the first 7 go, the rest move up.
      this.#push(twoBitVector(waiting, 7));
      this.#size -= 7;
      for (let k = 0; k < this.#size; k++) waiting[k] = waiting[k + 7]!;
    }
    this.#allSame = true;
    this.#hasLarge = false;
    for (let k = 0; k < this.#size; k++) {
      if (waiting[k] !== waiting[0]) this.#allSame = false;
      if (waiting[k] === LARGE) this.#hasLarge = true;
    }
  }

  #push(chunk: number): void {
    if (this.#chunkCount === this.#chunks.length) {
      const grown = new Uint16Array(2 * this.#chunks.length);
      grown.set(this.#chunks);
      this.#chunks = grown;
    }
    this.#chunks[this.#chunkCount++] = chunk;
  }
}

function oneBitVector(symbols: Uint8Array, count: number): number {
  let chunk = 0x8000;
  for (let k = 0; k < count; k++) chunk |= symbols[k]! << (13 - k);
  return chunk;
}

function twoBitVector(symbols: Uint8Array, count: number): number {
  let chunk = 0xc000;
  for (let k = 0; k < count; k++) chunk |= symbols[k]! << (2 * (6 - k));
  return chunk;
}
