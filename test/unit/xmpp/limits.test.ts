import assert from 'node:assert/strict';
import { AddressLimiter, ReadRateLimiter } from '../../../xmpp/limits.ts';

describe('xmpp/limits', () => {
  describe('ReadRateLimiter (token bucket over bytes read)', () => {
    let now: number;
    const clock = () => now;
    /** 1000 bytes/s with a 4000-byte burst, unless said otherwise. */
    const limiter = (rate = 1000, burst = 4000) => new ReadRateLimiter(rate, burst, clock);

    beforeEach(() => {
      now = 1_000_000;
    });

    it('lets a full burst through without pausing', () => {
      const l = limiter();
      assert.equal(l.take(1000), 0);
      assert.equal(l.take(3000), 0);
    });

    it('asks for a pause as soon as the burst is spent, long enough to earn the deficit back', () => {
      const l = limiter();
      assert.equal(l.take(4000), 0);
      assert.equal(l.take(1), 1, '1 byte at 1000 B/s is 1 ms');
      assert.equal(l.take(499), 500, '500 bytes of deficit is 500 ms');
    });

    it('pauses for the whole deficit of one large read', () => {
      assert.equal(limiter().take(6000), 2000);
    });

    it('rounds a partial millisecond up', () => {
      const l = limiter(3000, 1000);
      assert.equal(l.take(1001), 1, '1 byte at 3000 B/s is a third of a millisecond');
    });

    it('refills at the configured rate', () => {
      const l = limiter();
      l.take(4000);
      now += 500;
      assert.equal(l.take(500), 0, 'half a second earned 500 bytes');
      assert.equal(l.take(1), 1);
    });

    it('pays a pause back: after waiting the pause the deficit is gone', () => {
      const l = limiter();
      const pause = l.take(6000);
      now += pause;
      assert.equal(l.take(0), 0);
      assert.equal(l.take(1), 1, 'nothing more than the deficit was earned');
    });

    it('never refills beyond the burst, however long the connection was idle', () => {
      const l = limiter();
      l.take(4000);
      now += 3_600_000;
      assert.equal(l.take(4000), 0);
      assert.equal(l.take(1), 1);
    });

    it('reads the injected clock, not the wall clock', () => {
      const l = limiter();
      l.take(4000);
      assert.equal(l.take(1000), 1000, 'without the clock moving nothing is refilled');
    });
  });

  describe('AddressLimiter (connections per remote address)', () => {
    it('admits connections until the unauthenticated cap and then refuses', () => {
      const limits = new AddressLimiter(10, 2);
      assert.equal(limits.admit('192.0.2.1'), undefined);
      assert.equal(limits.admit('192.0.2.1'), undefined);
      assert.equal(limits.admit('192.0.2.1'), 'too-many-unauthenticated');
    });

    it('frees an unauthenticated slot when a connection authenticates', () => {
      const limits = new AddressLimiter(10, 1);
      assert.equal(limits.admit('192.0.2.1'), undefined);
      assert.equal(limits.admit('192.0.2.1'), 'too-many-unauthenticated');
      limits.authenticated('192.0.2.1');
      assert.equal(limits.admit('192.0.2.1'), undefined);
    });

    it('caps all connections of an address, authenticated or not', () => {
      const limits = new AddressLimiter(2, 2);
      assert.equal(limits.admit('192.0.2.1'), undefined);
      limits.authenticated('192.0.2.1');
      assert.equal(limits.admit('192.0.2.1'), undefined);
      limits.authenticated('192.0.2.1');
      assert.equal(limits.admit('192.0.2.1'), 'too-many-connections');
    });

    it('reports too-many-connections before too-many-unauthenticated', () => {
      const limits = new AddressLimiter(1, 1);
      assert.equal(limits.admit('192.0.2.1'), undefined);
      assert.equal(limits.admit('192.0.2.1'), 'too-many-connections');
    });

    it('counts each address on its own', () => {
      const limits = new AddressLimiter(1, 1);
      assert.equal(limits.admit('192.0.2.1'), undefined);
      assert.equal(limits.admit('192.0.2.2'), undefined);
      assert.equal(limits.admit('2001:db8::1'), undefined);
      assert.equal(limits.trackedAddresses, 3);
    });

    it('frees both counts when an unauthenticated connection is released', () => {
      const limits = new AddressLimiter(1, 1);
      limits.admit('192.0.2.1');
      limits.release('192.0.2.1', false);
      assert.equal(limits.admit('192.0.2.1'), undefined);
    });

    it('frees only the connection count when an authenticated connection is released', () => {
      const limits = new AddressLimiter(2, 1);
      limits.admit('192.0.2.1');
      limits.authenticated('192.0.2.1');
      limits.admit('192.0.2.1'); // still unauthenticated
      limits.release('192.0.2.1', true);
      assert.equal(limits.admit('192.0.2.1'), 'too-many-unauthenticated', 'the other connection still holds the only slot');
    });

    it('forgets an address once its last connection is released', () => {
      const limits = new AddressLimiter(5, 5);
      limits.admit('192.0.2.1');
      limits.admit('192.0.2.1');
      limits.authenticated('192.0.2.1');
      limits.release('192.0.2.1', true);
      limits.release('192.0.2.1', false);
      assert.equal(limits.trackedAddresses, 0);
    });

    it('does not admit a refused connection (a refusal needs no release)', () => {
      const limits = new AddressLimiter(1, 1);
      limits.admit('192.0.2.1');
      limits.admit('192.0.2.1');
      limits.release('192.0.2.1', false);
      assert.equal(limits.trackedAddresses, 0);
    });

    it('counts sessions apart from connections: an address whose connections are gone keeps its sessions counted', () => {
      const limits = new AddressLimiter(2, 2);
      limits.admit('192.0.2.1');
      limits.authenticated('192.0.2.1');
      assert.equal(limits.addSession('192.0.2.1'), true);
      limits.release('192.0.2.1', true);
      assert.equal(limits.trackedAddresses, 1, 'the session still counts');
      assert.equal(limits.addSession('192.0.2.1'), true);
      assert.equal(limits.addSession('192.0.2.1'), false);
      assert.equal(limits.admit('192.0.2.1'), undefined, 'connections have their own count');
    });

    it('moves a session within its address without a slot of its own, and to another address only when it has room', () => {
      const limits = new AddressLimiter(1, 1);
      limits.addSession('192.0.2.1');
      assert.equal(limits.moveSession('192.0.2.1', '192.0.2.1'), true, 'a full address resumes its own session');
      limits.addSession('192.0.2.2');
      assert.equal(limits.moveSession('192.0.2.1', '192.0.2.2'), false);
      limits.removeSession('192.0.2.2');
      assert.equal(limits.moveSession('192.0.2.1', '192.0.2.2'), true);
      assert.equal(limits.addSession('192.0.2.1'), true, 'the session left its first address');
      assert.equal(limits.addSession('192.0.2.2'), false);
    });

    it('forgets an address once its last session is removed', () => {
      const limits = new AddressLimiter(5, 5);
      limits.addSession('192.0.2.1');
      limits.moveSession('192.0.2.1', '192.0.2.2');
      assert.equal(limits.trackedAddresses, 1);
      limits.removeSession('192.0.2.2');
      assert.equal(limits.trackedAddresses, 0);
    });
  });
});
