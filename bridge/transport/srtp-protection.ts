// SRTP and SRTCP for one endpoint (RFC 3711; AEAD_AES_128_GCM per RFC 7714): the crypto of
// srtp-cipher.ts with long-lived per-direction contexts, plus the packet-index bookkeeping (for
// RTP on the native path, the addon's: salon_media.cc SsrcTable, same rules) —
// RFC 3711 §3.3.1 / Appendix A index estimates and replay windows (§3.3.2) on what comes in (RTP by
// SSRC and packet index, RTCP by SSRC and SRTCP index; bridge/rtp/replay.ts), rollover counters
// and the SRTCP index on what goes out. The transforms are the addon's when it is given
// (bridge/native: same bytes, less CPU), else srtp-cipher.ts's. Fresh buffers out (the addon
// decrypts what comes in in place: the caller gives the datagram up); never throws.

import { estimateSrtpIndex, readSrtcpIndex, ReplayWindow, rolloverCounter } from '../rtp/replay.ts';
import { NativeTransform, UNPROTECT_AUTH, UNPROTECT_REPLAY, type NativeMedia, type UdpSendBatch } from '../native/index.ts';
import type { SrtpKeyingMaterial } from './dtls-link.ts';
import { createSrtpTransform, type SrtpTransform } from './srtp-cipher.ts';
import type { RemoteAddress } from './udp-mux.ts';

export type UnprotectResult = { ok: true; packet: Buffer } | { ok: false; reason: 'auth' | 'replay' | 'malformed' };

const RTP_HEADER = 12;
const RTCP_HEADER = 8;
// Per-SSRC state is bounded because the SSRCs are the peer's to choose: a client cycling through
// random SSRCs (each authenticated, on what comes in) would otherwise grow the maps without end.
// What goes is the state of the SSRCs unused the longest (SsrcTable): a stream that keeps sending
// keeps its state however many SSRCs come and go. The peer's SRTP does not forget a stream's
// rollover counter, so one forgotten here while the stream goes on costs every packet of it once
// its sequence number has wrapped (RFC 3711 §3.3.1: the ROC restarts at 0 on one side only), and
// a replay window forgotten lets the stream's packets be replayed (§3.3.2).
/**
 * Incoming SSRCs, per RTP and RTCP, whose replay windows are kept at least (about 300 bytes each,
 * twice as many at most): a browser sends from a handful per session, a few more per screen share.
 */
const RECEIVING_SSRCS = 256;
/**
 * Outgoing SSRCs whose highest packet index is kept at least (about 70 bytes each, twice as many
 * at most): every source ever forwarded to this receiver counts, those of participants gone or
 * reloaded included, which a long large meeting takes past a thousand.
 */
const SENDING_SSRCS = 2048;
/** Indices behind the highest sent whose use is remembered per outgoing SSRC (SentWindow; salon_media.cc kSentWindow). */
export const SENT_WINDOW = 1024;

/**
 * Per SSRC sent: the highest index (the ROC of the next packet), and which of the SENT_WINDOW
 * indices up to the highest one protected were protected already. An index is protected once: two
 * plaintexts under one index would reuse AES-CM keystream, or a GCM nonce, towards the receiver.
 * Whatever the forwarding does (a sender replaying its own packets once the bridge forgot its
 * replay window, say), an index sent or too old to tell is refused here (salon_media.cc SentWindow,
 * the same rules).
 */
/** Where index `i` (negative before the first ROC) is marked in a SentWindow. */
function sentBit(i: number): number {
  return ((i % SENT_WINDOW) + SENT_WINDOW) % SENT_WINDOW;
}

class SentWindow {
  /** Highest real index sent, -1 before the first. */
  highest = -1;
  /** Highest index marked (virtual: below 0 for a packet from before the first ROC). */
  #top = 0;
  #any = false;
  readonly #bits = new Uint8Array(SENT_WINDOW);

