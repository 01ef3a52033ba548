/**
 * One conference on the bridge: its endpoints, the sources each announced (from Colibri2), and
 * the forwarding between them. Audio goes out as it came; each video source goes out through its
 * VideoProjection (bridge/video-projection.ts): to each receiver one simulcast layer at a time,
 * re-stamped onto the SSRC receivers know, the layer following the height THAT receiver wants;
 * the sender is asked for the tallest any receiver wants.
 * RTCP is terminated by its RtcpTermination (bridge/rtcp-termination.ts): receiver reports and
 * transport-cc feedback to senders; SRs, NACK, PLI and FIR relayed.
 * Which receiver gets which source follows what it asked on its bridge channel (the policy is
 * bridge/forwarding.ts: ForwardedSources, SenderSourceConstraints and keyframe requests follow
 * from it), and audio levels elect the dominant speaker (bridge/dominant-speaker.ts).
 */
import type { Logger } from 'pino';
import type { BridgeChannelVideoType, BridgeToClientMessage, ClientToBridgeMessage } from '../xmpp/protocol/bridge-channel.ts';
import { DominantSpeakerDetector, type SpeakerState } from './dominant-speaker.ts';
import {
  compareForwarding, isSent, planForwarding, planReceiver, rankingIndex, replanReceiver, toAudioSubscription, UNLIMITED_HEIGHT, withLastN, withVideoConstraints,
  type ConferenceSource, type ForwardingPlan, type NamedSource, type ReceiverRequest,
} from './forwarding.ts';
import { RtcpTermination, type FeedbackSsrcs } from './rtcp-termination.ts';
import { allocate, type AllocationSource } from './bandwidth-allocation.ts';
import { LoudestAudio } from './loudest-audio.ts';
import { PacketCache } from './rtp/packet-cache.ts';
import { RetransmissionRequester, TAIL_LOSS_MS } from './rtp/retransmission-requester.ts';
import { RetransmissionRequests } from './rtp/retransmission-requests.ts';
import { parseTransportCc } from './rtp/transport-cc.ts';
import { PROBE_PACE_MS, ReceiverBandwidth, type BandwidthEstimator } from './receiver-bandwidth.ts';
import { buildNack, buildPli } from './rtp/rtcp.ts';
import { VideoProjection, type LayerRoute, type LayerRouteRing, type VideoSourceLayers } from './video-projection.ts';
import { RtpHeader, readAudioLevel } from './rtp/packet.ts';
import { systemClock, timerGridOn, type Clock, type TimerGrid } from './transport/clock.ts';
import { LoggedLevels } from './logged-levels.ts';
import type { ReceiveLogReader } from './transport/receive-log.ts';
import { SendLog } from './bwe/send-log.ts';
import type { SendTarget } from './native/index.ts';
import type { ReadRoutes } from './endpoint.ts';

/** What the conference needs of an endpoint (bridge/endpoint.ts Endpoint satisfies it). */
export interface ConferenceEndpoint {
  readonly id: string;
  readonly events: {
    /** `arrival`, `logged`: see EndpointEvents.rtp. */
    on(name: 'rtp' | 'rtcp', fn: (packet: Buffer, arrival?: number, logged?: boolean) => void): () => void;
  };
  /** On the native path: the log the media socket's read notes the endpoint's RTP in (bridge/endpoint.ts Endpoint.receiveLog). */
  receiveLog?(transportCcExtensionId: number): ReceiveLogReader;
  /**
   * Sends one RTP packet. The packet is consumed before the call returns (the endpoint encrypts
   * into a buffer of its own): the conference rewrites the same buffer for the next receiver.
   * `copies` > 1: the same datagram that many times.
   */
  sendRtp(packet: Buffer, copies?: number): void;
  sendRtcp(packet: Buffer): void;
  close(reason: string): void;
  /** On the native path: where the media socket's read forwards packets to this endpoint (Endpoint.sendTarget). */
  readonly sendTarget?: SendTarget;
  /** On the native path: the packets from this endpoint the media socket's read forwards itself (Endpoint.setRoutes). */
  setRoutes?(routes: ReadRoutes | undefined): void;
  /** On the native path: the read forwards that video layer itself, re-stamped per receiver (Endpoint.setVideoRoute); returns its ring. */
  setVideoRoute?(ssrc: number, params: Float64Array | undefined): LayerRouteRing | undefined;
  /** A packet the read forwarded itself, counted as received (Endpoint.noteForwardedRtp). */
  noteForwardedRtp?(length: number, arrival: number): void;
  /** What the read forwarded from this endpoint since the last call (Endpoint.takeForwarded). */
  takeForwarded?(): number[];
}

export interface EndpointSources {
  /** SSRCs whose packets are forwarded to the other endpoints. */
  forwarded: Set<number>;
  /** Every SSRC the endpoint announced. */
  all: Set<number>;
  /** Forwarded SSRC → the named source it belongs to (an RTX SSRC to its primary's). */
  sourceOf: Map<number, NamedSource>;
  /** The endpoint's sources (Colibri2 `<media-source>`s), in signalling order. */
  named: NamedSource[];
}

function noSources(): EndpointSources {
  return { forwarded: new Set(), all: new Set(), sourceOf: new Map(), named: [] };
}

/** How the conference reaches its endpoints' bridge channels (bridge/bridge-channel.ts). */
export interface ConferenceChannelOptions {
  /** Sends a message on an endpoint's channel; dropped while that is not open. */
  send(endpointId: string, message: BridgeToClientMessage): void;
  /** The SSRC keyframe requests come from: the bridge's video feedback source (jvb-v0). Default 0. */
  keyframeRequestSsrc?: number;
  /** Monotonic milliseconds, for speech activity and keyframe pacing. Default performance.now(). */
  now?(): number;
}

/** A receiver may have this many packets retransmitted per second; the rest of its NACKs are dropped. */
const NACKS_PER_SECOND = 1000;
/** A retransmission is forwarded to those who asked for it this long ago at most. */
const RETRANSMISSION_WAIT_MS = 1000;
const MAX_RETRANSMISSION_REQUESTS = 8192;
/** The bridge's own NACKs ask one sender for this many packets a second at most (as a receiver's, {@link NACKS_PER_SECOND}). */
export const OWN_NACKS_PER_SECOND = 1000;
/** The bridge's own NACKs are re-sent from arriving packets at most this often. */
const OWN_NACK_CHECK_MS = 20;
/** The tail-loss check of the bridge's own NACKs runs at most this often (rtp/retransmission-requester.ts). */
const TAIL_CHECK_MS = 5;

/** Keyframe requests for one source are at least this far apart: later newcomers share the keyframe coming. */
const KEYFRAME_REQUEST_GAP_MS = 300;
/** RFC 6464 audio level's id when Colibri2 does not say (focus/offer.ts offers 1). */
const DEFAULT_AUDIO_LEVEL_ID = 1;

/** Counters of one conference's media path, read by bridge/stats.ts. */
export interface ConferenceMediaStats {
  /** RTP packets and bytes received from senders and accepted for forwarding. */
  rtpPacketsReceived: number;
  rtpBytesReceived: number;
  /** Packets sent to receivers (one per receiver) and their plaintext bytes. */
  rtpPacketsForwarded: number;
  rtpBytesForwarded: number;
  /** RFC 3550 A.3 over every received SSRC: packets expected and lost (cumulative). */
  packetsExpected: number;
  packetsLost: number;
  /** Time from a packet's arrival at the conference to its last copy handed to the socket. */
  forwardingDelayNsTotal: number;
  forwardingDelayNsMax: number;
  forwardingDelaySamples: number;
  /** Receivers' NACKed packets the bridge sent again from its cache, and those not in it (asked of senders unless just asked). */
  retransmissionsFromCache: number;
  retransmissionsRequested: number;
  /** Bytes of packet copies sent to probe receivers' bandwidth. */
  probingBytes: number;
  /** Packets missing from senders' video layers that the bridge NACKed itself (each request counted). */
  ownRetransmissionRequests: number;
  /** Frame ends sent a second time to receivers losing packets (receiver-bandwidth.ts FRAME_END_REPEAT_LOSS). */
  frameEndsRepeated: number;
  /** Times a receiver's layer stopped until the keyframe of the lower one its bandwidth estimate moved it to, its path's queue filling (video-projection.ts #holdLayerFor). */
  bandwidthHolds: number;
  /** Times a receiver's bandwidth estimate no longer carried even the lowest layer of a video source, which it then stopped being sent (bandwidth-allocation.ts). */
  bandwidthSuspensions: number;
  /** Of the bridge's own requests, the tail-loss probes: a sender's stream silent within a frame, or a frame late (rtp/retransmission-requester.ts). */
  tailLossProbes: number;
}

/** What the conference's RTCP termination needs from its creator. */
export interface ConferenceMediaOptions {
  /** The bridge's feedback sources of this conference (ColibriService draws them). */
  feedbackSsrcs: FeedbackSsrcs;
  /** Default: the process clock. */
  clock?: Clock;
  /**
   * The grid of the conference's RTCP ticks and retransmission checks, on `clock`: the bridge's
   * conferences share one, so that their timers wake the event loop together. Default: the
   * process's on the process clock, one of the conference's own on another.
   */
  timers?: TimerGrid;
  /** Header extension id of the transport-wide sequence number; default 5. */
  transportCcExtensionId?: number;
  /** Makes each receiver's bandwidth estimator; default bridge/bwe/estimator.ts. */
  createEstimator?: () => BandwidthEstimator;
  /** Forward only the audio of this many loudest speakers (and the dominant one); 0 or absent: all audio. */
  loudestAudio?: number;
}

export type { BandwidthEstimator } from './receiver-bandwidth.ts';

/** A change of video type replans the conference at most this often (refreshForVideoType). */
export const VIDEO_TYPE_REFRESH_MS = 500;
/** Endpoints in a conference above which EndpointStats go only to receivers that want them (wantsStatsFrom; JVB's stats-filter-threshold). */
export const STATS_FILTER_THRESHOLD = 20;

/** Probing sends at most this many packets again per feedback (of the newest), whatever the gap to fill. */
const MAX_PROBE_PACKETS = 20;

/**
 * A receiver caught up on a late keyframe is handed it and what followed at once: no more than its
 * bandwidth estimate carries in this long (a bottleneck at about that rate queues the burst this
 * long at most; longer, its transport-cc feedback would show the queue as congestion and move it
 * down again). Past that it waits for the next keyframe, as before the catch-up.
 */
export const LATE_KEYFRAME_BURST_MS = 100;

