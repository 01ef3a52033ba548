import assert from 'node:assert/strict';
import { DominantSpeakerDetector, type DominantSpeakerOptions, type SpeakerState } from '../../../bridge/dominant-speaker.ts';

/** RFC 6464 octets: −dBov, 127 = silence; the V bit (0x80) set as Chrome sets it while talking. */
const SILENT = 127;
const TALKING = 0x80 | 30;

/** A detector on a manual clock, fed one packet per endpoint every 20 ms. */
function rig(options: Omit<DominantSpeakerOptions, 'now'> = {}) {
  let now = 0;
  const detector = new DominantSpeakerDetector({ now: () => now, ...options });
  const changes: Array<SpeakerState & { at: number }> = [];
  return {
    detector,
    changes,
    get now() {
      return now;
    },
    /** Every endpoint in `levels` sends one packet per 20 ms for `ms` milliseconds. */
    run(ms: number, levels: Record<string, number | ((t: number) => number)>) {
      for (let elapsed = 0; elapsed < ms; elapsed += 20) {
        for (const [id, level] of Object.entries(levels)) {
          const change = detector.levelReceived(id, typeof level === 'function' ? level(now) : level);
          if (change) changes.push({ ...change, at: now });
        }
        now += 20;
      }
    },
  };
}

/** Speech with short pauses between words: 200 ms talking, 60 ms at the room's noise. */
const speech = (t: number) => (t % 260 < 200 ? TALKING : 75);

