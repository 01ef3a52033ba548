// One synthetic conference participant, without a browser, joining through Salon's real signalling:
// XMPP login over the WebSocket (@xmpp/client), the focus's conference IQ, the MUC join (answering
// the focus's disco#info with the features lib-jitsi-meet announces), a session-accept shaped like
// lib-jitsi-meet's (test/fixtures/xmpp/jingle/jingle-session-accept-ljm.xml: a SIM group of 3 SSRCs
// with their FID/RTX groups), ICE as the controlled side, DTLS as client, SRTP, and the colibri-ws
// bridge channel (ReceiverVideoConstraints with last-N).
//
// As a sender it obeys the bridge's SenderSourceConstraints as lib-jitsi-meet does (its
// TPCUtils/TraceablePeerConnection set each simulcast encoding active when its height fits): only
// the layers no taller than maxHeight (at least the lowest while maxHeight > 0), no video at all
// at 0 (nobody receives the source), everything before the first constraint; a layer that comes
// back starts with a keyframe, as a re-enabled encoding does. A muted participant sends no audio.
// Its packets carry a transport-wide sequence number, and it sends the RTCP a browser sends
// (transport-cc feedback, receiver and sender reports: rtcp.ts).

import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { client as xmppClient, xml } from '@xmpp/client';
import { parse, type Element } from 'ltx';
import pino from 'pino';
import { Message, classes, methods, parseMessage } from 'werift';
import WebSocket from 'ws';
import { ClientFeature, HeaderExtensionUri } from '../../focus/offer.ts';
import type { DtlsCertificate } from '../../bridge/transport/certificate.ts';
import { DtlsLink } from '../../bridge/transport/dtls-link.ts';
import { NativeMediaSocket, nativeMedia } from '../../bridge/native/index.ts';
import { SrtpProtection } from '../../bridge/transport/srtp-protection.ts';
import { parseJingle, type Jingle } from '../../xmpp/protocol/jingle.ts';
import { serialiseBridgeChannelMessage } from '../../xmpp/protocol/bridge-channel.ts';
import {
  AudioStream, DEFAULT_AUDIO_LEVEL_ID, DEFAULT_EXTENSION_IDS, LAYERS, QUIET_LEVEL, ReceiveStats, Vp8Layer, stampTransport, type ExtensionIds,
} from './media.ts';
import { ParticipantRtcp, type RtcpCounters } from './rtcp.ts';
import { RtcpWalker } from '../../bridge/rtp/rtcp.ts';

// @xmpp/websocket expects the WHATWG WebSocket global, which Node 20 lacks; ws provides it.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const FIXTURE = new URL('../../test/fixtures/xmpp/jingle/jingle-session-accept-ljm.xml', import.meta.url);
const FIXTURE_XML = readFileSync(FIXTURE, 'utf8');
/** The fixture's SSRCs: audio, then video SIM (low → high), then each layer's RTX (FID). */
const FIXTURE_AUDIO = 3190521134;
const FIXTURE_SIM = [1001857386, 2938471520, 470391826];
const FIXTURE_RTX = [3661027495, 1287730164, 2510983347];
/** What lib-jitsi-meet announces (bar SCTP: the bridge channel is colibri-ws). */
const FEATURES = [ClientFeature.audio, ClientFeature.video, ClientFeature.jsonSources, ClientFeature.tcc, ClientFeature.rtx, ClientFeature.sourceNames];

/** The participant's UDP socket, as the generator uses it. */
interface MediaPort {
  readonly port: number;
  /** `arrival`: when the kernel received it (performance.now() clock), when the socket knows. */
  receive(handler: (data: Buffer, arrival: number | undefined) => void): void;
  send(data: Buffer, to: { host: string; port: number }, failed: () => void): void;
  close(): void;
}

/**
 * The addon's socket when it was built (recvmmsg, sendto: much less of the generator's CPU per
 * packet, so more of the machine is left to the server and the generator's own bursts are rarer),
 * Node's dgram otherwise or with SALON_BENCH_GENERATOR_DGRAM=1.
 */
