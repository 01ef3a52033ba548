import assert from 'node:assert/strict';
import { AuthenticationSessions } from '../../../focus/auth-sessions.ts';
import { StanzaError } from '../../../xmpp/errors.ts';

const invalid = (err: unknown): boolean =>
  err instanceof StanzaError && err.condition === 'not-acceptable' && err.application?.name === 'session-invalid';

describe('focus authentication sessions (secure-domain login)', () => {
  it('opens a session for an account, vouches for the JIDs that present it, and refuses other machines and unknown ids', () => {
    const sessions = new AuthenticationSessions();
    assert.equal(sessions.authenticate('guest1@guest/x', undefined, undefined, 'm1'), undefined, 'a guest without a session is a guest');
    const opened = sessions.authenticate('alice@meet/a', 'alice@meet', undefined, 'm1')!;
    assert.equal(opened.identity, 'alice@meet');
    assert.equal(sessions.identityOf('alice@meet/a'), 'alice@meet');
    assert.equal(sessions.identityOf('guest1@guest/x'), undefined);
    assert.equal(sessions.authenticate('guest1@guest/x', undefined, opened.id, 'm1'), opened);
    assert.equal(sessions.identityOf('guest1@guest/x'), 'alice@meet');
    assert.throws(() => sessions.authenticate('guest2@guest/y', undefined, opened.id, 'm2'), /machine UID mismatch/);
    assert.throws(() => sessions.authenticate('guest2@guest/y', undefined, opened.id, undefined), /machine UID mismatch/);
    assert.throws(() => sessions.authenticate('guest2@guest/y', undefined, 'nope', 'm1'), invalid);
    assert.throws(() => sessions.authenticate('bob@meet/b', 'bob@meet', opened.id, 'm1'), invalid, "an account cannot take another's session");
    assert.throws(() => sessions.authenticate('alice@meet/a', 'alice@meet', undefined, undefined), /machine-uid/);
    assert.equal(sessions.identityOf('guest2@guest/y'), undefined);
  });

  it('keeps one session per account and browser', () => {
    const sessions = new AuthenticationSessions();
    const first = sessions.authenticate('alice@meet/a', 'alice@meet', undefined, 'm1')!;
    assert.equal(sessions.authenticate('alice@meet/b', 'alice@meet', undefined, 'm1'), first, 'the same browser asks again');
    assert.notEqual(sessions.authenticate('alice@meet/c', 'alice@meet', undefined, 'm2'), first, 'another browser gets its own');
    assert.equal(sessions.size, 2);
    sessions.logout('alice@meet/a', first.id);
    assert.notEqual(sessions.authenticate('alice@meet/a', 'alice@meet', undefined, 'm1'), first, 'a new one after logout');
  });

  it('forgets a session after its lifetime without use, and the least recently used beyond the cap', () => {
    let now = 1_000_000;
    const sessions = new AuthenticationSessions({ lifetimeMs: 60_000, maxSessions: 2, now: () => now });
    const a = sessions.authenticate('a@d/1', 'a@d', undefined, 'm')!;
    now += 30_000;
    const b = sessions.authenticate('b@d/1', 'b@d', undefined, 'm')!;
    now += 20_000;
    sessions.authenticate('g@guest/1', undefined, a.id, 'm'); // a used again: b is now the oldest
    sessions.authenticate('c@d/1', 'c@d', undefined, 'm');
    assert.equal(sessions.size, 2);
    assert.throws(() => sessions.authenticate('g@guest/2', undefined, b.id, 'm'), invalid, 'b went first');
    assert.equal(sessions.identityOf('b@d/1'), undefined);
    now += 61_000;
    assert.equal(sessions.identityOf('g@guest/1'), undefined, 'a expired');
    assert.throws(() => sessions.authenticate('g@guest/1', undefined, a.id, 'm'), invalid);
    assert.equal(sessions.size, 0);
  });

  it('vouches for a bounded number of JIDs per session, and logs out only for them or the account', () => {
    const sessions = new AuthenticationSessions({ maxJidsPerSession: 2 });
    const s = sessions.authenticate('alice@meet/a', 'alice@meet', undefined, 'm')!;
    sessions.authenticate('g@guest/1', undefined, s.id, 'm');
    sessions.authenticate('g@guest/2', undefined, s.id, 'm');
    assert.equal(sessions.identityOf('alice@meet/a'), undefined, 'the oldest JID was dropped');
    assert.equal(sessions.identityOf('g@guest/2'), 'alice@meet');
    assert.throws(() => sessions.logout('mallory@guest/9', s.id), (e: unknown) => e instanceof StanzaError && e.condition === 'forbidden');
    sessions.logout('alice@meet/other', s.id);
    assert.equal(sessions.identityOf('g@guest/1'), undefined);
    assert.throws(() => sessions.logout('g@guest/1', s.id), invalid);
  });
});
