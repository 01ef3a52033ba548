/**
 * The focus's half of the Jingle offer/answer with a Jitsi client (protocol notes §5.1–§5.5, §6.2): the
 * `session-initiate` built from the bridge's Colibri2 allocation, the other participants' sources, the
 * client's disco features and one codec table; the Colibri2 `<media/>` the bridge gets from the same table;
 * and the reading of what the client answers (session-accept, transport-info, source-add/remove).
 *
 * Facts from jicofo (CodecUtil, JingleOfferFactory, OfferOptions, ParticipantInviteRunnable, JingleSession,
 * Participant, as of 2026-08):
 * - payload types in preference order, then every RTX payload type (`apt=<pt>`, with ccm fir/nack/nack pli);
 *   transport-cc feedback and header extension only if the client has `http://jitsi.org/tcc`, goog-remb only
 *   if it has `http://jitsi.org/remb` and not tcc; RTX only with `urn:ietf:rfc:4588`; RED (`<pt>/<pt>`,
 *   before opus) only with `http://jitsi.org/opus-red`;
 * - the audio description has `maxptime="60"`; every RTP description (data's too) gets `<rtcp-mux/>`;
 * - each content carries a full copy of the bridge's ICE-UDP transport; `data` adds
 *   `<sctpmap number=<bridge's SCTP port> protocol="webrtc-datachannel" streams="1024"/>`;
 * - BUNDLE of all contents; `<startmuted/>` only when it applies; `<bridge-session id region/>`;
 * - sources in one `<json-message/>` for clients with `http://jitsi.org/json-encoded-sources`, else in the
 *   descriptions with `<ssrc-info owner=<endpoint id>/>`; the bridge's `jvb` sources first;
 * - `initiator` is whatever the caller passes: Jicofo writes its own real JID (`focus@auth…/focus`).
 * Salon's default table offers only opus (+ telephone-event) and VP8 (+ RTX). VP9 (pt 101, RTX 97, Jicofo's
 * numbers and feedback, after VP8 as Jicofo orders them) is opt-in ({@link codecTable}, ENABLE_CODEC_VP9): the
 * bridge forwards its SVC layers per receiver. AV1 (pt 41, RTX 42, Jicofo's numbers and feedback) is opt-in
 * too (ENABLE_CODEC_AV1), with the AV1 RTP Dependency Descriptor header extension (AV1 RTP specification,
 * Appendix A; id 11 on video, as Jicofo) from which the bridge picks each receiver's spatial and temporal
 * layers. AV1 comes after VP8 and VP9, not first as in Jicofo: Salon's own client sends the first offered
 * codec and must stay on VP8; lib-jitsi-meet picks by config.js's preference order instead. A keyframe's
 * dependency descriptor (~90 bytes) needs two-byte header extensions, hence `extmap-allow-mixed`
 * (RFC 8285 §4.3, §6). H.264 (pt 107, RTX 99, Jicofo's numbers) is opt-in too (ENABLE_CODEC_H264), right
 * after VP8 as Jicofo orders it: the bridge forwards its simulcast layers as VP8's, switching at
 * keyframes it recognises from the NAL units (bridge/rtp/h264.ts).
 * Where Jicofo omits `useinbandfec` whenever RED is enabled in its config, Salon omits it only when RED is
 * actually offered. Pure and browser-safe.
 */
import { clone, Element } from 'ltx';
import { StanzaError } from '../xmpp/errors.ts';
import { NS_COLIBRI2, type Colibri2Endpoint, type Colibri2Media, type Colibri2MediaSource } from '../xmpp/protocol/colibri2.ts';
import type { BridgeSession, Jingle, JingleContent, StartMuted } from '../xmpp/protocol/jingle.ts';
import { NS_JINGLE_SCTP, parseIceUdpTransport, type IceCandidate, type IceUdpTransport } from '../xmpp/protocol/jingle-ice.ts';
import {
  buildPayloadType, NS_JINGLE_RTP, NS_JINGLE_RTP_HDREXT, parseRtpSource, parseSsrcGroup,
  type PayloadParameter, type PayloadType, type RtcpFeedback, type RtpDescription,
} from '../xmpp/protocol/jingle-rtp.ts';
import {
  addSourcesToDescriptions, emptyDescription, forReceiver, sourcesFromContents, toJsonSources,
  type OwnedSources, type SourceGroup, type SourceMedia, type SourceSet, type Source,
} from './sources.ts';

