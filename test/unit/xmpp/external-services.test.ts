import assert from 'node:assert/strict';
import { StanzaError } from '../../../xmpp/errors.ts';
import { externalServicesFor, turnRestCredentials, type ExternalServiceConfig } from '../../../xmpp/external-services.ts';
import { parseJid } from '../../../xmpp/jid.ts';

const SECRET = 'north-wind-secret';
/** 2026-09-01T12:00:00Z */
const NOW = Date.UTC(2026, 8, 1, 12, 0, 0);
const SERVERS: ExternalServiceConfig[] = [
  { type: 'stun', host: 'turn.example.com', port: 443, transport: 'udp' },
  { type: 'turn', host: 'turn.example.com', port: 443, transport: 'udp' },
  { type: 'turns', host: 'turn.example.com', port: 443, transport: 'tcp' },
];
const DOMAINS = new Set(['meet.jitsi', 'guest.meet.jitsi', 'auth.meet.jitsi']);

describe('xmpp/external-services (XEP-0215 with TURN REST credentials)', () => {
  it('computes the coturn use-auth-secret password of a username', () => {
    // Computed apart from this code:
    //   printf '%s' '1788350400:alice' | openssl dgst -sha1 -hmac 'north-wind-secret' -binary | base64
    assert.deepEqual(turnRestCredentials(SECRET, 'alice', 1_788_350_400), {
      username: '1788350400:alice',
      password: 'vHtBQWeHBquFu2mditOAbTpEufM=',
    });
  });

  it('mints credentials expiring a TTL from now for TURN and TURNS, none for STUN', () => {
    const services = externalServicesFor({ servers: SERVERS, secret: SECRET, ttlSeconds: 86400, domains: DOMAINS, now: () => NOW });
    const [stun, turn, turns] = services(parseJid('alice@meet.jitsi/laptop'));
    assert.deepEqual(stun, { type: 'stun', host: 'turn.example.com', port: 443, transport: 'udp' });
    // The user part is a pseudonym of the bare JID, computed apart:
    //   printf '%s' 'alice@meet.jitsi' | openssl dgst -sha256 -hmac 'north-wind-secret' -binary | base64 | tr '+/' '-_' | tr -d '=' | cut -c1-16
    //   printf '%s' '1788350400:FWRuCsNCDi_xLKtN' | openssl dgst -sha1 -hmac 'north-wind-secret' -binary | base64
    const minted = { username: '1788350400:FWRuCsNCDi_xLKtN', password: 'D1P8xHpZktoNIICtyYBKywPwLtg=', expires: '2026-09-02T12:00:00Z', restricted: true };
    assert.deepEqual(turn, { type: 'turn', host: 'turn.example.com', port: 443, transport: 'udp', ...minted });
    assert.deepEqual(turns, { type: 'turns', host: 'turn.example.com', port: 443, transport: 'tcp', ...minted });
  });

  it('gives the same user part to every resource of an account, and another to another account', () => {
    const services = externalServicesFor({ servers: SERVERS, secret: SECRET, ttlSeconds: 600, domains: DOMAINS, now: () => NOW });
    const user = (jid: string) => services(parseJid(jid))[1]!.username!.split(':')[1];
    assert.equal(user('alice@meet.jitsi/a'), user('alice@meet.jitsi/b'));
    assert.notEqual(user('alice@meet.jitsi/a'), user('bob@meet.jitsi/a'));
    assert.doesNotMatch(user('alice@meet.jitsi/a')!, /alice/);
  });

  it('answers sessions of its domains, anonymous guests included, and refuses everyone else with forbidden', () => {
    const services = externalServicesFor({ servers: SERVERS, secret: SECRET, ttlSeconds: 600, domains: DOMAINS, now: () => NOW });
    assert.equal(services(parseJid('4f1c2a3b-0000-4000-8000-000000000001@guest.meet.jitsi/x')).length, 3);
    assert.equal(services(parseJid('focus@auth.meet.jitsi/focus')).length, 3);
    for (const outsider of ['speakerstats.meet.jitsi', 'room@muc.meet.jitsi/nick', 'eve@example.org/phone', 'alice@meet.jitsi']) {
      assert.throws(() => services(parseJid(outsider)), (err: unknown) => err instanceof StanzaError && err.condition === 'forbidden' && err.type === 'auth', outsider);
    }
  });

  it('announces the servers without credentials when no secret is set', () => {
    const services = externalServicesFor({ servers: SERVERS, ttlSeconds: 600, domains: DOMAINS, now: () => NOW });
    assert.deepEqual(services(parseJid('alice@meet.jitsi/laptop')), SERVERS);
  });
});
