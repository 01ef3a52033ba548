/**
 * Colibri2, how a focus drives a bridge: the `conference-modify` request and `conference-modified`
 * answer (namespace `jitsi:colibri2`), the Colibri2 error extension, and the brewery presence
 * `<stats/>` (namespace `http://jitsi.org/protocol/colibri`) by which bridges advertise their load.
 *
 * Colibri2 has no XEP. The wire format is that of jitsi-xmpp-extensions' colibri2 package
 * (https://github.com/jitsi/jitsi-xmpp-extensions/tree/master/src/main/java/org/jitsi/xmpp/extensions/colibri2,
 * as of 2026-08: Transport `ice-restart`, Capability `rtp-mid-demux`, Endpoint `diarize`) as jicofo's
 * Colibri2Session and jitsi-videobridge's Colibri2ConferenceHandler use it; protocol notes §6.
 * The Jingle elements it embeds (payload-type, rtp-hdrext, the XEP-0176 ICE-UDP transport, XEP-0339
 * source and ssrc-group) stay ltx Elements, detached copies; the jingle-* modules parse them.
 * Builders write children in jicofo's order: media, transport, sources, force-mute, capability,
 * initial-last-n.
 *
 * Deviations from jitsi-xmpp-extensions:
 * - booleans must be true/false/1/0 (Smack reads anything else as false); bad-request otherwise;
 * - relays (§6.4) and `<connects/>` (transcriber/recorder exports) are kept as raw Elements, so a
 *   bridge can refuse them and a round trip loses nothing, but are not modelled;
 * - `<media type>` and `<media-source type>` must be audio or video.
 * Pure and browser-safe. Over 500 lines because Colibri2 and the brewery stats its bridges publish were
 * asked for as one module; the stats section at the end could move to its own colibri-stats.ts.
 */
import { clone, Element } from 'ltx';
import { NS_XMPP_STANZAS, StanzaError, type StanzaErrorCondition, type StanzaErrorType } from '../errors.ts';
import { NS_COLIBRI, NS_JINGLE_ICE_UDP } from './jingle-ice.ts';
import { NS_JINGLE_RTP, NS_JINGLE_RTP_HDREXT as NS_RTP_HDREXT, NS_JINGLE_SSMA as NS_SSMA } from './jingle-rtp.ts';
import { isMucRole, type MucRole } from './muc-user.ts';

export const NS_COLIBRI2 = 'jitsi:colibri2';

export type Colibri2MediaType = 'audio' | 'video';
export type SctpRole = 'client' | 'server';

/** Endpoint capabilities jicofo and the bridge know (Capability.java); others pass through. */
export const Colibri2Capability = {
  /** JVB (2.3 on) refuses to create an endpoint without it; Salon's bridge takes its absence for a client without source names (legacy LastNEndpointsChangeEvent). */
  sourceNames: 'source-names',
  ssrcRewriting: 'ssrc-rewriting',
  /** Only with ssrc-rewriting. */
  rtpMidDemux: 'rtp-mid-demux',
  privateAddressConnectivity: 'private-address-connectivity',
} as const;

/** `<media/>`: the codecs and header extensions of one Jingle content, as the endpoint negotiated them. */
export interface Colibri2Media {
  type: Colibri2MediaType;
  /** `<payload-type xmlns="urn:xmpp:jingle:apps:rtp:1">` elements. */
  payloadTypes: Element[];
  /** `<rtp-hdrext xmlns="urn:xmpp:jingle:apps:rtp:rtp-hdrext:0">` elements. */
  rtpHdrExts: Element[];
  /** `<extmap-allow-mixed/>` (RFC 8285 mixed one- and two-byte header extensions). */
  extmapAllowMixed?: boolean;
}

/** `<sctp/>`: in a request, ask for the data channel; in the answer, the bridge's port (5000) and role. */
export interface Colibri2Sctp {
  port?: number;
  role?: SctpRole;
}

export interface Colibri2Transport {
  /** Whether the bridge is the ICE controlling agent. Default false; jicofo always sends true. */
  iceControlling?: boolean;
  /** Relays only: a dedicated local port. Default false. */
  useUniquePort?: boolean;
  /** Request only: make-before-break ICE restart (§6.3); a refused restart has no `<transport>` in the answer. Default false. */
  iceRestart?: boolean;
  /** The XEP-0176 `<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1">` with fingerprint and web-socket. */
  iceUdp?: Element;
  sctp?: Colibri2Sctp;
}