async function openPort(): Promise<MediaPort> {
  const addon = process.env.SALON_BENCH_GENERATOR_DGRAM === '1' ? undefined : nativeMedia().native;
  if (addon) {
    const socket = new NativeMediaSocket(addon, '127.0.0.1', 0, 4 << 20);
    return {
      port: socket.port,
      receive: (handler) => socket.receive((data, _from, arrival) => handler(data, arrival)),
      send: (data, to, failed) => {
        if (socket.send(data, to) !== 0) failed();
      },
      close: () => socket.close(),
    };
  }
  const socket: Socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    receive: (handler) => socket.on('message', (data) => handler(data, undefined)),
    send: (data, to, failed) => socket.send(data, to.port, to.host, (e) => e && failed()),
    close: () => socket.close(),
  };
}

/** DTLS datagrams kept in a participant's dtlsTrace: a handshake with a few retransmissions. */
const DTLS_TRACE_LENGTH = 60;

/**
 * A DTLS datagram's records in short (RFC 6347 §4.1): `hs<type>` for a handshake record (its first
 * message's type: 1 ClientHello, 3 HelloVerifyRequest, 2 ServerHello, 11 Certificate, 12
 * ServerKeyExchange, 13 CertificateRequest, 14 ServerHelloDone, 15 CertificateVerify, 16
 * ClientKeyExchange; encrypted, e.g. Finished, reads as whatever its first byte is), `ccs` for
 * ChangeCipherSpec, `alert`, or `ct<content type>`, each with `/e<epoch>`.
 */
function dtlsRecords(data: Buffer): string {
  const records: string[] = [];
  for (let at = 0; at + 13 <= data.length; at += 13 + data.readUInt16BE(at + 11)) {
    const type = data[at]!;
    const name = type === 22 ? `hs${data[at + 13] ?? '?'}` : type === 20 ? 'ccs' : type === 21 ? 'alert' : `ct${type}`;
    records.push(`${name}/e${data.readUInt16BE(at + 3)}`);
  }
  return records.join(',') || `${data.length} bytes`;
}

/** The DTLS link logs nothing here: a failure shows as the join's. */
const SILENT = pino({ level: 'silent' });

type IqHandler = (ctx: { stanza: Element; element: Element }) => Element | boolean;
interface IqCallee {
  get(ns: string, name: string, handler: IqHandler): void;
  set(ns: string, name: string, handler: IqHandler): void;
}

export interface ParticipantOptions {
  wsUrl: string;
  domain: string;
  /** room@muc.domain */
  room: string;
  /** MUC nick, which is the endpoint id. */
  nick: string;
  /** Index carried in every packet's trailer. */
  index: number;
  certificate: DtlsCertificate;
  /** Sends simulcast video (and audio unless `audio` is false). */
  sends: boolean;
  /** A sender that is not muted: sends audio at `audioLevel`. Default true. */
  audio?: boolean;
  /** RFC 6464 level (−dBov) of its audio; default QUIET_LEVEL. */
  audioLevel?: number;
  /**
   * Decrypts what it receives (delay from the trailer, SRTP authentication checked); otherwise it
   * counts packets and sequence gaps from the clear SRTP headers only. Default true.
   */
  decrypts?: boolean;
  /** Numbers its packets transport-wide and sends RTCP (rtcp.ts), as a browser; default true. */
  feedback?: boolean;
  /** Last-N in the receiver's constraints; 0 for a send-only participant. */
  lastN: number;
  /** Source names this participant puts on stage (asking `onStageHeight`); the others at `defaultHeight`. */
  onStage: string[];
  onStageHeight: number;
  defaultHeight: number;
}

export interface ParticipantCounters {
  sent: number;
  sendErrors: number;
  keyframeRequests: number;
  rtcpIn: number;
  channelMessages: Record<string, number>;
  /** SenderSourceConstraints for this participant's video source, and how many changed its layers. */
  senderConstraints: number;
  layerChanges: number;
}