interface Member {
  endpoint: ConferenceEndpoint;
  sources: EndpointSources;
  unsubscribe: Array<() => void>;
  /** Colibri2 `<force-mute>`: what the focus stopped this endpoint from sending to the others. */
  forceMuted: { audio: boolean; video: boolean };
  bandwidth: ReceiverBandwidth;
  /** Whether it was last judged to get each frame end twice (its routes then change: bandwidthFeedback). */
  repeatsFrameEnds?: boolean;
  /** Colibri2 capability `source-names`: without it, the endpoint is told what it is forwarded and its video's constraint the legacy way too. */
  sourceNames: boolean;
  /** The last LastNEndpointsChangeEvent list sent to it (legacy receivers), so that an unchanged one is not sent again. */
  lastNEndpoints?: string;
  /** The last ForwardedSources list sent to it (names sorted, joined by spaces); undefined before one. */
  forwardedSources?: string;
  /** Video types it said of sources of its own not announced yet, until its next source set. */
  pendingVideoTypes?: Map<string, BridgeChannelVideoType>;
  /** The legacy SenderVideoConstraints paced to it ({@link LEGACY_SENDER_CONSTRAINTS_GAP_MS}): when the last left, of which source, and the one waiting. */
  legacyConstraints?: { sentAt: number; sent: number; source: string; waiting?: number; cancel?: () => void };
  /** Cancels the timer of the next step of the probe cluster it is being sent (ReceiverBandwidth.clusterDue). */
  cancelClusterStep?: () => void;
}

/**
 * Least time between two SenderVideoConstraints to one endpoint; a later one waits, and only the
 * last of those waiting is sent. lib-jitsi-meet before source names (2.6726) applies each with
 * overlapping RTCRtpSender.getParameters()/setParameters() calls: two arriving within a few
 * milliseconds make Chromium refuse the second ("getParameters() has never been called"), and the
 * sender keeps the layers of the first until another height comes. A receiver joining and then putting the sender on
 * stage asks for two heights that close together (test/browser/bridge-rtcp.test.ts failed so).
 */
const LEGACY_SENDER_CONSTRAINTS_GAP_MS = 250;

/** Video types kept per endpoint for sources not announced yet. */
const MAX_PENDING_VIDEO_TYPES = 8;

/**
 * Header extensions that belong to the sender's side and are never forwarded: MID and RID name
 * the SENDER's m-line (RFC 8843 §9.2; JVB strips them too). The transport-wide sequence number
 * counts the sender → bridge hop: it is overwritten per receiver with the bridge's own numbering
 * of that receiver's transport ({@link TRANSPORT_CC_URI}).
 */
export const SENDER_SCOPED_EXTENSIONS: readonly string[] = [
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
];

/** draft-holmer-rmcat-transport-wide-cc-extensions-01 §2: the transport-wide sequence number. */
export const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

/**
 * Blanks the given header extensions in place (RFC 8285 elements become padding bytes). A
 * receiver's browser would otherwise route the packet by the sender's MID to the receiver's own
 * m-line of that MID and latch its SSRC there, before signalling gives the SSRC its own m-line.
 */
export function blankExtensions(packet: Buffer, ids: ReadonlySet<number>): void {
  if (ids.size === 0 || packet.length < 12 || !(packet[0]! & 0x10)) return;
  const start = 12 + (packet[0]! & 0x0f) * 4;
  if (packet.length < start + 4) return;
  const profile = packet.readUInt16BE(start);
  const end = start + 4 + packet.readUInt16BE(start + 2) * 4;
  if (end > packet.length) return;
  let i = start + 4;
  if (profile === 0xbede) {
    while (i < end) {
      const byte = packet[i]!;
      if (byte === 0) {
        i++;
        continue;
      }
      const id = byte >> 4;
      // Where a receiver stops reading (RtpHeader.findExtension): nothing after it is seen.
      if (id === 15 || id === 0) return;
      const next = i + 2 + (byte & 0x0f);
      if (ids.has(id)) packet.fill(0, i, Math.min(next, end));
      i = next;
    }
  } else if ((profile & 0xfff0) === 0x1000) {
    while (i + 1 < end) {
      const id = packet[i]!;
      if (id === 0) {
        i++;
        continue;
      }
      const next = i + 2 + packet[i + 1]!;
      if (ids.has(id)) packet.fill(0, i, Math.min(next, end));
      i = next;
    }
  }
}

/** Takes up to `asked` from `id`'s budget of `perSecond` in the current one-second window (started by its first take); returns how many were granted. */
function takeFromBudget(windows: Map<string, { start: number; count: number }>, id: string, now: number, asked: number, perSecond: number): number {
  let window = windows.get(id);
  if (!window || now - window.start >= 1000) windows.set(id, (window = { start: now, count: 0 }));
  const granted = Math.max(0, Math.min(asked, perSecond - window.count));
  window.count += granted;
  return granted;
}

export class BridgeConference {
  private readonly members = new Map<string, Member>();
  /** Ids of SENDER_SCOPED_EXTENSIONS as negotiated (the focus uses one table for everybody). */
  private readonly blanked = new Set<number>();
  /** SSRC → owning endpoint id, for RTCP feedback routing. */
  private readonly owners = new Map<number, string>();
  private closed = false;
  /** Bridge channel side: speech activity, what receivers asked for, and the plan in force. */
  private channel: ConferenceChannelOptions | undefined;
  /** The conference's clock (ConferenceChannelOptions.now); read through now(). */
  private channelNow: (() => number) | undefined;
  /** now() while a packet is forwarded (-1 otherwise): its time, read once for all it sets off. */
  private forwardingNow = -1;
  private readonly speech = new DominantSpeakerDetector({ now: () => (this.loggedLevelAt >= 0 ? this.loggedLevelAt : this.now()) });
  /** While a level read from a log is heard: when its packet arrived (hearLoggedLevels); -1 otherwise. */
  private loggedLevelAt = -1;
  private readonly requests = new Map<string, ReceiverRequest>();
  /** Source name → whether it is a screen share, as its sender's SourceVideoTypeMessage said. */
  private readonly desktopOverrides = new Map<string, boolean>();
  /** Video sources whose sender said they send nothing (SourceVideoTypeMessage `none`/`disabled`). */
  private readonly disabledSources = new Set<string>();
  private readonly lastKeyframeRequest = new Map<string, number>();
  private plan: ForwardingPlan | undefined;
  /** receiversOf()'s lists by source name; emptied whenever the plan or the members change. */
  private readonly plainReceivers = new Map<string, Member[]>();
  /** The bridge's cap on camera video while it is overloaded (ColibriService.setCameraMaxHeight). */
  private cameraMaxHeight: number | undefined;
  private audioLevelId = DEFAULT_AUDIO_LEVEL_ID;
  private readonly header = new RtpHeader();
  /** Parses what goes to a receiver, for its transport-wide sequence number. */
  private readonly sendHeader = new RtpHeader();
  private transportCcId: number;
  private readonly createEstimator: (() => BandwidthEstimator) | undefined;
  /** "Route loudest only" (bridge/loudest-audio.ts), when configured. */
  private readonly loudest: LoudestAudio | undefined;
  private readonly rtcp: RtcpTermination;
  /** Video source name → its projection (one per source, with a state per receiver). */
  private readonly projections = new Map<string, VideoProjection>();
  /** The SSRC receivers know (a projection's) → that projection, for their feedback. */
  private readonly projectionOf = new Map<number, { owner: string; name: string; projection: VideoProjection }>();
  /** Who asked which sender for which packet (receivers, or the bridge itself): retransmissions go to them only. */
  private readonly retransmissionRequests = new RetransmissionRequests(MAX_RETRANSMISSION_REQUESTS, RETRANSMISSION_WAIT_MS);
  /** Receiver → NACKed packets counted in the current second. */
  private readonly nackWindows = new Map<string, { start: number; count: number }>();
  /** Sender → packets the bridge asked of it on its own in the current second ({@link OWN_NACKS_PER_SECOND}). */
  private readonly ownNackWindows = new Map<string, { start: number; count: number }>();
  private readonly feedbackVideoSsrc: number;
  private readonly feedbackAudioSsrc: number;
  /** Video payload types as Colibri2 announces them (defaults: focus/offer.ts, VP8 100 with RTX 96). */
  private readonly vp8PayloadTypes = new Set<number>([100]);
  /** VP9's, when the focus offers it (ENABLE_CODEC_VP9: 101 with RTX 97); none by default. */
  private readonly vp9PayloadTypes = new Set<number>();
  /** AV1's, when the focus offers it (ENABLE_CODEC_AV1: 41 with RTX 42); none by default. */
  private readonly av1PayloadTypes = new Set<number>();
  /** H.264's, when the focus offers it (ENABLE_CODEC_H264: 107 with RTX 99); none by default. */
  private readonly h264PayloadTypes = new Set<number>();
  /** The Dependency Descriptor header extension's id (offered with AV1), or -1. */
  private dependencyDescriptorId = -1;
  private readonly rtxPayloadTypes = new Map<number, number>([[96, 100]]);
  private readonly counters: ConferenceMediaStats = {
    rtpPacketsReceived: 0, rtpBytesReceived: 0, rtpPacketsForwarded: 0, rtpBytesForwarded: 0,
    packetsExpected: 0, packetsLost: 0, forwardingDelayNsTotal: 0, forwardingDelayNsMax: 0, forwardingDelaySamples: 0,
    retransmissionsFromCache: 0, retransmissionsRequested: 0, probingBytes: 0, ownRetransmissionRequests: 0, frameEndsRepeated: 0, bandwidthHolds: 0, bandwidthSuspensions: 0,
    tailLossProbes: 0,
  };
  /** The last second of every video layer received (bounded: bridge/rtp/packet-cache.ts), for receivers' NACKs. */
  private readonly cache = new PacketCache();
  /** Gaps in senders' video layers, which the bridge NACKs itself (bridge/rtp/retransmission-requester.ts). */
  private readonly requester = new RetransmissionRequester();
  private ownNacksCheckedAt = Number.NEGATIVE_INFINITY;
  /** Timers (the tail-loss check of the bridge's own NACKs). */
  private readonly clock: Clock;
  private readonly timers: TimerGrid;
  /** Cancels the pending tail-loss check (undefined when none is armed), and when it is due. */
  private cancelTailCheck: (() => void) | undefined;
  private tailCheckAt = Number.POSITIVE_INFINITY;

