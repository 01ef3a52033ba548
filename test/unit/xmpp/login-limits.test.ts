import assert from 'node:assert/strict';
import type { AccountStore } from '../../../xmpp/accounts.ts';
import { KeyedRateLimiter } from '../../../xmpp/keyed-rate-limiter.ts';
import { LoginLimiter } from '../../../xmpp/login-limits.ts';
import { SaslFailure, type SaslContext } from '../../../xmpp/sasl/mechanism.ts';
import { PlainMechanism } from '../../../xmpp/sasl/plain.ts';
import { ScramMechanism } from '../../../xmpp/sasl/scram.ts';

describe('xmpp/login-limits', () => {
  let now: number;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000_000;
  });

  describe('KeyedRateLimiter', () => {
    it('lets a burst through, then refuses without spending until one event is earned back', () => {
      const l = new KeyedRateLimiter({ burst: 3, refillSeconds: 30, now: clock });
      assert.equal(l.tryTake('a'), 0);
      assert.equal(l.tryTake('a'), 0);
      assert.equal(l.tryTake('a'), 0);
      assert.equal(l.tryTake('a'), 10_000, 'one event every 10 s');
      now += 4_000;
      assert.equal(l.tryTake('a'), 6_000, 'a refused try spent nothing');
      now += 6_000;
      assert.equal(l.tryTake('a'), 0);
      assert.equal(l.tryTake('b'), 0, 'another key has its own bucket');
    });

    it('counts spending past the budget, so parallel attempts all cost', () => {
      const l = new KeyedRateLimiter({ burst: 2, refillSeconds: 20, now: clock });
      for (let i = 0; i < 4; i++) l.spend('a');
      assert.equal(l.wait('a'), 30_000, 'two events of debt plus one to spend');
    });

    it('forgets full buckets first, then the oldest, beyond maxKeys', () => {
      const l = new KeyedRateLimiter({ burst: 1, refillSeconds: 10, maxKeys: 3, now: clock });
      l.spend('old');
      now += 10_000; // 'old' is full again
      l.spend('x');
      l.spend('y');
      l.spend('z');
      assert.equal(l.trackedKeys, 3);
      assert.equal(l.wait('old'), 0, 'the full bucket went first');
      assert.ok(l.wait('x') > 0 && l.wait('z') > 0);
      l.spend('w');
      assert.equal(l.trackedKeys, 3);
      assert.equal(l.wait('x'), 0, 'then the oldest');
      assert.ok(l.wait('w') > 0);
    });
  });

  describe('LoginLimiter', () => {
    const limiter = () => new LoginLimiter({ failuresPerAccount: 5, failuresPerAddress: 20, windowSeconds: 300, now: clock });

    it('refuses an account after 5 failures with temporary-auth-failure and the wait, other accounts still try', () => {
      const l = limiter();
      for (let i = 0; i < 5; i++) {
        assert.equal(l.refusal('192.0.2.1', 'alice@meet.jitsi'), undefined, `attempt ${i + 1} is checked`);
        l.failed('192.0.2.1', 'alice@meet.jitsi');
      }
      const refusal = l.refusal('192.0.2.9', 'alice@meet.jitsi');
      assert.equal(refusal?.condition, 'temporary-auth-failure');
      assert.equal(refusal?.text, 'too many failed logins; try again in 60 s');
      assert.equal(l.refusal('192.0.2.1', 'bob@meet.jitsi'), undefined);
      assert.equal(l.refusal('192.0.2.1'), undefined, 'the address is under its own limit');
    });

    it('lets the account try again once the window has given an attempt back', () => {
      const l = limiter();
      for (let i = 0; i < 5; i++) l.failed('192.0.2.1', 'alice@meet.jitsi');
      now += 59_000;
      assert.equal(l.refusal('192.0.2.1', 'alice@meet.jitsi')?.text, 'too many failed logins; try again in 1 s');
      now += 1_000;
      assert.equal(l.refusal('192.0.2.1', 'alice@meet.jitsi'), undefined);
      now += 300_000;
      assert.equal(l.trackedKeys.accounts, 1);
    });

    it('forgets the account\'s failures on a successful login', () => {
      const l = limiter();
      for (let i = 0; i < 4; i++) l.failed('192.0.2.1', 'alice@meet.jitsi');
      l.succeeded('alice@meet.jitsi');
      for (let i = 0; i < 4; i++) l.failed('192.0.2.1', 'alice@meet.jitsi');
      assert.equal(l.refusal('192.0.2.1', 'alice@meet.jitsi'), undefined, '4 failures since the success');
      assert.equal(l.trackedKeys.accounts, 1);
    });

    it('refuses an address after 20 failures over any accounts, even for an untouched account', () => {
      const l = limiter();
      for (let i = 0; i < 20; i++) l.failed('192.0.2.1', `user${i}@meet.jitsi`);
      assert.equal(l.refusal('192.0.2.1')?.condition, 'temporary-auth-failure');
      assert.equal(l.refusal('192.0.2.1', 'fresh@meet.jitsi')?.text, 'too many failed logins; try again in 15 s');
      assert.equal(l.refusal('192.0.2.2', 'fresh@meet.jitsi'), undefined, 'another address is unaffected');
    });

    it('counts unknown names against the address only', () => {
      const l = new LoginLimiter({ failuresPerAccount: 1, failuresPerAddress: 2, windowSeconds: 60, now: clock });
      l.failed('192.0.2.1');
      assert.equal(l.trackedKeys.accounts, 0);
      l.failed('192.0.2.1');
      assert.ok(l.refusal('192.0.2.1'));
    });
  });

  describe('the mechanisms ask before checking a password', () => {
    /** An account store that records being consulted: a refused attempt must not reach it. */
    function spyStore(): { store: AccountStore; consulted: string[] } {
      const consulted: string[] = [];
      const store = {
        verifyPassword: (jid: string) => { consulted.push(jid); return Promise.resolve(true); },
        get: (jid: string) => { consulted.push(jid); return undefined; },
      } as unknown as AccountStore;
      return { store, consulted };
    }
    const refusing = (seen: string[]): SaslContext => ({
      domain: 'meet.jitsi', secure: true, remoteAddress: '192.0.2.1', query: new URLSearchParams(),
      admit: (account) => {
        seen.push(account);
        throw new SaslFailure('temporary-auth-failure', 'too many failed logins; try again in 60 s');
      },
    });
    const isRefusal = (err: unknown) => err instanceof SaslFailure && err.condition === 'temporary-auth-failure';

    it('PLAIN refuses with the admit failure and never verifies the password', async () => {
      const { store, consulted } = spyStore();
      const seen: string[] = [];
      await assert.rejects(new PlainMechanism(refusing(seen), store).step(Buffer.from('\u0000Alice\u0000right')), isRefusal);
      assert.deepEqual(seen, ['alice@meet.jitsi']);
      assert.deepEqual(consulted, []);
    });

    it('SCRAM refuses at client-first, before any salt or proof', async () => {
      const { store, consulted } = spyStore();
      const seen: string[] = [];
      await assert.rejects(new ScramMechanism('sha256', refusing(seen), store).step(Buffer.from('n,,n=alice,r=abcdef')), isRefusal);
      assert.deepEqual(seen, ['alice@meet.jitsi']);
      assert.deepEqual(consulted, []);
    });
  });
});
