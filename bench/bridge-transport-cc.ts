// Micro-benchmark of the bridge's transport-cc recorder (bridge/rtp/transport-cc.ts): ns per
// recorded packet, ns per feedback round and JS heap bytes allocated per packet. Not a test:
// `node --import tsx bench/bridge-transport-cc.ts [--seconds S]`.
//
// Two loads, each in simulated time with feedback rounds as RtcpTermination makes them:
// - "bridge": 150 endpoints × 140 packets/s (the 21,000 packets/s of the bridge benchmark), a
//   feedback round every 50 ms to each;
// - "one sender": one endpoint at 8,000 packets/s, feedback after every 100 packets (the
//   RtcpTermination pending limit).
// Transport-wide numbers go up by one per packet with 1 % lost and 5 % swapped with the next;
// arrivals spread over the round. The inputs are made before the measured loops.
//
// Bytes allocated are counted without a flag: the JS heap's used size at the end minus at the
// start, plus what every garbage collection in between freed (v8.GCProfiler's before/after
// figures). The returned feedback packets (a Buffer each, and their array) are in the count.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { TransportCcRecorder } from '../bridge/rtp/transport-cc.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '200' } } });
const SECONDS = Number(values.seconds);

interface Load {
  name: string;
  endpoints: number;
  packetsPerSecond: number;
  /** Feedback after this many packets to an endpoint (the round is then shorter than `roundUs`). */
  packetsPerRound: number;
}

const LOADS: Load[] = [
  { name: 'bridge: 150 endpoints × 140 packets/s, feedback every 50 ms', endpoints: 150, packetsPerSecond: 140, packetsPerRound: 7 },
  { name: 'one sender: 8,000 packets/s, feedback every 100 packets', endpoints: 1, packetsPerSecond: 8000, packetsPerRound: 100 },
];

/** One cycle of rounds' transport-wide numbers and arrival offsets, replayed with the numbers and times moved on. */
interface Cycle {
  rounds: number;
  /** Per round, per endpoint, `packetsPerRound` numbers (offsets within the cycle) and arrival µs (offsets within it). */
  seqs: Int32Array;
  arrivals: Float64Array;
  /** Numbers per cycle per endpoint, and the cycle's length in µs. */
  span: number;
  cycleUs: number;
  roundUs: number;
}

function makeCycle(load: Load): Cycle {
  let state = 12345;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const rounds = 400;
  const perRound = load.packetsPerRound;
  const roundUs = (perRound / load.packetsPerSecond) * 1e6;
  const seqs = new Int32Array(rounds * load.endpoints * perRound);
  const arrivals = new Float64Array(seqs.length);
  let span = 0;
  for (let e = 0; e < load.endpoints; e++) {
    let seq = 0;
    for (let r = 0; r < rounds; r++) {
      const at = (r * load.endpoints + e) * perRound;
      for (let k = 0; k < perRound; k++) {
        if (random() < 0.01) seq++; // lost
        seqs[at + k] = seq++;
        arrivals[at + k] = r * roundUs + ((k + random()) / perRound) * roundUs;
      }
      for (let k = 0; k + 1 < perRound; k++) {
        if (random() >= 0.05) continue; // else swapped with the next (arrival times stay in order)
        const t = seqs[at + k]!;
        seqs[at + k] = seqs[at + k + 1]!;
        seqs[at + k + 1] = t;
        k++;
      }
    }
    span = Math.max(span, seq + 1);
  }
  return { rounds, seqs, arrivals, span, cycleUs: rounds * roundUs, roundUs };
}

interface Result {
  packets: number;
  rounds: number;
  recordNs: number;
  feedbackNs: number;
  bytes: number;
  gcs: number;
  gcMs: number;
}

/** Runs `load` for `seconds` simulated seconds. */
function run(load: Load, cycle: Cycle, seconds: number): Result {
  const recorders = Array.from({ length: load.endpoints }, () => new TransportCcRecorder());
  const perRound = load.packetsPerRound;
  const totalRounds = Math.round((seconds * 1e6) / cycle.roundUs);
  const profiler = new v8.GCProfiler();
  let recordMs = 0;
  let feedbackMs = 0;
  let packetsOut = 0;
  const usedBefore = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  for (let n = 0; n < totalRounds; n++) {
    const c = Math.floor(n / cycle.rounds);
    const r = n - c * cycle.rounds;
    const seqBase = c * cycle.span;
    const timeBase = 1e9 + c * cycle.cycleUs;
    const t0 = performance.now();
    for (let e = 0; e < load.endpoints; e++) {
      const recorder = recorders[e]!;
      const at = (r * load.endpoints + e) * perRound;
      for (let k = 0; k < perRound; k++) recorder.record((seqBase + cycle.seqs[at + k]!) & 0xffff, timeBase + cycle.arrivals[at + k]!);
    }
    const t1 = performance.now();
    const nowUs = timeBase + (r + 1) * cycle.roundUs;
    for (let e = 0; e < load.endpoints; e++) packetsOut += recorders[e]!.takeFeedback(1, 2, nowUs).length;
    const t2 = performance.now();
    recordMs += t1 - t0;
    feedbackMs += t2 - t1;
  }
  const stats = profiler.stop();
  const usedAfter = v8.getHeapStatistics().used_heap_size;
  let freed = 0;
  let gcMs = 0;
  for (const gc of stats.statistics) {
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    gcMs += gc.cost / 1000;
  }
  if (packetsOut === 0) throw new Error('no feedback was made');
  const packets = totalRounds * load.endpoints * perRound;
  const rounds = totalRounds * load.endpoints;
  return {
    packets, rounds,
    recordNs: (recordMs * 1e6) / packets,
    feedbackNs: (feedbackMs * 1e6) / rounds,
    bytes: usedAfter - usedBefore + freed,
    gcs: stats.statistics.length,
    gcMs,
  };
}

for (const load of LOADS) {
  const cycle = makeCycle(load);
  run(load, cycle, 5); // warm-up
  const runs = [1, 2, 3].map(() => run(load, cycle, SECONDS));
  const best = (pick: (r: Result) => number): number => Math.min(...runs.map(pick));
  const r = runs[0]!;
  console.log(load.name);
  console.log(`  ${r.packets} packets, ${r.rounds} feedback rounds per run (best of ${runs.length})`);
  console.log(`  record:         ${best((x) => x.recordNs).toFixed(1)} ns per packet`);
  console.log(`  takeFeedback:   ${best((x) => x.feedbackNs).toFixed(0)} ns per round (${(best((x) => x.feedbackNs) / load.packetsPerRound).toFixed(1)} ns per packet)`);
  console.log(`  allocated:      ${best((x) => x.bytes / x.packets).toFixed(1)} bytes per packet, ${best((x) => x.bytes / x.rounds).toFixed(0)} per round`);
  console.log(`  GC:             ${best((x) => x.gcs)} collections, ${best((x) => x.gcMs).toFixed(1)} ms`);
}
