// The DTLS server side of one endpoint (jitsi-protocol.md §8.2): werift's DtlsServer over an
// in-memory transport that the endpoint feeds with datagrams from the ICE-selected address. After
// the handshake it checks the client certificate against the signalled fingerprint and exports the
// SRTP keying material (RFC 5764 §4.2).

import { createHash, verify, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DtlsServer, keyLength, saltLength, type Address, type SrtpProfile, type Transport } from 'werift';
import type { DtlsCertificate } from './certificate.ts';
import { TypedEmitter } from './events.ts';

export interface RemoteFingerprint {
  /** As signalled, e.g. `sha-256` (compared case-insensitively). */
  readonly hash: string;
  /** Colon-separated hex, any case. */
  readonly value: string;
}

export interface SrtpKeyingMaterial {
  readonly profile: SrtpProfile;
  readonly localMasterKey: Buffer;
  readonly localMasterSalt: Buffer;
  readonly remoteMasterKey: Buffer;
  readonly remoteMasterSalt: Buffer;
}

export type DtlsLinkEvents = {
  connected: [SrtpKeyingMaterial];
  failed: [Error];
};

/** Offered in use_srtp, preferred first: GCM, then AES-CM/HMAC-SHA1-80 (jitsi-protocol.md §8.2). */
const SRTP_PROFILES: SrtpProfile[] = [7, 1];

/** werift's Transport, fed by hand: the endpoint pushes datagrams in and sends what comes out. */
class DatagramTransport implements Transport {
  readonly type = 'udp';
  closed = false;
  onData: (data: Buffer, addr: Address) => void = () => undefined;

  constructor(
    private readonly sendDatagram: (data: Buffer) => void,
    readonly address: AddressInfo,
  ) {}

  send = async (data: Buffer): Promise<void> => {
    // werift's flight retransmission timers can outlive close(); they must send nothing then.
    if (!this.closed) this.sendDatagram(data);
  };

  close = async (): Promise<void> => {
    this.closed = true;
  };
}

export class DtlsLink extends TypedEmitter<DtlsLinkEvents> {
  readonly #transport: DatagramTransport;
  readonly #server: DtlsServer;
  readonly #disposers: Array<() => void> = [];
  #remoteFingerprints: readonly RemoteFingerprint[] | undefined;
  #handshakeDone = false;
  #state: 'handshaking' | 'connected' | 'failed' | 'closed' = 'handshaking';

  constructor(options: {
    certificate: DtlsCertificate;
    localAddress: AddressInfo;
    send: (data: Buffer) => void;
    onListenerError: (event: string, error: unknown) => void;
  }) {
    super(options.onListenerError);
    this.#transport = new DatagramTransport(options.send, options.localAddress);
    this.#server = new DtlsServer({
      transport: this.#transport,
      cert: options.certificate.certPem,
      key: options.certificate.keyPem,
      signatureHash: options.certificate.signatureHash,
      srtpProfiles: SRTP_PROFILES,
      extendedMasterSecret: true,
      // Ask for the browser's certificate: its fingerprint is what authenticates the peer.
      certificateRequest: true,
    });
    const connect = this.#server.onConnect.subscribe(() => {
      this.#handshakeDone = true;
      this.#verifyAndKey();
    });
    const error = this.#server.onError.subscribe((e) => this.#fail(e instanceof Error ? e : new Error(String(e))));
    this.#disposers.push(connect.unSubscribe, error.unSubscribe);
  }

  get state(): 'handshaking' | 'connected' | 'failed' | 'closed' {
    return this.#state;
  }

  /** The fingerprints from the answer; may arrive before or after the handshake completes. */
  setRemoteFingerprints(fingerprints: readonly RemoteFingerprint[]): void {
    this.#remoteFingerprints = fingerprints;
    if (this.#handshakeDone) this.#verifyAndKey();
  }

  /** A DTLS record from the ICE-validated remote address. */
  handle(data: Buffer): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    this.#transport.onData(data, ['', 0]);
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const dispose of this.#disposers.reverse()) dispose();
    this.#server.close();
    this.removeAllListeners();
  }

  #verifyAndKey(): void {
    if (this.#state !== 'handshaking' || !this.#remoteFingerprints) return;
    const certificate = this.#server.remoteCertificate;
    if (!certificate) return this.#fail(new Error('DTLS client sent no certificate'));
    if (!fingerprintMatches(certificate, this.#remoteFingerprints)) {
      return this.#fail(new Error('DTLS client certificate does not match the signalled fingerprint'));
    }
    // werift's server never checks CertificateVerify, so a matching fingerprint alone would not
    // prove the client holds the certificate's key: check it here (RFC 5246 §7.4.8).
    const proof = verifyClientCertificateVerify(this.#server, certificate);
    if (proof !== 'ok') return this.#fail(new Error(`DTLS client CertificateVerify: ${proof}`));
    const profile = this.#server.srtp.srtpProfile;
    if (profile === undefined) return this.#fail(new Error('no SRTP profile negotiated (use_srtp)'));
    const keys = this.#server.extractSessionKeys(keyLength(profile), saltLength(profile)) as {
      localKey: Buffer;
      localSalt: Buffer;
      remoteKey: Buffer;
      remoteSalt: Buffer;
    };
    this.#state = 'connected';
    this.emit('connected', {
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
    this.emit('failed', error);
  }
}

const NODE_HASHES: Readonly<Record<string, string>> = {
  'sha-1': 'sha1',
  'sha-224': 'sha224',
  'sha-256': 'sha256',
  'sha-384': 'sha384',
  'sha-512': 'sha512',
};

/** True if the DER certificate matches any signalled fingerprint with a known hash. */
export function fingerprintMatches(der: Buffer, fingerprints: readonly RemoteFingerprint[]): boolean {
  return fingerprints.some(({ hash, value }) => {
    const nodeHash = NODE_HASHES[hash.toLowerCase()];
    if (!nodeHash) return false;
    const actual = createHash(nodeHash).update(der).digest('hex');
    return actual === value.replaceAll(':', '').toLowerCase();
  });
}

/** TLS HashAlgorithm code points (RFC 5246 §7.4.1.4.1) to node hash names. */
const TLS_HASHES: Readonly<Record<number, string>> = { 4: 'sha256', 5: 'sha384', 6: 'sha512' };

/**
 * Checks the client's CertificateVerify signature over the handshake transcript that precedes it
 * (RFC 5246 §7.4.8; DTLS: RFC 6347 §4.2.6, the transcript excludes the first ClientHello and the
 * HelloVerifyRequest, as werift's cache does) with the public key of the client's certificate.
 */
export function verifyClientCertificateVerify(server: DtlsServer, clientCertificateDer: Buffer): 'ok' | string {
  const cache = server.dtls.sortedHandshakeCache;
  const index = cache.findIndex((h) => h.msg_type === 15);
  const message = cache[index];
  if (!message) return 'missing';
  const body = message.fragment;
  if (body.length < 4) return 'truncated';
  const hash = TLS_HASHES[body.readUInt8(0)];
  if (!hash) return `unsupported hash ${body.readUInt8(0)}`;
  const signatureLength = body.readUInt16BE(2);
  if (body.length < 4 + signatureLength) return 'truncated signature';
  const transcript = Buffer.concat(cache.slice(0, index).map((h) => h.serialize()));
  try {
    const key = new X509Certificate(clientCertificateDer).publicKey;
    return verify(hash, transcript, key, body.subarray(4, 4 + signatureLength)) ? 'ok' : 'bad signature';
  } catch (error) {
    return `unverifiable (${error instanceof Error ? error.message : String(error)})`;
  }
}
