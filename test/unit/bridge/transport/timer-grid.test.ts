import assert from 'node:assert/strict';
import { GRID_RUN_BUDGET_MS, TimerGrid, type Clock } from '../../../../bridge/transport/clock.ts';
import { ManualClock } from './manual-clock.ts';

describe('bridge/transport/clock TimerGrid', () => {
  it('fires each timer at the first multiple of its alignment at or after its due time, all of one instant from one clock timer', () => {
    const clock = new ManualClock();
    const grid = new TimerGrid(clock);
    const fired: Array<[string, number]> = [];
    clock.advance(3);
    grid.setTimeout(() => fired.push(['a', clock.now()]), 10, 5); // due 13: fires at 15
    clock.advance(2);
    grid.setTimeout(() => fired.push(['b', clock.now()]), 10, 5); // due 15: fires at 15
    grid.setTimeout(() => fired.push(['c', clock.now()]), 25, 50); // due 30: fires at 50
    grid.setTimeout(() => fired.push(['d', clock.now()]), 45, 5); // due 50: fires at 50
    assert.equal(grid.pending, 4);
    assert.equal(clock.pending, 2, 'one clock timer per instant (15 and 50), not one per timer');
    assert.equal(grid.instant(10, 5), 15);
    assert.equal(grid.instant(0, 5), 5, 'an instant on the grid is its own first multiple');
    clock.advance(100);
    assert.deepEqual(fired, [['a', 15], ['b', 15], ['c', 50], ['d', 50]]);
    assert.equal(grid.pending, 0);
    assert.equal(clock.pending, 0);
  });

  it('cancels one timer of an instant and leaves the others; the last one cancelled takes the clock timer with it', () => {
    const clock = new ManualClock();
    const grid = new TimerGrid(clock);
    const fired: string[] = [];
    const cancelA = grid.setTimeout(() => fired.push('a'), 10, 10);
    const cancelB = grid.setTimeout(() => fired.push('b'), 10, 10);
    cancelA();
    cancelA(); // idempotent
    assert.equal(grid.pending, 1);
    assert.equal(clock.pending, 1);
    clock.advance(10);
    assert.deepEqual(fired, ['b']);
    cancelB(); // after it ran: nothing
    const cancelC = grid.setTimeout(() => fired.push('c'), 10, 10);
    assert.equal(clock.pending, 1);
    cancelC();
    assert.equal(clock.pending, 0, 'no clock timer left for an instant without timers');
    assert.equal(grid.pending, 0);
    clock.advance(50);
    assert.deepEqual(fired, ['b']);
  });

  it('runs the rest of an instant when one timer throws, and throws its error after them; one cancelled by another of its instant does not run', () => {
    const clock = new ManualClock();
    const grid = new TimerGrid(clock);
    const fired: string[] = [];
    grid.setTimeout(() => {
      fired.push('a');
      cancelC();
    }, 5, 5);
    grid.setTimeout(() => {
      fired.push('b');
      throw new Error('b failed');
    }, 5, 5);
    const cancelC = grid.setTimeout(() => fired.push('c'), 5, 5);
    grid.setTimeout(() => fired.push('d'), 5, 5);
    assert.throws(() => clock.advance(5), /b failed/);
    assert.deepEqual(fired, ['a', 'b', 'd']);
    assert.equal(grid.pending, 0);
  });

  it('a timer armed while its instant runs, for that same instant, runs too (not lost with the instant)', () => {
    const clock = new ManualClock();
    const grid = new TimerGrid(clock);
    const fired: Array<[string, number]> = [];
    grid.setTimeout(() => {
      fired.push(['a', clock.now()]);
      grid.setTimeout(() => fired.push(['again', clock.now()]), 0, 10);
      grid.setTimeout(() => fired.push(['next', clock.now()]), 1, 10);
    }, 10, 10);
    clock.advance(30);
    assert.deepEqual(fired, [['a', 10], ['again', 10], ['next', 20]]);
  });

  it('on a clock with fractions of a millisecond (performance.now()), arms its clock timer for whole milliseconds, never before the instant', () => {
    const clock = new ManualClock();
    const grid = new TimerGrid(clock);
    let firedAt = -1;
    clock.advance(2.3);
    grid.setTimeout(() => (firedAt = clock.now()), 10, 5); // due 12.3: the instant is 15
    clock.advance(15 - 2.3 - 0.01);
    assert.equal(firedAt, -1);
    clock.advance(1);
    assert.ok(Math.abs(firedAt - 15.3) < 1e-9, `fired at ${firedAt}: 13 whole milliseconds after it was armed`);
  });

  describe('on a clock that can yield to the event loop (setImmediate)', () => {
    /** A manual clock whose timers take time: each one run moves it on by `cost` ms; immediates wait for runImmediates(). */
    class YieldingClock extends ManualClock implements Clock {
      readonly immediates = new Set<() => void>();
      #extra = 0;

      override now(): number {
        return super.now() + this.#extra;
      }

      spend(ms: number): void {
        this.#extra += ms;
      }

      setImmediate(fn: () => void): () => void {
        const entry = (): void => fn();
        this.immediates.add(entry);
        return () => {
          this.immediates.delete(entry);
        };
      }

      runImmediates(): void {
        const due = [...this.immediates];
        this.immediates.clear();
        for (const fn of due) fn();
      }
    }

    it('runs an instant\'s timers until they took the budget, and the rest, in the order armed, once the loop polled', () => {
      const clock = new YieldingClock();
      const grid = new TimerGrid(clock);
      const fired: string[] = [];
      const cost = GRID_RUN_BUDGET_MS * 0.6;
      for (const name of ['a', 'b', 'c', 'd', 'e']) grid.setTimeout(() => {
        fired.push(name);
        clock.spend(cost);
      }, 10, 10);
      clock.advance(10);
      assert.deepEqual(fired, ['a', 'b'], 'the second one took the run past its budget');
      assert.equal(grid.pending, 3);
      assert.equal(clock.immediates.size, 1, 'one continuation');
      clock.runImmediates();
      assert.deepEqual(fired, ['a', 'b', 'c', 'd']);
      clock.runImmediates();
      assert.deepEqual(fired, ['a', 'b', 'c', 'd', 'e']);
      assert.equal(grid.pending, 0);
      assert.equal(clock.immediates.size, 0);
    });

    it('cancels a timer left for after the yield; the last one cancelled takes the continuation with it', () => {
      const clock = new YieldingClock();
      const grid = new TimerGrid(clock);
      const fired: string[] = [];
      grid.setTimeout(() => {
        fired.push('a');
        clock.spend(GRID_RUN_BUDGET_MS);
      }, 10, 10);
      const cancelB = grid.setTimeout(() => fired.push('b'), 10, 10);
      const cancelC = grid.setTimeout(() => fired.push('c'), 10, 10);
      clock.advance(10);
      assert.deepEqual(fired, ['a']);
      cancelB();
      assert.equal(grid.pending, 1);
      assert.equal(clock.immediates.size, 1);
      cancelC();
      assert.equal(grid.pending, 0);
      assert.equal(clock.immediates.size, 0, 'nothing left to run: the continuation is cancelled');
      clock.runImmediates();
      assert.deepEqual(fired, ['a']);
    });

    it('throws the error of a timer of the first turn after that turn, and still runs the rest after the yield', () => {
      const clock = new YieldingClock();
      const grid = new TimerGrid(clock);
      const fired: string[] = [];
      grid.setTimeout(() => {
        fired.push('a');
        clock.spend(GRID_RUN_BUDGET_MS);
        throw new Error('a failed');
      }, 10, 10);
      grid.setTimeout(() => fired.push('b'), 10, 10);
      assert.throws(() => clock.advance(10), /a failed/);
      assert.deepEqual(fired, ['a']);
      clock.runImmediates();
      assert.deepEqual(fired, ['a', 'b']);
      assert.equal(grid.pending, 0);
    });
  });
});
