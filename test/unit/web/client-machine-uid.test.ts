/**
 * The machine-uid of conference requests: 32 random hex digits kept in the browser's storage under
 * Salon's own key, never the stats-id every occupant sees.
 */
import assert from 'node:assert/strict';
import { MACHINE_UID_KEY, storedMachineUid } from '../../../web/client/conference/machine-uid.ts';

class FakeStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

describe('web/client/conference/machine-uid', () => {
  it('makes 32 random hex digits once and remembers them under its own key', () => {
    const storage = new FakeStorage();
    const made = storedMachineUid(() => storage);
    assert.match(made, /^[0-9a-f]{32}$/);
    assert.deepEqual([...storage.items], [[MACHINE_UID_KEY, made]]);
    assert.equal(storedMachineUid(() => storage), made, 'the same id next time');
    assert.notEqual(storedMachineUid(() => new FakeStorage()), made, 'another browser, another id');
  });

  it('replaces a remembered value that is not one of its ids', () => {
    const storage = new FakeStorage();
    storage.setItem(MACHINE_UID_KEY, 'a stats id');
    const made = storedMachineUid(() => storage);
    assert.match(made, /^[0-9a-f]{32}$/);
    assert.equal(storage.getItem(MACHINE_UID_KEY), made);
  });

  it('still gives an id when storage is disabled or refuses to write', () => {
    assert.match(storedMachineUid(() => { throw new DOMException('storage disabled', 'SecurityError'); }), /^[0-9a-f]{32}$/);
    const full = { getItem: () => null, setItem: () => { throw new DOMException('full', 'QuotaExceededError'); } };
    assert.match(storedMachineUid(() => full), /^[0-9a-f]{32}$/);
  });
});