// -------------------------------------------------------------------------------------------------
// Client features (the client's disco#info; jicofo Features.kt)

export const ClientFeature = {
  audio: 'urn:xmpp:jingle:apps:rtp:audio',
  video: 'urn:xmpp:jingle:apps:rtp:video',
  sctp: NS_JINGLE_SCTP,
  rtx: 'urn:ietf:rfc:4588',
  remb: 'http://jitsi.org/remb',
  tcc: 'http://jitsi.org/tcc',
  opusRed: 'http://jitsi.org/opus-red',
  jsonSources: 'http://jitsi.org/json-encoded-sources',
  /**
   * Advertised by lib-jitsi-meet since it names its sources; one without it (before source names)
   * reads only the legacy LastNEndpointsChangeEvent and SenderVideoConstraints, which the bridge then sends it too.
   */
  sourceNames: 'http://jitsi.org/source-name',
} as const;

export type ClientFeatures = Record<keyof typeof ClientFeature, boolean>;

export function readClientFeatures(features: Iterable<string>): ClientFeatures {
  const set = new Set(features);
  const entries = Object.entries(ClientFeature).map(([key, uri]) => [key, set.has(uri)]);
  return Object.fromEntries(entries) as ClientFeatures;
}

/** What Jicofo assumes when a client's disco#info fails (Features.defaultFeatures): audio, video, SCTP. */
export const FALLBACK_CLIENT_FEATURES: Readonly<ClientFeatures> = Object.freeze(
  readClientFeatures([ClientFeature.audio, ClientFeature.video, ClientFeature.sctp]),
);

// -------------------------------------------------------------------------------------------------
// The codec table

/** Bandwidth-estimation feedback a codec may carry; each is offered only when in use for the client. */
export type BweFeedback = 'transport-cc' | 'goog-remb';

/** One codec the focus offers and the bridge routes. */
export interface CodecSpec {
  media: SourceMedia;
  /** Encoding name as in `a=rtpmap` (`opus`, `VP8`). */
  name: string;
  pt: number;
  clockrate: number;
  channels?: number;
  /** fmtp parameters. */
  parameters: PayloadParameter[];
  /** Feedback always offered. */
  feedback: RtcpFeedback[];
  /** Feedback offered when that estimator is in use, in this order. */
  bwe: BweFeedback[];
  /** RFC 4588 retransmission, offered when the client supports RTX. */
  rtx?: { pt: number; feedback: RtcpFeedback[] };
}

/** An RTP header extension (RFC 8285) and the media it is offered for. */
export interface HeaderExtensionSpec {
  id: number;
  uri: string;
  media: readonly SourceMedia[];
  /** Offered only with transport-cc. */
  tcc?: boolean;
}

export interface CodecTable {
  /** In preference order per media. */
  codecs: CodecSpec[];
  /** RFC 2198 redundancy for the primary audio codec (opus), offered before it to clients with opus-red. */
  red?: { pt: number; primaryPt: number };
  headerExtensions: HeaderExtensionSpec[];
  extmapAllowMixed: boolean;
  /** `maxptime` of the audio description, in ms. */
  audioMaxptime?: number;
}

export const HeaderExtensionUri = {
  audioLevel: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  transportCc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  av1DependencyDescriptor: 'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
} as const;

/** ccm fir, nack, nack pli: what every video codec and its RTX get. */
export const VIDEO_FEEDBACK: readonly RtcpFeedback[] = Object.freeze([
  { type: 'ccm', subtype: 'fir' }, { type: 'nack' }, { type: 'nack', subtype: 'pli' },
]);

