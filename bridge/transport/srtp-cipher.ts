// The SRTP/SRTCP transforms of one direction (one master key and salt): RFC 3711 AES-CM with
// HMAC-SHA1-80 and RFC 7714 AEAD_AES_128_GCM. Session keys are derived once (RFC 3711 §4.3 with
// key derivation rate 0; RFC 7714 §11 uses the same KDF) and the crypto state lives as long as the
// context: the AES-CM keystream comes from one AES-128-ECB cipher encrypting counter blocks
// (RFC 3711 §4.1.1) kept in a reused buffer, and HMAC-SHA1 is two one-shot SHA-1 hashes over
// buffers that already hold the key pads (RFC 2104), so a packet costs one ECB update and two
// hashes instead of a new CTR cipher, a new HMAC and several intermediate buffers. GCM's IV
// changes with every packet and Node binds it at creation, so GCM still needs one cipher object
// per packet (RFC 7714 §8-§9); only the IV and AAD scratch are reused.
//
// Packet parsing, packet indices, rollover counters and replay windows belong to the caller
// (srtp-protection.ts): this module takes the header length and the ROC / SRTCP index.
// Outputs are fresh buffers (the caller hands them on asynchronously); inputs are never modified.
// Needs crypto.hash (Node ≥ 20.12).

import { createCipheriv, createDecipheriv, hash, type Cipher } from 'node:crypto';

/** RFC 5764 §4.1.2: SRTP_AES128_CM_HMAC_SHA1_80. */
export const SRTP_AES128_CM_HMAC_SHA1_80 = 1;
/** RFC 7714 §14.2: SRTP_AEAD_AES_128_GCM. */
export const SRTP_AEAD_AES_128_GCM = 7;
/** The protection profiles this module implements. */
export type SrtpCipherProfile = typeof SRTP_AES128_CM_HMAC_SHA1_80 | typeof SRTP_AEAD_AES_128_GCM;

/** RFC 3711 §4.3.2 key derivation labels. */
const LABEL_RTP_ENCRYPTION = 0x00;
const LABEL_RTP_AUTH = 0x01;
const LABEL_RTP_SALT = 0x02;
const LABEL_RTCP_ENCRYPTION = 0x03;
const LABEL_RTCP_AUTH = 0x04;
const LABEL_RTCP_SALT = 0x05;

const BLOCK = 16;
/** n_e: AES-128 session keys. */
const SESSION_KEY_LENGTH = 16;
/** n_s: 112-bit session salts (GCM uses the first 96 bits, RFC 7714 §11). */
const SESSION_SALT_LENGTH = 14;
/** n_a: HMAC-SHA1 session authentication keys (RFC 3711 §8.2). */
const SESSION_AUTH_KEY_LENGTH = 20;
/** HMAC-SHA1-80 tag (RFC 3711 §4.2, §5.2), RTP and RTCP alike. */
const HMAC_SHA1_80_TAG = 10;
/** RFC 7714 §7: 16-octet authentication tags. */
const GCM_TAG = 16;
/** RFC 7714 §8.1: 12-octet IVs. */
const GCM_IV = 12;
/** E flag and 31-bit SRTCP index (RFC 3711 §3.4). */
const SRTCP_INDEX_LENGTH = 4;
const RTCP_HEADER = 8;
const SHA1_BLOCK = 64;
const SHA1_DIGEST = 20;
const E_FLAG = 0x80;