  constructor(
    readonly meetingId: string,
    readonly name: string | undefined,
    private readonly log: Logger,
    private readonly onClosed: (c: BridgeConference) => void,
    private readonly onEndpointRemoved: (meetingId: string, endpointId: string) => void = () => undefined,
    media: ConferenceMediaOptions,
  ) {
    this.clock = media.clock ?? media.timers?.clock ?? systemClock;
    this.timers = media.timers ?? timerGridOn(this.clock);
    this.rtcp = new RtcpTermination({
      ownerOf: (ssrc) => this.owners.get(ssrc),
      isForwarded: (id, ssrc) => this.members.get(id)?.sources.forwarded.has(ssrc) === true,
      endpointIds: () => this.members.keys(),
      sendRtcp: (id, packet) => this.members.get(id)?.endpoint.sendRtcp(packet),
      translateFeedback: (kind, mediaSsrc, lost, receiverId) => this.translateFeedback(kind, mediaSsrc, lost, receiverId),
      rewriteSenderReport: (report) => this.rewriteSenderReport(report),
      bandwidthFeedback: (id, feedback) => this.bandwidthFeedback(id, feedback),
      forwardedRtp: (id, length, level, arrival) => this.forwardedRtp(id, length, level, arrival),
      logsRead: () => {
        this.hearLoggedLevels();
        for (const projection of this.projections.values()) projection.maintain();
      },
    }, { ...media, clock: this.clock, timers: this.timers, log });
    this.transportCcId = media.transportCcExtensionId ?? 5;
    this.createEstimator = media.createEstimator;
    this.loudest = media.loudestAudio ? new LoudestAudio(media.loudestAudio) : undefined;
    this.feedbackVideoSsrc = media.feedbackSsrcs.video;
    this.feedbackAudioSsrc = media.feedbackSsrcs.audio;
    this.rtcp.start();
  }

  get endpointCount(): number {
    return this.members.size;
  }

  /** Ids of the endpoints, in the order they were added. */
  endpointIds(): string[] {
    return [...this.members.keys()];
  }

  mediaStats(): ConferenceMediaStats {
    for (const member of this.members.values()) this.takeForwarded(member);
    // Read first: reading the logs counts what the read forwarded (forwardedRtp).
    const rtcp = this.rtcp.counters();
    return { ...this.counters, ...rtcp };
  }

  endpoint(id: string): ConferenceEndpoint | undefined {
    return this.members.get(id)?.endpoint;
  }

  /**
   * @param options.sourceNames whether the endpoint names its sources (Colibri2 capability
   * `source-names`; default true): one that does not is also sent LastNEndpointsChangeEvent and
   * SenderVideoConstraints, which JVB sent such clients while it served both kinds (instead of
   * ForwardedSources and SenderSourceConstraints, which they ignore).
   */
  addEndpoint(endpoint: ConferenceEndpoint, options: { sourceNames?: boolean; video?: boolean } = {}): void {
    if (this.members.has(endpoint.id)) throw new Error(`endpoint ${endpoint.id} exists`);
    // Audio only: its plan holds no video, whatever its channel says (it usually says nothing, which asks for everything).
    if (options.video === false) this.requests.set(endpoint.id, { id: endpoint.id, noVideo: true });
    const member: Member = {
      endpoint, sources: noSources(), unsubscribe: [], forceMuted: { audio: false, video: false },
      bandwidth: new ReceiverBandwidth(this.createEstimator?.()), sourceNames: options.sourceNames ?? true,
    };
    // Receive statistics first: forwarding may rewrite the packet in place.
    // Arrivals are on the process clock: they stand for the RTCP termination's now() only when it is that clock.
    const onClock = this.clock === systemClock;
    member.unsubscribe.push(endpoint.events.on('rtp', (packet, arrival, logged) => this.rtcp.receiveRtp(endpoint.id, packet, onClock ? arrival : undefined, logged)));
    member.unsubscribe.push(endpoint.events.on('rtp', (packet) => this.forwardRtp(member, packet)));
    member.unsubscribe.push(endpoint.events.on('rtcp', (packet, arrival) => this.rtcp.receiveRtcp(endpoint.id, packet, onClock ? arrival : undefined)));
    this.members.set(endpoint.id, member);
    this.plainReceivers.clear();
    // Its log's arrivals are on the process clock, as the arrivals above.
    this.rtcp.addEndpoint(endpoint.id, onClock ? endpoint.receiveLog?.(this.rtcp.transportCcExtensionId) : undefined);
    // Its transport's numbering shared with the read's own forwarding (refreshRoutes), whose send times are on the process clock too.
    if (onClock && endpoint.sendTarget) member.bandwidth.attachSendLog(new SendLog(endpoint.sendTarget));
    this.refreshForwarding();
  }

  /**
   * Caps every camera source at this height for every receiver, whatever it asks for (screen
   * shares are not capped), or lifts the cap (undefined): senders are told, through
   * SenderSourceConstraints, to stop the layers above it, and receivers switch on the next keyframe.
   */
  setCameraMaxHeight(height: number | undefined): void {
    if (height === this.cameraMaxHeight) return;
    this.cameraMaxHeight = height;
    this.refreshForwarding();
  }

  /** Learns the negotiated id of the transport-wide sequence number (from Colibri2 media). */
  setTransportCcExtensionId(id: number): void {
    this.transportCcId = id;
    this.refreshRoutes();
  }

  /**
   * Whether an endpoint's session negotiated the transport-wide sequence number (its Colibri2
   * media name the extension): it is then sent packets that came without one numbered from the
   * first (ReceiverBandwidth.stamp), not only once it gave feedback.
   */
  setTransportCcNegotiated(endpointId: string, negotiated: boolean): void {
    const member = this.members.get(endpointId);
    if (member) member.bandwidth.transportCcNegotiated = negotiated;
  }

  /** Learns the negotiated ids of the sender-scoped header extensions (from Colibri2 media). */
  setSenderScopedExtensionIds(ids: Iterable<number>): void {
    for (const id of ids) this.blanked.add(id);
    this.refreshRoutes();
  }

  /** The endpoint whose announced sources hold `ssrc`, if any. */
  ownerOf(ssrc: number): string | undefined {
    return this.owners.get(ssrc);
  }

  /** Whether `ssrc` is one of the bridge's own sources in this conference (jvb-a0, jvb-v0: what its feedback and keyframe requests come from). */
  isOwnSsrc(ssrc: number): boolean {
    return ssrc === this.feedbackAudioSsrc || ssrc === this.feedbackVideoSsrc;
  }

  /** Replaces an endpoint's announced sources (Colibri2 sends the complete set). */
  setSources(id: string, sources: EndpointSources): void {
    const member = this.members.get(id);
    if (!member) return;
    // The packets that came under the sources being replaced, counted under them.
    this.rtcp.catchUp(id);
    for (const ssrc of member.sources.all) if (this.owners.get(ssrc) === id) this.owners.delete(ssrc);
    member.sources = sources;
    for (const ssrc of sources.all) this.owners.set(ssrc, id);
    // A video type said on the channel before the source's announcement reached the bridge.
    for (const source of sources.named) {
      const type = member.pendingVideoTypes?.get(source.name);
      if (type !== undefined && source.media === 'video') this.applyVideoType(source.name, source.desktop, type);
    }
    member.pendingVideoTypes = undefined;
    this.updateProjections(member);
    this.rtcp.sourcesChanged(id);
    this.refreshForwarding();
  }

  /**
   * Colibri2 `<force-mute audio= video=>` (Jicofo mutes non-approved participants under A/V
   * moderation this way): while set, the endpoint's packets of that media are forwarded to nobody,
   * whatever its client does. Video covers screen sharing too, as in JVB. Absent values are kept.
   */
  setForceMute(id: string, mute: { audio?: boolean; video?: boolean }): void {
    const member = this.members.get(id);
    if (!member) return;
    if (mute.audio !== undefined) member.forceMuted.audio = mute.audio;
    if (mute.video !== undefined) member.forceMuted.video = mute.video;
    this.refreshRoutes();
  }

  /** Whether the endpoint is force-muted for that media (for tests and statistics). */
  isForceMuted(id: string, media: 'audio' | 'video'): boolean {
    return this.members.get(id)?.forceMuted[media] === true;
  }

  removeEndpoint(id: string, reason: string): void {
    const member = this.members.get(id);
    if (!member) return;
    // What its log holds, counted while it is a member (then nothing more comes from the read).
    this.rtcp.catchUp(id);
    this.members.delete(id);
    this.plainReceivers.clear();
    // Nothing more through the read from or to it; what it forwarded from it, counted.
    member.endpoint.setRoutes?.(undefined);
    this.refreshRoutes();
    this.takeForwarded(member);
    for (const off of member.unsubscribe) off();
    this.rtcp.removeEndpoint(id);
    this.loudest?.remove(id);
    this.nackWindows.delete(id);
    this.ownNackWindows.delete(id);
    member.legacyConstraints?.cancel?.();
    member.legacyConstraints = undefined;
    member.cancelClusterStep?.();
    member.cancelClusterStep = undefined;
    member.bandwidth.endCluster();
    for (const ssrc of member.sources.all) if (this.owners.get(ssrc) === id) this.owners.delete(ssrc);
    member.sources = noSources();
    this.updateProjections(member);
    member.endpoint.close(reason);
    this.forgetReceiver(member);
    this.onEndpointRemoved(this.meetingId, id);
  }

  /**
   * Monotonic milliseconds, for speech activity, keyframe pacing, send times. Default
   * performance.now(); while a packet is forwarded, the time it started (one clock read instead
   * of one per copy, request and speech level: a dozen per packet in a room of ten).
   */
  private now(): number {
    if (this.forwardingNow >= 0) return this.forwardingNow;
    return this.channelNow ? this.channelNow() : performance.now();
  }

  private forwardRtp(from: Member, packet: Buffer): void {
    // performance.now() (a double, sub-microsecond here): hrtime.bigint() allocates two BigInts per packet.
    const start = performance.now();
    this.forwardingNow = this.channelNow ? this.channelNow() : start;
    try {
      this.forwardRtpAt(from, packet, start);
    } finally {
      this.forwardingNow = -1;
    }
  }