/** `<media-source/>`: one named source (a track) with its SSRCs and groups. */
export interface Colibri2MediaSource {
  type: Colibri2MediaType;
  /** The source name, e.g. `abcd1234-v0`; the bridge's own are `jvb-a0` and `jvb-v0`. */
  id: string;
  /** Server-generated (e.g. translated audio): forwarded only to endpoints that ask for it. Default false. */
  synthetic?: boolean;
  /** XEP-0339 `<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0">` elements. */
  sources: Element[];
  /** XEP-0339 `<ssrc-group/>` elements (SIM, FID). */
  ssrcGroups: Element[];
}

export interface Colibri2ForceMute {
  /** Default false. */
  audio?: boolean;
  /** Default false. */
  video?: boolean;
}

/** `<endpoint/>`, in a request or an answer. */
export interface Colibri2Endpoint {
  id: string;
  /** Default false. */
  create?: boolean;
  /** Default false. */
  expire?: boolean;
  statsId?: string;
  /** `visitor` makes a receive-only endpoint. */
  mucRole?: MucRole;
  /** Transcription with speaker diarization for this endpoint's audio. Default false. */
  diarize?: boolean;
  media: Colibri2Media[];
  transport?: Colibri2Transport;
  /** The endpoint's complete source set, which replaces the bridge's; absent leaves it unchanged. */
  sources?: Colibri2MediaSource[];
  forceMute?: Colibri2ForceMute;
  /** See {@link Colibri2Capability}. */
  capabilities: string[];
  initialLastN?: number;
}

/** `<conference-modify/>` (focus → bridge, iq set). */
export interface ConferenceModify {
  meetingId: string;
  /** The room JID; jicofo sends it with create. */
  name?: string;
  /** Default false. */
  create?: boolean;
  /** Default false. */
  expire?: boolean;
  /** Default true; jicofo writes it only when false. */
  rtcstatsEnabled?: boolean;
  endpoints: Colibri2Endpoint[];
  /** `<relay/>` elements, not modelled (§6.4). */
  relays: Element[];
  /** `<connects/>`, not modelled. */
  connects?: Element;
}

/** `<conference-modified/>` (bridge → focus, iq result). It has no attributes. */
export interface ConferenceModified {
  endpoints: Colibri2Endpoint[];
  relays: Element[];
  /** The conference-level `<sources/>`: the bridge's own feedback sources, sent when a conference or endpoint was created. */
  feedbackSources?: Colibri2MediaSource[];
}

/** Accepts the payload or the IQ carrying it. */
export function parseConferenceModify(el: Element): ConferenceModify {
  const cm = payloadOf(el, 'conference-modify');
  const modify: ConferenceModify = {
    meetingId: requireAttr(cm, 'meeting-id'),
    name: optAttr(cm, 'name'),
    create: readBool(cm, 'create'),
    expire: readBool(cm, 'expire'),
    rtcstatsEnabled: readBool(cm, 'rtcstats-enabled'),
    endpoints: [],
    relays: [],
  };
  for (const child of colibri2Children(cm)) {
    if (child.name === 'endpoint') modify.endpoints.push(parseEndpoint(child));
    else if (child.name === 'relay') modify.relays.push(detach(child));
    else if (child.name === 'connects') modify.connects = detach(child);
  }
  return compact(modify);
}

export function buildConferenceModify(modify: ConferenceModify): Element {
  const el = new Element('conference-modify', {
    xmlns: NS_COLIBRI2,
    'meeting-id': modify.meetingId,
    name: modify.name,
    create: boolAttr(modify.create),
    expire: boolAttr(modify.expire),
    'rtcstats-enabled': boolAttr(modify.rtcstatsEnabled),
  });
  for (const endpoint of modify.endpoints) el.cnode(buildEndpoint(endpoint));
  for (const relay of modify.relays) el.cnode(embed(relay));
  if (modify.connects) el.cnode(embed(modify.connects));
  return el;
}

export function parseConferenceModified(el: Element): ConferenceModified {
  const cm = payloadOf(el, 'conference-modified');
  const modified: ConferenceModified = { endpoints: [], relays: [] };
  for (const child of colibri2Children(cm)) {
    if (child.name === 'endpoint') modified.endpoints.push(parseEndpoint(child));
    else if (child.name === 'relay') modified.relays.push(detach(child));
    else if (child.name === 'sources') modified.feedbackSources = parseSources(child);
  }
  return compact(modified);
}