export class Participant {
  readonly stats = new ReceiveStats();
  readonly counters: ParticipantCounters = {
    sent: 0, sendErrors: 0, keyframeRequests: 0, rtcpIn: 0, channelMessages: {}, senderConstraints: 0, layerChanges: 0,
  };
  /** All simulcast layers, lowest first (empty for a receive-only participant). */
  readonly layers: Vp8Layer[] = [];
  /** The layers it sends now, per the last SenderSourceConstraints (all before the first). */
  activeLayers: readonly Vp8Layer[] = [];
  /** maxHeight of the last SenderSourceConstraints for its video source; undefined before any. */
  senderMaxHeight: number | undefined;
  /**
   * The DTLS datagrams of the handshake, for join failures: `+ms>` sent or `+ms<` received (ms
   * since DTLS started), each as its records (dtlsRecords). At most DTLS_TRACE_LENGTH.
   */
  readonly dtlsTrace: string[] = [];
  /** What happened to the XMPP connection (errors, its end), with ms since the join started, for join failures. */
  readonly xmppEvents: string[] = [];
  #joinStartedAt = 0;
  #noteXmpp(event: string): void {
    if (this.xmppEvents.length < 10) this.xmppEvents.push(`+${Math.round(performance.now() - this.#joinStartedAt)} ${event}`);
  }
  get #xmppReport(): string {
    return `XMPP ${this.xmppEvents.join('; ') || 'no error'}`;
  }
  /** ICE and DTLS progress, for join failures. */
  readonly link = { checksSent: 0, checkResponses: 0, checkErrors: 0, bridgeChecks: 0, dtlsIn: 0, dtlsStarted: false, srtp: false };
  /** Jingle actions received from the focus, in order. */
  readonly jingleActions: string[] = [];
  audio: AudioStream | undefined;
  /** The header extension ids the offer negotiated (the focus's defaults until it came). */
  readonly extensionIds: ExtensionIds = { ...DEFAULT_EXTENSION_IDS };
  readonly #rtcp: ParticipantRtcp;
  #transportSequence: number;
  readonly #o: ParticipantOptions;
  readonly #ufrag = randomBytes(4).toString('hex');
  readonly #pwd = randomBytes(16).toString('hex');
  #xmpp: ReturnType<typeof xmppClient> | undefined;
  #socket: MediaPort | undefined;
  #channel: WebSocket | undefined;
  #dtls: DtlsLink | undefined;
  #srtp: SrtpProtection | undefined;
  #bridge: { host: string; port: number } | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #offer: Jingle | undefined;
  #connected: (() => void) | undefined;
  #failed: ((e: Error) => void) | undefined;

  constructor(options: ParticipantOptions) {
    this.#o = options;
    const base = 0x1000_0000 + options.index * 16;
    this.#transportSequence = (options.index * 977) & 0xffff;
    this.#rtcp = new ParticipantRtcp({
      localSsrc: base + 12, cname: options.nick, extensionIds: this.extensionIds,
      // Spread over the interval by the golden ratio, so that neighbours' reports do not leave together.
      phase: (options.index * 0.618_034) % 1,
      send: (compound) => this.#sendRtcp(compound),
    });
    if (options.sends) {
      const extensions = options.feedback !== false;
      LAYERS.forEach((spec, i) => this.layers.push(new Vp8Layer(base + i, i, spec, options.index, extensions)));
      this.activeLayers = this.layers;
      // A muted participant has its audio source signalled all the same (lib-jitsi-meet keeps the track).
      this.audio = new AudioStream(base + 8, options.index, options.audioLevel ?? QUIET_LEVEL, DEFAULT_AUDIO_LEVEL_ID, extensions);
    }
  }

  /** RTCP sent: transport-cc feedback, receiver and sender reports. */
  get rtcpCounters(): RtcpCounters {
    return this.#rtcp.counters;
  }

  get nick(): string {
    return this.#o.nick;
  }

  /** Our UDP port and the bridge's (once the offer came), for the socket drop counters in /proc/net/udp. */
  get ports(): { local: number | undefined; bridge: number | undefined } {
    return { local: this.#socket?.port, bridge: this.#bridge?.port };
  }

  get videoSourceName(): string {
    return `${this.#o.nick}-v0`;
  }

  /** Whether it sends audio packets (a sender that is not muted). */
  get sendsAudio(): boolean {
    return this.audio !== undefined && this.#o.audio !== false;
  }

  /**
   * A SenderSourceConstraints for its video source: the layers no taller than `maxHeight` (at
   * least the lowest while it is above 0), none at 0, all when it is negative (no limit).
   */
  applySenderConstraints(maxHeight: number): void {
    this.counters.senderConstraints++;
    this.senderMaxHeight = maxHeight;
    let next: readonly Vp8Layer[];
    if (maxHeight < 0) next = this.layers;
    else if (maxHeight === 0) next = [];
    else {
      const fitting = this.layers.filter((l) => l.height <= maxHeight);
      next = fitting.length > 0 ? fitting : this.layers.slice(0, 1);
    }
    if (next.length === this.activeLayers.length && next.every((l, i) => l === this.activeLayers[i])) return;
    // A layer (re)enabled starts with a keyframe, as an encoding the browser turns back on does.
    for (const layer of next) if (!this.activeLayers.includes(layer)) layer.keyframeWanted = true;
    this.activeLayers = next;
    this.counters.layerChanges++;
  }

  /** Logs in, joins, answers the offer; resolves once SRTP is keyed and the bridge channel is open. */
  async join(timeoutMs = 30_000): Promise<void> {
    const o = this.#o;
    this.#joinStartedAt = performance.now();
    let step = 'XMPP login';
    const connected = new Promise<void>((resolve, reject) => {
      this.#connected = resolve;
      this.#failed = reject;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${o.nick}: no media after ${timeoutMs} ms, at: ${step}; Jingle received: ${this.jingleActions.join(', ') || 'none'}; ${this.#xmppReport}; ICE/DTLS ${JSON.stringify(this.link)}; DTLS datagrams ${this.dtlsTrace.join(' ') || 'none'}`)), timeoutMs);
    });
    const steps = async (): Promise<void> => {
      const client = xmppClient({ service: o.wsUrl, domain: o.domain });
      // @xmpp/connection 0.14 lets go of its parser when its stream closes (or closing times out)
      // but not of the socket's data: a stanza the server sent meanwhile (a busy server at the end
      // of a run) then throws in the socket's listener and ends the whole run. Dropped instead.
      const connection = client as unknown as { _onData(data: unknown): void; parser: unknown };
      const onData = connection._onData;
      connection._onData = function (this: typeof connection, data: unknown) {
        if (this.parser) onData.call(this, data);
      };
      this.#xmpp = client;
      client.reconnect.stop();
      // Surfaced through start() and the join timeout; kept for the failure report, with how the stream ended.
      client.on('error', (e: unknown) => this.#noteXmpp(`error ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`));
      client.on('disconnect', (d: unknown) => {
        const { clean, reason } = (d ?? {}) as { clean?: boolean; reason?: unknown };
        this.#noteXmpp(`disconnect${clean ? ' (clean)' : ''}${reason ? ` ${String(reason)}` : ''}`);
      });
      client.on('offline', () => this.#noteXmpp('offline'));
      const callee = (client as unknown as { iqCallee: IqCallee }).iqCallee;
      callee.get('http://jabber.org/protocol/disco#info', 'query', () =>
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }, ...FEATURES.map((v) => xml('feature', { var: v }))));
      callee.set('urn:xmpp:jingle:1', 'jingle', (ctx) => {
        const jingle = parseJingle(ctx.element);
        this.jingleActions.push(jingle.action);
        if (jingle.action === 'session-initiate' && !this.#offer) {
          this.#offer = jingle;
          step = 'session-accept';
          setImmediate(() => this.#accept(jingle).catch((e: unknown) => this.#failed?.(e instanceof Error ? e : new Error(String(e)))));
        }
        return true;
      });
      await client.start();
      step = 'conference IQ';
      await client.iqCaller.request(xml('iq', { type: 'set', to: `focus.${o.domain}` },
        xml('conference', { xmlns: 'http://jitsi.org/protocol/focus', room: o.room, 'machine-uid': `bench-${o.nick}` })), 20_000);
      step = 'MUC join, waiting for session-initiate';
      await client.send(xml('presence', { to: `${o.room}/${o.nick}` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
      await connected;
    };
    try {
      await Promise.race([steps(), timeout]);
    } catch (error) {
      // An XMPP timeout (TimeoutError) says nothing of where: the step and the time say it.
      if (error instanceof Error && !error.message.startsWith(`${o.nick}:`)) {
        throw new Error(`${o.nick}: ${error.name}${error.message ? `: ${error.message}` : ''} at ${step}, ${Math.round(performance.now() - this.#joinStartedAt)} ms into the join; ${this.#xmppReport}`, { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #accept(offer: Jingle): Promise<void> {
    const o = this.#o;
    const transport = offer.contents.find((c) => c.transport)?.transport;
    if (!transport?.ufrag || !transport.pwd) throw new Error(`${o.nick}: session-initiate without ICE credentials`);
    const candidate = transport.candidates.find((c) => c.protocol === 'udp' && /^\d+\.\d+\.\d+\.\d+$/.test(c.ip));
    if (!candidate) throw new Error(`${o.nick}: no IPv4 UDP candidate in the offer`);
    const wsUrl = transport.webSockets[0]?.url;
    if (!wsUrl) throw new Error(`${o.nick}: no colibri-ws URL in the offer`);
    this.#bridge = { host: candidate.ip, port: candidate.port };
    const levelId = offer.contents.find((c) => c.description?.media === 'audio')?.description?.headerExtensions
      .find((e) => e.uri === 'urn:ietf:params:rtp-hdrext:ssrc-audio-level')?.id;
    if (this.audio) this.audio.levelExtensionId = levelId !== undefined && levelId >= 1 && levelId <= 14 ? levelId : DEFAULT_AUDIO_LEVEL_ID;
    // The one-byte form (RFC 8285 §4.2) the generator writes takes ids 1–14; another is left out.
    const offeredId = (uri: string): number | undefined => {
      const id = offer.contents.flatMap((c) => c.description?.headerExtensions ?? []).find((e) => e.uri === uri)?.id;
      return id !== undefined && id >= 1 && id <= 14 ? id : undefined;
    };
    this.extensionIds.audioLevel = this.audio?.levelExtensionId;
    this.extensionIds.absSendTime = offeredId(HeaderExtensionUri.absSendTime);
    this.extensionIds.transportCc = this.#o.feedback === false ? undefined : offeredId(HeaderExtensionUri.transportCc);
    const bridgeUfrag = transport.ufrag;
    const bridgePwd = transport.pwd;

    const socket = await openPort();
    this.#socket = socket;
    // The bridge's own DTLS link in the client role (we answered setup=active): werift's client,
    // the bridge's certificate checked against its fingerprint, datagrams one turn apart.
    const dtlsStart = performance.now();
    const trace = (direction: '>' | '<', data: Buffer): void => {
      if (this.dtlsTrace.length < DTLS_TRACE_LENGTH) this.dtlsTrace.push(`+${Math.round(performance.now() - dtlsStart)}${direction}${dtlsRecords(data)}`);
    };
    const dtls = new DtlsLink({
      role: 'client', certificate: o.certificate, log: SILENT,
      send: (data) => {
        trace('>', data);
        this.#send(data);
      },
    });
    this.#dtls = dtls;
    dtls.setRemoteFingerprints(transport.fingerprints);
    dtls.events.on('connected', (keys) => {
      // The addon's SRTP when it was built (less of the generator's CPU; the bytes are the same).
      this.#srtp = new SrtpProtection(keys, nativeMedia().native);
      this.link.srtp = true;
      const now = performance.now();
      for (const layer of this.layers) this.#rtcp.sending(layer.rtp, true, now);
      if (this.audio) this.#rtcp.sending(this.audio.rtp, false, now);
      clearInterval(this.#checkTimer);
      this.#openChannel(wsUrl);
    });
    dtls.events.on('failed', (e) => this.#failed?.(e));
    let dtlsStarted = false;
    socket.receive((data, arrival) => {
      const first = data[0]!;
      if (first < 4) {
        const message = parseMessage(data);
        if (!message) return;
        if (message.messageClass === classes.ERROR) this.link.checkErrors++;
        if (message.messageClass === classes.REQUEST) {
          this.link.bridgeChecks++;
          // The bridge's check (and later its consent checks): answer as the controlled agent.
          const response = new Message(methods.BINDING, classes.RESPONSE, message.transactionId)
            .setAttribute('XOR-MAPPED-ADDRESS', ['127.0.0.1', socket.port])
            .addMessageIntegrity(Buffer.from(this.#pwd, 'utf8'))
            .addFingerprint();
          this.#send(response.bytes);
        } else if (message.messageClass === classes.RESPONSE && !dtlsStarted) {
          this.link.checkResponses++;
          this.link.dtlsStarted = true;
          // Our check got through: the bridge knows this address; start DTLS (we answered setup=active).
          dtlsStarted = true;
          this.#dtls!.start();
        }
      } else if (first >= 20 && first < 64) {
        this.link.dtlsIn++;
        trace('<', data);
        this.#dtls?.handle(data);
      }
      else if (first >= 128 && first < 192) this.#media(data, arrival);
    });

    // The session-accept: the fixture, re-addressed to this endpoint and its transport.
    await this.#xmpp!.iqCaller.request(xml('iq', { type: 'set', to: `${o.room}/focus` }, this.#sessionAccept(offer.sid)), 15_000);

    const check = (): void => {
      const request = new Message(methods.BINDING, classes.REQUEST)
        .setAttribute('USERNAME', `${bridgeUfrag}:${this.#ufrag}`)
        .setAttribute('PRIORITY', 1_853_824_767)
        .setAttribute('ICE-CONTROLLED', BigInt(o.index + 1));
      request.addMessageIntegrity(Buffer.from(bridgePwd, 'utf8'));
      request.addFingerprint();
      this.#send(request.bytes);
      this.link.checksSent++;
    };
    check();
    this.#checkTimer = setInterval(check, 100);
  }

  #sessionAccept(sid: string): Element {
    const o = this.#o;
    const iq = parse(FIXTURE_XML);
    const jingle = iq.getChild('jingle')!;
    jingle.attrs.sid = sid;
    delete jingle.attrs.responder;
    const ssrcs = new Map<number, number>();
    if (o.sends) {
      ssrcs.set(FIXTURE_AUDIO, this.audio!.ssrc);
      FIXTURE_SIM.forEach((s, i) => ssrcs.set(s, this.layers[i]!.ssrc));
      FIXTURE_RTX.forEach((s, i) => ssrcs.set(s, this.layers[i]!.ssrc + 4));
    }
    const fingerprint = o.certificate.fingerprint;
    const walk = (el: Element): void => {
      for (const child of [...el.getChildElements()]) {
        if (!o.sends && (child.name === 'source' || child.name === 'ssrc-group') && el.name === 'description') {
          el.remove(child);
          continue;
        }
        if (child.name === 'content' && child.attrs.name === 'data') {
          el.remove(child); // no SCTP: the bridge channel is colibri-ws
          continue;
        }
        if (child.name === 'transport') {
          child.attrs.ufrag = this.#ufrag;
          child.attrs.pwd = this.#pwd;
          const fp = child.getChild('fingerprint');
          if (fp) {
            fp.attrs.hash = fingerprint.hash;
            fp.attrs.setup = 'active';
            fp.children = [fingerprint.value];
          }
        }
        if (typeof child.attrs.ssrc === 'string') {
          const mapped = ssrcs.get(Number(child.attrs.ssrc));
          if (mapped !== undefined) child.attrs.ssrc = String(mapped);
        }
        if (child.name === 'source' && typeof child.attrs.name === 'string') child.attrs.name = child.attrs.name.replace('abcd1234', o.nick);
        if (child.name === 'parameter' && child.attrs.name === 'msid') child.attrs.value = `${o.nick}-${String(child.attrs.value)}`;
        walk(child);
      }
    };
    walk(jingle);
    return jingle;
  }

  /** The colibri-ws URL from the offer. */
  channelUrl = '';

  #openChannel(url: string): void {
    const o = this.#o;
    this.channelUrl = url;
    const ws = new WebSocket(url);
    this.#channel = ws;
    ws.on('message', (data: Buffer) => {
      try {
        const message = JSON.parse(data.toString()) as { colibriClass?: string; sourceName?: unknown; maxHeight?: unknown };
        const cls = message.colibriClass ?? '?';
        this.counters.channelMessages[cls] = (this.counters.channelMessages[cls] ?? 0) + 1;
        if (cls === 'SenderSourceConstraints' && message.sourceName === this.videoSourceName && typeof message.maxHeight === 'number'
          && this.layers.length > 0) this.applySenderConstraints(message.maxHeight);
      } catch {
        // not JSON: ignore, as a client would
      }
    });
    ws.once('open', () => {
      const constraints: Record<string, { maxHeight: number }> = {};
      for (const name of o.onStage) constraints[name] = { maxHeight: o.onStageHeight };
      ws.send(serialiseBridgeChannelMessage({
        colibriClass: 'ReceiverVideoConstraints',
        lastN: o.lastN,
        onStageSources: o.onStage,
        defaultConstraints: { maxHeight: o.defaultHeight },
        constraints,
      }));
      this.#connected?.();
    });
    ws.once('error', (e) => this.#failed?.(new Error(`${o.nick}: bridge channel ${url}: ${e.message}; Jingle received: ${this.jingleActions.join(', ')}`)));
  }

  /** `arrival`: the kernel's receive time when known, for the transport-cc feedback (a browser's network thread takes it as the packet comes, not after the generator's other work). */
  #media(data: Buffer, arrival: number | undefined): void {
    const srtp = this.#srtp;
    if (!srtp) return;
    const pt = data[1]!;
    const now = performance.now();
    if (pt >= 192 && pt <= 223) {
      const result = srtp.unprotectRtcp(data);
      if (!result.ok) return;
      this.counters.rtcpIn++;
      this.#keyframeRequests(result.packet);
      this.#rtcp.rtcpReceived(result.packet, now);
      return;
    }
    this.#rtcp.rtpReceived(data, arrival ?? now);
    if (this.#o.decrypts === false) {
      this.stats.onProtectedRtp(data);
      return;
    }
    const result = srtp.unprotectRtp(data);
    if (!result.ok) {
      if (this.stats.measuring) this.stats.authFailures++;
      return;
    }
    this.stats.onRtp(result.packet, now);
  }

  readonly #walker = new RtcpWalker();

  /** PLI and FIR make the named layer's next frame a keyframe. */
  #keyframeRequests(packet: Buffer): void {
    const walker = this.#walker;
    walker.reset(packet);
    while (walker.next() === 'ok') {
      if (walker.kind === 'pli') this.#keyframeWanted(walker.mediaSsrc);
      else if (walker.kind === 'fir') for (let i = 0; i < walker.firCount; i++) this.#keyframeWanted(walker.firSsrc(i));
    }
  }

  #keyframeWanted(ssrc: number): void {
    const layer = this.layers.find((l) => l.ssrc === ssrc);
    if (!layer) return;
    layer.keyframeWanted = true;
    this.counters.keyframeRequests++;
  }

  /** Sends the RTCP due at `now` (performance.now; `epochMs` the same instant on the wall clock); nothing before SRTP is keyed. */
  rtcpTick(now: number, epochMs: number): void {
    if (this.#srtp && this.#o.feedback !== false) this.#rtcp.tick(now, epochMs);
  }

  #sendRtcp(compound: Buffer): void {
    const wire = this.#srtp?.protectRtcp(compound);
    if (wire) this.#send(wire);
  }

  /** Protects and sends plaintext RTP packets (no-op before SRTP is keyed). */
  sendRtp(packets: readonly Buffer[]): void {
    const srtp = this.#srtp;
    if (!srtp) return;
    const now = performance.now();
    const stamping = this.#o.feedback !== false;
    for (const packet of packets) {
      if (stamping) {
        stampTransport(packet, this.extensionIds, this.#transportSequence, now);
        this.#transportSequence = (this.#transportSequence + 1) & 0xffff;
      }
      const wire = srtp.protectRtp(packet);
      if (!wire) continue;
      this.#send(wire);
      this.counters.sent++;
    }
  }

  #send(data: Buffer): void {
    const bridge = this.#bridge;
    if (!bridge || !this.#socket) return;
    this.#socket.send(data, bridge, () => this.counters.sendErrors++);
  }

  #closed = false;

  /** Leaves and releases everything; a second call (a failed join is closed at once, then with the rest) does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkTimer);
    this.#channel?.close();
    this.#dtls?.close();
    this.#socket?.close();
    try {
      await this.#xmpp?.stop();
    } catch {
      // the server may already have closed the stream
    }
  }
}