  /** forwardRtp, `start` being performance.now() when it began (for the forwarding delay). */
  private forwardRtpAt(from: Member, packet: Buffer, start: number): void {
    if (packet.length < 12) return;
    const ssrc = packet.readUInt32BE(8);
    if (!from.sources.forwarded.has(ssrc)) return;
    const source = from.sources.sourceOf.get(ssrc);
    if (source && from.forceMuted[source.media === 'audio' ? 'audio' : 'video']) return;
    this.counters.rtpPacketsReceived++;
    this.counters.rtpBytesReceived += packet.length;
    if (source?.media === 'audio' && !this.hearAudioLevel(from, packet)) return;
    const projection = source?.media === 'video' ? this.projections.get(source.name) : undefined;
    let copies = 0;
    let bytes = 0;
    if (projection && source?.layers) {
      let askers: { receivers: Set<string>; bridge: boolean } | undefined;
      // After what the read forwarded of the source, which came before this packet (an original
      // it forwarded may have settled what a retransmission would answer).
      projection.catchUp();
      if (!source.layers.layers.includes(ssrc)) {
        askers = this.retransmissionAskers(packet, source.layers);
        if (!askers) return;
      } else {
        this.requestMissing(ssrc, packet.readUInt16BE(2), (packet[1]! & 0x80) !== 0);
      }
      blankExtensions(packet, this.blanked);
      this.sentBytes = 0;
      copies = projection.project(packet, this.sendProjected, askers?.receivers, askers?.bridge);
      bytes = this.sentBytes;
    } else {
      blankExtensions(packet, this.blanked);
      for (const member of source ? this.receiversOf(source.name) : this.members.values()) {
        if (member === from) continue;
        bytes += this.sendRtpTo(member, packet);
        copies++;
      }
    }
    if (copies === 0) return;
    const delay = Math.round((performance.now() - start) * 1e6);
    this.counters.rtpPacketsForwarded += copies;
    this.counters.rtpBytesForwarded += bytes;
    this.counters.forwardingDelayNsTotal += delay;
    this.counters.forwardingDelaySamples++;
    if (delay > this.counters.forwardingDelayNsMax) this.counters.forwardingDelayNsMax = delay;
  }

  /** Bytes handed over by {@link sendProjected} for the packet being forwarded. */
  private sentBytes = 0;
  /** A projection's output for one receiver (made once: forwarding allocates nothing per packet). */
  private readonly sendProjected = (receiverId: string, packet: Buffer): void => {
    const member = this.members.get(receiverId);
    if (!member) return;
    // A frame's last packet (the marker) twice to a receiver losing packets without congestion;
    // not its retransmission (an RTX packet keeps the marker), which the receiver asks again if lost.
    const copies = packet.length > 1 && (packet[1]! & 0x80) !== 0 && member.bandwidth.repeatFrameEnds && !this.rtxPayloadTypes.has(packet[1]! & 0x7f) ? 2 : 1;
    const length = this.sendRtpTo(member, packet, true, copies);
    this.sentBytes += copies * length;
    if (copies > 1) {
      this.counters.frameEndsRepeated++;
      member.bandwidth.frameEndRepeated(length);
    }
  };

  /**
   * Sends one RTP packet to a receiver with the next transport-wide sequence number of ITS
   * transport, noted for its estimator: written into the packet when it carries the extension;
   * else, for a receiver that gives transport-cc feedback, the receiver is sent a copy of its own
   * with the extension added (ReceiverBandwidth.stamp: `packet`, which may go to others next, keeps
   * its length). Returns the length sent (of each of `copies`).
   */
  private sendRtpTo(member: Member, packet: Buffer, media = true, copies = 1): number {
    let sent = packet;
    if (this.sendHeader.parse(packet) === 'ok') {
      const numbered = member.bandwidth.stamp(this.sendHeader, this.transportCcId, this.now(), media);
      if (numbered !== undefined) sent = Buffer.from(numbered.buffer, numbered.byteOffset, numbered.byteLength);
    }
    member.endpoint.sendRtp(sent, copies);
    return sent.length;
  }

  /**
   * A receiver's transport-cc feedback or REMB about what the bridge sends it: its estimate is
   * updated, its layers re-allocated when due, and it is probed when its estimate holds it back.
   */
  private bandwidthFeedback(id: string, feedback: { kind: 'transport-cc'; packet: Buffer } | { kind: 'remb'; bitrate: number }): void {
    const member = this.members.get(id);
    if (!member || this.closed) return;
    const now = this.now();
    let due: boolean;
    if (feedback.kind === 'transport-cc') {
      // Its packet status count, read before anything else: what the receiver could not have been sent is not parsed.
      if (feedback.packet.length < 16 || !member.bandwidth.admitFeedback(feedback.packet.readUInt16BE(14))) return;
      const parsed = parseTransportCc(feedback.packet);
      if (!parsed) return;
      due = member.bandwidth.feedback({ kind: 'transport-cc', parsed }, now);
    } else {
      due = member.bandwidth.feedback(feedback, now);
    }
    if (due) this.allocate(member, now);
    // Frame ends sent twice are JavaScript's: the read's routes to it follow whether it gets them.
    const repeats = member.bandwidth.repeatFrameEnds;
    if (repeats !== (member.repeatsFrameEnds ?? false)) {
      member.repeatsFrameEnds = repeats;
      // Not made anew (`again`): whether it is routable decides which routes it is in, and a route
      // whose receivers changed is handed over again anyway.
      for (const projection of this.projections.values()) projection.refreshRoutes();
    }
    this.probe(member, now);
  }

  /**
   * Sends a receiver the probing its bandwidth is owed (receiver-bandwidth.ts): RTX copies of its
   * newest packets, and the first step of a probe cluster that opens.
   */
  private probe(member: Member, now: number): void {
    if (this.waitsForKeyframe(member)) return;
    const bytes = member.bandwidth.probeBytes(now);
    if (bytes > 0) this.sendProbeCopies(member, bytes);
    if (member.bandwidth.clusterOpen && !member.cancelClusterStep) this.clusterStep(member, now);
  }

  /** A receiver whose layer stopped for its bandwidth waits for a keyframe: copies would queue ahead of it. */
  private waitsForKeyframe(member: Member): boolean {
    const id = member.endpoint.id;
    for (const name of this.plan?.video.get(id)?.keys() ?? []) if (this.projections.get(name)?.isHeld(id)) return true;
    return false;
  }

  /**
   * Sends the step of the receiver's probe cluster that is due, and arms the timer of the next:
   * the cluster goes out at its target rate over its length (15 ms or more), not back to back, so
   * that a bottleneck it shares with other traffic delivers it at about the share it gets there.
   */
  private clusterStep(member: Member, now: number): void {
    const bandwidth = member.bandwidth;
    if (this.waitsForKeyframe(member)) {
      bandwidth.endCluster();
      return;
    }
    const due = bandwidth.clusterDue(now);
    if (due > 0) {
      let sent = 0;
      try {
        // Its copies go further back step after step, from where the last step stopped.
        sent = this.sendProbeCopies(member, due, bandwidth.clusterId);
      } finally {
        bandwidth.clusterSent(sent);
      }
    }
    const next = bandwidth.clusterNextAt(now);
    if (Number.isNaN(next)) return;
    member.cancelClusterStep = this.timers.setTimeout(() => {
      member.cancelClusterStep = undefined;
      if (!this.closed && this.members.get(member.endpoint.id) === member) this.clusterStep(member, this.now());
    }, next - now, PROBE_PACE_MS);
  }

  /** Sends `bytes` or a packet more of RTX copies of what the receiver was sent lately (VideoProjection.probe; `cluster`: the open cluster's id); returns the bytes sent. */
  private sendProbeCopies(member: Member, bytes: number, cluster = 0): number {
    const id = member.endpoint.id;
    let sent = 0;
    for (const name of this.plan?.video.get(id)?.keys() ?? []) {
      const projection = this.projections.get(name);
      if (!projection) continue;
      // Not through sendProjected: the copies are not media (nor counted as forwarded).
      sent += projection.probe(id, bytes - sent, MAX_PROBE_PACKETS, this.sendProbe, cluster);
      if (sent >= bytes) break;
    }
    return sent;
  }

  /** A probing copy for one receiver: numbered on its transport like media, not counted as media. */
  private readonly sendProbe = (receiverId: string, packet: Buffer): void => {
    const member = this.members.get(receiverId);
    if (!member) return;
    this.counters.probingBytes += this.sendRtpTo(member, packet, false);
  };

  /** Caps each video source the receiver is forwarded at the layer its estimate affords, and applies and tells it. */
  private allocate(member: Member, now: number): void {
    this.recap(member, now);
    const id = member.endpoint.id;
    // A suspended source gets height 0: its stream pauses, and resumes at a keyframe asked when it comes back.
    for (const [name, wantedHeight] of this.plan?.video.get(id) ?? []) this.projections.get(name)?.setWantedHeight(id, member.bandwidth.cappedHeight(name, wantedHeight), { constraintHeight: wantedHeight, overloaded: member.bandwidth.overloaded(now) });
    this.announceForwarded(member);
  }

  /**
   * The caps of {@link allocate} alone, for the receiver's sources in the current plan: after a
   * plan change too (for a receiver that gave feedback), so that a source new to it is not sent
   * uncapped until its next feedback, and one that a departed source's bandwidth now affords does
   * not wait for feedback that may not come (a receiver sent nothing has nothing to report on).
   */
  private recap(member: Member, now: number): void {
    const sources: AllocationSource[] = [];
    for (const [name, wantedHeight] of this.plan?.video.get(member.endpoint.id) ?? []) {
      const projection = this.projections.get(name);
      if (projection) sources.push({ name, wantedHeight, layers: projection.arrivingLayers(), suspended: member.bandwidth.isSuspended(name) });
    }
    const allocation = allocate(member.bandwidth.allocationBudget(now), sources);
    // Counted when a source it is being sent stops (not one suspended as it enters its plan, nor one paused already).
    for (const source of sources) {
      if (allocation.caps.get(source.name) === 0 && !source.suspended && (this.projections.get(source.name)?.forwardedLayer(member.endpoint.id) ?? -1) >= 0) this.counters.bandwidthSuspensions++;
    }
    member.bandwidth.allocated(allocation, now);
  }

  /** A video source's simulcast layers arriving now, lowest first, with their heights and bitrates (bps), for statistics and tests. */
  arrivingLayers(sourceName: string): ReadonlyArray<{ height: number; bitrate: number }> {
    return this.projections.get(sourceName)?.arrivingLayers() ?? [];
  }

  /** A receiver's bandwidth estimate (bps) once it sent feedback, for statistics and tests. */
  bandwidthEstimate(id: string): number | undefined {
    return this.members.get(id)?.bandwidth.estimateBps;
  }

  /** Connects the conference to its endpoints' bridge channels (ColibriService, right after creating it). */
  useBridgeChannel(options: ConferenceChannelOptions): void {
    this.channel = options;
    if (options.now) this.channelNow = options.now;
  }