  /** Whether `index` may be protected now (never before, not too old); marks it when so. */
  take(index: number): boolean {
    const bits = this.#bits;
    if (!this.#any || index - this.#top >= SENT_WINDOW) {
      bits.fill(0);
    } else if (index > this.#top) {
      for (let i = this.#top + 1; i < index; i++) bits[sentBit(i)] = 0;
    } else if (this.#top - index >= SENT_WINDOW || bits[sentBit(index)] === 1) {
      return false;
    }
    if (!this.#any || index > this.#top) this.#top = index;
    this.#any = true;
    bits[sentBit(index)] = 1;
    return true;
  }
}

/** RFC 3711 §3.4: the SRTCP index is 31 bits. */
const SRTCP_INDEX_MODULUS = 0x8000_0000;
const ROC_MINUS_ONE = 0xffff_ffff;

export class SrtpProtection {
  /** The negotiated protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2). */
  readonly profile: number;
  readonly #local: SrtpTransform;
  readonly #remote: SrtpTransform;
  // The per-packet maps are keyed by the SSRC read as a signed 32-bit integer (readInt32BE): a
  // small integer to V8 whatever its value, where half of all SSRCs read unsigned are boxed
  // numbers, allocated per read and hashed the slow way.
  readonly #rtpReplay = new SsrcTable<ReplayWindow>(RECEIVING_SSRCS);
  readonly #rtcpReplay = new SsrcTable<ReplayWindow>(RECEIVING_SSRCS);
  /**
   * Highest SRTP packet index sent, and the indices used, by SSRC: its ROC is the sender's rollover
   * counter (§3.3.1), and no index is used twice. On the native path the addon's transform keeps
   * them (salon_media.cc SrtpTransform::ProtectRtp, same rules), for both ways out (protectRtp, queueRtp).
   */
  readonly #sent = new SsrcTable<SentWindow>(SENDING_SSRCS);
  /** #local when it is the addon's. */
  readonly #nativeLocal: NativeTransform | undefined;
  /** SRTCP index of the last packet sent; one counter for the session, so it rises for every SSRC. */
  #srtcpIndex = 0;

  /** @throws only if `keys.profile` is not a profile srtp-cipher.ts implements (DTLS offers no others). */
  constructor(keys: SrtpKeyingMaterial, native?: NativeMedia) {
    this.profile = keys.profile;
    this.#local = native
      ? new NativeTransform(native, keys.profile, keys.localMasterKey, keys.localMasterSalt)
      : createSrtpTransform(keys.profile, keys.localMasterKey, keys.localMasterSalt);
    this.#remote = native
      ? new NativeTransform(native, keys.profile, keys.remoteMasterKey, keys.remoteMasterSalt)
      : createSrtpTransform(keys.profile, keys.remoteMasterKey, keys.remoteMasterSalt);
    this.#nativeLocal = this.#local instanceof NativeTransform ? this.#local : undefined;
  }

  /**
   * Encrypts one plaintext RTP packet (padding included); undefined if it is not RTP, or if its
   * index was protected already or is too old to tell (SentWindow). A packet meant to go twice is
   * protected once and its datagram sent twice.
   */
  protectRtp(packet: Buffer): Buffer | undefined {
    if (this.#nativeLocal) return this.#nativeLocal.protectRtp(packet);
    const headerLength = rtpHeaderLength(packet, packet.length);
    if (headerLength < 0) return undefined;
    const roc = this.#sendingRoc(packet);
    return roc < 0 ? undefined : this.#local.encryptRtp(packet, headerLength, roc);
  }

  /**
   * Encrypts one plaintext RTP packet into a batch of datagrams for `to`, `copies` times the same
   * datagram: its SRTP length, or -1 when it was not queued (not RTP, its index used already, no
   * native transform, a batch that refused it: protectRtp then).
   */
  queueRtp(packet: Buffer, batch: UdpSendBatch, to: RemoteAddress, copies = 1): number {
    return this.#nativeLocal ? batch.queueRtp(this.#nativeLocal, packet, to, copies) : -1;
  }

  /**
   * The ROC to send `packet` with (RFC 3711 §3.3.1), the stream's highest index updated; -1 when its
   * index was used already or is too old to tell. On the TypeScript path (the addon keeps its own).
   */
  #sendingRoc(packet: Buffer): number {
    const ssrc = packet.readInt32BE(8);
    const sent = this.#sent.recent.get(ssrc) ?? this.#sent.keep(ssrc, this.#sent.older.get(ssrc) ?? new SentWindow());
    let index = estimateSrtpIndex(sent.highest, packet.readUInt16BE(2));
    // A sequence number far behind while the ROC is still 0: there is no earlier ROC, keep 0 and
    // leave the highest index alone (its place in the window: before the first ROC).
    const beforeFirst = rolloverCounter(index) === ROC_MINUS_ONE && rolloverCounter(sent.highest) === 0;
    if (beforeFirst) index %= 65_536;
    if (!sent.take(beforeFirst ? index - 65_536 : index)) return -1;
    if (!beforeFirst && index > sent.highest) sent.highest = index;
    return rolloverCounter(index);
  }

  /** Encrypts one plaintext compound RTCP packet; undefined if it is not RTCP. */
  protectRtcp(packet: Buffer): Buffer | undefined {
    if (packet.length < RTCP_HEADER || packet[0]! >> 6 !== 2) return undefined;
    this.#srtcpIndex = (this.#srtcpIndex + 1) % SRTCP_INDEX_MODULUS;
    return this.#local.encryptRtcp(packet, this.#srtcpIndex);
  }

  /**
   * The addon's transform for what comes in, on the native path: it keeps the RTP replay windows
   * itself, so that the media socket can unprotect SRTP as it reads it (NativeMediaSocket.bindReceiver).
   */
  get nativeReceiver(): NativeTransform | undefined {
    return this.#remote instanceof NativeTransform ? this.#remote : undefined;
  }

  /** The addon's transform for what goes out, on the native path (SendTarget.set). */
  get nativeSender(): NativeTransform | undefined {
    return this.#nativeLocal;
  }

  /** Bytes SRTP adds to an RTP packet (its authentication tag). */
  get rtpOverhead(): number {
    return this.#remote.rtpOverhead;
  }

  /** Authenticates, replay-checks and decrypts one SRTP packet. */
  unprotectRtp(data: Buffer): UnprotectResult {
    if (this.#remote instanceof NativeTransform) return unprotected(data, this.#remote.unprotectRtp(data));
    const headerLength = rtpHeaderLength(data, data.length - this.#remote.rtpOverhead);
    if (headerLength < 0) return { ok: false, reason: 'malformed' };
    const ssrc = data.readInt32BE(8);
    let window = this.#rtpReplay.recent.get(ssrc);
    // Found in the older generation, the window moves to the recent one only once the packet
    // authenticated: a forged packet neither creates state nor keeps it.
    const recent = window !== undefined;
    if (!recent) window = this.#rtpReplay.older.get(ssrc);
    const index = estimateSrtpIndex(window?.highest ?? -1, data.readUInt16BE(2));
    if (window) {
      // Appendix A's ROC - 1 while the ROC is 0: a packet from before the stream's first one.
      if (rolloverCounter(index) === ROC_MINUS_ONE && rolloverCounter(window.highest) === 0) return { ok: false, reason: 'replay' };
      if (window.check(index) !== 'ok') return { ok: false, reason: 'replay' };
    }
    const packet = this.#remote.decryptRtp(data, headerLength, rolloverCounter(index));
    if (!packet) return { ok: false, reason: 'auth' };
    if (!recent) window = this.#rtpReplay.keep(ssrc, window ?? new ReplayWindow());
    window!.update(index);
    return { ok: true, packet };
  }

  /** Authenticates, replay-checks and decrypts one SRTCP packet. */
  unprotectRtcp(data: Buffer): UnprotectResult {
    if (data.length < RTCP_HEADER + this.#remote.rtcpOverhead || data[0]! >> 6 !== 2) return { ok: false, reason: 'malformed' };
    const index = readSrtcpIndex(data, this.#remote.srtcpTrailer);
    const ssrc = data.readInt32BE(4);
    let window = this.#rtcpReplay.recent.get(ssrc);
    const recent = window !== undefined;
    if (!recent) window = this.#rtcpReplay.older.get(ssrc);
    if (window && window.check(index) !== 'ok') return { ok: false, reason: 'replay' };
    const packet = this.#remote.decryptRtcp(data);
    if (!packet) return { ok: false, reason: 'auth' };
    if (!recent) window = this.#rtcpReplay.keep(ssrc, window ?? new ReplayWindow());
    window!.update(index);
    return { ok: true, packet };
  }
}

/** What the addon's unprotectRtp (or the media socket's read) made of `data`, as an UnprotectResult. */
function unprotected(data: Buffer, outcome: number): UnprotectResult {
  if (outcome >= 0) return { ok: true, packet: outcome === data.length ? data : data.subarray(0, outcome) };
  return { ok: false, reason: outcome === UNPROTECT_REPLAY ? 'replay' : outcome === UNPROTECT_AUTH ? 'auth' : 'malformed' };
}

/**
 * RFC 3550 §5.1, §5.3.1: the RTP header's length (fixed part, CSRCs, extension) when `packet` is
 * version 2 and the header fits in its first `limit` bytes; -1 otherwise.
 */
function rtpHeaderLength(packet: Buffer, limit: number): number {
  if (limit < RTP_HEADER || packet[0]! >> 6 !== 2) return -1;
  let length = RTP_HEADER + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (length + 4 > limit) return -1;
    length += 4 + 4 * packet.readUInt16BE(length + 2);
  }
  return length <= limit ? length : -1;
}

/**
 * Per-SSRC state bounded by forgetting the SSRCs unused the longest, in two generations: `recent`
 * holds the entries used since the last turnover, `older` those of the generation before. A
 * packet's lookup is one `recent.get`, as with a plain map, and writes nothing: no use stamp per
 * packet, no scan to find the least recently used. An entry found in `older` is moved back with
 * keep() (once per generation per stream); when `recent` is full, keep() turns it into `older`
 * and drops what `older` held — SSRCs unused for a whole generation.
 *
 * So an entry is forgotten only once more than `capacity` other SSRCs were used after its last
 * use: a stream that sends at all while `capacity` others come and go is kept, however many pass
 * in total, and at most 2 × `capacity` entries are held.
 */
class SsrcTable<T> {
  readonly capacity: number;
  recent = new Map<number, T>();
  older = new Map<number, T>();

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Records a use of `ssrc` that is not in `recent`: `entry` is its (new or older) state, returned. */
  keep(ssrc: number, entry: T): T {
    this.older.delete(ssrc);
    if (this.recent.size >= this.capacity) {
      this.older = this.recent;
      this.recent = new Map();
    }
    this.recent.set(ssrc, entry);
    return entry;
  }
}
