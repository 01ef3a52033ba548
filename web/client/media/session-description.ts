/**
 * Jingle ↔ SDP for the browser client. The focus's offer (one BUNDLEd audio and one video content
 * carrying every other participant's sources) becomes a Unified Plan remote offer with one m-section
 * per remote source, so Chrome demultiplexes the bridge's streams by SSRC (RFC 8843 §9.2: the bridge
 * blanks MID on what it forwards) and hands each source its own track; our own microphone, camera
 * and screen each have a fixed m-section. The SDP is rebuilt whole on every change (sources added or
 * removed, screen sharing) from this model: m-sections are never removed, only made inactive and
 * reused (RFC 8829 §5.2.2). Pure: no DOM, no RTCPeerConnection.
 */
import type { IceCandidate } from '../../../xmpp/protocol/jingle-ice.ts';
import type { DtlsFingerprint, DtlsSetup } from '../../../xmpp/protocol/jingle-dtls.ts';
import type { PayloadType, RtcpFeedback, RtpHeaderExtension, SsrcGroup, VideoType } from '../../../xmpp/protocol/jingle-rtp.ts';

/** The codecs and header extensions of one media kind, as the focus offered them. */
export interface MediaCodecs {
  payloadTypes: PayloadType[];
  feedback: RtcpFeedback[];
  headerExtensions: RtpHeaderExtension[];
  /**
   * XEP-0294 `<extmap-allow-mixed/>` (RFC 8285 §6): the browser may send two-byte header extensions,
   * which a Dependency Descriptor with its template structure (≈ 90 bytes) needs.
   */
  extmapAllowMixed?: boolean;
}

/** The bridge's side of the bundled transport. */
export interface BridgeTransport {
  ufrag: string;
  pwd: string;
  fingerprints: DtlsFingerprint[];
  candidates: IceCandidate[];
}

/** One remote source (a participant's microphone, camera or screen), primary SSRC first. */
export interface RemoteSource {
  name: string;
  owner: string;
  media: 'audio' | 'video';
  ssrcs: number[];
  groups: SsrcGroup[];
  msid: string | undefined;
  videoType: VideoType | undefined;
}

export type SlotRole = 'local-audio' | 'local-video' | 'local-screen' | 'remote';

/** One m-section. */
export interface Slot {
  mid: string;
  media: 'audio' | 'video';
  role: SlotRole;
  /** For a remote slot: the source it receives now (none: inactive, free for reuse). */
  source?: RemoteSource;
  /** For our audio and video slots: the bridge's feedback SSRC (jvb-a0/jvb-v0), so Chrome knows it. */
  feedbackSsrc?: number;
}

export interface RemoteOffer {
  sessionId: string;
  version: number;
  transport: BridgeTransport;
  codecs: { audio: MediaCodecs; video: MediaCodecs };
  slots: readonly Slot[];
}

/**
 * Extensions left out of the offer: the bridge rewrites or blanks MID and RID on forwarded packets
 * and demultiplexing must go by SSRC.
 */
const DROPPED_EXTENSIONS = new Set([
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
]);

/**
 * An endpoint id or source name as an SDP token (RFC 8830 msid-id, RFC 7022 CNAME): endpoint ids
 * are MUC nicknames chosen by participants, and a space or line break there would break every
 * other participant's description. Other characters become `_<hex>`.
 */
export function sdpToken(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, (c) => `_${c.codePointAt(0)?.toString(16) ?? ''}`).slice(0, 64) || '_';
}

function direction(slot: Slot): string {
  switch (slot.role) {
    case 'local-audio': case 'local-video': return 'sendrecv';
    case 'local-screen': return 'recvonly';
    case 'remote': return slot.source ? 'sendonly' : 'inactive';
  }
}

function candidateLine(c: IceCandidate): string {
  let line = `a=candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.ip} ${c.port} typ ${c.type}`;
  if (c.relAddr !== undefined && c.relPort !== undefined) line += ` raddr ${c.relAddr} rport ${c.relPort}`;
  if (c.tcpType) line += ` tcptype ${c.tcpType}`;
  return `${line} generation ${c.generation}`;
}

function codecLines(codecs: MediaCodecs): string[] {
  const lines: string[] = [];
  for (const pt of codecs.payloadTypes) {
    if (pt.name) lines.push(`a=rtpmap:${pt.id} ${pt.name}/${pt.clockrate ?? 90000}${pt.channels && pt.channels > 1 ? `/${pt.channels}` : ''}`);
    if (pt.parameters.length) lines.push(`a=fmtp:${pt.id} ${pt.parameters.map((p) => (p.name ? `${p.name}=${p.value}` : p.value)).join(';')}`);
    for (const fb of [...codecs.feedback, ...pt.feedback]) lines.push(`a=rtcp-fb:${pt.id} ${fb.type}${fb.subtype ? ` ${fb.subtype}` : ''}`);
  }
  return lines;
}

function sourceLines(ssrcs: readonly number[], groups: readonly SsrcGroup[], cname: string, msid: string): string[] {
  const lines = groups.map((g) => `a=ssrc-group:${g.semantics} ${g.ssrcs.join(' ')}`);
  for (const ssrc of ssrcs) lines.push(`a=ssrc:${ssrc} cname:${cname}`, `a=ssrc:${ssrc} msid:${msid}`);
  return lines;
}

