// SRTP replay protection, RFC 3711 §3.3.2: a 64-packet sliding window per SSRC over the packet
// index, estimated as in RFC 3711 Appendix A. werift-rtp's SRTP context has none.
// check() runs before authentication, commit() only after it succeeded (§3.3 steps 2 and 6).

const WINDOW = 64n;

interface SsrcWindow {
  /** Highest authenticated packet index (ROC << 16 | SEQ). */
  highest: number;
  /** Bit i set: index highest - i was received. */
  mask: bigint;
}

export type ReplayVerdict = { ok: true; index: number } | { ok: false; reason: 'replayed' | 'too-old' };

export class ReplayWindow {
  readonly #windows = new Map<number, SsrcWindow>();

  get size(): number {
    return this.#windows.size;
  }

  check(ssrc: number, sequenceNumber: number): ReplayVerdict {
    const window = this.#windows.get(ssrc);
    if (!window) return { ok: true, index: sequenceNumber };
    const index = estimateIndex(window.highest, sequenceNumber);
    if (index > window.highest) return { ok: true, index };
    const age = BigInt(window.highest - index);
    if (age >= WINDOW) return { ok: false, reason: 'too-old' };
    if ((window.mask >> age) & 1n) return { ok: false, reason: 'replayed' };
    return { ok: true, index };
  }

  commit(ssrc: number, index: number): void {
    const window = this.#windows.get(ssrc);
    if (!window) {
      this.#windows.set(ssrc, { highest: index, mask: 1n });
      return;
    }
    if (index > window.highest) {
      const shift = BigInt(index - window.highest);
      window.mask = shift >= WINDOW ? 1n : ((window.mask << shift) | 1n) & ((1n << WINDOW) - 1n);
      window.highest = index;
    } else {
      window.mask |= 1n << BigInt(window.highest - index);
    }
  }
}

/** RFC 3711 Appendix A: the index closest to the highest one seen, given a 16-bit SEQ. */
export function estimateIndex(highest: number, sequenceNumber: number): number {
  const roc = Math.floor(highest / 65_536);
  const last = highest % 65_536;
  let v = roc;
  if (last < 32_768) {
    if (sequenceNumber - last > 32_768 && roc > 0) v = roc - 1;
  } else if (last - 32_768 > sequenceNumber) {
    v = roc + 1;
  }
  return v * 65_536 + sequenceNumber;
}
