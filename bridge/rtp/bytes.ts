// Network-byte-order (big-endian) reads and writes on a byte array, without a DataView per packet.
// The `!` assertions are safe: an out-of-range element is undefined, which every bitwise operator reads as 0.

/** Reads an unsigned 16-bit integer at `offset`; the caller has checked the bounds. */
export function readU16(buf: Uint8Array, offset: number): number {
  return (buf[offset]! << 8) | buf[offset + 1]!;
}

/** Reads an unsigned 24-bit integer at `offset`; the caller has checked the bounds. */
export function readU24(buf: Uint8Array, offset: number): number {
  return (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!;
}

/** Reads an unsigned 32-bit integer at `offset`; the caller has checked the bounds. */
export function readU32(buf: Uint8Array, offset: number): number {
  return ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
}

/** Writes the low 16 bits of `value` at `offset`. */
export function writeU16(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 8) & 0xff;
  buf[offset + 1] = value & 0xff;
}

/** Writes the low 32 bits of `value` at `offset`. */
export function writeU32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 24) & 0xff;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}
