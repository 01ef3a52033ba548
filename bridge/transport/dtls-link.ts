// One endpoint's DTLS association (jitsi-protocol.md §8.2): werift's DtlsServer — or DtlsClient when
// the remote answered setup=passive — over an in-memory datagram transport that the endpoint feeds
// with records from the ICE-validated address. After the handshake it authenticates the peer
// (signalled fingerprint plus the key-possession proof werift skips, see dtls-verify.ts) and exports
// the SRTP keying material (RFC 5764 §4.2).
//
// werift keeps every handshake fragment that is not a whole message until some message's last
// fragment arrives, and reassembles each message type into a buffer of the length its fragments
// claim. Unchecked, a peer (any participant: it signals its own fingerprint) could make it keep
// fragments without end, before the handshake and after it. So the link reads every record and
// fragment header first (dtls-records.ts): before the handshake, what werift may keep for messages
// not yet completed is accounted and bounded (the link fails beyond it); after the handshake werift
// gets no handshake message but the peer's Finished, which is all it still acts on.

import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { DtlsClient, DtlsServer, keyLength, saltLength, type Address, type DtlsSocket, type SrtpProfile, type Transport } from 'werift';
import type { DtlsCertificate } from './certificate.ts';
import { ContentType, endsMessage, HandshakeType, isPartial, parseHandshakeFragments, parseRecords, type DtlsRecord, type HandshakeFragment } from './dtls-records.ts';
import { fingerprintMatches, verifyClientCertificateVerify, verifyServerKeyExchange, type FingerprintLike } from './dtls-verify.ts';
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

/**
 * What werift may keep, at most, for handshake messages whose last fragment has not come (counted
 * as IncompleteHandshakes says); beyond it the link fails. Browsers send a self-signed certificate
 * of a few hundred bytes, whole in one record: nothing is counted. A 6 KB chain cut by a
 * 1 200-byte path MTU counts its 6 KB once and about 8.7 KB for each transmission of its first
 * five fragments, until a last fragment ends the count: five transmissions in a row may lose the
 * last one, the sixth still completes it. It bounds what one peer can make the bridge hold per
 * endpoint.
 */
