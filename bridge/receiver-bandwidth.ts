/**
 * The bridge → receiver side of one endpoint (jitsi-protocol.md §8.4; jitsi-videobridge keeps the
 * same per endpoint: its TransportCcEngine, BandwidthEstimator, BitrateController and
 * BandwidthProbing): the transport-wide sequence numbers the bridge writes into what it sends that
 * receiver (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2), the send-side estimate its
 * feedback drives (bridge/bwe/), the layer heights the estimate affords
 * (bridge/bandwidth-allocation.ts), and how much probing it is owed. The conference owns one per
 * endpoint and does what needs the other endpoints: allocation over the projections, and sending.
 */
import type { Allocation } from './bandwidth-allocation.ts';
import { PROBE_MIN_GAIN, SendSideBandwidthEstimator } from './bwe/estimator.ts';
import type { SendLogReader } from './bwe/send-log.ts';
import { writeU16 } from './rtp/bytes.ts';
import { withHeaderExtension, writeTransportSequence, type RtpHeader } from './rtp/packet.ts';
import type { TransportCcFeedback } from './rtp/transport-cc.ts';

/** What a receiver's send-side bandwidth estimator does (bridge/bwe/estimator.ts is the default). */
export interface BandwidthEstimator {
  packetSent(sequence: number, size: number, nowMs: number, probeCluster?: number): void;
  /** Optional: the packets sent next with `id` form a probe cluster aiming at `targetBps`. */
  beginProbeCluster?(id: number, targetBps: number, nowMs: number): boolean;
  /** Optional, with beginProbeCluster: every packet of cluster `id` was sent. */
  probeClusterSent?(id: number): void;
  /** Optional, with beginProbeCluster: how many clusters' results raised the estimate so far. */
  readonly probeResultsTaken?: number;
  /** True when the estimate changed. */
  transportCcFeedback(feedback: TransportCcFeedback, nowMs: number): boolean;
  remb(bitrateBps: number, nowMs: number): boolean;
  readonly estimateBps: number;
  /** Optional: the fraction of packets the receiver reported lost lately (0..1). */
  readonly lossFraction?: number;
  /** Optional: whether the path's queue is growing (congestion). */
  readonly overusing?: boolean;
  /** Optional: whether the path's queue is filling now (delay over-use, or the estimate just fell for it). */
  overloaded?(nowMs: number): boolean;
}

/** Layers are re-allocated to the estimate at most this often. */
export const REALLOCATION_GAP_MS = 250;
/**
 * ...and at most this often after a REMB that says the path's queue fills (a REMB-only receiver's
 * over-use signal lasts a second, and its next REMB may come a second later: waiting for it would
 * move the receiver down without the hold that signal asks for).
 */
const OVERUSE_REALLOCATION_GAP_MS = 50;
/** The shortest window over which the rate of frame-end repeats is measured for an allocation. */
const REPEAT_WINDOW_MS = 200;
/**
 * A receiver that lost this share of packets lately, its queue not growing, is sent the last
 * packet of each video frame twice. Loss detected by a sequence gap shows only with the next
 * packet; within a frame that is at once and the NACKed packet comes back in time, but after a
 * frame's last packet it is the next frame, a frame interval later, when the receiver's jitter
 * buffer (a few milliseconds deep on a short path) has already dropped the incomplete frame. With
 * the repeat, a frame end is lost only when both copies are (1 % instead of 10 % at 10 % loss).
 * Loss with a growing queue is congestion, which a repeat would feed: none then.
 */
export const FRAME_END_REPEAT_LOSS = 0.03;

/**
 * Probe clusters (copies paced at up to twice the estimate, measured by the estimator) for a
 * receiver held below the layers it wants: the first this long after it was first held back or
 * after the last cluster; each cluster that does not raise the estimate doubles the gap, up to the
 * maximum.
 */
export const PROBE_CLUSTER_GAP_MS = 1000;
export const PROBE_CLUSTER_MAX_GAP_MS = 8000;
/**
 * A cluster whose result was taken lets the receiver up to what it wants; held back again this soon
 * after it, the rate the cluster showed did not hold (a bottleneck shared with cross traffic whose
 * share moved, or a queue's burst allowance), and the next cluster waits twice as long, as after a
 * result not taken — else every second would raise the receiver a layer and drop it again.
 */