export function buildConferenceModified(modified: ConferenceModified): Element {
  const el = new Element('conference-modified', { xmlns: NS_COLIBRI2 });
  for (const endpoint of modified.endpoints) el.cnode(buildEndpoint(endpoint));
  for (const relay of modified.relays) el.cnode(embed(relay));
  if (modified.feedbackSources) el.cnode(buildSources(modified.feedbackSources));
  return el;
}

function parseEndpoint(el: Element): Colibri2Endpoint {
  const mucRole = optAttr(el, 'muc-role');
  if (mucRole !== undefined && !isMucRole(mucRole)) throw bad(el, 'muc-role', mucRole);
  const endpoint: Colibri2Endpoint = {
    id: requireAttr(el, 'id'),
    create: readBool(el, 'create'),
    expire: readBool(el, 'expire'),
    statsId: optAttr(el, 'stats-id'),
    mucRole,
    diarize: readBool(el, 'diarize'),
    media: [],
    capabilities: [],
  };
  for (const child of colibri2Children(el)) {
    switch (child.name) {
      case 'media': endpoint.media.push(parseMedia(child)); break;
      case 'transport': endpoint.transport = parseTransport(child); break;
      case 'sources': endpoint.sources = parseSources(child); break;
      case 'force-mute': endpoint.forceMute = compact({ audio: readBool(child, 'audio'), video: readBool(child, 'video') }); break;
      case 'capability': endpoint.capabilities.push(requireAttr(child, 'name')); break;
      case 'initial-last-n': endpoint.initialLastN = requireInt(child, 'value', -1, 0x7fffffff); break;
    }
  }
  return compact(endpoint);
}

function buildEndpoint(endpoint: Colibri2Endpoint): Element {
  const el = new Element('endpoint', {
    id: endpoint.id,
    create: boolAttr(endpoint.create),
    expire: boolAttr(endpoint.expire),
    'stats-id': endpoint.statsId,
    'muc-role': endpoint.mucRole,
    diarize: boolAttr(endpoint.diarize),
  });
  for (const media of endpoint.media) el.cnode(buildMedia(media));
  if (endpoint.transport) el.cnode(buildTransport(endpoint.transport));
  if (endpoint.sources) el.cnode(buildSources(endpoint.sources));
  if (endpoint.forceMute) el.c('force-mute', { audio: boolAttr(endpoint.forceMute.audio), video: boolAttr(endpoint.forceMute.video) });
  for (const name of endpoint.capabilities) el.c('capability', { name });
  if (endpoint.initialLastN !== undefined) el.c('initial-last-n', { value: String(endpoint.initialLastN) });
  return el;
}

function parseMedia(el: Element): Colibri2Media {
  return compact({
    type: readMediaType(el),
    payloadTypes: el.getChildren('payload-type', NS_JINGLE_RTP).map(detach),
    rtpHdrExts: el.getChildren('rtp-hdrext', NS_RTP_HDREXT).map(detach),
    extmapAllowMixed: el.getChild('extmap-allow-mixed', NS_RTP_HDREXT) ? true : undefined,
  });
}

function buildMedia(media: Colibri2Media): Element {
  const el = new Element('media', { type: media.type });
  for (const pt of media.payloadTypes) el.cnode(clone(pt));
  for (const ext of media.rtpHdrExts) el.cnode(clone(ext));
  if (media.extmapAllowMixed) el.c('extmap-allow-mixed', { xmlns: NS_RTP_HDREXT });
  return el;
}

function parseTransport(el: Element): Colibri2Transport {
  const iceUdp = el.getChild('transport', NS_JINGLE_ICE_UDP);
  const sctp = el.getChild('sctp', NS_COLIBRI2);
  return compact({
    iceControlling: readBool(el, 'ice-controlling'),
    useUniquePort: readBool(el, 'use-unique-port'),
    iceRestart: readBool(el, 'ice-restart'),
    iceUdp: iceUdp ? detach(iceUdp) : undefined,
    sctp: sctp ? parseSctp(sctp) : undefined,
  });
}