/** The remote description Chrome answers. */
export function buildRemoteOffer(offer: RemoteOffer): string {
  const { transport } = offer;
  const lines = [
    'v=0',
    `o=- ${offer.sessionId} ${offer.version} IN IP4 0.0.0.0`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${offer.slots.map((s) => s.mid).join(' ')}`,
    'a=msid-semantic: WMS *',
  ];
  for (const slot of offer.slots) {
    const codecs = offer.codecs[slot.media];
    lines.push(
      `m=${slot.media} 9 UDP/TLS/RTP/SAVPF ${codecs.payloadTypes.map((p) => p.id).join(' ')}`,
      'c=IN IP4 0.0.0.0',
      'a=rtcp:9 IN IP4 0.0.0.0',
      `a=ice-ufrag:${transport.ufrag}`,
      `a=ice-pwd:${transport.pwd}`,
      ...transport.fingerprints.map((f) => `a=fingerprint:${f.hash} ${f.value}`),
      'a=setup:actpass',
      `a=mid:${slot.mid}`,
      ...codecs.headerExtensions.filter((e) => !DROPPED_EXTENSIONS.has(e.uri)).map((e) => `a=extmap:${e.id} ${e.uri}`),
      ...(codecs.extmapAllowMixed ? ['a=extmap-allow-mixed'] : []),
      `a=${direction(slot)}`,
      'a=rtcp-mux',
      ...codecLines(codecs),
    );
    if (slot.source) {
      const { source } = slot;
      // One stream per participant, so Chrome keeps its audio and video in sync (same CNAME and stream id).
      const stream = sdpToken(source.owner);
      const msid = `${stream} ${sdpToken(source.name)}`;
      lines.push(`a=msid:${msid}`, ...sourceLines(source.ssrcs, source.groups, stream, msid));
    } else if (slot.feedbackSsrc !== undefined) {
      lines.push(...sourceLines([slot.feedbackSsrc], [], 'jvb', `jvb jvb-${slot.media === 'audio' ? 'a0' : 'v0'}`));
    }
    lines.push(...transport.candidates.map(candidateLine));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** What the local answer says about one of our m-sections. */
export interface LocalSection {
  mid: string;
  direction: string;
  /** The media-level `a=msid:<stream> <track>` (Unified Plan no longer repeats it per SSRC). */
  msid: string | undefined;
  ssrcs: { ssrc: number; msid: string | undefined }[];
  groups: SsrcGroup[];
}

export interface LocalAnswer {
  ufrag: string;
  pwd: string;
  fingerprint: DtlsFingerprint;
  sections: Map<string, LocalSection>;
}

/** Reads Chrome's answer: ICE credentials, DTLS fingerprint and role, and each section's SSRCs. */
export function parseLocalAnswer(sdp: string): LocalAnswer {
  let ufrag = '';
  let pwd = '';
  let fingerprint: { hash: string; value: string } | undefined;
  let setup: DtlsSetup = 'active';
  const sections = new Map<string, LocalSection>();
  let section: LocalSection | undefined;
  const pending: LocalSection[] = [];
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      section = { mid: '', direction: 'sendrecv', msid: undefined, ssrcs: [], groups: [] };
      pending.push(section);
      continue;
    }
    const colon = line.indexOf(':');
    const key = line.slice(2, colon);
    const value = line.slice(colon + 1);
    if (!line.startsWith('a=') || colon < 0) {
      if (['a=sendrecv', 'a=sendonly', 'a=recvonly', 'a=inactive'].includes(line) && section) section.direction = line.slice(2);
      continue;
    }
    switch (key) {
      case 'ice-ufrag': ufrag ||= value; break;
      case 'ice-pwd': pwd ||= value; break;
      case 'fingerprint': {
        const [hash, fp] = value.split(' ');
        if (hash && fp && !fingerprint) fingerprint = { hash, value: fp };
        break;
      }
      case 'setup': if (value === 'active' || value === 'passive') setup = value; break;
      case 'mid': if (section) section.mid = value; break;
      case 'msid': if (section) section.msid = value; break;
      case 'ssrc': {
        if (!section) break;
        const space = value.indexOf(' ');
        const ssrc = Number(value.slice(0, space));
        const attribute = value.slice(space + 1);
        let entry = section.ssrcs.find((s) => s.ssrc === ssrc);
        if (!entry) section.ssrcs.push((entry = { ssrc, msid: undefined }));
        if (attribute.startsWith('msid:')) entry.msid = attribute.slice(5);
        break;
      }
      case 'ssrc-group': {
        const [semantics, ...ssrcs] = value.split(' ');
        if (section && (semantics === 'FID' || semantics === 'SIM')) section.groups.push({ semantics, ssrcs: ssrcs.map(Number) });
        break;
      }
    }
  }
  for (const s of pending) sections.set(s.mid, s);
  if (!fingerprint) throw new Error('the local description has no DTLS fingerprint');
  return { ufrag, pwd, fingerprint: { ...fingerprint, setup }, sections };
}
