/**
 * The bridge's RTCP termination for one conference (jitsi-protocol.md §8.3, §8.6), as
 * jitsi-videobridge does it per hop: the bridge is the receiver of every sender's RTP, so it
 * generates the feedback a receiver owes — transport-wide congestion control feedback per endpoint
 * (one BUNDLE transport) every 50 ms, and receiver reports (RFC 3550 §6.4.2) per sender endpoint
 * every second — and it is the sender towards every receiver, so receivers' RRs and transport-cc
 * feedback stop here. What passes: sender reports, with their report blocks stripped, go to every
 * other endpoint (lip-sync needs the NTP↔RTP mapping); NACK, PLI, FIR and other payload-specific
 * feedback go to the owner of the media SSRC they name. Where the conference re-stamps a source
 * (a simulcast video source projected onto the SSRC receivers know, video-projection.ts), the
 * host translates: SRs of the forwarded layer get that SSRC and its timestamps, a keyframe request
 * names the layer being forwarded, a NACK the sender's own sequence numbers.
 */
import type { Logger } from 'pino';
import { readTransportSequence, RtpHeader } from './rtp/packet.ts';
import { ReceiveStatistics } from './rtp/receive-stats.ts';
import { buildNack, buildReceiverReports, expandNack, RtcpWalker, senderInfoOnly, type ReportBlock } from './rtp/rtcp.ts';
import { TransportCcRecorder } from './rtp/transport-cc.ts';
import { systemClock, timerGridOn, type Clock, type TimerGrid } from './transport/clock.ts';
import type { LoggedRtp, ReceiveLogReader } from './transport/receive-log.ts';
import { NOT_FORWARDED } from './native/index.ts';

/** The bridge's own SSRCs in a conference (`jvb-a0`, `jvb-v0`), the sender SSRCs of its feedback. */
export interface FeedbackSsrcs {
  audio: number;
  video: number;
}

/** What the termination needs of its conference. */
export interface RtcpTerminationHost {
  /** The endpoint that announced `ssrc` (Colibri2 sources), if any. */
  ownerOf(ssrc: number): string | undefined;
  /** Whether the endpoint's `ssrc` is forwarded to the others (their receivers know it). */
  isForwarded(endpointId: string, ssrc: number): boolean;
  endpointIds(): Iterable<string>;
  sendRtcp(endpointId: string, packet: Buffer): void;
  /**
   * Feedback from a receiver about `mediaSsrc` as the sender must get it, when that SSRC is a
   * re-stamped one: `lost` holds a NACK's sequence numbers (empty for a PLI or FIR). Undefined:
   * the SSRC is not re-stamped and the packet goes unchanged to its owner.
   */
  translateFeedback?(kind: 'nack' | 'keyframe', mediaSsrc: number, lost: readonly number[], receiverId: string): Array<{ owner: string; packet: Buffer }> | undefined;
  /**
   * A sender report (sender info only, SSRC at byte 4, RTP timestamp at byte 16) as receivers
   * must see it: rewritten in place (true), unchanged (undefined), or not for them (false).
   */
  rewriteSenderReport?(report: Buffer): boolean | undefined;
  /**
   * The endpoint's feedback about what the bridge sends it: a transport-cc packet (a view of the
   * compound, valid during the call) or a REMB's bitrate. For its bandwidth estimate.
   */
  bandwidthFeedback?(endpointId: string, feedback: { kind: 'transport-cc'; packet: Buffer } | { kind: 'remb'; bitrate: number }): void;
  /**
   * A packet the media socket's read forwarded itself (NativeSrtpTransform.setRoute), read from the
   * endpoint's log after its receive-side facts: its RTP `length`, audio `level` octet (-1: none)
   * and arrival. No receiveRtp comes for it.
   */
  forwardedRtp?(endpointId: string, length: number, level: number, arrival: number): void;
  /** Every endpoint's log was read (each feedback period), after the forwardedRtp calls of the read. */
  logsRead?(): void;
}

