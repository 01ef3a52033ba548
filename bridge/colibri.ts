/**
 * The bridge's Colibri2 service (jitsi-videobridge's ColibriV2 handling, protocol reference §6):
 * conference-modify requests from the focus create and expire conferences and endpoints, take
 * the endpoints' remote ICE/DTLS transport and sources, and are answered with conference-modified
 * carrying each new endpoint's local transport (ufrag, pwd, host candidates, fingerprint with
 * setup=actpass, the colibri-ws URL). It also expires, on its own, endpoints whose transport failed
 * or went silent and conferences left empty (jitsi-videobridge's VideobridgeExpireThread); it tells
 * the focus nothing (neither does JVB): the focus learns it from the client's ICE failure
 * (session-terminate with restart) or from unknown_endpoint on its next request.
 */
import { randomInt } from 'node:crypto';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import {
  Colibri2Capability, Colibri2Error, type Colibri2Endpoint, type Colibri2MediaSource, type ConferenceModify, type ConferenceModified,
} from '../xmpp/protocol/colibri2.ts';
import { buildIceUdpTransport, parseIceUdpTransport, type IceCandidate } from '../xmpp/protocol/jingle-ice.ts';
import { StanzaError } from '../xmpp/errors.ts';
import type { DtlsFingerprint } from '../xmpp/protocol/jingle-dtls.ts';
import type { BridgeToClientMessage, ClientToBridgeMessage } from '../xmpp/protocol/bridge-channel.ts';
import { BridgeConference, SENDER_SCOPED_EXTENSIONS, TRANSPORT_CC_URI, type ConferenceEndpoint, type EndpointSources } from './conference.ts';
import type { EndpointActivity } from './endpoint.ts';
import type { NamedSource } from './forwarding.ts';
import type { BandwidthEstimator } from './receiver-bandwidth.ts';
import { systemClock, timerGridOn, type Clock, type TimerGrid } from './transport/clock.ts';

/** What the service needs of an endpoint beyond forwarding (bridge/endpoint.ts Endpoint). */
export interface ColibriEndpoint extends ConferenceEndpoint {
  localTransport(): { ufrag: string; pwd: string; fingerprint: DtlsFingerprint; candidates: IceCandidate[] };
  setRemoteTransport(info: { ufrag?: string; pwd?: string; fingerprints: DtlsFingerprint[]; candidates: IceCandidate[] }): void;
  /** How alive its transport is, for expiry; an endpoint without it is only expired by the focus. */
  activity?(): EndpointActivity;
}

/** When the bridge expires what the focus left behind (jitsi-videobridge reference.conf `entity-expiration`). */
export interface ColibriExpiry {
  /** An endpoint that heard nothing from its client this long is expired. Default 60 000 (JVB's `entity-expiration.timeout`). */
  inactivityMs: number;
  /** An endpoint that never heard from its client is expired this long after its creation. Default 120 000 (JVB Endpoint's epTimeout). */
  neverHeardMs: number;
  /** A conference without endpoints is expired once this old. Default 20 000 (JVB Conference.shouldExpire). */
  emptyConferenceMs: number;
  /** How often the sweep runs; 0: never on its own (tests call expireInactive). Default 10 000. */
  checkIntervalMs: number;
}

export const DEFAULT_COLIBRI_EXPIRY: ColibriExpiry = { inactivityMs: 60_000, neverHeardMs: 120_000, emptyConferenceMs: 20_000, checkIntervalMs: 10_000 };

