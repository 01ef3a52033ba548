// One endpoint's DTLS association (jitsi-protocol.md §8.2): werift's DtlsServer — or DtlsClient when
// the remote answered setup=passive — over an in-memory datagram transport that the endpoint feeds
// with records from the ICE-validated address. After the handshake it authenticates the peer
// (signalled fingerprint plus the key-possession proof werift skips, see dtls-verify.ts) and exports
// the SRTP keying material (RFC 5764 §4.2).

import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { DtlsClient, DtlsServer, keyLength, saltLength, type Address, type SrtpProfile, type Transport } from 'werift';
import type { DtlsCertificate } from './certificate.ts';
import { containsClientHello, fingerprintMatches, verifyClientCertificateVerify, verifyServerKeyExchange, type FingerprintLike } from './dtls-verify.ts';
import { TypedEvents } from './events.ts';

export type DtlsRole = 'server' | 'client';
export type DtlsLinkState = 'handshaking' | 'connected' | 'failed' | 'closed';

export interface SrtpKeyingMaterial {
  readonly profile: SrtpProfile;
  readonly localMasterKey: Buffer;
  readonly localMasterSalt: Buffer;
  readonly remoteMasterKey: Buffer;
  readonly remoteMasterSalt: Buffer;
}

export interface DtlsLinkEvents {
  connected: (keys: SrtpKeyingMaterial) => void;
  failed: (error: Error) => void;
}

export interface DtlsLinkOptions {
  role: DtlsRole;
  certificate: DtlsCertificate;
  /** Writes one DTLS datagram towards the peer. */
  send: (data: Buffer) => void;
  log: Logger;
}

/** Offered in use_srtp, preferred first: AEAD_AES_128_GCM, then AES128_CM_HMAC_SHA1_80 (§8.2). */
const SRTP_PROFILES: SrtpProfile[] = [7, 1];
const UNBOUND: AddressInfo = { address: '0.0.0.0', port: 0, family: 'IPv4' };

/** werift's Transport, fed by hand: records are pushed in, and what comes out goes to `send`. */
export class DatagramTransport implements Transport {
  readonly type = 'memory';
  readonly address = UNBOUND;
  closed = false;
  onData: (data: Buffer, addr: Address) => void = () => undefined;

  constructor(private readonly sendDatagram: (data: Buffer) => void) {}

  send = async (data: Buffer): Promise<void> => {
    // werift's flight retransmissions sleep on timers it never cancels: they must send nothing after close.
    if (!this.closed) this.sendDatagram(data);
  };

  close = async (): Promise<void> => {
    this.closed = true;
  };
}

/** DTLS datagrams waiting for werift at most; one flight is a handful. */
const MAX_PENDING_DATAGRAMS = 32;

export class DtlsLink {
  readonly role: DtlsRole;
  readonly events: TypedEvents<DtlsLinkEvents>;
  readonly #transport: DatagramTransport;
  readonly #socket: DtlsServer | DtlsClient;
  readonly #log: Logger;
  readonly #disposers: Array<() => void> = [];
  #remoteFingerprints: readonly FingerprintLike[] | undefined;
  #handshakeDone = false;
  #started = false;
  #sawHelloVerify = false;
  #state: DtlsLinkState = 'handshaking';
  /** Datagrams received and not yet handed to werift (handle()), at most MAX_PENDING_DATAGRAMS. */
  readonly #pending: Buffer[] = [];
  /** A datagram went to werift in this turn of the event loop (cleared by the next setImmediate). */
  #deliveredThisTurn = false;
  /** Datagrams dropped because MAX_PENDING_DATAGRAMS were waiting. */
  droppedDatagrams = 0;
  /** ClientHellos received after the handshake and dropped. */
  lateClientHellos = 0;
  /** Datagrams dropped unread: not whole DTLS records, or refused by werift's parser (see #deliver). */
  malformedDatagrams = 0;