/** Jicofo's defaults (jicofo.codec.*) reduced to what the SFU forwards: opus, telephone-event, VP8 with RTX. */
export const DEFAULT_CODECS: Readonly<CodecTable> = Object.freeze({
  codecs: [
    {
      media: 'audio', name: 'opus', pt: 111, clockrate: 48000, channels: 2,
      parameters: [{ name: 'minptime', value: '10' }, { name: 'useinbandfec', value: '1' }], feedback: [], bwe: ['transport-cc'],
    },
    { media: 'audio', name: 'telephone-event', pt: 126, clockrate: 8000, parameters: [], feedback: [], bwe: [] },
    {
      media: 'video', name: 'VP8', pt: 100, clockrate: 90000, parameters: [], feedback: [...VIDEO_FEEDBACK],
      bwe: ['goog-remb', 'transport-cc'], rtx: { pt: 96, feedback: [...VIDEO_FEEDBACK] },
    },
  ],
  headerExtensions: [
    { id: 1, uri: HeaderExtensionUri.audioLevel, media: ['audio'] },
    { id: 10, uri: HeaderExtensionUri.mid, media: ['audio', 'video'] },
    { id: 3, uri: HeaderExtensionUri.absSendTime, media: ['video'] },
    { id: 5, uri: HeaderExtensionUri.transportCc, media: ['audio', 'video'], tcc: true },
  ],
  extmapAllowMixed: true,
  audioMaxptime: 60,
} satisfies CodecTable);

/** VP9 as Jicofo offers it (jicofo.codec.video.vp9): pt 101, RTX 97, VP8's feedback, no fmtp. */
export const VP9_CODEC: Readonly<CodecSpec> = Object.freeze({
  media: 'video', name: 'VP9', pt: 101, clockrate: 90000, parameters: [], feedback: [...VIDEO_FEEDBACK],
  bwe: ['goog-remb', 'transport-cc'], rtx: { pt: 97, feedback: [...VIDEO_FEEDBACK] },
} satisfies CodecSpec);

/** AV1 as Jicofo offers it (jicofo.codec.video.av1): pt 41, RTX 42, VP8's feedback, no fmtp. */
export const AV1_CODEC: Readonly<CodecSpec> = Object.freeze({
  media: 'video', name: 'AV1', pt: 41, clockrate: 90000, parameters: [], feedback: [...VIDEO_FEEDBACK],
  bwe: ['goog-remb', 'transport-cc'], rtx: { pt: 42, feedback: [...VIDEO_FEEDBACK] },
} satisfies CodecSpec);

/**
 * H.264 as Jicofo offers it (jicofo.codec.video.h264): pt 107, RTX 99, VP8's feedback, Constrained
 * Baseline level 3.1 with packetization-mode 1 (Jicofo writes all three into one `profile-level-id`
 * value; here each is its own parameter, as SDP has them).
 */
export const H264_CODEC: Readonly<CodecSpec> = Object.freeze({
  media: 'video', name: 'H264', pt: 107, clockrate: 90000,
  parameters: [{ name: 'profile-level-id', value: '42e01f' }, { name: 'level-asymmetry-allowed', value: '1' }, { name: 'packetization-mode', value: '1' }],
  feedback: [...VIDEO_FEEDBACK], bwe: ['goog-remb', 'transport-cc'], rtx: { pt: 99, feedback: [...VIDEO_FEEDBACK] },
} satisfies CodecSpec);

/**
 * The AV1 dependency descriptor header extension (AV1 RTP specification, Appendix A) on video, with
 * Jicofo's id 11; offered with {@link AV1_CODEC} only.
 */
export const AV1_DEPENDENCY_DESCRIPTOR: Readonly<HeaderExtensionSpec> = Object.freeze({
  id: 11, uri: HeaderExtensionUri.av1DependencyDescriptor, media: Object.freeze(['video'] as const),
} satisfies HeaderExtensionSpec);

/** Which optional codecs the focus offers besides {@link DEFAULT_CODECS}'. */
export interface CodecOptions {
  /** H.264 right after VP8 (ENABLE_CODEC_H264), as Jicofo orders them. Default false. */
  h264?: boolean;
  /** VP9 (SVC) after VP8 (and H.264) (ENABLE_CODEC_VP9). Default false. */
  vp9?: boolean;
  /** AV1 after VP8 and VP9, with the dependency descriptor extension (ENABLE_CODEC_AV1). Default false. */
  av1?: boolean;
}

