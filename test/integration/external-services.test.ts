/**
 * STUN and TURN servers through XEP-0215, configured with docker-jitsi-meet's variables and asked
 * for by third-party clients: a guest with StanzaJS over BOSH, an account with @xmpp/client over
 * WebSocket. The TURN passwords are checked here with the shared secret, as coturn checks them.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import * as Stanza from 'stanza';
import { connectClient, startTestServer, stopClient, xml, type TestServer } from './harness.ts';

const SECRET = 'coturn static-auth-secret 42';

/** What coturn recomputes from the username under use-auth-secret. */
const coturnPassword = (username: string): string => createHmac('sha1', SECRET).update(username).digest('base64');

describe('TURN and STUN through XEP-0215 external service discovery', function () {
  this.timeout(30_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true',
      STUN_HOST: 'stun.example.org', STUN_PORT: '3478',
      TURN_HOST: 'turn.example.org', TURN_PORT: '3478', TURN_TRANSPORT: 'udp,tcp',
      TURNS_HOST: 'turn.example.org', TURNS_PORT: '5349',
      TURN_CREDENTIALS: SECRET, TURN_TTL: '3600',
    });
    await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
  });
  after(async () => server.close());

  it('gives a guest of the guest domain time-limited TURN credentials that the shared secret verifies (StanzaJS, BOSH)', async () => {
    const client = Stanza.createClient({ jid: 'guest.meet.jitsi', transports: { bosh: server.boshUrl, websocket: false } });
    const ready = new Promise<void>((resolve, reject) => {
      client.once('session:started', () => resolve());
      client.once('auth:failed', () => reject(new Error('auth failed')));
    });
    client.connect();
    await ready;
    try {
      assert.match(client.jid, /@guest\.meet\.jitsi\//);
      const asked = Date.now();
      const { services = [] } = await client.getServices('meet.jitsi');
      assert.deepEqual(services.map((s) => `${s.type} ${s.host}:${s.port}/${s.transport}`), [
        'stun stun.example.org:3478/udp', 'turn turn.example.org:3478/udp', 'turn turn.example.org:3478/tcp', 'turns turn.example.org:5349/tcp',
      ]);
      assert.equal(services[0]!.username, undefined, 'STUN needs no credentials');
      for (const turn of services.slice(1)) {
        const [expiry, user] = turn.username!.split(':');
        assert.ok(user, 'the username has a user part');
        assert.equal(turn.password, coturnPassword(turn.username!));
        assert.equal(turn.restricted, true);
        assert.equal(turn.expires!.getTime(), Number(expiry) * 1000, 'expires is the expiry in the username');
        assert.ok(Math.abs(turn.expires!.getTime() - (asked + 3600_000)) < 5000, `expires ${turn.expires!.toISOString()} is TURN_TTL from now`);
      }

      const credentials = await client.getServiceCredentials('meet.jitsi', 'turn.example.org', 'turns');
      assert.equal(credentials.port, 5349);
      assert.equal(credentials.password, coturnPassword(credentials.username!));
      await assert.rejects(client.getServiceCredentials('meet.jitsi', 'elsewhere.example.org', 'turn'), (err: { error?: { condition?: string } }) => err.error?.condition === 'item-not-found');
    } finally {
      client.disconnect();
    }
  });

  it('gives an account of the main domain the same servers over extdisco:2, filtered by type (@xmpp/client, WebSocket)', async () => {
    const alice = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi', username: 'alice', password: 'alice password 123' });
    try {
      const answer = await alice.client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('services', { xmlns: 'urn:xmpp:extdisco:2', type: 'turns' })));
      const services = answer.getChild('services', 'urn:xmpp:extdisco:2')!.getChildren('service');
      assert.equal(services.length, 1);
      const turns = services[0]!.attrs as Record<string, string>;
      assert.deepEqual([turns.type, turns.host, turns.port, turns.transport, turns.restricted], ['turns', 'turn.example.org', '5349', 'tcp', '1']);
      assert.equal(turns.password, coturnPassword(turns.username!));
      assert.match(turns.expires!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'XEP-0082 DateTime in UTC');
      assert.doesNotMatch(turns.username!, /alice/, 'the TURN server does not learn the JID');
    } finally {
      await stopClient(alice.client);
    }
  });
});
