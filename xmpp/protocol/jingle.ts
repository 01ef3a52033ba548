/**
 * XEP-0166 Jingle (v1.1.2, https://xmpp.org/extensions/xep-0166.html): the `<jingle/>` envelope with
 * its action, session id, parties, contents and reason, as Jicofo and lib-jitsi-meet exchange it
 * (protocol notes §5). A content's RTP description is ./jingle-rtp.ts and its ICE-UDP transport
 * ./jingle-ice.ts; XEP-0338 (v1.0.0) BUNDLE `<group/>` lives here too.
 *
 * Jitsi deviations:
 * - actions `source-add`, `source-remove` and their legacy spellings `addsource`, `removesource`;
 * - `creator` is left out of the contents of source-add/source-remove (both directions), although
 *   the XEP requires it; `senders="rejected"` (lib-jitsi-meet, a port-0 m-line) is not in the XEP;
 * - `<bridge-session xmlns="http://jitsi.org/protocol/focus" id=… region=… restart=… ice-restart=…/>`
 *   (focus → client: which bridge allocation; client → focus: restart requests, §5.6 and §5.8);
 * - `<startmuted xmlns="http://jitsi.org/jitmeet/start-muted" audio=… video=…/>` in session-initiate;
 * - `<json-message xmlns="http://jitsi.org/jitmeet">{"sources":{…}}</json-message>`: Jicofo's compact
 *   JSON encoding of sources (`EndpointSourceSet.compactJson`), decoded into `sources`. Per owner it is
 *   `[videoSources, videoGroups, audioSources(, audioGroups)]`, sources `{"s":ssrc,"n":name,"m":msid,"v":"d"}`
 *   (`v` only for desktop video), groups `["f"|"s", ssrc…]`; Jicofo always writes the first three arrays
 *   and the fourth only when there are audio groups, and so does buildJingle.
 * - `<ice-state xmlns="http://jitsi.org/protocol/focus">` (a session-info's ICE state) → `iceState`.
 * Other children (`<traceparent xmlns="jitsi:opentelemetry"/>`, other session-info payloads,
 * `<initial-last-n xmlns="jitsi:colibri2"/>` in a content, …) are kept in `extensions`.
 * Pure and browser-safe.
 */
