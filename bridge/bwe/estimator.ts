// Send-side bandwidth estimation for one bridge → receiver transport, in the manner of Google
// Congestion Control (draft-ietf-rmcat-gcc-02), fed by the receiver's transport-cc feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01) or, for a receiver without it, by REMB
// (draft-alvestrand-rmcat-remb-03). Pure: the caller gives every time (monotonic ms); no timers.
//
// - Pre-filtering (gcc-02 §5.2): packets sent within a 5 ms burst form one group; each completed
//   group gives the inter-group delay variation d = (arrival delta) − (send delta).
// - Arrival-time filter: instead of the draft's Kalman filter (§5.3), the trendline estimator
//   that later replaced it: d is accumulated and exponentially smoothed, and the slope of a linear
//   regression over the last 20 smoothed points (against arrival time) is the delay trend.
// - Over-use detector (§5.4): the trend, scaled by the number of deltas (at most 60) and a gain of
//   4, is compared with an adaptive threshold γ (12.5 ms at start, kept in [6, 600]; moved towards
//   |m| with k_u = 0.0087 when above, k_d = 0.039 when below; samples beyond γ + 15 are not used);
//   over-use is signalled once it lasted more than 10 ms over two samples without the trend falling.
// - Delay-based rate control (§5.5): an increase/hold/decrease state machine. Decrease: 0.85 × the
//   acknowledged bitrate (bytes the receiver got over the last 500 ms of arrival time), at most
//   once per 200 ms. Increase: multiplicative, 8 %/s, while far from the bitrate seen at the last
//   over-uses; additive (one 1200-byte packet per response time = RTT + 100 ms) when within three
//   standard deviations of it. Under-use: hold.
// - Loss-based control (§6): the fraction lost over windows of at least 500 ms and 20 packets;
//   above 10 % the loss-based bound becomes estimate × (1 − 0.5 × loss); under 2 % it rises 8 %/s
//   and stops bounding once it reaches the delay-based estimate; in between it holds. Packets sent
//   before a loss-based decrease are no longer counted: their fate was decided at the old rate, and
//   counting them (they are reported a queue delay later) would cut the estimate twice.
// - The estimate is min(delay-based, loss-based, REMB when the receiver sends it) in [min, max].
// - Probe clusters: packets sent as a probe (beginProbeCluster, packetSent with its id, then
//   probeClusterSent) are timed at the receiver; the bytes that arrived after the first one over
//   the span of their arrivals is the rate the path delivered them at, and the bytes sent before
//   the last one over the span of their sending the rate they were sent at: the result is the
//   lower of the two, as libwebrtc's ProbeBitrateEstimator takes it (which also takes 95 % of the
//   delivery rate when that is under 90 % of the send rate; not done here). The bridge paces a
//   cluster at its target, the media sent meanwhile counted in it as libwebrtc's pacer counts it
//   (ReceiverBandwidth), so that a bottleneck shared with cross traffic delivers it at about the
//   share it gets there, not at the link's own rate as a back-to-back burst would show (the
//   dispersion of a packet train). A result counts only at 1.5 × the estimate or more (closer
//   proves nothing: a bottleneck's burst allowance inflates a short cluster), with no over-use and
//   loss under 10 %; it is capped by the cluster's target (at most twice the estimate); it then
//   becomes the delay-based estimate at once and the loss-based bound's floor. Too high a result
//   shows as over-use once media fills it, and is cut as any. So an estimate cut by a passing
//   congestion comes back in a few clusters instead of at 8 %/s. At most one cluster is measured
//   at a time, once all of it was sent; one whose feedback is incomplete 1 s after its last packet
//   (or its start, before any) is dropped.
//
// Growth bound: besides the clusters, the estimate may run ahead of what was acknowledged
// (raising a receiver to a higher simulcast layer is the probe), but an increase never takes the
// delay-based estimate above 1.5 × acknowledged + 200 kbps; a higher estimate is not cut by this
// rule. A receiver that gets 2 Mbps is so credited with at most 3.2 Mbps, enough for the next layer.
//
// Robustness: sequence numbers are matched against the send history (unknown, forgotten and
// repeated ones are ignored), a non-numeric delta ends the reading of a feedback, and a jump of
// more than 3 s in (arrival − send) — a receiver clock jump or garbage — restarts the delay filter
// and the acknowledged bitrate instead of feeding them. The feedback packet count is not needed:
// each packet's reported status lives in the history, so lost, repeated or reordered feedback
// neither double-counts nor misses anything that a later feedback reports.

import type { TransportCcFeedback } from '../rtp/transport-cc.ts';
import { FeedbackStatus, SendHistory, SEND_HISTORY_SIZE } from './send-history.ts';

/** Over-use detector output (gcc-02 §5.4). */
export type DelayState = 'normal' | 'overusing' | 'underusing';

