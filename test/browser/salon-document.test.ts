/**
 * The shared document in Salon's own client: three participants typing at once end with the same
 * text, the download holds it, and once everyone has left the document is gone — the next
 * conference in the same room starts with an empty one.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { startLjmRig, type LjmRig } from './ljm-rig.ts';
import { joinSalon } from './salon-page.ts';

async function openDocument(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Shared document', exact: true }).click();
  await page.locator('.ql-editor').waitFor({ timeout: 20_000 });
  await page.waitForFunction(() => document.querySelector('.ql-editor')?.getAttribute('contenteditable') === 'true', undefined, { timeout: 20_000 });
}

const documentText = (page: Page) => page.locator('.ql-editor').innerText();

async function leave(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Leave the meeting' }).click();
  // With the document opened, a dialog offers the download first.
  const confirm = page.getByRole('button', { name: 'Leave', exact: true });
  const ended = page.getByText('You left the meeting');
  await confirm.or(ended).first().waitFor({ timeout: 10_000 });
  if (await confirm.isVisible()) await confirm.click();
  await ended.waitFor({ timeout: 10_000 });
}

describe('Salon web client: the shared document', function () {
  this.timeout(120_000);
  let rig: LjmRig;
  const room = 'SharedNotes42';

  before(async () => {
    rig = await startLjmRig({ media: true });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed') console.log(rig?.browser.dumpLogs().slice(-20_000));
    await rig?.close();
  });

  it('three participants typing at once end with identical text; after all leave, the room\'s next document is empty', async () => {
    const names = ['Anne', 'Bastien', 'Chloé'];
    const pages: Page[] = [];
    for (const name of names) pages.push(await joinSalon(rig.browser, rig.server.httpOrigin, room, name, { label: name }));
    for (const page of pages) await openDocument(page);

    // Everyone types at the same time, each a line of their own.
    await Promise.all(pages.map(async (page, i) => {
      await page.locator('.ql-editor').click();
      await page.keyboard.type(`line from ${names[i]} `, { delay: 15 });
    }));
    // Typed at the same place at the same time, the lines interleave: what must hold is that all
    // copies are the same and that every character each one typed is there exactly once.
    const expected = names.map((n) => `line from ${n} `);
    const letters = (s: string) => [...s.replace(/\s/g, '')].sort().join('');
    const deadline = Date.now() + 15_000;
    let texts: string[] = [];
    for (;;) {
      texts = await Promise.all(pages.map(documentText));
      if (texts.every((t) => t === texts[0]) && letters(texts[0]!) === letters(expected.join(''))) break;
      if (Date.now() > deadline) assert.fail(`the documents did not converge: ${JSON.stringify(texts)}`);
      await new Promise((r) => setTimeout(r, 200));
    }

    // The download holds the same text.
    const [download] = await Promise.all([pages[0]!.waitForEvent('download'), pages[0]!.getByRole('button', { name: 'Download (text)' }).click()]);
    const saved = await readFile(await download.path(), 'utf8');
    assert.equal(saved.trim(), texts[0]!.trim(), 'the text download is the document');

    for (const page of pages) await leave(page);
    // The conference ended with its last participant: a new one in the same room gets a new, empty document.
    const again = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Anne', { label: 'again' });
    await openDocument(again);
    assert.equal((await documentText(again)).trim(), '');
  });
});
