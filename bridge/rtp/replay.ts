// SRTP/SRTCP replay protection: the sliding window of RFC 3711 §3.3.2 over packet indices, and
// the receiver's index estimate of §3.3.1 / Appendix A. werift-rtp's SRTP contexts have neither
// a replay list nor a way to plug one in, so the endpoint runs this around them.
//
// Use per SSRC and direction: index = estimateSrtpIndex(window.highest, seq) (SRTP) or the
// SRTCP index from the trailer; check(index) before the authentication tag is verified, drop on
// anything but 'ok'; update(index) only once the tag verified (§3.3 steps 2 and 6), so forged
// packets cannot move the window.
//
// Indices are plain numbers: an SRTP index (ROC << 16 | SEQ) is below 2^48, an SRTCP index below
// 2^31. Neither wraps in practice: §9.2 requires rekeying first.

/** Outcome of {@link ReplayWindow.check}. */
export type ReplayVerdict = 'ok' | 'replayed' | 'too-old';

/** RFC 3711 §3.3.2: the window SHOULD be at least 64. */
export const DEFAULT_REPLAY_WINDOW = 64;

export class ReplayWindow {
  /** Window size in packets (a multiple of 32). */
  readonly size: number;
  /** Bit (index mod size) set ⇔ that index, within the window, was received. */
  readonly #bits: Uint32Array;
  #highest = -1;

  /** @param size packets remembered behind the highest index; rounded up to a multiple of 32, default 64. */
  constructor(size: number = DEFAULT_REPLAY_WINDOW) {
    const words = Math.max(1, Math.ceil(size / 32));
    this.size = words * 32;
    this.#bits = new Uint32Array(words);
  }

  /** Highest index accepted so far, or -1 before the first update. */
  get highest(): number {
    return this.#highest;
  }

  /** Whether a packet with this index may be processed (no state change). */
  check(index: number): ReplayVerdict {
    if (!(index >= 0)) return 'too-old';
    if (index > this.#highest) return 'ok';
    if (this.#highest - index >= this.size) return 'too-old';
    return this.#isSet(index) ? 'replayed' : 'ok';
  }

  /** Records an authenticated packet; slides the window when it is the newest. */
  update(index: number): void {
    if (!(index >= 0)) return;
    if (index > this.#highest) {
      const shift = index - this.#highest;
      if (this.#highest < 0 || shift >= this.size) {
        this.#bits.fill(0);
      } else {
        for (let i = this.#highest + 1; i < index; i++) this.#clear(i);
      }
      this.#highest = index;
    } else if (this.#highest - index >= this.size) {
      return;
    }
    this.#set(index);
  }

  /** Forgets everything (e.g. after rekeying). */
  reset(): void {
    this.#bits.fill(0);
    this.#highest = -1;
  }

  #isSet(index: number): boolean {
    const bit = index % this.size;
    return ((this.#bits[bit >>> 5]! >>> (bit & 31)) & 1) !== 0;
  }

  #set(index: number): void {
    const bit = index % this.size;
    const word = bit >>> 5;
    this.#bits[word] = this.#bits[word]! | (1 << (bit & 31));
  }

  #clear(index: number): void {
    const bit = index % this.size;
    const word = bit >>> 5;
    this.#bits[word] = this.#bits[word]! & ~(1 << (bit & 31));
  }
}

const ROC_MODULUS = 2 ** 32;

/**
 * RFC 3711 §3.3.1 / Appendix A: the SRTP packet index for sequence number `seq`, guessing the
 * rollover counter from the highest index seen so far (-1: none yet, ROC 0). A SEQ more than
 * 2^15 behind the highest one's is taken from the next ROC, more than 2^15 ahead from the previous.
 */
export function estimateSrtpIndex(highest: number, seq: number): number {
  if (highest < 0) return seq;
  const roc = Math.floor(highest / 65_536);
  const sl = highest % 65_536;
  let v = roc;
  if (sl < 32_768) {
    if (seq - sl > 32_768) v = (roc - 1 + ROC_MODULUS) % ROC_MODULUS;
  } else if (sl - 32_768 > seq) {
    v = (roc + 1) % ROC_MODULUS;
  }
  return v * 65_536 + seq;
}

/** The rollover counter of an SRTP index. */
export function rolloverCounter(index: number): number {
  return Math.floor(index / 65_536);
}

/**
 * The 31-bit SRTCP index from an SRTCP packet's trailer (RFC 3711 §3.4: E flag and index precede
 * the MKI and authentication tag). `tagLength` is the bytes after it: 10 for
 * AES_CM_128_HMAC_SHA1_80, 0 for AEAD_AES_128_GCM (RFC 7714 §9, the tag is inside the
 * ciphertext). Returns -1 when the packet is too short.
 */
export function readSrtcpIndex(buf: Uint8Array, tagLength: number, length: number = buf.length): number {
  const offset = length - tagLength - 4;
  if (offset < 8) return -1;
  return (((buf[offset]! & 0x7f) << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}