function buildTransport(transport: Colibri2Transport): Element {
  const el = new Element('transport', {
    'ice-controlling': boolAttr(transport.iceControlling),
    'use-unique-port': boolAttr(transport.useUniquePort),
    'ice-restart': boolAttr(transport.iceRestart),
  });
  if (transport.iceUdp) el.cnode(clone(transport.iceUdp));
  if (transport.sctp) {
    const { port, role } = transport.sctp;
    el.c('sctp', { port: port === undefined ? undefined : String(port), role });
  }
  return el;
}

function parseSctp(el: Element): Colibri2Sctp {
  const role = optAttr(el, 'role');
  if (role !== undefined && role !== 'client' && role !== 'server') throw bad(el, 'role', role);
  const port = optAttr(el, 'port') === undefined ? undefined : requireInt(el, 'port', 0, 65535);
  return compact({ port, role });
}

function parseSources(el: Element): Colibri2MediaSource[] {
  return el.getChildren('media-source', NS_COLIBRI2).map((ms) => compact({
    type: readMediaType(ms),
    id: requireAttr(ms, 'id'),
    synthetic: readBool(ms, 'synthetic'),
    sources: ms.getChildren('source', NS_SSMA).map(detach),
    ssrcGroups: ms.getChildren('ssrc-group', NS_SSMA).map(detach),
  }));
}

function buildSources(sources: Colibri2MediaSource[]): Element {
  const el = new Element('sources');
  for (const source of sources) {
    const ms = el.c('media-source', { type: source.type, id: source.id, synthetic: boolAttr(source.synthetic) });
    for (const s of source.sources) ms.cnode(clone(s));
    for (const group of source.ssrcGroups) ms.cnode(clone(group));
  }
  return el;
}

// -------------------------------------------------------------------------------------------------
// Errors (Colibri2Error.java; jitsi-videobridge colibri2/Colibri2Util.kt)

export type Colibri2ErrorReason =
  | 'conference_not_found' | 'conference_already_exists' | 'feature_not_implemented'
  | 'graceful_shutdown' | 'unknown_endpoint' | 'unspecified';

const REASONS: readonly Colibri2ErrorReason[] = [
  'conference_not_found', 'conference_already_exists', 'feature_not_implemented', 'graceful_shutdown', 'unknown_endpoint', 'unspecified',
];

/**
 * A stanza error that carries `<error xmlns="jitsi:colibri2" reason/>` and, for unknown_endpoint,
 * `<endpoint xmlns="jitsi:colibri2" id/>` after it: jicofo reads both to re-invite only the lost
 * endpoint instead of failing the whole conference on that bridge. Throw it from a Colibri2 handler.
 */
export class Colibri2Error extends StanzaError {
  constructor(
    type: StanzaErrorType,
    condition: StanzaErrorCondition,
    readonly reason: Colibri2ErrorReason,
    text?: string,
    readonly endpointId?: string,
  ) {
    super(type, condition, text, new Element('error', { xmlns: NS_COLIBRI2, reason }));
    this.name = 'Colibri2Error';
  }

  override toElement(): Element {
    const el = super.toElement();
    if (this.endpointId !== undefined) el.c('endpoint', { xmlns: NS_COLIBRI2, id: this.endpointId });
    return el;
  }

  /** A request without create for a meeting-id the bridge doesn't have. */
  static conferenceNotFound(meetingId: string): Colibri2Error {
    return new Colibri2Error('cancel', 'item-not-found', 'conference_not_found', `Conference not found for ID: ${meetingId}`);
  }

  static conferenceAlreadyExists(meetingId: string): Colibri2Error {
    return new Colibri2Error('cancel', 'conflict', 'conference_already_exists', `Conference already exists for ID: ${meetingId}`);
  }

  /** A create while shutting down gracefully; jicofo then moves the conference to another bridge. */
  static gracefulShutdown(): Colibri2Error {
    return new Colibri2Error('cancel', 'service-unavailable', 'graceful_shutdown', 'In graceful shutdown');
  }

  static unknownEndpoint(endpointId: string): Colibri2Error {
    return new Colibri2Error('cancel', 'item-not-found', 'unknown_endpoint', `Endpoint not found for ID: ${endpointId}`, endpointId);
  }

  /** E.g. relays mixed with endpoints, or media/transport/sources for several endpoints in one request. */
  static featureNotImplemented(text: string): Colibri2Error {
    return new Colibri2Error('cancel', 'feature-not-implemented', 'feature_not_implemented', text);
  }
}

