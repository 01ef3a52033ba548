/** The browser client's session restarts: paced as the focus requires, given up when they keep failing. */
import assert from 'node:assert/strict';
import { MIN_RESTART_GAP_MS, RestartPacer } from '../../../web/client/conference/restart-pacer.ts';

describe('web client: session restart pacing', () => {
  it('makes a restart at once, and one due sooner than 5 s after it waits for the rest of the gap', () => {
    const pacer = new RestartPacer();
    assert.equal(pacer.next(1_000), 'now');
    assert.equal(pacer.next(2_500), MIN_RESTART_GAP_MS - 1_500, 'answering the new offer failed 1.5 s later: 3.5 s to wait');
    assert.equal(pacer.next(1_000 + MIN_RESTART_GAP_MS), 'now', 'then it goes');
  });

  it('gives up at the fourth restart within a minute, and counts only the last minute', () => {
    const pacer = new RestartPacer();
    assert.deepEqual([0, 10_000, 20_000].map((t) => pacer.next(t)), ['now', 'now', 'now']);
    assert.equal(pacer.next(30_000), 'give-up');
    const later = new RestartPacer();
    assert.deepEqual([0, 10_000, 20_000, 60_000].map((t) => later.next(t)), ['now', 'now', 'now', 'now'], 'the first one is a minute old');
  });
});