import { clone, Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import { oneOf, readBoolean, required } from './attributes.ts';
import { NS_FOCUS } from './conference-iq.ts';
import { buildIceUdpTransport, NS_JINGLE_ICE_UDP, parseIceUdpTransport, type IceUdpTransport } from './jingle-ice.ts';
import {
  buildRtpDescription, NS_JINGLE_RTP, NS_JITMEET, parseRtpDescription, type RtpDescription, type SsrcGroup,
} from './jingle-rtp.ts';

export const NS_JINGLE = 'urn:xmpp:jingle:1';
export const NS_JINGLE_GROUPING = 'urn:xmpp:jingle:apps:grouping:0';
export const NS_JITSI_START_MUTED = 'http://jitsi.org/jitmeet/start-muted';
export { NS_FOCUS };

/** XEP-0166 §7.2 actions plus Jitsi's source signalling. */
export type JingleAction =
  | 'content-accept' | 'content-add' | 'content-modify' | 'content-reject' | 'content-remove'
  | 'description-info' | 'security-info'
  | 'session-accept' | 'session-info' | 'session-initiate' | 'session-terminate'
  | 'transport-accept' | 'transport-info' | 'transport-reject' | 'transport-replace'
  | 'source-add' | 'source-remove' | 'addsource' | 'removesource';
export type JingleCreator = 'initiator' | 'responder';
/** XEP-0166 §7.3 senders (also XEP-0294's). */
export type JingleSenders = 'both' | 'initiator' | 'none' | 'responder';
/** A content's senders: lib-jitsi-meet adds `rejected`. */
export type ContentSenders = JingleSenders | 'rejected';
/** XEP-0166 §7.4 reason conditions. */
export type JingleReasonCondition =
  | 'alternative-session' | 'busy' | 'cancel' | 'connectivity-error' | 'decline' | 'expired'
  | 'failed-application' | 'failed-transport' | 'general-error' | 'gone' | 'incompatible-parameters'
  | 'media-error' | 'security-error' | 'success' | 'timeout' | 'unsupported-applications'
  | 'unsupported-transports';

const ACTIONS: readonly JingleAction[] = [
  'content-accept', 'content-add', 'content-modify', 'content-reject', 'content-remove', 'description-info',
  'security-info', 'session-accept', 'session-info', 'session-initiate', 'session-terminate', 'transport-accept',
  'transport-info', 'transport-reject', 'transport-replace', 'source-add', 'source-remove', 'addsource', 'removesource',
];
const CREATORS: readonly JingleCreator[] = ['initiator', 'responder'];
const CONTENT_SENDERS: readonly ContentSenders[] = ['both', 'initiator', 'none', 'responder', 'rejected'];
const CONDITIONS: readonly JingleReasonCondition[] = [
  'alternative-session', 'busy', 'cancel', 'connectivity-error', 'decline', 'expired', 'failed-application',
  'failed-transport', 'general-error', 'gone', 'incompatible-parameters', 'media-error', 'security-error', 'success',
  'timeout', 'unsupported-applications', 'unsupported-transports',
];
const UINT32_MAX = 0xffffffff;

/** XEP-0166 §7.3 `<content/>`. Only ICE-UDP transports and RTP descriptions are modelled. */
export interface JingleContent {
  /** Required by the XEP, absent in Jitsi's source-add/source-remove. */
  creator?: JingleCreator;
  name: string;
  senders?: ContentSenders;
  disposition?: string;
  description?: RtpDescription;
  transport?: IceUdpTransport;
  /** Other children (other description or transport types, Jitsi's `<initial-last-n/>`), kept as they came. */
  extensions: Element[];
}

/** XEP-0166 §7.4 `<reason/>`. */
export interface JingleReason {
  condition: JingleReasonCondition;
  /** The `<sid/>` of `<alternative-session/>`. */
  alternativeSessionId?: string;
  text?: string;
  /** Application-specific conditions. */
  extensions: Element[];
}

/** XEP-0338 `<group semantics=…>`: `a=group:<semantics> <content name>…`. */
export interface ContentGroup {
  semantics: string;
  contents: string[];
}

/** Jitsi `<bridge-session/>` (jitsi-xmpp-extensions BridgeSessionPacketExtension). */
export interface BridgeSession {
  id?: string;
  region?: string;
  /** Client → focus in session-terminate: re-invite me (lib-jitsi-meet writes `restart="false"` too). */
  restart?: boolean;
  /** Client → focus in session-info: restart ICE in place. */
  iceRestart?: boolean;
}

/** Jitsi `<startmuted/>` in session-initiate: the focus asks the client to start muted. */
export interface StartMuted {
  audio?: boolean;
  video?: boolean;
}

/** A source in Jicofo's compact JSON. `videoType` is only ever `desktop`: absent means camera for video. */
export interface JsonSource {
  ssrc: number;
  name?: string;
  msid?: string;
  videoType?: 'desktop';
}

/** One owner's sources in the compact JSON (owner = endpoint ID, or `jvb` for the bridge). */
export interface OwnerSources {
  owner: string;
  video: JsonSource[];
  videoGroups: SsrcGroup[];
  audio: JsonSource[];
  audioGroups: SsrcGroup[];
}

/** `<jingle xmlns="urn:xmpp:jingle:1"/>`. */
export interface Jingle {
  action: JingleAction;
  sid: string;
  initiator?: string;
  responder?: string;
  contents: JingleContent[];
  reason?: JingleReason;
  groups: ContentGroup[];
  bridgeSession?: BridgeSession;
  /**
   * Jitsi's `<ice-state xmlns="http://jitsi.org/protocol/focus">` in a session-info: the client's ICE
   * state, `failed` when it asks the focus to invite it again (lib-jitsi-meet's
   * sendIceFailedNotification; the text as it came).
   */
  iceState?: string;
  startMuted?: StartMuted;
  /** Jitsi: the sources of the first `<json-message/>` that has any, in the JSON's owner order. */
  sources?: OwnerSources[];
  /** Other children, kept as they came (a `<json-message/>` without sources among them). */
  extensions: Element[];
}



function optionalString(el: Element, name: string): string | undefined {
  const value = el.attrs[name] as unknown;
  return typeof value === 'string' ? value : undefined;
}


const bool = (value: boolean | undefined) => (value === undefined ? undefined : String(value));

export function parseJingleContent(el: Element): JingleContent {
  const content: JingleContent = { name: required(el, 'name'), extensions: [] };
  const creator = oneOf(el, 'creator', CREATORS);
  if (creator !== undefined) content.creator = creator;
  const senders = oneOf(el, 'senders', CONTENT_SENDERS);
  if (senders !== undefined) content.senders = senders;
  const disposition = optionalString(el, 'disposition');
  if (disposition !== undefined) content.disposition = disposition;
  for (const child of el.getChildElements()) {
    const ns = child.getNS();
    if (child.name === 'description' && ns === NS_JINGLE_RTP && !content.description) content.description = parseRtpDescription(child);
    else if (child.name === 'transport' && ns === NS_JINGLE_ICE_UDP && !content.transport) content.transport = parseIceUdpTransport(child);
    else content.extensions.push(child);
  }
  return content;
}

/** A `<content/>` without xmlns: it inherits `<jingle/>`'s namespace. */
export function buildJingleContent(content: JingleContent): Element {
  const el = new Element('content', { creator: content.creator, disposition: content.disposition, name: content.name, senders: content.senders });
  if (content.description) el.cnode(buildRtpDescription(content.description));
  if (content.transport) el.cnode(buildIceUdpTransport(content.transport));
  for (const extension of content.extensions) el.cnode(clone(extension));
  return el;
}

export function parseJingleReason(el: Element): JingleReason {
  let reason: JingleReason | undefined;
  let text: string | undefined;
  const extensions: Element[] = [];
  for (const child of el.getChildElements()) {
    if (child.getNS() !== NS_JINGLE) extensions.push(child);
    else if (child.name === 'text') text = child.getText();
    else if (reason) extensions.push(child);
    else if ((CONDITIONS as readonly string[]).includes(child.name)) {
      reason = { condition: child.name as JingleReasonCondition, extensions };
      const sid = child.getChildText('sid');
      if (child.name === 'alternative-session' && sid !== null) reason.alternativeSessionId = sid;
    } else throw StanzaError.badRequest(`<reason/> has an unknown condition <${child.name}/>`);
  }
  if (!reason) throw StanzaError.badRequest('<reason/> lacks a condition');
  if (text !== undefined) reason.text = text;
  return reason;
}

/** Condition, then text, then application-specific elements (XEP-0166 §7.4). */
export function buildJingleReason(reason: JingleReason): Element {
  const el = new Element('reason');
  const condition = el.c(reason.condition);
  if (reason.alternativeSessionId !== undefined) condition.c('sid').t(reason.alternativeSessionId);
  if (reason.text !== undefined) el.c('text').t(reason.text);
  for (const extension of reason.extensions) el.cnode(clone(extension));
  return el;
}

function parseGroup(el: Element): ContentGroup {
  const contents = el.getChildren('content', NS_JINGLE_GROUPING).map((content) => required(content, 'name'));
  return { semantics: required(el, 'semantics'), contents };
}

function fail(owner: string, what: string): never {
  throw StanzaError.badRequest(`<json-message/> sources of '${owner}' have a bad ${what}`);
}

function readJsonSsrc(value: unknown, owner: string): number {
  const ssrc = typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value;
  if (typeof ssrc !== 'number' || !Number.isInteger(ssrc) || ssrc < 0 || ssrc > UINT32_MAX) fail(owner, 'ssrc');
  return ssrc;
}

function readJsonSource(value: unknown, owner: string): JsonSource {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(owner, 'source');
  const { s, n, m, v } = value as Record<string, unknown>;
  const source: JsonSource = { ssrc: readJsonSsrc(s, owner) };
  if (n !== undefined) source.name = typeof n === 'string' ? n : fail(owner, "source 'n'");
  if (m !== undefined) source.msid = typeof m === 'string' ? m : fail(owner, "source 'm'");
  if (v !== undefined && v !== null && v !== false && v !== '') source.videoType = 'desktop';
  return source;
}

function readJsonGroup(value: unknown, owner: string): SsrcGroup {
  if (!Array.isArray(value)) fail(owner, 'group');
  const [semantics, ...ssrcs] = value as unknown[];
  if (semantics !== 'f' && semantics !== 's') fail(owner, 'group semantics');
  return { semantics: semantics === 'f' ? 'FID' : 'SIM', ssrcs: ssrcs.map((ssrc) => readJsonSsrc(ssrc, owner)) };
}

/** The decoded sources, or undefined for JSON that carries none (LJM ignores those too). */
function parseJsonSources(el: Element): OwnerSources[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(el.getText());
  } catch {
    throw StanzaError.badRequest('<json-message/> is not JSON');
  }
  if (typeof json !== 'object' || json === null || !('sources' in json)) return undefined;
  const sources = json.sources;
  if (typeof sources !== 'object' || sources === null || Array.isArray(sources)) throw StanzaError.badRequest("<json-message/> has a bad 'sources'");
  return Object.entries(sources).map(([owner, entry]: [string, unknown]) => {
    if (!Array.isArray(entry) || entry.length > 4 || !entry.every(Array.isArray)) fail(owner, 'entry');
    const [video = [], videoGroups = [], audio = [], audioGroups = []] = entry as unknown[][];
    return {
      owner,
      video: video.map((s) => readJsonSource(s, owner)),
      videoGroups: videoGroups.map((g) => readJsonGroup(g, owner)),
      audio: audio.map((s) => readJsonSource(s, owner)),
      audioGroups: audioGroups.map((g) => readJsonGroup(g, owner)),
    };
  });
}

