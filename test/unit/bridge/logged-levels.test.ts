import assert from 'node:assert/strict';
import { LoggedLevels } from '../../../bridge/logged-levels.ts';
import { seededRandom } from '../seeded-random.ts';

describe('bridge/logged-levels LoggedLevels', () => {
  it('orders the levels by arrival, equal arrivals in the order they came, whatever runs they come in', () => {
    const random = seededRandom(7);
    const levels = new LoggedLevels();
    for (const [endpoints, perEndpoint] of [[0, 0], [1, 1], [1, 5], [3, 4], [50, 3], [100, 3], [7, 40]] as const) {
      levels.clear();
      // As a tick reads them: each endpoint's in arrival order, one endpoint after the other; some arrivals equal.
      for (let e = 0; e < endpoints; e++) {
        let arrival = Math.floor(random() * 20);
        for (let k = 0; k < perEndpoint; k++) {
          levels.push(`e${e}`, k, arrival);
          arrival += Math.floor(random() * 3) * 10;
        }
      }
      const expected = Array.from({ length: levels.count }, (_, i) => i).sort((a, b) => levels.arrivals[a]! - levels.arrivals[b]! || a - b);
      assert.deepEqual(levels.sortByArrival().slice(0, levels.count), expected, `${endpoints} endpoints × ${perEndpoint}`);
      // A second sort of the same levels (its arrays swapped since) gives the same order.
      assert.deepEqual(levels.sortByArrival().slice(0, levels.count), expected);
    }
  });

  it('clears the ids it held and starts again from none', () => {
    const levels = new LoggedLevels();
    levels.push('a', 10, 5);
    levels.push('b', 20, 1);
    levels.clear();
    assert.equal(levels.count, 0);
    assert.deepEqual(levels.ids.slice(0, 2), ['', '']);
    levels.push('c', 30, 2);
    assert.deepEqual([...levels.sortByArrival().slice(0, 1)], [0]);
  });
});
