// The bridge's native media path (salon_media.cc, built by `npm install`): SRTP/SRTCP transforms
// over long-lived OpenSSL contexts, the media socket read with recvmmsg, and batched UDP sends
// (sendmmsg). The TypeScript path (bridge/transport/srtp-cipher.ts, Node's dgram) does the same
// work and stays the fallback:
// `media.native` (SALON_BRIDGE_NATIVE) chooses — `auto` (default: native when it was built),
// `on` (refuse to start without it), `off`.

import { createRequire } from 'node:module';
import { constants } from 'node:os';
import type { Socket } from 'node:dgram';
import { addressKey, type RemoteAddress } from '../transport/udp-mux.ts';
import { isRtcp } from '../rtp/rtcp.ts';
import {
  deriveSessionKey, SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80, type SrtpCipherProfile, type SrtpTransform,
} from '../transport/srtp-cipher.ts';

export type NativeMode = 'auto' | 'on' | 'off';

/**
 * One direction's SRTP/SRTCP in C++ (salon_media.cc `SrtpTransform`); -1 for anything refused. The
 * per-packet calls (NativeMedia.decryptRtp, .queueRtp) name it by `handle`.
 */
export interface NativeSrtpTransform {
  readonly handle: number;
  encryptRtp(packet: Uint8Array, headerLength: number, roc: number, out: Uint8Array): number;
  /** encryptRtp with the header length read from the packet and the rollover counter the transform keeps per SSRC (salon_media.cc SrtpTransform::ProtectRtp). */
  protectRtp(packet: Uint8Array, out: Uint8Array): number;
  encryptRtcp(packet: Uint8Array, index: number, out: Uint8Array): number;
  /** Authenticates (and decrypts) in place; the RTCP length, or -1. */
  decryptRtcp(packet: Uint8Array): number;
  /**
   * From now on the media socket's read notes every RTP packet this transform unprotects in these
   * arrays (salon_media.cc ReceiveLogMemory; bridge/rtp/receive-log.ts reads them), with the
   * transport-wide sequence number read from extension `transportCcExtensionId` (0: none). The
   * same arrays at every call.
   */
  receiveLog(transportCcExtensionId: number): NativeReceiveLogArrays;
  /**
   * The header extensions the read's own forwarding uses (setRoute): the transport-wide sequence
   * number's id (a packet without it is handed to JavaScript), the audio level's (0: none), and the
   * ids it blanks, a 256-bit set (32 bytes). False for ids out of range or a set of another size.
   */
  setRouting(transportCcExtensionId: number, audioLevelExtensionId: number, blanked: Uint8Array, vp8PayloadTypes?: Uint8Array): boolean;
  /**
   * What this transform unprotects and logs of video layer `ssrc` goes from now on straight from
   * the read to the receivers of `params` (salon_media.cc SetVideoRoute), re-stamped; none (a
   * params of [next, 0]): only noted in the ring; an empty array: no more. Returns the route's
   * ring, true (changed, its ring the one handed out before) or false (refused).
   */
  setVideoRoute(ssrc: number, params: Float64Array): NativeVideoRing | number | boolean;
  /**
   * What this transform unprotects from `ssrc` and logs (receiveLog) goes from now on straight from
   * the read to those send targets (NativeSendTarget handles), never to JavaScript; none: to
   * JavaScript again. False when refused (too many routes or targets).
   */
  setRoute(ssrc: number, targets: Float64Array): boolean;
  /** [copies, RTP bytes, delay ns summed, packets, longest delay ns] the read forwarded since the last call. */
  takeForwarded(): Float64Array;
}

/**
 * Where the media socket's read forwards packets to one endpoint (salon_media.cc `SendTarget`):
 * the sending transform, batch and address of its session, set by the endpoint.
 */
export interface NativeSendTarget {
  readonly handle: number;
  /** False (and cleared) for an address that is not a sockaddr. */
  set(transform: number, batch: number, address: Buffer): boolean;
  clear(): void;
  log(): NativeSendLogArrays;
}

/** A send target's log (salon_media.cc SendLogMemory). */
export interface NativeSendLogArrays {
  /** Per record: its send time, ms on the monotonic clock. */
  readonly times: Float64Array;
  /** Per record, SEND_LOG_FIELDS of them: transport-wide sequence number, RTP length. */
  readonly fields: Int32Array;
  /** [0]: the next transport-wide sequence number of the endpoint's transport; [1]: records waiting (the reader sets it back to 0); [2]: records not kept. */
  readonly state: Int32Array;
  /** [0]: datagrams queued; [1]: their bytes; [2]: packets not sent (no session set, or refused). */
  readonly counters: Float64Array;
}

/** Fields per record of a send log. */
export const SEND_LOG_FIELDS = 2;

/** A video route's ring (salon_media.cc VideoRing): what the read forwarded, for the projection to take in. */
export interface NativeVideoRing {
  /** Per packet, in the slot its sequence number's low 8 bits name, 8 numbers: sequence number, timestamp, PictureID (-1), its bits, TL0PICIDX (-1), marker, length, arrival (monotonic ms). */
  readonly meta: Float64Array;
  /** Per packet, a 1,500-byte slot (the same): its bytes as they came, extensions blanked. */
  readonly bytes: Uint8Array;
  /** [0]: packets waiting (the reader sets it back to 0); [1]: set by the endpoint once the route is gone; [2]: the sequence number the read takes next; [3]: the first waiting packet's. */
  readonly state: Int32Array;
}

/** A transform's receive log (salon_media.cc ReceiveLogMemory). */
export interface NativeReceiveLogArrays {
  /** Per record: its arrival, ms on the monotonic clock (NativeMedia.monotonicMs). */
  readonly arrivals: Float64Array;
  /**
   * Per record, RECEIVE_LOG_FIELDS of them: transport-wide sequence number or -1, SSRC, sequence
   * number, RTP timestamp, payload type, length; and NOT_FORWARDED for a packet handed on to
   * JavaScript, else the read forwarded it (NativeSrtpTransform.setRoute): its audio level octet,
   * -1 without one.
   */
  readonly fields: Int32Array;
  /** [0]: records waiting (the reader sets it back to 0); [1]: records not kept, the log being full. */
  readonly state: Int32Array;
}