export interface RtcpTerminationOptions {
  feedbackSsrcs: FeedbackSsrcs;
  log: Logger;
  /** Default: the process clock. */
  clock?: Clock;
  /**
   * The grid the feedback tick is armed on, shared by the bridge's conferences so that their ticks
   * come in one turn of the event loop (on `clock`; default one of its own, or the process's).
   */
  timers?: TimerGrid;
  /** Header extension id of the transport-wide sequence number; default 5 (focus/offer.ts). */
  transportCcExtensionId?: number;
  /**
   * RTP clock rate of each payload type. Clock rate 90 000 means video, anything else audio;
   * payload types not listed are taken as video. Default: {@link DEFAULT_CLOCK_RATES}.
   */
  clockRates?: ReadonlyMap<number, number>;
  /** Transport-cc feedback period; default 50 ms. */
  feedbackIntervalMs?: number;
  /** Feedback goes out early once this many packets await it; default 100. */
  feedbackPendingLimit?: number;
  /** Receiver report period; default 1000 ms. The timer stops after two periods without RTP. */
  reportIntervalMs?: number;
}

/**
 * The audio payload types of the focus's default offer (focus/offer.ts DEFAULT_CODECS: opus 111,
 * its RED 112, telephone-event 126); every other payload type is video at 90 kHz.
 */
export const DEFAULT_CLOCK_RATES: ReadonlyMap<number, number> = new Map([[111, 48_000], [112, 48_000], [126, 8_000]]);

const VIDEO_CLOCK_RATE = 90_000;

/**
 * Sender reports of one SSRC passed on are at least this far apart. Chrome sends one every 0.5–1.5 s
 * (more often in compounds with its feedback, each carrying the same NTP↔RTP mapping); a compound
 * of a hundred copies of one SR otherwise went out as a hundred datagrams to every receiver (one
 * per receiver each, for a re-stamped video layer).
 */
export const SENDER_REPORT_GAP_MS = 200;

/**
 * Distinct sequence numbers taken from one NACK (Chrome asks at most 1,000 packets at a time).
 * A 4 KB NACK names up to 17,340, most of them repeated when sent to make the bridge work.
 */
export const MAX_NACKED_PER_PACKET = 1000;
/** NACK packets about SSRCs not re-stamped (audio) passed on per receiver per second; the rest stop here. */
export const PASSED_NACKS_PER_SECOND = 100;
/** Sequence numbers one NACK passed on (about an SSRC not re-stamped) asks at most: an audio stream loses a few at a time. */
export const PASSED_NACKED_PER_PACKET = 64;

/** Keyframe requests passed to one sender SSRC are at least this far apart (receivers share the keyframe coming). */
export const KEYFRAME_REQUEST_GAP_MS = 300;

interface ReceivedStream {
  stats: ReceiveStatistics;
  kind: 'audio' | 'video';
}

interface EndpointFeedback {
  tcc: TransportCcRecorder;
  /** SSRC of the last packet with a transport-wide sequence number (the feedback's media SSRC). */
  mediaSsrc: number;
  streams: Map<number, ReceivedStream>;
  /** SSRC (owned by the endpoint and forwarded) → when its last sender report was passed on. */
  senderReportsPassed: Map<number, number>;
  /** NACKs passed on unchanged in the current second: {@link PASSED_NACKS_PER_SECOND}. */
  passedNacks: { start: number; count: number };
  /** Where the media socket's read notes the endpoint's packets (native path), read by {@link RtcpTermination.#drain}. */
  log: ReceiveLogReader | undefined;
  /** What a logged packet is handed to (made once per endpoint). */
  onLogged: LoggedRtp;
}

export class RtcpTermination {
  readonly #host: RtcpTerminationHost;
  readonly #ssrcs: FeedbackSsrcs;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #timers: TimerGrid;
  readonly #extensionId: number;
  readonly #clockRates: ReadonlyMap<number, number>;
  readonly #feedbackIntervalMs: number;
  readonly #pendingLimit: number;
  readonly #reportIntervalMs: number;
  readonly #endpoints = new Map<string, EndpointFeedback>();
  readonly #header = new RtpHeader();
  readonly #walker = new RtcpWalker();
  /** One mark per sequence number while a NACK is expanded (cleared after each). */
  readonly #nackSeen = new Uint8Array(65536);
  /** The one timer (feedback period), armed while RTP flows; its canceller. */
  #cancelTick: (() => void) | undefined;
  #nextReportAt = 0;
  #lastPacketAt = -Infinity;
  /** A.3 totals of streams that are gone, so the conference's counters stay cumulative. */
  #retired = { expected: 0, lost: 0 };
  #started = false;
  #closed = false;
  /** Media SSRC → when a keyframe request for it last went to its sender (one per gap). */
  readonly #lastKeyframeRequest = new Map<number, number>();

