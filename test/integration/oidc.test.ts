/**
 * OpenID Connect sign-in for agents (AUTH_TYPE=oidc) against a real provider (oidc-provider) on
 * loopback: the login redirect carries PKCE S256, a state and a nonce; the whole flow ends on the
 * room with a token that logs in over XMPP on the main domain and starts the room as its owner;
 * tampered state, replayed callback, wrong nonce, refused consent, another browser and an e-mail
 * domain not allowed end on a clear page; a guest without a token still waits for the host; the
 * room's tenant goes through the sign-in and back, and one that is not a plain name is refused. With
 * JWT_APP_ID/JWT_APP_SECRET the minted tokens use them, and tokens minted elsewhere still log in.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Element } from 'ltx';
import { SignJWT, decodeJwt, jwtVerify } from 'jose';
import { ConfigError, loadConfig } from '../../config/load.ts';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';
import { locationOf, reserveIssuer, startTestProvider, throughProvider, TestBrowser, type TestProvider } from './oidc-provider.ts';

const CLIENT_ID = 'salon-test';
const CLIENT_SECRET = 'a client secret for the test provider, long enough';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

interface IqFailure { condition?: string; text?: string; type?: string }

/**
 * The token of the room URL the sign-in ends on, read as jitsi-meet's parseJWTFromURLParams reads
 * a hash value (URL-decoded, then JSON); it must be in the fragment only, never in the query, where
 * it would reach access logs.
 */
function tokenIn(room: URL): string {
  assert.equal(room.searchParams.has('jwt'), false, 'no token in the query');
  const raw = room.hash.slice(1).split('&').find((item) => item.startsWith('jwt='))?.slice('jwt='.length);
  assert.ok(raw, 'the room URL carries #jwt=');
  const token: unknown = JSON.parse(decodeURIComponent(raw));
  assert.equal(typeof token, 'string', 'a JSON string, as jitsi-meet parses hash values');
  return token as string;
}