/** Fields per record of a receive log. */
export const RECEIVE_LOG_FIELDS = 7;
/** A receive log record's last field for a packet JavaScript was handed. */
export const NOT_FORWARDED = -2;

/** What the kernel took from a batch (salon_media.cc UdpBatch::Sent). */
export interface BatchSent {
  datagrams: number;
  /** sendmmsg entries: a UDP GSO message carries several datagrams of one length to one peer. */
  messages: number;
  /** Datagrams sent as segments of a UDP GSO message. */
  segmented: number;
  /** UDP GSO messages the kernel refused (their datagrams then went one by one). */
  refused: number;
}

/** Outgoing datagrams written together by one sendmmsg (salon_media.cc `UdpBatch`); NativeMedia.queueRtp names it by `handle`. */
interface NativeUdpBatch {
  readonly handle: number;
  queue(datagram: Uint8Array, address: Buffer): number;
  /** Sends what is queued; the number of datagrams the kernel refused since the last flush. */
  flush(): number;
  readonly pending: number;
  /** errno of the last refused datagram. */
  readonly lastError: number;
  /** Whether equal-length datagrams to one peer still go out as one UDP GSO message (absent from builds before it). */
  readonly segmentation?: boolean;
  /** What the kernel took: datagrams, in how many messages, of which how many as segments of a GSO message (absent from builds before it). */
  readonly sent?: BatchSent;
}

/** The media socket (salon_media.cc `UdpSocket`), bound at construction. */
interface NativeUdpSocket {
  /**
   * Reads from now on: `onDatagrams` per recvmmsg that leaves datagrams for JavaScript, datagram i
   * being metadata[2i] bytes from peer metadata[2i + 1], end to end in `bytes` (which holds only them).
   */
  start(onDatagrams: (bytes: ArrayBuffer, count: number, generation: number) => void): void;
  /** 0, or the errno the kernel refused the datagram with. */
  sendTo(datagram: Uint8Array, address: Buffer): number;
  /** [host, port] of a peer id of the current generation. */
  peer(id: number): [string, number] | undefined;
  /** From now on, SRTP from that peer (a sockaddr, encodeAddress) is unprotected as it is read by that transform (handle); 0 stops it. */
  setReceiver(address: Buffer, transform: number): boolean;
  /** Per datagram of a call: its unprotectRtp result when the read unprotected it, else -1. */
  readonly unprotected: Int32Array;
  /** Per datagram of a call: the handle of the transform that unprotected it, else 0. */
  readonly unprotectedBy: Float64Array;
  /** Whether the read notes what it unprotects in the transforms' receive logs (default on). */
  setReceiveLogging(on: boolean): void;
  close(): void;
  readonly fd: number;
  readonly port: number;
  readonly address: string | undefined;
  readonly metadata: Int32Array;
  /**
   * Kernel arrival times (ms, realtime) of the datagrams of a call; [capacity]: the one being
   * handled, negated when it is not RTP (what is sent meanwhile is a response); [capacity + 1]:
   * when the call's recvmmsg returned (absent from builds before it).
   */
  readonly arrivals: Float64Array;
  /** Forwarded copies a batch on this socket sent (RTP, while RTP was handled), by wire-to-wire delay in 50 µs buckets up to 100 ms, then the delays' sum (ms). */
  delays(): Float64Array;
  /** Datagrams read, by delay from the kernel's arrival to the recvmmsg returning them, in the same buckets. */
  readDelays(): Float64Array;
  /** Datagrams a batch sent in answer to one that is not RTP, or as RTCP, by delay from that datagram's arrival, in the same buckets. */
  responseDelays(): Float64Array;
  readonly recvBufferSize: number;
  readonly sendBufferSize: number;
  readonly counters: MediaSocketCounters;
}

/** A histogram of delays (NativeMediaSocket.wireDelays, .readDelays, .responseDelays). */
export interface WireDelays {
  bucketMs: number;
  /** counts[i]: datagrams with a delay in [i, i + 1) × bucketMs; the last one holds everything later. */
  counts: Float64Array;
  sumMs: number;
}

export interface MediaSocketCounters {
  /** Datagrams received and handed on. */
  datagrams: number;
  /** Dropped for being longer than a receive slot. */
  truncated: number;
  /** Failed reads, and the errno of the last. */
  errors: number;
  lastError: number;
  /** SRTP datagrams the read unprotected (bindReceiver), whatever the outcome. */
  unprotected?: number;
  /** Datagrams the read forwarded itself (NativeSrtpTransform.setRoute), not handed on. */
  forwarded?: number;
  /** Datagrams the media socket's batch sent, in how many messages (sendmmsg entries), and how many of them as segments of a UDP GSO message. */
  sent?: BatchSent;
}

export interface NativeMedia {
  SrtpTransform: new (
    profile: number, rtpKey: Buffer, rtpSalt: Buffer, rtpAuthKey: Buffer, rtcpKey: Buffer, rtcpSalt: Buffer, rtcpAuthKey: Buffer,
  ) => NativeSrtpTransform;
  /** limitLifetimeMs: how long a peer's path limit on UDP GSO segments lasts from its last refusal (default 10 minutes). */
  UdpBatch: new (fd: number, capacity: number, slotBytes: number, socket?: NativeUdpSocket, segmentation?: boolean, limitLifetimeMs?: number) => NativeUdpBatch;
  UdpSocket: new (host: string, port: number, bufferBytes: number, capacity: number, slotBytes: number, maxPeers: number) => NativeUdpSocket;
  SendTarget: new () => NativeSendTarget;
  /** Decrypts in place with the transform of that handle; the RTP length, or -1 (tag, lengths, no such transform). */
  decryptRtp(transform: number, packet: Uint8Array, headerLength: number, roc: number): number;
  /**
   * Replay-checks (the transform's own per-SSRC windows), authenticates and decrypts in place; the
   * RTP length, or an UNPROTECT_* failure; -1 for a wrong call (no such transform).
   */
  unprotectRtp(transform: number, packet: Uint8Array): number;
  /**
   * Protects into the batch of that handle, as NativeSrtpTransform.protectRtp, and queues the
   * datagram `copies` times (default 1, at most 8); the SRTP length, or -1 (then nothing was queued).
   */
  queueRtp(batch: number, transform: number, packet: Uint8Array, address: Buffer, copies?: number): number;
  /** A sockaddr_in / sockaddr_in6 for sendmmsg; undefined if `host` is not an IP address. */
  encodeAddress(host: string, port: number): Buffer | undefined;
  /** The OpenSSL the addon runs on (Node's own). */
  openssl: string;
  /** Indices remembered per SSRC sent, none protected twice (salon_media.cc SentWindow). */
  sentWindow: number;
  /** The monotonic clock (uv_hrtime's, which performance.now() counts from its origin), in ms. */
  monotonicMs(): number;
  /** Records a receive log holds (NativeSrtpTransform.receiveLog). */
  receiveLogRecords: number;
  /** Records a send log holds (NativeSendTarget.log). */
  sendLogRecords: number;
}