/** Jicofo's exact encoding: keys s, n, m, v; three arrays, a fourth only for audio groups. */
export function encodeJsonSources(sources: readonly OwnerSources[]): string {
  const source = ({ ssrc, name, msid, videoType }: JsonSource) => ({ s: ssrc, n: name, m: msid, v: videoType === 'desktop' ? 'd' : undefined });
  const group = ({ semantics, ssrcs }: SsrcGroup) => [semantics === 'FID' ? 'f' : 's', ...ssrcs];
  const entries = sources.map((o) => {
    const compact: unknown[][] = [o.video.map(source), o.videoGroups.map(group), o.audio.map(source)];
    if (o.audioGroups.length > 0) compact.push(o.audioGroups.map(group));
    return [o.owner, compact] as const;
  });
  return JSON.stringify({ sources: Object.fromEntries(entries) });
}

export function parseJingle(el: Element): Jingle {
  if (el.name !== 'jingle' || el.getNS() !== NS_JINGLE) throw StanzaError.badRequest('not a <jingle/>');
  const action = oneOf(el, 'action', ACTIONS);
  if (action === undefined) throw StanzaError.badRequest("<jingle/> lacks 'action'");
  const jingle: Jingle = { action, sid: required(el, 'sid'), contents: [], groups: [], extensions: [] };
  const initiator = optionalString(el, 'initiator');
  if (initiator !== undefined) jingle.initiator = initiator;
  const responder = optionalString(el, 'responder');
  if (responder !== undefined) jingle.responder = responder;
  for (const child of el.getChildElements()) {
    const ns = child.getNS();
    const name = child.name;
    if (ns === NS_JINGLE && name === 'content') jingle.contents.push(parseJingleContent(child));
    else if (ns === NS_JINGLE && name === 'reason' && !jingle.reason) jingle.reason = parseJingleReason(child);
    else if (ns === NS_JINGLE_GROUPING && name === 'group') jingle.groups.push(parseGroup(child));
    else if (ns === NS_FOCUS && name === 'bridge-session' && !jingle.bridgeSession) jingle.bridgeSession = parseBridgeSession(child);
    else if (ns === NS_FOCUS && name === 'ice-state' && jingle.iceState === undefined) jingle.iceState = child.getText().trim();
    else if (ns === NS_JITSI_START_MUTED && name === 'startmuted' && !jingle.startMuted) jingle.startMuted = parseStartMuted(child);
    else if (ns === NS_JITMEET && name === 'json-message' && !jingle.sources) {
      const sources = parseJsonSources(child);
      if (sources) jingle.sources = sources;
      else jingle.extensions.push(child);
    } else jingle.extensions.push(child);
  }
  return jingle;
}