  /**
   * Learns the video payload types (VP8, VP9, AV1, and RTX with its `apt`) from Colibri2 `<payload-type>`s.
   * A list naming none of the three changes nothing; one without VP8 keeps VP8's, one without VP9
   * or AV1 forgets theirs.
   */
  setVideoPayloadTypes(payloadTypes: ReadonlyArray<{ id: number; name: string; apt?: number }>): void {
    const vp8 = payloadTypes.filter((p) => p.name.toUpperCase() === 'VP8').map((p) => p.id);
    const vp9 = payloadTypes.filter((p) => p.name.toUpperCase() === 'VP9').map((p) => p.id);
    const av1 = payloadTypes.filter((p) => p.name.toUpperCase() === 'AV1').map((p) => p.id);
    const h264 = payloadTypes.filter((p) => p.name.toUpperCase() === 'H264').map((p) => p.id);
    const rtx = payloadTypes.filter((p) => p.name.toLowerCase() === 'rtx' && p.apt !== undefined).map((p) => [p.id, p.apt!] as const);
    if (vp8.length === 0 && vp9.length === 0 && av1.length === 0 && h264.length === 0) return;
    if (vp8.length > 0) {
      this.vp8PayloadTypes.clear();
      for (const id of vp8) this.vp8PayloadTypes.add(id);
    }
    this.vp9PayloadTypes.clear();
    for (const id of vp9) this.vp9PayloadTypes.add(id);
    this.av1PayloadTypes.clear();
    for (const id of av1) this.av1PayloadTypes.add(id);
    this.h264PayloadTypes.clear();
    for (const id of h264) this.h264PayloadTypes.add(id);
    this.rtxPayloadTypes.clear();
    for (const [id, apt] of rtx) this.rtxPayloadTypes.set(id, apt);
    // The read's video routes take VP8 alone.
    this.refreshRoutes();
  }

  /** Learns the negotiated id of the Dependency Descriptor extension (from Colibri2 video media). */
  setDependencyDescriptorExtensionId(id: number): void {
    this.dependencyDescriptorId = id;
    this.refreshRoutes();
  }

  /** Learns the negotiated id of the ssrc-audio-level extension (from Colibri2 media). */
  setAudioLevelExtensionId(id: number): void {
    this.audioLevelId = id;
    this.refreshRoutes();
  }

  /** A client → bridge message from an endpoint's channel; what it names is checked, so it never throws. */
  onChannelMessage(endpointId: string, message: ClientToBridgeMessage): void {
    const member = this.members.get(endpointId);
    if (!member || this.closed) return;
    let request = this.requests.get(endpointId);
    if (!request) this.requests.set(endpointId, (request = { id: endpointId }));
    switch (message.colibriClass) {
      // What one receiver asks changes what it is sent, and its sources' sender heights: only its
      // part of the plan is made again (a message costs its sources, not the whole conference's).
      case 'ReceiverVideoConstraints':
        request.video = withVideoConstraints(request.video, message);
        this.refreshReceiver(member);
        return;
      case 'LastNChangedEvent':
        request.video = withLastN(request.video, message.lastN);
        this.refreshReceiver(member);
        return;
      case 'ReceiverAudioSubscription':
        request.audio = toAudioSubscription(message);
        this.refreshReceiver(member);
        return;
      case 'SourceVideoTypeMessage':
      case 'VideoTypeMessage': {
        // The deprecated VideoTypeMessage speaks of the endpoint's first video source.
        const video = member.sources.named.filter((s) => s.media === 'video');
        const name = message.colibriClass === 'SourceVideoTypeMessage' ? message.sourceName : video[0]?.name;
        const source = video.find((s) => s.name === name);
        if (source) {
          if (this.applyVideoType(source.name, source.desktop, message.videoType)) this.refreshForVideoType();
        } else if (name?.startsWith(`${endpointId}-`)) {
          // Its own source (by lib-jitsi-meet's naming), not announced yet: the channel is faster than
          // the focus (as JVB's videoTypeCache). Kept until its next source set, a few at most.
          const pending = (member.pendingVideoTypes ??= new Map());
          if (pending.has(name) || pending.size < MAX_PENDING_VIDEO_TYPES) pending.set(name, message.videoType);
        }
        return;
      }
      default:
        return; // the channel relays the rest itself
    }
  }

  /**
   * Whether a receiver gets a sender's EndpointStats (its connection quality, shown on its tile), as
   * JVB's wantsStatsFrom: in a room of up to STATS_FILTER_THRESHOLD endpoints always; above, only
   * from a sender it sees or hears of — a recent speaker, one it put on stage or selected, or one
   * whose video it is forwarded. Relayed to everyone, each endpoint's stats every 10 s were N² copies.
   */
  wantsStatsFrom(receiverId: string, senderId: string): boolean {
    if (this.members.size <= STATS_FILTER_THRESHOLD) return true;
    const sender = this.members.get(senderId);
    if (!sender || !this.members.has(receiverId)) return false;
    if (this.speakers().includes(senderId)) return true;
    const video = this.requests.get(receiverId)?.video;
    const forwarded = this.plan?.video.get(receiverId);
    for (const source of sender.sources.named) {
      if (source.media !== 'video') continue;
      if (forwarded?.has(source.name) || video?.onStageSources.includes(source.name) || video?.selectedSources.includes(source.name)) return true;
    }
    return video?.onStageSources.includes(senderId) === true || video?.selectedSources.includes(senderId) === true;
  }

  /** An endpoint's channel opened (after ServerHello): it learns the speaker, its forwarded sources and its sources' constraints. */
  onChannelOpened(endpointId: string): void {
    const member = this.members.get(endpointId);
    if (!member) return;
    const speaker = this.speech.state;
    if (speaker) this.send(endpointId, speakerMessage(speaker));
    if (this.plan?.video.has(endpointId)) {
      // What was said before the channel opened is lost.
      member.lastNEndpoints = undefined;
      member.forwardedSources = undefined;
      this.announceForwarded(member, true);
    }
    // What was sent before it opened is lost: the legacy constraint goes at once, not paced.
    member.legacyConstraints?.cancel?.();
    member.legacyConstraints = undefined;
    for (const source of member.sources.named) {
      const maxHeight = this.plan?.senderHeights.get(source.name);
      if (maxHeight !== undefined) this.sendSenderConstraints(member, source.name, maxHeight);
    }
  }

  /** Every named source's owner, by source name. */
  private sourceOwners(): Map<string, string> {
    const owners = new Map<string, string>();
    for (const [id, member] of this.members) for (const source of member.sources.named) owners.set(source.name, id);
    return owners;
  }

  /**
   * Tells a receiver the video sources it is sent when they changed (or `always`): those the plan
   * forwards it, less those its bandwidth suspended.
   */
  private announceForwarded(receiver: Member, always = false, owners?: ReadonlyMap<string, string>): void {
    const video = this.plan?.video.get(receiver.endpoint.id);
    if (!video) return;
    const forwarded: string[] = [];
    for (const [name, height] of video) if (receiver.bandwidth.cappedHeight(name, height) > 0) forwarded.push(name);
    // As a set: an order that alone changed (rank) is nothing to tell.
    const key = [...forwarded].sort().join(' ');
    if (!always && key === receiver.forwardedSources) return;
    receiver.forwardedSources = key;
    this.sendForwardedSources(receiver, forwarded, owners ?? this.sourceOwners());
  }

  /**
   * Tells a receiver the video sources now forwarded to it: by ForwardedSources, and, to an
   * endpoint without source names, by the legacy LastNEndpointsChangeEvent naming their owners
   * when that list changed.
   */
  private sendForwardedSources(receiver: Member, forwardedSources: string[], owners: ReadonlyMap<string, string>): void {
    const id = receiver.endpoint.id;
    this.send(id, { colibriClass: 'ForwardedSources', forwardedSources });
    if (receiver.sourceNames) return;
    const lastNEndpoints = [...new Set(forwardedSources.map((name) => owners.get(name)).filter((owner) => owner !== undefined))];
    // Only a change (JVB reported changes only): lib-jitsi-meet takes a first empty list for
    // "everyone out of last-N", where no list means everyone in it.
    const key = lastNEndpoints.join(' ');
    if (key === (receiver.lastNEndpoints ?? '')) return;
    receiver.lastNEndpoints = key;
    this.send(id, { colibriClass: 'LastNEndpointsChangeEvent', lastNEndpoints });
  }

  /**
   * Tells a sender the largest height anyone receives of its video source `sourceName`: by
   * SenderSourceConstraints, and, to an endpoint without source names, by the legacy
   * SenderVideoConstraints when it is its (one) video source. lib-jitsi-meet before source names
   * acts on that form only, by suspending its simulcast layers above that height, as it did with
   * JVB then. Not while VP9 is offered: lib-jitsi-meet 2.6726 then caps its one VP9 encoding at the
   * bitrate of the VP8 180p layer, and its video stays at 180 (test/browser/LJM-NOTES.md §6).
   */
  private sendSenderConstraints(owner: Member, sourceName: string, maxHeight: number): void {
    const id = owner.endpoint.id;
    this.send(id, { colibriClass: 'SenderSourceConstraints', sourceName, maxHeight });
    if (this.takesLegacySenderConstraints(owner, sourceName)) this.sendLegacySenderConstraints(owner, sourceName, maxHeight);
  }

  /** Whether `owner` is told `sourceName`'s constraint by SenderVideoConstraints too: no source names, its (first) video source, no VP9 offered. */
  private takesLegacySenderConstraints(owner: Member, sourceName: string): boolean {
    return !owner.sourceNames && this.vp9PayloadTypes.size === 0 && owner.sources.named.find((s) => s.media === 'video')?.name === sourceName;
  }

  /**
   * SenderVideoConstraints, paced ({@link LEGACY_SENDER_CONSTRAINTS_GAP_MS}): at once when the last
   * left long enough ago, else once the gap has passed, with the latest height asked meanwhile
   * (nothing when that is the one sent).
   */
  private sendLegacySenderConstraints(owner: Member, source: string, maxHeight: number): void {
    const id = owner.endpoint.id;
    const now = this.clock.now();
    const state = owner.legacyConstraints;
    if (!state || state.source !== source || now - state.sentAt >= LEGACY_SENDER_CONSTRAINTS_GAP_MS) {
      state?.cancel?.();
      owner.legacyConstraints = { sentAt: now, sent: maxHeight, source };
      this.send(id, { colibriClass: 'SenderVideoConstraints', videoConstraints: { idealHeight: maxHeight } });
      return;
    }
    state.waiting = maxHeight;
    state.cancel ??= this.clock.setTimeout(() => {
      state.cancel = undefined;
      const waiting = state.waiting;
      state.waiting = undefined;
      if (this.closed || this.members.get(id) !== owner || owner.legacyConstraints !== state || waiting === undefined || waiting === state.sent) return;
      // What may have changed meanwhile: VP9 offered, the camera source gone.
      if (this.takesLegacySenderConstraints(owner, source)) this.sendLegacySenderConstraints(owner, source, waiting);
    }, state.sentAt + LEGACY_SENDER_CONSTRAINTS_GAP_MS - now);
  }