export const PROBE_SUSTAIN_MS = 5000;
/** A cluster is at least this many packets, and this long at its target rate. */
const PROBE_CLUSTER_PACKETS = 5;
const PROBE_CLUSTER_MS = 15;
/**
 * No cluster whose fewest packets would take longer than this at its target rate (a target under
 * 240 kbit/s, an estimate under 120): a paced cluster that long says little of the moment, and
 * the estimate's own growth reaches such rates soon enough.
 */
const PROBE_CLUSTER_MAX_MS = 200;
/**
 * A cluster is sent in steps this far apart at least, on the bridge's timer grid (where the
 * conferences' tail-loss checks fire too, so that the steps add few wake-ups): each step sends
 * the packets the target rate owes by the next one, early rather than late, so that the grid's
 * rounding never sends the cluster slower than its target (which its result would then fall
 * short of). A step holds one 1,200-byte packet up to 1.92 Mbit/s, a few above.
 */
export const PROBE_PACE_MS = 5;
/** Statuses of transport-cc feedback a receiver may have read ahead (ReceiverBandwidth.admitFeedback): twice the send history. */
const FEEDBACK_BUDGET_MAX = 8192;
/** Bytes of one probe packet the cluster size assumes (the copies are recent video packets). */
const PROBE_PACKET_BYTES = 1200;

export class ReceiverBandwidth {
  readonly #estimator: BandwidthEstimator;
  /** Next transport-wide sequence number written into what the bridge sends. */
  #sequence = 0;
  /** The extension's value (the sequence number) for a packet sent without it: see stamp. */
  readonly #sequenceValue = new Uint8Array(2);
  /** Whether the receiver ever sent transport-cc or REMB: until then its layers follow its constraints only. */
  #heard = false;
  /** Whether it ever sent transport-cc feedback: only that shows how a probe cluster arrived. */
  #transportCc = false;
  /** Whether its session negotiated the transport-wide sequence number (its Colibri2 media name the extension). */
  #transportCcNegotiated = false;
  #allocatedAt = Number.NEGATIVE_INFINITY;
  /** Video source → the height the estimate allows. */
  #caps = new Map<string, number>();
  #allocatedBps = 0;
  #idealBps = 0;
  /**
   * Bytes sent since the last probe (media, and the probing copies too: a probe sends whole
   * packets, so it sends more than the fractional bytes owed, and the next fill takes that off),
   * and when that was.
   */
  #sentBytes = 0;
  #probedAt = Number.NEGATIVE_INFINITY;
  /**
   * The probe cluster being sent (0: none): its target, its bytes, when it began, what of it was
   * sent (copies and media) and when last; whether the copies sent now are its (see
   * clusterDue); the last id given, when the next cluster is due, and the gap.
   */
  #cluster = 0;
  #clusterTargetBps = 0;
  #clusterPlannedBytes = 0;
  #clusterStartedAt = 0;
  #clusterSentBytes = 0;
  #clusterLastSentAt = 0;
  #clusterStep = false;
  #lastCluster = 0;
  #clusterDueAt = Number.NaN;
  #clusterGapMs = PROBE_CLUSTER_GAP_MS;
  #lastClusterAt = Number.NaN;
  #clusterJudged = false;
  #takenAtCluster = 0;
  /**
   * Packet statuses of transport-cc feedback the receiver may still have read (see
   * admitFeedback): two per packet sent it, up to FEEDBACK_BUDGET_MAX.
   */
  #feedbackBudget = 0;
  /** Frame-end repeat bytes since #repeatWindowStart, and their rate at the last allocation. */
  #repeatBytes = 0;
  #repeatWindowStart = Number.NEGATIVE_INFINITY;
  #repeatBps = 0;

  /** Where the numbering lives, and what the media socket's read sent, on the native path (attachSendLog). */
  #sendLog: SendLogReader | undefined;
  readonly #onLoggedSend = (sequence: number, size: number, sendMs: number): void => this.#noteSent(sequence, size, sendMs, true);

  constructor(estimator: BandwidthEstimator = new SendSideBandwidthEstimator()) {
    this.#estimator = estimator;
  }

