// The bridge's media transport: the one UDP socket every endpoint shares (demultiplexed by
// udp-mux.ts as jitsi-videobridge does on port 10000, jitsi-protocol.md §8.1), the DTLS certificate,
// and the endpoints (bridge/endpoint.ts) created on it.

import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import type { IceCandidate } from '../../xmpp/protocol/jingle-ice.ts';
import { Endpoint, type EndpointContext } from '../endpoint.ts';
import {
  NativeMediaSocket, RECEIVE_SLOT_BYTES, selectNativeMedia, type MediaDatagramHandler, type NativeMedia, type NativeMode, type MediaSocketCounters,
  type NativeTransform, type UdpSendBatch, type WireDelays,
} from '../native/index.ts';
import { generateCertificate, type DtlsCertificate } from './certificate.ts';
import { systemClock, type Clock } from './clock.ts';
import { candidatePriority, type IceTiming } from './ice-agent.ts';
import { LinkImpairment, type ImpairmentSpec } from './impairment.ts';
import { addressKey, UdpMux, type MuxClient, type RemoteAddress, type UdpMuxLimits, type UdpMuxStats } from './udp-mux.ts';
import { warmUp } from './warm-up.ts';

/** Asked for the media socket's receive and send buffers. */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export type { Clock } from './clock.ts';
export type { DtlsCertificate } from './certificate.ts';
export type { ImpairmentCounters, ImpairmentSpec, LinkImpairment } from './impairment.ts';
export type { RemoteAddress } from './udp-mux.ts';

export interface MediaTransportOptions {
  /** Address to bind, e.g. `0.0.0.0` or `127.0.0.1`; IPv6 addresses bind a udp6 socket. */
  host: string;
  /** Port to bind (10000 in production); 0 picks an ephemeral one. */
  port: number;
  /** IPs announced as host candidates (public or NAT-mapped); empty: the bound address, or loopback if wildcard. */
  advertiseIps: string[];
  log: Logger;
  /** Default: the process clock. */
  clock?: Clock;
  /** Default: a fresh ECDSA P-256 certificate. */
  certificate?: DtlsCertificate;
  /** Default: DEFAULT_MUX_LIMITS. */
  limits?: Partial<UdpMuxLimits>;
  /** Default: DEFAULT_ICE_TIMING. */
  iceTiming?: Partial<IceTiming>;
  /** The native media path (bridge/native): default `auto`, used when it was built. */
  native?: NativeMode;
  /** On the native path, coalesce equal-length datagrams to one peer into UDP GSO messages; default true. */
  udpSegmentation?: boolean;
  /** Fail an endpoint not connected this long after its first remote transport; default 20 000 ms. */
  connectTimeoutMs?: number;
}

/** RFC 8445 §5.1.2.2 type preference of host candidates. */
const HOST_TYPE_PREFERENCE = 126;

export class MediaTransport {
  readonly port: number;
  readonly fingerprint: { hash: 'sha-256'; value: string };
  readonly #socket: MediaSocket;
  readonly #mux: UdpMux;
  readonly #log: Logger;
  readonly #context: Omit<EndpointContext, 'candidates'> & { candidates: IceCandidate[] };
  /** Every endpoint not closed yet. Not keyed by id: Colibri2 endpoint ids (MUC nicks) are unique within a conference only. */
  readonly #endpoints = new Set<Endpoint>();
  /**
   * Test-only impairments, by the endpoint (mux client) an address is bound to, or by the address
   * key when it is bound to none; undefined (not empty) when none, so the hot path pays one check.
   */
  #impairments: Map<MuxClient | string, LinkImpairment> | undefined;
  #closing: Promise<void> | undefined;
  /** Batched SRTP sends on the socket (native path); undefined on the TypeScript path. Closed with the socket. */
  readonly #batch: UdpSendBatch | undefined;

