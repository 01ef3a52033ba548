/**
 * One Jingle session with the focus, carried by one RTCPeerConnection to the bridge: answers the
 * session-initiate, follows source-add/source-remove, sends our own sources (session-accept, and
 * source-add/source-remove when a screen share starts or stops) and trickles our candidates
 * (transport-info). Every change renegotiates through `./session-description.ts`; changes are run one
 * after the other.
 */
import type { Jingle, JingleContent } from '../../../xmpp/protocol/jingle.ts';
import type { IceCandidate } from '../../../xmpp/protocol/jingle-ice.ts';
import type { RtpDescription } from '../../../xmpp/protocol/jingle-rtp.ts';
import { BRIDGE_OWNER, localDescription, receivedPart, remoteSourcesOf, type LocalSource } from './jingle-sources.ts';
import {
  buildRemoteOffer, parseLocalAnswer, type LocalAnswer, type MediaCodecs, type RemoteOffer, type RemoteSource, type Slot,
} from './session-description.ts';

export interface ReceivedTrack {
  source: RemoteSource;
  track: MediaStreamTrack;
}

export interface JinglePeerOptions {
  /** Our endpoint id (occupant nick): the prefix of our source names. */
  endpointId: string;
  /** Sends a Jingle request to the focus; resolves on its result. */
  send(jingle: Jingle): Promise<void>;
  /** The tracks received now, after each change. */
  onReceivedTracks(tracks: readonly ReceivedTrack[]): void;
  /** ICE connection state of the session. */
  onIceState(state: RTCIceConnectionState): void;
  iceServers?: RTCIceServer[];
  /**
   * config.js `videoQuality.codecPreferenceOrder`: the first of AV1 and VP9 in it that the offer
   * and the browser both have is what the camera is sent with, as one encoding with three spatial
   * and three temporal layers (L3T3_KEY, as lib-jitsi-meet does), which the bridge forwards per
   * receiver. Without one (the default table offers only VP8), the first codec of the offer.
   */
  videoCodecPreference?: readonly string[];
}

/** Codecs sent as one SVC encoding when preferred; the bridge reads their layers (VP9 descriptor, AV1 dependency descriptor). */
const SVC_CODECS = ['AV1', 'VP9'];
/** lib-jitsi-meet's mode for a 720p camera. */
const SVC_MODE = 'L3T3_KEY';

const LOCAL_MIDS = { audio: 'audio', video: 'video', screen: 'screen' } as const;

function contentsCodecs(contents: readonly JingleContent[], media: 'audio' | 'video'): MediaCodecs {
  const d = contents.find((c) => c.description?.media === media)?.description;
  return { payloadTypes: d?.payloadTypes ?? [], feedback: d?.feedback ?? [], headerExtensions: d?.headerExtensions ?? [], extmapAllowMixed: d?.extmapAllowMixed ?? false };
}

/** The bridge's transport: every content shares it under BUNDLE; the first one carrying credentials wins. */
function bundledTransport(contents: readonly JingleContent[]) {
  return contents.map((c) => c.transport).find((t) => t?.ufrag && t.pwd);
}

export class JinglePeer {
  readonly pc: RTCPeerConnection;
  /** The bridge channel's URL from the offer's `<web-socket/>`. */
  readonly bridgeChannelUrl: string | undefined;
  /** The Jingle session id. */
  readonly sid: string;
  /** The `<bridge-session id>` of the offer: a restart request names it (room-stanzas.ts sessionRestartRequest). */
  readonly bridgeSessionId: string | undefined;
  private readonly offer: RemoteOffer;
  private readonly slots: Slot[];
  private readonly descriptions: { audio?: RtpDescription; video?: RtpDescription } = {};
  private chain: Promise<unknown> = Promise.resolve();
  private sharing = false;
  private closed = false;
  private nextMid = 0;
  private localSources: LocalSource[] = [];
  private candidates: IceCandidate[] = [];
  private candidateTimer: ReturnType<typeof setTimeout> | undefined;
  private answer: LocalAnswer | undefined;