  /**
   * From now on the transport-wide numbering is `log`'s, shared with the media socket's read, which
   * forwards some packets itself (Endpoint.setRoutes): what it sent is read from the log before
   * anything that depends on what the receiver was sent. Undefined: the numbering comes back here.
   */
  attachSendLog(log: SendLogReader | undefined): void {
    if (log === this.#sendLog) return;
    this.#catchUp();
    const next = this.#sendLog ? this.#sendLog.sequence : this.#sequence;
    this.#sendLog = log;
    if (log) log.sequence = next;
    else this.#sequence = next;
  }

  /** Takes in what the read sent since the last time (attachSendLog). */
  #catchUp(): void {
    const log = this.#sendLog;
    if (log !== undefined && log.waiting > 0) log.drain(this.#onLoggedSend);
  }

  /** The estimate (bps) once the receiver gave feedback; undefined before. */
  get estimateBps(): number | undefined {
    return this.#heard ? this.#estimator.estimateBps : undefined;
  }

  /** Whether the last packet of each video frame is sent twice (see FRAME_END_REPEAT_LOSS). */
  get repeatFrameEnds(): boolean {
    return this.#heard && (this.#estimator.lossFraction ?? 0) >= FRAME_END_REPEAT_LOSS && this.#estimator.overusing !== true;
  }

  /**
   * A frame end went out a second time ({@link repeatFrameEnds}). The repeat is the same datagram,
   * transport-wide sequence number included, so the estimator counts it once: what it acknowledges
   * is the media alone, while the path carries the repeats on top.
   */
  frameEndRepeated(bytes: number): void {
    this.#repeatBytes += bytes;
    // Sent, too: probing fills only what media and repeats leave of the estimate.
    this.#sentBytes += bytes;
  }

  /**
   * What the layers may take, at an allocation: the estimate (the estimator's initial one before
   * any feedback) less the rate of the frame-end repeats since the previous one (at least
   * REPEAT_WINDOW_MS ago; the last rate otherwise), so that the repeats fit the estimate with the
   * media instead of adding to it.
   */
  allocationBudget(now: number): number {
    this.#catchUp();
    const elapsed = now - this.#repeatWindowStart;
    if (!(elapsed < REPEAT_WINDOW_MS)) {
      this.#repeatBps = elapsed > 0 && Number.isFinite(elapsed) ? (this.#repeatBytes * 8000) / elapsed : 0;
      this.#repeatBytes = 0;
      this.#repeatWindowStart = now;
    }
    return Math.max(0, this.#estimator.estimateBps - this.#repeatBps);
  }

  /** The rate (bps) of the frame-end repeats the last allocation took off the estimate. */
  get repeatBps(): number {
    return this.#repeatBps;
  }

  /**
   * One RTP packet about to be sent (parsed in `header`): writes the next transport-wide sequence
   * number into extension `extensionId`, and notes the packet for the estimator. `media`: false for
   * probing copies (not counted by the estimator as media). A packet that carries the extension is
   * numbered in place (undefined is returned). One without it (a gateway's audio, such as Jigasi's;
   * a sender that negotiated no transport-cc) is numbered in a copy with the extension added, which
   * is returned, to send instead — when the receiver negotiated the extension or gives
   * transport-cc feedback, whose estimate would otherwise not see those bytes (jitsi-videobridge's
   * TccSeqNumTagger does the same on the negotiated extension); to any other receiver it goes
   * unnumbered, as it is (undefined).
   */
  stamp(header: RtpHeader, extensionId: number, now: number, media: boolean): Uint8Array | undefined {
    this.#catchUp();
    const log = this.#sendLog;
    const sequence = log ? log.sequence : this.#sequence;
    let copy: Uint8Array | undefined;
    if (!writeTransportSequence(header, extensionId, sequence)) {
      if (this.#transportCc || this.#transportCcNegotiated) {
        writeU16(this.#sequenceValue, 0, sequence);
        copy = withHeaderExtension(header, extensionId, this.#sequenceValue);
      }
      if (copy === undefined) {
        this.#sentBytes += header.length;
        return undefined;
      }
    }
    const size = copy === undefined ? header.length : copy.length;
    if (log) log.sequence = (sequence + 1) & 0xffff;
    else this.#sequence = (sequence + 1) & 0xffff;
    this.#noteSent(sequence, size, now, media);
    return copy;
  }

  /** A packet numbered `sequence`, `size` bytes, sent at `now`: for the estimator, the probing and the open cluster. */
  #noteSent(sequence: number, size: number, now: number, media: boolean): void {
    this.#sentBytes += size;
    if (this.#feedbackBudget < FEEDBACK_BUDGET_MAX) this.#feedbackBudget += 2;
    // A cluster is measured on what the path carries while it is sent, as libwebrtc's pacer counts
    // it: its copies and all the media alongside them (not other probing copies). Media makes up
    // for copies only as far as the cluster's schedule owes: the bridge does not pace media, and a
    // keyframe's burst must neither end the cluster early nor shorten its span (it would then be
    // measured as a burst, the link's rate).
    const inCluster = this.#cluster !== 0 && (media || this.#clusterStep);
    this.#estimator.packetSent(sequence, size, now, inCluster ? this.#cluster : 0);
    if (inCluster && (this.#clusterStep || this.#clusterSentBytes + size <= this.#clusterOwed(now))) {
      this.#clusterSentBytes += size;
      this.#clusterLastSentAt = now;
      if (this.#clusterSentBytes >= this.#clusterPlannedBytes) this.endCluster();
    }
  }

  /**
   * Whether the receiver's session negotiated the transport-wide sequence number. Negotiated, it
   * is sent packets that came without it numbered from the first one: a receiver sent nothing
   * else (only a SIP gateway's audio, say) would otherwise never be numbered, so never give the
   * feedback that {@link stamp} waited for. Not negotiated (or no longer), it is numbered such
   * packets once it gives transport-cc feedback, as before.
   */
  set transportCcNegotiated(negotiated: boolean) {
    this.#transportCcNegotiated = negotiated;
  }

  /** Whether the receiver's path's queue is filling now (its estimator's judgement; false before its first feedback). */
  overloaded(now: number): boolean {
    return this.#heard && this.#estimator.overloaded?.(now) === true;
  }

  /**
   * Whether a transport-cc feedback reporting `statuses` packets is read at all: feedback can only
   * be about packets the bridge sent, so a receiver may have at most twice as many statuses read
   * as it was sent packets (repeats after lost feedback fit). Reading costs about a microsecond
   * per status; a receiver claiming 65,535 in 40 bytes, 30 times a datagram, would otherwise
   * hold the forwarding thread 80 ms per datagram.
   */
  admitFeedback(statuses: number): boolean {
    this.#catchUp();
    if (statuses > this.#feedbackBudget) return false;
    this.#feedbackBudget -= statuses;
    return true;
  }

  /** The receiver's transport-cc feedback or REMB; true when its layers are due for re-allocation. */
  feedback(feedback: { kind: 'transport-cc'; parsed: TransportCcFeedback } | { kind: 'remb'; bitrate: number }, now: number): boolean {
    this.#catchUp();
    if (feedback.kind === 'transport-cc') {
      this.#estimator.transportCcFeedback(feedback.parsed, now);
      this.#transportCc = true;
    } else {
      this.#estimator.remb(feedback.bitrate, now);
    }
    this.#heard = true;
    const gap = feedback.kind === 'remb' && this.#estimator.overloaded?.(now) === true ? OVERUSE_REALLOCATION_GAP_MS : REALLOCATION_GAP_MS;
    return now - this.#allocatedAt >= gap;
  }

  /** The allocation made for the current estimate. */
  allocated(allocation: Allocation, now: number): void {
    this.#allocatedAt = now;
    // The same caps as before (the steady state) keep the map held since: the new one then dies
    // young, instead of every allocation's map living long enough to reach the old generation,
    // whose collections pause forwarding (in a room of 50 with feedback, two thirds of what
    // reached it and was collected there).
    if (!sameCaps(this.#caps, allocation.caps)) this.#caps = allocation.caps;
    this.#allocatedBps = allocation.allocatedBps;
    this.#idealBps = allocation.idealBps;
  }

  /** The height the receiver is forwarded of a source: what it wants, within what its estimate affords once known. */
  cappedHeight(name: string, wantedHeight: number): number {
    const cap = this.#heard ? this.#caps.get(name) : undefined;
    return cap === undefined ? wantedHeight : Math.min(wantedHeight, cap);
  }

  /** Whether the last allocation suspended the source (its lowest layer did not fit; bandwidth-allocation.ts). */
  isSuspended(name: string): boolean {
    return this.#heard && this.#caps.get(name) === 0;
  }

  /**
   * Probing (jitsi-videobridge's BandwidthProbing): the bytes to send now as copies, filling the
   * gap between what media the receiver was sent since the last call and min(estimate, what its
   * wanted layers would take) — only while the estimate holds its layers below what it wants.
   * Its feedback then acknowledges that rate, and the estimate may grow past it (the estimator
   * never runs far ahead of what was acknowledged); the next layer follows once it affords it.
   * Once a second (PROBE_CLUSTER_GAP_MS, backing off) a probe cluster opens, sent apart: see
   * #openCluster and clusterDue.
   */
  probeBytes(now: number): number {
    this.#catchUp();
    const elapsed = now - this.#probedAt;
    const sentBps = elapsed > 0 ? (this.#sentBytes * 8000) / elapsed : 0;
    this.#probedAt = now;
    this.#sentBytes = 0;
    const heldBack = this.#idealBps > this.#allocatedBps;
    if (!heldBack) {
      this.#clusterDueAt = Number.NaN;
      // Let up long enough after the last cluster: that cluster's result held.
      if (!(now - this.#lastClusterAt <= PROBE_SUSTAIN_MS)) this.#clusterGapMs = PROBE_CLUSTER_GAP_MS;
      this.#clusterJudged = true; // the last cluster, if any, is not judged when held back again
      return 0;
    }
    if (Number.isNaN(this.#clusterDueAt)) {
      // Held back from now on: the first cluster comes a gap later, twice the last one when the
      // last cluster's taken result did not hold (PROBE_SUSTAIN_MS).
      if (now - this.#lastClusterAt <= PROBE_SUSTAIN_MS && (this.#estimator.probeResultsTaken ?? 0) > this.#takenAtCluster) {
        this.#clusterGapMs = Math.min(2 * this.#clusterGapMs, PROBE_CLUSTER_MAX_GAP_MS);
      }
      this.#clusterDueAt = now + this.#clusterGapMs;
    }
    if (!(elapsed > 0 && elapsed <= 1000)) return 0;
    const estimate = this.#estimator.estimateBps;
    const fill = Math.max(0, ((Math.min(estimate, this.#idealBps) - sentBps) * elapsed) / 8000);
    // While a cluster is being sent, its steps are the probing; one that opens now takes the
    // fill's place (a burst ahead of its first packet would queue with it).
    if (this.#cluster !== 0) return 0;
    this.#openCluster(now, estimate);
    return this.#cluster !== 0 ? 0 : fill;
  }

  /**
   * The bytes of copies the open probe cluster owes at `now` (0: none): at its target rate, a
   * packet each 1,200 bytes' time from when it began, those due by the next step included
   * ({@link PROBE_PACE_MS}), less what it sent. When more than 0, the copies sent next are the
   * cluster's packets until {@link clusterSent}.
   */
  clusterDue(now: number): number {
    this.#catchUp();
    if (this.#cluster === 0) return 0;
    const due = this.#clusterOwed(now) - this.#clusterSentBytes;
    this.#clusterStep = due > 0;
    return Math.max(0, due);
  }

  /** Bytes the open cluster owes by the step after `now`, at most all of it. */
  #clusterOwed(now: number): number {
    return Math.min(this.#clusterPlannedBytes, this.#packetsOwed(now + PROBE_PACE_MS) * PROBE_PACKET_BYTES);
  }

  /** Packets of the open cluster whose time at its target rate is `at` or before (the first at its start). */
  #packetsOwed(at: number): number {
    // The small term keeps a step that falls on a packet's time from missing it by a rounding.
    return Math.floor((this.#clusterTargetBps * (at - this.#clusterStartedAt)) / (8000 * PROBE_PACKET_BYTES) + 1e-9) + 1;
  }

  /** Whether a probe cluster is being sent. */
  get clusterOpen(): boolean {
    return this.#cluster !== 0;
  }

  /** The open probe cluster's id, never the same twice in a row for this receiver; 0: none. */
  get clusterId(): number {
    return this.#cluster;
  }

  /**
   * The copies of a step of the cluster were sent, `bytes` of them (the cluster counted them as
   * they were stamped): a step that found nothing to send (no recent packet to copy) ends it.
   */
  clusterSent(bytes: number): void {
    if (!this.#clusterStep) return;
    this.#clusterStep = false;
    if (bytes <= 0) this.endCluster();
  }

  /**
   * When the open cluster's next step is due (NaN: no cluster): {@link PROBE_PACE_MS} before its
   * next packet's time at its target rate, so that the grid, which rounds up, sends it no later;
   * PROBE_PACE_MS after `now` at the soonest.
   */
  clusterNextAt(now: number): number {
    this.#catchUp();
    if (this.#cluster === 0) return Number.NaN;
    const next = Math.floor(this.#clusterSentBytes / PROBE_PACKET_BYTES + 1e-9);
    return Math.max(now + PROBE_PACE_MS, this.#clusterStartedAt + (next * PROBE_PACKET_BYTES * 8000) / this.#clusterTargetBps - PROBE_PACE_MS);
  }

  /**
   * The open cluster stops here: all of it sent, or cut short (nothing more to copy, a keyframe
   * the receiver waits for that its copies would queue ahead of, the receiver gone). The estimator
   * measures what was sent of it only when that took a step or more: a cluster cut after its
   * first step would be measured as a burst, the link's rate rather than the share left; it is
   * left to time out.
   */
  endCluster(): void {
    if (this.#cluster === 0) return;
    if (this.#clusterLastSentAt - this.#clusterStartedAt >= PROBE_PACE_MS) this.#estimator.probeClusterSent?.(this.#cluster);
    this.#cluster = 0;
    this.#clusterStep = false;
  }

  /**
   * When a probe cluster is due, opens it, its packets to be sent at up to twice the estimate, no
   * more than the wanted layers need, in steps ({@link clusterDue}).
   */
  #openCluster(now: number, estimate: number): void {
    if (now < this.#clusterDueAt || !this.#estimator.beginProbeCluster) return;
    // A gap after a cluster, its outcome is known: when the estimator did not take its result,
    // the next waits twice as long as the last did.
    if (this.#lastCluster !== 0 && !this.#clusterJudged) {
      this.#clusterJudged = true;
      const taken = (this.#estimator.probeResultsTaken ?? 0) > this.#takenAtCluster;
      this.#clusterGapMs = taken ? PROBE_CLUSTER_GAP_MS : Math.min(2 * this.#clusterGapMs, PROBE_CLUSTER_MAX_GAP_MS);
      this.#clusterDueAt = this.#lastClusterAt + this.#clusterGapMs;
      if (now < this.#clusterDueAt) return;
    }
    // A cluster is measured from the receiver's transport-cc feedback: nothing to learn from one without.
    if (!this.#transportCc) return;
    const target = Math.min(2 * estimate, Math.max(this.#idealBps, estimate));
    // Wanted layers so close to the estimate that no result could count: padding and the
    // estimate's own growth get there.
    if (target < PROBE_MIN_GAIN * estimate) return;
    // On a path so thin that the fewest packets a cluster needs would take longer than
    // PROBE_CLUSTER_MAX_MS at its target, padding alone probes.
    if ((PROBE_CLUSTER_PACKETS * PROBE_PACKET_BYTES * 8000) / target > PROBE_CLUSTER_MAX_MS) return;
    const id = (this.#lastCluster % 0xffff_fffe) + 1;
    // Refused while the path is congested: asked again at the next feedback.
    if (!this.#estimator.beginProbeCluster(id, target, now)) return;
    this.#clusterDueAt = now + PROBE_CLUSTER_GAP_MS;
    this.#clusterJudged = false;
    this.#lastClusterAt = now;
    this.#lastCluster = id;
    this.#cluster = id;
    this.#clusterTargetBps = target;
    this.#clusterPlannedBytes = Math.max(PROBE_CLUSTER_PACKETS * PROBE_PACKET_BYTES, (target * PROBE_CLUSTER_MS) / 8000);
    this.#clusterStartedAt = now;
    this.#clusterSentBytes = 0;
    this.#clusterLastSentAt = now;
    this.#clusterStep = false;
    this.#takenAtCluster = this.#estimator.probeResultsTaken ?? 0;
  }
}

function sameCaps(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, height] of b) if (a.get(name) !== height) return false;
  return true;
}
