/**
 * Token logins (AUTH_TYPE=jwt) over WebSocket, driven by @xmpp/client with SASL ANONYMOUS and
 * Jitsi's `?token=` on the service URL: a valid token binds a session the server knows as a token
 * holder, a bad one is refused with the reason in the SASL failure text.
 */
import assert from 'node:assert/strict';
import { client as xmppClient } from '@xmpp/client';
import { SignJWT, type JWTPayload } from 'jose';
import { startTestServer, stopClient, type TestServer, type XmppClient } from './harness.ts';

const APP = 'salon-test-app';
const SECRET = 'integration secret, long enough for HS256';

function token(over: JWTPayload = {}, secret = SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: APP, aud: APP, sub: 'meet.jitsi', room: '*', exp: now + 600, context: { user: { name: 'Agent Smith', moderator: true } }, ...over })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

describe('JWT login over WebSocket with @xmpp/client', function () {
  const clients: XmppClient[] = [];

  /** Starts a client (ANONYMOUS when no credentials are given); it is stopped after the test. */
  async function login(service: string, domain: string, credentials?: { username: string; password: string }): Promise<string> {
    const client = xmppClient({ service, domain, ...(credentials ?? {}) });
    client.reconnect.stop();
    client.on('error', () => undefined); // a refusal surfaces through start()
    clients.push(client);
    return (await client.start()).toString();
  }

  async function refusal(service: string): Promise<{ condition: string; text: string }> {
    const err = await login(service, 'meet.jitsi').then(
      () => assert.fail('the login was accepted'),
      (e: unknown) => e as { name?: string; condition?: string; text?: string },
    );
    assert.equal(err.name, 'SASLError', `expected a SASL failure, got ${String(err)}`);
    return { condition: err.condition ?? '', text: err.text ?? '' };
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(stopClient));
  });

  describe('on a server with AUTH_TYPE=jwt', () => {
    let server: TestServer;
    const withToken = (t: string): string => `${server.wsUrl}?room=daily&token=${encodeURIComponent(t)}`;

    before(async () => {
      server = await startTestServer({ ENABLE_AUTH: 'true', AUTH_TYPE: 'jwt', JWT_APP_ID: APP, JWT_APP_SECRET: SECRET });
      await server.salon.xmpp.accounts.setPassword('alice@auth.meet.jitsi', 'correct horse battery');
    });
    after(async () => server.close());

    it('logs in with a valid token and reports the session as a token holder with its claims', async () => {
      const jid = await login(withToken(await token({ room: 'daily' })), 'meet.jitsi');
      assert.match(jid, /@meet\.jitsi\//);
      const identity = server.salon.xmpp.sessionIdentity(jid);
      assert.equal(identity?.authenticated, 'token');
      assert.ok(identity?.authenticated === 'token');
      assert.equal(identity.claims.room, 'daily');
      assert.deepEqual(identity.claims.context, { user: { name: 'Agent Smith', moderator: true } });
    });

    it('refuses an expired token, naming the reason', async () => {
      const now = Math.floor(Date.now() / 1000);
      assert.deepEqual(await refusal(withToken(await token({ exp: now - 3600 }))), { condition: 'not-authorized', text: 'token expired' });
    });

    it('refuses a token with a bad signature, naming the reason', async () => {
      const bad = await token({}, 'another secret, not the configured one');
      assert.deepEqual(await refusal(withToken(bad)), { condition: 'not-authorized', text: 'bad token signature' });
    });

    it('refuses a token for another audience, naming the reason', async () => {
      assert.deepEqual(await refusal(withToken(await token({ aud: 'other-service' }))), { condition: 'not-authorized', text: 'token for another audience' });
    });

    it('refuses an anonymous login without a token on the main domain', async () => {
      assert.deepEqual(await refusal(server.wsUrl), { condition: 'not-authorized', text: 'a token is required' });
    });

    it('lets guests in anonymously on the guest domain, reported as anonymous', async () => {
      const jid = await login(server.wsUrl, 'guest.meet.jitsi');
      assert.match(jid, /@guest\.meet\.jitsi\//);
      assert.deepEqual(server.salon.xmpp.sessionIdentity(jid), { authenticated: 'anonymous' });
    });

    it('reports an account login as a password session', async () => {
      const jid = await login(server.wsUrl, 'auth.meet.jitsi', { username: 'alice', password: 'correct horse battery' });
      assert.deepEqual(server.salon.xmpp.sessionIdentity(jid), { authenticated: 'password' });
    });

    it('knows no identity for a JID without a session', () => {
      assert.equal(server.salon.xmpp.sessionIdentity('nobody@meet.jitsi/none'), undefined);
    });
  });

  describe('on a server without JWT', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => server.close());

    it('refuses a token as before', async () => {
      const refused = await refusal(`${server.wsUrl}?token=${encodeURIComponent(await token())}`);
      assert.deepEqual(refused, { condition: 'not-authorized', text: 'tokens are not accepted on this server' });
    });

    it('reports a plain anonymous login as anonymous', async () => {
      const jid = await login(server.wsUrl, 'meet.jitsi');
      assert.deepEqual(server.salon.xmpp.sessionIdentity(jid), { authenticated: 'anonymous' });
    });
  });
});
