/**
 * Moderation from Salon's own web client on a real Salon, with another Salon client and a
 * lib-jitsi-meet participant (the real one, pinned) in the room (Chromium, fake devices):
 * "mute everyone" mutes both (remote mute through the focus, protocol notes §4.5); microphone
 * moderation (the A/V moderation component, lib-jitsi-meet AVModeration.js) makes the other Salon
 * client ask to speak and the moderator allow it; "end the meeting for everyone" (the
 * end-conference component) ends it on every client.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { joinWithMedia, startLjmRig, type LjmRig } from './ljm-rig.ts';
import { joinSalon } from './salon-page.ts';

type AnyWindow = Record<string, any>;

interface LjmEvent { key: string; name: string; args: unknown[] }

async function ljmEvent(page: Page, keyOrName: string, from = 0, timeoutMs = 20_000): Promise<LjmEvent> {
  const event = await page.evaluate(([k, f, t]) => (window as unknown as AnyWindow).salonTest.waitForEvent(k, t, f), [keyOrName, from, timeoutMs] as const);
  if (!event) {
    const seen = await page.evaluate(() => (window as unknown as AnyWindow).salonTest.events.map((e: LjmEvent) => e.key).slice(-40));
    assert.fail(`no ${keyOrName} within ${timeoutMs} ms; last events: ${seen.join(', ')}`);
  }
  return event as LjmEvent;
}

/** A lib-jitsi-meet participant with a microphone in `room`, once joined. */
async function ljmParticipant(rig: LjmRig, room: string, label: string): Promise<Page> {
  const page = await rig.browser.newPage(rig.pageUrl, { label });
  await page.waitForFunction(() => (window as unknown as AnyWindow).salonTest !== undefined);
  const started = await joinWithMedia(page, room, { devices: ['audio'] });
  assert.equal(started.ok, true, JSON.stringify(started));
  await ljmEvent(page, 'CONFERENCE_JOINED');
  return page;
}

/** What AV_MODERATION_CHANGED says: `{ enabled, mediaType, actor }` (the actor as a participant). */
function pick(arg: unknown): { enabled: unknown; mediaType: unknown; actor: unknown } {
  const a = arg as { enabled?: unknown; mediaType?: unknown; actor?: { displayName?: unknown } };
  return { enabled: a.enabled, mediaType: a.mediaType, actor: a.actor?.displayName };
}

const ljmAudioMuted = (page: Page): Promise<boolean> =>
  page.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.getLocalAudioTrack()?.isMuted() === true);

describe('moderation from Salon\'s web client, with lib-jitsi-meet in the room', function () {
  this.timeout(180_000);
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ media: true, env: { ENABLE_AV_MODERATION: 'true', ENABLE_END_CONFERENCE: 'true' } });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.SALON_BROWSER_LOG === 'dump') console.log(rig?.browser.dumpLogs().slice(-40_000));
    await rig?.close();
  });

  describe('in one room', () => {
    const room = 'moderatedsalon';
    let alice: Page;
    let bob: Page;
    let carol: Page;

    before(async () => {
      alice = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Alice', { label: 'alice' });
      bob = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Bob', { label: 'bob' });
      carol = await ljmParticipant(rig, room, 'carol');
      await alice.getByRole('button', { name: 'Participants', exact: true }).click();
      const list = alice.getByRole('list', { name: 'Participant list' });
      await list.getByText('Bob').waitFor({ timeout: 20_000 });
    });

    it('mute everyone mutes the other Salon client and the lib-jitsi-meet participant', async () => {
      assert.equal(await bob.getByRole('button', { name: 'Mute the microphone' }).getAttribute('aria-pressed'), 'false', 'Bob speaks');
      assert.equal(await ljmAudioMuted(carol), false, 'Carol speaks');
      await alice.getByRole('button', { name: 'Mute everyone' }).click();
      await bob.getByText('A moderator muted your microphone').waitFor({ timeout: 20_000 });
      await bob.waitForFunction(() => document.querySelector('[aria-keyshortcuts="M"]')?.getAttribute('aria-pressed') === 'true', undefined, { timeout: 10_000 });
      await carol.waitForFunction(() => (window as unknown as AnyWindow).salonTest.conference.getLocalAudioTrack()?.isMuted() === true, undefined, { timeout: 20_000 });
      assert.equal(await alice.getByRole('button', { name: 'Mute the microphone' }).getAttribute('aria-pressed'), 'false', 'the moderator keeps speaking');
    });

    it('with self-unmute off, Bob asks to speak, Alice allows him, and lib-jitsi-meet hears of the moderation', async () => {
      const from = await carol.evaluate(() => (window as unknown as AnyWindow).salonTest.events.length);
      const selfUnmute = alice.getByRole('switch', { name: 'Let participants unmute themselves' });
      await selfUnmute.waitFor({ timeout: 20_000 });
      await selfUnmute.uncheck();
      const changed = await ljmEvent(carol, 'AV_MODERATION_CHANGED', from);
      assert.deepEqual(pick(changed.args[0]), { enabled: true, mediaType: 'audio', actor: 'Alice' });
      await bob.getByText('Microphones are moderated: raise your hand to ask to speak').waitFor({ timeout: 20_000 });

      const ask = bob.getByRole('button', { name: 'Ask to speak (microphones are moderated)' });
      await ask.click();
      await bob.getByText('Microphones are moderated: your hand is raised to ask to speak').waitFor();
      assert.equal(await ask.getAttribute('aria-pressed'), 'true', 'still muted');
      await alice.getByRole('button', { name: 'Allow to speak – Bob' }).click({ timeout: 20_000 });
      await bob.getByText('You may unmute now').waitFor({ timeout: 20_000 });
      const mic = bob.getByRole('button', { name: 'Mute the microphone' });
      await mic.click();
      await bob.waitForFunction(() => document.querySelector('[aria-keyshortcuts="M"]')?.getAttribute('aria-pressed') === 'false', undefined, { timeout: 10_000 });

      await selfUnmute.check();
      const changes = await carol.evaluate(([f]) => (window as unknown as AnyWindow).salonTest.events.slice(f), [from] as const);
      const back = await ljmEvent(carol, 'AV_MODERATION_CHANGED', from + changes.findIndex((e: LjmEvent) => e.key === 'AV_MODERATION_CHANGED') + 1);
      assert.deepEqual(pick(back.args[0]), { enabled: false, mediaType: 'audio', actor: 'Alice' });
    });
  });

  it('ending the meeting for everyone reaches the other Salon client and lib-jitsi-meet', async () => {
    const room = 'endedsalon';
    const alice = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Alice', { label: 'alice-end' });
    const bob = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Bob', { label: 'bob-end' });
    const carol = await ljmParticipant(rig, room, 'carol-end');
    const from = await carol.evaluate(() => (window as unknown as AnyWindow).salonTest.events.length);
    await alice.getByRole('button', { name: 'Leave the meeting' }).click();
    const dialog = alice.getByRole('dialog', { name: 'Leave the meeting?' });
    await dialog.getByRole('button', { name: 'End the meeting for everyone' }).click({ timeout: 20_000 });
    await bob.getByRole('heading', { name: 'The meeting has ended' }).waitFor({ timeout: 20_000 });
    const failed = await ljmEvent(carol, 'CONFERENCE_FAILED', from);
    assert.equal(failed.args[0], 'conference.destroyed');
    await alice.getByRole('heading', { name: 'The meeting has ended' }).waitFor({ timeout: 20_000 });
  });
});