  constructor(initiate: Jingle, private readonly options: JinglePeerOptions) {
    this.sid = initiate.sid;
    this.bridgeSessionId = initiate.bridgeSession?.id;
    const transport = bundledTransport(initiate.contents);
    if (!transport?.ufrag || !transport.pwd || transport.fingerprints.length === 0) throw new Error('the offer has no usable transport');
    this.bridgeChannelUrl = transport.webSockets[0]?.url;
    for (const media of ['audio', 'video'] as const) {
      const description = initiate.contents.find((c) => c.description?.media === media)?.description;
      if (description) this.descriptions[media] = description;
    }
    const sources = remoteSourcesOf(initiate.contents);
    const feedback = (media: 'audio' | 'video') => sources.find((s) => s.owner === BRIDGE_OWNER && s.media === media)?.ssrcs[0];
    this.slots = [
      { mid: LOCAL_MIDS.audio, media: 'audio', role: 'local-audio', feedbackSsrc: feedback('audio') },
      { mid: LOCAL_MIDS.video, media: 'video', role: 'local-video', feedbackSsrc: feedback('video') },
      { mid: LOCAL_MIDS.screen, media: 'video', role: 'local-screen' },
    ];
    this.offer = {
      sessionId: String(Date.now()),
      version: 1,
      transport: { ufrag: transport.ufrag, pwd: transport.pwd, fingerprints: transport.fingerprints, candidates: transport.candidates },
      codecs: { audio: contentsCodecs(initiate.contents, 'audio'), video: contentsCodecs(initiate.contents, 'video') },
      slots: this.slots,
    };
    this.placeSources(sources.filter((s) => s.owner !== BRIDGE_OWNER), []);
    this.pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: options.iceServers ?? [] });
    this.pc.oniceconnectionstatechange = () => options.onIceState(this.pc.iceConnectionState);
    this.pc.onicecandidate = (event) => this.onCandidate(event.candidate);
  }

  /** Answers the offer with our microphone and camera (either may be absent) and sends session-accept. */
  accept(audio: MediaStreamTrack | undefined, video: MediaStreamTrack | undefined): Promise<void> {
    return this.run(async () => {
      const svc = this.preferSvcCodec();
      await this.pc.setRemoteDescription({ type: 'offer', sdp: buildRemoteOffer(this.offer) });
      for (const [mid, track] of [[LOCAL_MIDS.audio, audio], [LOCAL_MIDS.video, video]] as const) {
        const transceiver = this.transceiver(mid);
        transceiver.direction = 'sendrecv';
        await transceiver.sender.replaceTrack(track ?? null);
      }
      this.transceiver(LOCAL_MIDS.screen).direction = 'inactive';
      const answer = await this.answerOffer();
      if (svc) await this.useSpatialLayers(this.transceiver(LOCAL_MIDS.video).sender);
      this.localSources = this.readLocalSources(answer);
      const transport = {
        ufrag: answer.ufrag, pwd: answer.pwd, rtcpMux: true, fingerprints: [answer.fingerprint], candidates: [], webSockets: [], extensions: [],
      };
      const contents: JingleContent[] = (['audio', 'video'] as const).map((media) => ({
        creator: 'initiator', name: media, senders: 'both',
        description: localDescription(media, this.localSources, this.descriptions[media]),
        transport, extensions: [],
      }));
      await this.options.send({ action: 'session-accept', sid: this.sid, contents, groups: [{ semantics: 'BUNDLE', contents: ['audio', 'video'] }], extensions: [] });
      this.reportTracks();
    });
  }

  /** The focus's source-add or source-remove. */
  updateSources(jingle: Jingle): Promise<void> {
    const sources = remoteSourcesOf(jingle.contents).filter((s) => s.owner !== BRIDGE_OWNER && !s.name.startsWith(`${this.options.endpointId}-`));
    const add = jingle.action === 'source-add' || jingle.action === 'addsource';
    return this.run(async () => {
      if (add) this.placeSources(sources, []);
      else this.placeSources([], sources);
      await this.renegotiate();
      this.reportTracks();
    });
  }

  /** Our microphone or camera track changed (device switch, mute by track removal): no renegotiation. */
  replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    return this.run(() => this.transceiver(kind === 'audio' ? LOCAL_MIDS.audio : LOCAL_MIDS.video).sender.replaceTrack(track));
  }

  /** Starts or stops sending a screen as our second video source, `<endpoint>-v1`, of video type desktop. */
  setScreen(track: MediaStreamTrack | null): Promise<void> {
    return this.run(async () => {
      const transceiver = this.transceiver(LOCAL_MIDS.screen);
      const before = this.localSources.find((s) => s.videoType === 'desktop');
      if (track) {
        await transceiver.sender.replaceTrack(track);
        if (this.sharing) return;
        this.sharing = true;
        transceiver.direction = 'sendonly';
        const answer = await this.renegotiate();
        this.localSources = this.readLocalSources(answer);
        const screen = this.localSources.find((s) => s.videoType === 'desktop');
        if (screen) await this.sendSourceChange('source-add', screen);
      } else {
        if (!this.sharing) return;
        this.sharing = false;
        await transceiver.sender.replaceTrack(null);
        if (before) await this.sendSourceChange('source-remove', before);
        transceiver.direction = 'inactive';
        const answer = await this.renegotiate();
        this.localSources = this.readLocalSources(answer);
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.candidateTimer);
    this.pc.close();
  }

  private run<T>(step: () => Promise<T>): Promise<T> {
    const next = this.chain.then(() => (this.closed ? Promise.reject(new Error('the session is closed')) : step()));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private transceiver(mid: string): RTCRtpTransceiver {
    const transceiver = this.pc.getTransceivers().find((t) => t.mid === mid);
    if (!transceiver) throw new Error(`no transceiver for m-section '${mid}'`);
    return transceiver;
  }

  /**
   * Puts the preferred SVC codec first among the video codecs of the offer we give the browser, when
   * the offer and the browser's encoder have one, and returns it: Chrome, as answerer, sends with
   * the offer's first codec (lib-jitsi-meet reorders the offer the same way). Every codec stays
   * for receiving.
   */
  private preferSvcCodec(): string | undefined {
    const payloadTypes = this.offer.codecs.video.payloadTypes;
    const offered = new Set(payloadTypes.map((p) => (p.name ?? '').toUpperCase()));
    const encoders = typeof RTCRtpSender.getCapabilities === 'function' ? RTCRtpSender.getCapabilities('video')?.codecs ?? [] : [];
    // The first preferred codec the offer and the encoder both have: an SVC one, or nothing to change.
    const wanted = (this.options.videoCodecPreference ?? []).map((c) => c.toUpperCase())
      .find((c) => offered.has(c) && encoders.some((e) => e.mimeType.toUpperCase() === `VIDEO/${c}`));
    if (!wanted || !SVC_CODECS.includes(wanted)) return undefined;
    const first = payloadTypes.filter((p) => (p.name ?? '').toUpperCase() === wanted);
    this.offer.codecs.video.payloadTypes = [...first, ...payloadTypes.filter((p) => !first.includes(p))];
    return wanted;
  }

  /** Asks for spatial and temporal layers in the camera's one encoding; a browser that refuses sends one layer. */
  private async useSpatialLayers(sender: RTCRtpSender): Promise<void> {
    const parameters = sender.getParameters();
    const encoding = parameters.encodings[0] as (RTCRtpEncodingParameters & { scalabilityMode?: string }) | undefined;
    if (!encoding || encoding.scalabilityMode === SVC_MODE) return;
    encoding.scalabilityMode = SVC_MODE;
    try {
      await sender.setParameters(parameters);
    } catch {
      // An encoder without that mode (or an older browser): one layer, still forwarded.
    }
  }

  private async answerOffer(): Promise<LocalAnswer> {
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.answer = parseLocalAnswer(this.pc.localDescription?.sdp ?? answer.sdp ?? '');
    return this.answer;
  }

  private async renegotiate(): Promise<LocalAnswer> {
    this.offer.version++;
    await this.pc.setRemoteDescription({ type: 'offer', sdp: buildRemoteOffer(this.offer) });
    return this.answerOffer();
  }

  /** Puts added sources into free remote m-sections of their kind (new ones when none is free) and frees removed ones. */
  private placeSources(added: readonly RemoteSource[], removed: readonly RemoteSource[]): void {
    for (const source of removed) {
      // By SSRC too: an unnamed source's generated name may differ between two messages.
      const slot = this.slots.find((s) => s.role === 'remote' && s.source
        && (s.source.name === source.name || s.source.ssrcs.some((ssrc) => source.ssrcs.includes(ssrc))));
      if (slot) delete slot.source;
    }
    for (const source of added) {
      const part = receivedPart(source);
      if (part.ssrcs.length === 0) continue;
      const received: RemoteSource = { ...source, ssrcs: part.ssrcs, groups: part.groups };
      const existing = this.slots.find((s) => s.role === 'remote' && s.source?.name === source.name);
      if (existing) {
        existing.source = received;
        continue;
      }
      const free = this.slots.find((s) => s.role === 'remote' && !s.source && s.media === source.media);
      if (free) free.source = received;
      else this.slots.push({ mid: `r${this.nextMid++}`, media: source.media, role: 'remote', source: received });
    }
  }

  private readLocalSources(answer: LocalAnswer): LocalSource[] {
    const ep = this.options.endpointId;
    const sources: LocalSource[] = [];
    const add = (mid: string, name: string, media: 'audio' | 'video', videoType: LocalSource['videoType']) => {
      const section = answer.sections.get(mid);
      if (!section || section.ssrcs.length === 0 || (section.direction !== 'sendrecv' && section.direction !== 'sendonly')) return;
      // One msid for all SSRCs of the track (RTX included), as Jicofo requires of grouped sources; a
      // sender without a stream (`-`) gets a stream id of ours, as lib-jitsi-meet's `<endpoint>-<kind>-<index>`.
      const [stream = '-', track = name] = (section.ssrcs.find((s) => s.msid)?.msid ?? section.msid ?? '').split(' ');
      const msid = `${stream === '-' || stream === '' ? `${ep}-${media}-${name.slice(-1)}` : stream} ${track}`;
      sources.push({ name, media, videoType, section: { ...section, ssrcs: section.ssrcs.map((s) => ({ ...s, msid })) } });
    };
    add(LOCAL_MIDS.audio, `${ep}-a0`, 'audio', undefined);
    add(LOCAL_MIDS.video, `${ep}-v0`, 'video', 'camera');
    add(LOCAL_MIDS.screen, `${ep}-v1`, 'video', 'desktop');
    return sources;
  }

  private sendSourceChange(action: 'source-add' | 'source-remove', source: LocalSource): Promise<void> {
    const content: JingleContent = { name: source.media, description: localDescription(source.media, [source]), extensions: [] };
    return this.options.send({ action, sid: this.sid, contents: [content], groups: [], extensions: [] });
  }

  /** The received tracks now: one per remote m-section that has a source. */
  private reportTracks(): void {
    const tracks: ReceivedTrack[] = [];
    for (const slot of this.slots) {
      if (slot.role !== 'remote' || !slot.source) continue;
      const transceiver = this.pc.getTransceivers().find((t) => t.mid === slot.mid);
      if (transceiver) tracks.push({ source: slot.source, track: transceiver.receiver.track });
    }
    this.options.onReceivedTracks(tracks);
  }

  /** Trickles candidates to the focus in batches (Jingle transport-info, XEP-0176 §4). */
  private onCandidate(candidate: RTCIceCandidate | null): void {
    if (candidate?.candidate) {
      const parsed = parseCandidate(candidate.candidate);
      // mDNS names (`*.local`) mean nothing to the bridge; it learns such addresses from the checks.
      if (parsed && !parsed.ip.endsWith('.local')) this.candidates.push(parsed);
    }
    clearTimeout(this.candidateTimer);
    this.candidateTimer = setTimeout(() => this.flushCandidates(), candidate ? 100 : 0);
  }

  private flushCandidates(): void {
    const answer = this.answer;
    if (!answer || this.candidates.length === 0 || this.closed) return;
    const candidates = this.candidates;
    this.candidates = [];
    const transport = { ufrag: answer.ufrag, pwd: answer.pwd, rtcpMux: true, fingerprints: [], candidates, webSockets: [], extensions: [] };
    this.options.send({ action: 'transport-info', sid: this.sid, contents: [{ creator: 'initiator', name: 'audio', transport, extensions: [] }], groups: [], extensions: [] })
      .catch((err: unknown) => console.warn('transport-info refused', err));
  }
}

/** RFC 8839 §5.1 candidate-attribute (without the `candidate:` prefix, as RTCIceCandidate.candidate has it). */
export function parseCandidate(line: string): IceCandidate | undefined {
  const parts = line.replace(/^(a=)?candidate:/, '').split(' ');
  const [foundation, component, protocol, priority, ip, port, typ, type] = parts;
  if (!foundation || !component || !protocol || !priority || !ip || !port || typ !== 'typ' || !type) return undefined;
  const proto = protocol.toLowerCase();
  if (proto !== 'udp' && proto !== 'tcp') return undefined;
  if (type !== 'host' && type !== 'srflx' && type !== 'prflx' && type !== 'relay') return undefined;
  const candidate: IceCandidate = {
    foundation, component: Number(component), protocol: proto, priority: Number(priority), ip, port: Number(port), type,
    generation: 0, id: Math.random().toString(36).slice(2, 12),
  };
  for (let i = 8; i + 1 < parts.length; i += 2) {
    const [key, value] = [parts[i], parts[i + 1] ?? ''];
    if (key === 'raddr') candidate.relAddr = value;
    else if (key === 'rport') candidate.relPort = Number(value);
    else if (key === 'tcptype' && (value === 'active' || value === 'passive' || value === 'so')) candidate.tcpType = value;
    else if (key === 'generation') candidate.generation = Number(value);
  }
  return candidate;
}
