import assert from 'node:assert/strict';
import { FRAME_END_REPEAT_LOSS, PROBE_CLUSTER_GAP_MS, PROBE_CLUSTER_MAX_GAP_MS, PROBE_PACE_MS, ReceiverBandwidth, REALLOCATION_GAP_MS, type BandwidthEstimator } from '../../../bridge/receiver-bandwidth.ts';
import { readTransportSequence, RtpHeader } from '../../../bridge/rtp/packet.ts';
import { buildTransportCc, parseTransportCc, type TransportCcFeedback } from '../../../bridge/rtp/transport-cc.ts';
import { SendSideBandwidthEstimator } from '../../../bridge/bwe/estimator.ts';
import type { LoggedSend, SendLogReader } from '../../../bridge/bwe/send-log.ts';

/** A stand-in estimator (this is a unit test of the state around it): the estimate is set by hand. */
class FixedEstimator implements BandwidthEstimator {
  estimateBps = 1_000_000;
  readonly sent: Array<[number, number]> = [];
  readonly clusterOf = new Map<number, number>();
  packetSent(sequence: number, size: number, _now: number, probeCluster = 0): void {
    this.sent.push([sequence, size]);
    this.clusterOf.set(sequence, probeCluster);
  }
  transportCcFeedback(): boolean {
    return false;
  }
  remb(bitrate: number): boolean {
    this.estimateBps = bitrate;
    return true;
  }
}

/** A 1000-byte (or `size`) RTP packet with the transport-wide sequence number as one-byte extension 5. */
function packet(senderSequence: number, size = 1000): RtpHeader {
  const p = Buffer.alloc(size);
  p[0] = 0x90;
  p[1] = 100;
  p.set([0xbe, 0xde, 0x00, 0x01, 0x51], 12);
  p.writeUInt16BE(senderSequence, 17);
  const header = new RtpHeader();
  assert.equal(header.parse(p), 'ok');
  return header;
}

/** Transport-cc feedback from `base` on, each packet arrived at the time given (ms), through its wire form. */
function arrivedAt(base: number, count: number, arrivalsMs: readonly number[]): TransportCcFeedback {
  const referenceTime = Math.floor(arrivalsMs[0]! / 64);
  let previous = referenceTime * 256;
  const deltas = arrivalsMs.map((arrival) => {
    const ticks = Math.round(arrival * 4);
    const delta = ticks - previous;
    previous = ticks;
    return delta;
  });
  const parsed = parseTransportCc(buildTransportCc({ senderSsrc: 1, mediaSsrc: 2, baseSequence: base, referenceTime, feedbackCount: count, deltas }));
  assert.ok(parsed);
  return parsed;
}

/**
 * Sends the open probe cluster's steps as the conference does, each when clusterNextAt says, each
 * step's bytes as copies (of packet(): 1,000 bytes) stamped and reported sent; returns the steps.
 */
function sendCluster(bandwidth: ReceiverBandwidth, from: number): Array<{ at: number; due: number }> {
  const steps: Array<{ at: number; due: number }> = [];
  for (let now = from; ; now = bandwidth.clusterNextAt(now)) {
    assert.ok(steps.length < 1000, 'a cluster ends');
    const due = bandwidth.clusterDue(now);
    if (due > 0) {
      steps.push({ at: now, due });
      let sent = 0;
      while (sent < due) {
        const copy = packet(60_000 + steps.length);
        bandwidth.stamp(copy, 5, now, false);
        sent += copy.length;
      }
      bandwidth.clusterSent(sent);
    }
    if (Number.isNaN(bandwidth.clusterNextAt(now))) return steps;
  }
}