/** Options of {@link SendSideBandwidthEstimator}; bitrates in bits per second. */
export interface BandwidthEstimatorOptions {
  /**
   * Estimate before any feedback; default 2.5 Mbps: a 720p top simulcast layer plus audio fits, so a
   * new receiver starts on good video and congestion, if any, is seen within a second.
   */
  initialBps?: number;
  /** Lowest estimate; default 30 kbps (audio and the lowest layer's keyframes still pass). */
  minBps?: number;
  /** Highest estimate; default 20 Mbps. */
  maxBps?: number;
  /** Packets remembered for matching feedback; default 4096. */
  historySize?: number;
}

/** A snapshot for stats and logs. */
export interface BandwidthEstimatorState {
  estimateBps: number;
  delayBasedBps: number;
  /** Loss-based bound, or undefined while loss does not bound the estimate. */
  lossBasedBps: number | undefined;
  /** Last REMB value still in force, bounded to [min, max]. */
  rembBps: number | undefined;
  /** Bitrate the receiver acknowledged over the last 500 ms of arrival time. */
  ackedBps: number | undefined;
  /** Fraction lost in the last completed loss window (0..1). */
  lossFraction: number;
  delayState: DelayState;
  /** Smoothed time from sending a packet to getting its feedback (RTT plus the feedback interval). */
  feedbackRttMs: number | undefined;
  /** The last probe cluster's measured delivery rate, whether it was taken or not. */
  probeResultBps: number | undefined;
}

const BURST_MS = 5;
const TRENDLINE_WINDOW = 20;
const TRENDLINE_SMOOTHING = 0.9;
const TRENDLINE_GAIN = 4;
const MAX_DELTAS = 60;
const THRESHOLD_INITIAL = 12.5;
const THRESHOLD_MIN = 6;
const THRESHOLD_MAX = 600;
const THRESHOLD_K_UP = 0.0087;
const THRESHOLD_K_DOWN = 0.039;
const THRESHOLD_OUTLIER = 15;
const OVERUSE_TIME_MS = 10;
/** A jump in (arrival − send) beyond this restarts the delay filter. */
const CLOCK_JUMP_MS = 3000;

const ACKED_WINDOW_MS = 500;
const ACKED_BUCKET_MS = 25;
const ACKED_BUCKETS = ACKED_WINDOW_MS / ACKED_BUCKET_MS;
/** Shortest arrival span that gives an acknowledged bitrate. */
const ACKED_MIN_SPAN_MS = 100;

const DECREASE_FACTOR = 0.85;
const DECREASE_INTERVAL_MS = 200;
const INCREASE_PER_SECOND = 1.08;
const ADDITIVE_PACKET_BITS = 1200 * 8;
const GROWTH_ACKED_FACTOR = 1.5;
const GROWTH_HEADROOM_BPS = 200_000;
const CAPACITY_SMOOTHING = 0.05;
const CAPACITY_DEVIATION_MIN = 0.02;
const CAPACITY_DEVIATION_MAX = 0.08;

const LOSS_WINDOW_MS = 500;
const LOSS_MIN_PACKETS = 20;
const LOSS_HIGH = 0.1;
const LOSS_LOW = 0.02;

const REMB_TIMEOUT_MS = 5000;
/**
 * A REMB this much below the last one in force, from a receiver without transport-cc, says its
 * path's queue fills: libwebrtc's receive-side estimator sends one at once when its estimate
 * falls by 3 % or more, which its over-use detector does (a fall for a lower incoming rate alone
 * stays above what the bridge sends, so nothing is held for it).
 */
const REMB_DECREASE = 0.97;
const TRANSPORT_CC_TIMEOUT_MS = 5000;
const DEFAULT_RTT_MS = 100;
/** Packets of a probe cluster that must arrive for a result, and the share of those sent. */
const PROBE_MIN_PACKETS = 4;
const PROBE_MIN_DELIVERED = 0.8;
/** A probe result counts when it shows this many times the estimate. */
export const PROBE_MIN_GAIN = 1.5;
/** Arrival spans are measured no finer than this (transport-cc reports 250 µs ticks). */
const PROBE_MIN_SPAN_MS = 1;
/** No probe cluster this soon after a decrease of the estimate. */
const PROBE_CALM_MS = 1000;
/** A cluster whose feedback is not complete this long after its last packet is given up. */
const PROBE_TIMEOUT_MS = 1000;

/** Bytes acknowledged per 25 ms of arrival time, over the last 500 ms. */
class AckedBitrate {
  readonly #ids = new Float64Array(ACKED_BUCKETS).fill(NaN);
  readonly #bytes = new Float64Array(ACKED_BUCKETS);
  #newestId = -Infinity;
  #firstArrivalMs = NaN;
  #lastArrivalMs = -Infinity;

