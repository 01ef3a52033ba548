/**
 * The lobby between Salon's own web client and lib-jitsi-meet (the real one, pinned), on a real
 * Salon (Chromium, fake devices): a Salon moderator turns the lobby on from the participants pane,
 * sees a lib-jitsi-meet knocker (`joinLobby`), admits one and denies another; a lib-jitsi-meet
 * moderator (`enableLobby`) sees Salon knockers (LOBBY_USER_JOINED), admits one and denies
 * another (`lobbyApproveAccess`, `lobbyDenyAccess`). With authentication, guests and the lobby on
 * in every new room, a guest who waited for the host knocks once the host (signed in from the
 * waiting screen) started the meeting. Protocol notes §3.4, §4.9; lib-jitsi-meet Lobby.js.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../integration/harness.ts';
import { launchBrowser, type BrowserHarness } from './chromium.ts';
import { axeViolations } from './fixtures/ui-page.ts';
import { startLjmRig, type LjmRig } from './ljm-rig.ts';
import { joinSalon, pressJoin } from './salon-page.ts';

type AnyWindow = Record<string, any>;

interface LjmEvent { key: string; name: string; args: unknown[] }

/** A lib-jitsi-meet page connected to the room (not joined). */
async function ljmPage(rig: LjmRig, room: string, label: string): Promise<Page> {
  const page = await rig.browser.newPage(rig.pageUrl, { label });
  await page.waitForFunction(() => (window as unknown as AnyWindow).salonTest !== undefined);
  const connected = await page.evaluate((r) => (window as unknown as AnyWindow).salonTest.connect(r), room);
  assert.equal(connected.ok, true, `${label} could not connect: ${JSON.stringify(connected)}`);
  return page;
}

/** Joins with lib-jitsi-meet; resolves with the CONFERENCE_JOINED or CONFERENCE_FAILED outcome. */
function ljmJoin(page: Page, room: string, nick: string): Promise<{ ok: boolean; error?: string }> {
  return page.evaluate(([r, n]) => (window as unknown as AnyWindow).salonTest.join(r, n, { timeoutMs: 20_000 }), [room, nick] as const);
}

/** Waits for a lib-jitsi-meet event recorded after `from` (by key or name). */
async function ljmEvent(page: Page, keyOrName: string, from = 0, timeoutMs = 20_000): Promise<LjmEvent> {
  const event = await page.evaluate(([k, f, t]) => (window as unknown as AnyWindow).salonTest.waitForEvent(k, t, f), [keyOrName, from, timeoutMs] as const);
  if (!event) {
    const seen = await page.evaluate(() => (window as unknown as AnyWindow).salonTest.events.map((e: LjmEvent) => e.key).slice(-40));
    assert.fail(`no ${keyOrName} within ${timeoutMs} ms; last events: ${seen.join(', ')}`);
  }
  return event as LjmEvent;
}

const eventCount = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as AnyWindow).salonTest.events.length);