/**
 * Why the addon's unprotectRtp (or the media socket's read) refused an SRTP packet
 * (salon_media.cc kUnprotect*): not RTP, or its header longer than the packet; replayed, or too old
 * for its stream's window; not authentic.
 */
export const UNPROTECT_MALFORMED = -2;
export const UNPROTECT_REPLAY = -3;
export const UNPROTECT_AUTH = -4;

let loaded: { native: NativeMedia | undefined; error: string | undefined } | undefined;

/**
 * What a build of the addon lacks that this code calls: a build older than the sources (a pull
 * without npm install) is used as absent rather than failing later, e.g. on every scrape of /metrics.
 */
export function missingFromBuild(native: Partial<NativeMedia>): string[] {
  const missing: string[] = (['SrtpTransform', 'UdpBatch', 'UdpSocket', 'encodeAddress', 'decryptRtp', 'queueRtp', 'unprotectRtp'] as const).filter((name) => typeof native[name] !== 'function');
  // Methods added to a class since its first build.
  for (const method of ['readDelays', 'setReceiver', 'responseDelays'] as const) {
    if (native.UdpSocket && typeof (native.UdpSocket.prototype as Partial<NativeUdpSocket>)[method] !== 'function') missing.push(`UdpSocket.${method}`);
  }
  if (native.UdpSocket && !('unprotectedBy' in native.UdpSocket.prototype)) missing.push('UdpSocket.unprotectedBy');
  if (native.UdpSocket && typeof (native.UdpSocket.prototype as Partial<NativeUdpSocket>).setReceiveLogging !== 'function') missing.push('UdpSocket.setReceiveLogging');
  // Its queueRtp took the header length and the ROC from JavaScript then.
  if (native.SrtpTransform && typeof (native.SrtpTransform.prototype as Partial<NativeSrtpTransform>).protectRtp !== 'function') missing.push('SrtpTransform.protectRtp');
  // It protected an index as often as asked, and queued one copy per call.
  if (typeof native.sentWindow !== 'number') missing.push('sentWindow');
  // Every RTP packet's receive-side facts went to JavaScript one by one.
  if (typeof native.monotonicMs !== 'function') missing.push('monotonicMs');
  if (native.SrtpTransform && typeof (native.SrtpTransform.prototype as Partial<NativeSrtpTransform>).receiveLog !== 'function') missing.push('SrtpTransform.receiveLog');
  // Its receive log had six fields, and its read forwarded nothing itself.
  if (typeof native.SendTarget !== 'function') missing.push('SendTarget');
  return missing;
}

/** The addon, loaded once; undefined (with the reason) when it was not built or does not load. */
export function nativeMedia(): { native: NativeMedia | undefined; error: string | undefined } {
  if (!loaded) {
    try {
      const require = createRequire(import.meta.url);
      const native = require('./build/Release/salon_media.node') as Partial<NativeMedia>;
      const missing = missingFromBuild(native);
      loaded = missing.length === 0
        ? { native: native as NativeMedia, error: undefined }
        : { native: undefined, error: `the native media path was built from older sources (no ${missing.join(', ')}): run npm install` };
    } catch (error) {
      loaded = { native: undefined, error: error instanceof Error ? error.message.split('\n')[0] : String(error) };
    }
  }
  return loaded;
}

/**
 * The native path for `mode`: undefined for `off`, or for `auto` when it is missing.
 * @throws for `on` when it is missing, with the reason.
 */
export function selectNativeMedia(mode: NativeMode): NativeMedia | undefined {
  if (mode === 'off') return undefined;
  const { native, error } = nativeMedia();
  if (!native && mode === 'on') {
    throw new Error(`media.native is "on" but the native media path did not load (${error ?? 'unknown'}); run npm install with a C++ compiler, or set SALON_BRIDGE_NATIVE=auto`);
  }
  return native;
}

const SESSION_KEY = 16;
const SESSION_SALT = 14;
const GCM_SALT = 12;
const AUTH_KEY = 20;
const LABELS = { rtpKey: 0, rtpAuth: 1, rtpSalt: 2, rtcpKey: 3, rtcpAuth: 4, rtcpSalt: 5 } as const;

/** srtp-cipher.ts's SrtpTransform done by the addon: same session keys, same bytes out. */
export class NativeTransform implements SrtpTransform {
  readonly profile: SrtpCipherProfile;
  readonly rtpOverhead: number;
  readonly rtcpOverhead: number;
  readonly srtcpTrailer: number;
  /** The addon's object; its handle names it in the per-packet calls (UdpSendBatch.queueRtp too). */
  readonly native: NativeSrtpTransform;
  /** The native object's handle. */
  readonly handle: number;
  readonly #addon: NativeMedia;

  constructor(addon: NativeMedia, profile: SrtpCipherProfile, masterKey: Buffer, masterSalt: Buffer) {
    const gcm = profile === SRTP_AEAD_AES_128_GCM;
    if (!gcm && profile !== SRTP_AES128_CM_HMAC_SHA1_80) throw new Error(`unsupported SRTP protection profile ${String(profile)}`);
    const key = (label: number, length: number): Buffer => deriveSessionKey(masterKey, masterSalt, label, length);
    const salt = gcm ? GCM_SALT : SESSION_SALT;
    const auth = gcm ? 0 : AUTH_KEY;
    this.native = new addon.SrtpTransform(
      profile,
      key(LABELS.rtpKey, SESSION_KEY), key(LABELS.rtpSalt, salt), key(LABELS.rtpAuth, auth),
      key(LABELS.rtcpKey, SESSION_KEY), key(LABELS.rtcpSalt, salt), key(LABELS.rtcpAuth, auth),
    );
    this.#addon = addon;
    this.handle = this.native.handle;
    this.profile = profile;
    this.rtpOverhead = gcm ? 16 : 10;
    this.rtcpOverhead = this.rtpOverhead + 4;
    this.srtcpTrailer = gcm ? 0 : 10;
  }