  constructor(host: RtcpTerminationHost, options: RtcpTerminationOptions) {
    this.#host = host;
    this.#ssrcs = options.feedbackSsrcs;
    this.#log = options.log;
    this.#clock = options.clock ?? options.timers?.clock ?? systemClock;
    this.#timers = options.timers ?? timerGridOn(this.#clock);
    if (this.#timers.clock !== this.#clock) throw new Error('the timer grid runs on another clock');
    this.#extensionId = options.transportCcExtensionId ?? 5;
    this.#clockRates = options.clockRates ?? DEFAULT_CLOCK_RATES;
    this.#feedbackIntervalMs = options.feedbackIntervalMs ?? 50;
    this.#pendingLimit = options.feedbackPendingLimit ?? 100;
    this.#reportIntervalMs = options.reportIntervalMs ?? 1000;
  }

  /**
   * Starts feedback and reports; close() stops them. The timer runs only while RTP arrives (the
   * first packet arms it, two report periods without one let it lapse), so a conference without
   * media — or one a test never closes — holds no timer.
   */
  start(): void {
    if (!this.#closed) this.#started = true;
  }

  /** The header extension incoming packets carry their transport-wide sequence number in. */
  get transportCcExtensionId(): number {
    return this.#extensionId;
  }

  /**
   * `log`: where the media socket's read notes the endpoint's RTP (bridge/transport/receive-log.ts),
   * its arrivals on this termination's clock; the packets it notes come to receiveRtp `logged`.
   */
  addEndpoint(id: string, log?: ReceiveLogReader): void {
    if (this.#closed || this.#endpoints.has(id)) return;
    const state: EndpointFeedback = {
      tcc: new TransportCcRecorder(), mediaSsrc: 0, streams: new Map(), senderReportsPassed: new Map(), passedNacks: { start: Number.NEGATIVE_INFINITY, count: 0 },
      log, onLogged: (transportSequence, ssrc, sequenceNumber, timestamp, payloadType, arrival, length, forwarded) => {
        this.#received(id, state, transportSequence, ssrc, sequenceNumber, timestamp, payloadType, arrival);
        if (forwarded === NOT_FORWARDED) return;
        // The read forwarded it (no receiveRtp came): what still depends on it.
        if (arrival > this.#lastPacketAt) this.#lastPacketAt = arrival;
        this.#host.forwardedRtp?.(id, length, forwarded, arrival);
      },
    };
    // What it noted before now (another conference's, or none) is not this conference's to count.
    log?.drain(() => {});
    this.#endpoints.set(id, state);
  }

  removeEndpoint(id: string): void {
    const state = this.#endpoints.get(id);
    if (!state) return;
    this.#drain(state);
    for (const stream of state.streams.values()) this.#retire(stream);
    this.#endpoints.delete(id);
  }

  /**
   * Takes in what the endpoint's receive log holds: before its sources change, so that each packet
   * is counted under the sources it came under, as it would have been at its arrival.
   */
  catchUp(id: string): void {
    const state = this.#endpoints.get(id);
    if (state) this.#drain(state);
  }

  /** Forgets the statistics of SSRCs the endpoint no longer announces (after a source update). */
  sourcesChanged(id: string): void {
    const state = this.#endpoints.get(id);
    if (!state) return;
    for (const [ssrc, stream] of state.streams) {
      if (this.#host.ownerOf(ssrc) === id) continue;
      this.#retire(stream);
      state.streams.delete(ssrc);
    }
    for (const ssrc of state.senderReportsPassed.keys()) if (this.#host.ownerOf(ssrc) !== id) state.senderReportsPassed.delete(ssrc);
  }

  /**
   * One RTP packet from an endpoint, before anything rewrites it. `arrival` (on this clock): when
   * it reached the bridge, if known, for its transport-cc arrival time and jitter; else now.
   * `logged`: the endpoint's receive log has it (addEndpoint), to be read with the others.
   */
  receiveRtp(id: string, packet: Buffer, arrival?: number, logged = false): void {
    const state = this.#endpoints.get(id);
    if (!state) return;
    if (logged && state.log !== undefined) {
      this.#wake(arrival ?? this.#clock.now());
      // Read once the waiting records could hold the packet that sends feedback early (#received).
      if (state.tcc.pending + state.log.waiting >= this.#pendingLimit) this.#drain(state);
      return;
    }
    const header = this.#header;
    if (header.parse(packet) !== 'ok') return;
    const now = arrival ?? this.#clock.now();
    this.#wake(now);
    // After what the log holds, which came before it (a full log, logging just turned off).
    this.#drain(state);
    this.#received(id, state, readTransportSequence(header, this.#extensionId), header.ssrc, header.sequenceNumber, header.timestamp, header.payloadType, now);
  }

  /** One packet's receive-side facts, handed over as it comes or read from the endpoint's log: transport-cc arrival, statistics. */
  #received(id: string, state: EndpointFeedback, transportSequence: number, ssrc: number, sequenceNumber: number, timestamp: number, payloadType: number, now: number): void {
    if (transportSequence >= 0) {
      state.tcc.record(transportSequence, now * 1000);
      state.mediaSsrc = ssrc;
    }
    if (this.#host.ownerOf(ssrc) === id) {
      const clockRate = this.#clockRates.get(payloadType) ?? VIDEO_CLOCK_RATE;
      let stream = state.streams.get(ssrc);
      if (!stream) {
        stream = { stats: new ReceiveStatistics(ssrc), kind: clockRate === VIDEO_CLOCK_RATE ? 'video' : 'audio' };
        state.streams.set(ssrc, stream);
      }
      stream.stats.update(sequenceNumber, timestamp, now, clockRate);
    }
    if (state.tcc.pending >= this.#pendingLimit) this.#sendFeedback(id, state);
  }

  /** Reads what the endpoint's receive log holds (its packets, in the order they came). */
  #drain(state: EndpointFeedback): void {
    if (state.log === undefined || state.log.waiting === 0) return;
    state.log.drain(state.onLogged);
  }

  /** One compound RTCP packet from an endpoint: see the file comment for what passes. `arrival` as receiveRtp's. */
  receiveRtcp(id: string, packet: Buffer, arrival?: number): void {
    const state = this.#endpoints.get(id);
    if (!state) return;
    // What passes on, by target: most compounds (receiver reports, transport-cc) pass nothing.
    // A method and one map, not a closure made per compound: the server runs under tsx, whose
    // keepNames names every closure so made with Object.defineProperty (1.4 % of the JavaScript
    // thread in 20 rooms of three, 950 compounds a second).
    const out = this.#passing;
    try {
      const walker = this.#walker;
      walker.reset(packet);
      while (walker.next() === 'ok') {
        switch (walker.kind) {
          case 'sr': {
            const ssrc = walker.senderSsrc;
            if (this.#host.ownerOf(ssrc) !== id) break;
            // Matched against the packets received before it: the log read first (only here: the
            // rest of a compound is about what the bridge sent, and the tick reads the log anyway).
            this.#drain(state);
            // Its arrival from the wire, so that the DLSR the sender gets back leaves out the bridge's read delay.
            const now = arrival ?? this.#clock.now();
            state.streams.get(ssrc)?.stats.onSenderReport(walker.ntpSeconds, walker.ntpFraction, now);
            if (!this.#host.isForwarded(id, ssrc)) break;
            if (now - (state.senderReportsPassed.get(ssrc) ?? Number.NEGATIVE_INFINITY) < SENDER_REPORT_GAP_MS) break;
            state.senderReportsPassed.set(ssrc, now);
            const info = senderInfoOnly(walker);
            if (this.#host.rewriteSenderReport?.(info) === false) break;
            for (const other of this.#host.endpointIds()) this.#pass(out, id, other, info);
            break;
          }
          case 'nack': {
            // Each sequence number once, and no more than a sender could have lost at a time.
            const lost: number[] = [];
            const seen = this.#nackSeen;
            for (let i = 0; i < walker.nackCount && lost.length < MAX_NACKED_PER_PACKET; i++) expandNack(walker.nackPid(i), walker.nackBlp(i), lost, seen);
            for (const sequence of lost) seen[sequence] = 0;
            if (lost.length > MAX_NACKED_PER_PACKET) lost.length = MAX_NACKED_PER_PACKET;
            const translated = this.#host.translateFeedback?.('nack', walker.mediaSsrc, lost, id);
            if (translated) for (const { owner, packet: nack } of translated) this.#pass(out, id, owner, nack);
            // Rebuilt from what it asks (deduplicated, at most PASSED_NACKED_PER_PACKET), not copied:
            // a 4 KB NACK of scattered numbers, copied, went whole to the owner a hundred times a second.
            else if (lost.length > 0 && this.#routable(walker.mediaSsrc) && this.#passNack(state, arrival ?? this.#clock.now())) {
              this.#pass(out, id, this.#host.ownerOf(walker.mediaSsrc), buildNack(this.#ssrcs.video, walker.mediaSsrc, lost.length > PASSED_NACKED_PER_PACKET ? lost.slice(0, PASSED_NACKED_PER_PACKET) : lost));
            }
            break;
          }
          case 'pli':
          case 'fir': {
            // RFC 5104 §4.3.1.2: a FIR's media SSRC field is 0; its FCI names the source.
            const mediaSsrc = walker.kind === 'fir' ? walker.firSsrc(0) : walker.mediaSsrc;
            const translated = this.#host.translateFeedback?.('keyframe', mediaSsrc, [], id);
            if (translated) for (const { owner, packet: pli } of translated) this.#pass(out, id, owner, pli);
            else if (this.#routable(mediaSsrc) && this.#keyframeGate(mediaSsrc)) this.#pass(out, id, this.#host.ownerOf(mediaSsrc), this.#asBridge(this.#part(packet)));
            break;
          }
          case 'transport-cc':
            // The bridge is the sender towards this endpoint: its feedback is the bridge's.
            this.#host.bandwidthFeedback?.(id, { kind: 'transport-cc', packet: this.#part(packet) });
            break;
          case 'remb':
            this.#host.bandwidthFeedback?.(id, { kind: 'remb', bitrate: walker.rembBitrate });
            break;
          default:
            // RR, SDES, BYE, APP, XR, other payload-specific feedback: the bridge is the sender
            // towards this endpoint.
            break;
        }
      }
      for (const [target, parts] of out) this.#host.sendRtcp(target, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    } finally {
      out.clear();
    }
  }

  /**
   * Parts of the compound being read that pass on, by target endpoint (receiveRtcp; empty between
   * calls). receiveRtcp is not re-entrant, as its walker is not: nothing it calls (the host's
   * sendRtcp among them) hands an endpoint's RTCP back to it.
   */
  readonly #passing = new Map<string, Buffer[]>();

  /** Notes in `out` that `part` of the compound from `from` passes on to `target` (none: nobody; never back to `from`). */
  #pass(out: Map<string, Buffer[]>, from: string, target: string | undefined, part: Buffer): void {
    if (target === undefined || target === from) return;
    const list = out.get(target);
    if (list) list.push(part);
    else out.set(target, [part]);
  }

  /** The sub-packet the walker is on, as a view of `packet`. */
  #part(packet: Buffer): Buffer {
    return packet.subarray(this.#walker.offset, this.#walker.offset + this.#walker.length);
  }

  /** Whether a NACK passed on unchanged fits the receiver's second ({@link PASSED_NACKS_PER_SECOND}). */
  #passNack(state: EndpointFeedback, now: number): boolean {
    const window = state.passedNacks;
    if (now - window.start >= 1000) {
      window.start = now;
      window.count = 0;
    }
    return window.count++ < PASSED_NACKS_PER_SECOND;
  }

  /** Feedback goes only about an SSRC some endpoint forwards to the others. */
  #routable(mediaSsrc: number): boolean {
    const owner = this.#host.ownerOf(mediaSsrc);
    return owner !== undefined && this.#host.isForwarded(owner, mediaSsrc);
  }

  /**
   * A copy of a receiver's feedback sent as the bridge's own (its video feedback SSRC): the
   * receiver's SSRCs mean nothing to the sender, and each new one would cost the sender's SRTCP
   * context state.
   */
  #asBridge(part: Buffer): Buffer {
    const copy = Buffer.from(part);
    copy.writeUInt32BE(this.#ssrcs.video >>> 0, 4);
    return copy;
  }

  /** One keyframe request per media SSRC per {@link KEYFRAME_REQUEST_GAP_MS}, however many receivers ask. */
  #keyframeGate(mediaSsrc: number): boolean {
    const now = this.#clock.now();
    const last = this.#lastKeyframeRequest.get(mediaSsrc);
    if (last !== undefined && now - last < KEYFRAME_REQUEST_GAP_MS) return false;
    if (this.#lastKeyframeRequest.size >= 4096) this.#lastKeyframeRequest.clear();
    this.#lastKeyframeRequest.set(mediaSsrc, now);
    return true;
  }

  /** RFC 3550 A.3 totals over every stream received in this conference, gone ones included. */
  counters(): { packetsExpected: number; packetsLost: number } {
    let expected = this.#retired.expected;
    let lost = this.#retired.lost;
    for (const state of this.#endpoints.values()) {
      this.#drain(state);
      for (const { stats } of state.streams.values()) {
        expected += stats.totalExpected;
        lost += stats.totalLost;
      }
    }
    return { packetsExpected: expected, packetsLost: lost };
  }

  /** Streams and transports with state, for leak checks. */
  get sizes(): { endpoints: number; streams: number; timers: number } {
    let streams = 0;
    for (const state of this.#endpoints.values()) streams += state.streams.size;
    return { endpoints: this.#endpoints.size, streams, timers: this.#cancelTick ? 1 : 0 };
  }

  /** Stops the timer and forgets every endpoint; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelTick?.();
    this.#cancelTick = undefined;
    for (const id of [...this.#endpoints.keys()]) this.removeEndpoint(id);
  }

  #retire(stream: ReceivedStream): void {
    this.#retired.expected += stream.stats.totalExpected;
    this.#retired.lost += stream.stats.totalLost;
  }

  /**
   * Whether the tick runs however long no packet is handed over (receiveRtp): while the read
   * forwards packets itself, only their records in the logs say they still come, and only the
   * tick reads them. Called during a tick (what it read changed the routes), it leaves the tick
   * to arm the next one and the report schedule alone.
   */
  keepAwake(on: boolean): void {
    this.#keepAwake = on;
    if (on && !this.#ticking) this.#wake(this.#clock.now());
  }

  #keepAwake = false;
  #ticking = false;

  /** Arms the timer for a packet arriving at `now`; the first report comes one period after media (re)starts. */
  #wake(now: number): void {
    this.#lastPacketAt = now;
    if (this.#cancelTick || !this.#started || this.#closed) return;
    this.#nextReportAt = now + this.#reportIntervalMs;
    this.#cancelTick = this.#armTick();
  }

  /**
   * The next tick, on the grid's multiples of the feedback period: half a period away at least,
   * so they come a period apart, at the same instants in every conference.
   */
  #armTick(): () => void {
    return this.#timers.setTimeout(() => this.#tick(), this.#feedbackIntervalMs / 2, this.#feedbackIntervalMs);
  }

  /** Every feedback period: transport-cc to every endpoint, receiver reports when due. */
  #tick(): void {
    this.#cancelTick = undefined;
    if (this.#closed) return;
    const now = this.#clock.now();
    this.#ticking = true;
    try {
      for (const [id, state] of this.#endpoints) {
        this.#drain(state);
        this.#sendFeedback(id, state);
      }
      this.#host.logsRead?.();
      if (now >= this.#nextReportAt) {
        this.#nextReportAt = now + this.#reportIntervalMs;
        this.#sendReports(now);
      }
    } catch (err) {
      this.#log.error({ err }, 'RTCP termination tick failed');
    } finally {
      this.#ticking = false;
    }
    // Not armed twice: what the tick handed on may have woken it (keepAwake).
    if (!this.#cancelTick && (this.#keepAwake || now - this.#lastPacketAt <= 2 * this.#reportIntervalMs)) {
      this.#cancelTick = this.#armTick();
    }
  }

  #sendFeedback(id: string, state: EndpointFeedback): void {
    const packets = state.tcc.takeFeedback(this.#ssrcs.video, state.mediaSsrc, this.#clock.now() * 1000);
    for (const packet of packets) this.#host.sendRtcp(id, packet);
  }

  /** One compound per sender endpoint: an RR from the audio feedback SSRC, one from the video one. */
  #sendReports(now: number): void {
    for (const [id, state] of this.#endpoints) {
      const audio: ReportBlock[] = [];
      const video: ReportBlock[] = [];
      for (const stream of state.streams.values()) {
        if (!stream.stats.heardSinceReport) continue;
        const block = stream.stats.report(now);
        if (block) (stream.kind === 'audio' ? audio : video).push(block);
      }
      const parts: Buffer[] = [];
      if (audio.length > 0) parts.push(buildReceiverReports(this.#ssrcs.audio, audio));
      if (video.length > 0) parts.push(buildReceiverReports(this.#ssrcs.video, video));
      if (parts.length > 0) this.#host.sendRtcp(id, Buffer.concat(parts));
    }
  }
}