export interface ColibriServiceOptions {
  log: Logger;
  createEndpoint(id: string, log: Logger): ColibriEndpoint;
  /** The colibri-ws URL clients open for an endpoint (bridge channel); `pwd` is the endpoint's ICE password, as JVB uses it. */
  webSocketUrl(meetingId: string, endpointId: string, pwd: string): string;
  /** True while draining or shutting down: new conferences are refused (jicofo moves them). */
  refusingNewConferences(): boolean;
  /** An endpoint went away (expired, or its conference did). */
  onEndpointRemoved?(meetingId: string, endpointId: string): void;
  /** Sends a bridge-channel message to an endpoint (dropped while its channel is not open). */
  sendToEndpoint?(meetingId: string, endpointId: string, message: BridgeToClientMessage): void;
  /** Monotonic milliseconds for the conferences' speech activity and keyframe pacing, and their age. Default performance.now(). */
  now?(): number;
  /** The conferences' timers and media clock (RTCP, retransmission checks, pacing); default the process clock. Tests pass a manual one. */
  clock?: Clock;
  /** Expiry of failed or silent endpoints and empty conferences; see {@link DEFAULT_COLIBRI_EXPIRY}. */
  expiry?: Partial<ColibriExpiry>;
  /** Each conference forwards only the audio of this many loudest speakers; 0 or absent: all (bridge/loudest-audio.ts). */
  loudestAudio?: number;
  /** Makes each receiver's bandwidth estimator (tests); default bridge/bwe/estimator.ts. */
  createEstimator?: () => BandwidthEstimator;
}

/** RFC 6464 client-to-mixer audio level: the conference reads it for the dominant speaker. */
const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
/** AV1 RTP specification Appendix A: the Dependency Descriptor (offered on video with AV1). */
const DEPENDENCY_DESCRIPTOR_URI = 'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension';

const NS_SSMA = 'urn:xmpp:jingle:apps:rtp:ssma:0';

/**
 * Refuses (bad-request) a request in which an endpoint announces an SSRC another endpoint of the
 * conference owns and keeps, or two endpoints the same one, or one of the bridge's own. Its feedback and keyframe requests
 * would go to the wrong endpoint, and its packets be taken for the other's. The focus checks this
 * already (focus/sources.ts); the bridge does not take that on trust.
 */
function checkSourceOwners(conference: BridgeConference, endpoints: readonly Colibri2Endpoint[], announced: ReadonlyMap<Colibri2Endpoint, EndpointSources>): void {
  // Endpoints leaving, or announcing their whole set again, give up their old SSRCs in this request.
  const released = new Set(endpoints.filter((e) => e.expire || e.sources).map((e) => e.id));
  const claimed = new Map<number, string>();
  for (const requested of endpoints) {
    if (requested.expire || !requested.sources) continue;
    for (const ssrc of announced.get(requested)!.all) {
      // Every endpoint's offer gives the bridge's own SSRCs: a source on one of them would be a second one in every receiver's description.
      if (conference.isOwnSsrc(ssrc)) throw StanzaError.badRequest(`endpoint ${requested.id} announces SSRC ${ssrc}, which is the bridge's own`);
      const owner = claimed.get(ssrc) ?? conference.ownerOf(ssrc);
      if (owner !== undefined && owner !== requested.id && (claimed.has(ssrc) || !released.has(owner))) {
        throw StanzaError.badRequest(`endpoint ${requested.id} announces SSRC ${ssrc}, which is endpoint ${owner}'s`);
      }
      claimed.set(ssrc, requested.id);
    }
  }
}

/**
 * Reads a complete source set: every SSRC, the SSRCs forwarded (audio; of video every simulcast
 * layer and RTX SSRC, which the conference's projection turns into the one SSRC receivers know)
 * and the named sources they belong to (one per `<media-source>`, whose id is the source name,
 * e.g. `abcd1234-v0`). A video source is a screen share when its `<source>`s say
 * `videoType="desktop"` (XEP-0339 with Jitsi's attribute, jingle-rtp.ts).
 */
