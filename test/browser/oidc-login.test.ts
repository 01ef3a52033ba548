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
    const callback = page.waitForResponse((response) => response.url().startsWith(`${server.httpOrigin}/auth/oidc/callback?`), { timeout: 15_000 });
    await page.getByRole('button', { name: 'Continue' }).click();
    const target = new URL((await callback).headers().location ?? '', server.httpOrigin);
    assert.equal(target.pathname, `/${room}`);
    assert.match(target.hash, /^#jwt=%22[\w-]+\.[\w-]+\.[\w-]+%22$/, 'the token in the fragment, as a JSON string');
    assert.equal(target.search, '', 'no token in the query, where access logs would keep it');
    await page.waitForURL((url) => url.origin === server.httpOrigin && url.pathname === `/${room}`, { timeout: 15_000 });
    // The client takes the token out of the address bar at once: no copied room link carries it.
    await page.waitForFunction(() => !location.href.includes('jwt'), undefined, { timeout: 10_000 });
    assert.equal(await page.evaluate(() => location.href), `${server.httpOrigin}/${room}`);

    await pressJoin(page, 'Marie Curie');
    await page.getByRole('button', { name: 'Leave the meeting' }).waitFor({ timeout: 20_000 });
    const muc = `${room}@muc.meet.jitsi`;
    // The call screen shows while the focus is still being asked: poll until a deadline.
    for (const deadline = Date.now() + 10_000; !server.salon.focus.conferences.has(muc) && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(server.salon.focus.conferences.has(muc), true, 'the agent started the conference');

    // A guest may now join, and sees the agent as the room's owner.
    guest = await joinConference(server, muc, 'guest', { login: { domain: 'guest.meet.jitsi' } });
    const agentPresence = await waitForStanza(guest.inbox, (s) => s.name === 'presence' && String(s.attrs.from).startsWith(`${muc}/`)
      && s.attrs.from !== `${muc}/guest` && s.attrs.from !== `${muc}/focus`
      && s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation === 'owner', 10_000, "the agent's presence as owner");

    // The conference request's machine-uid is the browser's own private id, not the stats-id all occupants see.
    const machineUid = await page.evaluate(() => localStorage.getItem('salon.machineUid'));
    assert.match(machineUid ?? '', /^[0-9a-f]{32}$/);
    const statsId = agentPresence.getChildText('stats-id');
    assert.ok(statsId, 'the agent announces a stats-id');
    assert.notEqual(statsId, machineUid);
  });
});