function parseBridgeSession(el: Element): BridgeSession {
  const session: BridgeSession = {};
  const id = optionalString(el, 'id');
  if (id !== undefined) session.id = id;
  const region = optionalString(el, 'region');
  if (region !== undefined) session.region = region;
  const restart = readBoolean(el, 'restart');
  if (restart !== undefined) session.restart = restart;
  const iceRestart = readBoolean(el, 'ice-restart');
  if (iceRestart !== undefined) session.iceRestart = iceRestart;
  return session;
}

function parseStartMuted(el: Element): StartMuted {
  const startMuted: StartMuted = {};
  const audio = readBoolean(el, 'audio');
  if (audio !== undefined) startMuted.audio = audio;
  const video = readBoolean(el, 'video');
  if (video !== undefined) startMuted.video = video;
  return startMuted;
}

/** Children in Jicofo's order: contents, reason, groups, startmuted, ice-state (lib-jitsi-meet's place), bridge-session, json-message, extensions. */
export function buildJingle(jingle: Jingle): Element {
  const el = new Element('jingle', {
    xmlns: NS_JINGLE, action: jingle.action, initiator: jingle.initiator, responder: jingle.responder, sid: jingle.sid,
  });
  for (const content of jingle.contents) el.cnode(buildJingleContent(content));
  if (jingle.reason) el.cnode(buildJingleReason(jingle.reason));
  for (const group of jingle.groups) {
    const groupEl = el.c('group', { xmlns: NS_JINGLE_GROUPING, semantics: group.semantics });
    for (const name of group.contents) groupEl.c('content', { name });
  }
  if (jingle.startMuted) {
    el.c('startmuted', { xmlns: NS_JITSI_START_MUTED, audio: bool(jingle.startMuted.audio), video: bool(jingle.startMuted.video) });
  }
  if (jingle.iceState !== undefined) el.c('ice-state', { xmlns: NS_FOCUS }).t(jingle.iceState);
  if (jingle.bridgeSession) {
    const { id, region, restart, iceRestart } = jingle.bridgeSession;
    el.c('bridge-session', { xmlns: NS_FOCUS, id, region, restart: bool(restart), 'ice-restart': bool(iceRestart) });
  }
  if (jingle.sources) el.c('json-message', { xmlns: NS_JITMEET }).t(encodeJsonSources(jingle.sources));
  for (const extension of jingle.extensions) el.cnode(clone(extension));
  return el;
}
