/**
 * XEP-0167 Jingle RTP Sessions (v1.2.3, https://xmpp.org/extensions/xep-0167.html): the RTP
 * `<description/>` of a Jingle content, with what rides in it: XEP-0293 RTCP feedback (v1.0.2),
 * XEP-0294 header extensions incl. `<extmap-allow-mixed/>` (v1.1.2) and XEP-0339 source-specific
 * attributes (v1.0.1): `<source/>` and `<ssrc-group/>`.
 *
 * Jitsi deviations:
 * - `media="application"` for the data channel content (an empty description; the SCTP port is in the
 *   transport's `<sctpmap/>`);
 * - `maxptime` on the audio description (Jicofo sets `maxptime="60"`; the XEP has it on payload types);
 * - a payload-type `<parameter/>` may have no name (Jicofo: RED's `value="111/111"`) or an empty one
 *   (lib-jitsi-meet: `name=""`), which the XEP's schema does not allow; both are kept as they came;
 * - `<rtcp-mux/>` in the description (protocol notes §5.2; lib-jitsi-meet maps it to `a=rtcp-mux`);
 * - `<source/>` carries `name` (`<endpointId>-<a|v><n>`) and `videoType` (`camera`|`desktop`)
 *   attributes and a `<ssrc-info xmlns="http://jitsi.org/jitmeet" owner=…/>` child (owner = endpoint ID,
 *   or `jvb` for the bridge's own sources); its `<parameter/>` (only `msid`, and `mid` under SSRC
 *   rewriting) is read in the SSMA namespace or, as Jicofo writes it, in the RTP one;
 * - `<ssrc-group semantics="SIM"/>` for simulcast, not in the XEP's list; only `SIM` and `FID` are
 *   accepted, as Jicofo does.
 * Elements this module does not model (`<encryption/>`, `<bandwidth/>`, `<rid-group/>`, …) are kept in
 * `extensions`; `<parameter/>` children of `<rtcp-fb/>`/`<rtp-hdrext/>`, which WebRTC never produces,
 * unknown children of payload types and sources, and the description's legacy `ssrc` attribute are
 * dropped. rid-based `<source rid=…/>` (never sent by lib-jitsi-meet) is refused for lacking `ssrc`.
 * Pure and browser-safe.
 */