export function readSources(mediaSources: readonly Colibri2MediaSource[]): EndpointSources {
  const all = new Set<number>();
  const forwarded = new Set<number>();
  const sourceOf = new Map<number, NamedSource>();
  const named: NamedSource[] = [];
  const valid = (ssrc: number): boolean => Number.isInteger(ssrc) && ssrc > 0 && ssrc < 2 ** 32;
  for (const media of mediaSources) {
    const elements = media.sources.filter((s) => s.name === 'source' && s.attrs.xmlns === NS_SSMA);
    const ssrcs = elements.map((s) => Number(s.attrs.ssrc)).filter(valid);
    for (const ssrc of ssrcs) all.add(ssrc);
    const desktop = media.type === 'video' && elements.some((s) => String(s.attrs.videoType).toLowerCase() === 'desktop');
    let source: NamedSource;
    if (media.type === 'audio') {
      source = { name: media.id, media: media.type, desktop, ...(ssrcs[0] === undefined ? {} : { primarySsrc: ssrcs[0] }) };
    } else {
      const groups = media.ssrcGroups.map((g) => ({ semantics: String(g.attrs.semantics), ssrcs: g.getChildren('source').map((s) => Number(s.attrs.ssrc)) }))
        .filter((g) => g.ssrcs.every((ssrc) => all.has(ssrc)));
      const rtx = new Map(groups.filter((g) => g.semantics === 'FID' && g.ssrcs.length === 2).map((g) => [g.ssrcs[0]!, g.ssrcs[1]!]));
      const rtxSsrcs = new Set(rtx.values());
      const layers = groups.find((g) => g.semantics === 'SIM')?.ssrcs ?? ssrcs.filter((ssrc) => !rtxSsrcs.has(ssrc)).slice(0, 1);
      source = { name: media.id, media: media.type, desktop };
      if (layers.length > 0) {
        source.primarySsrc = layers[0]!;
        source.layers = { layers, rtx };
      }
    }
    named.push(source);
    // Every SSRC of a video source: its layers and their RTX. An audio source is one SSRC: any
    // more are owned but not forwarded, so that video signalled under an audio source's name does
    // not go out as audio, around last-N, constraints, bandwidth and force-mute of video.
    for (const ssrc of media.type === 'audio' ? ssrcs.slice(0, 1) : ssrcs) {
      forwarded.add(ssrc);
      sourceOf.set(ssrc, source);
    }
  }
  return { all, forwarded, sourceOf, named };
}

/** A Colibri2 `<payload-type>`'s id, name and, for RTX, the payload type it repairs. */
function readPayloadType(el: Element): { id: number; name: string; apt?: number } | undefined {
  const id = Number(el.attrs.id);
  if (!Number.isInteger(id) || id < 0 || id > 127) return undefined;
  const apt = Number(el.getChildren('parameter').find((p) => p.attrs.name === 'apt')?.attrs.value);
  return { id, name: String(el.attrs.name ?? ''), ...(Number.isInteger(apt) && apt >= 0 && apt <= 127 ? { apt } : {}) };
}

/**
 * The bridge's own sources in a conference (JVB's jvb-a0 / jvb-v0): the SSRCs its RTCP feedback
 * and keyframe requests come from. Announced to every client in the offer, they also give the
 * client's first audio and video m-lines an SSRC, without which Chrome cannot demultiplex once
 * more m-lines with the same payload types are added.
 */
function feedbackSources(audioSsrc: number, videoSsrc: number): Colibri2MediaSource[] {
  const source = (ssrc: number, name: string, media: string): Element => {
    const el = new Element('source', { xmlns: NS_SSMA, ssrc: String(ssrc), name });
    el.c('parameter', { name: 'msid', value: `mixedmslabel mixedlabel${media}0` });
    return el;
  };
  return [
    { type: 'audio', id: 'jvb-a0', sources: [source(audioSsrc, 'jvb-a0', 'audio')], ssrcGroups: [] },
    { type: 'video', id: 'jvb-v0', sources: [source(videoSsrc, 'jvb-v0', 'video')], ssrcGroups: [] },
  ];
}

export class ColibriService {
  private readonly conferences = new Map<string, BridgeConference>();
  private readonly feedbackSsrcs = new Map<string, [number, number]>();
  /** Creation time (options.now) of each conference, for the empty-conference expiry. */
  private readonly createdAt = new Map<string, number>();
  private readonly expiry: ColibriExpiry;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** One grid for the conferences' media timers, so that they wake the event loop together (TimerGrid). */
  private readonly timers: TimerGrid;
  /** The bridge's cap on camera video while overloaded (bridge/load-reducer.ts); undefined: none. */
  private cameraMaxHeight: number | undefined;

