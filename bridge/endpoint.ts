// One endpoint's media transport on the shared UDP port (jitsi-protocol.md §8.1, §8.2): the
// controlling ICE agent, DTLS (server, or client when the remote answered setup=passive), then
// SRTP/SRTCP both ways with replay windows. Created by MediaTransport.createEndpoint
// (bridge/transport/index.ts), which owns the socket and the certificate.

import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { DtlsFingerprint } from '../xmpp/protocol/jingle-dtls.ts';
import type { IceCandidate } from '../xmpp/protocol/jingle-ice.ts';
import { SendTarget, UNPROTECT_AUTH, UNPROTECT_REPLAY, type NativeMedia, type NativeTransform, type NativeVideoRing, type UdpSendBatch, type UnprotectedRead } from './native/index.ts';
import type { DtlsCertificate } from './transport/certificate.ts';
import type { Clock } from './transport/clock.ts';
import { DtlsLink, type DtlsRole, type SrtpKeyingMaterial } from './transport/dtls-link.ts';
import { TypedEvents } from './transport/events.ts';
import { IceAgent, type IceState, type IceTiming } from './transport/ice-agent.ts';
import { ReceiveLog } from './transport/receive-log.ts';
import { SrtpProtection, type UnprotectResult } from './transport/srtp-protection.ts';
import { addressKey, type MuxClient, type RemoteAddress, type UdpMux } from './transport/udp-mux.ts';

export type EndpointState = 'new' | 'checking' | 'connected' | 'failed' | 'closed';

/** What the bridge announces in the Colibri2 `<transport>` (jitsi-protocol.md §6.2). */
export interface LocalTransportInfo {
  ufrag: string;
  pwd: string;
  /** The bridge certificate's, with setup `actpass`. */
  fingerprint: DtlsFingerprint;
  /** Host candidates: the advertised IPs (or the bound address), the media port, UDP. */
  candidates: IceCandidate[];
}

/** The client's transport from session-accept / transport-info, via the focus's Colibri2 update. */
export interface RemoteTransportInfo {
  ufrag?: string;
  pwd?: string;
  fingerprints: DtlsFingerprint[];
  candidates: IceCandidate[];
}

export interface EndpointStats {
  /** Authenticated, decrypted RTP and RTCP packets and their wire bytes. */
  packetsIn: number;
  bytesIn: number;
  /** Encrypted packets sent and their wire bytes. */
  packetsOut: number;
  bytesOut: number;
  authFailures: number;
  replays: number;
  malformed: number;
  /** Packets given to sendRtp/sendRtcp before 'connected' (dropped). */
  droppedOut: number;
}

/**
 * How alive an endpoint is, for the bridge's expiry (jitsi-videobridge Endpoint.shouldExpire):
 * read on each expiry sweep, never per packet.
 */
export interface EndpointActivity {
  /** ICE failed (no pair, or consent lost: RFC 7675) or DTLS failed: without ICE restart it cannot recover. */
  failed: boolean;
  /** Whether anything ever came from the client: STUN for its ufrag or transactions, DTLS, authenticated SRTP. */
  heard: boolean;
  /** Milliseconds since that last happened, or since the endpoint was created when it never did. */
  idleMs: number;
}

export interface EndpointEvents {
  state: (state: EndpointState, reason: string) => void;
  /**
   * A decrypted, authenticated, non-replayed RTP packet (header, payload and padding). `arrival`:
   * when the kernel received it, on the process clock (performance.now()), when the socket tells;
   * transport-cc feedback and jitter are then measured from the wire, not from when the event loop
   * got to the packet. `logged`: the media socket's read noted its receive-side facts in the
   * endpoint's receive log (receiveLog), which is read in one go later.
   */
  rtp: (packet: Buffer, arrival?: number, logged?: boolean) => void;
  /** A decrypted compound RTCP packet; `arrival` as rtp's. */
  rtcp: (packet: Buffer, arrival?: number) => void;
}

