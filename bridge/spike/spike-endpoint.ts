// One endpoint's media transport on the shared UDP port: ICE (controlling, nominating), DTLS
// server, then SRTP/SRTCP in both directions with werift-rtp sessions and our replay window.
// Spike for bridge/endpoint.ts; see bridge/spike/README.md for what it proves and what it lacks.

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  RtpPacket,
  SrtcpSession,
  SrtpAuthenticationError,
  SrtpSession,
  type Message,
} from 'werift';
import type { DtlsCertificate } from './certificate.ts';
import { DtlsLink, type RemoteFingerprint, type SrtpKeyingMaterial } from './dtls-link.ts';
import { TypedEmitter } from './events.ts';
import { candidatePriority, IceAgent, type IceCandidate, type IceState } from './ice-agent.ts';
import { ReplayWindow } from './srtp-replay.ts';
import type { MuxClient, RemoteAddress, UdpMux } from './udp-mux.ts';

export type EndpointState = 'new' | 'ice-connected' | 'connected' | 'failed' | 'closed';

/** What the bridge announces in Colibri2 `<transport>` (jitsi-protocol.md §6.2). */
export interface LocalTransportParameters {
  readonly ufrag: string;
  readonly pwd: string;
  readonly fingerprint: { readonly hash: 'sha-256'; readonly value: string; readonly setup: 'actpass' };
  readonly candidates: readonly IceCandidate[];
}

export interface RemoteTransportParameters {
  readonly ufrag: string;
  readonly pwd: string;
  readonly fingerprints: readonly RemoteFingerprint[];
  readonly candidates?: readonly IceCandidate[];
}

export interface SsrcCounters {
  packets: number;
  bytes: number;
  payloadTypes: Set<number>;
}

export interface EndpointStats {
  rtpPackets: number;
  rtcpPackets: number;
  rtpSent: number;
  rtcpSent: number;
  authFailures: number;
  replayed: number;
  malformed: number;
  perSsrc: Map<number, SsrcCounters>;
  /** Nanoseconds spent in SRTP/SRTCP decryption (incl. parse and replay check). */
  decryptNs: bigint;
  /** Nanoseconds spent in SRTP encryption of what we sent. */
  encryptNs: bigint;
}

/** Epoch milliseconds (performance.timeOrigin + performance.now()), comparable with a page's. */
export interface EndpointTimings {
  remoteSet?: number;
  iceConnected?: number;
  dtlsConnected?: number;
}

export type EndpointEvents = {
  state: [EndpointState, string];
  /** A decrypted, authenticated, non-replayed RTP packet. */
  rtp: [RtpPacket];
  /** A decrypted compound RTCP packet. */
  rtcp: [Buffer];
  /** Raw SRTP/SRTCP as received (before decryption), for tests. */
  srtp: [Buffer];
};

export interface SpikeEndpointOptions {
  id: string;
  mux: UdpMux;
  certificate: DtlsCertificate;
  onListenerError: (event: string, error: unknown) => void;
  debug?: (message: string) => void;
}

export class SpikeEndpoint extends TypedEmitter<EndpointEvents> implements MuxClient {
  readonly id: string;
  readonly local: LocalTransportParameters;
  readonly stats: EndpointStats = {
    rtpPackets: 0,
    rtcpPackets: 0,
    rtpSent: 0,
    rtcpSent: 0,
    authFailures: 0,
    replayed: 0,
    malformed: 0,
    perSsrc: new Map(),
    decryptNs: 0n,
    encryptNs: 0n,
  };
  readonly timings: EndpointTimings = {};
  readonly #mux: UdpMux;
  readonly #ice: IceAgent;
  readonly #dtls: DtlsLink;
  readonly #replay = new ReplayWindow();
  readonly #validated = new Set<string>();
  readonly #disposers: Array<() => void> = [];
  readonly #onError: (event: string, error: unknown) => void;
  readonly #debug: ((message: string) => void) | undefined;
  #srtp: { rtp: SrtpSession; rtcp: SrtcpSession; profile: number } | undefined;
  #state: EndpointState = 'new';
  /** Where DTLS answers go until ICE has selected a pair: the sender of the last ClientHello. */
  #dtlsPeer: RemoteAddress | undefined;

