// The bridge's native media path (salon_media.cc, built by `npm install`): SRTP/SRTCP transforms
// over long-lived OpenSSL contexts and batched UDP sends (sendmmsg). The TypeScript path
// (bridge/transport/srtp-cipher.ts, Node's dgram) does the same work and stays the fallback:
// `media.native` (SALON_BRIDGE_NATIVE) chooses — `auto` (default: native when it was built),
// `on` (refuse to start without it), `off`.

import { createRequire } from 'node:module';
import type { Socket } from 'node:dgram';
import type { RemoteAddress } from '../transport/udp-mux.ts';
import {
  deriveSessionKey, SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80, type SrtpCipherProfile, type SrtpTransform,
} from '../transport/srtp-cipher.ts';

export type NativeMode = 'auto' | 'on' | 'off';

/** One direction's SRTP/SRTCP in C++ (salon_media.cc `SrtpTransform`); -1 for anything refused. */
export interface NativeSrtpTransform {
  encryptRtp(packet: Uint8Array, headerLength: number, roc: number, out: Uint8Array): number;
  /** Decrypts in place; the RTP length, or -1 when the tag does not verify. */
  decryptRtp(packet: Uint8Array, headerLength: number, roc: number): number;
  encryptRtcp(packet: Uint8Array, index: number, out: Uint8Array): number;
  /** Authenticates (and decrypts) in place; the RTCP length, or -1. */
  decryptRtcp(packet: Uint8Array): number;
}

/** Outgoing datagrams written together by one sendmmsg (salon_media.cc `UdpBatch`). */
interface NativeUdpBatch {
  /** Encrypts into the batch; the SRTP length, or -1 (then nothing was queued). */
  queueRtp(transform: NativeSrtpTransform, packet: Uint8Array, headerLength: number, roc: number, address: Buffer): number;
  queue(datagram: Uint8Array, address: Buffer): number;
  /** Sends what is queued; the number of datagrams the kernel refused since the last flush. */
  flush(): number;
  readonly pending: number;
  /** errno of the last refused datagram. */
  readonly lastError: number;
}

export interface NativeMedia {
  SrtpTransform: new (
    profile: number, rtpKey: Buffer, rtpSalt: Buffer, rtpAuthKey: Buffer, rtcpKey: Buffer, rtcpSalt: Buffer, rtcpAuthKey: Buffer,
  ) => NativeSrtpTransform;
  UdpBatch: new (fd: number, capacity: number, slotBytes: number) => NativeUdpBatch;
  /** A sockaddr_in / sockaddr_in6 for sendmmsg; undefined if `host` is not an IP address. */
  encodeAddress(host: string, port: number): Buffer | undefined;
  /** The OpenSSL the addon runs on (Node's own). */
  openssl: string;
}

let loaded: { native: NativeMedia | undefined; error: string | undefined } | undefined;

/** The addon, loaded once; undefined (with the reason) when it was not built or does not load. */
export function nativeMedia(): { native: NativeMedia | undefined; error: string | undefined } {
  if (!loaded) {
    try {
      const require = createRequire(import.meta.url);
      loaded = { native: require('./build/Release/salon_media.node') as NativeMedia, error: undefined };
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
  /** The addon's object, for UdpSendBatch.queueRtp. */
  readonly native: NativeSrtpTransform;

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
   * Decrypts in place: the caller gives `packet` up. With GCM the bytes are overwritten before the
   * tag is checked, so a packet that fails is left garbled (it is dropped anyway).
   */
  decryptRtp(packet: Buffer, headerLength: number, roc: number): Buffer | undefined {
    const length = this.native.decryptRtp(packet, headerLength, roc >>> 0);
    return length < 0 ? undefined : packet.subarray(0, length);
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
 * datagrams that were already there. What goes out through dgram instead (RTCP, DTLS, STUN, and
 * everything on impaired links) may so leave before RTP queued earlier in the same turn: harmless,
 * as an RTCP sender report carries its own time and timestamp pair, not a place in the stream.
 * Owned by the MediaTransport; after close() nothing is queued.
 */
export class UdpSendBatch {
  readonly #batch: NativeUdpBatch;
  readonly #addon: NativeMedia;
  readonly #addresses = new WeakMap<RemoteAddress, Buffer>();
  readonly #onRefused: (count: number, errno: number) => void;
  #scheduled = false;
  #closed = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#closed) return;
    const refused = this.#batch.flush();
    if (refused > 0) this.#onRefused(refused, this.#batch.lastError);
  };

  private constructor(addon: NativeMedia, fd: number, onRefused: (count: number, errno: number) => void) {
    this.#addon = addon;
    this.#batch = new addon.UdpBatch(fd, BATCH_CAPACITY, SLOT_BYTES);
    this.#onRefused = onRefused;
  }

  /**
   * A batch writing on `socket`'s descriptor, or undefined when it cannot be had. Node gives a
   * dgram socket's descriptor only through its internal handle (the public `_handle` getter is
   * deprecated and warns): it is read from the socket's state, and a Node without it keeps dgram.
   */
  static forSocket(addon: NativeMedia, socket: Socket, onRefused: (count: number, errno: number) => void): UdpSendBatch | undefined {
    const stateKey = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'state symbol');
    const state = stateKey ? (socket as unknown as Record<symbol, { handle?: { fd?: unknown } } | undefined>)[stateKey] : undefined;
    const fd = state?.handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return undefined;
    return new UdpSendBatch(addon, fd, onRefused);
  }

  /** SRTP-protects `packet` into the batch; its length, or -1 when it was not queued (send it another way). */
  queueRtp(transform: NativeTransform, packet: Buffer, headerLength: number, roc: number, to: RemoteAddress): number {
    if (this.#closed) return -1;
    const address = this.#address(to);
    if (!address) return -1;
    const length = this.#batch.queueRtp(transform.native, packet, headerLength, roc >>> 0, address);
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
    let address = this.#addresses.get(to);
    if (!address) {
      address = this.#addon.encodeAddress(to.host, to.port);
      if (!address) return undefined;
      this.#addresses.set(to, address);
    }
    return address;
  }
}