import { clone, Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import { oneOf, required, requiredUint, uint } from './attributes.ts';
import type { JingleSenders } from './jingle.ts';

export const NS_JINGLE_RTP = 'urn:xmpp:jingle:apps:rtp:1';
export const NS_JINGLE_RTCP_FB = 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0';
export const NS_JINGLE_RTP_HDREXT = 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0';
export const NS_JINGLE_SSMA = 'urn:xmpp:jingle:apps:rtp:ssma:0';
/** Jitsi Meet's namespace (`ssrc-info`, `json-message`). */
export const NS_JITMEET = 'http://jitsi.org/jitmeet';

export type RtpMedia = 'audio' | 'video' | 'application';
export type VideoType = 'camera' | 'desktop';
/** RFC 5576 FID (RTX, RFC 4588) and Jitsi's SIM (simulcast, lowest layer first). */
export type SsrcGroupSemantics = 'FID' | 'SIM';

const MEDIA: readonly RtpMedia[] = ['audio', 'video', 'application'];
const VIDEO_TYPES: readonly VideoType[] = ['camera', 'desktop'];
const SEMANTICS: readonly SsrcGroupSemantics[] = ['FID', 'SIM'];
const SENDERS: readonly JingleSenders[] = ['both', 'initiator', 'none', 'responder'];
const UINT32_MAX = 0xffffffff;

/** A payload type's `<parameter/>`: one `a=fmtp` entry. */
export interface PayloadParameter {
  /** Absent or '' for a bare fmtp value (RFC 2198 RED `111/111`, RFC 4733 events `0-16`). */
  name?: string;
  value: string;
}

/** XEP-0293 `<rtcp-fb type=… subtype=…/>`: `a=rtcp-fb:<pt> <type> [<subtype>]`. */
export interface RtcpFeedback {
  type: string;
  subtype?: string;
}

/** XEP-0167 §4 `<payload-type/>`: `a=rtpmap` + `a=fmtp` + `a=rtcp-fb` of one payload type. */
export interface PayloadType {
  id: number;
  name?: string;
  clockrate?: number;
  channels?: number;
  ptime?: number;
  maxptime?: number;
  parameters: PayloadParameter[];
  feedback: RtcpFeedback[];
  /** XEP-0293 `<rtcp-fb-trr-int value=…/>` in ms. */
  trrInt?: number;
}

/** XEP-0294 `<rtp-hdrext id=… uri=… senders=…/>`: `a=extmap:<id>[/<direction>] <uri>`. */
export interface RtpHeaderExtension {
  id: number;
  uri: string;
  senders?: JingleSenders;
}

/** XEP-0339 `<parameter name=… value=…/>` of a source: `a=ssrc:<ssrc> <name>[:<value>]`. */
export interface SourceParameter {
  name: string;
  value?: string;
}

/** XEP-0339 `<source ssrc=…/>` with Jitsi's name, video type and owner. */
export interface RtpSource {
  ssrc: number;
  name?: string;
  videoType?: VideoType;
  parameters: SourceParameter[];
  /** `<ssrc-info owner=…/>`: the endpoint ID (or `jvb`) whose source this is. */
  owner?: string;
}

/** XEP-0339 `<ssrc-group semantics=…>`: `a=ssrc-group:<semantics> <ssrc>…`, order kept. */
export interface SsrcGroup {
  semantics: SsrcGroupSemantics;
  ssrcs: number[];
}

/** `<description xmlns="urn:xmpp:jingle:apps:rtp:1" media=…/>`. */
export interface RtpDescription {
  media: RtpMedia;
  /** Jitsi: `a=maxptime` for the whole m-line, in ms. */
  maxptime?: number;
  /** In preference order (XEP-0167 §5). */
  payloadTypes: PayloadType[];
  /** Description-level feedback: `a=rtcp-fb:*`. */
  feedback: RtcpFeedback[];
  trrInt?: number;
  headerExtensions: RtpHeaderExtension[];
  extmapAllowMixed: boolean;
  rtcpMux: boolean;
  sources: RtpSource[];
  ssrcGroups: SsrcGroup[];
  /** Children this module does not model, kept for the round trip. */
  extensions: Element[];
}





const str = (n: number | undefined) => (n === undefined ? undefined : String(n));

function parseFeedback(el: Element): RtcpFeedback {
  const feedback: RtcpFeedback = { type: required(el, 'type') };
  if (typeof el.attrs.subtype === 'string') feedback.subtype = el.attrs.subtype;
  return feedback;
}

function buildFeedback(parent: Element, feedback: readonly RtcpFeedback[], trrInt: number | undefined): void {
  for (const { type, subtype } of feedback) parent.c('rtcp-fb', { xmlns: NS_JINGLE_RTCP_FB, type, subtype });
  if (trrInt !== undefined) parent.c('rtcp-fb-trr-int', { xmlns: NS_JINGLE_RTCP_FB, value: String(trrInt) });
}

export function parsePayloadType(el: Element): PayloadType {
  const payloadType: PayloadType = { id: requiredUint(el, 'id', 127), parameters: [], feedback: [] };
  if (typeof el.attrs.name === 'string') payloadType.name = el.attrs.name;
  for (const key of ['clockrate', 'channels', 'ptime', 'maxptime'] as const) {
    const value = uint(el, key, UINT32_MAX, key === 'channels' ? 1 : 0);
    if (value !== undefined) payloadType[key] = value;
  }
  for (const child of el.getChildElements()) {
    const ns = child.getNS();
    if (ns === NS_JINGLE_RTP && child.name === 'parameter') {
      const value = child.attrs.value as unknown;
      if (typeof value !== 'string') throw StanzaError.badRequest("<parameter/> lacks 'value'");
      const name = child.attrs.name as unknown;
      payloadType.parameters.push(typeof name === 'string' ? { name, value } : { value });
    } else if (ns === NS_JINGLE_RTCP_FB && child.name === 'rtcp-fb') {
      payloadType.feedback.push(parseFeedback(child));
    } else if (ns === NS_JINGLE_RTCP_FB && child.name === 'rtcp-fb-trr-int') {
      payloadType.trrInt = requiredUint(child, 'value', UINT32_MAX);
    }
  }
  return payloadType;
}

/** A `<payload-type/>` without xmlns: it inherits the description's namespace. */
export function buildPayloadType(payloadType: PayloadType): Element {
  const el = new Element('payload-type', {
    id: String(payloadType.id),
    name: payloadType.name,
    clockrate: str(payloadType.clockrate),
    channels: str(payloadType.channels),
    ptime: str(payloadType.ptime),
    maxptime: str(payloadType.maxptime),
  });
  for (const { name, value } of payloadType.parameters) el.c('parameter', { name, value });
  buildFeedback(el, payloadType.feedback, payloadType.trrInt);
  return el;
}

/** XEP-0294 types `id` as unsignedShort: offers may use RFC 8285 §5's 4096-4351 "answerer picks" range. */
function parseHeaderExtension(el: Element): RtpHeaderExtension {
  const extension: RtpHeaderExtension = { id: requiredUint(el, 'id', 65535, 1), uri: required(el, 'uri') };
  const senders = oneOf(el, 'senders', SENDERS);
  if (senders !== undefined) extension.senders = senders;
  return extension;
}

export function parseRtpSource(el: Element): RtpSource {
  const source: RtpSource = { ssrc: requiredUint(el, 'ssrc', UINT32_MAX), parameters: [] };
  if (typeof el.attrs.name === 'string') source.name = el.attrs.name;
  const videoType = oneOf(el, 'videoType', VIDEO_TYPES);
  if (videoType !== undefined) source.videoType = videoType;
  for (const child of el.getChildElements()) {
    const ns = child.getNS();
    if (child.name === 'parameter' && (ns === NS_JINGLE_SSMA || ns === NS_JINGLE_RTP)) {
      const parameter: SourceParameter = { name: required(child, 'name') };
      if (typeof child.attrs.value === 'string') parameter.value = child.attrs.value;
      source.parameters.push(parameter);
    } else if (child.name === 'ssrc-info' && ns === NS_JITMEET) {
      source.owner = required(child, 'owner');
    }
  }
  return source;
}

/** `<source xmlns="…ssma:0" …>` with its parameters (no xmlns, SSMA as XEP-0339 has them) and owner. */
export function buildRtpSource(source: RtpSource): Element {
  const el = new Element('source', { xmlns: NS_JINGLE_SSMA, ssrc: String(source.ssrc), name: source.name, videoType: source.videoType });
  for (const { name, value } of source.parameters) el.c('parameter', { name, value });
  if (source.owner !== undefined) el.c('ssrc-info', { xmlns: NS_JITMEET, owner: source.owner });
  return el;
}

export function parseSsrcGroup(el: Element): SsrcGroup {
  const semantics = oneOf(el, 'semantics', SEMANTICS);
  if (semantics === undefined) throw StanzaError.badRequest("<ssrc-group/> lacks 'semantics'");
  const ssrcs = el.getChildren('source', NS_JINGLE_SSMA).map((source) => requiredUint(source, 'ssrc', UINT32_MAX));
  return { semantics, ssrcs };
}

export function buildSsrcGroup(group: SsrcGroup): Element {
  const el = new Element('ssrc-group', { xmlns: NS_JINGLE_SSMA, semantics: group.semantics });
  for (const ssrc of group.ssrcs) el.c('source', { ssrc: String(ssrc) });
  return el;
}

export function parseRtpDescription(el: Element): RtpDescription {
  if (el.name !== 'description' || el.getNS() !== NS_JINGLE_RTP) throw StanzaError.badRequest('not an RTP <description/>');
  const media = oneOf(el, 'media', MEDIA);
  if (media === undefined) throw StanzaError.badRequest("<description/> lacks 'media'");
  const description: RtpDescription = {
    media, payloadTypes: [], feedback: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: false,
    sources: [], ssrcGroups: [], extensions: [],
  };
  const maxptime = uint(el, 'maxptime', UINT32_MAX);
  if (maxptime !== undefined) description.maxptime = maxptime;
  for (const child of el.getChildElements()) {
    const ns = child.getNS();
    const name = child.name;
    if (ns === NS_JINGLE_RTP && name === 'payload-type') description.payloadTypes.push(parsePayloadType(child));
    else if (ns === NS_JINGLE_RTP && name === 'rtcp-mux') description.rtcpMux = true;
    else if (ns === NS_JINGLE_RTCP_FB && name === 'rtcp-fb') description.feedback.push(parseFeedback(child));
    else if (ns === NS_JINGLE_RTCP_FB && name === 'rtcp-fb-trr-int') description.trrInt = requiredUint(child, 'value', UINT32_MAX);
    else if (ns === NS_JINGLE_RTP_HDREXT && name === 'rtp-hdrext') description.headerExtensions.push(parseHeaderExtension(child));
    else if (ns === NS_JINGLE_RTP_HDREXT && name === 'extmap-allow-mixed') description.extmapAllowMixed = true;
    else if (ns === NS_JINGLE_SSMA && name === 'source') description.sources.push(parseRtpSource(child));
    else if (ns === NS_JINGLE_SSMA && name === 'ssrc-group') description.ssrcGroups.push(parseSsrcGroup(child));
    else description.extensions.push(child);
  }
  return description;
}

/**
 * Children in Jicofo's order (payload types, feedback, header extensions, extmap-allow-mixed,
 * rtcp-mux), then sources and groups as lib-jitsi-meet expands them, then extensions.
 */
export function buildRtpDescription(description: RtpDescription): Element {
  const el = new Element('description', { xmlns: NS_JINGLE_RTP, media: description.media, maxptime: str(description.maxptime) });
  for (const payloadType of description.payloadTypes) el.cnode(buildPayloadType(payloadType));
  buildFeedback(el, description.feedback, description.trrInt);
  for (const { id, uri, senders } of description.headerExtensions) {
    el.c('rtp-hdrext', { xmlns: NS_JINGLE_RTP_HDREXT, id: String(id), uri, senders });
  }
  if (description.extmapAllowMixed) el.c('extmap-allow-mixed', { xmlns: NS_JINGLE_RTP_HDREXT });
  if (description.rtcpMux) el.c('rtcp-mux');
  for (const source of description.sources) el.cnode(buildRtpSource(source));
  for (const group of description.ssrcGroups) el.cnode(buildSsrcGroup(group));
  for (const extension of description.extensions) el.cnode(clone(extension));
  return el;
}

/** The `msid` parameter of a source (`<stream id> <track id>`), if signalled. */
export function sourceMsid(source: RtpSource): string | undefined {
  return source.parameters.find((p) => p.name === 'msid')?.value;
}