/** What MediaTransport gives each endpoint. */
export interface EndpointContext {
  mux: UdpMux;
  certificate: DtlsCertificate;
  clock: Clock;
  /** Our host candidates (already numbered); their priority is the local one for pairing. */
  candidates: IceCandidate[];
  /** Whether the socket can reach this IP (address family). */
  reachable(ip: string): boolean;
  iceTiming?: Partial<IceTiming>;
  /** Fail when not connected this long after the first remote transport, valid check or DTLS datagram; default 20 000 ms. */
  connectTimeoutMs?: number;
  /** The native media path (SRTP transforms), when the transport uses it. */
  native?: NativeMedia;
  /** Where SRTP packets to `to` are queued for one sendmmsg, when the transport has it for that link at the moment (not for an impaired one). */
  sendBatch?(to: RemoteAddress): UdpSendBatch | undefined;
  /**
   * On the native path: from now on the SRTP that `from` sends is unprotected as the socket reads
   * it, by `transform` (undefined: no more), and comes to handleDatagram with the outcome.
   */
  bindReceiver?(from: RemoteAddress, transform: NativeTransform | undefined): void;
  /**
   * With bindReceiver: the batch the socket's read queues what it forwards itself into (Endpoint
   * setRoutes). Whatever impairs a link: the read forwards nothing while a test impairs any.
   */
  forwardBatch?(): UdpSendBatch | undefined;
}

/** What the socket's read forwards itself from an endpoint (Endpoint.setRoutes). */
export interface ReadRoutes {
  /** The header extensions it uses and blanks (NativeTransform.setRouting). */
  transportCcExtensionId: number;
  audioLevelExtensionId: number;
  /** Ids to blank, a 256-bit set (32 bytes). */
  blanked: Uint8Array;
  /** The payload types that carry VP8, a 128-bit set (16 bytes): video routes take nothing else. */
  vp8PayloadTypes: Uint8Array;
  /** SSRC → the send targets (their handles) of the endpoints it goes to. */
  routes: ReadonlyMap<number, Float64Array>;
}

const NO_TARGETS = new Float64Array(0);

/** Adds takeForwarded's counts to `into` (the longest delay is the longer one). */
function addForwarded(into: number[], counts: ArrayLike<number>): void {
  for (let i = 0; i < 4; i++) into[i]! += counts[i]!;
  into[4] = Math.max(into[4]!, counts[4]!);
}

export class Endpoint {
  readonly id: string;
  readonly events: TypedEvents<EndpointEvents>;
  readonly #context: EndpointContext;
  readonly #log: Logger;
  readonly #local: LocalTransportInfo;
  readonly #ice: IceAgent;
  readonly #client: MuxClient;
  readonly #disposers: Array<() => void> = [];
  readonly #stats: EndpointStats = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, authFailures: 0, replays: 0, malformed: 0, droppedOut: 0 };
  readonly #created: number;
  #state: EndpointState = 'new';
  #dtls: DtlsLink | undefined;
  #remoteFingerprints: DtlsFingerprint[] = [];
  #remoteSetup: DtlsFingerprint['setup'];
  #srtp: SrtpProtection | undefined;
  /** Made by receiveLog(), kept on the session's receiving transform. */
  #receiveLog: ReceiveLog | undefined;
  /** The remote addresses the mux routes to this endpoint (ICE validated them); at most the mux's per-client limit. */
  readonly #bound: RemoteAddress[] = [];
  /** Where DTLS goes until ICE has nominated: the last (validated) address DTLS came from. */
  #dtlsPeer: RemoteAddress | undefined;
  #cancelConnectTimer: (() => void) | undefined;
  /** Clock time of the last datagram from the client (see EndpointActivity.heard); undefined: never. */
  #lastHeard: number | undefined;
  /** On the native path: where the socket's read forwards other endpoints' packets to this one, kept to its session (#updateSendTarget). */
  readonly #sendTarget: SendTarget | undefined;
  /** What the socket's read forwards itself from this endpoint, applied to each session's receiving transform. */
  #readRoutes: ReadRoutes | undefined;
  /** The rings of the video routes set on the session's receiving transform (setVideoRoute), by SSRC. */
  readonly #videoRings = new Map<number, NativeVideoRing & { monotonicOffset(): number }>();
  /** Forwarding counts (NativeTransform.takeForwarded) of a receiving transform replaced before they were taken. */
  #forwardedBefore: number[] = [0, 0, 0, 0, 0];