  /** Undefined when the addon refuses the packet (it checks every length; SrtpProtection has already). */
  encryptRtp(packet: Buffer, headerLength: number, roc: number): Buffer | undefined {
    const out = Buffer.allocUnsafe(packet.length + this.rtpOverhead);
    const length = this.native.encryptRtp(packet, headerLength, roc >>> 0, out);
    return length < 0 ? undefined : out.subarray(0, length);
  }

  /**
   * An RTP packet protected with the rollover counter this transform keeps for its SSRC (the one
   * UdpSendBatch.queueRtp uses too); undefined when it is not RTP.
   */
  protectRtp(packet: Buffer): Buffer | undefined {
    const out = Buffer.allocUnsafe(packet.length + this.rtpOverhead);
    const length = this.native.protectRtp(packet, out);
    return length < 0 ? undefined : out.subarray(0, length);
  }

  /**
   * Decrypts in place: the caller gives `packet` up. With GCM the bytes are overwritten before the
   * tag is checked, so a packet that fails is left garbled (it is dropped anyway).
   */
  decryptRtp(packet: Buffer, headerLength: number, roc: number): Buffer | undefined {
    const length = this.#addon.decryptRtp(this.handle, packet, headerLength, roc >>> 0);
    return length < 0 ? undefined : packet.subarray(0, length);
  }

  /**
   * Replay-checks, authenticates and decrypts in place with the transform's own per-SSRC state
   * (the state the media socket's read uses too, NativeMediaSocket.bindReceiver): the RTP length,
   * or an UNPROTECT_* failure.
   */
  unprotectRtp(packet: Buffer): number {
    const length = this.#addon.unprotectRtp(this.handle, packet);
    return length === -1 ? UNPROTECT_MALFORMED : length;
  }

  encryptRtcp(packet: Buffer, index: number): Buffer | undefined {
    const out = Buffer.allocUnsafe(packet.length + this.rtcpOverhead);
    const length = this.native.encryptRtcp(packet, index, out);
    return length < 0 ? undefined : out.subarray(0, length);
  }

  decryptRtcp(packet: Buffer): Buffer | undefined {
    const length = this.native.decryptRtcp(packet);
    return length < 0 ? undefined : packet.subarray(0, length);
  }

  /** The media socket's read notes what this transform unprotects from now on: NativeSrtpTransform.receiveLog. */
  receiveLog(transportCcExtensionId: number): NativeReceiveLogArrays {
    return this.native.receiveLog(transportCcExtensionId);
  }

  /** What to subtract from a monotonic time (a receive log's arrivals) to have it on performance.now()'s clock. */
  monotonicOffset(): number {
    return this.#addon.monotonicMs() - performance.now();
  }

  /** NativeSrtpTransform.setRouting. */
  setRouting(transportCcExtensionId: number, audioLevelExtensionId: number, blanked: Uint8Array, vp8PayloadTypes?: Uint8Array): boolean {
    return this.native.setRouting(transportCcExtensionId, audioLevelExtensionId, blanked, vp8PayloadTypes);
  }

  /**
   * NativeSrtpTransform.setVideoRoute: the ring when made, true when the route changed (its ring
   * the one handed out before), or undefined (no route, or refused). Its
   * ring's arrivals are on the monotonic clock; they are put on performance.now()'s here as the
   * receive log's are (bridge/transport/receive-log.ts), by the reader.
   */
  setVideoRoute(ssrc: number, params: Float64Array): NativeVideoRing | true | undefined {
    const ring = this.native.setVideoRoute(ssrc >>> 0, params);
    return typeof ring === 'object' || ring === true ? ring : undefined;
  }

  /** NativeSrtpTransform.setRoute. */
  setRoute(ssrc: number, targets: Float64Array): boolean {
    return this.native.setRoute(ssrc >>> 0, targets);
  }

  /** NativeSrtpTransform.takeForwarded. */
  takeForwarded(): Float64Array {
    return this.native.takeForwarded();
  }
}

/**
 * Where the media socket's read forwards packets to one endpoint (NativeSendTarget), kept by the
 * endpoint to its session's sending transform and selected address, and the log of what it sent
 * there, read by the endpoint's bandwidth estimation (bridge/bwe/send-log.ts).
 */
export class SendTarget {
  readonly #target: NativeSendTarget;
  readonly #addon: NativeMedia;
  /** The log's arrays (NativeSendTarget.log). */
  readonly log: NativeSendLogArrays;

  constructor(addon: NativeMedia) {
    this.#addon = addon;
    this.#target = new addon.SendTarget();
    this.log = this.#target.log();
  }

  get handle(): number {
    return this.#target.handle;
  }

  /** Sends from now on with `transform` through `batch` to `to`; false (and cleared) when `to` is not an IP address. */
  set(transform: NativeTransform, batch: UdpSendBatch, to: RemoteAddress): boolean {
    const address = batch.address(to);
    if (!address) {
      this.#target.clear();
      return false;
    }
    return this.#target.set(transform.handle, batch.handle, address);
  }

  /** Takes nothing from now on (what is routed to it is dropped and counted). */
  clear(): void {
    this.#target.clear();
  }

  /** What to subtract from a monotonic time (the log's send times) to have it on performance.now()'s clock. */
  monotonicOffset(): number {
    return this.#addon.monotonicMs() - performance.now();
  }
}

/** Datagrams per sendmmsg at most; a fuller batch is sent at once. */
const BATCH_CAPACITY = 64;
/** Room per datagram: a 1 500-byte MTU's packet and its SRTP tag. */
const SLOT_BYTES = 1_600;