/** An error reply to a Colibri2 request, as the focus reads it. */
export interface Colibri2ErrorReply {
  type: StanzaErrorType;
  condition: StanzaErrorCondition;
  text?: string;
  /** Absent when the error came from something other than a bridge (the MUC, the server). */
  reason?: Colibri2ErrorReason;
  /** With unknown_endpoint: the endpoint the bridge no longer knows. */
  endpointId?: string;
}

const ERROR_TYPES: readonly StanzaErrorType[] = ['auth', 'cancel', 'continue', 'modify', 'wait'];
const CONDITIONS: ReadonlySet<string> = new Set<StanzaErrorCondition>([
  'bad-request', 'conflict', 'feature-not-implemented', 'forbidden', 'gone', 'internal-server-error',
  'item-not-found', 'jid-malformed', 'not-acceptable', 'not-allowed', 'not-authorized', 'policy-violation',
  'recipient-unavailable', 'redirect', 'registration-required', 'remote-server-not-found',
  'remote-server-timeout', 'resource-constraint', 'service-unavailable', 'subscription-required',
  'undefined-condition', 'unexpected-request',
]);

/** Accepts the stanza-level `<error/>` or the IQ carrying it. A missing reason attribute reads as unspecified. */
export function parseColibri2Error(el: Element): Colibri2ErrorReply {
  const error = el.name === 'error' && el.getNS() !== NS_COLIBRI2 ? el : el.getChild('error');
  if (!error) throw StanzaError.badRequest('no <error/>');
  const type = error.attrs.type;
  if (!ERROR_TYPES.includes(type)) throw bad(error, 'type', type);
  const conditionEl = error.getChildElements().find((c) => c.attrs.xmlns === NS_XMPP_STANZAS && c.name !== 'text');
  if (!conditionEl || !CONDITIONS.has(conditionEl.name)) throw StanzaError.badRequest('<error/> lacks a defined condition');
  const reply: Colibri2ErrorReply = {
    type: type as StanzaErrorType,
    condition: conditionEl.name as StanzaErrorCondition,
    text: error.getChildText('text', NS_XMPP_STANZAS) ?? undefined,
  };
  const extension = error.getChild('error', NS_COLIBRI2);
  if (extension) {
    const reason = optAttr(extension, 'reason') ?? 'unspecified';
    if (!REASONS.includes(reason as Colibri2ErrorReason)) throw bad(extension, 'reason', reason);
    reply.reason = reason as Colibri2ErrorReason;
  }
  const endpoint = error.getChild('endpoint', NS_COLIBRI2);
  if (endpoint) reply.endpointId = requireAttr(endpoint, 'id');
  return compact(reply);
}

/** The stanza-level `<error/>`: a {@link Colibri2Error}'s when there is a reason, else a plain StanzaError's. */
export function buildColibri2Error(reply: Colibri2ErrorReply): Element {
  const { type, condition, text, reason, endpointId } = reply;
  const error = reason === undefined
    ? new StanzaError(type, condition, text)
    : new Colibri2Error(type, condition, reason, text, endpointId);
  return error.toElement();
}

// -------------------------------------------------------------------------------------------------
// Brewery presence stats (ColibriStatsExtension.java; jicofo Bridge.setStats)

/** `<stats xmlns="http://jitsi.org/protocol/colibri">`: stat name → value, as written. */
export type ColibriStats = Record<string, string>;

/** Stat names jicofo's Bridge.setStats reads from brewery presence, plus the counters JVB publishes that people graph. */
export const BridgeStat = {
  stressLevel: 'stress_level',
  averageParticipantStress: 'average_participant_stress',
  /** Sticky in jicofo: once true the bridge gets no new conferences. */
  gracefulShutdown: 'graceful_shutdown',
  shuttingDown: 'shutting_down',
  /** jicofo treats a bridge as draining until it has seen drain=false, so always publish it. */
  drain: 'drain',
  healthy: 'healthy',
  version: 'version',
  release: 'release',
  region: 'region',
  relayId: 'relay_id',
  /** Not read by jicofo. */
  conferences: 'conferences',
  /** Not read by jicofo. */
  participants: 'participants',
} as const;

