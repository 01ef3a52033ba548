import assert from 'node:assert/strict';
import { RestartRequestLimit } from '../../../focus/restart-requests.ts';

describe('focus/restart-requests (Jicofo restart-request-rate-limits)', () => {
  let now: number;
  const limit = () => new RestartRequestLimit({ now: () => now });

  beforeEach(() => {
    now = 1_000_000;
  });

  it('accepts the first restart and refuses the next until 5 s after it', () => {
    const l = limit();
    assert.equal(l.accept(), true);
    now += 4_999;
    assert.equal(l.accept(), false);
    now += 1;
    assert.equal(l.accept(), true);
  });

  it('refuses a sixth restart within a minute of the first, and accepts it once the first is over a minute old', () => {
    const l = limit();
    const start = now;
    for (let i = 0; i < 5; i++) {
      assert.equal(l.accept(), true, `restart ${i + 1} at ${(now - start) / 1000} s`);
      now += 5_000;
    }
    now = start + 60_000;
    assert.equal(l.accept(), false, 'five in the last minute (the first exactly 60 s ago still counts)');
    now = start + 60_001;
    assert.equal(l.accept(), true);
  });

  it('does not count refused requests: a participant asking every second gets a restart every 5 s', () => {
    const l = limit();
    const accepted: number[] = [];
    for (let second = 0; second < 20; second++) {
      if (l.accept()) accepted.push(second);
      now += 1_000;
    }
    assert.deepEqual(accepted, [0, 5, 10, 15]);
  });

  it('tells how long until a restart would be accepted: the first time accept() says yes', () => {
    const l = limit();
    assert.equal(l.waitMs(), 0);
    for (let i = 0; i < 40; i++) {
      const wait = l.waitMs();
      if (wait > 0) {
        now += wait - 1;
        assert.equal(l.accept(), false, `1 ms before the wait (${wait} ms) is over`);
        now += 1;
      }
      assert.equal(l.accept(), true, `restart ${i + 1} once the wait (${wait} ms) is over`);
      now += 1_000 * (i % 3);
    }
    assert.equal(new RestartRequestLimit({ maxRequests: 0, now: () => now }).waitMs(), Number.POSITIVE_INFINITY);
  });

  it('follows the limits it is given', () => {
    const l = new RestartRequestLimit({ minIntervalMs: 0, maxRequests: 2, intervalMs: 1_000, now: () => now });
    assert.deepEqual([l.accept(), l.accept(), l.accept()], [true, true, false]);
    now += 1_001;
    assert.equal(l.accept(), true);
  });
});