/**
 * The codec table the focus offers and gives the bridge: {@link DEFAULT_CODECS} itself when nothing
 * optional is on, else a copy with {@link H264_CODEC} right after VP8, then {@link VP9_CODEC} (Jicofo's
 * order: VP8, H264, VP9), then {@link AV1_CODEC}, whose {@link AV1_DEPENDENCY_DESCRIPTOR} goes after the audio level extension
 * (where Jicofo lists it).
 */
export function codecTable(options: CodecOptions = {}): Readonly<CodecTable> {
  if (!options.h264 && !options.vp9 && !options.av1) return DEFAULT_CODECS;
  const codecs: CodecSpec[] = [];
  for (const codec of DEFAULT_CODECS.codecs) {
    codecs.push(codec);
    if (codec.media !== 'video' || codec.name !== 'VP8') continue;
    if (options.h264) codecs.push(H264_CODEC);
    if (options.vp9) codecs.push(VP9_CODEC);
    if (options.av1) codecs.push(AV1_CODEC);
  }
  if (!options.av1) return { ...DEFAULT_CODECS, codecs };
  const headerExtensions: HeaderExtensionSpec[] = [];
  for (const extension of DEFAULT_CODECS.headerExtensions) {
    headerExtensions.push(extension);
    if (extension.uri === HeaderExtensionUri.audioLevel) headerExtensions.push(AV1_DEPENDENCY_DESCRIPTOR);
  }
  return { ...DEFAULT_CODECS, codecs, headerExtensions };
}

/** Which estimator the client gets (ParticipantInviteRunnable.createOffer): TCC if it can, else REMB if it can. */
function bweInUse(features: ClientFeatures): BweFeedback | undefined {
  if (features.tcc) return 'transport-cc';
  return features.remb ? 'goog-remb' : undefined;
}

function payloadType(pt: number, name: string, clockrate: number, channels?: number): PayloadType {
  const payload: PayloadType = { id: pt, name, clockrate, parameters: [], feedback: [] };
  if (channels !== undefined) payload.channels = channels;
  return payload;
}

/**
 * The audio and video RTP descriptions offered to a client with these features: codecs, feedback, header
 * extensions, `<rtcp-mux/>`, no sources. The Colibri2 media are made from the same descriptions.
 */
export function offerDescriptions(features: ClientFeatures, table: CodecTable = DEFAULT_CODECS): RtpDescription[] {
  const bwe = bweInUse(features);
  const offerRed = table.red !== undefined && features.opusRed;
  const media = (['audio', 'video'] as const).filter((m) => features[m]);
  return media.map((m) => {
    const specs = table.codecs.filter((c) => c.media === m);
    const payloadTypes: PayloadType[] = [];
    for (const spec of specs) {
      const primary = payloadType(spec.pt, spec.name, spec.clockrate, spec.channels);
      const redHere = offerRed && table.red?.primaryPt === spec.pt;
      if (redHere && table.red) {
        const red = payloadType(table.red.pt, 'red', spec.clockrate, spec.channels);
        red.parameters.push({ value: `${spec.pt}/${spec.pt}` });
        payloadTypes.push(red);
      }
      // RED already carries redundancy: in-band FEC on top would double it (jicofo CodecUtil).
      primary.parameters = spec.parameters.filter((p) => !(redHere && p.name === 'useinbandfec')).map((p) => ({ ...p }));
      primary.feedback = [...spec.feedback.map((f) => ({ ...f })), ...spec.bwe.filter((b) => b === bwe).map((type) => ({ type }))];
      payloadTypes.push(primary);
    }
    if (features.rtx) {
      for (const spec of specs) {
        if (!spec.rtx) continue;
        const rtx = payloadType(spec.rtx.pt, 'rtx', spec.clockrate);
        rtx.parameters.push({ name: 'apt', value: String(spec.pt) });
        rtx.feedback = spec.rtx.feedback.map((f) => ({ ...f }));
        payloadTypes.push(rtx);
      }
    }
    const description: RtpDescription = {
      media: m,
      payloadTypes,
      feedback: [],
      headerExtensions: table.headerExtensions
        .filter((h) => h.media.includes(m) && (!h.tcc || bwe === 'transport-cc'))
        .map(({ id, uri }) => ({ id, uri })),
      extmapAllowMixed: table.extmapAllowMixed,
      rtcpMux: true,
      sources: [],
      ssrcGroups: [],
      extensions: [],
    };
    if (m === 'audio' && table.audioMaxptime !== undefined) description.maxptime = table.audioMaxptime;
    return description;
  });
}

