/**
 * In French, no English string of the interface shows: every visible text, accessible name,
 * title and placeholder of each screen is checked against the English table's strings that
 * differ from the French ones (templates matched with their parameters as wildcards).
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { en, type MessageKey } from '../../web/client/i18n/en.ts';
import { fr } from '../../web/client/i18n/fr.ts';
import { joinFromPrejoin, useUiRig, waitForFocus } from './fixtures/ui-page.ts';

interface Matcher {
  readonly key: MessageKey;
  test(text: string): boolean;
}

/** Short English strings must match a whole text; longer ones and templates anywhere inside one. */
function englishMatchers(): Matcher[] {
  const matchers: Matcher[] = [];
  for (const key of Object.keys(en) as MessageKey[]) {
    const english = en[key];
    if (english === fr[key]) continue; // the same in both languages ("Participants", "Microphone")
    if (english.includes('{')) {
      const literal = english.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+?');
      const pattern = new RegExp(literal);
      matchers.push({ key, test: (text) => pattern.test(text) });
    } else if (english.length >= 12) {
      matchers.push({ key, test: (text) => text.includes(english) });
    } else {
      matchers.push({ key, test: (text) => text === english });
    }
  }
  return matchers;
}

/** Texts a person meets: visible text nodes (screen-reader-only ones included), names, titles, placeholders, options, the page title. */
async function collectTexts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || parent.closest('script, style')) continue;
      const visible = parent.checkVisibility() || parent.closest('select')?.checkVisibility();
      const text = node.textContent?.trim();
      if (visible && text) out.push(text);
    }
    for (const el of Array.from(document.querySelectorAll('[aria-label], [title], [placeholder], [alt], [aria-valuetext]'))) {
      if (!el.checkVisibility() && !el.closest('select')?.checkVisibility()) continue;
      for (const name of ['aria-label', 'title', 'placeholder', 'alt', 'aria-valuetext']) {
        const value = el.getAttribute(name)?.trim();
        if (value) out.push(value);
      }
    }
    return out;
  });
}

