import assert from 'node:assert/strict';
import {
  REORDER_LIMIT, TransportCcRecorder, buildTransportCc, type TransportCcFeedback, type TransportCcRecorderOptions,
} from '../../../../bridge/rtp/transport-cc.ts';
import { TransportCcRecorderOracle, buildTransportCcOracle } from './transport-cc-oracle.ts';
import { seededRandom } from '../../seeded-random.ts';

const SENDER = 0x11111111;
const MEDIA = 0x22222222;
/** Sequence numbers one feedback round reports at most (the recorder's MAX_SPAN). */
const MAX_SPAN = 0x2000;

/** What the random runs went through, so that the test fails if the generator stops reaching a case. */
interface Coverage {
  records: number;
  ignored: number;
  rounds: number;
  splitRounds: number;
  windowBack: number;
  wraps: number;
  forgotten: number;
  spansClamped: number;
  /** Made by the generator: arrivals earlier than one before, jumps (some past MAX_SPAN), pauses past the history. */
  clockBack: number;
  jumps: number;
  pauses: number;
}

/**
 * One random run: a sender's transport-wide numbers as the bridge would see them (in order, lost,
 * reordered a little or a lot, repeated, in bursts, jumping, very late, after long pauses), given
 * to both recorders with feedback at irregular times; every result must be the same.
 */
function runOnce(seed: number, coverage: Coverage): void {
  const next = seededRandom(seed);
  const int = (n: number): number => Math.floor(next() * n);
  const options: TransportCcRecorderOptions = {};
  const history = next();
  if (history < 0.3) options.historyUs = 5_000 + int(200_000);
  else if (history < 0.4) options.historyUs = 2_000_000 + int(8_000_000);
  const size = next();
  if (size < 0.4) options.maxPacketBytes = 16 + int(100);
  else if (size < 0.6) options.maxPacketBytes = 100 + int(1500);
  const historyUs = options.historyUs ?? 500_000;
  const subject = new TransportCcRecorder(options);
  const oracle = new TransportCcRecorderOracle(options);

  // Per-run weights, so that some runs are mostly one kind of trouble.
  const weights = {
    loss: next() * 0.2, holdSmall: next() * 0.3, holdLarge: next() * 0.05, duplicate: next() * 0.1,
    burst: next() * 0.05, jump: next() * 0.01, back: next() * 0.005, late: next() * 0.05,
    pause: next() * 0.01, skew: next() * 0.05, flood: next() < 0.05 ? 0.002 : 0,
  };
  const fractional = next() < 0.3;
  const feedbackEvery = next() < 0.5 ? 1 + int(100) : 0; // else at random
  let nowUs = int(2 ** 40);
  let cursor = next() < 0.3 ? 0xffff - int(300) : int(0x10000);
  let sentSinceFeedback = 0;
  let highestAtFeedback = cursor;
  let previousEnd: number | undefined;
  const held: Array<{ seq: number; at: number }> = [];
  const recent: number[] = [];
  const steps = 50 + int(500);
  let step = 0;
  const where = (what: string): string => `seed ${seed}, step ${step}: ${what}`;

  const check = (what: string): void => {
    if (subject.pending !== oracle.pending) assert.fail(where(`${what}: pending ${subject.pending}, expected ${oracle.pending}`));
    if (subject.size !== oracle.size) assert.fail(where(`${what}: size ${subject.size}, expected ${oracle.size}`));
  };
  const record = (seq: number, arrivalUs: number): void => {
    const before = oracle.pending;
    subject.record(seq & 0xffff, arrivalUs);
    oracle.record(seq & 0xffff, arrivalUs);
    check(`record(${seq & 0xffff}, ${arrivalUs})`);
    coverage.records++;
    if (oracle.pending === before) coverage.ignored++;
    recent.push(seq);
    if (recent.length > 64) recent.shift();
    sentSinceFeedback++;
  };
  const arrival = (): number => {
    nowUs += fractional ? next() * 3000 : int(3000);
    if (next() < weights.skew) {
      coverage.clockBack++;
      return nowUs - 1 - int(20_000); // arrival clock going back a little
    }
    return nowUs;
  };
  const feedback = (): void => {
    const at = next() < 0.1 ? nowUs - int(5000) : nowUs + int(2000);
    const sizeBefore = oracle.size;
    const got = subject.takeFeedback(SENDER, MEDIA, at);
    const expected = oracle.takeFeedback(SENDER, MEDIA, at);
    if (got.length !== expected.length) assert.fail(where(`takeFeedback(${at}): ${got.length} packets, expected ${expected.length}`));
    for (let k = 0; k < got.length; k++) {
      if (!got[k]!.equals(expected[k]!)) {
        assert.fail(where(`takeFeedback(${at}) packet ${k}: ${got[k]!.toString('hex')}, expected ${expected[k]!.toString('hex')}`));
      }
    }
    check(`takeFeedback(${at})`);
    if (expected.length > 0) {
      coverage.rounds++;
      if (expected.length > 1) coverage.splitRounds++;
      const base = expected[0]!.readUInt16BE(12);
      if (previousEnd !== undefined && base !== previousEnd) {
        if (((previousEnd - base) & 0xffff) <= REORDER_LIMIT) coverage.windowBack++;
        else coverage.spansClamped++;
      }
      const last = expected[expected.length - 1]!;
      const end = last.readUInt16BE(12) + last.readUInt16BE(14);
      if (base + statusCount(expected) > 0xffff) coverage.wraps++;
      previousEnd = end & 0xffff;
    }
    if (oracle.size < sizeBefore) coverage.forgotten++;
    highestAtFeedback = cursor - 1;
    sentSinceFeedback = 0;
  };

  for (step = 0; step < steps; step++) {
    for (let k = held.length - 1; k >= 0; k--) {
      if (held[k]!.at > step) continue;
      record(held[k]!.seq, arrival());
      held.splice(k, 1);
    }
    const due = feedbackEvery > 0 ? sentSinceFeedback >= feedbackEvery : next() < 0.1;
    if (due) {
      feedback();
      continue;
    }
    const r = next();
    let t = 0;
    if (r < (t += weights.loss)) {
      cursor += 1 + int(next() < 0.9 ? 3 : 100);
    } else if (r < (t += weights.holdSmall)) {
      held.push({ seq: cursor++, at: step + 1 + int(5) });
      continue;
    } else if (r < (t += weights.holdLarge)) {
      held.push({ seq: cursor++, at: step + 20 + int(300) });
      continue;
    } else if (r < (t += weights.duplicate) && recent.length > 0) {
      record(recent[int(recent.length)]!, arrival());
      continue;
    } else if (r < (t += weights.burst)) {
      const at = arrival();
      for (let n = 5 + int(50); n > 0; n--) record(cursor++, at + (next() < 0.5 ? 0 : int(3)));
      continue;
    } else if (r < (t += weights.jump)) {
      cursor += next() < 0.5 ? MAX_SPAN - 100 + int(300) : int(0x8000);
      coverage.jumps++;
    } else if (r < (t += weights.back)) {
      cursor -= int(0x8000);
    } else if (r < (t += weights.late)) {
      // Around the reorder limit from the end of the last feedback, or far before it.
      const late = next() < 0.7 ? highestAtFeedback - REORDER_LIMIT + 3 - int(6) : cursor - REORDER_LIMIT - int(5000);
      record(late, arrival());
      continue;
    } else if (r < (t += weights.pause)) {
      nowUs += historyUs * (1 + next() * 2) + (next() < 0.5 ? 9_000_000 : 0);
      coverage.pauses++;
    } else if (r < (t += weights.flood)) {
      for (let n = 500 + int(5000); n > 0; n--) record(cursor++, arrival());
      continue;
    }
    record(cursor++, arrival());
  }
  feedback();
}

