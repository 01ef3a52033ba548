import assert from 'node:assert/strict';
import { StanzaError } from '../../../xmpp/errors.ts';
import { ADDRESS_CREATION_FACTOR, ConferenceRequestLimiter, TOO_MANY_REQUESTS_TEXT, TOO_MANY_ROOMS_TEXT } from '../../../focus/request-limits.ts';

describe('focus/request-limits', () => {
  let now: number;
  const clock = () => now;
  const limiter = () => new ConferenceRequestLimiter({ burst: 10, windowSeconds: 10, roomCreationsPerMinute: 5, now: clock });
  const refusedWith = (text: string) => (err: unknown) =>
    err instanceof StanzaError && err.type === 'wait' && err.condition === 'resource-constraint' && err.text === text;

  beforeEach(() => {
    now = 5_000_000;
  });

  it('answers the 11th request of a burst with resource-constraint, another session still passes', () => {
    const l = limiter();
    for (let i = 0; i < 10; i++) l.request('a@guest.meet.jitsi/r1');
    assert.throws(() => l.request('a@guest.meet.jitsi/r1'), refusedWith(TOO_MANY_REQUESTS_TEXT));
    l.request('a@guest.meet.jitsi/r2');
    now += 1_000;
    l.request('a@guest.meet.jitsi/r1');
  });

  it('keeps the client retrying every second (not ready) or every 5 s (waiting for the host) under the limit', () => {
    const l = limiter();
    for (let i = 0; i < 120; i++) {
      l.request('guest@guest.meet.jitsi/1');
      now += 1_000;
    }
    for (let i = 0; i < 5; i++) l.request('guest@guest.meet.jitsi/1');
    for (let i = 0; i < 24; i++) {
      l.request('waiting@guest.meet.jitsi/1');
      now += 5_000;
    }
  });

  it('counts new rooms per address too, when it is known: a new anonymous login each time does not reset them', () => {
    const l = new ConferenceRequestLimiter({ burst: 10, windowSeconds: 10, roomCreationsPerMinute: 5, now: clock, addressOf: (jid) => (jid.includes('other') ? '192.0.2.2' : '192.0.2.1') });
    let created = 0;
    for (let login = 0; login < 20; login++) {
      for (let i = 0; i < 5; i++) {
        try {
          l.creation(`user${login}@guest.meet.jitsi/r`);
          created++;
        } catch (err) {
          assert.ok(refusedWith(TOO_MANY_ROOMS_TEXT)(err));
        }
      }
    }
    assert.equal(created, 5 * ADDRESS_CREATION_FACTOR, 'an address\'s allowance over all its logins');
    l.creation('other@guest.meet.jitsi/r');
    now += 60_000;
    l.creation('user99@guest.meet.jitsi/r');
  });

  it('lets one user bring 5 rooms into being per minute, across its sessions', () => {
    const l = limiter();
    for (let i = 0; i < 5; i++) l.creation(`agent@meet.jitsi/s${i}`);
    assert.throws(() => l.creation('agent@meet.jitsi/s9'), refusedWith(TOO_MANY_ROOMS_TEXT));
    l.creation('other@meet.jitsi/s1');
    now += 12_000;
    l.creation('agent@meet.jitsi/s9');
    assert.throws(() => l.creation('agent@meet.jitsi/s9'), refusedWith(TOO_MANY_ROOMS_TEXT));
  });
});