/**
 * RFC 3711 §4.3.1-§4.3.3: the AES-CM PRF keyed with the master key, with key_id = label || r and
 * r = 0 (key derivation rate 0: derived once). The master salt is 112 bits, or GCM's 96 bits
 * padded with zeros on the right (RFC 7714 §11).
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const x = Buffer.alloc(BLOCK);
  masterSalt.copy(x, 0, 0, Math.min(masterSalt.length, SESSION_SALT_LENGTH));
  // key_id (label then the 48-bit r) is aligned with the salt's last 7 octets: only the label is non-zero.
  x[SESSION_SALT_LENGTH - 7]! ^= label;
  const blocks = Math.ceil(length / BLOCK);
  const counters = Buffer.alloc(blocks * BLOCK);
  for (let i = 0; i < blocks; i++) {
    x.copy(counters, i * BLOCK, 0, SESSION_SALT_LENGTH);
    counters.writeUInt16BE(i, i * BLOCK + SESSION_SALT_LENGTH);
  }
  const ecb = createCipheriv('aes-128-ecb', masterKey, null).setAutoPadding(false);
  return Buffer.concat([ecb.update(counters), ecb.final()]).subarray(0, length);
}

/** SRTP and SRTCP for one direction of a session: what one master key and salt protect. */
export interface SrtpTransform {
  readonly profile: SrtpCipherProfile;
  /** Bytes an SRTP packet grows by (the tag). */
  readonly rtpOverhead: number;
  /** Bytes an SRTCP packet grows by (tag and E flag with index). */
  readonly rtcpOverhead: number;
  /** Bytes after the SRTCP index: the HMAC tag, or 0 for GCM whose tag precedes it. */
  readonly srtcpTrailer: number;
  /**
   * SRTP-protects an RTP packet whose header (fixed part, CSRCs, extension) is `headerLength`
   * bytes, with rollover counter `roc`: everything after the header is encrypted, padding included.
   */
  encryptRtp(packet: Buffer, headerLength: number, roc: number): Buffer | undefined;
  /** The RTP packet back, or undefined when its tag does not verify; `packet` has the tag, `headerLength` ≤ its length - rtpOverhead. */
  decryptRtp(packet: Buffer, headerLength: number, roc: number): Buffer | undefined;
  /** SRTCP-protects a compound RTCP packet (≥ 8 bytes) with this 31-bit SRTCP index; E flag set. */
  encryptRtcp(packet: Buffer, index: number): Buffer | undefined;
  /** The RTCP packet back (E flag clear: only authenticated), or undefined when the tag does not verify; `packet.length` ≥ 8 + rtcpOverhead. */
  decryptRtcp(packet: Buffer): Buffer | undefined;
}

/** Creates the transforms of one direction for a negotiated profile. */
export function createSrtpTransform(profile: SrtpCipherProfile, masterKey: Buffer, masterSalt: Buffer): SrtpTransform {
  switch (profile) {
    case SRTP_AES128_CM_HMAC_SHA1_80:
      return new AesCmHmacSha1Transform(masterKey, masterSalt);
    case SRTP_AEAD_AES_128_GCM:
      return new AesGcmTransform(masterKey, masterSalt);
    default:
      throw new Error(`unsupported SRTP protection profile ${String(profile)}`);
  }
}

/**
 * One AES-CM keystream generator (RFC 3711 §4.1.1): a long-lived AES-128-ECB cipher encrypts the
 * counter blocks IV, IV + 1, … (the block number fills the IV's last 16 bits).
 */
class AesCounterMode {
  readonly #ecb: Cipher;
  readonly #salt: Buffer;
  /** Counter blocks: octets 0-3 (salt) and 14-15 (block number) are written once, 4-13 per packet. */
  #counters!: Buffer;
  /** #counters as 32-bit and 16-bit words, for the per-packet octets 4-11 and 12-13. */
  #words!: Int32Array;
  #halves!: Uint16Array;

  constructor(sessionKey: Buffer, sessionSalt: Buffer) {
    this.#ecb = createCipheriv('aes-128-ecb', sessionKey, null).setAutoPadding(false);
    this.#salt = sessionSalt;
    this.#allocate(128);
  }