  /**
   * The members source `name` is forwarded to as it comes (audio, and video without projection),
   * in join order: made at its first packet after a change of plan or members, instead of two
   * lookups per member for every packet.
   */
  private receiversOf(name: string): Member[] {
    let receivers = this.plainReceivers.get(name);
    if (!receivers) {
      receivers = [];
      for (const member of this.members.values()) if (this.forwards(member.endpoint.id, name)) receivers.push(member);
      this.plainReceivers.set(name, receivers);
    }
    return receivers;
  }

  /** Whether `receiverId` is sent source `name`; one not planned yet gets everything, like one that asked nothing. */
  private forwards(receiverId: string, name: string): boolean {
    return (this.plan && isSent(this.plan, receiverId, name)) ?? true;
  }

  /**
   * Where the media socket's read forwards packets itself (native path; Endpoint.setRoutes): each
   * endpoint's audio goes from the read straight to the send targets of its receivers, as
   * forwardRtpAt would send it (extensions blanked, numbered per receiver), with no JavaScript
   * per packet; the receive log then hands back what still depends on it (forwardedRtp). Only
   * plain forwarding: not while "route loudest only" judges each packet, nor for force-muted
   * audio, nor where a receiver has no send target. Made anew whenever what it depends on changes
   * (members, plan, sources, mutes, extension ids).
   */
  private refreshRoutes(): void {
    const onClock = this.clock === systemClock;
    let routing: Omit<ReadRoutes, 'routes'> | undefined;
    // On the process clock only: the logs' times are on it (a channel clock is a test's).
    if (!this.closed && onClock && !this.channelNow && this.transportCcId > 0) {
      const blanked = new Uint8Array(32);
      // The Dependency Descriptor as well: VP8's is blanked (video-projection.ts), and only VP8 is routed.
      for (const id of [...this.blanked, this.dependencyDescriptorId]) if (id > 0 && id < 256) blanked[id >> 3]! |= 1 << (id & 7);
      const vp8PayloadTypes = new Uint8Array(16);
      for (const pt of this.vp8PayloadTypes) if (pt >= 0 && pt < 128) vp8PayloadTypes[pt >> 3]! |= 1 << (pt & 7);
      routing = { transportCcExtensionId: this.transportCcId, audioLevelExtensionId: this.audioLevelId > 0 && this.audioLevelId < 256 ? this.audioLevelId : 0, blanked, vp8PayloadTypes };
    }
    this.routing = routing;
    let any = false;
    for (const member of this.members.values()) {
      if (!member.endpoint.setRoutes) continue;
      const routes = new Map<number, Float64Array>();
      if (routing && !this.loudest && !member.forceMuted.audio) {
        for (const ssrc of member.sources.forwarded) {
          const source = member.sources.sourceOf.get(ssrc);
          if (source?.media !== 'audio') continue;
          const targets: number[] = [];
          for (const receiver of this.receiversOf(source.name)) {
            if (receiver === member) continue;
            const target = receiver.endpoint.sendTarget;
            if (!target) {
              targets.length = 0;
              break;
            }
            targets.push(target.handle);
          }
          if (targets.length > 0) routes.set(ssrc, Float64Array.from(targets));
        }
      }
      any ||= routes.size > 0;
      member.endpoint.setRoutes(routing ? { ...routing, routes } : undefined);
    }
    // Video: each projection hands the read its steady layers, within what is allowed now.
    for (const projection of this.projections.values()) projection.refreshRoutes(true);
    // While the read forwards anything itself, no packet handed to JavaScript may come to wake the
    // tick that reads its logs and takes in its rings.
    let routedVideo = false;
    for (const projection of this.projections.values()) routedVideo ||= projection.routed;
    this.rtcp.keepAwake(any || routedVideo);
  }

  /** What the read's forwarding uses now (refreshRoutes); undefined: it forwards nothing itself. */
  private routing: Omit<ReadRoutes, 'routes'> | undefined;

  /**
   * Whether the read may forward video to `receiverId` itself (VideoProjection routes): it can
   * (a send target), and it is not sent each frame's end twice (JavaScript sends those).
   */
  private videoRoutable(receiverId: string): boolean {
    const member = this.members.get(receiverId);
    return this.routing !== undefined && member !== undefined && member.endpoint.sendTarget !== undefined && !member.bandwidth.repeatFrameEnds;
  }

  /** A projection's route for one of `ownerId`'s layers, handed to its endpoint with the receivers' send targets; the route's ring, or undefined. */
  private videoRoute(ownerId: string, layerSsrc: number, route: LayerRoute | undefined): LayerRouteRing | undefined {
    const owner = this.members.get(ownerId);
    if (!owner?.endpoint.setVideoRoute) return undefined;
    const params = route && this.routing && !owner.forceMuted.video ? [route.next, route.receivers.length] : undefined;
    for (const receiver of route?.receivers ?? []) {
      const target = params ? this.members.get(receiver.id)?.endpoint.sendTarget : undefined;
      if (!target) {
        owner.endpoint.setVideoRoute(layerSsrc, undefined);
        return undefined;
      }
      params!.push(target.handle, receiver.ssrc, receiver.sequenceDelta, receiver.timestampDelta, receiver.pictureIdDelta, receiver.tl0PicIdxDelta);
    }
    const ring = owner.endpoint.setVideoRoute(layerSsrc, params ? Float64Array.from(params) : undefined);
    // Its packets wake no tick (refreshRoutes lets it sleep again once no route is left).
    if (ring) this.rtcp.keepAwake(true);
    return ring;
  }

  /**
   * An audio packet the read forwarded itself (refreshRoutes), as its receive log told: counted,
   * its level kept for hearLoggedLevels (the logs are read one endpoint after the other).
   */
  private forwardedRtp(id: string, length: number, level: number, arrival: number): void {
    const member = this.members.get(id);
    if (!member) return;
    this.counters.rtpPacketsReceived++;
    this.counters.rtpBytesReceived += length;
    member.endpoint.noteForwardedRtp?.(length, arrival);
    if (level >= 0) this.loggedLevels.push(id, level, arrival);
  }

  /** Audio levels read from the logs (forwardedRtp) and not yet heard; the other one is being heard. */
  private loggedLevels = new LoggedLevels();
  private hearingLevels = new LoggedLevels();

  /**
   * Hands speech activity the levels read from the logs in the order they arrived, each at its own
   * arrival, as they would have come one by one: each speaker's activity is weighed by the time
   * between its packets, and a decision must see every speaker's levels up to it.
   */
  private hearLoggedLevels(): void {
    // Not within itself (a speaker change handled): what came meanwhile is heard at the next call.
    if (this.loggedLevels.count === 0 || this.hearingLevels.count > 0) return;
    // Swapped first: what hearing them reads from the logs goes into the other one.
    const levels = this.loggedLevels;
    this.loggedLevels = this.hearingLevels;
    this.hearingLevels = levels;
    try {
      const order = levels.sortByArrival();
      for (let k = 0; k < levels.count; k++) {
        const i = order[k]!;
        const id = levels.ids[i]!;
        if (!this.members.has(id)) continue;
        this.loggedLevelAt = levels.arrivals[i]!;
        let change: SpeakerState | undefined;
        try {
          change = this.speech.levelReceived(id, levels.levels[i]!);
        } finally {
          this.loggedLevelAt = -1;
        }
        if (change) this.speakerChanged(change);
      }
    } finally {
      levels.clear();
    }
  }

  /** Adds what the read forwarded from the member (refreshRoutes) to the counters. */
  private takeForwarded(member: Member): void {
    const forwarded = member.endpoint.takeForwarded?.();
    if (!forwarded || forwarded[3] === 0) return;
    this.counters.rtpPacketsForwarded += forwarded[0]!;
    this.counters.rtpBytesForwarded += forwarded[1]!;
    this.counters.forwardingDelayNsTotal += Math.round(forwarded[2]!);
    this.counters.forwardingDelaySamples += forwarded[3]!;
    if (forwarded[4]! > this.counters.forwardingDelayNsMax) this.counters.forwardingDelayNsMax = Math.round(forwarded[4]!);
  }

  /**
   * Feeds the packet's RFC 6464 level (before forwarding; it is left in the packet) to speech
   * activity; false when "route loudest only" keeps the packet from the others.
   */
  private hearAudioLevel(from: Member, packet: Buffer): boolean {
    // The levels read from the logs came before this packet.
    this.hearLoggedLevels();
    const level = this.header.parse(packet) === 'ok' ? readAudioLevel(this.header, this.audioLevelId) : -1;
    if (level >= 0) {
      const change = this.speech.levelReceived(from.endpoint.id, level);
      if (change) this.speakerChanged(change);
    }
    return this.loudest ? this.loudest.levelReceived(from.endpoint.id, level, this.now(), this.speech.dominantId) : true;
  }

  private speakerChanged(state: SpeakerState): void {
    const message = speakerMessage(state);
    for (const id of this.members.keys()) this.send(id, message);
    this.refreshForwarding();
  }

