/**
 * The bridge's statistics, read from the running conferences and endpoints: the figures of
 * jitsi-videobridge's `/colibri/stats` (doc/statistics.md; field names as JVB's
 * VideobridgeStatisticsShim writes them) and the totals behind the Prometheus metrics
 * (bridge/stats-metrics.ts). Nothing here runs per packet: the media path keeps plain counters
 * (ConferenceMediaStats, EndpointStats) and they are read when somebody asks.
 *
 * Totals never go backwards although conferences and endpoints come and go: an object is known
 * by identity from the first read that sees it (or from `watchEndpoint`, at creation), and its
 * final counters move into the closed totals when it goes (a conference leaves the live list;
 * an endpoint reaches state `closed`). Rates are the difference between two samples taken by the
 * collector's own timer (JVB: `videobridge.stats.interval`, 5 s), not per request.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { ConferenceMediaStats } from './conference.ts';
import type { EndpointStats } from './endpoint.ts';

/** What is read of an endpoint (bridge/endpoint.ts Endpoint). */
export interface StatsEndpoint {
  readonly state: string;
  stats(): EndpointStats;
}

/** What is read of a conference (bridge/conference.ts BridgeConference). */
export interface StatsConference {
  readonly endpointCount: number;
  endpointIds(): string[];
  endpoint(id: string): object | undefined;
  mediaStats(): ConferenceMediaStats;
}

export interface BridgeStatsOptions {
  /** The live conferences (ColibriService.conferenceList). */
  conferences(): readonly StatsConference[];
  version: string;
  region?: string;
  /** Whether the bridge refuses new conferences (drain mode); default: never. */
  draining?(): boolean;
  /** Sampling period of the rates in ms; default 5000, as JVB's stats interval. */
  intervalMs?: number;
  /** Monotonic milliseconds; default performance.now. */
  now?(): number;
  /** Wall clock (epoch ms) for `current_timestamp`; default Date.now. */
  epochMs?(): number;
  /** Starts the sampling timer and returns its canceller; default an unref'd setInterval. */
  every?(ms: number, fn: () => void): () => void;
  /** The event loop's busy and idle time so far; default performance.eventLoopUtilization. */
  eventLoopUtilization?(): EventLoopUtilization;
  /** Called after each sample that measured the event loop: its busy share, and the sample's time (`now`). */
  onSample?(utilization: number, at: number): void;
  /** The least stress to announce, whatever the load (0.8 while the load reducer caps video: the bridge is full). Default 0. */
  stressFloor?(): number;
}

/** Cumulative figures since the bridge started (live objects plus those already gone). */
export interface BridgeTotals {
  conferencesCreated: number;
  conferencesCompleted: number;
  endpointsCreated: number;
  /** SRTP/SRTCP packets and their wire bytes, as the endpoints received and sent them. */
  packetsReceived: number;
  bytesReceived: number;
  packetsSent: number;
  bytesSent: number;
  srtpAuthFailures: number;
  srtpReplays: number;
  /** RTP accepted for forwarding, the copies forwarded, and RFC 3550 A.3 loss on the way in. */
  rtpPacketsReceived: number;
  rtpPacketsForwarded: number;
  rtpPacketsExpected: number;
  rtpPacketsLost: number;
  forwardingDelayNsTotal: number;
  forwardingDelaySamples: number;
  /** Receivers' NACKs answered from the bridge's packet cache, and those passed to senders. */
  retransmissionsFromCache: number;
  retransmissionsRequested: number;
  /** Bytes of packet copies sent to probe receivers' bandwidth. */
  probingBytes: number;
  /** Packets missing from senders that the bridge NACKed itself. */
  ownRetransmissionRequests: number;
  /** Frame ends sent a second time to receivers losing packets. */
  frameEndsRepeated: number;
  /** Times a receiver's layer stopped until the keyframe of the lower one its bandwidth estimate moved it to. */
  bandwidthHolds: number;
  /** Times a receiver's bandwidth estimate no longer carried even the lowest layer of a video source, which it then stopped being sent. */
  bandwidthSuspensions: number;
  /** The bridge's own requests made as tail-loss probes (a sender's stream silent within a frame, or a frame late). */
  tailLossProbes: number;
}

export interface BridgeSnapshot {
  conferences: number;
  endpoints: number;
  largestConference: number;
  /** The largest forwarding delay of the live conferences, each since it started (ns). */
  forwardingDelayNsMax: number;
  totals: BridgeTotals;
}