  /**
   * XORs `length` bytes of keystream into `data` from `offset`, in place.
   * IV = (k_s · 2^16) ⊕ (SSRC · 2^64) ⊕ (i · 2^16) with the 48-bit index i = high32 · 2^16 + low16.
   */
  apply(ssrc: number, high32: number, low16: number, data: Buffer, offset: number, length: number): void {
    if (length <= 0) return;
    const blocks = (length + BLOCK - 1) >>> 4;
    if (blocks * BLOCK > this.#counters.length) this.#allocate(blocks * 2);
    const counters = this.#counters;
    const salt = this.#salt;
    // Block 0's octets 4-7 salt ⊕ SSRC, 8-11 salt ⊕ index high, 12-13 salt ⊕ index low; the other
    // blocks copy them as words (whatever the platform's byte order, a word copy keeps the octets).
    counters.writeUInt32BE((salt.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    counters.writeUInt32BE((salt.readUInt32BE(8) ^ high32) >>> 0, 8);
    counters.writeUInt16BE(salt.readUInt16BE(12) ^ low16, 12);
    const words = this.#words;
    const halves = this.#halves;
    const w1 = words[1]!;
    const w2 = words[2]!;
    const h6 = halves[6]!;
    for (let b = 1; b < blocks; b++) {
      words[4 * b + 1] = w1;
      words[4 * b + 2] = w2;
      halves[8 * b + 6] = h6;
    }
    const keystream = this.#ecb.update(blocks * BLOCK === counters.length ? counters : counters.subarray(0, blocks * BLOCK));
    let i = 0;
    if (((data.byteOffset + offset) & 3) === 0 && (keystream.byteOffset & 3) === 0) {
      // Four octets at a time where both are aligned (payloads start at a multiple of 4 in the
      // packet, and the buffers come from aligned allocations): 0.5 µs instead of 0.7-1.6 µs per 1 100 bytes.
      const count = length >>> 2;
      const target = new Int32Array(data.buffer, data.byteOffset + offset, count);
      const stream = new Int32Array(keystream.buffer, keystream.byteOffset, count);
      for (let w = 0; w < count; w++) target[w] = target[w]! ^ stream[w]!;
      i = count << 2;
    }
    for (; i < length; i++) data[offset + i] = data[offset + i]! ^ keystream[i]!;
  }

  /** Room for `count` counter blocks (RFC 3711 §4.1.1: at most 2^16), constant octets written. */
  #allocate(count: number): void {
    const blocks = Math.min(count, 65_536);
    const counters = Buffer.alloc(blocks * BLOCK);
    for (let b = 0; b < blocks; b++) {
      this.#salt.copy(counters, b * BLOCK, 0, 4);
      counters.writeUInt16BE(b, b * BLOCK + 14);
    }
    this.#counters = counters;
    this.#words = new Int32Array(counters.buffer, counters.byteOffset, counters.length >>> 2);
    this.#halves = new Uint16Array(counters.buffer, counters.byteOffset, counters.length >>> 1);
  }
}

/**
 * HMAC-SHA1 (RFC 2104) with a fixed key, as two one-shot SHA-1 hashes: H(K ⊕ opad || H(K ⊕ ipad || M)).
 * The caller leaves the first 64 octets of the message buffer free for K ⊕ ipad, so M is not
 * copied. CPU µs per 1 116-byte message on Node 20 (CPU with SHA extensions, best of rounds on a
 * busy 2-core machine; bench/bridge-srtp.ts): a createHmac per packet 2.4-3.1; createHash + copy()
 * of precomputed inner and outer states 2.7-4.5; these two hashes 2.3-2.7 — so these.
 */
class HmacSha1 {
  /** K ⊕ ipad: the first block of the inner hash. */
  readonly #innerPad: Buffer;
  /** K ⊕ opad, then room for the inner digest. */
  readonly #outer: Buffer;

  constructor(key: Buffer) {
    this.#innerPad = Buffer.alloc(SHA1_BLOCK, 0x36);
    this.#outer = Buffer.alloc(SHA1_BLOCK + SHA1_DIGEST, 0x5c);
    for (let i = 0; i < key.length; i++) {
      this.#innerPad[i]! ^= key[i]!;
      this.#outer[i]! ^= key[i]!;
    }
  }

  /** The MAC of `message[64, end)`; `message[0, 64)` is overwritten with the inner pad. */
  digest(message: Buffer, end: number): Buffer {
    this.#innerPad.copy(message, 0);
    hash('sha1', message.subarray(0, end), 'buffer').copy(this.#outer, SHA1_BLOCK);
    return hash('sha1', this.#outer, 'buffer');
  }
}

/**
 * SRTP_AES128_CM_HMAC_SHA1_80 (RFC 3711 §4.1.1, §4.2; RFC 5764 §4.1.2): AES-CM encryption,
 * HMAC-SHA1 over the authenticated portion (and, for SRTP, the ROC) truncated to 80 bits.
 * Packets are built 64 octets into their buffer (HmacSha1's inner pad goes before them), and the
 * returned packet is a view after it.
 */
class AesCmHmacSha1Transform implements SrtpTransform {
  readonly profile = SRTP_AES128_CM_HMAC_SHA1_80;
  readonly rtpOverhead = HMAC_SHA1_80_TAG;
  readonly rtcpOverhead = SRTCP_INDEX_LENGTH + HMAC_SHA1_80_TAG;
  readonly srtcpTrailer = HMAC_SHA1_80_TAG;
  readonly #rtp: AesCounterMode;
  readonly #rtcp: AesCounterMode;
  readonly #rtpAuth: HmacSha1;
  readonly #rtcpAuth: HmacSha1;
  /** Inner pad and a received packet, to authenticate it without touching it; grown as needed. */
  #scratch = Buffer.alloc(SHA1_BLOCK + 1_500);

  constructor(masterKey: Buffer, masterSalt: Buffer) {
    this.#rtp = new AesCounterMode(
      deriveSessionKey(masterKey, masterSalt, LABEL_RTP_ENCRYPTION, SESSION_KEY_LENGTH),
      deriveSessionKey(masterKey, masterSalt, LABEL_RTP_SALT, SESSION_SALT_LENGTH),
    );
    this.#rtcp = new AesCounterMode(
      deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_ENCRYPTION, SESSION_KEY_LENGTH),
      deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_SALT, SESSION_SALT_LENGTH),
    );
    this.#rtpAuth = new HmacSha1(deriveSessionKey(masterKey, masterSalt, LABEL_RTP_AUTH, SESSION_AUTH_KEY_LENGTH));
    this.#rtcpAuth = new HmacSha1(deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_AUTH, SESSION_AUTH_KEY_LENGTH));
  }

