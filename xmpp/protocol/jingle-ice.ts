/**
 * XEP-0176 Jingle ICE-UDP Transport Method (v1.1.1, https://xmpp.org/extensions/xep-0176.html): the
 * `<transport/>` of a Jingle content with its ICE credentials and candidates, plus what Jitsi puts in it:
 * XEP-0320 DTLS fingerprints (./jingle-dtls.ts), XEP-0343 (v0.3.1) `<sctpmap/>` for the data channel,
 * `<rtcp-mux/>` and the bridge channel's `<web-socket/>`.
 *
 * Jitsi deviations:
 * - `<rtcp-mux/>` inside the transport (ICE-UDP namespace; Jicofo copies it from the bridge);
 * - `<web-socket xmlns="http://jitsi.org/protocol/colibri" url=… [active=…]/>`: the colibri-ws URL of
 *   the bridge channel (protocol notes §5.1, §7);
 * - `ice-generation="n"` on the transport marks the bridge's new credentials after an in-place ICE
 *   restart, and the client's answer to it (protocol notes §5.8);
 * - candidate `protocol` may be `tcp` or `ssltcp` (the bridge's TCP candidates) with `tcptype`, and
 *   lib-jitsi-meet always writes `network="1"` and a random `id`.
 * Other children (XEP-0176 `<remote-candidate/>`, unknown extensions) are kept in `extensions`.
 * Pure and browser-safe.
 */
