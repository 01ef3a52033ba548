/**
 * Salon's web client as a guest of a service with authentication on (Chromium, fake devices, a real
 * Salon): before any organiser it shows the "waiting for the host" screen, then joins by itself
 * once an agent (a raw XMPP participant logged in with a password) started the room.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { joinConference, type ConferenceParticipant } from '../integration/conference-participant.ts';
import { startTestServer, stopClient, waitForStanza, type TestServer } from '../integration/harness.ts';
import { en } from '../../web/client/i18n/en.ts';
import { launchBrowser, type BrowserHarness } from './chromium.ts';
import { axeViolations } from './fixtures/ui-page.ts';
import { pressJoin } from './salon-page.ts';

describe('Salon web client: a guest waits for the host', function () {
  this.timeout(120_000);
  let server: TestServer;
  let browser: BrowserHarness;
  let agent: ConferenceParticipant | undefined;
  const room = 'waitingroom';

  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true' });
    await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
    browser = await launchBrowser({ extraArgs: ['--allow-loopback-in-peer-connection'] });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.SALON_BROWSER_LOG === 'dump') console.log(browser?.dumpLogs().slice(-30_000));
    if (agent) await stopClient(agent.client);
    await browser?.close();
    await server?.close();
  });

  it('shows an accessible waiting screen, then joins by itself when an agent starts the room', async () => {
    const guest: Page = await browser.newPage(`${server.httpOrigin}/${room}`, { locale: 'en-GB', label: 'guest' });
    await pressJoin(guest, 'Guest');
    const heading = guest.getByRole('heading', { name: 'Waiting for the host…' });
    await heading.waitFor({ timeout: 20_000 });
    await guest.getByText('The meeting starts when an organiser joins.').waitFor();
    assert.equal(await guest.locator('[aria-live="polite"]').filter({ hasText: 'Waiting for the host…' }).count(), 1);
    assert.equal(await guest.getByRole('button', { name: 'Leave', exact: true }).count(), 1);
    assert.deepEqual(await axeViolations(guest), []);
    assert.equal(server.salon.focus.conferences.has(`${room}@muc.meet.jitsi`), false, 'the guest started no conference');

    agent = await joinConference(server, `${room}@muc.meet.jitsi`, 'agent', {
      login: { domain: 'meet.jitsi', username: 'alice', password: 'alice password 123' },
    });
    // The client asks again every 5 s and enters the room: the agent sees its presence.
    const presence = await waitForStanza(agent.inbox, (s) => s.name === 'presence' && String(s.attrs.from).startsWith(`${room}@muc.meet.jitsi/`)
      && s.attrs.from !== `${room}@muc.meet.jitsi/agent` && s.attrs.from !== `${room}@muc.meet.jitsi/focus` && s.attrs.type !== 'unavailable', 20_000, "the guest's presence");
    assert.ok(presence);
    await heading.waitFor({ state: 'detached', timeout: 10_000 });
    await guest.getByRole('button', { name: 'Leave the meeting' }).waitFor();
  });

  it('leaves from the waiting screen to the end screen, having started no conference', async () => {
    const guest = await browser.newPage(`${server.httpOrigin}/emptyroom`, { locale: 'en-GB', label: 'quitter' });
    await pressJoin(guest, 'Quitter');
    await guest.getByRole('heading', { name: 'Waiting for the host…' }).waitFor({ timeout: 20_000 });
    await guest.getByRole('button', { name: 'Leave', exact: true }).click();
    await guest.getByRole('heading', { name: en['end.hangup'] }).waitFor({ timeout: 10_000 });
    assert.equal(server.salon.focus.conferences.has('emptyroom@muc.meet.jitsi'), false);
  });
});