/**
 * The media socket's batch: packets queued during one turn of the event loop go out together in
 * one sendmmsg at its end (setImmediate: after the poll phase, in which libuv reads every datagram
 * ready on the socket, up to 32 at a time, and Node hands each to the bridge), or as soon as
 * BATCH_CAPACITY are queued. So the copies of all the packets that arrived together share a
 * system call: in a room of three, where one packet makes two copies, flushing per incoming
 * packet cost a system call for every two datagrams. What waits is only the handling of the
 * datagrams that were already there. Within a batch, a video frame's packets to one receiver leave
 * as one UDP GSO message (salon_media.cc UdpBatch::SendAll; `segmentation`, default on). RTCP is queued too, already protected (`queue`).
 * What goes out through dgram instead (DTLS, STUN, everything on impaired links, a datagram
 * longer than a slot) may so leave before what was queued earlier in the same turn: harmless, as
 * those do not depend on the order of media.
 * Owned by the MediaTransport; after close() nothing is queued.
 */
export class UdpSendBatch {
  readonly #batch: NativeUdpBatch;
  readonly #handle: number;
  readonly #addon: NativeMedia;
  readonly #addresses = new WeakMap<RemoteAddress, Buffer>();
  readonly #onRefused: (count: number, errno: number) => void;
  #scheduled = false;
  #closed = false;
  /** For a batch on a dgram socket's descriptor: whether that socket still holds it (after its close the number may name another file). */
  readonly #holdsDescriptor: (() => boolean) | undefined;
  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#closed) return;
    if (this.#holdsDescriptor && !this.#holdsDescriptor()) {
      this.#closed = true; // what is queued is dropped: sent now, it would go out through whatever reuses the number
      return;
    }
    const refused = this.#batch.flush();
    if (refused > 0) this.#onRefused(refused, this.#batch.lastError);
  };

  private constructor(
    addon: NativeMedia, fd: number, onRefused: (count: number, errno: number) => void,
    options: { socket?: NativeUdpSocket; segmentation: boolean; holdsDescriptor?: () => boolean; limitLifetimeMs?: number },
  ) {
    this.#addon = addon;
    this.#holdsDescriptor = options.holdsDescriptor;
    this.#batch = new addon.UdpBatch(fd, BATCH_CAPACITY, SLOT_BYTES, options.socket, options.segmentation, options.limitLifetimeMs);
    this.#handle = this.#batch.handle;
    this.#onRefused = onRefused;
  }

  /**
   * A batch writing on `socket`'s descriptor, or undefined when it cannot be had. Node gives a
   * dgram socket's descriptor only through its internal handle (the public `_handle` getter is
   * deprecated and warns): it is read from the socket's state, and a Node without it keeps dgram.
   * `limitLifetimeMs`: how long a peer's path limit on UDP GSO segments lasts (default 10 minutes; tests shorten it).
   */
  static forSocket(addon: NativeMedia, socket: Socket, onRefused: (count: number, errno: number) => void, segmentation = true, limitLifetimeMs?: number): UdpSendBatch | undefined {
    const stateKey = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'state symbol');
    const state = stateKey ? (socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[stateKey] : undefined;
    const fd = state?.handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return undefined;
    // dgram drops its handle as soon as close() is called, and libuv closes the descriptor there and then.
    const handle = state!.handle;
    return new UdpSendBatch(addon, fd, onRefused, { segmentation, holdsDescriptor: () => state!.handle === handle, limitLifetimeMs });
  }

  /** The batch of a NativeMediaSocket, closed before it (NativeMediaSocket.sendBatch). */
  static forMediaSocket(addon: NativeMedia, socket: NativeUdpSocket, onRefused: (count: number, errno: number) => void, segmentation = true): UdpSendBatch {
    return new UdpSendBatch(addon, socket.fd, onRefused, { socket, segmentation });
  }

  /** Whether equal-length datagrams to one peer go out as one UDP GSO message (salon_media.cc UdpBatch::SendAll): false when off, or once the kernel said it cannot. */
  get segmentation(): boolean {
    return this.#batch.segmentation ?? false;
  }

  /** The native batch's handle (NativeSendTarget.set). */
  get handle(): number {
    return this.#handle;
  }

  /** `to` as the sockaddr the batch sends to; undefined when it is not an IP address. */
  address(to: RemoteAddress): Buffer | undefined {
    return this.#address(to);
  }

  /** What the kernel took from this batch (zeros from a build before the counts). */
  get sent(): BatchSent {
    return this.#batch.sent ?? { datagrams: 0, messages: 0, segmented: 0, refused: 0 };
  }

  /**
   * SRTP-protects `packet` into the batch (NativeTransform.protectRtp), `copies` times the same
   * datagram; its length, or -1 when it was not queued (send it another way).
   */
  queueRtp(transform: NativeTransform, packet: Buffer, to: RemoteAddress, copies = 1): number {
    if (this.#closed) return -1;
    const address = this.#address(to);
    if (!address) return -1;
    const length = this.#addon.queueRtp(this.#handle, transform.handle, packet, address, copies);
    if (length >= 0) this.#schedule();
    return length;
  }

  /** Queues an already protected datagram; its length, or -1. */
  queue(datagram: Buffer, to: RemoteAddress): number {
    if (this.#closed) return -1;
    const address = this.#address(to);
    if (!address) return -1;
    const length = this.#batch.queue(datagram, address);
    if (length >= 0) this.#schedule();
    return length;
  }

  /** Sends what is queued now, if anything is, rather than at the end of the event loop's turn. */
  sendQueued(): void {
    if (this.#scheduled) this.#flush();
  }

  /** Sends what is queued now (before the socket closes). */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  #address(to: RemoteAddress): Buffer | undefined {
    return encodedAddress(this.#addon, this.#addresses, to);
  }
}

/** `to` as a sockaddr, encoded once per address object (the media socket gives one object per peer). */
function encodedAddress(addon: NativeMedia, cache: WeakMap<RemoteAddress, Buffer>, to: RemoteAddress): Buffer | undefined {
  let address = cache.get(to);
  if (!address) {
    address = addon.encodeAddress(to.host, to.port);
    if (!address) return undefined;
    cache.set(to, address);
  }
  return address;
}

/** Datagrams per recvmmsg at most. */
const RECEIVE_CAPACITY = 64;
/**
 * JavaScript's time with the datagrams of one read (ms) before the rest of them wait for the
 * event loop's next turn (NativeMediaSocket's backlog): RTCP, DTLS, STUN and whatever the read
 * did not unprotect, not the RTP it did (see #onDatagrams). A datagram is cheap, but a read of 64 can
 * hold many receivers' transport-cc feedback (about 0.1 ms each in a room of 50) and sender
 * reports (0.35 ms: a copy to each endpoint): in 1x50(lastN20) about one read a second ran 4 to
 * 15 ms, while every datagram behind it waited unread in the socket, media the addon forwards
 * at once included, and what the read had forwarded waited to be sent.
 */
export const READ_BUDGET_MS = 0.25;
/**
 * Datagrams that may so wait. Past it JavaScript is not keeping up with the socket at all: the
 * next read first hands on the whole backlog, however long that takes (the delay is the lesser
 * harm than a backlog growing without bound).
 */
export const READ_BACKLOG_LIMIT = 4_096;
/**
 * How long (ms) a datagram may wait so: a slice that finds an older one at the head goes on past
 * its budget until the head is younger. Feedback (NACK, transport-cc, PLI) a few tens of ms late
 * is worth little; under a load JavaScript barely keeps up with, the backlog so stays short.
 */
export const READ_BACKLOG_MAX_WAIT_MS = 10;
/**
 * Room per received datagram. Media and STUN are far smaller; a DTLS flight is cut to the path
 * MTU by its sender. A longer datagram is dropped and counted (`counters.truncated`): nothing the
 * bridge speaks needs it, and a 64 KiB slot per datagram (dgram's) is what made receiving dear.
 */
export const RECEIVE_SLOT_BYTES = 4_096;
/** Width of the delay buckets (salon_media.cc DelayHistogram::kBucketsPerMs). */
const WIRE_DELAY_BUCKET_MS = 0.05;
/** A datagram's wait in the socket beyond which its kernel timestamp is taken for a realtime clock step. */
const MAX_SOCKET_WAIT_MS = 1_000;
/** What the media socket's read did with an SRTP datagram it unprotected (NativeMediaSocket.bindReceiver). */
export interface UnprotectedRead {
  /** The RTP length (the datagram handed on is then the plaintext packet), or an UNPROTECT_* failure (then the datagram, perhaps garbled). */
  outcome: number;
  /**
   * The handle of the transform that did it: the one bound to the source address when the read
   * ran, which is not always that of the endpoint the datagram reaches (one read unprotects up to
   * 64 datagrams before JavaScript sees the first; a test impairment delays them).
   */
  transform: number;
  /** The datagram's length on the wire (its SRTP tag follows the plaintext). */
  wireLength: number;
  /**
   * The read noted the packet in the transform's receive log (NativeSrtpTransform.receiveLog):
   * its receive-side facts are to be read from there, not from the packet.
   */
  logged: boolean;
}

/**
 * One datagram read from the media socket. `unprotected`: set when the read unprotected it; one
 * object rewritten for every datagram (copy what is kept past the call). Undefined for a datagram
 * handed on as it came.
 */
export type MediaDatagramHandler = (data: Buffer, from: RemoteAddress, arrival: number | undefined, unprotected?: UnprotectedRead) => void;

/**
 * A datagram the media socket read and hands on later (NativeMediaSocket's backlog): one the read
 * did not unprotect (only those wait), a copy of its bytes (a view would hold its read's whole
 * buffer), when its read was handed on (`readAt`, for READ_BACKLOG_MAX_WAIT_MS).
 */
interface WaitingDatagram {
  data: Buffer;
  from: RemoteAddress;
  arrival: number | undefined;
  kernelArrival: number;
  readAt: number;
}

/** RTP (RFC 7983 §7: first byte 128–191; RFC 5761 §4: not RTCP), SRTP or not: what the bridge forwards. */
function isRtp(data: Uint8Array): boolean {
  const first = data[0] ?? 0;
  return first >= 128 && first < 192 && !isRtcp(data);
}

/** Source addresses remembered at once (see salon_media.cc `PeerTable`). */
const MAX_PEERS = 65_536;

/**
 * The bridge's media socket on the native path, in place of a dgram socket: the addon reads it
 * with recvmmsg (up to 64 datagrams per system call, copied end to end into one ArrayBuffer, of
 * which each datagram gets a Buffer view: it may be kept) and sends with sendto or, for SRTP, a
 * UdpSendBatch on its descriptor. A source address is one RemoteAddress object for as long as the
 * addon's peer table remembers it, so that a datagram costs no address string.
 */
export class NativeMediaSocket {
  readonly #addon: NativeMedia;
  readonly #socket: NativeUdpSocket;
  readonly #metadata: Int32Array;
  readonly #arrivals: Float64Array;
  readonly #unprotected: Int32Array;
  readonly #unprotectedBy: Float64Array;
  /** Handed on with each datagram the read unprotected (MediaDatagramHandler). */
  readonly #read: UnprotectedRead = { outcome: 0, transform: 0, wireLength: 0, logged: false };
  readonly #addresses = new WeakMap<RemoteAddress, Buffer>();
  #peers: (RemoteAddress | undefined)[] = [];
  #generation = 0;
  #handler: MediaDatagramHandler | undefined;
  /** Datagrams whose peer id the addon could not name (never expected: ids come from the same read's generation). */
  unknownPeers = 0;
  #batch: UdpSendBatch | undefined;
  #closed = false;
  /**
   * Datagrams read but not yet handed on, in the order they came: the rest of a read once
   * READ_BUDGET_MS was spent on it, and every later read's while any wait (all but the RTP the
   * read unprotected, which is handed on at once, in the order of the read). Handed on in the check
   * phase (setImmediate), READ_BUDGET_MS at a time (longer for a head older than
   * READ_BACKLOG_MAX_WAIT_MS): the first slice right after the read returned and the addon sent
   * what it forwarded, the next ones after the event loop polled again.
   */
  #backlog: WaitingDatagram[] = [];
  #backlogHead = 0;
  #backlogImmediate: NodeJS.Immediate | undefined;
  /**
   * A receiver was bound or unbound (bindReceiver): what waits, or comes to wait, is all handed on
   * in the next slice, before the next read, which may unprotect (and the addon forward) later
   * SRTP of the same peer that must not pass the SRTP of it still waiting.
   */
  #drainBacklog = false;
  /** A read's or a slice's datagrams are being handed on. */
  #handing = false;
  readonly #budgetMs: number;
  readonly #backlogLimit: number;
  readonly #maxWaitMs: number;

  /**
   * `read`: READ_BUDGET_MS, READ_BACKLOG_LIMIT and READ_BACKLOG_MAX_WAIT_MS, unless given (tests).
   * @throws a system error (code EADDRINUSE, …) when the address cannot be bound
   */
  constructor(
    addon: NativeMedia, host: string, port: number, bufferBytes: number, maxPeers = MAX_PEERS,
    read: { budgetMs?: number; backlogLimit?: number; maxWaitMs?: number } = {},
  ) {
    this.#budgetMs = read.budgetMs ?? READ_BUDGET_MS;
    this.#backlogLimit = read.backlogLimit ?? READ_BACKLOG_LIMIT;
    this.#maxWaitMs = read.maxWaitMs ?? READ_BACKLOG_MAX_WAIT_MS;
    this.#addon = addon;
    this.#socket = new addon.UdpSocket(host, port, bufferBytes, RECEIVE_CAPACITY, RECEIVE_SLOT_BYTES, maxPeers);
    this.#metadata = this.#socket.metadata;
    this.#arrivals = this.#socket.arrivals;
    this.#unprotected = this.#socket.unprotected;
    this.#unprotectedBy = this.#socket.unprotectedBy;
  }

  /**
   * The wire-to-wire delay of what the batch sent: counts[i] datagrams left (sendmmsg returned)
   * between i and i + 1 buckets of `bucketMs` after the kernel received the datagram they came
   * from (SO_TIMESTAMPNS); the last bucket holds everything later. Only what was sent while an
   * incoming RTP packet was being handled counts (forwarded copies: RTP, sent while RTP was
   * handled, the read's own forwarding included); timer-driven sends do not, nor responses
   * (responseDelays).
   */
  wireDelays(): WireDelays {
    return delayHistogram(this.#socket.delays());
  }

  /**
   * The delay of what the batch sent in answer to a datagram that is not RTP — retransmissions for
   * a NACK, probing after transport-cc feedback, translated sender reports — and of any RTCP it
   * sent while a datagram was handled, in the same buckets as wireDelays, which does not count
   * them: its figure is the forwarding's. RTCP may wait for media (READ_BUDGET_MS).
   */
  responseDelays(): WireDelays {
    return delayHistogram(this.#socket.responseDelays());
  }

  /**
   * Per datagram read (of any kind), from the kernel receiving it to the recvmmsg that returned it:
   * the wait for the event loop (busy with earlier datagrams, the earlier reads of the same wake-up
   * included, or timers, or the process not running). The wire delay counts forwarded copies
   * instead, so the two are not subtracted; the handling is what the wire delay adds on top.
   */
  readDelays(): WireDelays {
    return delayHistogram(this.#socket.readDelays());
  }

  get port(): number {
    return this.#socket.port;
  }

  /** The bound address, e.g. `0.0.0.0`. */
  get address(): string {
    return this.#socket.address ?? '';
  }

  get recvBufferSize(): number {
    return this.#socket.recvBufferSize;
  }

  get sendBufferSize(): number {
    return this.#socket.sendBufferSize;
  }

  get counters(): MediaSocketCounters {
    return this.#batch ? { ...this.#socket.counters, sent: this.#batch.sent } : this.#socket.counters;
  }

  /**
   * Starts reading: every datagram to `handler`, which must not throw (a throw is an uncaught
   * exception). `arrival` is when the kernel received the datagram, on the process clock
   * (performance.now()): the instant its read is handed on, less how long it waited in the
   * socket. Undefined without a kernel timestamp (a build before it, or a wait outside [0, 1 s]:
   * kernel timestamps are on the realtime clock, which may step).
   */
  receive(handler: MediaDatagramHandler): void {
    this.#handler = handler;
    this.#socket.start(this.#onDatagrams);
  }

  /**
   * From now on, the SRTP that `from` sends is unprotected as it is read, by `transform` (its keys
   * and its replay windows: NativeTransform.unprotectRtp's), and handed on as plaintext with the
   * outcome (MediaDatagramHandler's `unprotected`); undefined stops it. RTCP, DTLS and STUN from
   * it are handed on as they came. False when `from` is not an IP address.
   */
  bindReceiver(from: RemoteAddress, transform: NativeTransform | undefined): boolean {
    if (this.#closed) return false;
    const address = encodedAddress(this.#addon, this.#addresses, from);
    if (address === undefined || !this.#socket.setReceiver(address, transform?.handle ?? 0)) return false;
    // Also while handing on (what the rest of the read or slice leaves waiting came before).
    if (this.waiting > 0 || this.#handing) this.#drainBacklog = true;
    return true;
  }

  /**
   * Whether the read notes the RTP it unprotects in the receiving transforms' receive logs
   * (NativeSrtpTransform.receiveLog), which it does unless told otherwise; off, every packet comes
   * with `logged` false, its facts to be read from it.
   */
  receiveLogging(on: boolean): void {
    if (!this.#closed) this.#socket.setReceiveLogging(on);
  }

  /** The batch on this socket, made at the first call; undefined once closed. */
  sendBatch(onRefused: (count: number, errno: number) => void, segmentation = true): UdpSendBatch | undefined {
    if (this.#closed) return undefined;
    return (this.#batch ??= UdpSendBatch.forMediaSocket(this.#addon, this.#socket, onRefused, segmentation));
  }

  /** Sends one datagram now; 0, or the errno it was refused with (EINVAL for a host that is not an IP). */
  send(data: Buffer, to: RemoteAddress): number {
    if (this.#closed) return EBADF;
    const address = encodedAddress(this.#addon, this.#addresses, to);
    return address ? this.#socket.sendTo(data, address) : EINVAL;
  }

  /** Sends what the batch holds, stops reading and closes the descriptor. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#batch?.close();
    this.#socket.close();
    this.#peers = [];
    this.#backlog = [];
    this.#backlogHead = 0;
    if (this.#backlogImmediate) clearImmediate(this.#backlogImmediate);
    this.#backlogImmediate = undefined;
  }

  /** Datagrams read and waiting to be handed on (READ_BUDGET_MS). */
  get waiting(): number {
    return this.#backlog.length - this.#backlogHead;
  }

  readonly #onDatagrams = (bytes: ArrayBuffer, count: number, generation: number): void => {
    if (generation !== this.#generation) {
      this.#peers = [];
      this.#generation = generation;
    }
    const metadata = this.#metadata;
    const arrivals = this.#arrivals;
    const unprotected = this.#unprotected;
    const unprotectedBy = this.#unprotectedBy;
    // One clock read per recvmmsg: each datagram's arrival is placed from its wait in the socket.
    const handledAt = performance.now();
    const readAt = arrivals.length > RECEIVE_CAPACITY + 1 ? arrivals[RECEIVE_CAPACITY + 1]! : 0;
    let failure: { error: unknown } | undefined;
    this.#handing = true;
    let deadline = handledAt + this.#budgetMs;
    // A backlog this long: all of it now, before this read's datagrams, which then have the budget.
    if (this.waiting >= this.#backlogLimit) {
      failure = this.#handBacklog(Number.POSITIVE_INFINITY);
      deadline = performance.now() + this.#budgetMs;
    }
    let offset = 0;
    for (let i = 0; i < count && !this.#closed; i++) {
      const length = metadata[2 * i]!;
      const id = metadata[2 * i + 1]!;
      const from = this.#peers[id] ?? this.#peer(id);
      // Unprotected in place by the read: the RTP packet is the datagram less its SRTP tag.
      const outcome = unprotected[i]!;
      const data = Buffer.from(bytes, offset, outcome >= 0 ? outcome : length);
      offset += length;
      if (!from) {
        this.unknownPeers++;
        continue;
      }
      const by = unprotectedBy[i]!;
      const kernelArrival = arrivals[i]!;
      const wait = readAt - kernelArrival;
      const arrival = kernelArrival > 0 && wait >= 0 && wait <= MAX_SOCKET_WAIT_MS ? handledAt - wait : undefined;
      // Behind what waits (in order), or past the budget: the first of a read always goes (a
      // handler slower than the budget still makes progress). RTP the read unprotected never
      // waits: the read forwards a stream's next packets itself from the next read on, and they
      // must not pass one JavaScript has (a keyframe, with the switches it brings). Nor does what
      // the read refused (replay, authentication, malformed): the bridge only counts and drops it.
      if (outcome === -1 && (this.waiting > 0 || (i > 0 && performance.now() >= deadline))) {
        this.#wait({ data: Buffer.from(data), from, arrival, kernelArrival, readAt: handledAt });
        continue;
      }
      try {
        this.#hand(data, from, arrival, kernelArrival, outcome, by, length);
      } catch (error) {
        failure ??= { error }; // the rest of the read is still handed on
      }
    }
    arrivals[RECEIVE_CAPACITY] = 0;
    this.#handing = false;
    // As a throwing 'message' listener of a dgram socket: an uncaught exception (the addon raises it).
    if (failure) throw failure.error;
  };

  /** One datagram to the handler, with the facts the read gave it. */
  #hand(data: Buffer, from: RemoteAddress, arrival: number | undefined, kernelArrival: number, outcome: number, by: number, wireLength: number): void {
    let read: UnprotectedRead | undefined;
    if (outcome !== -1) {
      read = this.#read;
      read.outcome = outcome;
      // Negated: noted in the transform's receive log too (salon_media.cc UdpSocket::Unprotect).
      read.transform = by < 0 ? -by : by;
      read.logged = by < 0;
      read.wireLength = wireLength;
    }
    // What the batch sends meanwhile counts its wire delay from this datagram's arrival: as a
    // forwarded copy while RTP is handled, as a response (negated) while anything else is
    // (salon_media.cc current_arrival).
    this.#arrivals[RECEIVE_CAPACITY] = outcome >= 0 || isRtp(data) ? kernelArrival : -kernelArrival;
    this.#handler!(data, from, arrival, read);
  }

  #wait(datagram: WaitingDatagram): void {
    this.#backlog.push(datagram);
    this.#backlogImmediate ??= setImmediate(this.#handWaiting);
  }

  readonly #handWaiting = (): void => {
    this.#backlogImmediate = undefined;
    const failure = this.#handBacklog(performance.now() + this.#budgetMs);
    if (this.waiting > 0 && !this.#closed) this.#backlogImmediate ??= setImmediate(this.#handWaiting);
    // What the handlers queued goes out now, not after the next poll (the batch's own flush,
    // scheduled from this check phase, would wait for the next one).
    this.#batch?.sendQueued();
    if (failure) throw failure.error;
  };

  /**
   * Hands on waiting datagrams until `deadline` (at least one), on past it while the head waited
   * READ_BACKLOG_MAX_WAIT_MS or a receiver was bound meanwhile (#drainBacklog); what a handler
   * threw, after the rest.
   */
  #handBacklog(deadline: number): { error: unknown } | undefined {
    let failure: { error: unknown } | undefined;
    const backlog = this.#backlog;
    const handing = this.#handing; // within a read (the limit)
    this.#handing = true;
    while (this.#backlogHead < backlog.length && !this.#closed) {
      const datagram = backlog[this.#backlogHead]!;
      backlog[this.#backlogHead++] = undefined as unknown as WaitingDatagram; // let it go
      try {
        this.#hand(datagram.data, datagram.from, datagram.arrival, datagram.kernelArrival, -1, 0, datagram.data.length);
      } catch (error) {
        failure ??= { error };
      }
      if (this.#drainBacklog || this.#backlogHead === backlog.length) continue;
      const now = performance.now();
      if (now >= deadline && now - backlog[this.#backlogHead]!.readAt < this.#maxWaitMs) break;
    }
    this.#arrivals[RECEIVE_CAPACITY] = 0;
    this.#handing = handing;
    if (this.#backlogHead === backlog.length) {
      this.#backlog = [];
      this.#backlogHead = 0;
      this.#drainBacklog = false;
    }
    return failure;
  }

  #peer(id: number): RemoteAddress | undefined {
    const peer = this.#socket.peer(id);
    if (!peer) return undefined;
    const [host, port] = peer;
    const address: RemoteAddress = Object.freeze({ host, port, key: addressKey({ host, port }) });
    this.#peers[id] = address;
    return address;
  }
}

const { EBADF, EINVAL } = constants.errno;

/** The addon's buckets-then-sum array as a WireDelays. */
function delayHistogram(delays: Float64Array): WireDelays {
  return { bucketMs: WIRE_DELAY_BUCKET_MS, counts: delays.subarray(0, delays.length - 1), sumMs: delays[delays.length - 1]! };
}