describe('OpenID Connect sign-in for agents (AUTH_TYPE=oidc)', function () {
  this.timeout(30_000);
  let server: TestServer;
  let provider: TestProvider;
  let callbackPrefix: string;
  const clients: XmppClient[] = [];

  before(async () => {
    const { issuer, port } = await reserveIssuer();
    server = await startTestServer({
      ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true', AUTH_TYPE: 'oidc',
      OIDC_ISSUER: issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_ALLOWED_DOMAINS: 'agents.gouv.fr, Interieur.Gouv.FR',
    });
    callbackPrefix = `${server.httpOrigin}/auth/oidc/callback`;
    // Discovery happens at the first sign-in, so the provider can learn Salon's address first.
    provider = await startTestProvider({
      port, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: callbackPrefix,
      accounts: {
        'agent-1': { email: 'marie.curie@agents.gouv.fr', given_name: 'Marie', family_name: 'Curie' },
        'agent-2': { email: 'jean.moulin@interieur.gouv.fr', given_name: 'Jean', family_name: 'Moulin' },
        outsider: { email: 'eve@example.com', given_name: 'Eve' },
      },
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(stopClient));
  });
  after(async () => {
    await server?.close();
    await provider?.close();
  });

  /** Salon's login redirect for `room`, in `browser`. */
  async function startLogin(browser: TestBrowser, query: string): Promise<URL> {
    const response = await browser.request(`${server.httpOrigin}/auth/oidc/login?${query}`);
    assert.equal(response.status, 302, await response.clone().text());
    return locationOf(response, server.httpOrigin);
  }

  /** The callback URL the provider sends `account` back with, after signing in for `room`. */
  async function providerAnswer(browser: TestBrowser, room: string, account: string, tweak?: (url: URL) => void): Promise<URL> {
    const authorization = await startLogin(browser, `room=${room}`);
    tweak?.(authorization);
    return throughProvider(browser, authorization, account, callbackPrefix);
  }

  async function problemPage(response: Response, status: number, english: RegExp): Promise<string> {
    assert.equal(response.status, status);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    const page = await response.text();
    assert.match(page, /Connexion impossible/);
    assert.match(page, /Sign-in failed/);
    assert.match(page, english);
    assert.doesNotMatch(page, /\bat [\w.<>]+ \(|Error:/, 'no stack trace or error text');
    return page;
  }

  it('redirects to the provider with PKCE S256, a state, a nonce, and a cookie binding the browser', async () => {
    const browser = new TestBrowser();
    const response = await browser.request(`${server.httpOrigin}/auth/oidc/login?room=Reunion`);
    assert.equal(response.status, 302);
    const url = locationOf(response, server.httpOrigin);
    assert.equal(url.origin, provider.issuer);
    const params = url.searchParams;
    assert.equal(params.get('response_type'), 'code');
    assert.equal(params.get('client_id'), CLIENT_ID);
    assert.equal(params.get('redirect_uri'), callbackPrefix);
    assert.deepEqual(params.get('scope')?.split(' '), ['openid', 'email', 'profile']);
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.match(params.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/, 'a base64url SHA-256');
    assert.ok((params.get('state') ?? '').length >= 32, 'a state of at least 32 characters (ProConnect asks for them)');
    assert.ok((params.get('nonce') ?? '').length >= 32, 'a nonce of at least 32 characters');
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith('salon_oidc='));
    assert.ok(cookie, 'the browser cookie');
    assert.match(cookie, /httponly/i);
    assert.match(cookie, /samesite=lax/i);
    assert.match(cookie, /path=\/auth\/oidc\//i);
  });

  it('signs an agent in, comes back to the room with a token that logs in on the main domain and starts the room as owner', async () => {
    const browser = new TestBrowser();
    const answer = await providerAnswer(browser, 'Reunion', 'agent-1');
    assert.ok(answer.searchParams.get('code'), 'an authorization code');
    const back = await browser.request(answer);
    assert.equal(back.status, 302);
    const room = locationOf(back, server.httpOrigin);
    assert.equal(`${room.origin}${room.pathname}`, `${server.httpOrigin}/Reunion`);
    const token = tokenIn(room);
    assert.equal(room.hash, `#jwt=%22${token}%22`, 'nothing else in the fragment');

    const claims = decodeJwt(token);
    assert.equal(claims.room, 'Reunion');
    assert.equal(claims.iss, 'salon');
    assert.equal(claims.aud, 'salon');
    assert.equal(claims.sub, 'meet.jitsi');
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 3600);
    assert.deepEqual((claims.context as { user: unknown }).user, { id: 'agent-1', name: 'Marie Curie', email: 'marie.curie@agents.gouv.fr', moderator: true });

    const muc = 'reunion@muc.meet.jitsi';
    const agent: ConferenceParticipant = await joinConference(server, muc, 'agent', { token });
    clients.push(agent.client);
    assert.equal(server.salon.focus.conferences.has(muc), true, 'the agent started the conference');
    await waitForStanza(agent.inbox, (s) => s.name === 'presence' && s.attrs.from === `${muc}/agent`
      && s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation === 'owner', 5000, 'the agent made owner');
    assert.equal(server.salon.xmpp.sessionIdentity(agentJid(agent.inbox, muc))?.authenticated, 'token');
  });

  it('keeps a guest without a token waiting for the host', async () => {
    const guest = await connectClient({ service: server.wsUrl, domain: 'guest.meet.jitsi' });
    clients.push(guest.client);
    await assert.rejects(
      guest.client.iqCaller.request(xml('iq', { type: 'set', to: 'focus.meet.jitsi' },
        xml('conference', { xmlns: 'http://jitsi.org/protocol/focus', room: 'attente@muc.meet.jitsi', 'machine-uid': 'm-guest' }))),
      (err: IqFailure) => {
        assert.equal(err.condition, 'not-authorized');
        assert.equal(err.text, 'not authorized user domain');
        return true;
      },
    );
    assert.equal(server.salon.focus.conferences.has('attente@muc.meet.jitsi'), false);
  });

  it('refuses a tampered state, and the untouched answer still signs in', async () => {
    const browser = new TestBrowser();
    const answer = await providerAnswer(browser, 'Reunion', 'agent-1');
    const tampered = new URL(answer);
    tampered.searchParams.set('state', `${answer.searchParams.get('state')}x`);
    await problemPage(await browser.request(tampered), 400, /no longer valid/);
    const back = await browser.request(answer);
    assert.equal(back.status, 302);
    assert.ok(tokenIn(locationOf(back, server.httpOrigin)));
  });

  it('refuses a replayed callback', async () => {
    const browser = new TestBrowser();
    const answer = await providerAnswer(browser, 'Reunion', 'agent-1');
    assert.equal((await browser.request(answer)).status, 302);
    const page = await problemPage(await browser.request(answer), 400, /already used/);
    assert.match(page, /Recommencez/);
  });

  it('refuses an ID token whose nonce is not the one sent', async () => {
    const browser = new TestBrowser();
    const answer = await providerAnswer(browser, 'Reunion', 'agent-1', (url) => url.searchParams.set('nonce', `${url.searchParams.get('nonce')}-other`));
    const page = await problemPage(await browser.request(answer), 400, /could not be verified/);
    assert.match(page, /href="\/auth\/oidc\/login\?room=Reunion"/, 'a way to start again');
    assert.match(page, /href="\/Reunion"/, 'a way back to the room');
  });

  it('refuses an e-mail domain that is not allowed, and accepts another allowed one', async () => {
    const outsider = new TestBrowser();
    const answer = await providerAnswer(outsider, 'Reunion', 'outsider');
    await problemPage(await outsider.request(answer), 403, /not in a domain allowed/);

    const agent = new TestBrowser();
    const back = await agent.request(await providerAnswer(agent, 'Reunion', 'agent-2'));
    assert.equal(back.status, 302);
    const token = tokenIn(locationOf(back, server.httpOrigin));
    assert.equal((decodeJwt(token).context as { user: { email: string } }).user.email, 'jean.moulin@interieur.gouv.fr');
  });

  it('shows a refused consent as such', async () => {
    const browser = new TestBrowser();
    const authorization = await startLogin(browser, 'room=Reunion');
    const answer = await throughProvider(browser, authorization, 'agent-1', callbackPrefix, { refuse: true });
    assert.equal(answer.searchParams.get('error'), 'access_denied');
    await problemPage(await browser.request(answer), 403, /refused or cancelled/);
  });

  it('refuses a callback opened in another browser than the one that started the sign-in', async () => {
    const answer = await providerAnswer(new TestBrowser(), 'Reunion', 'agent-1');
    await problemPage(await new TestBrowser().request(answer), 400, /not started in this browser/);
  });

  it('keeps sign-ins started in two tabs of one browser both valid', async () => {
    const browser = new TestBrowser();
    const first = await startLogin(browser, 'room=Premiere');
    const second = await startLogin(browser, 'room=Seconde');
    for (const [authorization, room] of [[second, '/Seconde'], [first, '/Premiere']] as const) {
      const back = await browser.request(await throughProvider(browser, authorization, 'agent-1', callbackPrefix));
      assert.equal(back.status, 302);
      assert.equal(locationOf(back, server.httpOrigin).pathname, room);
    }
  });

  it('refuses a room name that is not one, before going to the provider', async () => {
    const response = await new TestBrowser().request(`${server.httpOrigin}/auth/oidc/login?room=${encodeURIComponent('a/b?c')}`);
    await problemPage(response, 400, /room name is not valid/);
  });

  it('offers jitsi-meet the sign-in as tokenAuthUrl and takes its {room} and {state} back to the room', async () => {
    const script = await (await fetch(`${server.httpOrigin}/config.js`)).text();
    const config = JSON.parse(script.slice(script.indexOf('{'), script.lastIndexOf('}') + 1)) as { tokenAuthUrl?: string };
    assert.equal(config.tokenAuthUrl, `${server.httpOrigin}/auth/oidc/login?room={room}&jitsi_state={state}`);

    // As jitsi-meet's getTokenAuthUrl fills the template in (react/features/authentication/functions.web.ts).
    const state = { room: 'Reunion', roomSafe: 'reunion', tenant: 'equipe', 'config.prejoinConfig.enabled': false, 'config.startWithVideoMuted': true, 'config.p2p': 'x' };
    const filled = config.tokenAuthUrl!.replace('{state}', encodeURIComponent(JSON.stringify(state))).replace('{room}', 'Reunion');
    const browser = new TestBrowser();
    const response = await browser.request(filled);
    assert.equal(response.status, 302);
    const answer = await throughProvider(browser, locationOf(response, filled), 'agent-1', callbackPrefix);
    const room = locationOf(await browser.request(answer), server.httpOrigin);
    assert.equal(room.pathname, '/equipe/Reunion');
    const token = tokenIn(room);
    assert.equal(decodeJwt(token).sub, 'equipe');
    // One fragment in jitsi-meet's format, the token first, then the settings carried back.
    assert.equal(room.hash, `#jwt=%22${token}%22&config.prejoinConfig.enabled=false&config.startWithVideoMuted=true`);
  });

  it('brings Salon\'s own client back to the room under its tenant, with a token for that tenant', async () => {
    const script = await (await fetch(`${server.httpOrigin}/config.js`)).text();
    const config = JSON.parse(script.slice(script.indexOf('{'), script.lastIndexOf('}') + 1)) as { tokenAuthUrl?: string };
    // The address the client's "Sign in" button opens from `/equipe/Reunion`.
    const { tokenAuthUrlFor } = await import('../../web/client/conference/conference-client.ts');
    const signIn = tokenAuthUrlFor(config.tokenAuthUrl!, { room: 'Reunion', tenant: 'equipe' }, `${server.httpOrigin}/equipe/Reunion`);
    const browser = new TestBrowser();
    const response = await browser.request(signIn);
    assert.equal(response.status, 302, await response.clone().text());
    const answer = await throughProvider(browser, locationOf(response, signIn), 'agent-1', callbackPrefix);
    const room = locationOf(await browser.request(answer), server.httpOrigin);
    assert.equal(room.origin, server.httpOrigin);
    assert.equal(room.pathname, '/equipe/Reunion');
    assert.equal(decodeJwt(tokenIn(room)).sub, 'equipe');
  });

  it('refuses a tenant that would lead off the site or up the path, before going to the provider', async () => {
    for (const tenant of ['//evil.example', '/\\evil.example', '\\evil.example', 'evil.example', '..', '.', '%2e%2e', 'a/b', 'https:']) {
      for (const query of [
        new URLSearchParams({ room: 'Reunion', jitsi_state: JSON.stringify({ room: 'Reunion', tenant }) }),
        new URLSearchParams({ room: 'Reunion', tenant }),
      ]) {
        const response = await new TestBrowser().request(`${server.httpOrigin}/auth/oidc/login?${query.toString()}`);
        const page = await problemPage(response, 400, /room name is not valid/);
        assert.doesNotMatch(page, /evil/, `${tenant}: no link to it on the page`);
      }
    }
  });

  // Last: it fills this address's allowance of pending sign-ins.
  it('caps the sign-ins pending from one address', async () => {
    let busy: Response | undefined;
    for (let i = 0; i <= 20 && !busy; i++) {
      const response = await new TestBrowser().request(`${server.httpOrigin}/auth/oidc/login?room=Reunion`);
      if (response.status === 302) continue;
      busy = response;
    }
    assert.ok(busy, 'a sign-in refused once 20 are pending');
    await problemPage(busy, 429, /Too many sign-ins/);
  });
});

describe('OpenID Connect sign-in with JWT_APP_ID, JWT_APP_SECRET and a client secret file', function () {
  this.timeout(30_000);
  const APP = 'visio-app';
  const SECRET = 'the shared secret of visio-app, long enough for HS256';
  let server: TestServer;
  let provider: TestProvider;
  let dir: string;
  const clients: XmppClient[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'salon-oidc-'));
    await writeFile(join(dir, 'client-secret'), `${CLIENT_SECRET}\n`);
    const { issuer, port } = await reserveIssuer();
    server = await startTestServer({
      ENABLE_AUTH: 'true', AUTH_TYPE: 'oidc', OIDC_ISSUER: issuer, OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET_FILE: join(dir, 'client-secret'), JWT_APP_ID: APP, JWT_APP_SECRET: SECRET, OIDC_TOKEN_TTL: '900',
    });
    provider = await startTestProvider({
      port, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${server.httpOrigin}/auth/oidc/callback`,
      accounts: { 'agent-1': { email: 'marie.curie@agents.gouv.fr', given_name: 'Marie', family_name: 'Curie' } },
    });
  });
  after(async () => {
    await Promise.all(clients.map(stopClient));
    await server?.close();
    await provider?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('mints with the app id and secret, and still takes tokens minted elsewhere for the app', async () => {
    const browser = new TestBrowser();
    const response = await browser.request(`${server.httpOrigin}/auth/oidc/login?room=Conseil`);
    const answer = await throughProvider(browser, locationOf(response, server.httpOrigin), 'agent-1', `${server.httpOrigin}/auth/oidc/callback`);
    const token = tokenIn(locationOf(await browser.request(answer), server.httpOrigin));
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SECRET), { issuer: APP, audience: APP });
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 900);
    const agent = await joinConference(server, 'conseil@muc.meet.jitsi', 'agent', { token });
    clients.push(agent.client);

    const elsewhere = await new SignJWT({ room: 'atelier', context: { user: { name: 'Bot', moderator: true } } })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer(APP).setAudience('jitsi').setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET));
    const bot = await joinConference(server, 'atelier@muc.meet.jitsi', 'bot', { token: elsewhere });
    clients.push(bot.client);
    await waitForStanza(bot.inbox, (s) => s.name === 'presence' && s.attrs.from === 'atelier@muc.meet.jitsi/bot'
      && s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation === 'owner', 5000, 'the bot made owner');
  });
});

describe('OpenID Connect sign-in: configuration and an unreachable provider', function () {
  this.timeout(30_000);

  it('names what AUTH_TYPE=oidc lacks, and refuses plain HTTP to a provider elsewhere', () => {
    const base = { ENABLE_AUTH: 'true', AUTH_TYPE: 'oidc', SALON_STATE_DIR: '/nonexistent' };
    assert.throws(() => loadConfig([], base), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /auth\.oidc\.issuer.*requires OIDC_ISSUER/);
      assert.match(err.message, /auth\.oidc\.clientId.*requires OIDC_CLIENT_ID/);
      return true;
    });
    assert.throws(() => loadConfig([], { ...base, OIDC_ISSUER: 'http://idp.example.org', OIDC_CLIENT_ID: 'c' }), /must be reached over https/);
    assert.throws(() => loadConfig([], { ...base, OIDC_ISSUER: 'https://idp.example.org', OIDC_CLIENT_ID: 'c', OIDC_SCOPES: 'email profile' }), /must include openid/);
    const { config } = loadConfig([], { ...base, OIDC_ISSUER: 'https://idp.example.org', OIDC_CLIENT_ID: 'c', OIDC_SCOPES: 'openid given_name usual_name email siret', OIDC_ALLOWED_DOMAINS: 'Agents.Gouv.FR' });
    assert.deepEqual(config.auth.oidc.scopes, ['openid', 'given_name', 'usual_name', 'email', 'siret']);
    assert.deepEqual(config.auth.oidc.allowedDomains, ['agents.gouv.fr']);
    // Without ENABLE_AUTH the OIDC settings are not needed.
    assert.doesNotThrow(() => loadConfig([], { AUTH_TYPE: 'oidc', SALON_STATE_DIR: '/nonexistent' }));
  });

  it('shows an unreachable provider as such, without a stack trace', async () => {
    const { issuer } = await reserveIssuer(); // nothing listens there
    const server = await startTestServer({ ENABLE_AUTH: 'true', AUTH_TYPE: 'oidc', OIDC_ISSUER: issuer, OIDC_CLIENT_ID: CLIENT_ID });
    try {
      const response = await fetch(`${server.httpOrigin}/auth/oidc/login?room=Reunion`, { redirect: 'manual' });
      assert.equal(response.status, 502);
      const page = await response.text();
      assert.match(page, /ne répond pas/);
      assert.match(page, /does not answer/);
      assert.doesNotMatch(page, /ECONNREFUSED|Error/);
    } finally {
      await server.close();
    }
  });
});

/** The agent's own full JID, from its self-presence's muc#user item. */
function agentJid(inbox: Element[], muc: string): string {
  const self = inbox.find((s) => s.name === 'presence' && s.attrs.from === `${muc}/agent` && s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid);
  return self?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid as string;
}