/** Accepts `<stats/>` or the presence carrying it. */
export function parseColibriStats(el: Element): ColibriStats {
  const stats = el.name === 'stats' ? el : el.getChild('stats', NS_COLIBRI);
  if (!stats || stats.getNS() !== NS_COLIBRI) throw StanzaError.badRequest(`no ${NS_COLIBRI} <stats/>`);
  const result: ColibriStats = {};
  for (const stat of stats.getChildren('stat')) {
    const name = requireAttr(stat, 'name');
    // A plain object keeps fixtures comparable; refuse the one key it would not store.
    if (name === '__proto__') throw bad(stat, 'name', name);
    result[name] = requireAttr(stat, 'value');
  }
  return result;
}

export function buildColibriStats(stats: ColibriStats): Element {
  const el = new Element('stats', { xmlns: NS_COLIBRI });
  for (const [name, value] of Object.entries(stats)) el.c('stat', { name, value });
  return el;
}

/** What jicofo makes of a bridge's stats (Bridge.kt setStats); absent fields leave its previous view unchanged. */
export interface BridgeStatus {
  stressLevel?: number;
  averageParticipantStress?: number;
  gracefulShutdown: boolean;
  shuttingDown: boolean;
  drain?: boolean;
  healthy?: boolean;
  version?: string;
  release?: string;
  region?: string;
  relayId?: string;
}

/** Reads stats the way jicofo does: booleans are "true" in any case, numbers that don't parse are ignored. */
export function readBridgeStatus(stats: ColibriStats): BridgeStatus {
  const bool = (name: string) => {
    const value = stats[name];
    return value === undefined ? undefined : value.toLowerCase() === 'true';
  };
  const num = (name: string) => {
    const value = stats[name];
    const n = value === undefined || value.trim() === '' ? NaN : Number(value);
    return Number.isFinite(n) ? n : undefined;
  };
  return compact({
    stressLevel: num(BridgeStat.stressLevel),
    averageParticipantStress: num(BridgeStat.averageParticipantStress),
    gracefulShutdown: bool(BridgeStat.gracefulShutdown) ?? false,
    shuttingDown: bool(BridgeStat.shuttingDown) ?? false,
    drain: bool(BridgeStat.drain),
    healthy: bool(BridgeStat.healthy),
    version: stats[BridgeStat.version],
    release: stats[BridgeStat.release],
    region: stats[BridgeStat.region],
    relayId: stats[BridgeStat.relayId],
  });
}

// -------------------------------------------------------------------------------------------------

function payloadOf(el: Element, name: string): Element {
  const payload = el.name === name ? el : el.getChild(name, NS_COLIBRI2);
  if (!payload || payload.getNS() !== NS_COLIBRI2) throw StanzaError.badRequest(`no ${NS_COLIBRI2} <${name}/>`);
  return payload;
}

function colibri2Children(el: Element): Element[] {
  return el.getChildElements().filter((child) => child.getNS() === NS_COLIBRI2);
}

/** A copy without the parent stanza, with the namespace it inherited written on it. */
function detach(el: Element): Element {
  const copy = clone(el);
  if (copy.attrs.xmlns === undefined && !el.name.includes(':')) copy.attrs.xmlns = el.getNS();
  return copy;
}

/** A copy of a detached Colibri2 element, without the namespace its new parent already declares. */
function embed(el: Element): Element {
  const copy = clone(el);
  if (copy.attrs.xmlns === NS_COLIBRI2) delete copy.attrs.xmlns;
  return copy;
}

function optAttr(el: Element, name: string): string | undefined {
  const value: unknown = el.attrs[name];
  return typeof value === 'string' ? value : undefined;
}

function requireAttr(el: Element, name: string): string {
  const value = optAttr(el, name);
  if (value === undefined || value === '') throw StanzaError.badRequest(`<${el.name}/> lacks '${name}'`);
  return value;
}

function bad(el: Element, name: string, value: unknown): StanzaError {
  return StanzaError.badRequest(`<${el.name}/> has a bad '${name}': '${String(value)}'`);
}

function readBool(el: Element, name: string): boolean | undefined {
  const value = optAttr(el, name);
  if (value === undefined) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw bad(el, name, value);
}

function requireInt(el: Element, name: string, min: number, max: number): number {
  const value = requireAttr(el, name);
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw bad(el, name, value);
  return n;
}

function readMediaType(el: Element): Colibri2MediaType {
  const type = requireAttr(el, 'type');
  if (type !== 'audio' && type !== 'video') throw bad(el, 'type', type);
  return type;
}

function boolAttr(value: boolean | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

/** Drops keys whose value is undefined, so optional fields are absent rather than undefined. */
function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}
