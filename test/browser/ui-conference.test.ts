/**
 * The views' behaviour in Chromium with a fake conference: chat text is never interpreted as HTML
 * and only http(s) links become links, the toolbar is reachable by Tab in order, shortcuts act
 * but not while typing, and the landing page validates room names.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { en } from '../../web/client/i18n/en.ts';
import { joinFromPrejoin, useUiRig, waitForFocus } from './fixtures/ui-page.ts';

async function fakeCalls(page: Page, method: string): Promise<unknown[][]> {
  return page.evaluate((m) => (window.__fake?.calls ?? []).filter((c) => c.method === m).map((c) => [...c.args]), method);
}

async function waitForCalls(page: Page, method: string, count: number): Promise<unknown[][]> {
  await page.waitForFunction(([m, n]) => (window.__fake?.calls ?? []).filter((c) => c.method === m).length >= Number(n), [method, count]);
  return fakeCalls(page, method);
}

describe('views: behaviour', function () {
  this.timeout(60_000);
  const ui = useUiRig();

  it('chat messages are shown as text: no markup runs or is inserted, only the https URL becomes a link', async () => {
    const page = await ui.rig.open('/ReunionEquipe', 'en-GB');
    await joinFromPrejoin(page);
    const hostile = [
      '<script>window.__pwned=1</script>',
      '<img src=x onerror="window.__pwned=1">',
      'javascript:alert(1)',
      'see https://example.org/a?b=1&c=<x>',
    ];
    await page.evaluate((texts) => {
      for (const text of texts) window.__fake?.receiveMessage(text, 'alice');
    }, hostile);
    // Closed chat: a badge counts them, and the button's description says so in words.
    await page.locator('.badge').filter({ hasText: String(hostile.length) }).waitFor();
    const described = await page.evaluate(() => {
      const id = document.querySelector('[data-panel="chat"]')?.getAttribute('aria-describedby');
      return id ? document.getElementById(id)?.textContent : undefined;
    });
    assert.equal(described, `${hostile.length} unread messages`);
    await page.locator('[data-panel="chat"]').click();
    await page.locator('.messages > li').nth(hostile.length - 1).waitFor();
    assert.equal(await page.locator('.badge').count(), 0);

    const rendered = await page.evaluate(() => ({
      pwned: (window as { __pwned?: unknown }).__pwned,
      texts: Array.from(document.querySelectorAll('.message-text')).map((p) => p.textContent),
      injected: document.querySelectorAll('.messages script, .messages img, .messages iframe, body img').length,
      elementsInTexts: Array.from(document.querySelectorAll('.message-text *')).map((el) => el.tagName),
      links: Array.from(document.querySelectorAll('.message-text a')).map((a) => ({
        href: a.getAttribute('href'), rel: a.getAttribute('rel'), target: a.getAttribute('target'), text: a.textContent,
      })),
    }));
    assert.equal(rendered.pwned, undefined);
    assert.deepEqual(rendered.texts, hostile);
    assert.equal(rendered.injected, 0);
    assert.deepEqual(rendered.elementsInTexts, ['A']);
    assert.equal(rendered.links.length, 1);
    const [link] = rendered.links;
    assert.equal(link?.href, 'https://example.org/a?b=1&c=');
    assert.equal(link?.text, 'https://example.org/a?b=1&c=');
    assert.equal(link?.target, '_blank');
    assert.deepEqual(link?.rel?.split(' ').sort(), ['noopener', 'noreferrer']);
  });

  it('Tab reaches every toolbar button in order, and each has a name; toggles state aria-pressed', async () => {
    const page = await ui.rig.open('/ReunionEquipe', 'en-GB');
    await joinFromPrejoin(page);
    const buttons = await page.evaluate(() => {
      const all = Array.from(document.querySelectorAll<HTMLButtonElement>('[role="toolbar"] button'));
      all.forEach((b, i) => { b.dataset.order = String(i); });
      return all.map((b) => ({ label: b.getAttribute('aria-label'), pressed: b.getAttribute('aria-pressed') }));
    });
    assert.ok(buttons.length >= 10, `only ${buttons.length} toolbar buttons`);
    for (const b of buttons) assert.ok(b.label && b.label.length > 0, 'a toolbar button has no aria-label');
    const pressedCount = buttons.filter((b) => b.pressed === 'true' || b.pressed === 'false').length;
    assert.ok(pressedCount >= 8, `only ${pressedCount} toggles expose aria-pressed`);

    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const reached: number[] = [];
    for (let i = 0; i < 60 && reached.length < buttons.length; i++) {
      await page.keyboard.press('Tab');
      const order = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.order);
      if (order !== undefined && reached[reached.length - 1] !== Number(order)) reached.push(Number(order));
    }
    assert.deepEqual(reached, buttons.map((_, i) => i));
  });

  it('M mutes through the controller, R raises the hand, ? opens the help; typing in the chat box triggers nothing', async () => {
    const page = await ui.rig.open('/ReunionEquipe', 'en-GB');
    await joinFromPrejoin(page);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());

    await page.keyboard.press('m');
    assert.deepEqual(await waitForCalls(page, 'setAudioMuted', 1), [[true]]);
    assert.equal(await page.getAttribute(`[aria-label="${en['toolbar.mute']}"]`, 'aria-pressed'), 'true');
    await page.keyboard.press('r');
    assert.deepEqual(await waitForCalls(page, 'setRaisedHand', 1), [[true]]);

    await page.keyboard.press('Shift+?');
    await page.locator('dialog[open]').waitFor();
    assert.equal(await page.locator('dialog[open] h2').textContent(), en['shortcuts.title']);
    await page.keyboard.press('Escape');
    await page.locator('dialog').waitFor({ state: 'detached' });

    await page.keyboard.press('c');
    const box = page.locator('.chat textarea');
    await box.waitFor();
    await waitForFocus(box, 'the chat box'); // before typing: shortcuts would take the keys
    await page.keyboard.type('mvrwd');
    assert.equal(await box.inputValue(), 'mvrwd');
    await page.keyboard.press('Enter');
    assert.deepEqual(await waitForCalls(page, 'sendChatMessage', 1), [['mvrwd', undefined]]);
    assert.deepEqual(await fakeCalls(page, 'setAudioMuted'), [[true]]);
    assert.deepEqual(await fakeCalls(page, 'setVideoMuted'), []);
    assert.deepEqual(await fakeCalls(page, 'setRaisedHand'), [[true]]);
    assert.deepEqual(await fakeCalls(page, 'setScreenSharing'), []);
  });

  it('the landing page refuses "a b/c" with an error tied to the field, suggests a name, and Enter joins a valid one', async () => {
    const page = await ui.rig.open('/', 'en-GB');
    const input = page.locator('input[name="room"]');
    const suggestion = await page.locator('[data-testid="suggestion"]').textContent();
    assert.match(suggestion ?? '', /^Suggested name: [A-Za-z]+\d{4}$/);

    await input.fill('a b/c');
    await input.press('Enter');
    const alert = page.locator('[role="alert"]');
    await alert.waitFor();
    assert.equal(await alert.textContent(), en['landing.error.chars']);
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    const alertId = await alert.getAttribute('id');
    assert.ok(alertId && (await input.getAttribute('aria-describedby'))?.split(' ').includes(alertId));
    assert.equal(new URL(page.url()).pathname, '/');

    await input.fill('Budget_2025-revue');
    await input.press('Enter');
    await page.locator('input[name="displayName"]').waitFor();
    assert.equal(new URL(page.url()).pathname, '/Budget_2025-revue');
  });

  it('refused camera and microphone: the pre-join screen explains it and joins with both off', async () => {
    const page = await ui.rig.open('/', 'en-GB');
    await page.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('refused', 'NotAllowedError'));
    });
    await page.goto(`${ui.rig.origin}/ReunionEquipe`);
    const problem = page.locator('.problem');
    await problem.waitFor();
    assert.deepEqual(await problem.allTextContents(), [en['prejoin.denied']]);
    const submit = page.locator('form.prejoin-form button[type="submit"]');
    assert.equal(await submit.textContent(), en['prejoin.joinWithout']);
    await joinFromPrejoin(page);
    const joined = await page.evaluate(() => {
      const me = window.__fake?.getState().participants.get('me');
      return { audioMuted: me?.audioMuted, videoMuted: me?.videoMuted, name: me?.displayName };
    });
    assert.deepEqual(joined, { audioMuted: true, videoMuted: true, name: 'Camille Durand' });
    assert.equal(await page.evaluate(() => localStorage.getItem('salon.displayName')), 'Camille Durand', 'the name is remembered');
  });

  it('leaving after opening the document offers the download in a dialog, then shows the end screen', async () => {
    const page = await ui.rig.open('/ReunionEquipe', 'en-GB');
    await joinFromPrejoin(page);
    await page.locator('[data-panel="document"]').click();
    await page.locator('.fake-editor').waitFor();
    assert.deepEqual(await fakeCalls(page, 'openDocument'), [[]]);
    await page.locator(`[aria-label="${en['toolbar.leave']}"]`).click();
    const dialog = page.locator('dialog[open]');
    await dialog.waitFor();
    assert.equal(await dialog.locator('h2').textContent(), en['leave.title']);
    assert.equal(await dialog.locator('button', { hasText: en['doc.downloadHtml'] }).count(), 1);
    await dialog.locator('button', { hasText: en['leave.confirm'] }).click();
    await page.locator('h1', { hasText: en['end.hangup'] }).waitFor();
    assert.equal((await fakeCalls(page, 'leave')).length >= 1, true);
  });
});
