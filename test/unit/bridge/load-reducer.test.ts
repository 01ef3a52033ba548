import assert from 'node:assert/strict';
import pino from 'pino';
import { LoadReducer } from '../../../bridge/load-reducer.ts';
import { LOAD_THRESHOLD } from '../../../bridge/stats.ts';

/** A reducer fed one busy share per 5 s sample, recording what it applied. */
function rig() {
  const applied: (number | undefined)[] = [];
  const reducer = new LoadReducer({ apply: (height) => applied.push(height), log: pino({ level: 'silent' }) });
  let now = 0;
  const samples = (utilization: number, count = 1) => {
    for (let i = 0; i < count; i++) {
      now += 5000;
      reducer.update(utilization, now);
    }
  };
  return { reducer, applied, samples };
}

describe('bridge/load-reducer', () => {
  it('does nothing below the threshold, however long', () => {
    const r = rig();
    r.samples(LOAD_THRESHOLD - 0.01, 100);
    assert.deepEqual(r.applied, []);
    assert.equal(r.reducer.cameraMaxHeight, undefined);
  });

  it('caps at 360 after two overloaded samples in a row (10 s), at 180 after two more, and no lower; a burst of one sample does nothing', () => {
    const r = rig();
    r.samples(0.3, 3);
    r.samples(0.9);
    r.samples(0.3);
    assert.deepEqual(r.applied, [], 'one busy interval (say, many participants joining at once) is not an overload');
    r.samples(0.9);
    r.samples(0.8);
    assert.deepEqual(r.applied, [360]);
    r.samples(0.9);
    assert.deepEqual(r.applied, [360], 'the cap must show in two whole intervals before the next step');
    r.samples(0.9);
    assert.deepEqual(r.applied, [360, 180]);
    r.samples(1, 20);
    assert.deepEqual(r.applied, [360, 180]);
    assert.equal(r.reducer.cameraMaxHeight, 180);
  });

  it('keeps a steady load capped, and lifts a step once the load times what that step relieved stays under 0.8 of the threshold for a minute', () => {
    const r = rig();
    r.samples(0.9, 4);
    assert.deepEqual(r.applied, [360, 180], '360 was not enough');
    r.samples(0.45, 30);
    assert.deepEqual(r.applied, [360, 180], '180 halved the load: lifting it would overload the bridge again');
    const low = (0.8 * LOAD_THRESHOLD - 0.01) / 2;
    r.samples(low, 11);
    assert.deepEqual(r.applied, [360, 180], 'participants left: 55 s so far');
    r.samples((0.8 * LOAD_THRESHOLD) / 2);
    r.samples(low, 11);
    assert.deepEqual(r.applied, [360, 180], 'a busier sample in between started the minute over');
    r.samples(low);
    assert.deepEqual(r.applied, [360, 180, 360]);
    r.samples(low, 11);
    assert.deepEqual(r.applied, [360, 180, 360], 'the next step waits a minute too (360 relieved nothing measurable: it is judged at face value)');
    r.samples(low);
    assert.deepEqual(r.applied, [360, 180, 360, undefined]);
    assert.equal(r.reducer.cameraMaxHeight, undefined);
  });

  it('goes back down when the lifted cap overloads the bridge again, and learns what the step is worth', () => {
    const r = rig();
    r.samples(1, 2);
    r.samples(0.2);
    assert.deepEqual(r.applied, [360]);
    r.samples(0.2, 20);
    assert.deepEqual(r.applied, [360], 'the step took the busy share from 1 to 0.2, credited as 3 (the most): 0.2 × 3 is not low');
    r.samples(0.1, 12);
    assert.deepEqual(r.applied, [360, undefined], 'the demand was more than the saturated busy share said');
    r.samples(0.9);
    assert.deepEqual(r.applied, [360, undefined], 'two busy intervals in a row, as ever');
    r.samples(0.9);
    assert.deepEqual(r.applied, [360, undefined, 360]);
    r.samples(0.25, 30);
    assert.deepEqual(r.applied, [360, undefined, 360], 'measured again: 0.9 / 0.25, credited as 3 (the most), so 0.25 stays capped');
  });

  it('judges a lift at face value after 10 minutes on a step, in case what the step seemed to relieve was something else', () => {
    const r = rig();
    r.samples(0.9, 2);
    r.samples(0.05);
    r.samples(0.25, 100);
    assert.deepEqual(r.applied, [360], 'a big room ended with the step: 0.25 × 3 is not low, for 8 min 20 s');
    r.samples(0.25, 29);
    assert.deepEqual(r.applied, [360], 'judged at face value from the tenth minute on the step: not a minute of it yet');
    r.samples(0.25);
    assert.deepEqual(r.applied, [360, undefined], 'lifted a minute after that');
  });
});
