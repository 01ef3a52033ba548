/**
 * The moderation views in Chromium with the fake conference, in English and in French, each
 * checked with axe-core: the lobby's knock and waiting screens and the refusal; the moderator's
 * lobby switch, the people waiting (admit, deny) and the knock notice; mute everyone, microphone
 * moderation and "allow to speak"; a participant's microphone asking to speak; ending the meeting
 * for everyone from the leave dialog; the host's sign-in while waiting (token link, password form).
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { en } from '../../web/client/i18n/en.ts';
import { fr } from '../../web/client/i18n/fr.ts';
import type { Messages } from '../../web/client/i18n/en.ts';
import { axeViolations, joinFromPrejoin, screenshot, useUiRig, waitForFocus } from './fixtures/ui-page.ts';

async function fakeCalls(page: Page, method: string): Promise<unknown[][]> {
  return page.evaluate((m) => (window.__fake?.calls ?? []).filter((c) => c.method === m).map((c) => [...c.args]), method);
}

async function assertAxeClean(page: Page, where: string): Promise<void> {
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `${where}: axe-core violations:\n${JSON.stringify(violations, null, 2)}`);
}

const LANGUAGES = [['en', 'en-GB', en], ['fr', 'fr-FR', fr]] as const satisfies ReadonlyArray<readonly [string, 'en-GB' | 'fr-FR', Messages]>;

describe('views: moderation', function () {
  this.timeout(60_000);
  const ui = useUiRig();

  for (const [lang, locale, t] of LANGUAGES) {
    it(`${lang}: a knocker gives its name, asks to join, waits, and is told of a refusal`, async () => {
      const page = await ui.rig.open('/ReunionPrivee', locale);
      await joinFromPrejoin(page, 'Kim Lefèvre');
      await page.evaluate(() => window.__fake?.setPhase({ name: 'lobby', step: 'knock' }));
      const heading = page.getByRole('heading', { name: t['lobby.title'] });
      await heading.waitFor();
      await waitForFocus(heading, 'the heading');
      const name = page.getByLabel(t['lobby.nameLabel']);
      assert.equal(await name.inputValue(), 'Kim Lefèvre', 'the pre-join name is offered');
      await name.fill('  ');
      await page.getByRole('button', { name: t['lobby.knock'] }).click();
      await page.getByRole('alert').filter({ hasText: t['lobby.nameRequired'] }).waitFor();
      assert.equal(await name.getAttribute('aria-invalid'), 'true');
      assert.equal(await name.evaluate((el) => el === document.activeElement), true, 'the field takes the focus back');
      await assertAxeClean(page, 'knock with an error');
      await name.fill('Kim L.');
      await name.press('Enter');
      await page.getByRole('heading', { name: t['lobby.waitingTitle'] }).waitFor();
      assert.deepEqual(await fakeCalls(page, 'knock'), [['Kim L.']]);
      await page.getByRole('status').filter({ hasText: t['lobby.waitingBody'] }).waitFor();
      await assertAxeClean(page, 'waiting in the lobby');
      await screenshot(page, `lobby-waiting-${lang}`);
      await page.evaluate(() => window.__fake?.setPhase({ name: 'left', reason: 'denied' }));
      await page.getByRole('heading', { name: t['end.denied'] }).waitFor();
      await assertAxeClean(page, 'refused');
    });

    it(`${lang}: a moderator turns the lobby on, hears a knock, admits and denies, mutes everyone and moderates microphones`, async () => {
      const page = await ui.rig.open('/ReunionPrivee?others=3', locale);
      await joinFromPrejoin(page);
      await page.locator('[data-panel="participants"]').click();
      // The signed-in agent (this moderator) is marked as such; the three guests are not.
      const agentTags = page.locator('.person .tag', { hasText: new RegExp(`^${t['people.verified']}$`) });
      await agentTags.first().waitFor();
      assert.equal(await agentTags.count(), 1);
      assert.equal(await agentTags.getAttribute('title'), t['people.verifiedHint']);
      const lobby = page.getByRole('switch', { name: t['people.lobby'] });
      await lobby.waitFor();
      assert.equal(await lobby.isChecked(), false);
      // Refused: the switch shows the room's state again at once.
      await lobby.check();
      assert.equal(await lobby.getAttribute('aria-busy'), 'true');
      await page.evaluate(() => window.__fake?.refuseLobby());
      await page.waitForFunction(() => !document.querySelector('[role="switch"][aria-busy]'));
      assert.equal(await lobby.isChecked(), false, 'a refused change shows the room\'s state');
      // Taken: until the room's state follows, the switch shows what was asked, busy, through other
      // renders, and takes no second click.
      await lobby.check();
      assert.deepEqual(await fakeCalls(page, 'setLobbyEnabled'), [[true], [true]]);
      assert.equal(await lobby.getAttribute('aria-busy'), 'true');
      await page.evaluate(() => window.__fake?.receiveMessage('Bonjour', 'alice'));
      await page.getByText('Bonjour').first().waitFor({ state: 'attached' });
      assert.equal(await lobby.isChecked(), true, 'a render before the confirmation does not flip the switch back');
      await lobby.click();
      assert.equal(await lobby.isChecked(), true, 'a click while busy is not taken');
      assert.equal((await fakeCalls(page, 'setLobbyEnabled')).length, 2);
      await page.evaluate(() => window.__fake?.confirmLobby());
      await page.waitForFunction(() => !document.querySelector('[role="switch"][aria-busy]'));
      assert.equal(await lobby.isChecked(), true);

      await page.evaluate(() => {
        window.__fake?.addKnocker('k1', 'Kim Lefèvre');
        window.__fake?.addKnocker('k2', 'Lou Bernard');
      });
      await page.locator('.notices[aria-live="polite"] .toast').filter({ hasText: t['notice.knocking'].replace('{name}', 'Lou Bernard') }).waitFor();
      await page.getByRole('heading', { name: t['people.waiting'].replace('{count}', '2') }).waitFor();
      // The participants button says it too, for when the panel is closed and the notice gone.
      assert.equal(await page.locator('#' + await page.locator('[data-panel="participants"]').getAttribute('aria-describedby')).textContent(),
        t['toolbar.waiting.other'].replace('{count}', '2'));
      await assertAxeClean(page, 'participants with people waiting');
      await screenshot(page, `lobby-moderator-${lang}`);
      await page.getByRole('button', { name: `${t['people.admit']} – Kim Lefèvre` }).click();
      await page.getByRole('button', { name: `${t['people.deny']} – Lou Bernard` }).click();
      assert.deepEqual(await fakeCalls(page, 'admitKnocker'), [['k1']]);
      assert.deepEqual(await fakeCalls(page, 'denyKnocker'), [['k2']]);
      await page.getByRole('heading', { name: t['people.waiting'].replace('{count}', '2') }).waitFor({ state: 'detached' });

      await page.getByRole('button', { name: t['people.muteAll'] }).click();
      assert.deepEqual(await fakeCalls(page, 'muteEveryone'), [[]]);
      const selfUnmute = page.getByRole('switch', { name: t['people.selfUnmute'] });
      assert.equal(await selfUnmute.isChecked(), true);
      await selfUnmute.press('Space');
      assert.deepEqual(await fakeCalls(page, 'setAudioModeration'), [[true]]);
      await page.evaluate(() => window.__fake?.setAudioModerated(true));
      // Bernard has his hand up in the fake's cast.
      await page.getByRole('button', { name: `${t['people.allowSpeak']} – Bernard Dupont` }).click();
      assert.deepEqual(await fakeCalls(page, 'allowToSpeak'), [['bernard']]);
      await page.getByRole('button', { name: `${t['people.allowSpeak']} – Bernard Dupont` }).waitFor({ state: 'detached' });
      assert.equal(await page.getByRole('button', { name: `${t['people.allowSpeak']} – Alice Martin` }).count(), 0, 'only raised hands');
      await assertAxeClean(page, 'moderation controls');
    });

    it(`${lang}: a moderator ends the meeting for everyone from the leave dialog`, async () => {
      const page = await ui.rig.open('/ReunionPrivee', locale);
      await joinFromPrejoin(page);
      await page.getByRole('button', { name: t['toolbar.leave'] }).click();
      const dialog = page.getByRole('dialog', { name: t['leave.title'] });
      await dialog.waitFor();
      await dialog.getByText(t['leave.moderatorBody']).waitFor();
      await assertAxeClean(page, 'leave dialog of a moderator');
      await dialog.getByRole('button', { name: t['leave.endForEveryone'] }).click();
      await page.getByRole('heading', { name: t['end.ended'] }).waitFor();
      assert.deepEqual(await fakeCalls(page, 'endForEveryone'), [[]]);
      assert.deepEqual(await fakeCalls(page, 'leave'), [], 'ending is not leaving');
    });

    it(`${lang}: with microphones moderated, a participant's microphone button asks to speak`, async () => {
      const page = await ui.rig.open('/ReunionPrivee?moderator=0', locale);
      await joinFromPrejoin(page);
      await page.locator('.prejoin-form').waitFor({ state: 'detached' });
      assert.equal(await page.getByRole('button', { name: t['leave.endForEveryone'] }).count(), 0);
      await page.getByRole('button', { name: t['toolbar.mute'] }).click(); // muted now
      await page.evaluate(() => window.__fake?.setAudioModerated(true));
      await page.locator('.toast').filter({ hasText: t['notice.audio-moderation-on'] }).waitFor();
      const ask = page.getByRole('button', { name: t['toolbar.askToSpeak'] });
      await ask.waitFor();
      assert.equal(await ask.getAttribute('aria-pressed'), 'true');
      await page.locator('[data-panel="participants"]').click();
      assert.equal(await page.getByRole('switch').count(), 0, 'no moderation switches for participants');
      assert.equal(await page.locator('.person .tag', { hasText: new RegExp(`^${t['people.verified']}$`) }).count(), 0, 'a guest is not marked as an agent');
      await assertAxeClean(page, 'participant with moderated microphones');
      // Leaving goes straight out: nothing to end, no document.
      await page.getByRole('button', { name: t['toolbar.leave'] }).click();
      await page.getByRole('heading', { name: t['end.hangup'] }).waitFor();
    });

    it(`${lang}: the host signs in while waiting, with a password or through the token service`, async () => {
      const page = await ui.rig.open('/ReunionPrivee?moderator=0', locale);
      await joinFromPrejoin(page);
      await page.evaluate(() => window.__fake?.setPhase({ name: 'waiting-for-host', signIn: { kind: 'password' } }));
      await page.getByRole('button', { name: t['wait.hostSignIn'] }).click();
      const user = page.getByLabel(t['wait.username']);
      await user.waitFor();
      await waitForFocus(user, 'the username field');
      await page.getByRole('button', { name: t['wait.signIn'], exact: true }).click();
      await page.getByRole('alert').filter({ hasText: t['wait.signInEmpty'] }).waitFor();
      await user.fill('alice');
      await page.getByLabel(t['wait.password'], { exact: true }).fill('wrong');
      await page.getByRole('button', { name: t['wait.signIn'], exact: true }).click();
      await page.getByRole('alert').filter({ hasText: t['wait.signInWrong'] }).waitFor();
      assert.equal(await user.getAttribute('aria-invalid'), 'true');
      await assertAxeClean(page, 'sign-in refused');
      await screenshot(page, `host-sign-in-${lang}`);
      await page.getByLabel(t['wait.password'], { exact: true }).fill('sesame');
      await page.getByLabel(t['wait.password'], { exact: true }).press('Enter');
      await page.getByRole('status').filter({ hasText: t['wait.signedIn'] }).waitFor();
      assert.deepEqual(await fakeCalls(page, 'signIn'), [['alice', 'wrong'], ['alice', 'sesame']]);

      await page.evaluate(() => window.__fake?.setPhase({ name: 'joined' }));
      await page.evaluate(() => window.__fake?.setPhase({ name: 'waiting-for-host', signIn: { kind: 'url', url: 'https://sso.example/auth/oidc/login?room=ReunionPrivee' } }));
      const link = page.getByRole('link', { name: t['wait.hostSignIn'] });
      await link.waitFor();
      assert.equal(await link.getAttribute('href'), 'https://sso.example/auth/oidc/login?room=ReunionPrivee');
      await assertAxeClean(page, 'token sign-in link');
    });
  }
});
