import assert from 'node:assert/strict';
import { allocate, allocateBandwidth, RESUME_MARGIN, type AllocationSource } from '../../../bridge/bandwidth-allocation.ts';

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

  it('suspends the sources whose lowest layer no longer fits, lowest ranked first, never the first one', () => {
    const sources = [source('stage', 720), source('b', 180), source('c', 180)];
    assert.deepEqual([...allocateBandwidth(400_000, sources)], [['stage', 180], ['b', 180], ['c', 0]], '150+150 kbps leave 100: c\'s 150 does not fit');
    assert.deepEqual([...allocateBandwidth(200_000, sources)], [['stage', 180], ['b', 0], ['c', 0]]);
    assert.deepEqual([...allocateBandwidth(0, sources)], [['stage', 180], ['b', 0], ['c', 0]], 'no budget: the first one is still sent, the others not');
    // A cheaper source ranked lower still fits where a dearer one did not.
    const cheap = [{ height: 180, bitrate: 40_000 }];
    assert.deepEqual([...allocateBandwidth(200_000, [source('stage', 720), source('b', 180), source('thin', 180, cheap)])], [['stage', 180], ['b', 0], ['thin', 180]]);
    // The first one with a layer arriving is the one kept: a first-ranked source without one is no vehicle for probing.
    assert.deepEqual([...allocateBandwidth(0, [source('silent', 720, []), source('b', 180), source('c', 180)])], [['b', 180], ['c', 0]]);
  });

  it('takes a suspended source back only when the budget covers its lowest layer with a margin', () => {
    const suspended = (name: string): AllocationSource => ({ ...source(name, 180), suspended: true });
    const edge = 150_000 + 150_000; // exactly the first one's and b's lowest layers
    assert.equal(allocateBandwidth(edge, [source('stage', 720), source('b', 180)]).get('b'), 180, 'b sent so far keeps its layer at the edge');
    assert.equal(allocateBandwidth(edge, [source('stage', 720), suspended('b')]).get('b'), 0, 'b suspended stays so at the edge');
    assert.equal(allocateBandwidth(150_000 + 150_000 * RESUME_MARGIN - 1, [source('stage', 720), suspended('b')]).get('b'), 0);
    assert.equal(allocateBandwidth(150_000 + 150_000 * RESUME_MARGIN, [source('stage', 720), suspended('b')]).get('b'), 180, 'with the margin it comes back');
  });

  it('counts a suspended source in what the receiver would take (so it is probed) but not in what it is sent', () => {
    const result = allocate(200_000, [source('stage', 720), source('b', 360)]);
    assert.deepEqual([...result.caps], [['stage', 180], ['b', 0]]);
    assert.equal(result.allocatedBps, 150_000);
    assert.equal(result.idealBps, 1_500_000 + 500_000);
  });

  it('serves sources in rank order: the first goes up before the second', () => {
    const caps = allocateBandwidth(900_000, [source('first', 720), source('second', 720)]);
    assert.deepEqual([...caps], [['first', 360], ['second', 180]], '150+150 then +350 for the first\'s 360p; the second\'s 360p (+350) no longer fits');
  });

  it('never goes above the wanted height, and uses unmeasured layers freely', () => {
    assert.equal(allocateBandwidth(10_000_000, [source('a', 360)]).get('a'), 360);
    const unmeasured = layers.map((l) => ({ ...l, bitrate: 0 }));
    assert.equal(allocateBandwidth(0, [source('a', 720, unmeasured)]).get('a'), 720);
    assert.equal(allocateBandwidth(0, [source('a', 180), source('b', 720, unmeasured)]).get('b'), 720, 'not suspended either, with the budget spent');
  });

  it('leaves out a layer not measured yet while another layer of the source is, whatever the budget', () => {
    const tallUnmeasured = [layers[0]!, layers[1]!, { height: 720, bitrate: 0 }];
    assert.equal(allocateBandwidth(10_000_000, [source('a', 720, tallUnmeasured)]).get('a'), 360, 'not 720p: its cost is unknown');
    assert.equal(allocateBandwidth(300_000, [source('a', 720, tallUnmeasured)]).get('a'), 180, 'and not for free on a thin budget');
    const lowUnmeasured = [{ height: 180, bitrate: 0 }, layers[1]!, layers[2]!];
    assert.equal(allocateBandwidth(100_000, [source('a', 720, lowUnmeasured)]).get('a'), 360, 'the lowest measured layer is the lowest there is');
    assert.deepEqual([...allocateBandwidth(600_000, [source('a', 720), source('b', 720, lowUnmeasured)])], [['a', 360], ['b', 0]], "b's lowest measured layer (500 kbps) does not fit after a's 150: suspended, and a goes up");
  });

  it('leaves out sources with no layer arriving', () => {
    assert.deepEqual([...allocateBandwidth(1_000_000, [source('a', 720, []), source('b', 180)])], [['b', 180]]);
  });
});
