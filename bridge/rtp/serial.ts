// Serial-number arithmetic (RFC 1982) for RTP's 16-bit sequence numbers and 32-bit timestamps.

/** Signed distance a − b between two 16-bit sequence numbers, in [−32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** True when sequence number `a` comes after `b` (RFC 1982 with a 16-bit space). */
export function seqNewer(a: number, b: number): boolean {
  const d = (a - b) & 0xffff;
  return d !== 0 && d < 0x8000;
}

/** Signed distance a − b between two 32-bit RTP timestamps. */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** True when RTP timestamp `a` comes after `b` (RFC 1982 with a 32-bit space). */
export function tsNewer(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x8000_0000;
}