  constructor(private readonly options: ColibriServiceOptions) {
    this.expiry = { ...DEFAULT_COLIBRI_EXPIRY, ...options.expiry };
    this.now = options.now ?? (() => performance.now());
    this.timers = timerGridOn(options.clock ?? systemClock);
    if (this.expiry.checkIntervalMs > 0) {
      this.sweepTimer = setInterval(() => this.expireInactive(), this.expiry.checkIntervalMs);
      this.sweepTimer.unref();
    }
  }

  get conferenceCount(): number {
    return this.conferences.size;
  }

  /** The live conferences (for statistics). */
  conferenceList(): BridgeConference[] {
    return [...this.conferences.values()];
  }

  /** The cap on camera video in force (setCameraMaxHeight); undefined: none. */
  get cameraMaxHeightCap(): number | undefined {
    return this.cameraMaxHeight;
  }

  /** Caps camera video in every conference, present and future, at this height; undefined lifts the cap. */
  setCameraMaxHeight(height: number | undefined): void {
    if (height === this.cameraMaxHeight) return;
    this.cameraMaxHeight = height;
    for (const conference of this.conferences.values()) {
      try {
        conference.setCameraMaxHeight(height);
      } catch (err) {
        // One conference's failure does not keep the others from the cap.
        this.options.log.error({ err, meetingId: conference.meetingId }, 'applying the camera cap failed');
      }
    }
  }

  get endpointCount(): number {
    let n = 0;
    for (const c of this.conferences.values()) n += c.endpointCount;
    return n;
  }

  /** Applies one conference-modify; throws Colibri2Error (or StanzaError) for the error reply. */
  modify(request: ConferenceModify): ConferenceModified {
    let conference = this.conferences.get(request.meetingId);
    if (request.create) {
      // A conference left with no endpoint (its expiry lost on the way) does not block the room's next one.
      if (conference && conference.endpointCount > 0) throw Colibri2Error.conferenceAlreadyExists(request.meetingId);
      conference?.close('replaced by a new conference of the same meeting');
      if (this.options.refusingNewConferences()) throw Colibri2Error.gracefulShutdown();
      const feedbackSsrcs: [number, number] = [randomInt(1, 2 ** 31), randomInt(1, 2 ** 31)];
      conference = new BridgeConference(request.meetingId, request.name, this.options.log.child({ meetingId: request.meetingId }), (c) => {
        if (this.conferences.get(c.meetingId) !== c) return;
        this.conferences.delete(c.meetingId);
        this.feedbackSsrcs.delete(c.meetingId);
        this.createdAt.delete(c.meetingId);
      }, (meetingId, endpointId) => this.options.onEndpointRemoved?.(meetingId, endpointId), {
        feedbackSsrcs: { audio: feedbackSsrcs[0], video: feedbackSsrcs[1] },
        ...(this.options.loudestAudio ? { loudestAudio: this.options.loudestAudio } : {}),
        ...(this.options.createEstimator ? { createEstimator: this.options.createEstimator } : {}),
        ...(this.options.clock ? { clock: this.options.clock } : {}),
        timers: this.timers,
      });
      if (this.cameraMaxHeight !== undefined) conference.setCameraMaxHeight(this.cameraMaxHeight);
      this.conferences.set(request.meetingId, conference);
      this.feedbackSsrcs.set(request.meetingId, feedbackSsrcs);
      this.createdAt.set(request.meetingId, this.now());
      const meetingId = request.meetingId;
      conference.useBridgeChannel({
        send: (endpointId, message) => this.options.sendToEndpoint?.(meetingId, endpointId, message),
        keyframeRequestSsrc: feedbackSsrcs[1],
        ...(this.options.now ? { now: this.options.now } : {}),
      });
    }
    if (!conference) throw Colibri2Error.conferenceNotFound(request.meetingId);
    if (request.relays.length) throw Colibri2Error.featureNotImplemented('relays are not supported yet');
    if (request.expire) {
      conference.close('expired by the focus');
      return { endpoints: [], relays: [] };
    }
    // Before anything is applied: a request refused changes nothing.
    // Each source set read once, for the check and to apply.
    const announced = new Map(request.endpoints.flatMap((e) => (e.sources ? [[e, readSources(e.sources)] as const] : [])));
    checkSourceOwners(conference, request.endpoints, announced);
    const answered: Colibri2Endpoint[] = [];
    for (const requested of request.endpoints) {
      const reply = this.modifyEndpoint(conference, requested, announced.get(requested));
      if (reply) answered.push(reply);
    }
    // Sent when an endpoint (or the conference) was created, as JVB does.
    const ssrcs = this.feedbackSsrcs.get(request.meetingId);
    if (answered.some((e) => e.transport) && ssrcs) return { endpoints: answered, relays: [], feedbackSources: feedbackSources(...ssrcs) };
    return { endpoints: answered, relays: [] };
  }

