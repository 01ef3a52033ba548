// SRTP and SRTCP for one endpoint (RFC 3711; AEAD_AES_128_GCM per RFC 7714): werift's sessions for
// the ciphers, plus what they lack — replay windows on what comes in (RTP by SSRC and packet index,
// RTCP by SSRC and SRTCP index; bridge/rtp/replay.ts) and padding that survives encryption.
// Pure: buffers in, buffers out.

import { RtpHeader, SrtcpSession, SrtpAuthenticationError, SrtpSession } from 'werift';
import { estimateSrtpIndex, readSrtcpIndex, ReplayWindow, rolloverCounter } from '../rtp/replay.ts';
import type { SrtpKeyingMaterial } from './dtls-link.ts';

export type UnprotectResult = { ok: true; packet: Buffer } | { ok: false; reason: 'auth' | 'replay' | 'malformed' };

/** SRTP protection profile numbers (RFC 5764 §4.1.2, RFC 7714 §14.2). */
const AEAD_AES_128_GCM = 7;
const RTP_HEADER = 12;
const RTCP_HEADER = 8;
/** Replay windows kept per direction at most; the oldest SSRC's is dropped beyond (only authenticated SSRCs get one). */
const MAX_SSRCS = 256;

export class SrtpProtection {
  readonly profile: number;
  readonly #rtp: SrtpSession;
  readonly #rtcp: SrtcpSession;
  readonly #rtpReplay = new Map<number, ReplayWindow>();
  readonly #rtcpReplay = new Map<number, ReplayWindow>();
  /** Bytes after the SRTCP index: HMAC-SHA1-80's tag; GCM puts its tag before the index. */
  readonly #srtcpTrailer: number;

  constructor(keys: SrtpKeyingMaterial) {
    this.profile = keys.profile;
    const config = {
      profile: keys.profile,
      keys: {
        localMasterKey: keys.localMasterKey,
        localMasterSalt: keys.localMasterSalt,
        remoteMasterKey: keys.remoteMasterKey,
        remoteMasterSalt: keys.remoteMasterSalt,
      },
    };
    this.#rtp = new SrtpSession(config);
    this.#rtcp = new SrtcpSession(config);
    this.#srtcpTrailer = keys.profile === AEAD_AES_128_GCM ? 0 : 10;
  }

  /** Encrypts one plaintext RTP packet; undefined if it is not RTP. */
  protectRtp(packet: Buffer): Buffer | undefined {
    if (packet.length < RTP_HEADER || packet[0]! >> 6 !== 2) return undefined;
    let header: RtpHeader;
    try {
      header = RtpHeader.deSerialize(packet);
    } catch {
      return undefined; // the caller's packet is malformed; the caller counts it
    }
    if (header.payloadOffset > packet.length) return undefined;
    // werift encrypts `payload` after the header it re-serialises, and never writes the padding
    // the header declares: keep the padding bytes in the payload so they are encrypted and sent.
    return this.#rtp.encrypt(packet.subarray(header.payloadOffset), header);
  }

  /** Encrypts one plaintext compound RTCP packet; undefined if it is not RTCP. */
  protectRtcp(packet: Buffer): Buffer | undefined {
    if (packet.length < RTCP_HEADER || packet[0]! >> 6 !== 2) return undefined;
    return this.#rtcp.encrypt(packet);
  }

  /** Authenticates, replay-checks and decrypts one SRTP packet. */
  unprotectRtp(data: Buffer): UnprotectResult {
    if (data.length < RTP_HEADER || data[0]! >> 6 !== 2) return { ok: false, reason: 'malformed' };
    const ssrc = data.readUInt32BE(8);
    const window = this.#rtpReplay.get(ssrc);
    const sequence = data.readUInt16BE(2);
    let index = estimateSrtpIndex(window?.highest ?? -1, sequence);
    // Appendix A's ROC - 1 wraps to 2^32 - 1 while the ROC is 0 (a packet reordered across the
    // first wrap). werift keeps its own ROC, so that index would not be the one authenticated, and
    // committing it would push the window out of reach of every later packet: use ROC 0.
    if (window && rolloverCounter(window.highest) === 0 && rolloverCounter(index) === 0xffff_ffff) index = sequence;
    if (window && window.check(index) !== 'ok') return { ok: false, reason: 'replay' };
    const result = decrypt(() => this.#rtp.decrypt(data));
    if (result.ok) windowFor(this.#rtpReplay, ssrc).update(index);
    return result;
  }

  /** Authenticates, replay-checks and decrypts one SRTCP packet. */
  unprotectRtcp(data: Buffer): UnprotectResult {
    const index = readSrtcpIndex(data, this.#srtcpTrailer);
    if (index < 0 || data[0]! >> 6 !== 2) return { ok: false, reason: 'malformed' };
    const ssrc = data.readUInt32BE(4);
    const window = this.#rtcpReplay.get(ssrc);
    if (window && window.check(index) !== 'ok') return { ok: false, reason: 'replay' };
    const result = decrypt(() => this.#rtcp.decrypt(data));
    if (result.ok) windowFor(this.#rtcpReplay, ssrc).update(index);
    return result;
  }
}

function windowFor(windows: Map<number, ReplayWindow>, ssrc: number): ReplayWindow {
  let window = windows.get(ssrc);
  if (window) return window;
  if (windows.size >= MAX_SSRCS) {
    const oldest = windows.keys().next();
    if (!oldest.done) windows.delete(oldest.value);
  }
  windows.set(ssrc, (window = new ReplayWindow()));
  return window;
}

function decrypt(run: () => Buffer): UnprotectResult {
  try {
    return { ok: true, packet: run() };
  } catch (error) {
    // werift throws SrtpAuthenticationError for bad tags and short packets; anything else is a
    // packet its parsers could not read.
    return { ok: false, reason: error instanceof SrtpAuthenticationError ? 'auth' : 'malformed' };
  }
}