export const INCOMPLETE_HANDSHAKE_BUDGET = 64 * 1024;
/** werift's objects for one fragment it keeps (the parsed record and handshake, their buffer views): measured 370–900 bytes. */
const KEPT_FRAGMENT_OBJECT_BYTES = 512;

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
  readonly #incomplete = new IncompleteHandshakes();
  /** Datagrams dropped because MAX_PENDING_DATAGRAMS were waiting. */
  droppedDatagrams = 0;
  /** Handshake records received after the handshake other than the peer's Finished, dropped. */
  lateHandshakeRecords = 0;
  /** Protected handshake records werift's keys cannot open (werift could not either), dropped. */
  unreadableHandshakeRecords = 0;
  /**
   * Datagrams dropped unread, from their first record that is not whole, or whose handshake
   * fragments do not fill it, or that werift's parser refuses (see #deliver).
   */
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

  /** What werift may be keeping now for handshake messages not completed (see IncompleteHandshakes), at most INCOMPLETE_HANDSHAKE_BUDGET. */
  get keptFragmentBytes(): number {
    return this.#incomplete.bytes;
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
   * together could stall the handshake. The first datagram of a turn goes at once. What is kept,
   * waiting or in werift, is a copy: `data` may be a view of a whole socket read.
   */
  handle(data: Buffer): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (!this.#deliveredThisTurn) return this.#deliverInTurn(ownCopy(data));
    if (this.#pending.length >= MAX_PENDING_DATAGRAMS) {
      this.droppedDatagrams++; // a flood from the peer: a real flight is a handful of datagrams
      return;
    }
    this.#pending.push(ownCopy(data));
  }

  readonly #nextTurn = (): void => {
    this.#deliveredThisTurn = false;
    const data = this.#pending.shift();
    if (data !== undefined && (this.#state === 'handshaking' || this.#state === 'connected')) this.#deliverInTurn(data);
  };

  #deliverInTurn(data: Buffer): void {
    this.#deliveredThisTurn = true;
    setImmediate(this.#nextTurn);
    this.#deliver(data);
  }

  /** `data`: the link's own copy. Hands werift its records one by one, as werift reads a datagram's. */
  #deliver(data: Buffer): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    // werift reads a record's length before checking there is a header (a datagram under 13 bytes
    // throws): a datagram is handed on only when it is whole records, each within it.
    const records = parseRecords(data);
    if (!records) {
      this.malformedDatagrams++;
      return;
    }
    if (this.role === 'client' && isHelloVerifyRequest(records[0]!)) {
      // werift's client throws a bare Error on a second HelloVerifyRequest (its Flight3 runs once),
      // and that error would fail the link. A second one is the server answering our retransmitted
      // first ClientHello (a slow peer, a loaded machine): our ClientHello with the cookie is
      // already out and werift retransmits it on its own timer, so the duplicate is dropped.
      if (this.#sawHelloVerify) return;
      this.#sawHelloVerify = true;
    }
    for (const record of records) {
      if (this.#state !== 'handshaking' && this.#state !== 'connected') return;
      let handed = record.bytes;
      if (record.contentType === ContentType.handshake) {
        const fragments = this.#readHandshake(record);
        if (fragments === 'dropped') continue;
        if (fragments === 'malformed') {
          // werift's parser would throw on it, or read past the fragment's end.
          this.malformedDatagrams++;
          return;
        }
        const counted = this.#incomplete.account(fragments, record.bytes.length, INCOMPLETE_HANDSHAKE_BUDGET);
        if (!counted.within) {
          return this.#fail(
            new Error(`the DTLS peer's fragments of unfinished handshake messages would hold ${counted.bytes} bytes (limit ${INCOMPLETE_HANDSHAKE_BUDGET})`),
          );
        }
        // A record werift keeps fragments of lives as long as they do: its own copy, of its own size.
        if (counted.kept) handed = ownCopy(record.bytes);
      }
      try {
        this.#transport.onData(handed, [UNBOUND.address, UNBOUND.port]);
      } catch (error) {
        // Whatever werift's parser still refuses is that datagram's loss, never the link's (nor,
        // from #nextTurn, where nothing would catch it, the process's).
        this.malformedDatagrams++;
        this.#log.debug({ err: error, length: data.length }, 'malformed DTLS datagram dropped');
        return;
      }
    }
  }

  /**
   * The handshake fragments of a record werift may see, or why it may not. After the handshake
   * werift needs only the peer's Finished (epoch 1): a peer that lost our last flight sends its own
   * again, and werift's server answers that Finished by sending its last flight again (it has no
   * timer for it). The rest of such a flight is epoch 0, which werift ignores once connected (its
   * server returns at a Certificate, ClientKeyExchange or CertificateVerify) or would act on
   * wrongly (at a ClientHello its server starts over — renegotiation() — and drops its keys: WebRTC
   * never renegotiates); and any fragment werift would keep for a reassembly that never ends the
   * handshake. So after it, only a whole Finished is handed on.
   */
  #readHandshake(record: DtlsRecord): readonly HandshakeFragment[] | 'dropped' | 'malformed' {
    if (this.#handshakeDone && record.epoch === 0) {
      this.lateHandshakeRecords++;
      return 'dropped';
    }
    let plaintext = record.fragment;
    if (record.epoch > 0) {
      // The peer's keys protect what it sends from its ChangeCipherSpec on: the headers are read
      // with werift's own cipher, in the state werift's reading of this record will find it.
      const opened = this.#open(record);
      if (!opened) {
        this.unreadableHandshakeRecords++;
        return 'dropped';
      }
      plaintext = opened;
    }
    const fragments = parseHandshakeFragments(plaintext);
    if (!fragments) return 'malformed';
    if (this.#handshakeDone && !(fragments.length === 1 && fragments[0]!.msgType === HandshakeType.finished && !isPartial(fragments[0]!))) {
      this.lateHandshakeRecords++;
      return 'dropped';
    }
    return fragments;
  }

  /** A protected record's plaintext, or undefined when werift has no keys for it or it fails authentication. */
  #open(record: DtlsRecord): Buffer | undefined {
    const packet = {
      recordLayerHeader: {
        contentType: record.contentType,
        protocolVersion: { major: record.versionMajor, minor: record.versionMinor },
        epoch: record.epoch,
        sequenceNumber: record.sequenceNumber,
        contentLen: record.fragment.length,
      },
      fragment: record.fragment,
    };
    try {
      // decryptPacket reads only the header fields and fragment given here (werift's DtlsPlaintext has more, unused by it).
      return this.#socket.cipher.decryptPacket(packet as unknown as Parameters<DtlsSocket['cipher']['decryptPacket']>[0]);
    } catch {
      return undefined;
    }
  }

  /** Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#pending.length = 0;
    this.#incomplete.clear();
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

/**
 * What werift may be keeping for handshake messages not yet completed, in bytes. werift keeps each
 * fragment that is not a whole message, with a view of the record it came in (which keeps all of
 * the record's buffer alive), until a message's last fragment arrives while it holds others; then
 * it reassembles every message type it holds fragments of, each into a new buffer of the length
 * the fragments claim, and lets them all go. So each kept fragment counts its record (once per
 * record), werift's objects for it, and the growth of the largest length claimed for its message
 * type; a message's last fragment counts too (the reassembly happens with it held), then ends the
 * count — unless nothing else was held: werift then keeps it alone, and so does the count.
 */