  private modifyEndpoint(conference: BridgeConference, requested: Colibri2Endpoint, sources: EndpointSources | undefined): Colibri2Endpoint | undefined {
    if (requested.expire) {
      conference.removeEndpoint(requested.id, 'expired by the focus');
      return { id: requested.id, expire: true, media: [], capabilities: [] };
    }
    let endpoint = conference.endpoint(requested.id) as ColibriEndpoint | undefined;
    const created = !endpoint && requested.create === true;
    if (!endpoint) {
      if (!requested.create) throw Colibri2Error.unknownEndpoint(requested.id);
      endpoint = this.options.createEndpoint(requested.id, this.options.log.child({ meetingId: conference.meetingId, epId: requested.id }));
      // The capability comes with the creation only (Jicofo repeats none of them later).
      // Media too: an endpoint allocated audio only (Jicofo's for a client without video, such as Jigasi) gets no video.
      conference.addEndpoint(endpoint, {
        sourceNames: requested.capabilities.includes(Colibri2Capability.sourceNames),
        video: requested.media.length === 0 || requested.media.some((m) => m.type === 'video'),
      });
    }
    conference.setSenderScopedExtensionIds(requested.media.flatMap((m) => m.rtpHdrExts)
      .filter((e) => SENDER_SCOPED_EXTENSIONS.includes(String(e.attrs.uri)))
      .map((e) => Number(e.attrs.id))
      .filter((id) => Number.isInteger(id) && id > 0 && id < 256));
    const transportCcId = Number(requested.media.flatMap((m) => m.rtpHdrExts).find((e) => e.attrs.uri === TRANSPORT_CC_URI)?.attrs.id);
    const transportCc = Number.isInteger(transportCcId) && transportCcId > 0 && transportCcId < 15;
    if (transportCc) conference.setTransportCcExtensionId(transportCcId);
    // Media named (with their header extensions) say whether this endpoint's session has the
    // transport-wide sequence number; a request without media changes nothing (Jicofo's updates).
    if (requested.media.length > 0) conference.setTransportCcNegotiated(requested.id, transportCc);
    const audioLevelId = Number(requested.media.find((m) => m.type === 'audio')?.rtpHdrExts.find((e) => e.attrs.uri === AUDIO_LEVEL_URI)?.attrs.id);
    if (Number.isInteger(audioLevelId) && audioLevelId > 0 && audioLevelId < 256) conference.setAudioLevelExtensionId(audioLevelId);
    const video = requested.media.find((m) => m.type === 'video');
    const ddId = Number(video?.rtpHdrExts.find((e) => e.attrs.uri === DEPENDENCY_DESCRIPTOR_URI)?.attrs.id);
    if (Number.isInteger(ddId) && ddId > 0 && ddId < 256) conference.setDependencyDescriptorExtensionId(ddId);
    if (video) conference.setVideoPayloadTypes(video.payloadTypes.map(readPayloadType).filter((p) => p !== undefined));
    const remote = requested.transport?.iceUdp;
    if (remote) {
      const transport = parseIceUdpTransport(remote);
      endpoint.setRemoteTransport({
        ...(transport.ufrag ? { ufrag: transport.ufrag } : {}),
        ...(transport.pwd ? { pwd: transport.pwd } : {}),
        fingerprints: transport.fingerprints,
        candidates: transport.candidates,
      });
    }
    if (sources) conference.setSources(requested.id, sources);
    if (requested.forceMute) conference.setForceMute(requested.id, requested.forceMute);
    if (!created) return undefined;
    return { id: requested.id, media: [], capabilities: [], transport: { iceUdp: this.localTransportElement(conference.meetingId, endpoint) } };
  }