  encryptRtp(packet: Buffer, headerLength: number, roc: number): Buffer {
    const length = packet.length;
    // §4.2: M = authenticated portion || ROC; the ROC's 4 octets sit where the tag then goes.
    const buffer = Buffer.allocUnsafe(SHA1_BLOCK + length + HMAC_SHA1_80_TAG);
    packet.copy(buffer, SHA1_BLOCK);
    this.#rtp.apply(packet.readUInt32BE(8), roc, packet.readUInt16BE(2), buffer, SHA1_BLOCK + headerLength, length - headerLength);
    buffer.writeUInt32BE(roc >>> 0, SHA1_BLOCK + length);
    this.#rtpAuth.digest(buffer, SHA1_BLOCK + length + 4).copy(buffer, SHA1_BLOCK + length, 0, HMAC_SHA1_80_TAG);
    return buffer.subarray(SHA1_BLOCK);
  }

  decryptRtp(packet: Buffer, headerLength: number, roc: number): Buffer | undefined {
    const length = packet.length - HMAC_SHA1_80_TAG;
    const scratch = this.#scratchFor(length + 4);
    packet.copy(scratch, SHA1_BLOCK, 0, length);
    scratch.writeUInt32BE(roc >>> 0, SHA1_BLOCK + length);
    if (!tagMatches(this.#rtpAuth.digest(scratch, SHA1_BLOCK + length + 4), packet, length, HMAC_SHA1_80_TAG)) return undefined;
    const out = Buffer.allocUnsafe(length);
    packet.copy(out, 0, 0, length);
    this.#rtp.apply(packet.readUInt32BE(8), roc, packet.readUInt16BE(2), out, headerLength, length - headerLength);
    return out;
  }

  encryptRtcp(packet: Buffer, index: number): Buffer {
    const length = packet.length;
    const authenticated = length + SRTCP_INDEX_LENGTH;
    const buffer = Buffer.allocUnsafe(SHA1_BLOCK + authenticated + HMAC_SHA1_80_TAG);
    packet.copy(buffer, SHA1_BLOCK);
    // §3.4: the SRTCP index takes the place of the SRTP index in the IV (high bits, then low 16).
    this.#rtcp.apply(packet.readUInt32BE(4), index >>> 16, index & 0xffff, buffer, SHA1_BLOCK + RTCP_HEADER, length - RTCP_HEADER);
    buffer.writeUInt32BE((index | 0x8000_0000) >>> 0, SHA1_BLOCK + length);
    this.#rtcpAuth.digest(buffer, SHA1_BLOCK + authenticated).copy(buffer, SHA1_BLOCK + authenticated, 0, HMAC_SHA1_80_TAG);
    return buffer.subarray(SHA1_BLOCK);
  }

  decryptRtcp(packet: Buffer): Buffer | undefined {
    const authenticated = packet.length - HMAC_SHA1_80_TAG;
    const scratch = this.#scratchFor(authenticated);
    packet.copy(scratch, SHA1_BLOCK, 0, authenticated);
    if (!tagMatches(this.#rtcpAuth.digest(scratch, SHA1_BLOCK + authenticated), packet, authenticated, HMAC_SHA1_80_TAG)) return undefined;
    const length = authenticated - SRTCP_INDEX_LENGTH;
    const out = Buffer.allocUnsafe(length);
    packet.copy(out, 0, 0, length);
    if ((packet[length]! & E_FLAG) !== 0) {
      const index = packet.readUInt32BE(length) & 0x7fff_ffff;
      this.#rtcp.apply(packet.readUInt32BE(4), index >>> 16, index & 0xffff, out, RTCP_HEADER, length - RTCP_HEADER);
    }
    return out;
  }

  /** The scratch buffer with room for the inner pad and `length` more octets. */
  #scratchFor(length: number): Buffer {
    if (SHA1_BLOCK + length > this.#scratch.length) this.#scratch = Buffer.alloc(2 * (SHA1_BLOCK + length));
    return this.#scratch;
  }
}

/**
 * SRTP_AEAD_AES_128_GCM (RFC 7714): AES-GCM with 16-byte tags. SRTP (§8): AAD = the RTP header,
 * IV = salt ⊕ (0 0 | SSRC | ROC | SEQ). SRTCP (§9, §17): the tag follows the ciphertext and
 * precedes E|index; AAD = the 8-byte header and E|index (E set) or everything but the tag (E clear);
 * IV = salt ⊕ (0 0 | SSRC | 0 0 | index).
 */
class AesGcmTransform implements SrtpTransform {
  readonly profile = SRTP_AEAD_AES_128_GCM;
  readonly rtpOverhead = GCM_TAG;
  readonly rtcpOverhead = GCM_TAG + SRTCP_INDEX_LENGTH;
  readonly srtcpTrailer = 0;
  readonly #rtpKey: Buffer;
  readonly #rtpSalt: Buffer;
  readonly #rtcpKey: Buffer;
  readonly #rtcpSalt: Buffer;
  /** Scratch for IVs and SRTCP AAD; GCM ciphers copy both when given them. */
  readonly #iv = Buffer.alloc(GCM_IV);
  readonly #aad = Buffer.alloc(RTCP_HEADER + SRTCP_INDEX_LENGTH);

  constructor(masterKey: Buffer, masterSalt: Buffer) {
    this.#rtpKey = deriveSessionKey(masterKey, masterSalt, LABEL_RTP_ENCRYPTION, SESSION_KEY_LENGTH);
    this.#rtpSalt = deriveSessionKey(masterKey, masterSalt, LABEL_RTP_SALT, GCM_IV);
    this.#rtcpKey = deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_ENCRYPTION, SESSION_KEY_LENGTH);
    this.#rtcpSalt = deriveSessionKey(masterKey, masterSalt, LABEL_RTCP_SALT, GCM_IV);
  }

  encryptRtp(packet: Buffer, headerLength: number, roc: number): Buffer {
    const cipher = createCipheriv('aes-128-gcm', this.#rtpKey, this.#rtpIv(packet, roc));
    cipher.setAAD(packet.subarray(0, headerLength));
    const encrypted = cipher.update(packet.subarray(headerLength));
    cipher.final();
    const out = Buffer.allocUnsafe(packet.length + GCM_TAG);
    packet.copy(out, 0, 0, headerLength);
    encrypted.copy(out, headerLength);
    cipher.getAuthTag().copy(out, packet.length);
    return out;
  }

  decryptRtp(packet: Buffer, headerLength: number, roc: number): Buffer | undefined {
    const length = packet.length - GCM_TAG;
    const decipher = createDecipheriv('aes-128-gcm', this.#rtpKey, this.#rtpIv(packet, roc), { authTagLength: GCM_TAG });
    decipher.setAAD(packet.subarray(0, headerLength));
    decipher.setAuthTag(packet.subarray(length));
    const decrypted = decipher.update(packet.subarray(headerLength, length));
    try {
      decipher.final();
    } catch {
      return undefined; // the tag did not verify
    }
    const out = Buffer.allocUnsafe(length);
    packet.copy(out, 0, 0, headerLength);
    decrypted.copy(out, headerLength);
    return out;
  }

  encryptRtcp(packet: Buffer, index: number): Buffer {
    const length = packet.length;
    const aad = this.#aad;
    packet.copy(aad, 0, 0, RTCP_HEADER);
    aad.writeUInt32BE((index | 0x8000_0000) >>> 0, RTCP_HEADER);
    const cipher = createCipheriv('aes-128-gcm', this.#rtcpKey, this.#rtcpIv(packet.readUInt32BE(4), index));
    cipher.setAAD(aad);
    const encrypted = cipher.update(packet.subarray(RTCP_HEADER));
    cipher.final();
    const out = Buffer.allocUnsafe(length + GCM_TAG + SRTCP_INDEX_LENGTH);
    packet.copy(out, 0, 0, RTCP_HEADER);
    encrypted.copy(out, RTCP_HEADER);
    cipher.getAuthTag().copy(out, length);
    aad.copy(out, length + GCM_TAG, RTCP_HEADER);
    return out;
  }

  decryptRtcp(packet: Buffer): Buffer | undefined {
    const indexOffset = packet.length - SRTCP_INDEX_LENGTH;
    const tagOffset = indexOffset - GCM_TAG;
    const eIndex = packet.readUInt32BE(indexOffset);
    const encrypted = eIndex >>> 31 === 1;
    const decipher = createDecipheriv('aes-128-gcm', this.#rtcpKey, this.#rtcpIv(packet.readUInt32BE(4), eIndex & 0x7fff_ffff), {
      authTagLength: GCM_TAG,
    });
    decipher.setAuthTag(packet.subarray(tagOffset, indexOffset));
    const out = Buffer.allocUnsafe(tagOffset);
    packet.copy(out, 0, 0, encrypted ? RTCP_HEADER : tagOffset);
    if (encrypted) {
      const aad = this.#aad;
      packet.copy(aad, 0, 0, RTCP_HEADER);
      packet.copy(aad, RTCP_HEADER, indexOffset);
      decipher.setAAD(aad);
      decipher.update(packet.subarray(RTCP_HEADER, tagOffset)).copy(out, RTCP_HEADER);
    } else {
      decipher.setAAD(Buffer.concat([packet.subarray(0, tagOffset), packet.subarray(indexOffset)]));
    }
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    return out;
  }

  #rtpIv(packet: Buffer, roc: number): Buffer {
    const iv = this.#iv;
    const salt = this.#rtpSalt;
    iv[0] = salt[0]!;
    iv[1] = salt[1]!;
    iv.writeUInt32BE((salt.readUInt32BE(2) ^ packet.readUInt32BE(8)) >>> 0, 2);
    iv.writeUInt32BE((salt.readUInt32BE(6) ^ roc) >>> 0, 6);
    iv.writeUInt16BE(salt.readUInt16BE(10) ^ packet.readUInt16BE(2), 10);
    return iv;
  }

  #rtcpIv(ssrc: number, index: number): Buffer {
    const iv = this.#iv;
    const salt = this.#rtcpSalt;
    iv[0] = salt[0]!;
    iv[1] = salt[1]!;
    iv.writeUInt32BE((salt.readUInt32BE(2) ^ ssrc) >>> 0, 2);
    iv[6] = salt[6]!;
    iv[7] = salt[7]!;
    iv.writeUInt32BE((salt.readUInt32BE(8) ^ index) >>> 0, 8);
    return iv;
  }
}

/** Compares the first `length` bytes of `expected` with `packet` at `offset` in constant time. */
function tagMatches(expected: Buffer, packet: Buffer, offset: number, length: number): boolean {
  let difference = 0;
  for (let i = 0; i < length; i++) difference |= expected[i]! ^ packet[offset + i]!;
  return difference === 0;
}