class IncompleteHandshakes {
  #bytes = 0;
  #fragments = 0;
  /** Per message type, the largest length its kept fragments claim. */
  #claimed = new Map<number, number>();

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Counts a record's fragments (`recordBytes`: its size), unless that would go over `limit` while
   * werift reads the record: then nothing is counted and `bytes` says how much it would have been.
   * `kept`: whether werift keeps any of them after the record.
   */
  account(fragments: readonly HandshakeFragment[], recordBytes: number, limit: number): { within: true; kept: boolean } | { within: false; bytes: number } {
    let bytes = this.#bytes;
    let held = this.#fragments;
    let claimed = this.#claimed;
    let recordCounted = false;
    for (const fragment of fragments) {
      if (!isPartial(fragment)) continue;
      const othersHeld = held > 0;
      if (!recordCounted) bytes += recordBytes;
      recordCounted = true;
      held++;
      bytes += KEPT_FRAGMENT_OBJECT_BYTES;
      const before = claimed.get(fragment.msgType) ?? 0;
      if (fragment.length > before) {
        bytes += fragment.length - before;
        if (claimed === this.#claimed) claimed = new Map(claimed);
        claimed.set(fragment.msgType, fragment.length);
      }
      if (bytes > limit) return { within: false, bytes };
      if (endsMessage(fragment) && othersHeld) {
        bytes = 0;
        held = 0;
        claimed = new Map();
        recordCounted = false; // fragments after it in the record are kept anew
      }
    }
    this.#bytes = bytes;
    this.#fragments = held;
    this.#claimed = claimed;
    return { within: true, kept: recordCounted };
  }

  clear(): void {
    this.#bytes = 0;
    this.#fragments = 0;
    this.#claimed = new Map();
  }
}

/**
 * A copy of `data` in memory of its own: a Buffer view would keep its whole backing store alive
 * (the native socket's read of many datagrams, dgram's receive allocation), and small Buffer
 * copies share Node's 8 KiB pool slabs, which one kept fragment would pin as well.
 */
function ownCopy(data: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(data.length);
  data.copy(copy);
  return copy;
}

/** A plaintext handshake record carrying a HelloVerifyRequest (RFC 6347 §4.2.1) first. */
function isHelloVerifyRequest(record: DtlsRecord): boolean {
  return record.contentType === ContentType.handshake && record.epoch === 0 && record.fragment[0] === HandshakeType.helloVerifyRequest;
}