  constructor(options: DtlsLinkOptions) {
    this.role = options.role;
    this.#log = options.log;
    this.events = new TypedEvents<DtlsLinkEvents>(options.log);
    this.#transport = new DatagramTransport(options.send);
    const common = {
      transport: this.#transport,
      cert: options.certificate.certPem,
      key: options.certificate.keyPem,
      signatureHash: options.certificate.signatureHash,
      srtpProfiles: SRTP_PROFILES,
      extendedMasterSecret: true,
    };
    // As server, ask for the client's certificate: its fingerprint is what authenticates the peer.
    this.#socket = options.role === 'server' ? new DtlsServer({ ...common, certificateRequest: true }) : new DtlsClient(common);
    const connect = this.#socket.onConnect.subscribe(() => {
      this.#handshakeDone = true;
      this.#verifyAndKey();
    });
    const error = this.#socket.onError.subscribe((e: unknown) => this.#fail(e instanceof Error ? e : new Error(String(e))));
    this.#disposers.push(connect.unSubscribe, error.unSubscribe);
  }

  get state(): DtlsLinkState {
    return this.#state;
  }

  /** Client role: sends the first ClientHello (call once a path to the peer exists). Server: no-op. */
  start(): void {
    if (this.#started || this.#state !== 'handshaking' || !(this.#socket instanceof DtlsClient)) return;
    this.#started = true;
    this.#socket.connect().catch((error: unknown) => {
      if (this.#state === 'handshaking') this.#fail(error instanceof Error ? error : new Error(String(error)));
    });
  }

  /** The fingerprints from the answer; may arrive before or after the handshake completes. */
  setRemoteFingerprints(fingerprints: readonly FingerprintLike[]): void {
    this.#remoteFingerprints = fingerprints;
    if (this.#handshakeDone) this.#verifyAndKey();
  }

  /**
   * One datagram of DTLS records from the peer. At most one is handed to werift per turn of the
   * event loop, the others wait for the next turns, in order: werift handles a handshake flight
   * asynchronously, and the next datagram of the same flight must find that work done (promises
   * settled), as it did when each datagram came in its own socket callback. The media socket
   * hands on a whole read of datagrams at once; without this, a flight split over datagrams read
   * together could stall the handshake. The first datagram of a turn goes at once.
   */
  handle(data: Buffer): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (!this.#deliveredThisTurn) {
      this.#deliveredThisTurn = true;
      setImmediate(this.#nextTurn);
      this.#deliver(data);
      return;
    }
    if (this.#pending.length >= MAX_PENDING_DATAGRAMS) {
      this.droppedDatagrams++; // a flood from the peer: a real flight is a handful of datagrams
      return;
    }
    this.#pending.push(data);
  }

  readonly #nextTurn = (): void => {
    this.#deliveredThisTurn = false;
    const data = this.#pending.shift();
    if (data !== undefined) this.handle(data);
  };

  #deliver(data: Buffer): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    // werift reads a record's length before checking there is a header (a datagram under 13 bytes
    // throws): a datagram is handed on only when it is whole records, each within it.
    if (!wholeRecords(data)) {
      this.malformedDatagrams++;
      return;
    }
    if (this.#handshakeDone && containsClientHello(data)) {
      // werift's server would start over (renegotiation()) and drop its keys: WebRTC never renegotiates.
      this.lateClientHellos++;
      return;
    }
    if (this.role === 'client' && isHelloVerifyRequest(data)) {
      // werift's client throws a bare Error on a second HelloVerifyRequest (its Flight3 runs once),
      // and that error would fail the link. A second one is the server answering our retransmitted
      // first ClientHello (a slow peer, a loaded machine): our ClientHello with the cookie is
      // already out and werift retransmits it on its own timer, so the duplicate is dropped.
      if (this.#sawHelloVerify) return;
      this.#sawHelloVerify = true;
    }
    try {
      this.#transport.onData(data, [UNBOUND.address, UNBOUND.port]);
    } catch (error) {
      // Whatever werift's parser still refuses is that datagram's loss, never the link's (nor,
      // from #nextTurn, where nothing would catch it, the process's).
      this.malformedDatagrams++;
      this.#log.debug({ err: error, length: data.length }, 'malformed DTLS datagram dropped');
    }
  }

  /** Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#pending.length = 0;
    for (const dispose of this.#disposers.reverse()) dispose();
    this.#disposers.length = 0;
    void this.#transport.close();
    this.#socket.close();
    this.events.clear();
  }

  #verifyAndKey(): void {
    if (this.#state !== 'handshaking' || !this.#remoteFingerprints) return;
    const certificate = this.#socket.remoteCertificate;
    if (!certificate) return this.#fail(new Error('the DTLS peer sent no certificate'));
    if (!fingerprintMatches(certificate, this.#remoteFingerprints)) {
      return this.#fail(new Error('the DTLS peer certificate does not match the signalled fingerprint'));
    }
    const proof = this.role === 'server' ? verifyClientCertificateVerify(this.#socket, certificate) : verifyServerKeyExchange(this.#socket, certificate);
    if (proof !== 'ok') return this.#fail(new Error(`the DTLS peer's ${this.role === 'server' ? 'CertificateVerify' : 'ServerKeyExchange signature'}: ${proof}`));
    const profile = this.#socket.srtp.srtpProfile;
    if (profile === undefined) return this.#fail(new Error('no SRTP profile negotiated (use_srtp)'));
    const keys = this.#socket.extractSessionKeys(keyLength(profile), saltLength(profile)) as {
      localKey: Buffer;
      localSalt: Buffer;
      remoteKey: Buffer;
      remoteSalt: Buffer;
    };
    this.#state = 'connected';
    this.events.emit('connected', {
      profile,
      localMasterKey: keys.localKey,
      localMasterSalt: keys.localSalt,
      remoteMasterKey: keys.remoteKey,
      remoteMasterSalt: keys.remoteSalt,
    });
  }

  #fail(error: Error): void {
    if (this.#state !== 'handshaking') return;
    this.#state = 'failed';
    this.#log.warn({ err: error, role: this.role }, 'DTLS failed');
    this.events.emit('failed', error);
  }
}

/** Whether `data` is one or more whole DTLS records (RFC 6347 §4.1: a 13-byte header, then as many bytes as its length says). */
export function wholeRecords(data: Buffer): boolean {
  let offset = 0;
  while (offset < data.length) {
    if (offset + 13 > data.length) return false;
    offset += 13 + data.readUInt16BE(offset + 11);
  }
  return offset === data.length && data.length > 0;
}

/**
 * A datagram whose first record is a handshake (content type 22) carrying a HelloVerifyRequest
 * (handshake type 3, right after the 13-byte DTLS record header; RFC 6347 §4.1, §4.2.1).
 */
function isHelloVerifyRequest(data: Buffer): boolean {
  return data.length > 13 && data[0] === 22 && data[13] === 3;
}