/** Rates over the last sampling interval. */
export interface BridgeRates {
  packetRateDownload: number;
  packetRateUpload: number;
  bitRateDownloadKbps: number;
  bitRateUploadKbps: number;
  /** Fraction of the RTP packets expected in the interval that were lost (0 to 1). */
  lossRateDownload: number;
  forwardingDelayMsAverage: number;
}

/** Endpoints at which the bridge calls itself fully loaded whatever their traffic. */
const FULL_LOAD_ENDPOINTS = 500;
/**
 * The event loop's busy share at which the bridge calls itself fully loaded (stress 1). Every
 * packet is forwarded on this one thread, so its busy share, not the machine's CPU (JVB's default
 * measure, `load-management` `cpu-usage`, with a threshold of 0.9), is what runs out: on two cores
 * a saturated loop is half the machine's CPU. Well below 1, as input comes in bursts: in the bridge
 * benchmark (bench/README.md, "The stress level"), rooms of three start losing packets in the
 * socket's buffer at a busy share of about 0.7–0.75 (50 rooms lost 0.03 % at 0.75, 60 rooms 5 % at
 * 0.93).
 */
export const LOAD_THRESHOLD = 0.75;

/**
 * JVB's `stress_level`, the figure the brewery presence (bridge/index.ts) announces to the focus:
 * 0 when idle, 1 when full, over 1 when overloaded (not capped, as JVB's). The focus sends no new
 * conference to a bridge at 0.8 or more (a busy share of 0.6) while another one is below
 * (focus/bridge-selector.ts). The larger of the event loop's busy share over the last sampling
 * interval against LOAD_THRESHOLD, and the endpoints against FULL_LOAD_ENDPOINTS (sockets, memory
 * and signalling have their limits too, even with little media).
 */
export function stressLevel(endpoints: number, utilization = 0): number {
  return Math.max(endpoints / FULL_LOAD_ENDPOINTS, utilization / LOAD_THRESHOLD);
}

function zeroTotals(): BridgeTotals {
  return {
    conferencesCreated: 0, conferencesCompleted: 0, endpointsCreated: 0,
    packetsReceived: 0, bytesReceived: 0, packetsSent: 0, bytesSent: 0, srtpAuthFailures: 0, srtpReplays: 0,
    rtpPacketsReceived: 0, rtpPacketsForwarded: 0, rtpPacketsExpected: 0, rtpPacketsLost: 0,
    forwardingDelayNsTotal: 0, forwardingDelaySamples: 0, retransmissionsFromCache: 0, retransmissionsRequested: 0, probingBytes: 0, ownRetransmissionRequests: 0, frameEndsRepeated: 0, bandwidthHolds: 0, bandwidthSuspensions: 0, tailLossProbes: 0,
  };
}

const ZERO_RATES: BridgeRates = {
  packetRateDownload: 0, packetRateUpload: 0, bitRateDownloadKbps: 0, bitRateUploadKbps: 0, lossRateDownload: 0, forwardingDelayMsAverage: 0,
};

function addEndpoint(into: BridgeTotals, s: EndpointStats): void {
  into.packetsReceived += s.packetsIn;
  into.bytesReceived += s.bytesIn;
  into.packetsSent += s.packetsOut;
  into.bytesSent += s.bytesOut;
  into.srtpAuthFailures += s.authFailures;
  into.srtpReplays += s.replays;
}

function addConference(into: BridgeTotals, s: ConferenceMediaStats): void {
  into.rtpPacketsReceived += s.rtpPacketsReceived;
  into.rtpPacketsForwarded += s.rtpPacketsForwarded;
  into.rtpPacketsExpected += s.packetsExpected;
  into.rtpPacketsLost += s.packetsLost;
  into.forwardingDelayNsTotal += s.forwardingDelayNsTotal;
  into.forwardingDelaySamples += s.forwardingDelaySamples;
  into.retransmissionsFromCache += s.retransmissionsFromCache;
  into.retransmissionsRequested += s.retransmissionsRequested;
  into.probingBytes += s.probingBytes;
  into.ownRetransmissionRequests += s.ownRetransmissionRequests;
  into.frameEndsRepeated += s.frameEndsRepeated;
  into.bandwidthHolds += s.bandwidthHolds;
  into.bandwidthSuspensions += s.bandwidthSuspensions;
  into.tailLossProbes += s.tailLossProbes;
}

function isStatsEndpoint(value: object): value is StatsEndpoint {
  return 'stats' in value && typeof value.stats === 'function' && 'state' in value && typeof value.state === 'string';
}