describe('dominant speaker detection', () => {
  it('makes the first endpoint heard dominant at once, before anyone talks', () => {
    const r = rig();
    r.run(20, { a: SILENT });
    assert.deepEqual(r.changes, [{ dominant: 'a', previous: [], silence: false, at: 0 }]);
  });

  it('switches to a speaker who talks for a while, not to one who only coughs', () => {
    const r = rig();
    r.run(2000, { b: SILENT, a: SILENT });
    assert.equal(r.detector.state?.dominant, 'b');
    r.run(300, { b: SILENT, a: TALKING }); // a cough: 300 ms
    r.run(1500, { b: SILENT, a: SILENT });
    assert.equal(r.detector.state?.dominant, 'b', 'a short burst does not take the floor');
    const start = r.now;
    r.run(400, { b: SILENT, a: speech });
    assert.equal(r.detector.state?.dominant, 'b', 'not after 400 ms of speech: the medium window is not convinced yet');
    r.run(800, { b: SILENT, a: speech });
    const change = r.changes.at(-1)!;
    assert.deepEqual([change.dominant, change.previous, change.silence], ['a', ['b'], false]);
    assert.ok(change.at - start >= 600 && change.at - start <= 1200, `switched ${change.at - start} ms after a started`);
  });

  it('keeps the dominant speaker while both talk alike', () => {
    const r = rig();
    r.run(20, { a: SILENT });
    r.run(3000, { a: speech, b: speech });
    assert.deepEqual(r.changes.map((c) => c.dominant), ['a']);
  });

  it('holds the floor the minimum time before anyone can take it', () => {
    const r = rig({ minHoldMs: 2000 });
    r.run(20, { b: SILENT });
    r.run(1900, { b: SILENT, a: speech });
    assert.equal(r.detector.state?.dominant, 'b', 'a talks from the start but b holds 2 s');
    r.run(600, { b: SILENT, a: speech });
    assert.equal(r.detector.state?.dominant, 'a');
  });

  it('lets the speaker furthest ahead in the medium window win when several qualify at once', () => {
    // One decision per 1.5 s, so both challengers qualify at the same one.
    const r = rig({ decisionIntervalMs: 1500, minHoldMs: 0 });
    r.run(20, { x: SILENT });
    r.run(1500, { x: SILENT, b: (t) => (t % 340 < 200 ? TALKING : 75), a: speech });
    assert.deepEqual(r.changes.map((c) => c.dominant), ['x', 'a']);
  });

  it('turns silence on after three quiet seconds and off when the dominant speaker talks again', () => {
    const r = rig();
    r.run(20, { a: SILENT });
    r.run(1500, { a: speech, b: SILENT });
    r.run(2900, { a: SILENT, b: SILENT });
    assert.equal(r.detector.state?.silence, false, 'under three seconds of quiet');
    r.run(500, { a: SILENT, b: SILENT });
    assert.deepEqual(r.detector.state, { dominant: 'a', previous: [], silence: true });
    r.run(300, { a: SILENT, b: TALKING });
    assert.equal(r.detector.state?.silence, true, 'someone else clearing their throat does not end the silence');
    r.run(700, { a: speech, b: SILENT });
    assert.deepEqual(r.detector.state, { dominant: 'a', previous: [], silence: false });
    assert.deepEqual(r.changes.map((c) => c.silence), [false, true, false]);
  });

  it('ends silence by a switch when somebody else starts talking', () => {
    const r = rig();
    r.run(4000, { a: SILENT, b: SILENT });
    assert.deepEqual(r.detector.state, { dominant: 'a', previous: [], silence: true });
    r.run(1200, { a: SILENT, b: speech });
    assert.deepEqual(r.detector.state, { dominant: 'b', previous: ['a'], silence: false });
  });

  it('keeps previous speakers most recent first, each once, up to the limit', () => {
    const r = rig({ maxPreviousSpeakers: 2, minHoldMs: 0 });
    const quiet = { a: SILENT, b: SILENT, c: SILENT, d: SILENT };
    r.run(20, quiet);
    for (const id of ['b', 'c', 'a', 'd', 'b']) {
      r.run(1500, { ...quiet, [id]: speech });
      r.run(1500, quiet);
    }
    const dominants = r.changes.map((c) => c.dominant).filter((id, i, all) => id !== all[i - 1]);
    assert.deepEqual(dominants, ['a', 'b', 'c', 'a', 'd', 'b']);
    assert.deepEqual(r.detector.state?.previous, ['d', 'a'], 'b is not listed twice, and the list stops at two');
  });

  it('hands the floor to the most recent previous speaker when the dominant one leaves', () => {
    const r = rig({ minHoldMs: 0 });
    r.run(20, { a: SILENT, b: SILENT, c: SILENT });
    r.run(1500, { a: SILENT, b: speech, c: SILENT });
    r.run(1500, { a: SILENT, b: SILENT, c: speech });
    assert.deepEqual(r.detector.state, { dominant: 'c', previous: ['b', 'a'], silence: false });
    assert.equal(r.detector.remove('a'), undefined, 'a previous speaker leaving changes no dominant speaker');
    assert.deepEqual(r.detector.remove('c'), { dominant: 'b', previous: [], silence: false });
    assert.deepEqual(r.detector.remove('b'), undefined, 'nobody left to dominate');
    assert.equal(r.detector.state, undefined);
    assert.equal(r.detector.remove('nobody'), undefined);
  });

  it('learns each microphone\'s noise floor: steady noise stops counting as speech within ten seconds', () => {
    const r = rig({ minHoldMs: 0 });
    r.run(20, { a: SILENT });
    r.run(2000, { a: SILENT, b: 100 }); // b's room at −100 dBov
    r.run(3000, { a: SILENT, b: 60 }); // a fan starts in b's room: −60 dBov passes for speech at first…
    assert.deepEqual(r.detector.state, { dominant: 'b', previous: ['a'], silence: false });
    r.run(12_000, { a: SILENT, b: 60 }); // …until the quiet seconds age out of b's floor
    assert.deepEqual(r.detector.state, { dominant: 'b', previous: ['a'], silence: true });
    r.run(1500, { a: speech, b: 60 });
    assert.deepEqual(r.detector.state, { dominant: 'a', previous: ['b'], silence: false });
  });

  it('takes a steady noise never quieter than −50 dBov for speech, and a steady −60 dBov for noise', () => {
    const r = rig({ minHoldMs: 0 });
    r.run(20, { a: SILENT });
    r.run(1500, { a: SILENT, loud: 35, hum: 60 });
    assert.equal(r.detector.state?.dominant, 'loud');
  });

  it('is not moved by a flood of packets nor by out-of-range octets', () => {
    const r = rig({ minHoldMs: 0 });
    r.run(1000, { a: SILENT });
    // 1000 packets in the same millisecond from b cover no time at all.
    for (let i = 0; i < 1000; i++) r.detector.levelReceived('b', TALKING);
    assert.equal(r.detector.decide(), undefined);
    assert.equal(r.detector.state?.dominant, 'a');
    r.detector.levelReceived('c', 0xffff);
    assert.equal(r.detector.state?.dominant, 'a');
  });
});
