import assert from 'node:assert/strict';
import { SendSideBandwidthEstimator } from '../../../bridge/bwe/estimator.ts';
import { SendHistory } from '../../../bridge/bwe/send-history.ts';
import { LATE_KEYFRAME_BURST_MS } from '../../../bridge/conference.ts';
import {
  TransportCcRecorder, buildTransportCc, parseTransportCc, type TransportCcFeedback,
} from '../../../bridge/rtp/transport-cc.ts';
import { seededRandom } from '../seeded-random.ts';

const PACKET_BYTES = 1200;
/** The receiver's clock: 5 s before its 24-bit reference time (64 ms units) wraps. */
const RECEIVER_CLOCK_US = 0x100_0000 * 64_000 - 5_000_000;

interface LinkOptions {
  capacityBps: number;
  propagationMs?: number;
  /** Bytes the bottleneck queue holds; a packet that would exceed it is dropped. */
  queueBytes?: number;
  /** Random loss after the bottleneck, 0..1. */
  lossRate?: number;
  /** Random extra propagation delay, 0..jitterMs (order kept). */
  jitterMs?: number;
  seed?: number;
}

/**
 * A bottleneck with a FIFO queue: arrival = max(send, previous departure) + size·8/capacity +
 * propagation; drop when the queue would exceed its limit; optional random loss and jitter.
 */
class Link {
  capacityBps: number;
  readonly #propagationMs: number;
  readonly #queueBytes: number;
  readonly #lossRate: number;
  readonly #jitterMs: number;
  readonly #random: () => number;
  #departureMs = 0;
  #lastArrivalMs = 0;

  constructor(options: LinkOptions) {
    this.capacityBps = options.capacityBps;
    this.#propagationMs = options.propagationMs ?? 20;
    this.#queueBytes = options.queueBytes ?? 60_000;
    this.#lossRate = options.lossRate ?? 0;
    this.#jitterMs = options.jitterMs ?? 0;
    this.#random = seededRandom(options.seed ?? 1);
  }

