import assert from 'node:assert/strict';
import { allocateBandwidth, type AllocationSource } from '../../../bridge/bandwidth-allocation.ts';

/** Chrome-like simulcast: 180p 150 kbps, 360p 500 kbps, 720p 1.5 Mbps. */
const layers = [{ height: 180, bitrate: 150_000 }, { height: 360, bitrate: 500_000 }, { height: 720, bitrate: 1_500_000 }];
const source = (name: string, wantedHeight: number, l = layers): AllocationSource => ({ name, wantedHeight, layers: l });

describe('bandwidth allocation', () => {
  it('gives the on-stage source its wanted layer when the budget allows, the others their lowest', () => {
    const caps = allocateBandwidth(2_000_000, [source('stage', 720), source('b', 180), source('c', 180)]);
    assert.deepEqual([...caps], [['stage', 720], ['b', 180], ['c', 180]]);
  });

  it('steps the on-stage source down as the estimate falls, and never below its lowest layer', () => {
    const others = [source('b', 180), source('c', 180)];
    assert.equal(allocateBandwidth(1_400_000, [source('stage', 720), ...others]).get('stage'), 360, '1.4 Mbps: 720p does not fit after the others\' 180p');
    assert.equal(allocateBandwidth(600_000, [source('stage', 720), ...others]).get('stage'), 180, '600 kbps: 360p does not fit either');
    assert.equal(allocateBandwidth(50_000, [source('stage', 720), ...others]).get('stage'), 180, 'starved: the lowest layer still');
  });

  it('serves sources in rank order: the first goes up before the second', () => {
    const caps = allocateBandwidth(900_000, [source('first', 720), source('second', 720)]);
    assert.deepEqual([...caps], [['first', 360], ['second', 180]], '150+150 then +350 for the first\'s 360p; the second\'s 360p (+350) no longer fits');
  });

  it('never goes above the wanted height, and uses unmeasured layers freely', () => {
    assert.equal(allocateBandwidth(10_000_000, [source('a', 360)]).get('a'), 360);
    const unmeasured = layers.map((l) => ({ ...l, bitrate: 0 }));
    assert.equal(allocateBandwidth(0, [source('a', 720, unmeasured)]).get('a'), 720);
  });

  it('leaves out sources with no layer arriving', () => {
    assert.deepEqual([...allocateBandwidth(1_000_000, [source('a', 720, []), source('b', 180)])], [['b', 180]]);
  });
});