/** The Colibri2 `<media/>` list for the client's endpoint: exactly the offered payload types and header extensions. */
export function buildColibri2Media(features: ClientFeatures, table: CodecTable = DEFAULT_CODECS): Colibri2Media[] {
  return offerDescriptions(features, table).map((d) => ({
    type: d.media === 'audio' ? 'audio' : 'video',
    payloadTypes: d.payloadTypes.map((pt) => {
      const el = buildPayloadType(pt);
      el.attrs.xmlns = NS_JINGLE_RTP;
      return el;
    }),
    rtpHdrExts: d.headerExtensions.map(({ id, uri }) => new Element('rtp-hdrext', { xmlns: NS_JINGLE_RTP_HDREXT, id: String(id), uri })),
    extmapAllowMixed: d.extmapAllowMixed,
  }));
}

// -------------------------------------------------------------------------------------------------
// What the bridge gave (Colibri2 conference-modified, §6.2)

/** The bridge's side of one endpoint's transport. */
export interface BridgeTransport {
  /** ICE ufrag/pwd, candidates, DTLS fingerprint (setup actpass) and the colibri-ws `<web-socket/>`. */
  ice: IceUdpTransport;
  /** The bridge's SCTP port, when it allocated a data channel. */
  sctpPort?: number;
}

/**
 * Reads an endpoint of the bridge's `conference-modified`.
 * @throws Error when the bridge left out what an offer needs (a bridge fault, not the client's).
 */
export function readBridgeTransport(endpoint: Colibri2Endpoint): BridgeTransport {
  const iceUdp = endpoint.transport?.iceUdp;
  if (!iceUdp) throw new Error(`the bridge's answer for endpoint ${endpoint.id} has no ICE-UDP transport`);
  const ice = parseIceUdpTransport(iceUdp);
  if (!ice.ufrag || !ice.pwd) throw new Error(`the bridge's transport for endpoint ${endpoint.id} lacks ufrag/pwd`);
  if (ice.fingerprints.length === 0) throw new Error(`the bridge's transport for endpoint ${endpoint.id} lacks a DTLS fingerprint`);
  const transport: BridgeTransport = { ice };
  if (endpoint.transport?.sctp?.port !== undefined) transport.sctpPort = endpoint.transport.sctp.port;
  return transport;
}

/**
 * The bridge's feedback sources (conference-level `<sources/>`) as the `jvb` owner's, with the msid
 * lib-jitsi-meet expects for them, `mixedmslabel mixedlabel<audio|video>0` (jicofo parseSources).
 */
export function readBridgeSources(feedback: readonly Colibri2MediaSource[] | undefined): OwnedSources {
  const sources: Source[] = [];
  const groups: SourceGroup[] = [];
  for (const ms of feedback ?? []) {
    for (const el of ms.sources) {
      const rtp = parseRtpSource(el);
      const source: Source = { ssrc: rtp.ssrc, media: ms.type, msid: `mixedmslabel mixedlabel${ms.type}0` };
      if (rtp.name !== undefined) source.name = rtp.name;
      sources.push(source);
    }
    for (const el of ms.ssrcGroups) groups.push({ ...parseSsrcGroup(el), media: ms.type });
  }
  return { owner: 'jvb', sources, groups };
}

// -------------------------------------------------------------------------------------------------
// session-initiate (§5.1)

export interface OfferParams {
  sid: string;
  /** Written as `initiator`; Jicofo uses its real JID. */
  initiator: string;
  transport: BridgeTransport;
  features: ClientFeatures;
  /** The bridge's feedback sources (see {@link readBridgeSources}); signalled first. */
  bridgeSources?: OwnedSources;
  /** The other participants' sources (ConferenceSources.others), unstripped. */
  sources: readonly OwnedSources[];
  /** Default {@link DEFAULT_CODECS}. */
  codecs?: CodecTable;
  bridgeSession?: BridgeSession;
  startMuted?: StartMuted;
  /** Jicofo `strip-simulcast`. Default true. */
  stripSimulcast?: boolean;
}