  constructor(options: SpikeEndpointOptions) {
    super(options.onListenerError);
    this.id = options.id;
    this.#onError = options.onListenerError;
    this.#debug = options.debug;
    this.#mux = options.mux;
    const { host, port } = options.mux.localAddress;
    const hostCandidate: IceCandidate = { foundation: '1', priority: candidatePriority(126), host, port, type: 'host' };
    // RFC 8445 §5.3: ufrag ≥ 24 bits, password ≥ 128 bits of randomness.
    this.local = {
      ufrag: randomBytes(6).toString('hex'),
      pwd: randomBytes(16).toString('hex'),
      fingerprint: { ...options.certificate.fingerprint, setup: 'actpass' },
      candidates: [hostCandidate],
    };
    this.#ice = new IceAgent({
      localUfrag: this.local.ufrag,
      localPwd: this.local.pwd,
      localCandidate: hostCandidate,
      onListenerError: options.onListenerError,
      debug: options.debug,
      io: {
        send: (data, to) => this.#mux.send(data, to),
        addTransaction: (id) => this.#mux.addTransaction(id, this),
        removeTransaction: (id) => this.#mux.removeTransaction(id),
        validated: (address) => {
          const key = `${address.host}|${address.port}`;
          if (this.#validated.has(key)) return;
          if (this.#mux.bindAddress(address, this)) this.#validated.add(key);
        },
      },
    });
    this.#dtls = new DtlsLink({
      certificate: options.certificate,
      localAddress: { address: host, port, family: 'IPv4' },
      send: (data) => {
        const to = this.#ice.selectedAddress ?? this.#dtlsPeer;
        if (to) this.#mux.send(data, to);
      },
      onListenerError: options.onListenerError,
    });
    this.#disposers.push(
      this.#ice.on('state', (state) => this.#onIceState(state)),
      this.#dtls.on('connected', (keys) => this.#onDtlsConnected(keys)),
      this.#dtls.on('failed', (error) => this.#setState('failed', error.message)),
    );
    this.#mux.addClient(this.local.ufrag, this);
    this.#disposers.push(() => this.#mux.removeClient(this.local.ufrag, this));
  }

  get state(): EndpointState {
    return this.#state;
  }

  get selectedAddress(): RemoteAddress | undefined {
    return this.#ice.selectedAddress;
  }

  /** From the Jingle session-accept (via the focus's Colibri2 update). */
  setRemote(remote: RemoteTransportParameters): void {
    this.timings.remoteSet ??= epochMs();
    this.#dtls.setRemoteFingerprints(remote.fingerprints);
    for (const candidate of remote.candidates ?? []) this.#ice.addRemoteCandidate(candidate);
    this.#ice.setRemoteParameters(remote.ufrag, remote.pwd);
  }

  addRemoteCandidate(candidate: IceCandidate): void {
    this.#ice.addRemoteCandidate(candidate);
  }

  /** Encrypts and sends one RTP packet on the selected pair; false if not connected. */
  sendRtp(packet: RtpPacket): boolean {
    const to = this.#ice.selectedAddress;
    if (!this.#srtp || !to) return false;
    const started = process.hrtime.bigint();
    // werift's encrypt() serialises the header but not the padding the header declares.
    const payload = packet.header.padding ? Buffer.concat([packet.payload, rtpPadding(packet.header.paddingSize)]) : packet.payload;
    const protectedPacket = this.#srtp.rtp.encrypt(payload, packet.header);
    this.stats.encryptNs += process.hrtime.bigint() - started;
    this.#mux.send(protectedPacket, to);
    this.stats.rtpSent++;
    return true;
  }

  /** Encrypts and sends one compound RTCP packet on the selected pair. */
  sendRtcp(rtcp: Buffer): boolean {
    const to = this.#ice.selectedAddress;
    if (!this.#srtp || !to) return false;
    this.#mux.send(this.#srtp.rtcp.encrypt(rtcp), to);
    this.stats.rtcpSent++;
    return true;
  }

  handleStunRequest(message: Message, raw: Buffer, from: RemoteAddress): void {
    this.#ice.handleRequest(message, raw, from);
  }

  handleStunResponse(message: Message, raw: Buffer, from: RemoteAddress): void {
    this.#ice.handleResponse(message, raw, from);
  }

  handleDatagram(kind: 'dtls' | 'media', data: Buffer, from: RemoteAddress): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (kind === 'dtls') {
      this.#dtlsPeer = from;
      const t = performance.now();
      this.#dtls.handle(data);
      this.#debug?.(`DTLS record ${data.length} B handled synchronously in ${(performance.now() - t).toFixed(1)} ms at ${t.toFixed(1)}`);
      return;
    }
    if (!this.#srtp) return;
    this.emit('srtp', data);
    // RFC 5761 §4: RTCP packet types 192-223 share the port with RTP (rtcp-mux).
    const packetType = (data[1] ?? 0) & 0xff;
    if (packetType >= 192 && packetType <= 223) this.#receiveRtcp(data);
    else this.#receiveRtp(data);
  }

  close(reason: string): void {
    if (this.#state === 'closed') return;
    const errors: unknown[] = [];
    for (const dispose of this.#disposers.reverse()) {
      try {
        dispose();
      } catch (error) {
        errors.push(error);
      }
    }
    this.#ice.close();
    this.#dtls.close();
    this.#srtp = undefined;
    this.#setState('closed', reason);
    this.removeAllListeners();
    if (errors.length > 0) this.#onError('close', new AggregateError(errors, `closing endpoint ${this.id}`));
  }

  #receiveRtp(data: Buffer): void {
    const srtp = this.#srtp;
    if (!srtp || data.length < 12) return;
    const started = process.hrtime.bigint();
    const ssrc = data.readUInt32BE(8);
    const verdict = this.#replay.check(ssrc, data.readUInt16BE(2));
    if (!verdict.ok) {
      this.stats.replayed++;
      return;
    }
    let packet: RtpPacket;
    try {
      packet = RtpPacket.deSerialize(srtp.rtp.decrypt(data));
    } catch (error) {
      if (error instanceof SrtpAuthenticationError) this.stats.authFailures++;
      else this.stats.malformed++;
      return;
    } finally {
      this.stats.decryptNs += process.hrtime.bigint() - started;
    }
    this.#replay.commit(ssrc, verdict.index);
    this.stats.rtpPackets++;
    let counters = this.stats.perSsrc.get(ssrc);
    if (!counters) {
      counters = { packets: 0, bytes: 0, payloadTypes: new Set() };
      this.stats.perSsrc.set(ssrc, counters);
    }
    counters.packets++;
    counters.bytes += data.length;
    counters.payloadTypes.add(packet.header.payloadType);
    this.emit('rtp', packet);
  }

  #receiveRtcp(data: Buffer): void {
    const srtp = this.#srtp;
    if (!srtp) return;
    const started = process.hrtime.bigint();
    let rtcp: Buffer;
    try {
      rtcp = srtp.rtcp.decrypt(data);
    } catch (error) {
      if (error instanceof SrtpAuthenticationError) this.stats.authFailures++;
      else this.stats.malformed++;
      return;
    } finally {
      this.stats.decryptNs += process.hrtime.bigint() - started;
    }
    this.stats.rtcpPackets++;
    this.emit('rtcp', rtcp);
  }

  #onIceState(state: IceState): void {
    if (state === 'connected') {
      this.timings.iceConnected ??= epochMs();
      if (this.#srtp) this.#setState('connected', `pair nominated after DTLS, SRTP profile ${this.#srtp.profile}`);
      else this.#setState('ice-connected', 'pair nominated');
    } else if (state === 'failed') {
      this.#setState('failed', 'ICE failed');
    }
  }

  #onDtlsConnected(keys: SrtpKeyingMaterial): void {
    this.timings.dtlsConnected ??= epochMs();
    const config = {
      profile: keys.profile,
      keys: {
        localMasterKey: keys.localMasterKey,
        localMasterSalt: keys.localMasterSalt,
        remoteMasterKey: keys.remoteMasterKey,
        remoteMasterSalt: keys.remoteMasterSalt,
      },
    };
    this.#srtp = { rtp: new SrtpSession(config), rtcp: new SrtcpSession(config), profile: keys.profile };
    // The browser starts DTLS once its side has a valid pair, which can be before our nomination
    // completes; 'connected' needs both, since we send only on the selected pair.
    if (this.#ice.selectedAddress) this.#setState('connected', `DTLS connected after nomination, SRTP profile ${keys.profile}`);
  }

  #setState(state: EndpointState, reason: string): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    this.emit('state', state, reason);
  }
}

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

function rtpPadding(size: number): Buffer {
  const padding = Buffer.alloc(size);
  if (size > 0) padding[size - 1] = size;
  return padding;
}