  private localTransportElement(meetingId: string, endpoint: ColibriEndpoint): Element {
    const local = endpoint.localTransport();
    return buildIceUdpTransport({
      ufrag: local.ufrag,
      pwd: local.pwd,
      rtcpMux: true,
      fingerprints: [local.fingerprint],
      candidates: local.candidates,
      webSockets: [{ url: this.options.webSocketUrl(meetingId, endpoint.id, local.pwd) }],
      extensions: [],
    });
  }

  /** A client → bridge message from an endpoint's bridge channel (ReceiverVideoConstraints and the like). */
  onEndpointMessage(meetingId: string, endpointId: string, message: ClientToBridgeMessage): void {
    this.conferences.get(meetingId)?.onChannelMessage(endpointId, message);
  }

  /** An endpoint's bridge channel opened: its conference brings it up to date. */
  wantsStatsFrom(meetingId: string, receiverId: string, senderId: string): boolean {
    return this.conferences.get(meetingId)?.wantsStatsFrom(receiverId, senderId) ?? false;
  }

  onChannelOpened(meetingId: string, endpointId: string): void {
    this.conferences.get(meetingId)?.onChannelOpened(endpointId);
  }

  /** The ICE password of an endpoint (the bridge channel's password), if it exists. */
  passwordOf(meetingId: string, endpointId: string): string | undefined {
    const endpoint = this.conferences.get(meetingId)?.endpoint(endpointId) as ColibriEndpoint | undefined;
    return endpoint?.localTransport().pwd;
  }

  /**
   * One expiry sweep (jitsi-videobridge VideobridgeExpireThread, Endpoint.shouldExpire,
   * Conference.shouldExpire): endpoints whose ICE or DTLS failed, that never heard from their client
   * within `neverHeardMs` of their creation, or heard nothing for `inactivityMs`, are removed; then
   * conferences without endpoints older than `emptyConferenceMs` are closed. Runs every
   * `checkIntervalMs`; returns what it expired.
   */
  expireInactive(): { endpoints: Array<{ meetingId: string; endpointId: string; reason: string }>; conferences: string[] } {
    const expired: ReturnType<ColibriService['expireInactive']> = { endpoints: [], conferences: [] };
    for (const conference of [...this.conferences.values()]) {
      for (const id of conference.endpointIds()) {
        const endpoint = conference.endpoint(id) as ColibriEndpoint | undefined;
        const reason = endpoint?.activity ? this.expiryReason(endpoint.activity()) : undefined;
        if (!reason) continue;
        this.options.log.info({ meetingId: conference.meetingId, epId: id, reason }, 'expiring an endpoint');
        conference.removeEndpoint(id, reason);
        expired.endpoints.push({ meetingId: conference.meetingId, endpointId: id, reason });
      }
      const age = this.now() - (this.createdAt.get(conference.meetingId) ?? this.now());
      if (conference.endpointCount === 0 && age >= this.expiry.emptyConferenceMs) {
        conference.close('expired: no endpoints');
        expired.conferences.push(conference.meetingId);
      }
    }
    return expired;
  }

  private expiryReason(activity: EndpointActivity): string | undefined {
    if (activity.failed) return 'expired: its transport failed';
    if (!activity.heard && activity.idleMs >= this.expiry.neverHeardMs) return 'expired: never heard from its client';
    if (activity.heard && activity.idleMs >= this.expiry.inactivityMs) return 'expired: inactive';
    return undefined;
  }

  close(reason: string): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const conference of [...this.conferences.values()]) conference.close(reason);
  }
}