  /** Arrival time of a packet sent at `sendMs`, or undefined when it is lost. */
  send(bytes: number, sendMs: number): number | undefined {
    const backlogBytes = (Math.max(0, this.#departureMs - sendMs) * this.capacityBps) / 8000;
    if (backlogBytes + bytes > this.#queueBytes) return undefined;
    this.#departureMs = Math.max(sendMs, this.#departureMs) + (bytes * 8000) / this.capacityBps;
    if (this.#lossRate > 0 && this.#random() < this.#lossRate) return undefined;
    const jitter = this.#jitterMs > 0 ? this.#random() * this.#jitterMs : 0;
    this.#lastArrivalMs = Math.max(this.#lastArrivalMs, this.#departureMs + this.#propagationMs + jitter);
    return this.#lastArrivalMs;
  }
}

/**
 * Bridge → link → receiver, in 1 ms steps of simulated time: the sender paces packets every 5 ms
 * at the rate it is told, the receiver records arrivals with the real TransportCcRecorder and sends
 * feedback every `feedbackIntervalMs`, which comes back after the return delay and is parsed with
 * parseTransportCc before it reaches the estimator.
 */
class Simulation {
  nowMs = 0;
  sequence: number;
  readonly estimator: SendSideBandwidthEstimator;
  readonly link: Link;
  readonly #recorder = new TransportCcRecorder();
  readonly #inFlight: Array<{ arrivalMs: number; sequence: number }> = [];
  readonly #feedback: Array<{ dueMs: number; packet: Buffer }> = [];
  readonly #feedbackIntervalMs: number;
  readonly #returnMs: number;
  #creditBytes = 0;
  sentBytes = 0;

  constructor(estimator: SendSideBandwidthEstimator, link: Link, options: { startSequence?: number; feedbackIntervalMs?: number; returnMs?: number } = {}) {
    this.estimator = estimator;
    this.link = link;
    this.sequence = options.startSequence ?? 65_000;
    this.#feedbackIntervalMs = options.feedbackIntervalMs ?? 100;
    this.#returnMs = options.returnMs ?? 20;
  }

  /**
   * When set: called every ms; a number > 0 sends that many packets as a new probe cluster aiming
   * at twice the estimate: at once, or paced at that target when {@link paced} (as the bridge does).
   */
  probe: ((nowMs: number) => number) | undefined;
  paced = false;
  /** Cross traffic through the same bottleneck (bps), which the receiver does not report. */
  crossBps = 0;
  #crossCreditBytes = 0;
  #cluster = 0;
  /** The paced cluster being sent: packets left, the gap between two, when the next goes. */
  #pacing = { left: 0, gapMs: 0, nextMs: 0 };
  /** Probe clusters sent (the estimator accepted to begin them). */
  clusters = 0;

  /** Runs until `untilMs`, sending at `rateBps(now)`; `observe` sees the estimate after each feedback. */
  run(untilMs: number, rateBps: (nowMs: number) => number, observe?: (nowMs: number, estimateBps: number) => void): void {
    for (; this.nowMs < untilMs; this.nowMs++) {
      const now = this.nowMs;
      const burst = this.#pacing.left > 0 ? 0 : this.probe?.(now) ?? 0;
      const target = 2 * this.estimator.estimateBps;
      // Refused while the path is congested.
      if (burst > 0 && this.estimator.beginProbeCluster(this.#cluster + 1, target, now)) {
        this.#cluster++;
        this.clusters++;
        this.#pacing = { left: burst, gapMs: this.paced ? (PACKET_BYTES * 8000) / target : 0, nextMs: now };
      }
      while (this.#pacing.left > 0 && this.#pacing.nextMs <= now) {
        const sequence = this.sequence & 0xffff;
        this.sequence++;
        this.estimator.packetSent(sequence, PACKET_BYTES, now, this.#cluster);
        const arrivalMs = this.link.send(PACKET_BYTES, now);
        if (arrivalMs !== undefined) this.#inFlight.push({ arrivalMs, sequence });
        this.#pacing.nextMs += this.#pacing.gapMs;
        if (--this.#pacing.left === 0) this.estimator.probeClusterSent(this.#cluster);
      }
      this.#crossCreditBytes += this.crossBps / 8000;
      for (; this.#crossCreditBytes >= PACKET_BYTES; this.#crossCreditBytes -= PACKET_BYTES) this.link.send(PACKET_BYTES, now);
      if (now % 5 === 0) {
        this.#creditBytes += (rateBps(now) * 5) / 8000;
        while (this.#creditBytes >= PACKET_BYTES) {
          this.#creditBytes -= PACKET_BYTES;
          const sequence = this.sequence & 0xffff;
          this.sequence++;
          this.estimator.packetSent(sequence, PACKET_BYTES, now);
          this.sentBytes += PACKET_BYTES;
          const arrivalMs = this.link.send(PACKET_BYTES, now);
          if (arrivalMs !== undefined) this.#inFlight.push({ arrivalMs, sequence });
        }
      }
      while (this.#inFlight.length > 0 && this.#inFlight[0]!.arrivalMs <= now) {
        const { arrivalMs, sequence } = this.#inFlight.shift()!;
        this.#recorder.record(sequence, RECEIVER_CLOCK_US + Math.round(arrivalMs * 1000));
      }
      if (now % this.#feedbackIntervalMs === 0) {
        for (const packet of this.#recorder.takeFeedback(1, 2, RECEIVER_CLOCK_US + now * 1000)) {
          this.#feedback.push({ dueMs: now + this.#returnMs, packet });
        }
      }
      while (this.#feedback.length > 0 && this.#feedback[0]!.dueMs <= now) {
        const parsed = parseTransportCc(this.#feedback.shift()!.packet);
        assert.ok(parsed);
        this.estimator.transportCcFeedback(parsed, now);
        observe?.(now, this.estimator.estimateBps);
      }
    }
  }
}

function assertSane(estimator: SendSideBandwidthEstimator, minBps: number, maxBps: number): void {
  const estimate = estimator.estimateBps;
  assert.ok(Number.isFinite(estimate) && estimate >= minBps && estimate <= maxBps, `estimate ${estimate}`);
  const state = estimator.state;
  for (const [name, value] of Object.entries(state)) {
    if (typeof value === 'number') assert.ok(Number.isFinite(value) && value >= 0, `${name} ${value}`);
  }
  assert.ok(state.lossFraction <= 1);
}

function feedback(baseSequence: number, referenceTime: number, feedbackCount: number, deltas: Array<number | undefined>): TransportCcFeedback {
  return { senderSsrc: 1, mediaSsrc: 2, baseSequence, referenceTime, feedbackCount, deltas };
}

/**
 * Feedback from arrival times in ms on the receiver's clock (undefined: not received), with the
 * reference time and deltas as a receiver computes them.
 */
function fromArrivals(baseSequence: number, feedbackCount: number, arrivalsMs: Array<number | undefined>): TransportCcFeedback {
  const first = arrivalsMs.find((a) => a !== undefined)!;
  const referenceTime = Math.floor(first / 64);
  let previous = referenceTime * 256;
  const deltas = arrivalsMs.map((arrival) => {
    if (arrival === undefined) return undefined;
    const ticks = Math.round(arrival * 4);
    const delta = ticks - previous;
    previous = ticks;
    return delta;
  });
  return feedback(baseSequence & 0xffff, referenceTime & 0xff_ffff, feedbackCount, deltas);
}

/** Through the wire format, as the bridge will get it. */
function wire(value: TransportCcFeedback): TransportCcFeedback {
  const parsed = parseTransportCc(buildTransportCc(value));
  assert.ok(parsed);
  return parsed;
}

const figures: string[] = [];

describe('bridge/bwe', () => {
  after(() => {
    if (figures.length > 0) console.log(`      figures:\n${figures.map((line) => `        ${line}`).join('\n')}`);
  });

  describe('SendHistory', () => {
    it('finds packets across the 16-bit wrap, forgets those older than the ring, knows no future ones', () => {
      const history = new SendHistory(16);
      for (let k = 0; k < 40; k++) history.add((65_530 + k) & 0xffff, 100 + k, k);
      assert.equal(history.find((65_530 + 39) & 0xffff) >= 0, true);
      const slot = history.find((65_530 + 30) & 0xffff);
      assert.equal(history.sendMsAt(slot), 30);
      assert.equal(history.sizeAt(slot), 130);
      assert.equal(history.find((65_530 + 20) & 0xffff), -1, 'older than 16 packets');
      assert.equal(history.find((65_530 + 40) & 0xffff), -1, 'not sent yet');
    });

    it('a number further behind than the ring is a restart of the numbering', () => {
      const history = new SendHistory(16);
      for (let k = 0; k < 40; k++) history.add(1000 + k, 100, k);
      history.add(500, 999, 50);
      history.add(501, 999, 51);
      assert.equal(history.sizeAt(history.find(501)), 999);
      assert.equal(history.find(1039), -1, 'the old numbers are gone');
    });

    it('keeps the first record of a number sent twice; nothing before the first packet', () => {
      const history = new SendHistory(16);
      assert.equal(history.find(0), -1);
      history.add(7, 100, 1);
      history.add(7, 500, 2);
      assert.equal(history.sizeAt(history.find(7)), 100);
    });
  });

  describe('delay-based estimation through a simulated bottleneck', () => {
    it('2 Mbps through a 10 Mbps link with jitter: the estimate never falls and ends above 2 Mbps', () => {
      const estimator = new SendSideBandwidthEstimator();
      const sim = new Simulation(estimator, new Link({ capacityBps: 10_000_000, jitterMs: 3, seed: 7 }));
      let lowest = Infinity;
      let overuse = 0;
      let overloaded = 0;
      sim.run(10_000, () => 2_000_000, (now, estimate) => {
        lowest = Math.min(lowest, estimate);
        if (estimator.state.delayState === 'overusing') overuse++;
        if (estimator.overloaded(now)) overloaded++;
        assertSane(estimator, 30_000, 20_000_000);
      });
      const state = estimator.state;
      figures.push(`2 Mbps over 10 Mbps, 10 s: lowest ${lowest} bps, final ${estimator.estimateBps} bps, acked ${state.ackedBps} bps`);
      assert.equal(overuse, 0);
      assert.equal(overloaded, 0, 'the path never reads as overloaded');
      assert.ok(lowest >= 2_500_000, `lowest ${lowest}`);
      assert.ok(estimator.estimateBps >= 2_000_000);
      // Growth is bounded by what was acknowledged: 1.5 × 2 Mbps + 200 kbps.
      assert.ok(estimator.estimateBps <= 3_300_000, `final ${estimator.estimateBps}`);
      assert.ok(Math.abs(state.ackedBps! - 2_000_000) < 150_000, `acked ${state.ackedBps}`);
      assert.equal(state.lossFraction, 0);
    });

    it('2.5 Mbps into a 600 kbps bottleneck: below 600 kbps within 2 s', () => {
      const estimator = new SendSideBandwidthEstimator();
      const sim = new Simulation(estimator, new Link({ capacityBps: 600_000 }));
      let reactedMs: number | undefined;
      let overusedMs: number | undefined;
      let overloadedAtReaction: boolean | undefined;
      sim.run(2_000, () => 2_500_000, (now, estimate) => {
        if (overusedMs === undefined && estimator.state.delayState === 'overusing') overusedMs = now;
        if (reactedMs === undefined && estimate < 600_000) {
          reactedMs = now;
          overloadedAtReaction = estimator.overloaded(now);
        }
        assertSane(estimator, 30_000, 20_000_000);
      });
      const state = estimator.state;
      figures.push(`2.5 Mbps into 600 kbps: over-use at ${overusedMs} ms, estimate < 600 kbps at ${reactedMs} ms, ` +
        `at 2 s: ${estimator.estimateBps} bps (delay-based ${state.delayBasedBps}, loss ${state.lossFraction.toFixed(2)})`);
      assert.ok(overusedMs !== undefined);
      assert.ok(reactedMs !== undefined && reactedMs <= 2_000);
      assert.equal(overloadedAtReaction, true, 'the path reads as overloaded when the estimate falls under the bottleneck (a simulcast switch down then stops the layer at once)');
      assert.ok(estimator.estimateBps < 600_000);
      // The delay-based part lands near 0.85 × the bottleneck's rate.
      assert.ok(state.delayBasedBps > 400_000 && state.delayBasedBps < 600_000, `delay-based ${state.delayBasedBps}`);
    });

    it('a late keyframe\'s catch-up sent at once (as much as the bridge\'s bound allows: LATE_KEYFRAME_BURST_MS of the estimate) weighs on the estimate no more than the keyframes of the stream do', () => {
      // 2 Mbps of video in 30 fps frames, each frame's packets together as the bridge forwards them,
      // a keyframe six times a frame every 3 s, through a 2.5 Mbps bottleneck. Pacing the catch-up
      // would not help: at twice the estimate and more it fills the same queue, and below the
      // bottleneck's rate it takes the time the queue would.
      const media = 2_000_000;
      const run = (catchUpMs: number) => {
        const estimator = new SendSideBandwidthEstimator();
        const sim = new Simulation(estimator, new Link({ capacityBps: 2_500_000, jitterMs: 1, seed: 3 }));
        const frames = (now: number) => {
          if (now % 35 !== 0) return 0;
          const frameBytes = Math.min(estimator.estimateBps, media) / 8 / (1000 / 35);
          return ((now % 3010 === 0 ? 6 : 0.95) * frameBytes * 8000) / 5;
        };
        sim.run(20_000, frames);
        const catchUpBytes = (estimator.estimateBps * catchUpMs) / 8000;
        let lowest = Infinity;
        sim.run(30_000, (now) => frames(now) + (now === 20_020 ? (catchUpBytes * 8000) / 5 : 0), (now, estimate) => {
          if (now >= 20_020) lowest = Math.min(lowest, estimate);
        });
        return lowest;
      };
      const without = run(0);
      const withCatchUp = run(LATE_KEYFRAME_BURST_MS);
      figures.push(`2 Mbps in frames over 2.5 Mbps, the next 10 s: lowest estimate ${without} bps, ${withCatchUp} bps with a ${LATE_KEYFRAME_BURST_MS} ms catch-up at once`);
      assert.ok(without < media, `the stream's own keyframes take the estimate under its rate at times (${without}): a burst the bridge forwards is nothing new`);
      assert.ok(withCatchUp >= 0.9 * media && withCatchUp >= without - 0.05 * media, `with the catch-up, lowest ${withCatchUp} against ${without} without`);
    });

    it('a sender following the estimate settles under a 600 kbps cap, then climbs above 1.5 Mbps once it is lifted', () => {
      const estimator = new SendSideBandwidthEstimator();
      const link = new Link({ capacityBps: 600_000 });
      const sim = new Simulation(estimator, link);
      const follow = (): number => Math.min(estimator.estimateBps, 3_000_000);
      const capped: number[] = [];
      sim.run(10_000, follow, (now, estimate) => {
        if (now >= 5_000) capped.push(estimate);
      });
      const mean = capped.reduce((a, b) => a + b, 0) / capped.length;
      const high = Math.max(...capped);
      const low = Math.min(...capped);
      assert.ok(mean > 350_000 && mean < 700_000, `mean under the cap ${mean}`);
      link.capacityBps = 10_000_000;
      let recoveredMs: number | undefined;
      sim.run(40_000, follow, (now, estimate) => {
        if (recoveredMs === undefined && estimate > 1_500_000) recoveredMs = now - 10_000;
        assertSane(estimator, 30_000, 20_000_000);
      });
      figures.push(`following the estimate under 600 kbps (5–10 s): mean ${Math.round(mean)}, range ${low}–${high} bps; ` +
        `cap lifted at 10 s: above 1.5 Mbps after ${recoveredMs} ms, at 40 s ${estimator.estimateBps} bps`);
      assert.ok(recoveredMs !== undefined && recoveredMs <= 20_000, `recovered after ${recoveredMs} ms`);
      assert.ok(estimator.estimateBps >= 2_500_000, 'keeps up with a 3 Mbps sender on a free link');
    });

    it('with a probe cluster every second, the estimate stays under a 600 kbps cap and is back above 1.5 Mbps within 3 s of its lifting', () => {
      const estimator = new SendSideBandwidthEstimator();
      const link = new Link({ capacityBps: 600_000 });
      const sim = new Simulation(estimator, link);
      const follow = (): number => Math.min(estimator.estimateBps, 3_000_000);
      // As the bridge did while a receiver was held below the layers it wants, before it paced them: a burst of 8 copies a second.
      sim.probe = (now) => (now % 1000 === 500 && estimator.estimateBps < 3_000_000 ? 8 : 0);
      const capped: number[] = [];
      const results = new Set<number>();
      sim.run(10_000, follow, (now, estimate) => {
        if (now >= 5_000) capped.push(estimate);
        const result = estimator.state.probeResultBps;
        if (result !== undefined) results.add(result);
      });
      const mean = capped.reduce((a, b) => a + b, 0) / capped.length;
      assert.ok(mean > 350_000 && mean < 700_000, `mean under the cap ${mean}`);
      assert.ok(Math.max(...capped) < 1_000_000, `no cluster lifts the estimate far above the cap: ${Math.max(...capped)}`);
      assert.ok(sim.clusters > 0 && sim.clusters < 10, `clusters under the cap only when it is calm: ${sim.clusters} in 10 s`);
      assert.ok(results.size > 0 && [...results].every((r) => r < 900_000), `the clusters measured about the cap: ${[...results].join(', ')}`);
      link.capacityBps = 10_000_000;
      let recoveredMs: number | undefined;
      sim.run(20_000, follow, (now, estimate) => {
        if (recoveredMs === undefined && estimate > 1_500_000) recoveredMs = now - 10_000;
        assertSane(estimator, 30_000, 20_000_000);
      });
      figures.push(`with a probe cluster a second when calm: under 600 kbps mean ${Math.round(mean)} bps, ${sim.clusters} clusters in 10 s; cap lifted at 10 s: above 1.5 Mbps after ${recoveredMs} ms`);
      assert.ok(recoveredMs !== undefined && recoveredMs <= 3_000, `recovered after ${recoveredMs} ms`);
      assert.ok(estimator.estimateBps >= 2_500_000);
    });

    it('a probe cluster half lost, never reported in time, or of another id changes nothing; one reported lost then received counts each packet once', () => {
      const estimator = new SendSideBandwidthEstimator({ initialBps: 500_000 });
      assert.equal(estimator.beginProbeCluster(0, 1_000_000, 0), false, 'id 0 means no cluster');
      assert.equal(estimator.beginProbeCluster(1, Number.NaN, 0), false);
      assert.equal(estimator.beginProbeCluster(1, 1_000_000, 0), true);
      for (let s = 0; s < 8; s++) estimator.packetSent(s, PACKET_BYTES, 0, 1);
      estimator.probeClusterSent(1);
      // Half the cluster lost: no result.
      estimator.transportCcFeedback(wire(fromArrivals(0, 0, [30, undefined, 30.25, undefined, 30.5, undefined, 30.75, undefined])), 60);
      assert.equal(estimator.state.probeResultBps, undefined);
      assert.ok(estimator.estimateBps <= 500_000);
      // A cluster whose feedback comes after a second is given up.
      estimator.beginProbeCluster(2, 1_000_000, 100);
      for (let s = 8; s < 16; s++) estimator.packetSent(s, PACKET_BYTES, 100, 2);
      estimator.probeClusterSent(2);
      estimator.transportCcFeedback(wire(fromArrivals(8, 1, [1130, 1130.25, 1130.5, 1130.75, 1131, 1131.25, 1131.5, 1131.75])), 1150);
      assert.equal(estimator.state.probeResultBps, undefined);
      // Packets stamped with an old cluster's id are not counted into the current one.
      estimator.beginProbeCluster(3, 1_000_000, 1200);
      for (let s = 16; s < 24; s++) estimator.packetSent(s, PACKET_BYTES, 1200, 2);
      estimator.probeClusterSent(3);
      estimator.transportCcFeedback(wire(fromArrivals(16, 2, [1230, 1230.25, 1230.5, 1230.75, 1231, 1231.25, 1231.5, 1231.75])), 1260);
      assert.equal(estimator.state.probeResultBps, undefined);
      assert.equal(estimator.probeResultsTaken, 0);
      assert.equal(estimator.beginProbeCluster(4, 1_000_000, 1300), false, 'refused after the 17 % loss of the first cluster');

      // A packet reported lost, then received, is counted once: the cluster waits for its last packet.
      const fresh = new SendSideBandwidthEstimator({ initialBps: 500_000 });
      assert.equal(fresh.beginProbeCluster(1, 1_000_000, 0), true);
      for (let s = 0; s < 8; s++) fresh.packetSent(s, PACKET_BYTES, 0, 1);
      fresh.probeClusterSent(1);
      fresh.transportCcFeedback(wire(fromArrivals(0, 0, [30, 30.25, 30.5, 30.75, undefined])), 60);
      fresh.transportCcFeedback(wire(fromArrivals(4, 1, [31, 31.25, 31.5])), 62);
      assert.equal(fresh.state.probeResultBps, undefined, 'seven of eight in (the fifth once lost, once received)');
      fresh.transportCcFeedback(wire(fromArrivals(7, 2, [31.75])), 65);
      assert.equal(fresh.state.probeResultBps, 1_000_000, 'arrived within 2 ms: capped at the target');
      assert.equal(fresh.probeResultsTaken, 1);
      assert.equal(fresh.estimateBps, 1_000_000);
    });

    it('takes a paced cluster\'s result once all of it was sent, as the lower of the rates it was sent and delivered at', () => {
      const estimator = new SendSideBandwidthEstimator({ initialBps: 500_000 });
      assert.equal(estimator.beginProbeCluster(1, 2_000_000, 0), true);
      // Five packets 5 ms apart: 1.92 Mbit/s sent (the four before the last over 20 ms).
      for (let s = 0; s < 3; s++) estimator.packetSent(s, PACKET_BYTES, 5 * s, 1);
      // Feedback on the first three, the cluster still being sent: no result yet.
      estimator.transportCcFeedback(wire(fromArrivals(0, 0, [30, 35, 40])), 45);
      assert.equal(estimator.state.probeResultBps, undefined, 'not before the cluster was all sent');
      for (let s = 3; s < 5; s++) estimator.packetSent(s, PACKET_BYTES, 5 * s, 1);
      estimator.probeClusterSent(1);
      estimator.packetSent(5, PACKET_BYTES, 100, 1); // after the end: not the cluster's (counted, it would be awaited, and slow it to 0.48 Mbit/s)
      // The last two arrive bunched behind the others (a queue that let them through together).
      estimator.transportCcFeedback(wire(fromArrivals(3, 1, [40.25, 40.5, 45])), 70);
      assert.equal(estimator.state.probeResultBps, 1_920_000, 'delivered at 3.7 Mbit/s, sent at 1.92: the send rate bounds it');
      assert.equal(estimator.probeResultsTaken, 1);
      assert.equal(estimator.estimateBps, 1_920_000);
    });

    it('waits for a slow cluster\'s feedback a second from its last packet, not from its start', () => {
      const estimator = new SendSideBandwidthEstimator({ initialBps: 100_000 });
      assert.equal(estimator.beginProbeCluster(1, 240_000, 0), true);
      // Five packets at 240 kbit/s: one each 40 ms, the last at 160 ms.
      for (let s = 0; s < 5; s++) estimator.packetSent(s, PACKET_BYTES, 40 * s, 1);
      estimator.probeClusterSent(1);
      estimator.transportCcFeedback(wire(fromArrivals(0, 0, [950, 990, 1030, 1070, 1110])), 1150);
      assert.equal(estimator.state.probeResultBps, 240_000, 'its feedback complete 1.15 s after its start, 0.99 s after its last packet');
      assert.equal(estimator.probeResultsTaken, 1);
    });

    it('paced clusters through a bottleneck shared with cross traffic measure about the share left, where bursts measure the link', () => {
      const run = (paced: boolean) => {
        const estimator = new SendSideBandwidthEstimator({ initialBps: 300_000 });
        const sim = new Simulation(estimator, new Link({ capacityBps: 3_000_000 }));
        sim.crossBps = 2_000_000;
        sim.paced = paced;
        // As the bridge does for a receiver held below the 2.5 Mbit/s its layers would take: eight copies a second.
        sim.probe = (now) => (now % 1000 === 500 ? 8 : 0);
        const results: number[] = [];
        const estimates: number[] = [];
        sim.run(30_000, () => Math.min(estimator.estimateBps, 2_500_000), (now, estimate) => {
          const result = estimator.state.probeResultBps;
          if (result !== undefined && result !== results.at(-1)) results.push(result);
          if (now >= 10_000) estimates.push(estimate);
        });
        const over = estimates.filter((e) => e > 1_500_000).length / estimates.length;
        return { taken: estimator.probeResultsTaken, clusters: sim.clusters, results, over };
      };
      const burst = run(false);
      const paced = run(true);
      const fmt = (r: ReturnType<typeof run>) => `${r.taken} of ${r.clusters} results taken, ${Math.min(...r.results)}–${Math.max(...r.results)} bps, estimate over 1.5 Mbit/s ${(100 * r.over).toFixed(1)} % of the time`;
      figures.push(`3 Mbit/s link, 2 Mbit/s cross traffic: bursts ${fmt(burst)}; paced ${fmt(paced)}`);
      assert.ok(burst.results.length > 3 && Math.max(...burst.results) > 1_800_000, `a burst shows the link's rate (capped at its target): ${burst.results}`);
      assert.ok(paced.results.length > 3 && paced.results.every((r) => r < 1_500_000), `paced, the share left (1 Mbit/s) and the cluster's part of what it takes: ${paced.results}`);
      assert.ok(paced.taken <= 3 && paced.taken < burst.taken, `fewer results taken that the path cannot hold: ${paced.taken} against ${burst.taken}`);
      assert.ok(paced.over < burst.over, `the estimate less often over the share: ${paced.over} against ${burst.over}`);
    });

    it('feedback every 50 ms works the same way (reacts to a 600 kbps bottleneck)', () => {
      const estimator = new SendSideBandwidthEstimator();
      const sim = new Simulation(estimator, new Link({ capacityBps: 600_000 }), { feedbackIntervalMs: 50, startSequence: 0 });
      let reactedMs: number | undefined;
      sim.run(2_000, () => 2_500_000, (now, estimate) => {
        if (reactedMs === undefined && estimate < 600_000) reactedMs = now;
      });
      figures.push(`2.5 Mbps into 600 kbps, feedback every 50 ms: < 600 kbps at ${reactedMs} ms`);
      assert.ok(reactedMs !== undefined && reactedMs <= 2_000);
    });
  });

  describe('loss-based estimation (draft-ietf-rmcat-gcc-02 §6)', () => {
    it('10 % random loss on an ample link: the estimate decreases', () => {
      const estimator = new SendSideBandwidthEstimator();
      const sim = new Simulation(estimator, new Link({ capacityBps: 10_000_000, lossRate: 0.1, seed: 3 }));
      sim.run(10_000, () => 2_000_000, () => assertSane(estimator, 30_000, 20_000_000));
      const state = estimator.state;
      figures.push(`10 % loss, 10 s: ${estimator.estimateBps} bps (delay-based ${state.delayBasedBps}, last loss ${state.lossFraction.toFixed(3)})`);
      assert.ok(estimator.estimateBps < 2_000_000, `estimate ${estimator.estimateBps}`);
      assert.ok(state.delayBasedBps >= 2_500_000, 'the delay-based part sees no congestion');
      assert.ok(state.lossFraction > 0.05 && state.lossFraction < 0.2);
    });

    it('2 to 5 % random loss on an ample link is not overload, even when a window of 10 % makes the estimate fall (a lossy radio link: a simulcast switch down there keeps its layer until the switch)', () => {
      for (const lossRate of [0.02, 0.05]) {
        const estimator = new SendSideBandwidthEstimator();
        const sim = new Simulation(estimator, new Link({ capacityBps: 10_000_000, lossRate, seed: 11 }));
        let overloaded = 0;
        let feedbacks = 0;
        let highestLoss = 0;
        sim.run(10_000, () => 1_500_000, (now) => {
          feedbacks++;
          if (estimator.overloaded(now)) overloaded++;
          highestLoss = Math.max(highestLoss, estimator.state.lossFraction);
        });
        figures.push(`${lossRate * 100} % loss on 10 Mbps: overloaded at ${overloaded} of ${feedbacks} feedbacks, highest loss of a window ${highestLoss.toFixed(3)}`);
        assert.ok(feedbacks > 50);
        assert.equal(overloaded, 0, `${lossRate * 100} % loss`);
        assert.ok(highestLoss >= 0.02, 'windows of 2 % loss or more were seen (what the probe clusters call congestion)');
      }
    });

    it('1 % random loss: the estimate does not decrease', () => {
      const estimator = new SendSideBandwidthEstimator();
      const sim = new Simulation(estimator, new Link({ capacityBps: 10_000_000, lossRate: 0.01, seed: 5 }));
      let lowest = Infinity;
      sim.run(10_000, () => 2_000_000, (_now, estimate) => {
        lowest = Math.min(lowest, estimate);
      });
      figures.push(`1 % loss, 10 s: lowest ${lowest}, final ${estimator.estimateBps} bps`);
      assert.ok(lowest >= 2_500_000, `lowest ${lowest}`);
      assert.ok(estimator.estimateBps >= 2_500_000);
    });

    it('counts losses across the sequence wrap, once each, and a late arrival takes back its loss', () => {
      const estimator = new SendSideBandwidthEstimator({ initialBps: 1_000_000 });
      // 80 packets from 65 520 on (wrapping to 0 at index 16), one every 20 ms, 30 ms transit.
      for (let k = 0; k < 80; k++) estimator.packetSent((65_520 + k) & 0xffff, 1000, k * 20);
      const arrival = (k: number): number => k * 20 + 30;
      const lost = new Set([14, 20, 21, 22, 50, 60]);
      const arrivals = (from: number, to: number): Array<number | undefined> => {
        const list: Array<number | undefined> = [];
        for (let k = from; k < to; k++) list.push(lost.has(k) ? undefined : arrival(k));
        return list;
      };
      estimator.transportCcFeedback(wire(fromArrivals(65_520, 0, arrivals(0, 20))), 500);
      estimator.transportCcFeedback(wire(fromArrivals(65_540, 1, arrivals(20, 40))), 1_000);
      assert.equal(estimator.state.lossFraction, 4 / 40);
      assert.equal(estimator.estimateBps, 1_000_000, 'a 10 % loss holds');
      // Index 20 (sequence 4) arrives late; the receiver reports again from there, 21 and 22 still missing.
      lost.delete(20);
      const late: Array<number | undefined> = [1_590, ...arrivals(21, 80)];
      estimator.transportCcFeedback(wire(fromArrivals(4, 2, late)), 1_700);
      // 40 new packets (40..79) with 2 lost, minus the one that came late: 1 / 40.
      assert.equal(estimator.state.lossFraction, 1 / 40);
    });
  });

  describe('hostile and malformed feedback', () => {
    const MIN = 50_000;
    const MAX = 10_000_000;

    it('feedback for packets never sent, before anything was sent: nothing changes', () => {
      const estimator = new SendSideBandwidthEstimator({ minBps: MIN, maxBps: MAX });
      assert.equal(estimator.transportCcFeedback(wire(feedback(100, 5, 0, [1, 2, undefined, 4])), 10), false);
      assert.equal(estimator.estimateBps, 2_500_000);
      assert.equal(estimator.state.ackedBps, undefined);
    });

    it('sequences ahead of the highest sent and older than the history are ignored', () => {
      const estimator = new SendSideBandwidthEstimator({ historySize: 64 });
      for (let k = 0; k < 200; k++) estimator.packetSent(k, 1000, k);
      // 0..9 are forgotten (the ring holds 64); 200..209 were never sent.
      assert.equal(estimator.transportCcFeedback(wire(feedback(0, 1, 0, new Array(10).fill(undefined))), 300), false);
      assert.equal(estimator.transportCcFeedback(wire(feedback(200, 1, 1, new Array(10).fill(4))), 300), false);
      assert.equal(estimator.state.lossFraction, 0);
      assert.equal(estimator.state.ackedBps, undefined);
    });

    it('the same feedback twice, and feedback out of order, count each packet once', () => {
      const estimator = new SendSideBandwidthEstimator();
      for (let k = 0; k < 100; k++) estimator.packetSent(k, 1000, k * 5);
      const first = wire(feedback(0, 10, 0, new Array(50).fill(20)));
      const second = wire(feedback(50, 13, 1, new Array(50).fill(20)));
      estimator.transportCcFeedback(second, 600);
      estimator.transportCcFeedback(first, 601);
      const acked = estimator.state.ackedBps;
      assert.ok(acked !== undefined && acked > 0);
      assert.equal(estimator.transportCcFeedback(first, 602), false);
      assert.equal(estimator.transportCcFeedback(second, 603), false);
      assert.equal(estimator.state.ackedBps, acked);
      assertSane(estimator, 30_000, 20_000_000);
    });

    it('negative and huge deltas, reference time jumps, NaN, non-numbers, empty and 65 535-long lists never throw nor poison', () => {
      const estimator = new SendSideBandwidthEstimator({ minBps: MIN, maxBps: MAX });
      let sequence = 65_500;
      let now = 0;
      const send = (n: number): void => {
        for (let k = 0; k < n; k++) estimator.packetSent(sequence++ & 0xffff, 1200, now++);
      };
      send(100);
      const cases: TransportCcFeedback[] = [
        feedback(65_500, 1, 0, new Array(100).fill(-32_768)),
        feedback(65_500, 0xff_ffff, 0, new Array(100).fill(32_767)),
        feedback(65_500, 0, 7, [0, -32_768, 32_767, -32_768, 32_767, undefined, 0]),
        feedback(65_500, 12_345, 200, [Number.NaN, 1, 2]),
        feedback(65_550, 9, 3, [1, Infinity, 2]),
        feedback(65_560, 9, 3, ['x' as unknown as number, 1]),
        feedback(65_500, 9, 3, []),
        feedback(0, 9, 3, new Array(0xffff).fill(1)),
        { senderSsrc: 1, mediaSsrc: 2, baseSequence: Number.NaN, referenceTime: 1, feedbackCount: 0, deltas: [1] },
        { senderSsrc: 1, mediaSsrc: 2, baseSequence: 1, referenceTime: Infinity, feedbackCount: 0, deltas: [1] },
        { senderSsrc: 1, mediaSsrc: 2, baseSequence: 1, referenceTime: 1, feedbackCount: 0, deltas: null as unknown as number[] },
        null as unknown as TransportCcFeedback,
      ];
      for (const value of cases) {
        send(50);
        assert.doesNotThrow(() => estimator.transportCcFeedback(value, now));
        assertSane(estimator, MIN, MAX);
      }
      assert.doesNotThrow(() => estimator.transportCcFeedback(feedback(0, 0, 0, [1]), Number.NaN));
      assertSane(estimator, MIN, MAX);
    });

    it('seeded random feedback, parsed random bytes and clock jumps keep the estimate finite and in bounds', () => {
      for (const seed of [1, 2, 3]) {
        const random = seededRandom(seed);
        const estimator = new SendSideBandwidthEstimator({ minBps: MIN, maxBps: MAX });
        let sequence = Math.floor(random() * 0x10000);
        let now = 0;
        for (let round = 0; round < 400; round++) {
          const n = Math.floor(random() * 60);
          for (let k = 0; k < n; k++) estimator.packetSent(sequence++ & 0xffff, Math.floor(random() * 1500), now);
          now += Math.floor(random() * 40);
          const kind = random();
          if (kind < 0.5) {
            const length = 1 + Math.floor(random() * 300);
            const deltas: Array<number | undefined> = [];
            for (let k = 0; k < length; k++) {
              const r = random();
              deltas.push(r < 0.2 ? undefined : r < 0.9 ? Math.floor(random() * 256) : Math.floor(random() * 65_536) - 32_768);
            }
            const base = random() < 0.8 ? (sequence - Math.floor(random() * 400)) & 0xffff : Math.floor(random() * 0x10000);
            estimator.transportCcFeedback(wire(feedback(base, Math.floor(random() * 0x100_0000), round & 0xff, deltas)), now);
          } else if (kind < 0.9) {
            const bytes = Buffer.alloc(20 + Math.floor(random() * 80));
            for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(random() * 256);
            bytes[0] = 0x8f;
            bytes[1] = 205;
            bytes.writeUInt16BE(Math.floor(bytes.length / 4) - 1, 2);
            const parsed = parseTransportCc(bytes);
            if (parsed) estimator.transportCcFeedback(parsed, now);
          } else {
            estimator.remb(random() < 0.5 ? random() * 1e8 : -1, now);
          }
          assertSane(estimator, MIN, MAX);
        }
      }
    });

    it('a receiver clock jump of minutes restarts the delay filter instead of signalling over-use', () => {
      const estimator = new SendSideBandwidthEstimator();
      let sequence = 0;
      let overuse = 0;
      for (let round = 0; round < 40; round++) {
        const base = sequence;
        const offsetMs = round < 20 ? 1_000 : 193_000;
        const arrivals: number[] = [];
        for (let k = 0; k < 20; k++) {
          const sendMs = round * 100 + k * 5;
          estimator.packetSent(sequence++ & 0xffff, 1200, sendMs);
          arrivals.push(sendMs + 30 + offsetMs);
        }
        estimator.transportCcFeedback(wire(fromArrivals(base, round, arrivals)), round * 100 + 150);
        if (estimator.state.delayState === 'overusing') overuse++;
        assertSane(estimator, 30_000, 20_000_000);
      }
      assert.equal(overuse, 0);
      assert.ok(estimator.estimateBps >= 2_500_000);
    });
  });

  describe('REMB (draft-alvestrand-rmcat-remb-03)', () => {
    it('without transport-cc the estimate follows REMB, bounded; invalid values are ignored', () => {
      const estimator = new SendSideBandwidthEstimator({ minBps: 100_000, maxBps: 5_000_000 });
      assert.equal(estimator.remb(800_000, 0), true);
      assert.equal(estimator.estimateBps, 800_000);
      assert.equal(estimator.remb(800_000, 100), false);
      assert.equal(estimator.remb(3_000_000, 200), true);
      assert.equal(estimator.estimateBps, 3_000_000);
      estimator.remb(1e12, 300);
      assert.equal(estimator.estimateBps, 5_000_000);
      estimator.remb(0, 400);
      assert.equal(estimator.estimateBps, 100_000);
      for (const value of [Number.NaN, -5, Infinity]) assert.equal(estimator.remb(value, 500), false);
      assert.equal(estimator.estimateBps, 100_000);
      assert.equal(estimator.state.rembBps, 100_000);
    });

    it('without transport-cc, a REMB that falls by 3 % or more says the path\'s queue fills, for a second', () => {
      const estimator = new SendSideBandwidthEstimator();
      estimator.remb(2_000_000, 0);
      assert.equal(estimator.overloaded(0), false, 'a first REMB is no fall');
      estimator.remb(1_960_000, 100);
      assert.equal(estimator.overloaded(100), false, '2 % lower: the receiver would not have sent it for over-use');
      estimator.remb(2_500_000, 200);
      assert.equal(estimator.overloaded(200), false, 'a rise');
      estimator.remb(1_000_000, 300);
      assert.equal(estimator.overloaded(300), true, 'its estimate fell');
      assert.equal(estimator.overloaded(1_299), true);
      assert.equal(estimator.overloaded(1_300), false, 'a second later, with no further fall');
      estimator.remb(900_000, 7_000);
      assert.equal(estimator.overloaded(7_000), false, 'after 5 s without REMB, the last one no longer in force: nothing to fall from');
    });

    it('with transport-cc, a fall of REMB is not read as the queue filling (the transport-cc feedback says whether it does)', () => {
      const estimator = new SendSideBandwidthEstimator();
      const sim = new Simulation(estimator, new Link({ capacityBps: 10_000_000 }));
      sim.run(2_000, () => 2_000_000);
      estimator.remb(3_000_000, sim.nowMs);
      estimator.remb(1_000_000, sim.nowMs + 1);
      assert.equal(estimator.estimateBps, 1_000_000, 'REMB still bounds the estimate');
      assert.equal(estimator.overloaded(sim.nowMs + 1), false);
    });

    it('with transport-cc, REMB bounds the estimate from above for as long as it is repeated', () => {
      const estimator = new SendSideBandwidthEstimator();
      const sim = new Simulation(estimator, new Link({ capacityBps: 10_000_000 }));
      sim.run(2_000, () => 2_000_000);
      const before = estimator.estimateBps;
      assert.ok(before >= 2_500_000);
      estimator.remb(700_000, sim.nowMs);
      assert.equal(estimator.estimateBps, 700_000);
      sim.run(4_000, () => 700_000);
      assert.equal(estimator.estimateBps, 700_000, 'still bounded 2 s later');
      sim.run(12_000, () => 700_000);
      assert.ok(estimator.estimateBps > 700_000, 'a REMB not repeated for 5 s no longer bounds');
    });
  });
});
