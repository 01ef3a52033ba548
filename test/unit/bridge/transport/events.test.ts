import assert from 'node:assert/strict';
import pino from 'pino';
import { TypedEvents } from '../../../../bridge/transport/events.ts';

interface TestEvents {
  packet: (n: number) => void;
}

describe('bridge/transport/events (TypedEvents)', () => {
  it('calls each listener once per emit, in the order added, however often it was added', () => {
    const events = new TypedEvents<TestEvents>(pino({ level: 'silent' }));
    const calls: string[] = [];
    const a = (n: number): void => void calls.push(`a${n}`);
    const b = (n: number): void => void calls.push(`b${n}`);
    events.on('packet', a);
    events.on('packet', b);
    events.on('packet', a);
    events.emit('packet', 1);
    assert.deepEqual(calls, ['a1', 'b1']);
    assert.equal(events.size, 2);
  });

  it('applies a listener added or removed during an emit from the next emit on', () => {
    const events = new TypedEvents<TestEvents>(pino({ level: 'silent' }));
    const calls: string[] = [];
    const late = (n: number): void => void calls.push(`late${n}`);
    const second = (n: number): void => void calls.push(`second${n}`);
    const first = (n: number): void => {
      calls.push(`first${n}`);
      if (n === 1) {
        events.on('packet', late);
        events.off('packet', second);
      }
    };
    events.on('packet', first);
    events.on('packet', second);
    events.emit('packet', 1);
    events.emit('packet', 2);
    assert.deepEqual(calls, ['first1', 'second1', 'first2', 'late2']);
  });

  it('logs a listener that throws and still calls the others; the remover returned by on() removes', () => {
    const logged: unknown[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const events = new TypedEvents<TestEvents>(log);
    const calls: number[] = [];
    events.on('packet', () => {
      throw new Error('bug');
    });
    const remove = events.on('packet', (n) => void calls.push(n));
    events.emit('packet', 7);
    assert.deepEqual(calls, [7]);
    assert.equal(logged.length, 1);
    assert.match(JSON.stringify(logged[0]), /transport event listener failed/);
    remove();
    events.emit('packet', 8);
    assert.deepEqual(calls, [7]);
    assert.equal(events.size, 1);
    events.clear();
    assert.equal(events.size, 0);
  });
});