describe('ReceiverBandwidth (the bridge → receiver side of an endpoint)', () => {
  it('numbers what is sent on its own transport, from 0, and notes it for the estimator', () => {
    const estimator = new FixedEstimator();
    const bandwidth = new ReceiverBandwidth(estimator);
    for (const senderSequence of [40_000, 7, 40_001]) bandwidth.stamp(packet(senderSequence), 5, 0, true);
    assert.deepEqual(estimator.sent, [[0, 1000], [1, 1000], [2, 1000]]);
    const other = packet(9);
    bandwidth.stamp(other, 5, 0, true);
    assert.equal(Buffer.from(other.buf).readUInt16BE(17), 3, 'written into the packet');
    bandwidth.stamp(packet(9), 6, 0, true);
    assert.equal(estimator.sent.length, 4, 'a packet without the extension is not numbered');
  });

  it('numbers a packet without the extension in a copy with it added once the receiver gave transport-cc feedback, and leaves it unnumbered for one that did not', () => {
    /** A 200-byte packet with no header extension (a gateway's audio). */
    const bare = (): RtpHeader => {
      const p = Buffer.alloc(200, 0xab);
      p[0] = 0x80;
      p[1] = 111;
      const header = new RtpHeader();
      assert.equal(header.parse(p), 'ok');
      return header;
    };
    const noPackets = { senderSsrc: 1, mediaSsrc: 0, baseSequence: 0, referenceTime: 0, feedbackCount: 0, deltas: [] };
    const remb = new ReceiverBandwidth(new FixedEstimator());
    remb.feedback({ kind: 'remb', bitrate: 800_000 }, 0);
    const estimator = new FixedEstimator();
    const bandwidth = new ReceiverBandwidth(estimator);
    assert.equal(bandwidth.stamp(bare(), 5, 0, true), undefined, 'no feedback yet: as it is');
    assert.equal(remb.stamp(bare(), 5, 0, true), undefined, 'REMB only: as it is');
    bandwidth.stamp(packet(1), 5, 0, true);
    bandwidth.feedback({ kind: 'transport-cc', parsed: noPackets }, 0);

    const header = bare();
    const before = Buffer.from(header.buf);
    const copy = bandwidth.stamp(header, 5, 0, true);
    assert.ok(copy, 'a copy to send instead');
    assert.deepEqual(Buffer.from(header.buf), before, 'the packet itself (which others may be sent) is left alone');
    const sent = new RtpHeader();
    assert.equal(sent.parse(copy), 'ok');
    assert.equal(readTransportSequence(sent, 5), 1, 'the next number, after the packet that carried the extension');
    assert.equal(copy.length, 208);
    bandwidth.stamp(packet(2), 5, 0, true);
    assert.deepEqual(estimator.sent, [[0, 1000], [1, 208], [2, 1000]], 'noted with the length sent');
    assert.equal(bandwidth.admitFeedback(6), true, 'feedback about it is read too');

    const negotiated = new ReceiverBandwidth(new FixedEstimator());
    negotiated.transportCcNegotiated = true;
    const first = negotiated.stamp(bare(), 5, 0, true);
    assert.ok(first, 'negotiated: numbered from the first packet, before any feedback');
    const numbered = new RtpHeader();
    assert.equal(numbered.parse(first), 'ok');
    assert.equal(readTransportSequence(numbered, 5), 0);
    negotiated.transportCcNegotiated = false;
    assert.equal(negotiated.stamp(bare(), 5, 0, true), undefined, 'no longer once renegotiated without it (and no feedback given)');
  });

  it('reads feedback about at most twice as many packets as it sent the receiver (a forged count is not parsed)', () => {
    const bandwidth = new ReceiverBandwidth(new FixedEstimator());
    assert.equal(bandwidth.admitFeedback(1), false, 'nothing sent: nothing to hear about');
    for (let i = 0; i < 10; i++) bandwidth.stamp(packet(i), 5, 0, true);
    assert.equal(bandwidth.admitFeedback(21), false);
    assert.equal(bandwidth.admitFeedback(15), true);
    assert.equal(bandwidth.admitFeedback(5), true, 'repeats fit');
    assert.equal(bandwidth.admitFeedback(1), false, 'spent');
    for (let i = 0; i < 10_000; i++) bandwidth.stamp(packet(i), 5, 0, true);
    assert.equal(bandwidth.admitFeedback(65_535), false, 'never more than twice the send history, however much was sent');
    assert.equal(bandwidth.admitFeedback(8_192), true);
  });

  it('caps heights only once the receiver gave feedback, and re-allocates at most every REALLOCATION_GAP_MS', () => {
    const bandwidth = new ReceiverBandwidth(new FixedEstimator());
    bandwidth.allocated({ caps: new Map([['a-v0', 180]]), allocatedBps: 150_000, idealBps: 1_500_000 }, 0);
    assert.equal(bandwidth.cappedHeight('a-v0', 720), 720, 'no feedback yet: constraints alone');
    assert.equal(bandwidth.estimateBps, undefined);
    assert.equal(bandwidth.feedback({ kind: 'remb', bitrate: 300_000 }, REALLOCATION_GAP_MS - 1), false);
    assert.equal(bandwidth.feedback({ kind: 'remb', bitrate: 300_000 }, REALLOCATION_GAP_MS), true);
    assert.equal(bandwidth.cappedHeight('a-v0', 720), 180);
    assert.equal(bandwidth.cappedHeight('a-v0', 90), 90, 'never above what it wants');
    assert.equal(bandwidth.cappedHeight('b-v0', 720), 720, 'a source not allocated is not capped');
    assert.equal(bandwidth.estimateBps, 300_000);
  });

  it('tells overload as its estimator judges it, once the receiver gave feedback', () => {
    let judged = true;
    class JudgingEstimator extends FixedEstimator {
      overloaded(): boolean {
        return judged;
      }
    }
    const bandwidth = new ReceiverBandwidth(new JudgingEstimator());
    assert.equal(bandwidth.overloaded(0), false, 'nothing is known before feedback');
    bandwidth.feedback({ kind: 'remb', bitrate: 800_000 }, 0);
    assert.equal(bandwidth.overloaded(0), true);
    judged = false;
    assert.equal(bandwidth.overloaded(0), false);
    const withoutJudgement = new ReceiverBandwidth(new FixedEstimator());
    withoutJudgement.feedback({ kind: 'remb', bitrate: 800_000 }, 0);
    assert.equal(withoutJudgement.overloaded(0), false, 'an estimator that cannot judge: never');
  });

  it('owes probing bytes only while held below what it wants: up to min(estimate, ideal) minus what it was sent', () => {
    const estimator = new FixedEstimator();
    const bandwidth = new ReceiverBandwidth(estimator);
    bandwidth.feedback({ kind: 'remb', bitrate: 800_000 }, 0);
    bandwidth.allocated({ caps: new Map([['a-v0', 180]]), allocatedBps: 150_000, idealBps: 1_500_000 }, 0);
    assert.equal(bandwidth.probeBytes(0), 0, 'the first call starts the measurement');
    bandwidth.stamp(packet(1), 5, 0, true); // 1000 bytes of media in 100 ms: 80 kbit/s
    bandwidth.stamp(packet(2), 5, 0, false); // and a probing copy: 160 kbit/s sent in all
    assert.equal(bandwidth.probeBytes(100), ((800_000 - 160_000) * 100) / 8000);
    // A probe sends whole packets: 1000 bytes for the few owed 1 ms later. The next fill takes the overshoot off.
    assert.ok(bandwidth.probeBytes(101) < 1000);
    bandwidth.stamp(packet(3), 5, 101, false);
    assert.equal(bandwidth.probeBytes(102), 0, 'nothing owed: 1000 bytes in 1 ms is past the estimate');
    bandwidth.allocated({ caps: new Map([['a-v0', 720]]), allocatedBps: 1_500_000, idealBps: 1_500_000 }, 100);
    assert.equal(bandwidth.probeBytes(200), 0, 'nothing owed once it gets what it wants');
  });

  it('sends a probe cluster a second while held back, its copies marked, backing off while clusters raise nothing', () => {
    const clusters: Array<{ id: number; target: number; at: number }> = [];
    class ProbingEstimator extends FixedEstimator {
      probeResultsTaken = 0;
      beginProbeCluster(id: number, targetBps: number, nowMs: number): boolean {
        clusters.push({ id, target: targetBps, at: nowMs });
        return true;
      }
    }
    const estimator = new ProbingEstimator();
    const bandwidth = new ReceiverBandwidth(estimator);
    // REMB alone: a cluster could not be measured, so none is sent.
    bandwidth.feedback({ kind: 'remb', bitrate: 400_000 }, 0);
    bandwidth.allocated({ caps: new Map([['a-v0', 180]]), allocatedBps: 150_000, idealBps: 1_500_000 }, 0);
    for (let t = 0; t <= 3 * PROBE_CLUSTER_GAP_MS; t += 100) bandwidth.probeBytes(t);
    assert.equal(clusters.length, 0, 'none for a receiver that sends only REMB');
    // Its transport-cc feedback from now on (the estimate set by hand: 400 kbit/s).
    const noPackets = { senderSsrc: 1, mediaSsrc: 0, baseSequence: 0, referenceTime: 0, feedbackCount: 0, deltas: [] };
    estimator.estimateBps = 100_000;
    bandwidth.feedback({ kind: 'transport-cc', parsed: noPackets }, 0);
    for (let t = 0; t <= 3 * PROBE_CLUSTER_GAP_MS; t += 100) bandwidth.probeBytes(t);
    assert.equal(clusters.length, 0, 'none at 100 kbit/s: five packets back to back would stand 240 ms in its queue (more than 200)');
    estimator.estimateBps = 400_000;
    const fresh = new ReceiverBandwidth(estimator);
    fresh.feedback({ kind: 'transport-cc', parsed: noPackets }, 0);
    fresh.allocated({ caps: new Map([['a-v0', 180]]), allocatedBps: 150_000, idealBps: 1_500_000 }, 0);
    const probing = fresh;
    const calls = (from: number, to: number) => {
      for (let t = from; t <= to; t += 100) {
        probing.probeBytes(t);
        sendCluster(probing, t);
      }
    };
    calls(0, PROBE_CLUSTER_GAP_MS - 100);
    assert.equal(clusters.length, 0, 'none in the first second held back');
    probing.probeBytes(PROBE_CLUSTER_GAP_MS);
    assert.deepEqual(clusters, [{ id: 1, target: 800_000, at: PROBE_CLUSTER_GAP_MS }], 'twice the estimate, below the ideal');
    // Its first step: one packet now. The copies sent meanwhile are its packets, and the media
    // sent while it lasts (1,000 bytes each here) counts in it too; copies after the step do not.
    const start = PROBE_CLUSTER_GAP_MS;
    assert.equal(probing.clusterDue(start), 1200);
    probing.stamp(packet(1), 5, start, false);
    probing.stamp(packet(2), 5, start, true);
    probing.clusterSent(1000);
    probing.stamp(packet(3), 5, start, false);
    assert.deepEqual([0, 1, 2].map((s) => estimator.clusterOf.get(s)), [1, 1, 0], 'the step\'s copy and the media are the cluster; a copy after the step is not');
    assert.equal(probing.clusterId, 1, 'the cluster still open');
    assert.equal(probing.clusterDue(start + 5), 0, 'nothing owed: 2,000 bytes sent, the next 1,200 due at 12 ms (800 kbit/s)');
    // Then a step 5 ms before each next packet's time (the grid rounds up: never late), each
    // owing what the media left, until 6,000 bytes (at least five packets, and 15 ms, at its target).
    const steps = sendCluster(probing, probing.clusterNextAt(start));
    assert.deepEqual(steps.map((s) => [s.at - start, s.due]), [[7, 400], [19, 600], [31, 800], [43, 1000]]);
    assert.ok(Number.isNaN(probing.clusterNextAt(start + 43)), 'over once its bytes are sent');
    assert.equal(probing.clusterDue(start + 100), 0);
    const stepped = [...estimator.clusterOf.entries()].filter(([, c]) => c === 1).length;
    assert.equal(stepped, 6, 'five copies and the media marked');

    // No cluster's result was taken: the next waits twice as long, and so on up to the maximum.
    calls(PROBE_CLUSTER_GAP_MS + 200, 60_000);
    const gaps = clusters.slice(1).map((c, i) => c.at - clusters[i]!.at);
    assert.deepEqual(gaps.slice(0, 4), [2000, 4000, 8000, 8000]);
    assert.ok(gaps.every((g) => g <= PROBE_CLUSTER_MAX_GAP_MS));
    // A cluster whose result was taken: the next a second after it.
    const before = clusters.length;
    let t = 60_100;
    for (; clusters.length === before; t += 100) probing.probeBytes(t);
    estimator.estimateBps = 900_000; // what that cluster showed
    estimator.probeResultsTaken++;
    calls(t, t + 3 * PROBE_CLUSTER_GAP_MS);
    const after = clusters.slice(before).map((c) => c.at);
    assert.equal(after[1]! - after[0]!, PROBE_CLUSTER_GAP_MS, `${after}`);
    assert.equal(clusters[before + 1]!.target, 1_500_000, 'never above what its layers would take (when that exceeds the estimate)');

    // Wanted layers within 1.5 x the estimate: no cluster could prove anything, none is sent.
    const whileClose = clusters.length;
    estimator.estimateBps = 1_200_000;
    calls(t + 4 * PROBE_CLUSTER_GAP_MS, t + 20 * PROBE_CLUSTER_GAP_MS);
    assert.equal(clusters.length, whileClose);

    // Not held back: no cluster.
    const count = clusters.length;
    probing.allocated({ caps: new Map([['a-v0', 720]]), allocatedBps: 1_500_000, idealBps: 1_500_000 }, 0);
    calls(200_000, 220_000);
    assert.equal(clusters.length, count);
  });

  it('sends no fill beside a cluster, ends one when media fills it or a step finds nothing to copy, and has it measured only once it took a step', () => {
    const ended: number[] = [];
    class ProbingEstimator extends FixedEstimator {
      probeResultsTaken = 0;
      beginProbeCluster(): boolean {
        return true;
      }
      probeClusterSent(id: number): void {
        ended.push(id);
      }
    }
    const estimator = new ProbingEstimator();
    estimator.estimateBps = 400_000;
    const bandwidth = new ReceiverBandwidth(estimator);
    bandwidth.feedback({ kind: 'transport-cc', parsed: { senderSsrc: 1, mediaSsrc: 0, baseSequence: 0, referenceTime: 0, feedbackCount: 0, deltas: [] } }, 0);
    bandwidth.allocated({ caps: new Map([['a-v0', 180]]), allocatedBps: 150_000, idealBps: 1_500_000 }, 0);
    let t = 0;
    const fills: number[] = [];
    for (; !bandwidth.clusterOpen; t += 100) fills.push(bandwidth.probeBytes(t));
    assert.ok(fills.at(-2)! > 0 && fills.at(-1) === 0, `the fill before, none from the call that opens the cluster: ${fills}`);
    assert.equal(bandwidth.probeBytes(t), 0, 'nor while it is sent');
    // 1: all media sent while it lasts is measured with it, but makes up for its copies only as far
    // as its schedule owes (800 kbit/s: 1,200 bytes each 12 ms); media on schedule fills it
    // (6,000 bytes), and it is measured.
    const opened = t - 100;
    assert.equal(bandwidth.clusterDue(opened), 1200);
    bandwidth.stamp(packet(1), 5, opened, false);
    bandwidth.clusterSent(1000);
    const tagged = () => [...estimator.clusterOf.values()].filter((c) => c === 1).length;
    for (let i = 0; i < 5; i++) bandwidth.stamp(packet(2 + i), 5, opened + 6, true);
    assert.equal(tagged(), 6, 'a burst of media is carried in it');
    assert.equal(bandwidth.clusterOpen, true, 'but does not fill it ahead of its schedule');
    assert.equal(bandwidth.clusterDue(opened + 7), 1400, 'nor spare its copies: 2,400 bytes owed by 12 ms, 1,000 sent');
    bandwidth.stamp(packet(7), 5, opened + 7, false);
    bandwidth.clusterSent(1000);
    for (let i = 1; i <= 4; i++) bandwidth.stamp(packet(10 + i), 5, opened + 12 + 12 * i, true);
    assert.equal(tagged(), 11);
    assert.equal(bandwidth.clusterOpen, false, 'ended by the media on its schedule');
    assert.deepEqual(ended, [1]);
    // 2: a step that finds nothing to copy ends it; only its first step sent: not measured.
    for (t = opened + 2000; !bandwidth.clusterOpen; t += 100) bandwidth.probeBytes(t);
    assert.ok(bandwidth.clusterDue(t - 100) > 0);
    bandwidth.clusterSent(0);
    assert.equal(bandwidth.clusterOpen, false, 'nothing to copy');
    assert.deepEqual(ended, [1], 'left to time out: measured, it would be a burst');
    // 3: cut short (the conference's endCluster) after a step and another: measured.
    for (t += 4000; !bandwidth.clusterOpen; t += 100) bandwidth.probeBytes(t);
    const third = t - 100;
    assert.ok(bandwidth.clusterDue(third) > 0);
    bandwidth.stamp(packet(10), 5, third, false);
    bandwidth.clusterSent(1000);
    const next = bandwidth.clusterNextAt(third);
    assert.ok(bandwidth.clusterDue(next) > 0);
    bandwidth.stamp(packet(11), 5, next, false);
    bandwidth.clusterSent(1000);
    bandwidth.endCluster();
    assert.deepEqual(ended, [1, 3]);
  });

  it('on an idle path, a cluster paced on the 5 ms grid is taken for wanted layers from 1.55 to 2 times the estimate, whatever the grid\'s phase (the grid never sends it slower than its target)', () => {
    /** One cluster, with media at the estimate beside it, through a path that delays every packet 20 ms: whether its result was taken. */
    const taken = (estimate: number, ideal: number, phase: number): boolean => {
      const estimator = new SendSideBandwidthEstimator({ initialBps: estimate });
      const bandwidth = new ReceiverBandwidth(estimator);
      bandwidth.stamp(packet(0), 5, 0, true);
      bandwidth.feedback({ kind: 'transport-cc', parsed: arrivedAt(0, 0, [20]) }, 40);
      bandwidth.allocated({ caps: new Map([['a-v0', 180]]), allocatedBps: estimate / 2, idealBps: ideal }, 40);
      const opened = 3000 + phase;
      bandwidth.probeBytes(opened - 1000);
      bandwidth.probeBytes(opened - 500);
      bandwidth.probeBytes(opened);
      assert.ok(bandwidth.clusterOpen);
      const arrivals: number[] = [];
      // Media goes on at the estimate meanwhile, 1,202-byte packets.
      let mediaAt = opened + 1;
      for (let now = opened; bandwidth.clusterOpen; now = Math.ceil(bandwidth.clusterNextAt(now) / PROBE_PACE_MS) * PROBE_PACE_MS) {
        for (; mediaAt < now && bandwidth.clusterOpen; mediaAt += (1202 * 8000) / estimate) {
          bandwidth.stamp(packet(arrivals.length + 1, 1202), 5, mediaAt, true);
          arrivals.push(mediaAt + 20);
        }
        if (!bandwidth.clusterOpen) break;
        const due = bandwidth.clusterDue(now);
        let sent = 0;
        for (; sent < due; sent += 1202) {
          bandwidth.stamp(packet(arrivals.length + 1, 1202), 5, now, false);
          arrivals.push(now + 20);
        }
        if (due > 0) bandwidth.clusterSent(sent);
      }
      estimator.transportCcFeedback(arrivedAt(1, 1, arrivals), arrivals.at(-1)! + 40);
      return estimator.probeResultsTaken === 1;
    };
    for (const estimate of [300_000, 1_000_000, 2_500_000]) {
      for (const share of [1.55, 1.7, 2]) {
        for (let phase = 0.05; phase < 5; phase += 0.5) assert.ok(taken(estimate, share * estimate, phase), `estimate ${estimate}, layers ${share} times it, grid phase ${phase} ms`);
      }
    }
  });

  it('backs off clusters whose taken results do not hold (held back again within PROBE_SUSTAIN_MS), and not those that do', () => {
    const clusters: number[] = [];
    class ProbingEstimator extends FixedEstimator {
      probeResultsTaken = 0;
      beginProbeCluster(_id: number, _targetBps: number, nowMs: number): boolean {
        clusters.push(nowMs);
        return true;
      }
    }
    const estimator = new ProbingEstimator();
    estimator.estimateBps = 400_000;
    const bandwidth = new ReceiverBandwidth(estimator);
    bandwidth.feedback({ kind: 'transport-cc', parsed: { senderSsrc: 1, mediaSsrc: 0, baseSequence: 0, referenceTime: 0, feedbackCount: 0, deltas: [] } }, 0);
    const heldBack = (at: number) => bandwidth.allocated({ caps: new Map([['a-v0', 180]]), allocatedBps: 150_000, idealBps: 1_500_000 }, at);
    const letUp = (at: number) => bandwidth.allocated({ caps: new Map([['a-v0', 720]]), allocatedBps: 1_500_000, idealBps: 1_500_000 }, at);
    let t = 0;
    const run = (until: number) => {
      for (; t <= until; t += 100) {
        bandwidth.probeBytes(t);
        sendCluster(bandwidth, t);
      }
    };
    /** Held back until a cluster goes, its result taken, the receiver let up; held back again `after` ms later. */
    const cycle = (after: number): number => {
      const count = clusters.length;
      heldBack(t);
      const from = t;
      while (clusters.length === count) run(t);
      const wait = clusters.at(-1)! - from;
      estimator.probeResultsTaken++;
      letUp(t);
      run(t + after);
      return wait;
    };
    // A shared bottleneck: each cluster's result is taken, and the receiver is held back 2 s later.
    const waits = [cycle(2000), cycle(2000), cycle(2000), cycle(2000), cycle(2000)];
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000]);
    // A result that holds (6 s let up): the next cluster comes a second after being held back again.
    cycle(6000);
    assert.equal(cycle(6000), 1000);
  });

  it('repeats frame ends only for a receiver that reported loss of 3 % or more, and not while its queue grows', () => {
    const estimator = new (class extends FixedEstimator {
      lossFraction = 0;
      overusing = false;
    })();
    const bandwidth = new ReceiverBandwidth(estimator);
    estimator.lossFraction = 0.1;
    assert.equal(bandwidth.repeatFrameEnds, false, 'no feedback heard yet');
    bandwidth.feedback({ kind: 'remb', bitrate: 1_000_000 }, 0);
    assert.equal(bandwidth.repeatFrameEnds, true);
    estimator.lossFraction = FRAME_END_REPEAT_LOSS - 0.001;
    assert.equal(bandwidth.repeatFrameEnds, false);
    estimator.lossFraction = FRAME_END_REPEAT_LOSS;
    assert.equal(bandwidth.repeatFrameEnds, true);
    estimator.overusing = true;
    assert.equal(bandwidth.repeatFrameEnds, false, 'congestion: a repeat would feed it');
    assert.equal(new ReceiverBandwidth(new FixedEstimator()).repeatFrameEnds, false, 'an estimator that tells no loss');
  });

  it('takes the rate of the frame-end repeats since the last allocation off the budget of the next', () => {
    const estimator = new FixedEstimator();
    const bandwidth = new ReceiverBandwidth(estimator);
    assert.equal(bandwidth.allocationBudget(0), 1_000_000, 'no repeat yet: the estimate');
    // 30 repeats of 1 000 bytes in 1 s: 240 kbps on the path that the estimate does not count.
    for (let i = 0; i < 30; i++) bandwidth.frameEndRepeated(1000);
    assert.equal(bandwidth.allocationBudget(1000), 760_000);
    assert.equal(bandwidth.repeatBps, 240_000);
    bandwidth.frameEndRepeated(1000);
    assert.equal(bandwidth.allocationBudget(1100), 760_000, 'under 200 ms later: the last rate, the window goes on');
    assert.equal(bandwidth.allocationBudget(1500), 1_000_000 - (1000 * 8000) / 500, 'the window since 1000 ms');
    assert.equal(bandwidth.allocationBudget(2500), 1_000_000, 'no repeats in the last second: the whole estimate');
    for (let i = 0; i < 300; i++) bandwidth.frameEndRepeated(1000);
    assert.equal(bandwidth.allocationBudget(3500), 0, 'never below zero');
  });

  describe('with a send log (the media socket\'s read forwarding some packets itself)', () => {
    /** A send log as salon_media.cc keeps one: the numbering, and the records of what the read sent. */
    class FakeSendLog implements SendLogReader {
      sequence = 0;
      readonly records: Array<[number, number, number]> = [];
      get waiting(): number {
        return this.records.length;
      }
      drain(onSent: LoggedSend): void {
        for (const record of this.records.splice(0)) onSent(...record);
      }
      /** The read sends one: numbered from the shared counter. */
      readSends(size: number, at: number): number {
        const sequence = this.sequence;
        this.sequence = (sequence + 1) & 0xffff;
        this.records.push([sequence, size, at]);
        return sequence;
      }
    }

    it('numbers its own packets after the read\'s, and hands the estimator both in the order they were sent', () => {
      const estimator = new FixedEstimator();
      const bandwidth = new ReceiverBandwidth(estimator);
      const header = packet(0);
      bandwidth.stamp(header, 5, 0, true);
      bandwidth.stamp(header, 5, 1, true);
      const log = new FakeSendLog();
      bandwidth.attachSendLog(log);
      assert.equal(log.sequence, 2, 'the numbering goes on in the log');
      log.readSends(300, 2);
      log.readSends(310, 3);
      bandwidth.stamp(header, 5, 4, true);
      assert.equal(readTransportSequence(header, 5), 4, 'after what the read sent');
      log.readSends(320, 5);
      bandwidth.stamp(packet(0, 500), 5, 6, true);
      log.readSends(330, 7);
      assert.deepEqual(estimator.sent, [[0, 1000], [1, 1000], [2, 300], [3, 310], [4, 1000], [5, 320], [6, 500]]);
      // Read before anything that depends on what was sent: feedback, its budget, probing.
      assert.ok(bandwidth.admitFeedback(16), 'feedback about the read\'s packets admitted');
      assert.deepEqual(estimator.sent.at(-1), [7, 330]);
      bandwidth.attachSendLog(undefined);
      const back = packet(0);
      bandwidth.stamp(back, 5, 8, true);
      assert.equal(readTransportSequence(back, 5), 8, 'the numbering comes back where the log left it');
    });
  });
});