  /**
   * Plans forwarding anew (bridge/forwarding.ts) and tells what changed: ForwardedSources to
   * receivers, SenderSourceConstraints to senders, and a keyframe request (PLI) to the sender of
   * each source that starts going somewhere, so its new receiver need not wait for the next one.
   */
  private refreshForwarding(): void {
    if (this.closed) return;
    const receivers: ReceiverRequest[] = [];
    for (const id of this.members.keys()) receivers.push(this.requests.get(id) ?? { id });
    const { sources, byName } = this.conferenceSources();
    const plan = planForwarding(receivers, sources, this.speakers(), this.cameraMaxHeight);
    const changes = compareForwarding(this.plan, plan);
    this.plan = plan;
    this.plainReceivers.clear();
    this.refreshRoutes();
    const now = this.now();
    let recapped = false;
    for (const member of this.members.values()) {
      if (member.bandwidth.estimateBps === undefined) continue;
      this.recap(member, now);
      recapped = true;
    }
    // Receivers whose plan changed, and any whose caps may have (each is told only of a change).
    const owners = changes.forwardedSources.size > 0 || recapped ? this.sourceOwners() : new Map<string, string>();
    for (const receiver of this.members.values()) {
      if (changes.forwardedSources.has(receiver.endpoint.id) || receiver.bandwidth.estimateBps !== undefined) this.announceForwarded(receiver, false, owners);
    }
    for (const [sourceName, maxHeight] of changes.senderHeights) {
      const owner = byName.get(sourceName)?.owner;
      if (owner) this.sendSenderConstraints(owner, sourceName, maxHeight);
    }
    for (const name of this.lastKeyframeRequest.keys()) if (!byName.has(name)) this.lastKeyframeRequest.delete(name);
    for (const name of this.desktopOverrides.keys()) if (!byName.has(name)) this.desktopOverrides.delete(name);
    for (const name of this.disabledSources) if (!byName.has(name)) this.disabledSources.delete(name);
    // Projected sources ask for the keyframes of receivers that start or resume themselves (planProjections).
    for (const name of changes.keyframes) if (!this.projections.has(name)) this.requestKeyframe(name, byName.get(name)?.owner);
    this.planProjections();
  }

  /**
   * Gives projections (default: all) each receiver's height and frame rate from the plan; receivers
   * gone are forgotten. One pass over the plan for all of them (per projection, the whole plan was
   * read: a room of 500 asked 250,000 receiver-source pairs for its 12,500).
   */
  private planProjections(projections: ReadonlyMap<string, VideoProjection> = this.projections): void {
    const plan = this.plan;
    if (!plan) return;
    // Receivers that have left were removed from every projection (forgetReceiver); paused ones stay paused.
    for (const [name, projection] of projections) {
      for (const id of projection.wantingReceiverIds()) {
        if (!this.members.has(id)) projection.removeReceiver(id);
        else if (!plan.video.get(id)?.has(name)) projection.setWantedHeight(id, 0);
      }
    }
    const now = this.now();
    for (const [id, video] of plan.video) {
      const member = this.members.get(id);
      const overloaded = member?.bandwidth.overloaded(now) ?? false;
      const frameRates = plan.frameRates.get(id);
      for (const [name, height] of video) {
        const projection = projections.get(name);
        if (!projection) continue;
        projection.setWantedHeight(id, member ? member.bandwidth.cappedHeight(name, height) : height, { constraintHeight: height, overloaded });
        projection.setMaxFrameRate(id, frameRates?.get(name));
      }
    }
  }

  /**
   * A video type said of a source (`signalled`: whether its announcement calls it a screen share):
   * DESKTOP/DESKTOP_HIGH_FPS a screen share, CAMERA not; NONE/DISABLED, which lib-jitsi-meet says
   * of a camera it muted, sends it to nobody and keeps the type it had. Whether anything changed.
   */
  private applyVideoType(name: string, signalled: boolean, type: BridgeChannelVideoType): boolean {
    const disabled = type === 'NONE' || type === 'DISABLED';
    const current = this.desktopOverrides.get(name) ?? signalled;
    const desktop = disabled ? current : type === 'DESKTOP' || type === 'DESKTOP_HIGH_FPS';
    if (current === desktop && this.disabledSources.has(name) === disabled) return false;
    this.desktopOverrides.set(name, desktop);
    if (disabled) this.disabledSources.add(name);
    else this.disabledSources.delete(name);
    return true;
  }

  /** When the last refresh for a video type ran (clock ms), and the one waiting, if any. */
  private videoTypeRefreshedAt = Number.NEGATIVE_INFINITY;
  private cancelVideoTypeRefresh: (() => void) | undefined;

  /**
   * A source's video type moves it in every receiver's ranking (screen shares first): the whole
   * plan is made again, at most once every VIDEO_TYPE_REFRESH_MS for the conference (the latest
   * types then), so that a client switching its type in a loop costs a large room no more.
   */
  private refreshForVideoType(): void {
    if (this.cancelVideoTypeRefresh) return; // one is due, and will see this change
    const refresh = () => {
      this.cancelVideoTypeRefresh = undefined;
      this.videoTypeRefreshedAt = this.clock.now();
      this.refreshForwarding();
    };
    const wait = this.videoTypeRefreshedAt + VIDEO_TYPE_REFRESH_MS - this.clock.now();
    if (wait <= 0) refresh();
    else this.cancelVideoTypeRefresh = this.clock.setTimeout(refresh, wait);
  }

  /** The sources of the conference in join order, as the plan takes them, and each one's owner by name. */
  private conferenceSources(): { sources: ConferenceSource[]; byName: Map<string, { owner: Member; source: NamedSource }> } {
    const sources: ConferenceSource[] = [];
    const byName = new Map<string, { owner: Member; source: NamedSource }>();
    for (const [id, member] of this.members) {
      for (const source of member.sources.named) {
        sources.push({
          name: source.name, owner: id, media: source.media, desktop: this.desktopOverrides.get(source.name) ?? source.desktop,
          ...(this.disabledSources.has(source.name) ? { disabled: true } : {}),
        });
        byName.set(source.name, { owner: member, source });
      }
    }
    return { sources, byName };
  }

  /** The dominant speaker, then the recent ones. */
  private speakers(): string[] {
    const speaker = this.speech.state;
    return speaker ? [speaker.dominant, ...speaker.previous] : [];
  }

  /**
   * refreshForwarding for one receiver whose request changed: its part of the plan made again
   * (forwarding.ts replanReceiver), and what follows from it told — its ForwardedSources, the
   * sender heights that moved, keyframes for what it starts receiving — and applied to its own
   * state in the projections.
   */
  private refreshReceiver(member: Member): void {
    if (this.closed) return;
    const plan = this.plan;
    if (!plan) return this.refreshForwarding();
    const id = member.endpoint.id;
    const { sources, byName } = this.conferenceSources();
    const next = planReceiver(this.requests.get(id) ?? { id }, rankingIndex(sources, this.speakers()), this.cameraMaxHeight ?? UNLIMITED_HEIGHT);
    const changes = replanReceiver(plan, id, next);
    for (const name of changes.receivingChanged) this.plainReceivers.delete(name);
    if (changes.receivingChanged.length > 0) this.refreshRoutes();
    const now = this.now();
    if (member.bandwidth.estimateBps !== undefined) this.recap(member, now);
    this.announceForwarded(member);
    for (const [sourceName, maxHeight] of changes.senderHeights) {
      const owner = byName.get(sourceName)?.owner;
      if (owner) this.sendSenderConstraints(owner, sourceName, maxHeight);
    }
    for (const name of changes.started) if (!this.projections.has(name)) this.requestKeyframe(name, byName.get(name)?.owner);
    for (const [name, projection] of this.projections) {
      const height = next.video.get(name);
      if (height === undefined) {
        projection.setWantedHeight(id, 0);
        continue;
      }
      projection.setWantedHeight(id, member.bandwidth.cappedHeight(name, height), { constraintHeight: height, overloaded: member.bandwidth.overloaded(now) });
      projection.setMaxFrameRate(id, next.frameRates.get(name));
    }
  }

  /**
   * Asks a source's sender for a keyframe (PLI from the bridge's video feedback SSRC) for the layer
   * its projection forwards; at most one per source every {@link KEYFRAME_REQUEST_GAP_MS}.
   */
  private requestKeyframe(name: string, owner: Member | undefined): void {
    const now = this.now();
    if (!owner || now - (this.lastKeyframeRequest.get(name) ?? -Infinity) < KEYFRAME_REQUEST_GAP_MS) return;
    this.lastKeyframeRequest.set(name, now);
    const ssrc = owner.sources.named.find((s) => s.name === name)?.primarySsrc;
    if (ssrc !== undefined) owner.endpoint.sendRtcp(buildPli(this.feedbackVideoSsrc, ssrc));
  }

  /** Keeps one projection per video source of `member`, kept when its layers did not change. */
  private updateProjections(member: Member): void {
    const id = member.endpoint.id;
    const wanted = new Map<string, VideoSourceLayers>();
    for (const source of member.sources.named) if (source.media === 'video' && source.layers) wanted.set(source.name, source.layers);
    for (const [ssrc, entry] of this.projectionOf) {
      if (entry.owner !== id) continue;
      const layers = wanted.get(entry.name);
      if (layers && sameLayers(layers, entry.projection)) continue;
      entry.projection.dropRoutes();
      for (const layer of entry.projection.ssrcs()) {
        this.cache.removeStream(layer);
        this.requester.remove(layer);
      }
      this.projectionOf.delete(ssrc);
      this.projections.delete(entry.name);
    }
    const created = new Map<string, VideoProjection>();
    for (const [name, layers] of wanted) {
      if (this.projections.has(name)) continue;
      const projection = new VideoProjection(layers, {
        rtxPayloadTypes: this.rtxPayloadTypes,
        vp8PayloadTypes: this.vp8PayloadTypes,
        vp9PayloadTypes: this.vp9PayloadTypes,
        av1PayloadTypes: this.av1PayloadTypes,
        h264PayloadTypes: this.h264PayloadTypes,
        dependencyDescriptorId: () => this.dependencyDescriptorId,
        now: () => this.now(),
        requestKeyframe: (ssrc) => this.members.get(id)?.endpoint.sendRtcp(buildPli(this.feedbackVideoSsrc, ssrc)),
        onBandwidthHold: () => this.counters.bandwidthHolds++,
        cache: this.cache,
        lateKeyframeBurstBytes: (receiverId) => {
          const estimate = this.members.get(receiverId)?.bandwidth.estimateBps;
          return estimate === undefined ? Infinity : (estimate * LATE_KEYFRAME_BURST_MS) / 8000;
        },
        route: (layerSsrc, route) => this.videoRoute(id, layerSsrc, route),
        routable: (receiverId) => this.videoRoutable(receiverId),
        forwardedMedia: (layerSsrc, sequence, marker, arrival, contiguous) => this.requestMissing(layerSsrc, sequence, marker, arrival, contiguous),
        awaited: (layerSsrc) => this.requester.awaits(layerSsrc),
      });
      this.projections.set(name, projection);
      created.set(name, projection);
      this.projectionOf.set(projection.ssrc, { owner: id, name, projection });
    }
    if (created.size > 0) this.planProjections(created);
  }

