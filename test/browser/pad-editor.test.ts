/**
 * The shared document's standalone page (what jitsi-meet frames at `etherpad_base` + name) in two
 * headless Chromium pages: both type at once and end with the same text, the HTML download holds
 * it, the toolbar speaks the page's language, a hostile paste or link does nothing, nothing breaks
 * the page's CSP, and both pages say so when the conference ends. The tests run in order on one
 * conference.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { joinConference, type ConferenceParticipant } from '../integration/conference-participant.ts';
import { startTestServer, stopClient, xml, type TestServer } from '../integration/harness.ts';
import { etherpadName } from '../integration/pad-client.ts';
import { launchBrowser, type BrowserHarness } from './chromium.ts';

const ROOM = 'padbrowser@muc.meet.jitsi';

describe('shared document page (browser)', function () {
  this.timeout(90_000);
  let server: TestServer;
  let browser: BrowserHarness;
  let alice: ConferenceParticipant;
  let fr: Page;
  let en: Page;

  const editorText = (page: Page): Promise<string> => page.locator('.ql-editor').innerText();

  async function openPad(lang: 'fr' | 'en', label: string): Promise<Page> {
    const name = etherpadName(alice.inbox, ROOM);
    assert.ok(name, 'the focus announced the document');
    // As jitsi-meet builds it: new URL(name, etherpad_base) plus its own parameters.
    const page = await browser.newPage(`${server.httpOrigin}/etherpad/p/${name}?showChat=false&userName=${label}&lang=${lang}`, { label });
    await page.locator('.salon-editor[data-status="synced"] .ql-editor[contenteditable="true"]').waitFor({ timeout: 15_000 });
    return page;
  }

  /** Polls both pages until `done` holds for their texts. */
  async function bothShow(done: (text: string) => boolean, what: string): Promise<string> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [a, b] = await Promise.all([editorText(fr), editorText(en)]);
      if (a === b && done(a)) return a;
      if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify([a, b])}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
    alice = await joinConference(server, ROOM, 'alice');
    [fr, en] = await Promise.all([openPad('fr', 'p1'), openPad('en', 'p2')]);
  });
  after(async () => {
    if (alice) await stopClient(alice.client);
    await browser?.close();
    await server?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').slice(-80).join('\n'));
  });

  it('names every toolbar button in the page\'s language', async () => {
    const names = async (page: Page) => page.locator('.ql-toolbar button').evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label') ?? ''));
    const frNames = await names(fr);
    assert.deepEqual(frNames, ['Titre 1', 'Titre 2', 'Gras', 'Italique', 'Souligné', 'Liste numérotée', 'Liste à puces', 'Lien']);
    assert.deepEqual(await names(en), ['Heading 1', 'Heading 2', 'Bold', 'Italic', 'Underline', 'Numbered list', 'Bulleted list', 'Link']);
    assert.equal(await fr.getByRole('toolbar').getAttribute('aria-label'), 'Mise en forme');
  });

  it('converges two pages typing at once and downloads the text as HTML', async () => {
    // Two lines, one cursor at the end of each (two people typing at one spot would mix their
    // keystrokes, as in any shared editor; here each sentence must come out whole).
    await fr.locator('.ql-editor').click();
    await fr.keyboard.type('Premier : ');
    await fr.keyboard.press('Enter');
    await fr.keyboard.type('Second : ');
    await en.locator('.ql-editor p', { hasText: 'Second :' }).waitFor();
    await fr.keyboard.press('Control+Home');
    await fr.keyboard.press('End');
    await en.locator('.ql-editor').click();
    await en.keyboard.press('Control+End');

    await Promise.all([fr.keyboard.type('Bonjour depuis la page une.'), en.keyboard.type('Hello from page two.')]);
    await bothShow((t) => t.includes('Premier : Bonjour depuis la page une.') && t.includes('Second : Hello from page two.'), 'the pages did not converge');

    const [download] = await Promise.all([
      en.waitForEvent('download'),
      en.getByRole('button', { name: 'Download (HTML)' }).click(),
    ]);
    const path = await download.path();
    assert.ok(path);
    const html = await readFile(path, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<meta charset="utf-8">/);
    assert.ok(html.includes('Premier : Bonjour depuis la page une.') && html.includes('Second : Hello from page two.'), html);
    assert.match(download.suggestedFilename(), /^document-\d{4}-\d\d-\d\d\.html$/);
  });

  it('breaks nothing in the page\'s Content-Security-Policy while people write', async () => {
    const policy = (await fr.request.get(fr.url())).headers()['content-security-policy'] ?? '';
    assert.match(policy, /script-src 'self'/);
    assert.match(policy, /style-src 'self'/);
    const violations = browser.logs.filter((line) => /Content Security Policy|Refused to (apply|execute|load|connect)/i.test(line));
    assert.deepEqual(violations, []);
  });

  it('runs nothing from a pasted <img onerror> or <script>, and keeps javascript: links out', async () => {
    await fr.locator('.ql-editor').click();
    await fr.keyboard.press('Control+End');
    await fr.evaluate(() => {
      const data = new DataTransfer();
      data.setData('text/html', '<p>collé<img src="/pasted.png" onerror="window.pwned=1"><script>window.pwned=2</script><a href="javascript:window.pwned=3">lien</a></p>');
      data.setData('text/plain', 'collé lien');
      document.querySelector('.ql-editor')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    });
    // The text stays, the link to a javascript: URL loses its link, the script's text is dropped.
    await bothShow((t) => t.includes('collélien'), 'the paste did not reach both pages');
    assert.ok(!(await editorText(fr)).includes('pwned'));
    for (const page of [fr, en]) {
      assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
      assert.equal(await page.locator('.ql-editor img, .ql-editor script').count(), 0);
      const hrefs = await page.locator('.ql-editor a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
      assert.ok(hrefs.every((h) => !/^\s*javascript:/i.test(h ?? '')), hrefs.join(', '));
    }
    assert.ok(!browser.logs.some((line) => line.includes('/pasted.png')), 'the pasted image was never fetched');
    // Quill parses a paste with DOMParser; Chromium still tries the <img>'s onerror there, and the
    // page's CSP is what blocks it: that refusal is the only violation allowed.
    const violations = browser.logs.filter((line) => /Content Security Policy/i.test(line));
    assert.ok(violations.every((line) => line.includes('Executing inline event handler') && line.includes('has been blocked')), violations.join('\n'));

    // A javascript: link typed into the link box is neutralised here and refused by the server.
    await en.locator('.ql-editor').click();
    await en.keyboard.press('Control+Home');
    await en.keyboard.press('Shift+End');
    await en.getByRole('button', { name: 'Link' }).click();
    await en.locator('.ql-tooltip input[type=text]').fill('javascript:window.pwned=4');
    await en.keyboard.press('Enter');
    await en.locator('.salon-editor-status', { hasText: 'refused' }).waitFor();
    await bothShow((t) => t.includes('Premier'), 'the pages did not settle');
    for (const page of [fr, en]) {
      const hrefs = await page.locator('.ql-editor a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
      assert.ok(hrefs.every((h) => !/^\s*javascript:/i.test(h ?? '')), hrefs.join(', '));
    }
  });

  it('tells both pages when the conference has ended, and keeps the text on screen read-only', async () => {
    await alice.client.send(xml('presence', { to: `${ROOM}/alice`, type: 'unavailable' }));
    await fr.getByRole('alert').filter({ hasText: 'n’existe plus' }).waitFor({ timeout: 15_000 });
    await en.getByRole('alert').filter({ hasText: 'no longer exists' }).waitFor({ timeout: 15_000 });
    assert.equal(await fr.locator('.ql-editor').getAttribute('contenteditable'), 'false');
    assert.ok((await editorText(fr)).includes('Hello from page two.'), 'what was written stays on screen to download');
    assert.equal(await fr.getByRole('button', { name: 'Télécharger (HTML)' }).isEnabled(), true);
  });
});