/** `yyyy-MM-dd HH:mm:ss.SSS` in UTC, JVB's current_timestamp format. */
function jvbTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

export class BridgeStats {
  readonly #options: BridgeStatsOptions;
  readonly #now: () => number;
  /** Live objects already counted; what has been folded into #settled is never counted again. */
  readonly #conferences = new Set<StatsConference>();
  readonly #endpoints = new Set<StatsEndpoint>();
  readonly #folded = new WeakSet<object>();
  /** The final counters of what is gone, and the created/completed counts. */
  readonly #settled: BridgeTotals = zeroTotals();
  /** The highest totals reported so far (see snapshot). */
  #reported: BridgeTotals = zeroTotals();
  #lastSample: { at: number; totals: BridgeTotals } | undefined;
  #rates: BridgeRates = ZERO_RATES;
  readonly #eventLoop: () => EventLoopUtilization;
  /** The reading of the last sample; undefined before the first (which measures nothing: it starts the first interval). */
  #lastEventLoop: EventLoopUtilization | undefined;
  #utilization = 0;
  #stopTimer: (() => void) | undefined;

  constructor(options: BridgeStatsOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#eventLoop = options.eventLoopUtilization ?? (() => performance.eventLoopUtilization());
    this.sample();
    const every = options.every ?? ((ms, fn) => {
      const timer = setInterval(fn, ms);
      timer.unref();
      return () => clearInterval(timer);
    });
    this.#stopTimer = every(options.intervalMs ?? 5000, () => this.sample());
  }

  /**
   * Counts an endpoint from its creation, so one that closes before any read still adds to the
   * totals (the composition root wraps the bridge's endpoint factory with this). Returns it.
   */
  watchEndpoint<T extends object>(endpoint: T): T {
    if (isStatsEndpoint(endpoint) && !this.#folded.has(endpoint) && !this.#endpoints.has(endpoint)) {
      this.#endpoints.add(endpoint);
      this.#settled.endpointsCreated++;
    }
    // Its conference exists by now: count it too, in case it closes before the next read.
    this.#refresh();
    return endpoint;
  }