import { clone, Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import { oneOf, required, requiredOneOf, requiredUint, uint } from './attributes.ts';
import { buildDtlsFingerprint, NS_JINGLE_DTLS, parseDtlsFingerprint, type DtlsFingerprint } from './jingle-dtls.ts';

export const NS_JINGLE_ICE_UDP = 'urn:xmpp:jingle:transports:ice-udp:1';
/** XEP-0343 data channels over DTLS/SCTP. */
export const NS_JINGLE_SCTP = 'urn:xmpp:jingle:transports:dtls-sctp:1';
/** Jitsi's Colibri namespace, home of `<web-socket/>`. */
export const NS_COLIBRI = 'http://jitsi.org/protocol/colibri';

/** RFC 8445 §5.1.1 candidate types, as XEP-0176 §5.2 lists them. */
export type IceCandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
/** `udp`, or RFC 6544 ICE-TCP; `ssltcp` is the bridge's TLS-looking TCP candidate. */
export type IceProtocol = 'udp' | 'tcp' | 'ssltcp';
/** RFC 6544 §4.5 TCP candidate types. */
export type IceTcpType = 'active' | 'passive' | 'so';

const CANDIDATE_TYPES: readonly IceCandidateType[] = ['host', 'srflx', 'prflx', 'relay'];
const PROTOCOLS: readonly IceProtocol[] = ['udp', 'tcp', 'ssltcp'];
const TCP_TYPES: readonly IceTcpType[] = ['active', 'passive', 'so'];
const UINT32_MAX = 0xffffffff;

/** XEP-0176 §5.2 `<candidate/>`; the SDP `a=candidate` line in attributes. */
export interface IceCandidate {
  component: number;
  foundation: string;
  generation: number;
  id: string;
  ip: string;
  port: number;
  priority: number;
  protocol: IceProtocol;
  type: IceCandidateType;
  network?: number;
  /** `rel-addr`/`rel-port`: the base of a srflx, prflx or relay candidate. */
  relAddr?: string;
  relPort?: number;
  tcpType?: IceTcpType;
}

/** Jitsi `<web-socket/>`: where the client opens the bridge channel over colibri-ws. */
export interface WebSocketEndpoint {
  url: string;
  active?: boolean;
}

/** XEP-0343 `<sctpmap number=… protocol=… streams=…/>`: SDP `a=sctp-port` (or the old `a=sctpmap`). */
export interface SctpMap {
  port: number;
  protocol: string;
  streams?: number;
}

/** `<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1"/>`. */
export interface IceUdpTransport {
  ufrag?: string;
  pwd?: string;
  /** Jitsi: the ICE generation after an in-place restart (≥ 1); absent for the first. */
  iceGeneration?: number;
  /** Jitsi: `<rtcp-mux/>` inside the transport. */
  rtcpMux: boolean;
  fingerprints: DtlsFingerprint[];
  candidates: IceCandidate[];
  sctpMap?: SctpMap;
  webSockets: WebSocketEndpoint[];
  /** Children this module does not model, kept for the round trip. */
  extensions: Element[];
}






export function parseIceCandidate(el: Element): IceCandidate {
  const candidate: IceCandidate = {
    component: requiredUint(el, 'component', 255, 1),
    foundation: required(el, 'foundation'),
    generation: requiredUint(el, 'generation', UINT32_MAX),
    id: required(el, 'id'),
    ip: required(el, 'ip'),
    port: requiredUint(el, 'port', 65535),
    priority: requiredUint(el, 'priority', UINT32_MAX, 1),
    protocol: requiredOneOf(el, 'protocol', PROTOCOLS),
    type: requiredOneOf(el, 'type', CANDIDATE_TYPES),
  };
  const network = uint(el, 'network', UINT32_MAX);
  if (network !== undefined) candidate.network = network;
  const relAddr = el.attrs['rel-addr'] as unknown;
  if (typeof relAddr === 'string') candidate.relAddr = relAddr;
  const relPort = uint(el, 'rel-port', 65535);
  if (relPort !== undefined) candidate.relPort = relPort;
  const tcpType = oneOf(el, 'tcptype', TCP_TYPES);
  if (tcpType !== undefined) candidate.tcpType = tcpType;
  return candidate;
}

/** A `<candidate/>` without xmlns: it inherits the transport's namespace. */
export function buildIceCandidate(candidate: IceCandidate): Element {
  return new Element('candidate', {
    component: String(candidate.component),
    foundation: candidate.foundation,
    generation: String(candidate.generation),
    id: candidate.id,
    ip: candidate.ip,
    network: candidate.network === undefined ? undefined : String(candidate.network),
    port: String(candidate.port),
    priority: String(candidate.priority),
    protocol: candidate.protocol,
    type: candidate.type,
    'rel-addr': candidate.relAddr,
    'rel-port': candidate.relPort === undefined ? undefined : String(candidate.relPort),
    tcptype: candidate.tcpType,
  });
}

function parseWebSocket(el: Element): WebSocketEndpoint {
  const webSocket: WebSocketEndpoint = { url: required(el, 'url') };
  const active = el.attrs.active as unknown;
  if (active !== undefined) {
    if (active !== 'true' && active !== 'false') throw StanzaError.badRequest(`<web-socket/> has a bad 'active': '${String(active)}'`);
    webSocket.active = active === 'true';
  }
  return webSocket;
}

function parseSctpMap(el: Element): SctpMap {
  const sctpMap: SctpMap = { port: requiredUint(el, 'number', 65535), protocol: required(el, 'protocol') };
  const streams = uint(el, 'streams', 65535);
  if (streams !== undefined) sctpMap.streams = streams;
  return sctpMap;
}

export function parseIceUdpTransport(el: Element): IceUdpTransport {
  if (el.name !== 'transport' || el.getNS() !== NS_JINGLE_ICE_UDP) throw StanzaError.badRequest('not an ICE-UDP <transport/>');
  const transport: IceUdpTransport = { rtcpMux: false, fingerprints: [], candidates: [], webSockets: [], extensions: [] };
  const { ufrag, pwd } = el.attrs as Record<string, unknown>;
  if (typeof ufrag === 'string') transport.ufrag = ufrag;
  if (typeof pwd === 'string') transport.pwd = pwd;
  const iceGeneration = uint(el, 'ice-generation', UINT32_MAX);
  if (iceGeneration !== undefined) transport.iceGeneration = iceGeneration;
  for (const child of el.getChildElements()) {
    const ns = child.getNS();
    if (ns === NS_JINGLE_ICE_UDP && child.name === 'candidate') transport.candidates.push(parseIceCandidate(child));
    else if (ns === NS_JINGLE_ICE_UDP && child.name === 'rtcp-mux') transport.rtcpMux = true;
    else if (ns === NS_JINGLE_DTLS && child.name === 'fingerprint') transport.fingerprints.push(parseDtlsFingerprint(child));
    else if (ns === NS_COLIBRI && child.name === 'web-socket') transport.webSockets.push(parseWebSocket(child));
    else if (ns === NS_JINGLE_SCTP && child.name === 'sctpmap' && !transport.sctpMap) transport.sctpMap = parseSctpMap(child);
    else transport.extensions.push(child);
  }
  return transport;
}

/** Children in the order the protocol notes show: rtcp-mux, fingerprints, candidates, sctpmap, web-socket. */
export function buildIceUdpTransport(transport: IceUdpTransport): Element {
  const el = new Element('transport', {
    xmlns: NS_JINGLE_ICE_UDP,
    ufrag: transport.ufrag,
    pwd: transport.pwd,
    'ice-generation': transport.iceGeneration === undefined ? undefined : String(transport.iceGeneration),
  });
  if (transport.rtcpMux) el.c('rtcp-mux');
  for (const fingerprint of transport.fingerprints) el.cnode(buildDtlsFingerprint(fingerprint));
  for (const candidate of transport.candidates) el.cnode(buildIceCandidate(candidate));
  if (transport.sctpMap) {
    const { port, protocol, streams } = transport.sctpMap;
    el.c('sctpmap', { xmlns: NS_JINGLE_SCTP, number: String(port), protocol, streams: streams === undefined ? undefined : String(streams) });
  }
  for (const { url, active } of transport.webSockets) {
    el.c('web-socket', { xmlns: NS_COLIBRI, url, active: active === undefined ? undefined : String(active) });
  }
  for (const extension of transport.extensions) el.cnode(clone(extension));
  return el;
}
