/**
 * The end screen of a room locked with a password, in Chromium with the fake conference and in
 * French: the labelled password field, the message for an empty password, no axe-core violation,
 * and Rejoindre starting a new conference.
 */
import assert from 'node:assert/strict';
import { axeViolations, joinFromPrejoin, screenshot, useUiRig, waitForFocus } from './fixtures/ui-page.ts';

describe('views: joining a room locked with a password', function () {
  this.timeout(60_000);
  const ui = useUiRig();

  it('asks for the password in French, refuses an empty one, and joins again with one', async () => {
    const page = await ui.rig.open('/ReunionSecrete', 'fr-FR');
    await joinFromPrejoin(page);
    const first = await page.evaluateHandle(() => window.__fake);
    await page.evaluate(() => window.__fake?.setPhase({ name: 'failed', error: 'password-required' }));

    const field = page.getByLabel('Mot de passe de la réunion');
    await field.waitFor();
    await page.getByText('Cette réunion est protégée par un mot de passe.').waitFor();
    await waitForFocus(field, 'the password field');
    assert.equal(await field.getAttribute('type'), 'password');
    assert.equal(await page.getByRole('button', { name: 'Rejoindre à nouveau' }).count(), 0, 'no plain rejoin: it would be refused');

    await page.getByRole('button', { name: 'Rejoindre', exact: true }).click();
    await page.getByText('Saisissez le mot de passe de la réunion.').waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await axeViolations(page), []);
    await screenshot(page, 'password-empty-fr');

    await field.fill('sésame');
    await page.getByRole('button', { name: 'Rejoindre', exact: true }).click();
    await page.locator('[role="toolbar"]').waitFor();
    assert.equal(await page.evaluate((old) => window.__fake !== old, first), true, 'a new conference was created');
  });
});