  /** Live counts and cumulative totals, read now. */
  snapshot(): BridgeSnapshot {
    const live = this.#refresh();
    const totals = { ...this.#settled };
    let largestConference = 0;
    let forwardingDelayNsMax = 0;
    for (const endpoint of this.#endpoints) addEndpoint(totals, endpoint.stats());
    for (const conference of live) {
      const media = conference.mediaStats();
      addConference(totals, media);
      largestConference = Math.max(largestConference, conference.endpointCount);
      forwardingDelayNsMax = Math.max(forwardingDelayNsMax, media.forwardingDelayNsMax);
    }
    // RFC 3550's cumulative loss shrinks when duplicates arrive; a counter must not, so every
    // total is reported at its high-water mark.
    for (const key of Object.keys(totals) as Array<keyof BridgeTotals>) totals[key] = Math.max(totals[key], this.#reported[key]);
    this.#reported = { ...totals };
    const endpoints = live.reduce((n, c) => n + c.endpointCount, 0);
    return { conferences: live.length, endpoints, largestConference, forwardingDelayNsMax, totals };
  }

  /** Rates over the last sampling interval (zero until two samples exist). */
  get rates(): BridgeRates {
    return this.#rates;
  }

  /**
   * The share of the last sampling interval the event loop spent busy (0 to 1; 0 before the first
   * interval ends): handling datagrams, stanzas and timers, as performance.eventLoopUtilization.
   */
  get utilization(): number {
    return this.#utilization;
  }

  /** The stress level now: the endpoints now, the busy share of the last interval (see stressLevel), at least the floor. */
  stress(endpoints: number): number {
    return Math.max(stressLevel(endpoints, this.#utilization), this.#options.stressFloor?.() ?? 0);
  }

  /** Takes a sample now: the rates become those since the previous sample. Run by the timer. */
  sample(): void {
    const at = this.#now();
    const { totals } = this.snapshot();
    const eventLoop = this.#eventLoop();
    const before = this.#lastEventLoop;
    const busy = before ? eventLoop.active - before.active : 0;
    const all = before ? busy + eventLoop.idle - before.idle : 0;
    this.#lastEventLoop = eventLoop;
    if (all > 0) {
      this.#utilization = Math.min(1, Math.max(0, busy / all));
      this.#options.onSample?.(this.#utilization, at);
    }
    const last = this.#lastSample;
    const seconds = last ? (at - last.at) / 1000 : 0;
    if (last && seconds > 0) {
      const delta = (key: keyof BridgeTotals): number => totals[key] - last.totals[key];
      const expected = delta('rtpPacketsExpected');
      const samples = delta('forwardingDelaySamples');
      this.#rates = {
        packetRateDownload: delta('packetsReceived') / seconds,
        packetRateUpload: delta('packetsSent') / seconds,
        bitRateDownloadKbps: (delta('bytesReceived') * 8) / seconds / 1000,
        bitRateUploadKbps: (delta('bytesSent') * 8) / seconds / 1000,
        lossRateDownload: expected > 0 ? Math.min(1, delta('rtpPacketsLost') / expected) : 0,
        forwardingDelayMsAverage: samples > 0 ? delta('forwardingDelayNsTotal') / samples / 1e6 : 0,
      };
    }
    this.#lastSample = { at, totals };
  }

  /** The `/colibri/stats` document (JVB's names; forwarding_delay_* are Salon's own). */
  colibriStats(): Record<string, string | number | boolean> {
    const s = this.snapshot();
    const r = this.#rates;
    const draining = this.#options.draining?.() ?? false;
    return {
      current_timestamp: jvbTimestamp(this.#options.epochMs?.() ?? Date.now()),
      version: this.#options.version,
      ...(this.#options.region ? { region: this.#options.region } : {}),
      conferences: s.conferences,
      participants: s.endpoints,
      endpoints: s.endpoints,
      largest_conference: s.largestConference,
      total_conferences_created: s.totals.conferencesCreated,
      total_conferences_completed: s.totals.conferencesCompleted,
      total_participants: s.totals.endpointsCreated,
      packet_rate_download: Math.round(r.packetRateDownload),
      packet_rate_upload: Math.round(r.packetRateUpload),
      bit_rate_download: Math.round(r.bitRateDownloadKbps),
      bit_rate_upload: Math.round(r.bitRateUploadKbps),
      total_packets_received: s.totals.packetsReceived,
      total_packets_sent: s.totals.packetsSent,
      total_bytes_received: s.totals.bytesReceived,
      total_bytes_sent: s.totals.bytesSent,
      loss_rate_download: round(r.lossRateDownload, 5),
      // Deprecated in JVB as download + upload loss; upload loss (from receiver reports) is not measured yet.
      rtp_loss: round(r.lossRateDownload, 5),
      incoming_loss: round(r.lossRateDownload, 5),
      stress_level: round(this.stress(s.endpoints), 3),
      // Salon's own: the busy share behind stress_level.
      event_loop_utilization: round(this.#utilization, 3),
      graceful_shutdown: false,
      drain: draining,
      forwarding_delay_ms_avg: round(r.forwardingDelayMsAverage, 3),
      forwarding_delay_ms_max: round(s.forwardingDelayNsMax / 1e6, 3),
    };
  }

  /** Stops the sampling timer; idempotent. Reads still work (the rates stay as last sampled). */
  close(): void {
    this.#stopTimer?.();
    this.#stopTimer = undefined;
  }

  /** Brings the known objects up to date with the live ones; returns the live conferences. */
  #refresh(): readonly StatsConference[] {
    const live = this.#options.conferences();
    const present = new Set(live);
    for (const conference of this.#conferences) {
      if (present.has(conference)) continue;
      // Gone: its counters are final (no members are left to forward for).
      addConference(this.#settled, conference.mediaStats());
      this.#settled.conferencesCompleted++;
      this.#conferences.delete(conference);
      this.#folded.add(conference);
    }
    for (const conference of live) {
      if (!this.#conferences.has(conference) && !this.#folded.has(conference)) {
        this.#conferences.add(conference);
        this.#settled.conferencesCreated++;
      }
      for (const id of conference.endpointIds()) {
        const endpoint = conference.endpoint(id);
        if (!endpoint || !isStatsEndpoint(endpoint) || this.#endpoints.has(endpoint) || this.#folded.has(endpoint)) continue;
        this.#endpoints.add(endpoint);
        this.#settled.endpointsCreated++;
      }
    }
    for (const endpoint of this.#endpoints) {
      if (endpoint.state !== 'closed') continue;
      addEndpoint(this.#settled, endpoint.stats());
      this.#endpoints.delete(endpoint);
      this.#folded.add(endpoint);
    }
    return live;
  }
}