describe('views: the French interface', function () {
  this.timeout(90_000);
  const ui = useUiRig();

  it('the check finds English when it is there (the English landing page)', async () => {
    const matchers = englishMatchers();
    const page = await ui.rig.open('/', 'en-GB');
    await page.locator('h1').waitFor();
    const found = (await collectTexts(page)).filter((text) => matchers.some((m) => m.test(text)));
    assert.ok(found.length >= 5, `only ${found.length} English strings found: ${found.join(' | ')}`);
  });

  it('shows no English string on any screen, panel or dialog', async () => {
    const matchers = englishMatchers();
    assert.ok(matchers.length > 100, `only ${matchers.length} English strings to look for`);
    const frenchValues = new Set(Object.values(fr).filter((v) => !v.includes('{')));
    const seen = new Map<string, string>(); // text → where
    const visit = async (where: string, page: Page): Promise<void> => {
      for (const text of await collectTexts(page)) if (!seen.has(text)) seen.set(text, where);
    };

    const page = await ui.rig.open('/', 'fr-FR');
    await page.locator('h1').waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');
    await visit('landing', page);
    await page.locator('input[name="room"]').fill('a b/c');
    await page.locator('input[name="room"]').press('Enter');
    await page.locator('[role="alert"]').waitFor();
    await visit('landing error', page);
    await page.locator('input[name="room"]').fill('ReunionEquipe');
    await page.locator('input[name="room"]').press('Enter');
    await page.locator('input[name="displayName"]').waitFor();
    await page.locator('form.prejoin-form button[type="submit"]').click(); // no name: the error shows
    await page.locator('[role="alert"]').waitFor();
    await visit('pre-join', page);

    await joinFromPrejoin(page);
    await page.evaluate(() => {
      window.__fake?.receiveMessage('Bonjour https://example.org', 'alice');
      window.__fake?.receiveMessage('Un mot en privé', 'bernard', true);
    });
    await visit('conference (unread messages)', page);
    await page.locator('[data-panel="chat"]').click();
    await page.locator('.messages > li').nth(1).waitFor();
    await page.locator('.chat select').selectOption('alice');
    await page.locator('.chat textarea').fill('Réponse privée');
    await page.locator('.chat textarea').press('Enter');
    await page.locator('.messages > li').nth(2).waitFor();
    await visit('chat', page);
    await page.locator('[data-panel="participants"]').click();
    await page.locator('.people-list').waitFor();
    await visit('participants', page);
    await page.evaluate(() => {
      window.__fake?.addKnocker('k1', 'Kim Lefèvre');
      window.__fake?.setAudioModerated(true);
    });
    await page.locator('.people-section').first().waitFor();
    await page.locator('.toast').filter({ hasText: 'Kim Lefèvre' }).waitFor();
    await visit('participants: lobby and moderation', page);
    await page.locator('[data-panel="settings"]').click();
    await page.locator('.settings').waitFor();
    await visit('settings', page);
    await page.locator('[data-panel="document"]').click();
    await page.locator('.fake-editor').waitFor();
    await visit('document', page);
    await page.locator('[data-panel="document"]').click(); // closes the panel
    await page.locator('.tile-pin').first().click(); // speaker view, someone pinned
    await visit('speaker view', page);
    await page.evaluate(() => window.__fake?.setPhase({ name: 'reconnecting' }));
    await page.locator('.banner--warning').waitFor();
    await visit('reconnecting', page);
    await page.evaluate(() => window.__fake?.setPhase({ name: 'waiting-for-host' }));
    await page.locator('h1').filter({ hasText: fr['wait.title'] }).waitFor();
    await visit('waiting for the host', page);
    await page.evaluate(() => window.__fake?.setPhase({ name: 'waiting-for-host', signIn: { kind: 'password' } }));
    await page.getByRole('button', { name: fr['wait.hostSignIn'] }).click();
    await page.getByRole('button', { name: fr['wait.signIn'], exact: true }).click();
    await page.locator('[role="alert"]').waitFor();
    await visit('host sign-in', page);
    await page.evaluate(() => window.__fake?.setPhase({ name: 'lobby', step: 'knock' }));
    // The screen moves the focus to its heading after the next frame: typing before would go there.
    await waitForFocus(page.locator('h1').filter({ hasText: fr['lobby.title'] }), 'the lobby heading');
    await page.locator('input[name="lobbyName"]').fill('');
    await page.getByRole('button', { name: fr['lobby.knock'] }).click();
    await page.locator('[role="alert"]').waitFor();
    await visit('lobby: knock', page);
    await page.evaluate(() => window.__fake?.setPhase({ name: 'lobby', step: 'waiting' }));
    await page.locator('h1').filter({ hasText: fr['lobby.waitingTitle'] }).waitFor();
    await visit('lobby: waiting', page);
    await page.evaluate(() => window.__fake?.setPhase({ name: 'joined' }));
    await page.keyboard.press('Shift+?');
    await page.locator('dialog[open]').waitFor();
    await visit('shortcuts dialog', page);
    await page.keyboard.press('Escape');
    await page.locator('[data-panel="settings"] ~ button, [role="toolbar"] button.tool--danger').last().click();
    await page.locator('dialog[open]').waitFor();
    await visit('leave dialog', page);
    await page.locator('dialog[open] .button--danger-solid').first().click(); // Leave (the next one ends the meeting for everyone)
    await page.locator('h1').filter({ hasText: fr['end.hangup'] }).waitFor();
    await visit('end screen', page);
    await page.evaluate(() => window.__fake?.setPhase({ name: 'failed', error: 'room-full' }));
    await page.locator('h1').filter({ hasText: fr['end.failed'] }).waitFor();
    await visit('failure screen', page);
    await page.evaluate(() => window.__fake?.setPhase({ name: 'left', reason: 'denied' }));
    await page.locator('h1').filter({ hasText: fr['end.denied'] }).waitFor();
    await visit('refused at the lobby', page);

    const english = [...seen].flatMap(([text, where]) =>
      matchers.filter((m) => m.test(text)).map((m) => `${where}: "${text}" is English (${m.key})`));
    assert.deepEqual(english, []);
    const frenchShown = [...seen.keys()].filter((text) => frenchValues.has(text));
    assert.ok(seen.size > 120, `only ${seen.size} texts collected`);
    assert.ok(frenchShown.length > 60, `only ${frenchShown.length} French table strings seen`);
  });
});