  add(arrivalMs: number, bytes: number): void {
    const id = Math.floor(arrivalMs / ACKED_BUCKET_MS);
    if (id > this.#newestId) this.#newestId = id;
    if (id <= this.#newestId - ACKED_BUCKETS) return;
    if (!(arrivalMs >= this.#firstArrivalMs)) this.#firstArrivalMs = arrivalMs;
    if (arrivalMs > this.#lastArrivalMs) this.#lastArrivalMs = arrivalMs;
    const slot = ((id % ACKED_BUCKETS) + ACKED_BUCKETS) % ACKED_BUCKETS;
    if (this.#ids[slot] !== id) {
      this.#ids[slot] = id;
      this.#bytes[slot] = 0;
    }
    this.#bytes[slot] = this.#bytes[slot]! + bytes;
  }

  /** Bits per second over the window, or undefined with less than 100 ms of arrivals. */
  rate(): number | undefined {
    const windowStartMs = Math.max(this.#firstArrivalMs, (this.#newestId - ACKED_BUCKETS + 1) * ACKED_BUCKET_MS);
    const spanMs = this.#lastArrivalMs - windowStartMs;
    if (!(spanMs >= ACKED_MIN_SPAN_MS)) return undefined;
    let bytes = 0;
    for (let k = 0; k < ACKED_BUCKETS; k++) {
      const id = this.#ids[k]!;
      if (id > this.#newestId - ACKED_BUCKETS) bytes += this.#bytes[k]!;
    }
    return (bytes * 8 * 1000) / spanMs;
  }

  reset(): void {
    this.#ids.fill(NaN);
    this.#newestId = -Infinity;
    this.#firstArrivalMs = NaN;
    this.#lastArrivalMs = -Infinity;
  }
}

/** Inter-group delay variation, trendline filter and over-use detector (gcc-02 §5.2–5.4). */
class DelayDetector {
  state: DelayState = 'normal';
  // The group being filled and the last completed one.
  #groupFirstSendMs = NaN;
  #groupLastSendMs = NaN;
  #groupArrivalMs = NaN;
  #previousSendMs = NaN;
  #previousArrivalMs = NaN;
  // Trendline: (arrival time, smoothed accumulated delay) points in a ring.
  readonly #times = new Float64Array(TRENDLINE_WINDOW);
  readonly #delays = new Float64Array(TRENDLINE_WINDOW);
  #points = 0;
  #next = 0;
  #firstArrivalMs = NaN;
  #accumulatedMs = 0;
  #smoothedMs = 0;
  #deltas = 0;
  #previousTrend = 0;
  // Detector.
  #threshold = THRESHOLD_INITIAL;
  #thresholdUpdatedMs = NaN;
  #overuseMs = -1;
  #overuseCount = 0;

  /** One packet reported received, in feedback order. */
  packet(sendMs: number, arrivalMs: number): void {
    if (Number.isNaN(this.#groupFirstSendMs)) {
      this.#startGroup(sendMs, arrivalMs);
      return;
    }
    if (sendMs < this.#groupFirstSendMs) return; // reordered: belongs to an earlier group
    if (sendMs - this.#groupFirstSendMs <= BURST_MS) {
      if (sendMs > this.#groupLastSendMs) this.#groupLastSendMs = sendMs;
      if (arrivalMs > this.#groupArrivalMs) this.#groupArrivalMs = arrivalMs;
      return;
    }
    if (!Number.isNaN(this.#previousSendMs)) {
      const sendDelta = this.#groupLastSendMs - this.#previousSendMs;
      const arrivalDelta = this.#groupArrivalMs - this.#previousArrivalMs;
      const variation = arrivalDelta - sendDelta;
      if (Math.abs(variation) > CLOCK_JUMP_MS) {
        this.reset();
        this.#startGroup(sendMs, arrivalMs);
        return;
      }
      if (arrivalDelta >= 0) this.#update(variation, this.#groupArrivalMs, arrivalDelta);
    }
    this.#previousSendMs = this.#groupLastSendMs;
    this.#previousArrivalMs = this.#groupArrivalMs;
    this.#startGroup(sendMs, arrivalMs);
  }

  reset(): void {
    this.state = 'normal';
    this.#groupFirstSendMs = this.#groupLastSendMs = this.#groupArrivalMs = NaN;
    this.#previousSendMs = this.#previousArrivalMs = NaN;
    this.#points = this.#next = 0;
    this.#firstArrivalMs = NaN;
    this.#accumulatedMs = this.#smoothedMs = 0;
    this.#deltas = 0;
    this.#previousTrend = 0;
    this.#threshold = THRESHOLD_INITIAL;
    this.#thresholdUpdatedMs = NaN;
    this.#overuseMs = -1;
    this.#overuseCount = 0;
  }

  #startGroup(sendMs: number, arrivalMs: number): void {
    this.#groupFirstSendMs = this.#groupLastSendMs = sendMs;
    this.#groupArrivalMs = arrivalMs;
  }

  #update(variationMs: number, arrivalMs: number, arrivalDeltaMs: number): void {
    if (this.#deltas < MAX_DELTAS) this.#deltas++;
    this.#accumulatedMs += variationMs;
    this.#smoothedMs = TRENDLINE_SMOOTHING * this.#smoothedMs + (1 - TRENDLINE_SMOOTHING) * this.#accumulatedMs;
    if (Number.isNaN(this.#firstArrivalMs)) this.#firstArrivalMs = arrivalMs;
    this.#times[this.#next] = arrivalMs - this.#firstArrivalMs;
    this.#delays[this.#next] = this.#smoothedMs;
    this.#next = (this.#next + 1) % TRENDLINE_WINDOW;
    if (this.#points < TRENDLINE_WINDOW) this.#points++;
    const trend = this.#points === TRENDLINE_WINDOW ? this.#slope() : this.#previousTrend;
    this.#detect(trend, arrivalDeltaMs, arrivalMs);
  }

  /** Least-squares slope of smoothed delay against arrival time. */
  #slope(): number {
    let meanT = 0;
    let meanD = 0;
    for (let k = 0; k < TRENDLINE_WINDOW; k++) {
      meanT += this.#times[k]!;
      meanD += this.#delays[k]!;
    }
    meanT /= TRENDLINE_WINDOW;
    meanD /= TRENDLINE_WINDOW;
    let numerator = 0;
    let denominator = 0;
    for (let k = 0; k < TRENDLINE_WINDOW; k++) {
      const dt = this.#times[k]! - meanT;
      numerator += dt * (this.#delays[k]! - meanD);
      denominator += dt * dt;
    }
    const slope = numerator / denominator;
    return Number.isFinite(slope) ? slope : this.#previousTrend;
  }

  #detect(trend: number, arrivalDeltaMs: number, nowMs: number): void {
    const modified = Math.min(this.#deltas, MAX_DELTAS) * trend * TRENDLINE_GAIN;
    if (this.#deltas < 2) {
      this.state = 'normal';
    } else if (modified > this.#threshold) {
      this.#overuseMs = this.#overuseMs < 0 ? arrivalDeltaMs / 2 : this.#overuseMs + arrivalDeltaMs;
      this.#overuseCount++;
      if (this.#overuseMs > OVERUSE_TIME_MS && this.#overuseCount > 1 && trend >= this.#previousTrend) {
        this.#overuseMs = 0;
        this.#overuseCount = 0;
        this.state = 'overusing';
      }
    } else {
      this.#overuseMs = -1;
      this.#overuseCount = 0;
      this.state = modified < -this.#threshold ? 'underusing' : 'normal';
    }
    this.#previousTrend = trend;
    this.#adaptThreshold(modified, nowMs);
  }

  /** gcc-02 §5.4: γ follows |m|, faster down than up, ignoring outliers. */
  #adaptThreshold(modified: number, nowMs: number): void {
    if (Number.isNaN(this.#thresholdUpdatedMs)) this.#thresholdUpdatedMs = nowMs;
    const magnitude = Math.abs(modified);
    if (magnitude > this.#threshold + THRESHOLD_OUTLIER) {
      this.#thresholdUpdatedMs = nowMs;
      return;
    }
    const k = magnitude < this.#threshold ? THRESHOLD_K_DOWN : THRESHOLD_K_UP;
    const elapsedMs = Math.min(Math.max(nowMs - this.#thresholdUpdatedMs, 0), 100);
    const threshold = this.#threshold + k * (magnitude - this.#threshold) * elapsedMs;
    this.#threshold = Math.min(Math.max(threshold, THRESHOLD_MIN), THRESHOLD_MAX);
    this.#thresholdUpdatedMs = nowMs;
  }
}

type RateState = 'hold' | 'increase' | 'decrease';

function nonNegativeOption(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} ${value}`);
  return value;
}

/**
 * The bandwidth available from the bridge to one receiver. Call {@link packetSent} for every RTP
 * packet given a transport-wide sequence number, {@link transportCcFeedback} for each feedback the
 * receiver returns (or {@link remb} when it only sends REMB), and read {@link estimateBps}.
 */
export class SendSideBandwidthEstimator {
  readonly #minBps: number;
  readonly #maxBps: number;
  readonly #history: SendHistory;
  readonly #acked = new AckedBitrate();
  readonly #delay = new DelayDetector();
  #estimateBps: number;
  #delayBasedBps: number;
  #lossBasedBps = Infinity;
  #rembBps = Infinity;
  #rembMs = NaN;
  /** When a REMB-only receiver's REMB last fell by REMB_DECREASE or more. */
  #rembDecreasedMs = -Infinity;
  #transportCcMs = NaN;
  // Delay-based rate control.
  #rateState: RateState = 'increase';
  #rateUpdatedMs = NaN;
  #decreasedMs = -Infinity;
  /** Mean acknowledged bitrate at over-use, and its relative variance (gcc-02 §5.5). */
  #capacityBps: number | undefined;
  #capacityVariance = 0;
  // Loss window.
  #lossWindowStartMs = NaN;
  #lossExpected = 0;
  #lossLost = 0;
  #lossFraction = 0;
  /** Packets sent before this were answered by the last loss-based decrease and are not counted. */
  #lossCountFromMs = -Infinity;
  // The probe cluster being measured (id 0: none).
  #probe = newProbe(0, 0, 0);
  #probeResultBps: number | undefined;
  #probeResultsTaken = 0;
  // Feedback decoding.
  #referenceTime = NaN;
  #clockOffsetMs = NaN;
  #rttMs = NaN;

  constructor(options: BandwidthEstimatorOptions = {}) {
    this.#minBps = nonNegativeOption(options.minBps, 30_000, 'minBps');
    this.#maxBps = nonNegativeOption(options.maxBps, 20_000_000, 'maxBps');
    if (this.#minBps > this.#maxBps) throw new RangeError(`minBps ${this.#minBps} > maxBps ${this.#maxBps}`);
    this.#delayBasedBps = this.#clamp(nonNegativeOption(options.initialBps, 2_500_000, 'initialBps'));
    this.#estimateBps = Math.round(this.#delayBasedBps);
    this.#history = new SendHistory(options.historySize ?? SEND_HISTORY_SIZE);
  }

  /** Current estimate in bits per second, within [minBps, maxBps]. */
  get estimateBps(): number {
    return this.#estimateBps;
  }

  /** Fraction lost in the last completed loss window (0..1). */
  get lossFraction(): number {
    return this.#lossFraction;
  }

  /** Whether the delay detector sees the queue growing (congestion). */
  get overusing(): boolean {
    return this.#delay.state === 'overusing';
  }

  /** For stats and logs. */
  get state(): BandwidthEstimatorState {
    const acked = this.#acked.rate();
    return {
      estimateBps: this.#estimateBps,
      delayBasedBps: Math.round(this.#delayBasedBps),
      lossBasedBps: Number.isFinite(this.#lossBasedBps) ? Math.round(this.#lossBasedBps) : undefined,
      rembBps: Number.isFinite(this.#rembBps) ? this.#rembBps : undefined,
      ackedBps: acked === undefined ? undefined : Math.round(acked),
      lossFraction: this.#lossFraction,
      delayState: this.#delay.state,
      feedbackRttMs: Number.isNaN(this.#rttMs) ? undefined : this.#rttMs,
      probeResultBps: this.#probeResultBps,
    };
  }

  /**
   * One RTP packet sent with transport-wide sequence number `sequence` (16 bits), `size` bytes on
   * the wire, at `nowMs`; `probeCluster`: the id given to {@link beginProbeCluster} when it is part
   * of that cluster (before probeClusterSent). O(1), no allocation.
   */
  packetSent(sequence: number, size: number, nowMs: number, probeCluster = 0): void {
    const probe = this.#probe;
    const inCluster = probeCluster !== 0 && probeCluster === probe.id && !probe.allSent;
    this.#history.add(sequence, size, nowMs, inCluster ? probeCluster : 0);
    if (!inCluster) return;
    if (probe.sent === 0) probe.firstSentMs = nowMs;
    probe.sent++;
    probe.sentBytes += size;
    probe.lastSentMs = nowMs;
    probe.lastSentSize = size;
  }

  /**
   * The packets sent next with `id` (> 0) form a probe cluster meant to show `targetBps`; any
   * cluster still being measured is given up. Returns false (send no cluster) when `id` is not
   * usable, or while the path shows congestion: delay growing, loss of 2 % or more in the last
   * window, or a decrease less than PROBE_CALM_MS ago.
   */
  beginProbeCluster(id: number, targetBps: number, nowMs: number): boolean {
    if (!Number.isInteger(id) || id <= 0 || id > 0xffff_ffff || !(targetBps > 0) || !Number.isFinite(nowMs)) return false;
    // Not into a congestion: a cluster would only add to the queue and the loss (a switch down
    // waiting for its keyframe would wait longer).
    if (this.#congested(nowMs)) return false;
    this.#probe = newProbe(id, targetBps, nowMs);
    return true;
  }

  /**
   * Every packet of cluster `id` was sent (the last packetSent with its id came before): its
   * result is taken once the feedback on all of them is in. A cluster never said to be sent is
   * given up as one whose feedback does not come.
   */
  probeClusterSent(id: number): void {
    if (id !== 0 && id === this.#probe.id) this.#probe.allSent = true;
  }

  /**
   * Whether the path's queue is filling now: delay over-use, or a decrease of the estimate for it
   * less than PROBE_CALM_MS ago — for a receiver without transport-cc, a fall of its REMB (see
   * REMB_DECREASE). Loss alone is not (a lossy radio link; a loss-based decrease after a window of
   * random loss), nor a queue draining: see #congested.
   */
  overloaded(nowMs: number): boolean {
    return this.#delay.state === 'overusing' || nowMs - this.#decreasedMs < PROBE_CALM_MS || nowMs - this.#rembDecreasedMs < PROBE_CALM_MS;
  }

  /** overloaded(), a queue draining, loss of 2 % or more in the last window, or a loss-based decrease less than PROBE_CALM_MS ago: no time for a probe cluster. */
  #congested(nowMs: number): boolean {
    if (this.overloaded(nowMs) || this.#delay.state !== 'normal' || this.#lossFraction >= LOSS_LOW) return true;
    return nowMs - this.#lossCountFromMs < PROBE_CALM_MS;
  }

  /** Probe clusters whose result raised the estimate, since the start. */
  get probeResultsTaken(): number {
    return this.#probeResultsTaken;
  }

  /** One parsed transport-cc feedback from the receiver, got at `nowMs`; true when the estimate changed. */
  transportCcFeedback(feedback: TransportCcFeedback, nowMs: number): boolean {
    if (!Number.isFinite(nowMs) || !Number.isInteger(feedback?.baseSequence) || !Number.isInteger(feedback.referenceTime)) return false;
    const deltas = feedback.deltas;
    if (!Array.isArray(deltas)) return false;
    // 24-bit reference time in 64 ms units, unwrapped against the previous feedback's.
    // Kept only when the feedback reports a known packet, so that garbage cannot move it.
    let referenceTime = feedback.referenceTime & 0xff_ffff;
    if (!Number.isNaN(this.#referenceTime)) {
      const previous = ((this.#referenceTime % 0x100_0000) + 0x100_0000) % 0x100_0000;
      referenceTime = this.#referenceTime + ((((referenceTime - previous) & 0xff_ffff) << 8) >> 8);
    }
    let ticks = referenceTime * 256; // 250 µs ticks
    const base = feedback.baseSequence & 0xffff;
    const count = Math.min(deltas.length, 0xffff);
    let newestSendMs = -Infinity;
    let reported = 0;
    for (let k = 0; k < count; k++) {
      const delta: unknown = deltas[k];
      const slot = this.#history.find(base + k);
      if (delta === undefined || delta === null) {
        if (slot >= 0 && this.#history.statusAt(slot) === FeedbackStatus.Unreported) {
          this.#history.setStatus(slot, FeedbackStatus.Lost);
          if (this.#probe.id !== 0 && this.#history.clusterAt(slot) === this.#probe.id) this.#probe.lost++;
          if (this.#history.sendMsAt(slot) >= this.#lossCountFromMs) {
            this.#lossExpected++;
            this.#lossLost++;
          }
          reported++;
        }
        continue;
      }
      if (typeof delta !== 'number' || !Number.isFinite(delta)) break; // the rest cannot be placed in time
      ticks += delta;
      if (slot < 0) continue;
      const status = this.#history.statusAt(slot);
      if (status === FeedbackStatus.Received) continue; // repeated
      const sendMs = this.#history.sendMsAt(slot);
      if (sendMs >= this.#lossCountFromMs) {
        if (status === FeedbackStatus.Lost) this.#lossLost--; // reported missing before, arrived late
        else this.#lossExpected++;
      }
      if (status === FeedbackStatus.Lost && this.#probe.id !== 0 && this.#history.clusterAt(slot) === this.#probe.id) this.#probe.lost--;
      this.#history.setStatus(slot, FeedbackStatus.Received);
      reported++;
      const arrivalMs = ticks / 4;
      const offsetMs = arrivalMs - sendMs;
      if (!(Math.abs(offsetMs - this.#clockOffsetMs) <= CLOCK_JUMP_MS)) {
        if (!Number.isNaN(this.#clockOffsetMs)) {
          this.#delay.reset();
          this.#acked.reset();
        }
      }
      this.#clockOffsetMs = offsetMs;
      this.#acked.add(arrivalMs, this.#history.sizeAt(slot));
      if (this.#probe.id !== 0 && this.#history.clusterAt(slot) === this.#probe.id) this.#probeArrived(arrivalMs, this.#history.sizeAt(slot));
      this.#delay.packet(sendMs, arrivalMs);
      if (sendMs > newestSendMs) newestSendMs = sendMs;
    }
    if (reported === 0) return false;
    this.#referenceTime = referenceTime;
    this.#transportCcMs = nowMs;
    const rttSample = nowMs - newestSendMs;
    if (rttSample >= 0 && rttSample < 10_000) {
      this.#rttMs = Number.isNaN(this.#rttMs) ? rttSample : 0.875 * this.#rttMs + 0.125 * rttSample;
    }
    if (nowMs - this.#rembMs > REMB_TIMEOUT_MS) this.#rembBps = Infinity;
    const before = this.#estimateBps;
    this.#updateDelayBased(nowMs);
    this.#updateLossBased(nowMs);
    this.#probeResult(nowMs);
    this.#publish();
    return this.#estimateBps !== before;
  }

  #probeArrived(arrivalMs: number, size: number): void {
    const probe = this.#probe;
    probe.arrived++;
    probe.bytes += size;
    if (arrivalMs < probe.firstArrivalMs) {
      probe.firstArrivalMs = arrivalMs;
      probe.firstSize = size;
    }
    if (arrivalMs > probe.lastArrivalMs) probe.lastArrivalMs = arrivalMs;
  }

  /** Once the cluster's feedback is all in: its delivery rate, taken when it shows clearly more than the estimate. */
  #probeResult(nowMs: number): void {
    const probe = this.#probe;
    if (probe.id === 0) return;
    // From its last packet: a cluster paced at a low target takes up to 200 ms to send.
    if (nowMs - (probe.sent > 0 ? probe.lastSentMs : probe.startedMs) >= PROBE_TIMEOUT_MS) {
      probe.id = 0;
      return;
    }
    if (!probe.allSent || probe.sent === 0 || probe.arrived + probe.lost < probe.sent) return;
    probe.id = 0;
    if (probe.arrived < PROBE_MIN_PACKETS || probe.arrived < PROBE_MIN_DELIVERED * probe.sent) return;
    // The first arrival opens the span: what came after it, over the span, is the delivery rate;
    // the last sending closes the other: what was sent before it, over that span, the send rate
    // (a burst's, whose span is under a millisecond, is no bound).
    const spanMs = Math.max(probe.lastArrivalMs - probe.firstArrivalMs, PROBE_MIN_SPAN_MS);
    const sendSpanMs = probe.lastSentMs - probe.firstSentMs;
    const sentBps = sendSpanMs >= PROBE_MIN_SPAN_MS ? ((probe.sentBytes - probe.lastSentSize) * 8000) / sendSpanMs : Infinity;
    const delivered = Math.min(((probe.bytes - probe.firstSize) * 8000) / spanMs, sentBps, probe.targetBps);
    this.#probeResultBps = Math.round(delivered);
    if (delivered < PROBE_MIN_GAIN * this.#estimateBps || this.#delay.state === 'overusing' || this.#lossFraction > LOSS_HIGH) return;
    this.#delayBasedBps = this.#clamp(Math.max(this.#delayBasedBps, delivered));
    if (this.#lossBasedBps < delivered) this.#lossBasedBps = this.#clamp(delivered);
    this.#probeResultsTaken++;
    this.#capacityBps = undefined;
    this.#rateState = 'increase';
  }

  /**
   * A REMB bitrate from the receiver, got at `nowMs`. Without transport-cc from it over the last 5 s
   * the estimate follows REMB (within [minBps, maxBps]); otherwise REMB only bounds the estimate, for
   * 5 s unless repeated. Invalid values are ignored. True when the estimate changed.
   */
  remb(bitrateBps: number, nowMs: number): boolean {
    if (!Number.isFinite(bitrateBps) || bitrateBps < 0 || !Number.isFinite(nowMs)) return false;
    const before = this.#estimateBps;
    const previous = nowMs - this.#rembMs <= REMB_TIMEOUT_MS ? this.#rembBps : Infinity;
    this.#rembBps = this.#clamp(bitrateBps);
    this.#rembMs = nowMs;
    if (!(nowMs - this.#transportCcMs <= TRANSPORT_CC_TIMEOUT_MS)) {
      // The receiver's own delay-based estimate: its fall is its over-use signal (overloaded()).
      if (Number.isFinite(previous) && this.#rembBps < REMB_DECREASE * previous) this.#rembDecreasedMs = nowMs;
      this.#delayBasedBps = this.#rembBps;
      this.#lossBasedBps = Infinity;
    }
    this.#publish();
    return this.#estimateBps !== before;
  }

  #clamp(bps: number): number {
    return Math.min(Math.max(bps, this.#minBps), this.#maxBps);
  }

  #publish(): void {
    this.#estimateBps = Math.round(this.#clamp(Math.min(this.#delayBasedBps, this.#lossBasedBps, this.#rembBps)));
  }

  /** gcc-02 §5.5: the increase/hold/decrease state machine driven by the detector's signal. */
  #updateDelayBased(nowMs: number): void {
    const acked = this.#acked.rate();
    const elapsedMs = Number.isNaN(this.#rateUpdatedMs) ? 0 : Math.min(Math.max(nowMs - this.#rateUpdatedMs, 0), 1000);
    this.#rateUpdatedMs = nowMs;
    switch (this.#delay.state) {
      case 'overusing':
        this.#rateState = 'decrease';
        break;
      case 'underusing':
        this.#rateState = 'hold';
        break;
      case 'normal':
        this.#rateState = this.#rateState === 'decrease' ? 'hold' : 'increase';
        break;
    }
    if (this.#rateState === 'decrease') {
      if (nowMs - this.#decreasedMs < DECREASE_INTERVAL_MS && nowMs >= this.#decreasedMs) return;
      this.#decreasedMs = nowMs;
      const target = DECREASE_FACTOR * (acked ?? this.#delayBasedBps);
      if (target < this.#delayBasedBps) this.#delayBasedBps = this.#clamp(target);
      if (acked !== undefined) this.#capacitySample(acked);
      return;
    }
    if (this.#rateState !== 'increase' || acked === undefined) return;
    const seconds = elapsedMs / 1000;
    let next: number;
    if (this.#nearCapacity(acked)) {
      const responseMs = (Number.isNaN(this.#rttMs) ? DEFAULT_RTT_MS : Math.min(this.#rttMs, 1000)) + 100;
      next = this.#delayBasedBps + (ADDITIVE_PACKET_BITS * elapsedMs) / responseMs;
    } else {
      next = this.#delayBasedBps * INCREASE_PER_SECOND ** seconds;
    }
    const limit = GROWTH_ACKED_FACTOR * acked + GROWTH_HEADROOM_BPS;
    if (next > limit) next = Math.max(this.#delayBasedBps, limit);
    this.#delayBasedBps = this.#clamp(next);
  }

  /** The acknowledged bitrate at an over-use updates the link capacity mean and deviation. */
  #capacitySample(acked: number): void {
    const capacity = this.#capacityBps;
    if (capacity === undefined || acked < capacity * (1 - 3 * this.#deviation())) {
      this.#capacityBps = acked;
      this.#capacityVariance = CAPACITY_DEVIATION_MAX ** 2;
      return;
    }
    const relative = (acked - capacity) / capacity;
    this.#capacityBps = (1 - CAPACITY_SMOOTHING) * capacity + CAPACITY_SMOOTHING * acked;
    this.#capacityVariance = (1 - CAPACITY_SMOOTHING) * this.#capacityVariance + CAPACITY_SMOOTHING * relative * relative;
  }

  #deviation(): number {
    return Math.min(Math.max(Math.sqrt(this.#capacityVariance), CAPACITY_DEVIATION_MIN), CAPACITY_DEVIATION_MAX);
  }

  /** True within three deviations of the capacity mean; above that the mean is forgotten (§5.5). */
  #nearCapacity(acked: number): boolean {
    const capacity = this.#capacityBps;
    if (capacity === undefined) return false;
    const band = 3 * this.#deviation() * capacity;
    if (acked > capacity + band) {
      this.#capacityBps = undefined;
      return false;
    }
    return acked >= capacity - band;
  }

  /** gcc-02 §6: the loss-based bound, once per loss window. */
  #updateLossBased(nowMs: number): void {
    if (Number.isNaN(this.#lossWindowStartMs)) this.#lossWindowStartMs = nowMs;
    const elapsedMs = nowMs - this.#lossWindowStartMs;
    if (elapsedMs < 0) this.#lossWindowStartMs = nowMs;
    if (elapsedMs < LOSS_WINDOW_MS || this.#lossExpected < LOSS_MIN_PACKETS) return;
    const fraction = Math.min(Math.max(this.#lossLost / this.#lossExpected, 0), 1);
    this.#lossFraction = fraction;
    this.#lossExpected = 0;
    this.#lossLost = 0;
    this.#lossWindowStartMs = nowMs;
    const current = Math.min(this.#delayBasedBps, this.#lossBasedBps, this.#rembBps);
    if (fraction > LOSS_HIGH) {
      this.#lossBasedBps = this.#clamp(current * (1 - 0.5 * fraction));
      this.#lossCountFromMs = nowMs;
    } else if (fraction < LOSS_LOW) {
      if (!Number.isFinite(this.#lossBasedBps)) return;
      const raised = this.#lossBasedBps * INCREASE_PER_SECOND ** (Math.min(elapsedMs, 1000) / 1000) + 1000;
      this.#lossBasedBps = raised >= this.#delayBasedBps ? Infinity : raised;
    } else {
      this.#lossBasedBps = this.#clamp(current);
    }
  }
}

/** A probe cluster's measurement (id 0: none). */
function newProbe(id: number, targetBps: number, startedMs: number) {
  return {
    id, targetBps, startedMs, allSent: false,
    sent: 0, sentBytes: 0, firstSentMs: 0, lastSentMs: 0, lastSentSize: 0,
    arrived: 0, lost: 0, bytes: 0, firstArrivalMs: Infinity, lastArrivalMs: -Infinity, firstSize: 0,
  };
}
