import assert from 'node:assert/strict';
import { LinkImpairment, type ImpairmentDirection } from '../../../../bridge/transport/impairment.ts';
import { seededRandom } from '../../seeded-random.ts';
import { ManualClock } from './manual-clock.ts';

/** Datagram i carries its index in its first 4 bytes, so order and identity can be checked. */
function datagram(i: number, size = 100): Buffer {
  const data = Buffer.alloc(size);
  data.writeUInt32BE(i, 0);
  return data;
}

function collector(): { got: Array<{ i: number; at: number }>; deliver: (clock: ManualClock) => (data: Buffer) => void } {
  const got: Array<{ i: number; at: number }> = [];
  return { got, deliver: (clock) => (data) => got.push({ i: data.readUInt32BE(0), at: clock.now() }) };
}

describe('bridge/transport/impairment', () => {
  it('passes everything, at once, with an empty spec', () => {
    const clock = new ManualClock();
    const link = new LinkImpairment({}, clock);
    const { got, deliver } = collector();
    for (let i = 0; i < 50; i++) link.pass(i % 2 ? 'in' : 'out', datagram(i), deliver(clock));
    assert.equal(got.length, 50);
    assert.deepEqual(link.counters('in'), { passed: 25, lost: 0, blackedOut: 0, queueDropped: 0, delayed: 0, maxQueuedBytes: 0 });
    assert.equal(clock.pending, 0);
  });

  for (const seed of [1, 42, 0xdeadbeef]) {
    it(`drops about the asked fraction at random, reproducibly from the seed (seed ${seed})`, () => {
      const run = (): number[] => {
        const clock = new ManualClock();
        const link = new LinkImpairment({ loss: 0.1, random: seededRandom(seed) }, clock);
        const { got, deliver } = collector();
        for (let i = 0; i < 20_000; i++) link.pass(i % 2 ? 'in' : 'out', datagram(i), deliver(clock));
        const lost = link.counters('in').lost + link.counters('out').lost;
        assert.equal(got.length + lost, 20_000);
        // 20 000 Bernoulli(0.1) draws: standard deviation ≈ 42, so ±400 is far beyond chance.
        assert.ok(lost > 1600 && lost < 2400, `lost ${lost} of 20000`);
        assert.ok(link.counters('in').lost > 0 && link.counters('out').lost > 0, 'both directions lose');
        return got.map((g) => g.i);
      };
      assert.deepEqual(run(), run(), 'the same seed drops the same datagrams');
    });
  }

  it('loss 0 drops nothing and loss 1 drops everything', () => {
    const clock = new ManualClock();
    const none = new LinkImpairment({ loss: 0, random: seededRandom(7) }, clock);
    const all = new LinkImpairment({ loss: 1, random: seededRandom(7) }, clock);
    const { got, deliver } = collector();
    for (let i = 0; i < 100; i++) none.pass('in', datagram(i), deliver(clock));
    for (let i = 0; i < 100; i++) all.pass('out', datagram(i), deliver(clock));
    assert.equal(got.length, 100);
    assert.equal(all.counters('out').lost, 100);
  });

  it('drops everything both ways during the blackout, then nothing', () => {
    const clock = new ManualClock();
    const link = new LinkImpairment({ blackoutMs: 5000 }, clock);
    const { got, deliver } = collector();
    for (let t = 0; t < 6000; t += 100) {
      for (const direction of ['in', 'out'] as ImpairmentDirection[]) link.pass(direction, datagram(t), deliver(clock));
      if (t === 4900) assert.equal(link.blackedOut, true);
      clock.advance(100);
    }
    assert.equal(link.blackedOut, false);
    assert.deepEqual([...new Set(got.map((g) => g.i))], [5000, 5100, 5200, 5300, 5400, 5500, 5600, 5700, 5800, 5900]);
    assert.equal(link.counters('in').blackedOut, 50);
    assert.equal(link.counters('out').blackedOut, 50);
  });

  it('lets a burst through, then paces the queue at the rate, in order', () => {
    const clock = new ManualClock();
    // 800 kbit/s = 100 bytes/ms; a 3000-byte burst; 1000-byte datagrams.
    const link = new LinkImpairment({ rateBps: 800_000, burstBytes: 3000, queueBytes: 20_000 }, clock);
    const { got, deliver } = collector();
    for (let i = 0; i < 10; i++) link.pass('out', datagram(i, 1000), deliver(clock));
    assert.deepEqual(got.map((g) => g.i), [0, 1, 2], 'the burst goes at once');
    assert.equal(link.queuedBytes('out'), 7000);
    clock.advance(100);
    assert.deepEqual(got.map((g) => g.i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'in order');
    assert.deepEqual(got.slice(3).map((g) => g.at), [10, 20, 30, 40, 50, 60, 70], 'one datagram per 10 ms after the burst');
    assert.deepEqual(link.counters('out'), { passed: 10, lost: 0, blackedOut: 0, queueDropped: 0, delayed: 7, maxQueuedBytes: 7000 });
    assert.equal(clock.pending, 0, 'no timer once the queue is empty');
    assert.deepEqual(link.counters('in').passed, 0, 'the other direction has its own bucket');
  });

  it('delays rather than drops while the queue has room, and tail-drops beyond it', () => {
    const clock = new ManualClock();
    const link = new LinkImpairment({ rateBps: 800_000, burstBytes: 1000, queueBytes: 5000 }, clock);
    const { got, deliver } = collector();
    for (let i = 0; i < 10; i++) link.pass('in', datagram(i, 1000), deliver(clock));
    assert.equal(link.counters('in').queueDropped, 4, 'burst 1, queue 5, the other 4 dropped');
    clock.advance(1000);
    assert.deepEqual(got.map((g) => g.i), [0, 1, 2, 3, 4, 5]);
  });

  it('holds the long-run throughput to the rate under overload, with queueing delay bounded by the queue', () => {
    const clock = new ManualClock();
    const link = new LinkImpairment({ rateBps: 400_000, burstBytes: 3000, queueBytes: 10_000 }, clock); // 50 bytes/ms
    const sent = new Map<number, number>();
    const { got, deliver } = collector();
    // Offer 1200-byte datagrams every 12 ms (800 kbit/s) for 10 s: twice the rate.
    for (let i = 0; i < 834; i++) {
      sent.set(i, clock.now());
      link.pass('out', datagram(i, 1200), deliver(clock));
      clock.advance(12);
    }
    clock.advance(1000);
    const bytes = got.length * 1200;
    // 10 s at 50 bytes/ms = 500 000 bytes, plus at most the initial burst and what the queue held.
    assert.ok(bytes >= 500_000 - 1200 && bytes <= 500_000 + 3000 + 10_000 + 1200, `delivered ${bytes} bytes`);
    const maxDelay = Math.max(...got.map((g) => g.at - sent.get(g.i)!));
    assert.ok(maxDelay > 100, `queueing delay builds up (${maxDelay} ms), as delay-based estimators need`);
    assert.ok(maxDelay <= 10_000 / 50 + 24 + 1, `and stays bounded by the queue (${maxDelay} ms)`);
    assert.ok(link.counters('out').queueDropped > 0);
    assert.ok(link.counters('out').maxQueuedBytes <= 10_000);
    const order = got.map((g) => g.i);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'order is kept');
  });

  it('keeps the rate when its timer fires late (the tokens of a backlog are not capped)', () => {
    // A busy event loop: the clock reads 200 ms when the first timer finally runs.
    let now = 0;
    const timers: Array<() => void> = [];
    const clock = { now: () => now, setTimeout: (fn: () => void) => { timers.push(fn); return () => undefined; } };
    const link = new LinkImpairment({ rateBps: 800_000, burstBytes: 1000, queueBytes: 100_000 }, clock);
    let delivered = 0;
    for (let i = 0; i < 50; i++) link.pass('out', datagram(i, 1000), () => delivered++);
    assert.equal(delivered, 1);
    now = 200;
    timers.shift()!();
    assert.equal(delivered, 1 + 20, '200 ms at 100 bytes/ms sends 20 more 1000-byte datagrams');
  });

  it('flush hands on the queue at once; discard drops it; neither leaves a timer', () => {
    const clock = new ManualClock();
    const link = new LinkImpairment({ rateBps: 80_000, burstBytes: 1000 }, clock);
    const { got, deliver } = collector();
    for (let i = 0; i < 4; i++) link.pass('out', datagram(i, 1000), deliver(clock));
    for (let i = 10; i < 14; i++) link.pass('in', datagram(i, 1000), deliver(clock));
    assert.equal(got.length, 2);
    link.flush();
    assert.deepEqual(got.map((g) => g.i), [0, 10, 11, 12, 13, 1, 2, 3]);
    assert.equal(clock.pending, 0);
    for (let i = 20; i < 24; i++) link.pass('out', datagram(i, 1000), deliver(clock));
    link.discard();
    clock.advance(10_000);
    assert.equal(clock.pending, 0);
    assert.equal(got.length, 8);
  });

  it('rejects a spec out of range', () => {
    const clock = new ManualClock();
    assert.throws(() => new LinkImpairment({ loss: 1.5 }, clock), RangeError);
    assert.throws(() => new LinkImpairment({ loss: Number.NaN }, clock), RangeError);
    assert.throws(() => new LinkImpairment({ rateBps: 0 }, clock), RangeError);
    assert.throws(() => new LinkImpairment({ blackoutMs: -1 }, clock), RangeError);
  });
});