function statusCount(packets: readonly Buffer[]): number {
  let count = 0;
  for (const p of packets) count += p.readUInt16BE(14);
  return count;
}

describe('bridge/rtp/transport-cc against the previous implementation (transport-cc-oracle.ts)', () => {
  it('TransportCcRecorder: the same feedback bytes, pending and size after every call over 3,000 random runs', () => {
    const coverage: Coverage = {
      records: 0, ignored: 0, rounds: 0, splitRounds: 0, windowBack: 0, wraps: 0, forgotten: 0, spansClamped: 0, clockBack: 0, jumps: 0, pauses: 0,
    };
    for (let seed = 1; seed <= 3000; seed++) runOnce(seed, coverage);
    // The runs reached every case they are meant to (else the generator needs fixing, not the recorder).
    assert.ok(coverage.records > 800_000, `${coverage.records} records`);
    assert.ok(coverage.ignored > 200_000, `${coverage.ignored} records ignored (duplicates, too late, before the history)`);
    assert.ok(coverage.rounds > 25_000, `${coverage.rounds} feedback rounds`);
    assert.ok(coverage.splitRounds > 3500, `${coverage.splitRounds} rounds split into several packets`);
    assert.ok(coverage.windowBack > 4000, `${coverage.windowBack} rounds starting back at a late packet`);
    assert.ok(coverage.spansClamped > 1500, `${coverage.spansClamped} rounds skipping numbers (jumps past MAX_SPAN)`);
    assert.ok(coverage.wraps > 500, `${coverage.wraps} rounds across the 16-bit wrap`);
    assert.ok(coverage.forgotten > 5000, `${coverage.forgotten} rounds forgetting arrivals past the history`);
    assert.ok(coverage.clockBack > 10_000, `${coverage.clockBack} arrivals before an earlier one`);
    assert.ok(coverage.jumps > 2000, `${coverage.jumps} jumps`);
    assert.ok(coverage.pauses > 2000, `${coverage.pauses} pauses`);
  });

  it('buildTransportCc: the same bytes for 2,000 random feedbacks', () => {
    const next = seededRandom(99);
    for (let n = 0; n < 2000; n++) {
      const deltas: Array<number | undefined> = [];
      const lossy = next();
      const large = next() * 0.3;
      for (let count = 1 + Math.floor(next() * (next() < 0.1 ? 20_000 : 300)); count > 0; count--) {
        const r = next();
        if (r < lossy * 0.6) {
          // runs of one symbol now and then, short and long
          const run = next() < 0.2 ? Math.floor(next() * 9000) : 1;
          for (let k = 0; k < run && count > 0; k++, count--) deltas.push(undefined);
          count++;
        } else if (r < 1 - large) deltas.push(Math.floor(next() * 256));
        else deltas.push(Math.floor(next() * 0x10000) - 0x8000);
      }
      const x: TransportCcFeedback = {
        senderSsrc: SENDER, mediaSsrc: MEDIA, baseSequence: Math.floor(next() * 0x10000),
        referenceTime: Math.floor(next() * 0x1000000), feedbackCount: n & 0xff, deltas: deltas.slice(0, 0xffff),
      };
      assert.ok(buildTransportCc(x).equals(buildTransportCcOracle(x)), `case ${n}`);
    }
  });
});