  /**
   * A receiver's NACK or keyframe request about a projected SSRC, as its sender must get it. A
   * NACKed packet still in the bridge's cache is sent again from there at once (the sender's hop
   * may be the lossy one too); only the others are asked of the sender.
   */
  private translateFeedback(kind: 'nack' | 'keyframe', mediaSsrc: number, lost: readonly number[], receiverId: string): Array<{ owner: string; packet: Buffer }> | undefined {
    const entry = this.projectionOf.get(mediaSsrc);
    if (!entry) return undefined;
    if (kind === 'keyframe') {
      entry.projection.keyframeNeeded(receiverId); // paced by the projection
      return [];
    }
    const now = this.now();
    const budget = this.nackBudget(receiverId, now, lost.length);
    const bySsrc = new Map<number, number[]>();
    for (const seq of lost.slice(0, budget)) {
      const input = entry.projection.retransmit(receiverId, seq, this.sendProjected);
      if (input === 'sent') this.counters.retransmissionsFromCache++;
      if (input === 'sent' || !input) continue;
      this.counters.retransmissionsRequested++;
      // Asked of the sender a moment ago (by the bridge itself, or for another receiver): wait for it.
      if (this.expectRetransmission(input.ssrc, input.sequence, receiverId, now) < this.requester.retryInterval(input.ssrc)) continue;
      const list = bySsrc.get(input.ssrc);
      if (list) list.push(input.sequence);
      else bySsrc.set(input.ssrc, [input.sequence]);
    }
    return [...bySsrc].map(([ssrc, seqs]) => ({ owner: entry.owner, packet: buildNack(this.feedbackVideoSsrc, ssrc, seqs) }));
  }

  /** How many of `asked` NACKed packets a receiver may still ask for this second ({@link NACKS_PER_SECOND}). */
  private nackBudget(receiverId: string, now: number, asked: number): number {
    return takeFromBudget(this.nackWindows, receiverId, now, asked, NACKS_PER_SECOND);
  }

  /**
   * Notes that (layer SSRC, sequence) is asked of the sender, for `receiverId` (or for the bridge's
   * own cache when undefined): its retransmission goes to the askers only. Returns how long ago it
   * was asked already (Infinity: it was not), the new request being noted as of now.
   */
  private expectRetransmission(ssrc: number, sequence: number, receiverId: string | undefined, now: number): number {
    return this.retransmissionRequests.expect(ssrc, sequence, receiverId, now, this.requester.retryInterval(ssrc));
  }

  /**
   * A sender's video layer packet arrived: gaps it shows are NACKed to that sender at once by the
   * bridge itself (and asked again while missing), so the packet is in the cache before receivers
   * ask, whether or not any receiver is forwarded that layer now.
   */
  private requestMissing(ssrc: number, sequence: number, frameEnd: boolean, now = this.now(), contiguous = false): void {
    const verdict = this.requester.received(ssrc, sequence, now, false, frameEnd, contiguous);
    if (verdict === 'filled') this.arrivedLate(ssrc, sequence);
    // A frame left open is due TAIL_LOSS_MS from now: sooner than a check armed for a slow stream.
    if (!this.cancelTailCheck || (!frameEnd && this.tailCheckAt > now + TAIL_LOSS_MS + TAIL_CHECK_MS)) this.armTailCheck(now);
    if (verdict !== 'gap' && !(this.requester.waiting && now - this.ownNacksCheckedAt >= OWN_NACK_CHECK_MS)) return;
    this.sendOwnNacks(now);
  }

  /**
   * The requester is asked again when a stream's silence would make it a tail loss, as no packet
   * may arrive meanwhile to drive {@link due}: one timer for the conference, TAIL_CHECK_MS apart
   * at least, however many streams there are.
   */
  private armTailCheck(armedAt: number): void {
    this.cancelTailCheck?.();
    this.cancelTailCheck = undefined;
    this.tailCheckAt = Number.POSITIVE_INFINITY;
    const at = this.requester.nextTailCheck();
    if (at === undefined || this.closed) return;
    const delay = Math.max(TAIL_CHECK_MS, at - armedAt);
    // On the grid's multiples of TAIL_CHECK_MS (up to that much later), where the other
    // conferences' checks and RTCP ticks fire too: one wake-up of the event loop for them all.
    const instant = this.timers.instant(delay, TAIL_CHECK_MS);
    this.tailCheckAt = armedAt + (instant - this.clock.now());
    this.cancelTailCheck = this.timers.setTimeoutAt(() => {
      this.cancelTailCheck = undefined;
      this.tailCheckAt = Number.POSITIVE_INFINITY;
      if (this.closed) return;
      const now = this.now();
      this.sendOwnNacks(now);
      // A time source that did not move (a test's) re-arms from the next packet, not in a loop.
      if (now > armedAt) this.armTailCheck(now);
    }, instant);
  }

  /** Sends each sender the bridge's NACKs that are due (gaps, their retries, tail-loss probes). */
  private sendOwnNacks(now: number): void {
    this.ownNacksCheckedAt = now;
    // What the read forwarded itself first, of every source: a stream it carries is not silent
    // (this runs for any stream's gap, maybe while another's packets wait in its route's ring).
    for (const projection of this.projections.values()) projection.catchUpLayers();
    // One map for every call (cleared after): most calls find nothing due.
    const due = this.requester.due(now, this.dueNacks);
    this.counters.tailLossProbes = this.requester.tailProbes;
    try {
      this.sendDueNacks(due, now);
    } finally {
      due.clear();
    }
  }

  /** Packets the bridge asks again, per sender's video layer (RetransmissionRequester.due). */
  private readonly dueNacks = new Map<number, number[]>();

  private sendDueNacks(dueByLayer: ReadonlyMap<number, readonly number[]>, now: number): void {
    for (const [layer, due] of dueByLayer) {
      const owner = this.members.get(this.owners.get(layer) ?? '');
      if (!owner) continue;
      // A sender whose sequence numbers jump opens a gap of up to MAX_GAP with each packet: what is
      // over its budget is not asked (the requester asks it again later, while it is still missing).
      const granted = takeFromBudget(this.ownNackWindows, owner.endpoint.id, now, due.length, OWN_NACKS_PER_SECOND);
      if (granted === 0) continue;
      const sequences = granted < due.length ? due.slice(0, granted) : due;
      for (const missing of sequences) this.expectRetransmission(layer, missing, undefined, now);
      this.counters.ownRetransmissionRequests += sequences.length;
      owner.endpoint.sendRtcp(buildNack(this.feedbackVideoSsrc, layer, sequences));
    }
  }

  /**
   * A packet the bridge asked for arrived late rather than lost: the receivers got it with it, so
   * the sender's retransmission, when it comes, goes only to receivers that NACKed it themselves.
   */
  private arrivedLate(ssrc: number, sequence: number): void {
    const request = this.retransmissionRequests.get(ssrc, sequence, this.now());
    if (!request) return;
    request.bridge = false;
    if (request.receivers.size === 0) this.retransmissionRequests.delete(ssrc, sequence);
  }

  /**
   * For an RTX packet of a projected source: the receivers that asked for the packet it repairs,
   * and whether the bridge did (the request is consumed), or undefined when nobody did lately
   * (Chrome's bandwidth probes resend old packets on RTX; they stop at the bridge).
   */
  private retransmissionAskers(packet: Buffer, layers: VideoSourceLayers): { receivers: Set<string>; bridge: boolean } | undefined {
    const ssrc = packet.readUInt32BE(8);
    let layer: number | undefined;
    for (const [l, rtx] of layers.rtx) if (rtx === ssrc) layer = l;
    if (layer === undefined || this.header.parse(packet) !== 'ok' || this.header.payloadLength < 2) return undefined;
    const original = packet.readUInt16BE(this.header.payloadOffset);
    this.requester.received(layer, original, this.now(), true, (packet[1]! & 0x80) !== 0);
    return this.retransmissionRequests.take(layer, original, this.now());
  }

  /**
   * A video layer's sender report goes, as the projection's SSRC with its timestamps, to each
   * receiver that is forwarded that layer: timestamps differ per receiver, so the conference sends
   * those copies itself and the shared one is held back. Other layers' reports go nowhere.
   */
  private rewriteSenderReport(report: Buffer): boolean | undefined {
    const ssrc = report.readUInt32BE(4);
    const owner = this.owners.get(ssrc);
    const source = owner === undefined ? undefined : this.members.get(owner)?.sources.sourceOf.get(ssrc);
    const projection = source?.media === 'video' ? this.projections.get(source.name) : undefined;
    if (!projection) return undefined;
    const rtpTimestamp = report.readUInt32BE(16);
    for (const id of projection.wantingReceiverIds()) {
      const timestamp = projection.senderReportTimestamp(id, ssrc, rtpTimestamp);
      const member = this.members.get(id);
      if (timestamp === undefined || !member) continue;
      const copy = Buffer.from(report);
      copy.writeUInt32BE(projection.ssrc, 4);
      copy.writeUInt32BE(timestamp, 16);
      member.endpoint.sendRtcp(copy);
    }
    return false;
  }

  /** Drops what a departed endpoint asked for and said; the others' plan follows. */
  private forgetReceiver(member: Member): void {
    const id = member.endpoint.id;
    this.requests.delete(id);
    for (const projection of this.projections.values()) projection.removeReceiver(id);
    for (const source of member.sources.named) {
      this.desktopOverrides.delete(source.name);
      this.disabledSources.delete(source.name);
    }
    const change = this.speech.remove(id);
    if (change) this.speakerChanged(change);
    else this.refreshForwarding();
  }

  private send(endpointId: string, message: BridgeToClientMessage): void {
    if (!this.closed) this.channel?.send(endpointId, message);
  }

  /** Expires every endpoint; idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.members.keys()]) this.removeEndpoint(id, reason);
    this.rtcp.close();
    this.cancelTailCheck?.();
    this.cancelTailCheck = undefined;
    this.cancelVideoTypeRefresh?.();
    this.cancelVideoTypeRefresh = undefined;
    this.cache.clear();
    this.log.info({ meetingId: this.meetingId, reason }, 'conference closed');
    this.onClosed(this);
  }
}

function speakerMessage(state: SpeakerState): BridgeToClientMessage {
  return { colibriClass: 'DominantSpeakerEndpointChangeEvent', dominantSpeakerEndpoint: state.dominant, previousSpeakers: [...state.previous], silence: state.silence };
}

function sameLayers(layers: VideoSourceLayers, projection: VideoProjection): boolean {
  const known = projection.ssrcs();
  const next = [...layers.layers, ...layers.layers.map((l) => layers.rtx.get(l)).filter((r): r is number => r !== undefined)];
  return known.length === next.length && known.every((ssrc, i) => ssrc === next[i]);
}
