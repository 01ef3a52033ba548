/**
 * The organiser signs in from the "waiting for the host" screen of Salon's own web client on a real
 * Salon with authentication and guests (Chromium, fake devices): a wrong password is refused with a
 * message, the right one (SCRAM-SHA-1 or PLAIN over the WebSocket, on the main domain) starts the meeting
 * with the organiser as moderator. Protocol notes §2.3, §3.4.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../integration/harness.ts';
import { launchBrowser, type BrowserHarness } from './chromium.ts';
import { axeViolations } from './fixtures/ui-page.ts';
import { pressJoin } from './salon-page.ts';

/** Records the SASL `<auth>` frames the page sends (`window.__auth`). */
const RECORD_AUTH = `(() => {
  const send = WebSocket.prototype.send;
  window.__auth = [];
  WebSocket.prototype.send = function (data) {
    if (String(data).startsWith('<auth')) window.__auth.push(String(data));
    return send.call(this, data);
  };
})();`;

describe('Salon web client: the host signs in while waiting', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: BrowserHarness;

  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true' });
    await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
    browser = await launchBrowser({ extraArgs: ['--allow-loopback-in-peer-connection'] });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.SALON_BROWSER_LOG === 'dump') console.log(browser?.dumpLogs().slice(-30_000));
    await browser?.close();
    await server?.close();
  });

  it('refuses a wrong password with a message, then starts the meeting as its moderator', async () => {
    const page: Page = await browser.newPage(`${server.httpOrigin}/hostroom`, { locale: 'en-GB', label: 'host', initScript: RECORD_AUTH });
    await pressJoin(page, 'Alice');
    await page.getByRole('heading', { name: 'Waiting for the host…' }).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'I am the host: sign in' }).click();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'This username or password is not right.' }).waitFor({ timeout: 20_000 });
    assert.deepEqual(await axeViolations(page), []);
    assert.equal(server.salon.focus.conferences.has('hostroom@muc.meet.jitsi'), false, 'nothing started yet');

    await page.getByLabel('Password', { exact: true }).fill('alice password 123');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('button', { name: 'Leave the meeting' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Participants', exact: true }).click();
    await page.getByRole('button', { name: 'Mute everyone' }).waitFor({ timeout: 10_000 });
    assert.equal(server.salon.focus.conferences.has('hostroom@muc.meet.jitsi'), true);
    const mechanisms = await page.evaluate(() => (window as unknown as { __auth: string[] }).__auth.map((a) => /mechanism="([^"]+)"/.exec(a)?.[1]));
    // The guest login, then the refused and the accepted password logins: SCRAM-SHA-1 where the
    // accounts keep SCRAM keys, PLAIN (loopback here) where they keep scrypt hashes, Salon's default.
    assert.equal(mechanisms[0], 'ANONYMOUS');
    assert.equal(mechanisms.length, 3, JSON.stringify(mechanisms));
    assert.ok(mechanisms[1] === mechanisms[2] && ['SCRAM-SHA-1', 'PLAIN'].includes(mechanisms[1] ?? ''), JSON.stringify(mechanisms));
  });
});