  private constructor(socket: MediaSocket, certificate: DtlsCertificate, options: MediaTransportOptions, native: NativeMedia | undefined) {
    this.#socket = socket;
    this.#log = options.log;
    this.port = socket.port;
    this.fingerprint = { ...certificate.fingerprint };
    const write = (data: Buffer, to: RemoteAddress): void => socket.send(data, to);
    this.#mux = new UdpMux({
      limits: options.limits ?? {},
      send: (data, to) => {
        if (this.#impairments === undefined) write(data, to);
        else this.#impaired('out', data, to, (passed) => write(passed, to));
      },
      onClientError: (error) => this.#log.error({ err: error }, 'endpoint failed to handle a datagram'),
    });
    // Kernel arrival times are on the process clock: they stand for now() only when it is that clock.
    const kernelArrivals = (options.clock ?? systemClock) === systemClock;
    socket.receive((data, from, arrival, unprotected) => {
      // Only an impaired link's datagrams leave the usual path (kernel arrival times included).
      if (this.#impairments === undefined || this.#impairmentAt(from) === undefined) this.#mux.receive(data, from, kernelArrivals ? arrival : undefined, unprotected);
      // A test impairment delays what it passes: it arrives when passed. It counts what came on the
      // wire: a datagram the read unprotected is its plaintext, then its tag.
      else if (unprotected === undefined) this.#impaired('in', data, from, (passed) => this.#mux.receive(passed, from));
      else {
        const read = { ...unprotected };
        const wire = read.outcome >= 0 ? Buffer.from(data.buffer, data.byteOffset, read.wireLength) : data;
        this.#impaired('in', wire, from, (passed) => this.#mux.receive(read.outcome >= 0 ? passed.subarray(0, read.outcome) : passed, from, undefined, read));
      }
    });
    this.#batch = socket.sendBatch();
    const udp6 = socket.udp6;
    this.#context = {
      mux: this.#mux,
      certificate,
      clock: options.clock ?? systemClock,
      candidates: hostCandidates(options.advertiseIps, socket.address, this.port, udp6),
      reachable: udp6 ? isIPv6 : isIPv4,
      ...(options.iceTiming ? { iceTiming: options.iceTiming } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(native ? { native } : {}),
      // Impaired links (tests) go through the mux's send, one datagram at a time; the others as always.
      sendBatch: (to) => (this.#impairments === undefined || this.#impairmentAt(to) === undefined ? this.#batch : undefined),
      ...(socket.bindReceiver ? { bindReceiver: socket.bindReceiver, forwardBatch: () => this.#batch } : {}),
    };
  }

  /** Which media path runs: `native` (the addon's socket, SRTP and batched sends) or `typescript` (dgram, srtp-cipher.ts). */
  get mediaPath(): 'native' | 'typescript' {
    return this.#context.native ? 'native' : 'typescript';
  }

  /** Binds the socket, makes (or takes) the certificate and runs a DTLS/SRTP warm-up. */
  static async start(options: MediaTransportOptions): Promise<MediaTransport> {
    const native = selectNativeMedia(options.native ?? 'auto');
    const certificate = options.certificate ?? (await generateCertificate());
    const warmUpMs = await warmUp(certificate, options.log.child({ part: 'warm-up' }), native);
    // The default 208 KiB receive buffer holds a few ms of a busy bridge's traffic: any pause (a
    // garbage collection) overflowed it and the kernel dropped packets (bench/bridge-load). The
    // kernel caps what is asked at net.core.rmem_max / wmem_max.
    const socket = native ? nativeSocket(native, options.host, options.port, options.log, options.udpSegmentation ?? true) : await dgramSocket(options.host, options.port, options.log);
    const transport = new MediaTransport(socket, certificate, options, native);
    options.log.info(
      {
        port: transport.port, candidates: transport.#context.candidates.map((c) => c.ip), warmUpMs: Math.round(warmUpMs),
        mediaPath: transport.mediaPath, ...(native ? { openssl: native.openssl } : {}),
        recvBufferBytes: socket.recvBufferSize, sendBufferBytes: socket.sendBufferSize,
      },
      'media transport started',
    );
    return transport;
  }

  /**
   * On the native path, the bridge's added delay as the wire sees it: from the kernel receiving a
   * datagram to the copies made while handling it leaving in a sendmmsg (so including any wait in
   * the socket's receive queue while the event loop was busy). Undefined on the TypeScript path.
   */
  wireDelays(): WireDelays | undefined {
    return this.#socket.wireDelays();
  }

  /** On the native path, how long datagrams waited before the bridge read them (NativeMediaSocket.readDelays). */
  readDelays(): WireDelays | undefined {
    return this.#socket.readDelays();
  }

  /** On the native path, the delay of what the bridge sent in answer to RTCP (NativeMediaSocket.responseDelays). */
  responseDelays(): WireDelays | undefined {
    return this.#socket.responseDelays();
  }

  /** The native media socket's counters (truncated datagrams, read errors, batched sends); undefined on the TypeScript path. */
  socketCounters(): MediaSocketCounters | undefined {
    return this.#socket.counters();
  }

  /** Counters of the demultiplexer. */
  get muxStats(): Readonly<UdpMuxStats> {
    return { ...this.#mux.stats };
  }

  /** Sizes of the endpoint map and the mux routes, for tests that check all is gone after close. */
  get sizes(): { endpoints: number; ufrags: number; addresses: number; transactions: number } {
    return { endpoints: this.#endpoints.size, ...this.#mux.routes };
  }

  /**
   * A new endpoint on the shared port; throws if the mux is full or the transport closed. Its id
   * need not be unique here: two conferences may each have an endpoint `abcd1234` (each has its
   * own ufrag, password and addresses on the port).
   */
  createEndpoint(id: string, log: Logger): Endpoint {
    if (this.#closing) throw new Error('media transport closed');
    const endpoint = new Endpoint(id, log, this.#context);
    this.#endpoints.add(endpoint);
    endpoint.events.on('state', (state) => {
      if (state === 'closed') this.#endpoints.delete(endpoint);
    });
    return endpoint;
  }

  /** Test-only: the nominated remote address of the newest endpoint `id` (the Colibri2 endpoint id, i.e. the MUC nick), once ICE has one. */
  endpointAddress(id: string): RemoteAddress | undefined {
    let found: Endpoint | undefined;
    for (const endpoint of this.#endpoints) if (endpoint.id === id) found = endpoint;
    return found?.selectedAddress;
  }

  /**
   * Test-only: impairs every datagram from and to `address` (see impairment.ts) until called again
   * with `undefined`, which hands on whatever the bottleneck still queues. When an endpoint has
   * bound the address (ICE validated it), the impairment covers every address that endpoint has
   * bound or binds later: a browser whose nominated pair goes quiet sends on another of its pairs,
   * and a blackout must not leak through it. A new spec replaces the old one (its queue is handed
   * on first). Returns the impairment, whose counters tell what it did. No configuration or network
   * input reaches this; production never calls it.
   */
  impair(address: RemoteAddress, spec: ImpairmentSpec | undefined): LinkImpairment | undefined {
    if (this.#closing) return undefined; // close() dropped every queue; nothing may be written now
    const client = this.#mux.clientAt(address);
    const key = client ?? addressKey(address);
    // The one in force replaced or lifted: its endpoint's, and one set on the address before an
    // endpoint bound it (which would otherwise outlive every later call).
    for (const previousKey of client ? [client, addressKey(address)] : [key]) {
      const previous = this.#impairments?.get(previousKey);
      if (!previous) continue;
      this.#impairments!.delete(previousKey);
      previous.flush();
    }
    if (this.#impairments?.size === 0) this.#impairments = undefined;
    if (!spec) {
      this.#socket.receiveLogging?.(this.#impairments === undefined);
      return undefined;
    }
    const impairment = new LinkImpairment(spec, this.#context.clock);
    (this.#impairments ??= new Map()).set(key, impairment);
    // What an impairment drops or delays must not have been noted as arriving when the socket read
    // it (bridge/transport/receive-log.ts): while any link is impaired, every packet's facts go
    // with it, to be taken when (and if) the impairment passes it.
    this.#socket.receiveLogging?.(false);
    this.#log.info({ remote: addressKey(address), endpoint: typeof key !== 'string', spec: { ...spec, random: spec.random ? 'given' : undefined } }, 'test impairment set');
    return impairment;
  }

  #impaired(direction: 'in' | 'out', data: Buffer, remote: RemoteAddress, deliver: (data: Buffer) => void): void {
    const impairment = this.#impairmentAt(remote);
    if (impairment) impairment.pass(direction, data, deliver);
    else deliver(data);
  }

  /** The impairment of the link to `remote`: its endpoint's, or the address's when bound to none. */
  #impairmentAt(remote: RemoteAddress): LinkImpairment | undefined {
    const client = this.#mux.clientAt(remote);
    return (client && this.#impairments?.get(client)) ?? this.#impairments?.get(addressKey(remote));
  }

  /** Closes every endpoint ('media transport closed'), then the socket. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const impairment of this.#impairments?.values() ?? []) impairment.discard();
      this.#impairments = undefined;
      for (const endpoint of [...this.#endpoints]) endpoint.close('media transport closed');
      this.#endpoints.clear();
      this.#mux.close();
      void this.#socket.close().then(resolve);
    });
    return this.#closing;
  }
}

/** The transport's UDP socket: the addon's on the native path, Node's dgram on the TypeScript one. */
interface MediaSocket {
  readonly port: number;
  /** The bound address. */
  readonly address: string;
  readonly udp6: boolean;
  readonly recvBufferSize: number;
  readonly sendBufferSize: number;
  /** Every datagram from now on to `handler`, with its kernel arrival time on the process clock when the socket knows it. */
  receive(handler: MediaDatagramHandler): void;
  /** On the native path: SRTP from `from` unprotected as it is read, by `transform` (NativeMediaSocket.bindReceiver). */
  bindReceiver?(from: RemoteAddress, transform: NativeTransform | undefined): void;
  /** On the native path: whether the read notes what it unprotects in receive logs (NativeMediaSocket.receiveLogging). */
  receiveLogging?(on: boolean): void;
  /** One datagram, now; a refusal is logged (UDP may lose). */
  send(data: Buffer, to: RemoteAddress): void;
  /** Batched SRTP sends (sendmmsg), on the native path. */
  sendBatch(): UdpSendBatch | undefined;
  /** Wire-to-wire delays of what the batch sent, on the native path. */
  wireDelays(): WireDelays | undefined;
  /** Kernel arrival to read, of what the socket read, on the native path. */
  readDelays(): WireDelays | undefined;
  /** Kernel arrival of a datagram that is not RTP to what the batch sent in answer, on the native path. */
  responseDelays(): WireDelays | undefined;
  /** The native socket's counters. */
  counters(): MediaSocketCounters | undefined;
  /** Flushes the batch, then closes. */
  close(): Promise<void>;
}

/** The addon's socket (recvmmsg, sendto, sendmmsg). @throws when the address cannot be bound */
function nativeSocket(native: NativeMedia, host: string, port: number, log: Logger, udpSegmentation: boolean): MediaSocket {
  const socket = new NativeMediaSocket(native, host, port, SOCKET_BUFFER_BYTES);
  return {
    port: socket.port,
    address: socket.address,
    udp6: isIPv6(host),
    recvBufferSize: socket.recvBufferSize,
    sendBufferSize: socket.sendBufferSize,
    receive: (handler) => socket.receive(handler),
    bindReceiver: (from, transform) => {
      socket.bindReceiver(from, transform);
    },
    receiveLogging: (on) => socket.receiveLogging(on),
    send: (data, to) => {
      const errno = socket.send(data, to);
      if (errno !== 0) log.debug({ errno, to: `${to.host}:${to.port}` }, 'UDP send failed');
    },
    sendBatch: () => socket.sendBatch((count, errno) => log.debug({ count, errno }, 'UDP sends refused'), udpSegmentation),
    wireDelays: () => socket.wireDelays(),
    readDelays: () => socket.readDelays(),
    responseDelays: () => socket.responseDelays(),
    counters: () => socket.counters,
    close: () => {
      socket.close();
      return Promise.resolve();
    },
  };
}

/** Node's dgram socket (the TypeScript path). */
async function dgramSocket(host: string, port: number, log: Logger): Promise<MediaSocket> {
  const socket: Socket = createSocket({
    type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(host),
    recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (error) => log.error({ err: error }, 'media socket error'));
  const bound = socket.address();
  return {
    port: bound.port,
    address: bound.address,
    udp6: bound.family === 'IPv6',
    recvBufferSize: socket.getRecvBufferSize(),
    sendBufferSize: socket.getSendBufferSize(),
    receive: (handler) => {
      socket.on('message', (data, rinfo) => {
        // As the native socket (its receive slot): nothing the bridge speaks is longer, and a forged
        // 64 KiB "SRTP" datagram would otherwise grow the authentication scratch buffers for good.
        if (data.length > RECEIVE_SLOT_BYTES) return;
        handler(data, { host: rinfo.address, port: rinfo.port }, undefined);
      });
    },
    send: (data, to) => {
      const failed = (error: Error | null) => {
        if (error) log.debug({ err: error, to: `${to.host}:${to.port}` }, 'UDP send failed');
      };
      // dgram throws at once (not through the callback) on a bad port or address: as the native
      // socket's EINVAL, that datagram is lost, not the timer or handler that sent it.
      try {
        socket.send(data, to.port, to.host, failed);
      } catch (error) {
        failed(error as Error);
      }
    },
    sendBatch: () => undefined,
    wireDelays: () => undefined,
    readDelays: () => undefined,
    responseDelays: () => undefined,
    counters: () => undefined,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Jingle host candidates, one per announced IP, all on the shared port (XEP-0176 §5.2). */
export function hostCandidates(advertiseIps: readonly string[], boundAddress: string, port: number, udp6: boolean): IceCandidate[] {
  const wildcard = boundAddress === '0.0.0.0' || boundAddress === '::';
  const ips = advertiseIps.length > 0 ? advertiseIps : [wildcard ? (udp6 ? '::1' : '127.0.0.1') : boundAddress];
  return ips.map((ip, i) => ({
    component: 1,
    foundation: String(i + 1),
    generation: 0,
    id: randomBytes(5).toString('hex'),
    ip,
    port,
    // Earlier IPs are preferred: local preference 65535 - i (RFC 8445 §5.1.2.1).
    priority: candidatePriority(HOST_TYPE_PREFERENCE) - i * 256,
    protocol: 'udp',
    type: 'host',
    network: 0,
  }));
}
