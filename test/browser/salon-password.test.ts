/**
 * A room locked with a password, in Salon's own web client served by a real Salon (Chromium, fake
 * devices): the moderator sets the password from the participants pane; a newcomer is asked for
 * it, refused with a message when it is wrong, and let in with the right one; a page framed by
 * Jitsi's iframe API gets `passwordRequired`, answers with `executeCommand('password', …)`, and
 * says `readyToClose` when the moderator removes it.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { TestServer } from '../integration/harness.ts';
import type { BrowserHarness } from './chromium.ts';
import { axeViolations, screenshot } from './fixtures/ui-page.ts';
import { startIntegratorRig, type IntegratorRig } from './fixtures/integrator-page.ts';
import { joinSalon, pressJoin } from './salon-page.ts';

type AnyWindow = Record<string, any>;


/** The names of the iframe API events the integrator page received so far. */
function eventNames(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as AnyWindow).events.map((e: { name: string }) => e.name));
}

/** Waits until the integrator page has received `count` events called `name`. */
async function waitForEvents(page: Page, name: string, count: number, timeout: number): Promise<void> {
  const ok = await page.waitForFunction(
    ([n, c]) => (window as unknown as AnyWindow).events.filter((e: { name: string }) => e.name === n).length >= (c as number),
    [name, count] as const, { timeout },
  ).then(() => true, () => false);
  if (!ok) assert.fail(`fewer than ${count} ${name} event(s) within ${timeout} ms; got: ${JSON.stringify(await eventNames(page))}`);
}

describe('Salon web client: a room locked with a password', function () {
  this.timeout(120_000);
  let rig: IntegratorRig;
  let server: TestServer;
  let browser: BrowserHarness;
  let alice: Page;
  const room = 'LockedSalon1';
  const password = 'correct horse';

  before(async () => {
    rig = await startIntegratorRig();
    ({ server, browser } = rig);
    alice = await joinSalon(browser, server.httpOrigin, room, 'Alice', { label: 'alice' });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.SALON_BROWSER_LOG === 'dump') console.log(browser?.dumpLogs().slice(-30_000));
    await rig?.close();
  });

  it('the moderator locks the room from the participants pane', async () => {
    await alice.getByRole('button', { name: 'Participants', exact: true }).click();
    await alice.getByLabel('Room password').fill(password);
    await alice.getByRole('button', { name: 'Apply the password' }).click();
    await alice.getByText('The room password was updated.').waitFor();
  });

  it('a newcomer is asked for the password, refused with a message when it is wrong, let in with the right one', async () => {
    const bob = await browser.newPage(`${server.httpOrigin}/${room}`, { locale: 'en-GB', label: 'bob' });
    await pressJoin(bob, 'Bob');
    const field = bob.getByLabel('Password of the meeting');
    await field.waitFor({ timeout: 20_000 });
    await bob.getByText('This meeting is protected by a password.').waitFor();
    assert.equal(await field.getAttribute('type'), 'password');
    assert.equal(await field.getAttribute('autocomplete'), 'off');
    assert.equal(await bob.getByText('This password is not the right one', { exact: false }).count(), 0, 'no error before any password was tried');

    await field.fill('wrong horse');
    await bob.getByRole('button', { name: 'Join', exact: true }).click();
    const error = bob.getByText('This password is not the right one. Check it and try again.');
    await error.waitFor({ timeout: 20_000 });
    const again = bob.getByLabel('Password of the meeting');
    assert.equal(await again.getAttribute('aria-invalid'), 'true');
    assert.equal(await again.evaluate((el) => el === document.activeElement), true, 'the field has the focus, read with its error');
    assert.equal(await alice.getByRole('list', { name: 'Participant list' }).getByText('Bob').count(), 0, 'Bob is not in the room');
    assert.deepEqual(await axeViolations(bob), []);
    await screenshot(bob, 'app-password-wrong');

    await again.fill(password);
    await bob.getByRole('button', { name: 'Join', exact: true }).click();
    await bob.getByRole('button', { name: 'Leave the meeting' }).waitFor({ timeout: 20_000 });
    await alice.getByRole('list', { name: 'Participant list' }).getByText('Bob').waitFor({ timeout: 10_000 });
    await bob.context().close();
    await alice.getByRole('list', { name: 'Participant list' }).getByText('Bob').waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('a framed page gets passwordRequired and joins with executeCommand("password"); removed, it says readyToClose', async () => {
    const integrator = await browser.newPage(rig.integratorUrl(room, 'Carol'), { label: 'integrator' });
    await waitForEvents(integrator, 'passwordRequired', 1, 30_000);
    await integrator.evaluate(() => (window as unknown as AnyWindow).api.executeCommand('password', 'wrong horse'));
    await waitForEvents(integrator, 'passwordRequired', 2, 20_000);
    await integrator.evaluate((pw) => (window as unknown as AnyWindow).api.executeCommand('password', pw), password);
    await waitForEvents(integrator, 'videoConferenceJoined', 1, 30_000);
    const list = alice.getByRole('list', { name: 'Participant list' });
    await list.getByText('Carol').waitFor({ timeout: 10_000 });

    await alice.getByRole('button', { name: 'Remove – Carol' }).click();
    await waitForEvents(integrator, 'readyToClose', 1, 20_000);
    const calls = ['passwordRequired', 'videoConferenceJoined', 'videoConferenceLeft', 'readyToClose'];
    assert.deepEqual((await eventNames(integrator)).filter((n) => calls.includes(n)), ['passwordRequired', 'passwordRequired', 'videoConferenceJoined', 'videoConferenceLeft', 'readyToClose']);
    await list.getByText('Carol').waitFor({ state: 'detached', timeout: 10_000 });
  });
});