/** A copy of the bridge's transport for one content: BUNDLE gives every content the same one. */
function contentTransport(bridge: IceUdpTransport, sctpPort: number | undefined): IceUdpTransport {
  const transport: IceUdpTransport = {
    rtcpMux: true,
    fingerprints: bridge.fingerprints.map((f) => ({ ...f, setup: f.setup ?? 'actpass' })),
    candidates: bridge.candidates.map((c): IceCandidate => ({ ...c })),
    webSockets: bridge.webSockets.map((w) => ({ ...w })),
    extensions: [],
  };
  if (bridge.ufrag !== undefined) transport.ufrag = bridge.ufrag;
  if (bridge.pwd !== undefined) transport.pwd = bridge.pwd;
  if (bridge.iceGeneration !== undefined) transport.iceGeneration = bridge.iceGeneration;
  if (sctpPort !== undefined) transport.sctpMap = { port: sctpPort, protocol: 'webrtc-datachannel', streams: 1024 };
  return transport;
}

/** The `session-initiate` payload; the focus wraps it in an IQ from its occupant JID with buildJingle. */
export function buildSessionInitiate(params: OfferParams): Jingle {
  const { features, transport } = params;
  const descriptions = offerDescriptions(features, params.codecs ?? DEFAULT_CODECS);
  const receiver = { jsonSources: features.jsonSources, audio: features.audio, video: features.video, stripSimulcast: params.stripSimulcast ?? true };
  const sources = forReceiver([...(params.bridgeSources ? [params.bridgeSources] : []), ...params.sources], receiver);
  if (!features.jsonSources) addSourcesToDescriptions(descriptions, sources);

  const contents: JingleContent[] = descriptions.map((description) => ({
    creator: 'initiator', name: description.media, senders: 'both', description,
    transport: contentTransport(transport.ice, undefined), extensions: [],
  }));
  if (features.sctp && transport.sctpPort !== undefined) {
    const description: RtpDescription = { ...emptyDescription('application'), rtcpMux: true };
    contents.push({
      creator: 'initiator', name: 'data', senders: 'both', description,
      transport: contentTransport(transport.ice, transport.sctpPort), extensions: [],
    });
  }
  const jingle: Jingle = {
    action: 'session-initiate',
    sid: params.sid,
    initiator: params.initiator,
    contents,
    groups: [{ semantics: 'BUNDLE', contents: contents.map((c) => c.name) }],
    extensions: [],
  };
  if (params.startMuted && (params.startMuted.audio || params.startMuted.video)) jingle.startMuted = { ...params.startMuted };
  if (params.bridgeSession) jingle.bridgeSession = { ...params.bridgeSession };
  if (features.jsonSources) jingle.sources = toJsonSources(sources);
  return jingle;
}

// -------------------------------------------------------------------------------------------------
// What the client answers (§5.3–§5.5)

export interface SessionAccept {
  /** Its ICE credentials, DTLS fingerprint (setup active) and any candidates; forwarded to the bridge. */
  transport: IceUdpTransport;
  /** Its sources, to validate with ConferenceSources.add. */
  sources: SourceSet;
  /** `<initial-last-n xmlns="jitsi:colibri2" value/>` of the video content, if the client sent one. */
  initialLastN?: number;
  responder?: string;
}

const candidateKey = (c: IceCandidate) => `${c.component} ${c.protocol} ${c.ip} ${c.port} ${c.foundation} ${c.type}`;

/**
 * The contents' transport as one (BUNDLE): the first content's transport with every content's candidates,
 * each once. lib-jitsi-meet repeats the transport in each content, or trickles per-mid contents.
 */
