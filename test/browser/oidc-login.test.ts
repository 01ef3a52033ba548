/**
 * OpenID Connect sign-in in a real browser (Chromium, fake devices): an agent opens Salon's sign-in
 * for a room, signs in at a local OpenID provider (oidc-provider's login and consent forms), lands in
 * Salon's client in that room with the minted token, starts it, and is its owner, as a guest who
 * joins afterwards sees.
 */
import assert from 'node:assert/strict';
import { joinConference, type ConferenceParticipant } from '../integration/conference-participant.ts';
import { startTestServer, stopClient, waitForStanza, type TestServer } from '../integration/harness.ts';
import { reserveIssuer, startTestProvider, type TestProvider } from '../integration/oidc-provider.ts';
import { launchBrowser, type BrowserHarness } from './chromium.ts';
import { pressJoin } from './salon-page.ts';

const CLIENT_ID = 'salon-browser-test';
const CLIENT_SECRET = 'a client secret for the browser test provider';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

describe('OpenID Connect sign-in in the browser', function () {
  this.timeout(120_000);
  let server: TestServer;
  let provider: TestProvider;
  let browser: BrowserHarness;
  let guest: ConferenceParticipant | undefined;

  before(async () => {
    const { issuer, port } = await reserveIssuer();
    server = await startTestServer({
      ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true', AUTH_TYPE: 'oidc',
      OIDC_ISSUER: issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET, OIDC_ALLOWED_DOMAINS: 'agents.gouv.fr',
    });
    provider = await startTestProvider({
      port, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${server.httpOrigin}/auth/oidc/callback`,
      accounts: { 'agent-1': { email: 'marie.curie@agents.gouv.fr', given_name: 'Marie', family_name: 'Curie' } },
    });
    browser = await launchBrowser({ extraArgs: ['--allow-loopback-in-peer-connection'] });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.SALON_BROWSER_LOG === 'dump') console.log(browser?.dumpLogs().slice(-30_000));
    if (guest) await stopClient(guest.client);
    await browser?.close();
    await server?.close();
    await provider?.close();
  });

  it('signs in at the provider and lands in the room as its owner', async () => {
    const room = 'bureau';
    const page = await browser.newPage(`${server.httpOrigin}/auth/oidc/login?room=${room}`, { locale: 'en-GB', label: 'agent' });
    assert.equal(new URL(page.url()).origin, provider.issuer, 'at the provider');
    await page.locator('input[name="login"]').fill('agent-1');
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.origin === server.httpOrigin && url.pathname === `/${room}`, { timeout: 15_000 });
    assert.ok(new URL(page.url()).searchParams.get('jwt'), 'the room URL carries the token');

    await pressJoin(page, 'Marie Curie');
    await page.getByRole('button', { name: 'Leave the meeting' }).waitFor({ timeout: 20_000 });
    const muc = `${room}@muc.meet.jitsi`;
    assert.equal(server.salon.focus.conferences.has(muc), true, 'the agent started the conference');

    // A guest may now join, and sees the agent as the room's owner.
    guest = await joinConference(server, muc, 'guest', { login: { domain: 'guest.meet.jitsi' } });
    await waitForStanza(guest.inbox, (s) => s.name === 'presence' && String(s.attrs.from).startsWith(`${muc}/`)
      && s.attrs.from !== `${muc}/guest` && s.attrs.from !== `${muc}/focus`
      && s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation === 'owner', 10_000, "the agent's presence as owner");
  });
});
