/**
 * The views in Chromium with a fake conference: axe-core finds no WCAG 2.1 A/AA violation on the
 * landing page, the pre-join screen and a three-person conference with its chat and participants
 * panels, in English and in French; screenshots go to SALON_SCREENSHOTS when it is set.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { axeViolations, joinFromPrejoin, screenshot, useUiRig } from './fixtures/ui-page.ts';

const LOCALES = [['en', 'en-GB'], ['fr', 'fr-FR']] as const;

function assertNoViolations(violations: Awaited<ReturnType<typeof axeViolations>>, where: string): void {
  assert.deepEqual(violations, [], `${where}: axe-core violations:\n${JSON.stringify(violations, null, 2)}`);
}

async function waitForVideos(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => {
    const playing = Array.from(document.querySelectorAll('video')).filter((v) => v.readyState >= 2 && v.videoWidth > 0);
    return playing.length >= n;
  }, count);
}

describe('views: accessibility and look', function () {
  this.timeout(60_000);
  const ui = useUiRig();

  it('axe-core really runs: an image without a text alternative is reported', async () => {
    const page = await ui.rig.open('/', 'en-GB');
    await page.locator('h1').waitFor();
    await page.evaluate(() => {
      const img = document.createElement('img');
      img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
      document.querySelector('main')?.append(img);
    });
    const ids = (await axeViolations(page)).map((v) => v.id);
    assert.ok(ids.includes('image-alt'), `expected image-alt among ${ids.join(', ')}`);
  });

  it('at 360 px wide nothing scrolls sideways (WCAG 1.4.10): pre-join, conference, chat', async () => {
    const narrow = { width: 360, height: 740 };
    const page = await ui.rig.open('/ReunionEquipe', 'fr-FR', narrow);
    await waitForVideos(page, 1);
    const overflow = (): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.equal(await overflow(), 0, 'pre-join overflows horizontally');
    await screenshot(page, 'narrow-prejoin');
    await joinFromPrejoin(page);
    await waitForVideos(page, 2);
    assert.equal(await overflow(), 0, 'conference overflows horizontally');
    await screenshot(page, 'narrow-conference');
    await page.locator('[data-panel="chat"]').click();
    await page.locator('.chat textarea').waitFor();
    assert.equal(await overflow(), 0, 'chat overflows horizontally');
    await screenshot(page, 'narrow-chat');
  });

  it('speaker view with a shared screen, the settings and document panels, the dialogs and the end screen have no axe violation', async () => {
    const page = await ui.rig.open('/ReunionEquipe?others=3', 'en-GB');
    await joinFromPrejoin(page);
    await page.evaluate(() => {
      const canvas = document.createElement('canvas');
      canvas.width = 1280;
      canvas.height = 720;
      const ctx = canvas.getContext('2d');
      // No named inner functions here: the test runner's transform would wrap them in a function
      // the page does not have.
      setInterval(() => {
        if (!ctx) return;
        ctx.fillStyle = '#f4f4f4';
        ctx.fillRect(0, 0, 1280, 720);
        ctx.fillStyle = '#143c8c';
        ctx.fillRect(80, 80, 1120, 90);
        ctx.fillStyle = '#bbb';
        for (let y = 220; y < 640; y += 50) ctx.fillRect(80, y, 700 + ((y * 7) % 300), 22);
      }, 100);
      const stream = canvas.captureStream(5);
      window.__fake?.update((s) => ({
        ...s,
        remoteMedia: [...s.remoteMedia, { participantId: 'bernard', kind: 'screen', stream }],
        participants: new Map([...s.participants].map(([id, p]) => [id, id === 'bernard' ? { ...p, screenSharing: true } : p])),
      }));
    });
    await page.keyboard.press('w');
    await page.locator('.speaker-large .tile-video--screen').waitFor();
    await waitForVideos(page, 4);
    assert.equal(await page.locator('.speaker-large [data-participant="bernard"]').count(), 1);
    assertNoViolations(await axeViolations(page), 'speaker view with screen share');
    await screenshot(page, 'speaker-screen-share');

    await page.locator('[data-panel="settings"]').click();
    await page.locator('.settings').waitFor();
    assertNoViolations(await axeViolations(page), 'settings panel');
    await screenshot(page, 'settings');

    await page.locator('[data-panel="document"]').click();
    await page.locator('.fake-editor').waitFor();
    assertNoViolations(await axeViolations(page), 'document panel');
    await screenshot(page, 'document');

    await page.locator('[aria-keyshortcuts="?"]').click();
    await page.locator('dialog[open]').waitFor();
    assertNoViolations(await axeViolations(page), 'shortcuts dialog');
    await screenshot(page, 'shortcuts');
    await page.keyboard.press('Escape');
    await page.locator('dialog').waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-keyshortcuts')), '?', 'focus went back to the opener');

    await page.locator('.tool--danger').click();
    await page.locator('dialog[open]').waitFor();
    assertNoViolations(await axeViolations(page), 'leave dialog');
    await screenshot(page, 'leave');
    await page.locator('dialog[open] .button--danger-solid').first().click(); // Leave (the next one ends the meeting for everyone)
    await page.locator('.card h1').waitFor();
    assertNoViolations(await axeViolations(page), 'end screen');
    await screenshot(page, 'end');
  });

  for (const [lang, locale] of LOCALES) {
    it(`the landing page has no axe violation (${lang}), in the browser's language`, async () => {
      const page = await ui.rig.open('/', locale);
      await page.locator('h1').waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
      assertNoViolations(await axeViolations(page), `landing ${lang}`);
      await screenshot(page, `landing-${lang}`);
    });

    it(`the pre-join screen has no axe violation with the camera preview running (${lang})`, async () => {
      const page = await ui.rig.open('/ReunionEquipe', locale);
      await page.locator('input[name="displayName"]').waitFor();
      await waitForVideos(page, 1);
      assertNoViolations(await axeViolations(page), `pre-join ${lang}`);
      await screenshot(page, `prejoin-${lang}`);
    });

    it(`a three-person conference with chat, then participants open has no axe violation (${lang})`, async () => {
      const page = await ui.rig.open('/ReunionEquipe', locale);
      await joinFromPrejoin(page);
      await waitForVideos(page, 2);
      assert.equal(await page.locator('.tile').count(), 3);
      assertNoViolations(await axeViolations(page), `conference ${lang}`);
      await screenshot(page, `conference-${lang}`);

      await page.evaluate(() => window.__fake?.receiveMessage('Bonjour à tous, voici le lien https://example.org/ordre-du-jour', 'alice'));
      await page.locator('[data-panel="chat"]').click();
      await page.locator('.messages li').first().waitFor();
      assertNoViolations(await axeViolations(page), `conference+chat ${lang}`);
      await screenshot(page, `conference-chat-${lang}`);

      await page.locator('[data-panel="participants"]').click();
      await page.locator('.people-list').waitFor();
      assert.equal(await page.locator('.people-list > li').count(), 3);
      assertNoViolations(await axeViolations(page), `conference+participants ${lang}`);
      await screenshot(page, `conference-participants-${lang}`);
    });
  }
});