function bundledTransport(jingle: Jingle, earlier: readonly IceUdpTransport[] = []): IceUdpTransport | undefined {
  const transports = [...jingle.contents.flatMap((c) => (c.transport ? [c.transport] : [])), ...earlier];
  const [first] = transports;
  if (!first) return undefined;
  const byKey = new Map<string, IceCandidate>();
  for (const candidate of transports.flatMap((t) => t.candidates)) if (!byKey.has(candidateKey(candidate))) byKey.set(candidateKey(candidate), candidate);
  const candidates = [...byKey.values()];
  const fingerprints = transports.find((t) => t.fingerprints.length > 0)?.fingerprints ?? [];
  // rtcp-mux said by any of them (Jigasi's accept carries a bare transport, its transport-info the rest).
  const merged: IceUdpTransport = { ...first, rtcpMux: transports.some((t) => t.rtcpMux), candidates, fingerprints, extensions: first.extensions.map((e) => clone(e)) };
  const ufrag = transports.find((t) => t.ufrag)?.ufrag;
  const pwd = transports.find((t) => t.pwd)?.pwd;
  if (ufrag !== undefined) merged.ufrag = ufrag;
  if (pwd !== undefined) merged.pwd = pwd;
  return merged;
}

function expectAction(jingle: Jingle, ...actions: Jingle['action'][]): void {
  if (!actions.includes(jingle.action)) throw StanzaError.badRequest(`expected ${actions.join(' or ')}, got '${jingle.action}'`);
}

/**
 * Reads a client's `session-accept`; `earlier`: the transports its transport-infos gave before it,
 * newest first, for what the accept leaves out (Jigasi sends its ICE credentials and candidates
 * that way, and accepts with its fingerprint alone: JingleSession.noteEarlyTransport).
 * @throws StanzaError bad-request when it has no transport, no ICE credentials, no DTLS fingerprint, or a
 *   setup other than active/passive (the answer to an actpass offer must choose, RFC 5763 §5).
 */
export function readSessionAccept(jingle: Jingle, earlier: readonly IceUdpTransport[] = []): SessionAccept {
  expectAction(jingle, 'session-accept');
  const transport = bundledTransport(jingle, earlier);
  if (!transport) throw StanzaError.badRequest('session-accept has no transport');
  if (!transport.ufrag || !transport.pwd) throw StanzaError.badRequest('session-accept transport lacks ICE ufrag/pwd');
  if (transport.fingerprints.length === 0) throw StanzaError.badRequest('session-accept transport lacks a DTLS fingerprint');
  for (const { setup } of transport.fingerprints) {
    if (setup === 'actpass' || setup === 'holdconn') throw StanzaError.badRequest(`session-accept fingerprint has setup '${setup}', expected active or passive`);
  }
  const accept: SessionAccept = { transport, sources: sourcesFromContents(jingle.contents) };
  const lastN = jingle.contents.find((c) => c.name === 'video')?.extensions.find((e) => e.name === 'initial-last-n' && e.getNS() === NS_COLIBRI2);
  if (lastN) {
    const raw: unknown = lastN.attrs.value;
    const value = typeof raw === 'string' && /^-?\d{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (!(value >= -1 && value <= 0x7fffffff)) throw StanzaError.badRequest(`<initial-last-n/> has a bad 'value': '${String(lastN.attrs.value)}'`);
    accept.initialLastN = value;
  }
  if (jingle.responder !== undefined) accept.responder = jingle.responder;
  return accept;
}

/**
 * Reads a client's `transport-info` (trickled candidates, or its answer to an in-place ICE restart).
 * @throws StanzaError bad-request "missing transport", as Jicofo answers.
 */
export function readTransportInfo(jingle: Jingle): IceUdpTransport {
  expectAction(jingle, 'transport-info');
  const transport = bundledTransport(jingle);
  if (!transport) throw StanzaError.badRequest('missing transport');
  return transport;
}

export interface SourceChangeRequest {
  action: 'add' | 'remove';
  sources: SourceSet;
}

/** Reads a client's `source-add`/`source-remove` (or the legacy `addsource`/`removesource`). */
export function readSourceChanges(jingle: Jingle): SourceChangeRequest {
  expectAction(jingle, 'source-add', 'addsource', 'source-remove', 'removesource');
  const action = jingle.action === 'source-add' || jingle.action === 'addsource' ? 'add' : 'remove';
  return { action, sources: sourcesFromContents(jingle.contents) };
}