describe('lobby: Salon\'s web client and lib-jitsi-meet', function () {
  this.timeout(180_000);
  let rig: LjmRig;

  before(async () => {
    // Rooms start with their lobby off (ENABLE_LOBBY would turn it on in every new room).
    rig = await startLjmRig({ media: true });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.SALON_BROWSER_LOG === 'dump') console.log(rig?.browser.dumpLogs().slice(-40_000));
    await rig?.close();
  });

  it('a Salon moderator turns the lobby on, admits one lib-jitsi-meet knocker and denies another', async () => {
    const room = 'lobbysalonmod';
    const alice = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Alice', { label: 'alice' });
    await alice.getByRole('button', { name: 'Participants', exact: true }).click();
    const lobbySwitch = alice.getByRole('switch', { name: 'Lobby: newcomers wait until a moderator lets them in' });
    await lobbySwitch.waitFor({ timeout: 20_000 });
    assert.equal(await lobbySwitch.isChecked(), false, 'the lobby starts off');
    await lobbySwitch.check();
    // The room confirms (its disco#info, asked again after the 104 configuration change).
    // Announced in the live region (the toast itself may be covered by the panel on a small window).
    const notices = alice.locator('.notices[aria-live="polite"]');
    await notices.getByText('The lobby is on: newcomers wait for a moderator').waitFor({ state: 'attached', timeout: 20_000 });

    const kim = await ljmPage(rig, room, 'kim');
    const refused = await ljmJoin(kim, room, 'Kim');
    assert.deepEqual([refused.ok, refused.error], [false, 'conference.connectionError.membersOnly'], 'the members-only room refuses Kim');
    const from = await eventCount(kim);
    await kim.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.joinLobby('Kim'));
    await notices.getByText('Kim asks to join the meeting').waitFor({ state: 'attached', timeout: 20_000 });
    await alice.getByRole('button', { name: 'Admit – Kim' }).click();
    await ljmEvent(kim, 'CONFERENCE_JOINED', from);
    await alice.getByRole('list', { name: 'Participant list' }).getByText('Kim').waitFor({ timeout: 20_000 });
    assert.equal(await alice.getByRole('button', { name: 'Admit – Kim' }).count(), 0, 'Kim no longer waits');

    const lou = await ljmPage(rig, room, 'lou');
    const louRefused = await ljmJoin(lou, room, 'Lou');
    assert.equal(louRefused.error, 'conference.connectionError.membersOnly');
    const louFrom = await eventCount(lou);
    await lou.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.joinLobby('Lou'));
    await alice.getByRole('button', { name: 'Deny – Lou' }).click({ timeout: 20_000 });
    const denied = await ljmEvent(lou, 'CONFERENCE_FAILED', louFrom);
    assert.equal(denied.args[0], 'conference.connectionError.accessDenied');
    await alice.getByRole('button', { name: 'Deny – Lou' }).waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await alice.getByRole('list', { name: 'Participant list' }).getByText('Lou').count(), 0);
  });

  it('a lib-jitsi-meet moderator turns the lobby on, admits one Salon knocker and denies another', async () => {
    const room = 'lobbyljmmod';
    const mod = await ljmPage(rig, room, 'ljm-moderator');
    const joined = await ljmJoin(mod, room, 'Moderator');
    assert.equal(joined.ok, true, JSON.stringify(joined));
    await mod.waitForFunction(() => (window as unknown as AnyWindow).salonTest.conference.isModerator() === true, undefined, { timeout: 10_000 });
    await mod.waitForFunction(() => (window as unknown as AnyWindow).salonTest.conference.isLobbySupported() === true, undefined, { timeout: 10_000 });
    await mod.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.enableLobby());
    await mod.waitForFunction(() => (window as unknown as AnyWindow).salonTest.conference.isMembersOnly() === true, undefined, { timeout: 10_000 });

    const bob = await rig.browser.newPage(`${rig.server.httpOrigin}/${room}`, { locale: 'en-GB', label: 'bob' });
    const from = await eventCount(mod);
    await pressJoin(bob, 'Bob');
    await bob.getByRole('heading', { name: 'This meeting has a lobby' }).waitFor({ timeout: 20_000 });
    assert.equal(await bob.getByLabel('Your name').inputValue(), 'Bob');
    await bob.getByRole('button', { name: 'Ask to join' }).click();
    await bob.getByRole('heading', { name: 'Waiting for a moderator to let you in' }).waitFor();
    const knock = await ljmEvent(mod, 'LOBBY_USER_JOINED', from);
    assert.equal(knock.args[1], 'Bob', 'the moderator sees the knocker\'s name');
    await mod.evaluate((id) => (window as unknown as AnyWindow).salonTest.conference.lobbyApproveAccess(id), knock.args[0]);
    await bob.getByRole('button', { name: 'Leave the meeting' }).waitFor({ timeout: 20_000 });
    await mod.waitForFunction(() => (window as unknown as AnyWindow).salonTest.participants().some((p: { displayName: string }) => p.displayName === 'Bob'),
      undefined, { timeout: 20_000 });

    const carol = await rig.browser.newPage(`${rig.server.httpOrigin}/${room}`, { locale: 'en-GB', label: 'carol' });
    const carolFrom = await eventCount(mod);
    await pressJoin(carol, 'Carol');
    await carol.getByRole('button', { name: 'Ask to join' }).click({ timeout: 20_000 });
    const carolKnock = await ljmEvent(mod, 'LOBBY_USER_JOINED', carolFrom);
    assert.equal(carolKnock.args[1], 'Carol');
    await mod.evaluate((id) => (window as unknown as AnyWindow).salonTest.conference.lobbyDenyAccess(id), carolKnock.args[0]);
    await carol.getByRole('heading', { name: 'A moderator refused your request' }).waitFor({ timeout: 20_000 });
    assert.equal(await mod.evaluate(() => (window as unknown as AnyWindow).salonTest.participants().some((p: { displayName: string }) => p.displayName === 'Carol')), false);
  });
});

describe('lobby: a guest who waited for the host knocks', function () {
  this.timeout(180_000);
  let server: TestServer;
  let browser: BrowserHarness;

  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true', ENABLE_LOBBY: 'true' });
    await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
    browser = await launchBrowser({ extraArgs: ['--allow-loopback-in-peer-connection'] });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.SALON_BROWSER_LOG === 'dump') console.log(browser?.dumpLogs().slice(-40_000));
    await browser?.close();
    await server?.close();
  });

  it('waits for the host, is sent to the lobby once the host started, knocks and is admitted', async () => {
    const room = 'guestlobby';
    const guest = await browser.newPage(`${server.httpOrigin}/${room}`, { locale: 'en-GB', label: 'guest' });
    await pressJoin(guest, 'Gaspard');
    await guest.getByRole('heading', { name: 'Waiting for the host…' }).waitFor({ timeout: 20_000 });

    const host = await browser.newPage(`${server.httpOrigin}/${room}`, { locale: 'en-GB', label: 'host' });
    await pressJoin(host, 'Alice');
    await host.getByRole('button', { name: 'I am the host: sign in' }).click({ timeout: 20_000 });
    await host.getByLabel('Username').fill('alice');
    await host.getByLabel('Password', { exact: true }).fill('alice password 123');
    await host.getByRole('button', { name: 'Sign in', exact: true }).click();
    await host.getByRole('button', { name: 'Leave the meeting' }).waitFor({ timeout: 30_000 });

    // The guest asks again every 5 s; the room now exists, with its lobby on.
    await guest.getByRole('heading', { name: 'This meeting has a lobby' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await axeViolations(guest), []);
    await guest.getByRole('button', { name: 'Ask to join' }).click();
    await guest.getByRole('heading', { name: 'Waiting for a moderator to let you in' }).waitFor();

    await host.getByRole('button', { name: 'Participants', exact: true }).click();
    await host.getByRole('button', { name: 'Admit – Gaspard' }).click({ timeout: 20_000 });
    await guest.getByRole('button', { name: 'Leave the meeting' }).waitFor({ timeout: 20_000 });
    await host.getByRole('list', { name: 'Participant list' }).getByText('Gaspard').waitFor({ timeout: 20_000 });
  });
});