  constructor(id: string, log: Logger, context: EndpointContext) {
    this.id = id;
    this.#log = log;
    this.#context = context;
    this.#created = context.clock.now();
    this.events = new TypedEvents<EndpointEvents>(log);
    this.#sendTarget = context.native && context.forwardBatch ? new SendTarget(context.native) : undefined;
    const [first] = context.candidates;
    // RFC 8445 §5.3: ufrag ≥ 24 bits, password ≥ 128 bits of randomness.
    this.#local = {
      ufrag: randomBytes(6).toString('hex'),
      pwd: randomBytes(16).toString('hex'),
      fingerprint: { ...context.certificate.fingerprint, setup: 'actpass' },
      candidates: context.candidates,
    };
    this.#client = {
      // STUN reaches us for our ufrag or our transactions, both in clear on the wire: what counts as
      // hearing from the client is a check or response that proved the ICE password (`validated`
      // below), and authenticated SRTP; consent keeps it fresh while the client lives.
      handleStunRequest: (message, raw, from) => this.#ice.handleRequest(message, raw, from),
      handleStunResponse: (message, raw, from) => this.#ice.handleResponse(message, raw, from),
      handleDatagram: (kind, data, from, arrival, unprotected) => (kind === 'dtls' ? this.#receiveDtls(data, from) : this.#receiveMedia(data, arrival, unprotected)),
    } satisfies MuxClient;
    const mux = context.mux;
    this.#ice = new IceAgent({
      localUfrag: this.#local.ufrag,
      localPwd: this.#local.pwd,
      localPriority: first?.priority ?? 0,
      clock: context.clock,
      log,
      ...(context.iceTiming ? { timing: context.iceTiming } : {}),
      io: {
        send: (data, to) => mux.send(data, to),
        addTransaction: (tid) => mux.addTransaction(tid, this.#client),
        removeTransaction: (tid) => mux.removeTransaction(tid, this.#client),
        validated: (address) => {
          if (mux.bindAddress(address, this.#client)) {
            if (!this.#bound.some((bound) => addressKey(bound) === addressKey(address))) {
              this.#bound.push(address);
              this.#bindReceiver(address);
            }
            this.#heard();
            // From its first check the client can bind its address and send DTLS without ever
            // answering the offer: the connect deadline runs from then as well.
            this.#armConnectTimer();
            return true;
          }
          this.#log.warn({ remote: addressKey(address) }, 'remote address not bound (another endpoint\'s, or over the limit): not used');
          return false;
        },
      },
    });
    mux.addClient(this.#local.ufrag, this.#client);
    this.#disposers.push(
      () => mux.removeClient(this.#client),
      () => this.#ice.close('endpoint closed'),
      this.#ice.events.on('state', (state, reason) => this.#onIceState(state, reason)),
    );
    log.info({ ufrag: this.#local.ufrag }, 'endpoint created');
  }

  get state(): EndpointState {
    return this.#state;
  }

  /** The nominated remote address, once ICE has one. */
  get selectedAddress(): RemoteAddress | undefined {
    return this.#ice.selectedAddress;
  }

  localTransport(): LocalTransportInfo {
    return { ...this.#local, fingerprint: { ...this.#local.fingerprint }, candidates: this.#local.candidates.map((c) => ({ ...c })) };
  }

  /**
   * From session-accept or transport-info. Credentials start ICE (later different ones are
   * ignored: no ICE restart); fingerprints may come before or after the DTLS handshake.
   */
  setRemoteTransport(info: RemoteTransportInfo): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (info.fingerprints.length > 0) {
      this.#remoteFingerprints = info.fingerprints;
      this.#remoteSetup = info.fingerprints.find((f) => f.setup !== undefined)?.setup ?? this.#remoteSetup;
      this.#dtls?.setRemoteFingerprints(info.fingerprints);
    }
    for (const candidate of info.candidates) {
      // Port 0 is no peer's (nothing can be sent to it; Node's dgram throws on it).
      if (candidate.protocol !== 'udp' || candidate.component !== 1 || !(candidate.port >= 1 && candidate.port <= 65535) || isIP(candidate.ip) === 0 || !this.#context.reachable(candidate.ip)) continue;
      this.#ice.addRemoteCandidate({ host: candidate.ip, port: candidate.port, priority: candidate.priority });
    }
    if (info.ufrag !== undefined && info.pwd !== undefined) this.#ice.setRemoteCredentials(info.ufrag, info.pwd);
    this.#armConnectTimer();
    if (this.#ice.state === 'connected' && this.#dtlsRole() === 'client') this.#ensureDtls().start();
  }

  /**
   * Encrypts one plaintext RTP packet and sends it on the selected pair; dropped before
   * 'connected'. `copies` > 1 sends the same datagram that many times (byte for byte: the same
   * SRTP index over the same bytes, so nothing is learnt from the repeat; the receiver's replay
   * window keeps the first to arrive).
   */
  sendRtp(packet: Buffer, copies = 1): void {
    this.#send(packet, 'rtp', copies);
  }

  /** Encrypts one plaintext compound RTCP packet and sends it on the selected pair. */
  sendRtcp(packet: Buffer): void {
    this.#send(packet, 'rtcp');
  }

  /**
   * From now on, on the native path, the media socket's read notes the receive-side facts of every
   * RTP packet it unprotects for this endpoint in this log (bridge/transport/receive-log.ts), and
   * the `rtp` event says so (`logged`). The same log at every call.
   */
  receiveLog(transportCcExtensionId: number): ReceiveLog {
    if (!this.#receiveLog) {
      this.#receiveLog = new ReceiveLog(transportCcExtensionId);
      this.#attachReceiveLog();
    }
    return this.#receiveLog;
  }

  #attachReceiveLog(): void {
    const log = this.#receiveLog;
    if (!log) return;
    log.attach(this.#srtp?.nativeReceiver);
  }

  stats(): EndpointStats {
    const stats = { ...this.#stats };
    const sent = this.#sendTarget?.log.counters;
    if (sent) {
      stats.packetsOut += sent[0]!;
      stats.bytesOut += sent[1]!;
      stats.droppedOut += sent[2]!;
    }
    return stats;
  }

  /** On the native path: where the socket's read forwards packets to this endpoint (undefined: it forwards nothing to it). */
  get sendTarget(): SendTarget | undefined {
    return this.#sendTarget;
  }

  /**
   * On the native path, the packets from this endpoint the socket's read forwards itself, never
   * handing them to JavaScript (undefined: none): kept for every session's receiving transform.
   * Their receive-side facts come through the receive log (receiveLog), to be handed back with
   * noteForwardedRtp.
   */
  setRoutes(routes: ReadRoutes | undefined): void {
    const transform = this.#srtp?.nativeReceiver;
    if (transform) {
      for (const ssrc of this.#readRoutes?.routes.keys() ?? []) if (!routes?.routes.has(ssrc)) transform.setRoute(ssrc, NO_TARGETS);
      if (!routes) {
        for (const [ssrc, ring] of this.#videoRings) {
          transform.setVideoRoute(ssrc, NO_TARGETS);
          ring.state[1] = 1;
        }
        this.#videoRings.clear();
      }
    }
    this.#readRoutes = routes;
    if (transform) this.#applyRoutes(transform);
  }

  #applyRoutes(transform: NativeTransform): void {
    const routes = this.#readRoutes;
    if (!routes) return;
    if (!transform.setRouting(routes.transportCcExtensionId, routes.audioLevelExtensionId, routes.blanked, routes.vp8PayloadTypes)) return;
    for (const [ssrc, targets] of routes.routes) transform.setRoute(ssrc, targets);
  }

  /**
   * On the native path, a video layer of this endpoint the socket's read forwards itself (params:
   * NativeSrtpTransform.setVideoRoute's; undefined: no more), on the current session only: a new
   * session marks the rings handed out gone (their `state[1]`), and their projections set their
   * routes again. Returns the route's ring, or undefined when none was set.
   */
  setVideoRoute(ssrc: number, params: Float64Array | undefined): (NativeVideoRing & { monotonicOffset(): number }) | undefined {
    const transform = this.#srtp?.nativeReceiver;
    if (!params || !transform || !this.#readRoutes) {
      transform?.setVideoRoute(ssrc, NO_TARGETS);
      this.#videoRings.delete(ssrc);
      return undefined;
    }
    const set = transform.setVideoRoute(ssrc, params);
    const ring = set === true ? this.#videoRings.get(ssrc) : set && { ...set, monotonicOffset: () => transform.monotonicOffset() };
    if (!ring) {
      transform.setVideoRoute(ssrc, NO_TARGETS);
      this.#videoRings.delete(ssrc);
      return undefined;
    }
    this.#videoRings.set(ssrc, ring);
    return ring;
  }

  /** A packet the socket's read forwarded itself, as its receive log told (see setRoutes): counted as received. `arrival` on the clock's time. */
  noteForwardedRtp(length: number, arrival: number): void {
    this.#stats.packetsIn++;
    this.#stats.bytesIn += length + (this.#srtp?.rtpOverhead ?? 0);
    if (this.#lastHeard === undefined || arrival > this.#lastHeard) this.#lastHeard = arrival;
  }

  /** What the socket's read forwarded from this endpoint since the last call: [copies, RTP bytes, delay ns summed, packets, longest delay ns]. */
  takeForwarded(): number[] {
    const taken = this.#forwardedBefore;
    this.#forwardedBefore = [0, 0, 0, 0, 0];
    const now = this.#srtp?.nativeReceiver?.takeForwarded();
    if (now) addForwarded(taken, now);
    return taken;
  }

  /** Keeps the send target to the session: its sending transform, the selected address, while connected. */
  #updateSendTarget(): void {
    const target = this.#sendTarget;
    if (!target) return;
    const to = this.#ice.selectedAddress;
    const transform = this.#srtp?.nativeSender;
    const batch = this.#state === 'connected' && to && transform ? this.#context.forwardBatch?.() : undefined;
    if (!batch || !target.set(transform!, batch, to!)) target.clear();
  }

  /** For the bridge's expiry sweep (bridge/colibri.ts). */
  activity(): EndpointActivity {
    const since = this.#lastHeard ?? this.#created;
    return { failed: this.#state === 'failed', heard: this.#lastHeard !== undefined, idleMs: Math.max(0, this.#context.clock.now() - since) };
  }

  #heard(): void {
    this.#lastHeard = this.#context.clock.now();
  }

  /**
   * Starts the connect deadline unless it runs, or the endpoint is past needing it: from the first
   * remote transport, the client's first valid check or its first DTLS, whichever comes first.
   */
  #armConnectTimer(): void {
    if (this.#cancelConnectTimer || this.#state === 'connected' || this.#state === 'failed' || this.#state === 'closed') return;
    this.#cancelConnectTimer = this.#context.clock.setTimeout(() => {
      this.#cancelConnectTimer = undefined;
      if (this.#state !== 'connected') this.#fail('not connected before the connect timeout');
    }, this.#context.connectTimeoutMs ?? 20_000);
  }

  /** Idempotent: stops ICE and DTLS, removes the mux routes, emits 'closed'. */
  close(reason: string): void {
    if (this.#state === 'closed') return;
    this.#cancelConnectTimer?.();
    this.#cancelConnectTimer = undefined;
    const errors: unknown[] = [];
    for (const dispose of this.#disposers.splice(0).reverse()) {
      try {
        dispose();
      } catch (error) {
        errors.push(error);
      }
    }
    // Unbound first: nothing may leave the socket's read unprotecting with this session's keys.
    this.#setSrtp(undefined);
    this.#dtls?.close();
    if (errors.length > 0) this.#log.error({ err: new AggregateError(errors, 'closing endpoint') }, 'endpoint close failed in part');
    this.#log.info({ reason, ms: Math.round(this.#context.clock.now() - this.#created), stats: this.#stats }, 'endpoint closed');
    this.#setState('closed', reason);
    this.events.clear();
  }

  #send(packet: Buffer, kind: 'rtp' | 'rtcp', copies = 1): void {
    const to = this.#ice.selectedAddress;
    if (this.#state !== 'connected' || !this.#srtp || !to) {
      this.#stats.droppedOut++;
      return;
    }
    if (kind === 'rtp') {
      const batch = this.#context.sendBatch?.(to);
      // Protected once, its datagram queued `copies` times: an index is never protected twice.
      const queued = batch ? this.#srtp.queueRtp(packet, batch, to, copies) : -1;
      if (queued >= 0) {
        this.#stats.packetsOut += copies;
        this.#stats.bytesOut += copies * queued;
        return;
      }
    }
    const protectedPacket = kind === 'rtp' ? this.#srtp.protectRtp(packet) : this.#srtp.protectRtcp(packet);
    if (!protectedPacket) {
      this.#log.debug({ kind, length: packet.length }, 'unsendable packet dropped');
      this.#stats.droppedOut++;
      return;
    }
    // RTCP joins the turn's batch as well (one sendmmsg, not a system call per compound: the
    // transport-cc feedback to every sender leaves together every feedback period).
    const batch = kind === 'rtcp' ? this.#context.sendBatch?.(to) : undefined;
    for (let copy = 0; copy < copies; copy++) {
      this.#stats.packetsOut++;
      this.#stats.bytesOut += protectedPacket.length;
      if (!batch || batch.queue(protectedPacket, to) < 0) this.#context.mux.send(protectedPacket, to);
    }
  }

  #dtlsRole(): DtlsRole {
    // RFC 5763 §5: we offered actpass; an answer of passive makes us the client.
    return this.#remoteSetup === 'passive' ? 'client' : 'server';
  }

  #ensureDtls(): DtlsLink {
    if (this.#dtls) return this.#dtls;
    const link = new DtlsLink({
      role: this.#dtlsRole(),
      certificate: this.#context.certificate,
      log: this.#log,
      send: (data) => {
        const to = this.#ice.selectedAddress ?? this.#dtlsPeer;
        if (to) this.#context.mux.send(data, to);
      },
    });
    this.#dtls = link;
    this.#disposers.push(
      link.events.on('connected', (keys) => this.#onDtlsConnected(keys)),
      link.events.on('failed', (error) => this.#fail(`DTLS: ${error.message}`)),
    );
    if (this.#remoteFingerprints.length > 0) link.setRemoteFingerprints(this.#remoteFingerprints);
    return link;
  }

  #receiveDtls(data: Buffer, from: RemoteAddress): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    this.#armConnectTimer(); // a handshake that never ends must not keep its state for ever
    this.#dtlsPeer = from;
    const link = this.#ensureDtls();
    if (link.role === 'client' && !this.#ice.selectedAddress) link.start();
    link.handle(data);
  }

  /** `unprotected`: the socket's read unprotected it (EndpointContext.bindReceiver). */
  #receiveMedia(data: Buffer, arrival: number | undefined, unprotected: UnprotectedRead | undefined): void {
    const srtp = this.#srtp;
    if (!srtp) return;
    if (unprotected !== undefined) {
      // Only by this endpoint's own transform: the address may have changed hands since the read
      // (what another endpoint's keys accepted is not this session's). No result object per packet.
      const outcome = unprotected.transform === srtp.nativeReceiver?.handle ? unprotected.outcome : UNPROTECT_AUTH;
      if (outcome < 0) {
        this.#countRefused(outcome === UNPROTECT_AUTH ? 'auth' : outcome === UNPROTECT_REPLAY ? 'replay' : 'malformed');
        return;
      }
      this.#stats.packetsIn++;
      this.#stats.bytesIn += data.length + srtp.rtpOverhead;
      this.#lastHeard = arrival ?? this.#context.clock.now();
      this.events.emit('rtp', data, arrival, unprotected.logged);
      return;
    }
    // RFC 5761 §4: RTCP packet types 192-223 share the port with RTP (rtcp-mux).
    const second = data[1] ?? 0;
    const isRtcp = second >= 192 && second <= 223;
    const result: UnprotectResult = isRtcp ? srtp.unprotectRtcp(data) : srtp.unprotectRtp(data);
    if (!result.ok) {
      this.#countRefused(result.reason);
      return;
    }
    this.#stats.packetsIn++;
    this.#stats.bytesIn += data.length;
    this.#lastHeard = arrival ?? this.#context.clock.now();
    this.events.emit(isRtcp ? 'rtcp' : 'rtp', result.packet, arrival);
  }

  #countRefused(reason: 'auth' | 'replay' | 'malformed'): void {
    if (reason === 'auth') this.#stats.authFailures++;
    else if (reason === 'replay') this.#stats.replays++;
    else this.#stats.malformed++;
  }

  /**
   * The SRTP of the session (undefined: none any more), and the socket's read told to unprotect
   * what the bound addresses send with it, or no longer.
   */
  #setSrtp(srtp: SrtpProtection | undefined): void {
    if (srtp === this.#srtp) return;
    const replaced = this.#srtp?.nativeReceiver;
    if (replaced) {
      addForwarded(this.#forwardedBefore, replaced.takeForwarded());
      for (const ssrc of this.#readRoutes?.routes.keys() ?? []) replaced.setRoute(ssrc, NO_TARGETS);
      for (const [ssrc, ring] of this.#videoRings) {
        replaced.setVideoRoute(ssrc, NO_TARGETS);
        ring.state[1] = 1;
      }
      this.#videoRings.clear();
    }
    this.#srtp = srtp;
    this.#attachReceiveLog();
    const transform = srtp?.nativeReceiver;
    if (transform) this.#applyRoutes(transform);
    for (const address of this.#bound) this.#bindReceiver(address);
    this.#updateSendTarget();
  }

  #bindReceiver(address: RemoteAddress): void {
    this.#context.bindReceiver?.(address, this.#srtp?.nativeReceiver);
  }

  #onIceState(state: IceState, reason: string): void {
    if (state === 'checking') this.#setState('checking', reason);
    else if (state === 'failed') this.#fail(`ICE: ${reason}`);
    else if (state === 'connected') {
      if (this.#dtlsRole() === 'client' && this.#remoteFingerprints.length > 0) this.#ensureDtls().start();
      this.#maybeConnected(`ICE ${reason}`);
    }
  }

  #onDtlsConnected(keys: SrtpKeyingMaterial): void {
    this.#setSrtp(new SrtpProtection(keys, this.#context.native));
    this.#maybeConnected(`DTLS ${this.#dtls?.role ?? ''} connected, SRTP profile ${keys.profile}`);
  }

  /** The browser starts DTLS once its side has a valid pair, often before our nomination: both are needed. */
  #maybeConnected(reason: string): void {
    if (!this.#srtp || this.#ice.state !== 'connected' || this.#state === 'connected') return;
    this.#cancelConnectTimer?.();
    this.#cancelConnectTimer = undefined;
    this.#log.info({ ms: Math.round(this.#context.clock.now() - this.#created), remote: addressKey(this.#ice.selectedAddress!) }, 'endpoint connected');
    this.#setState('connected', reason);
  }

  #fail(reason: string): void {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    this.#log.warn({ reason }, 'endpoint failed');
    this.#cancelConnectTimer?.();
    this.#cancelConnectTimer = undefined;
    this.#setSrtp(undefined);
    this.#ice.close('endpoint failed');
    this.#dtls?.close();
    this.#setState('failed', reason);
  }

  #setState(state: EndpointState, reason: string): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    this.#updateSendTarget();
    this.events.emit('state', state, reason);
  }
}
