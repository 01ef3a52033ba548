/**
 * Salon's own web client, served by Salon, in Chromium with fake devices, meeting an unmodified
 * lib-jitsi-meet client in one room: media every way (getStats), chat both ways, screen sharing,
 * moderation from the participants pane, and a signalling drop survived without reloading.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { inbound as ljmInbound, joinWithMedia, startLjmRig, type LjmRig } from './ljm-rig.ts';
import { axeViolations, screenshot } from './fixtures/ui-page.ts';
import { assertReceives, joinSalon, salonInbound } from './salon-page.ts';

describe('Salon web client with a lib-jitsi-meet client', function () {
  this.timeout(120_000);
  let rig: LjmRig;
  let alice: Page;
  let bob: Page;
  let ljm: Page;
  const room = 'SalonMeetsJitsi1';

  before(async () => {
    rig = await startLjmRig({ media: true });
    alice = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Alice', { label: 'alice' });
    bob = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Bob', { label: 'bob' });
    ljm = await rig.browser.newPage(rig.pageUrl, { label: 'ljm' });
    const joined = await joinWithMedia(ljm, room.toLowerCase());
    assert.ok(joined.ok, joined.error);
    await ljm.evaluate(() => { (window as any).salonTest.conference.setDisplayName('Carol'); });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.SALON_BROWSER_LOG === 'dump') console.log(rig?.browser.dumpLogs().slice(-30_000));
    await rig?.close();
  });

  it('two Salon clients and a lib-jitsi-meet client each receive the two others\' audio and video', async () => {
    await assertReceives(() => salonInbound(alice), { audio: 2, video: 2 }, 'Alice (Salon)');
    await assertReceives(() => salonInbound(bob), { audio: 2, video: 2 }, 'Bob (Salon)');
    await assertReceives(() => ljmInbound(ljm), { audio: 2, video: 2 }, 'the lib-jitsi-meet client');
  });

  it('the landing, pre-join and three-person conference pages served by Salon pass axe-core (WCAG 2.1 A/AA)', async () => {
    const landing = await rig.browser.newPage(`${rig.server.httpOrigin}/`, { locale: 'en-GB', viewport: { width: 1280, height: 720 }, label: 'landing' });
    await landing.getByLabel('Room name').waitFor();
    assert.deepEqual(await axeViolations(landing), []);
    await screenshot(landing, 'app-landing');
    await landing.goto(`${rig.server.httpOrigin}/${room}`);
    await landing.getByLabel('Your name').waitFor();
    await landing.getByRole('button', { name: 'Join the meeting' }).waitFor();
    assert.deepEqual(await axeViolations(landing), []);
    await screenshot(landing, 'app-prejoin');
    await landing.context().close();
    await alice.getByText('Carol').first().waitFor();
    assert.deepEqual(await axeViolations(alice), []);
    await screenshot(alice, 'app-conference-3');
  });

  it('shows every participant by name, the lib-jitsi-meet one included', async () => {
    await alice.getByRole('button', { name: 'Participants', exact: true }).click();
    const list = alice.getByRole('list', { name: 'Participant list' });
    await list.getByText('Bob').waitFor();
    await list.getByText('Carol').waitFor();
    assert.equal(await list.getByRole('listitem').count(), 3);
    await alice.getByRole('button', { name: 'Participants', exact: true }).click();
  });

  it('a chat message typed in Salon reaches the lib-jitsi-meet client, and its answer shows in Salon', async () => {
    await alice.getByRole('button', { name: 'Chat', exact: true }).click();
    await alice.getByLabel('Message', { exact: true }).fill('Bonjour from Salon <b>bold?</b>');
    await alice.keyboard.press('Enter');
    await ljm.waitForFunction(() => JSON.stringify((window as any).salonTest.events).includes('Bonjour from Salon <b>bold?</b>'), undefined, { timeout: 10_000 });
    await ljm.evaluate(() => { (window as any).salonTest.conference.sendTextMessage('Hello back from Jitsi'); });
    const log = alice.getByRole('log', { name: 'Messages' });
    await log.getByText('Hello back from Jitsi').waitFor({ timeout: 10_000 });
    await log.getByText('Bonjour from Salon <b>bold?</b>').waitFor();
    assert.equal(await log.locator('b').count(), 0, 'message text is never HTML');
    // Bob did not open the chat: his toolbar counts the unread messages.
    await bob.getByText('2 unread messages').waitFor({ state: 'attached', timeout: 10_000 });
    assert.equal(await bob.getByRole('button', { name: 'Chat', exact: true }).getAttribute('aria-describedby') !== null, true);
    await alice.getByRole('button', { name: 'Chat', exact: true }).click();
  });

  it('a screen shared from Salon is decoded by the other Salon client and by the lib-jitsi-meet client', async () => {
    const bobBefore = await salonInbound(bob);
    await alice.getByRole('button', { name: 'Share a screen or window' }).click();
    await bob.getByText('Screen of Alice').first().waitFor({ timeout: 15_000 });
    await assertReceives(() => salonInbound(bob), { audio: 2, video: 3 }, 'Bob with Alice\'s screen');
    const bobAfter = await salonInbound(bob);
    const screen = bobAfter.rtp.filter((r) => r.kind === 'video' && !bobBefore.rtp.some((b) => b.ssrc === r.ssrc));
    assert.equal(screen.length, 1, 'one new video stream: the screen');
    assert.ok(screen[0]!.frames > 10 && screen[0]!.height > 0, `the screen is decoded: ${JSON.stringify(screen)}`);
    // This lib-jitsi-meet takes one video track per participant: the screen replaces Alice's camera there.
    await assertReceives(() => ljmInbound(ljm), { audio: 2, video: 2 }, 'the lib-jitsi-meet client with Alice\'s screen');
    await alice.getByRole('button', { name: 'Share a screen or window', pressed: true }).click();
    await bob.getByText('Screen of Alice').first().waitFor({ state: 'detached', timeout: 15_000 });
  });

  it('Salon keeps the conference through a dropped signalling connection, without reloading', async () => {
    await bob.evaluate(() => { for (const ws of (window as any).__sockets as WebSocket[]) if (ws.protocol === 'xmpp') ws.close(); });
    await bob.getByText('Connection restored').waitFor({ timeout: 20_000 });
    await bob.getByRole('button', { name: 'Chat', exact: true }).click();
    await bob.getByLabel('Message', { exact: true }).fill('still here');
    await bob.keyboard.press('Enter');
    await alice.getByRole('button', { name: 'Chat', exact: true }).click();
    await alice.getByRole('log', { name: 'Messages' }).getByText('still here').waitFor({ timeout: 10_000 });
    assert.equal(await alice.getByText('Bob left the meeting').count(), 0, 'nobody saw Bob leave');
    await assertReceives(() => salonInbound(bob), { audio: 2, video: 2 }, 'Bob after the drop');
  });

  it('the moderator mutes a participant and then removes it from the participants pane', async () => {
    await alice.getByRole('button', { name: 'Participants', exact: true }).click();
    await alice.getByRole('button', { name: 'Mute – Bob' }).click();
    await bob.getByText('A moderator muted your microphone').waitFor({ timeout: 10_000 });
    await bob.getByRole('button', { name: 'Mute the microphone', pressed: true }).waitFor();
    await alice.getByRole('listitem').filter({ hasText: 'Bob' }).getByText('Microphone off', { exact: true }).waitFor({ timeout: 10_000 });
    await alice.getByRole('button', { name: 'Remove – Bob' }).click();
    await bob.getByText('You were removed from the meeting').waitFor({ timeout: 10_000 });
    await alice.getByRole('list', { name: 'Participant list' }).getByText('Bob').waitFor({ state: 'detached', timeout: 10_000 });
    // The lib-jitsi-meet client sees Bob gone too, and keeps receiving Alice.
    await ljm.waitForFunction(() => (window as any).salonTest.conference.getParticipants().length === 1, undefined, { timeout: 10_000 });
    assert.deepEqual(await ljm.evaluate(() => (window as any).salonTest.conference.getParticipants().map((p: any) => p.getDisplayName())), ['Alice']);
    await assertReceives(() => ljmInbound(ljm), { audio: 1, video: 1 }, 'the lib-jitsi-meet client after Bob left');
  });
});
