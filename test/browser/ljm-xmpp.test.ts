/**
 * lib-jitsi-meet (the 2021 @lyno/lib-jitsi-meet bundle) in headless Chromium against Salon:
 * reads /config.js, connects over /xmpp-websocket, asks the focus for the conference and joins
 * the MUC; two pages see each other and chat.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { TestServer } from '../integration/harness.ts';
import type { BrowserHarness } from './chromium.ts';
import { startLjmRig, type LjmRig } from './ljm-rig.ts';

interface HarnessResult { ok: boolean; error?: string; message?: string; jid?: string }

describe('lib-jitsi-meet over Salon XMPP (browser)', function () {
  this.timeout(60_000);
  let rig: LjmRig;
  let server: TestServer;
  let browser: BrowserHarness;
  let pages: { origin: string };

  before(async () => {
    rig = await startLjmRig();
    ({ server, browser, pages } = rig);
  });
  after(async () => rig?.close());
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').slice(-80).join('\n'));
  });

  async function joined(page: Page, room: string, nick: string): Promise<HarnessResult> {
    return page.evaluate(([r, n]) => (window as unknown as { salonTest: { join(r: string, n: string): Promise<HarnessResult> } }).salonTest.join(r, n), [room, nick] as const);
  }

  it('connects over the WebSocket from /config.js, gets ready=true from the focus, and joins the room', async () => {
    const page = await browser.newPage(`${pages.origin}/`, { label: 'alice' });
    const started = Date.now();
    const result = await joined(page, 'salonroom', 'Alice');
    assert.equal(result.ok, true, JSON.stringify(result));
    const joinMs = Date.now() - started;
    const frames = await page.evaluate(() => (window as unknown as { salonTest: { xmpp: Array<{ dir: string; data: string }> } }).salonTest.xmpp);
    const answer = frames.find((f) => f.dir === 'in' && f.data.includes('http://jitsi.org/protocol/focus') && f.data.includes('ready="true"'));
    assert.ok(answer, 'the focus answered the conference request with ready="true"');
    const selfPresence = frames.find((f) => f.dir === 'in' && f.data.includes('salonroom@muc.meet.jitsi/') && f.data.includes('code="110"'));
    assert.ok(selfPresence, 'the MUC sent the self-presence');
    // The focus sits in the room as the occupant `focus` with its real JID.
    const focusSeen = frames.find((f) => f.dir === 'in' && f.data.includes('salonroom@muc.meet.jitsi/focus') && f.data.includes('focus@auth.meet.jitsi/focus'));
    assert.ok(focusSeen, 'the focus occupant was announced with its real JID');
    console.log(`      lib-jitsi-meet join (connect + conference IQ + MUC join): ${joinMs} ms`);
  });

  it('shows two lib-jitsi-meet participants to each other, makes the first moderator, and carries chat', async () => {
    const a = await browser.newPage(`${pages.origin}/`, { label: 'a' });
    const b = await browser.newPage(`${pages.origin}/`, { label: 'b' });
    assert.equal((await joined(a, 'twoofus', 'Anne')).ok, true);
    assert.equal((await joined(b, 'twoofus', 'Bert')).ok, true);
    const bSeen = await a.evaluate(() => (window as unknown as { salonTest: { waitForEvent(k: string, t: number): Promise<unknown> } }).salonTest.waitForEvent('USER_JOINED', 10_000));
    assert.ok(bSeen, 'Anne saw Bert join');
    // Auto-owner (Jicofo's rule): the focus makes the first participant owner, hence moderator.
    const promoted = await a.waitForFunction(() => {
      const t = (window as unknown as { salonTest: { events: Array<{ key: string; args: unknown[] }>; myUserId(): string } }).salonTest;
      return t.events.some((e) => e.key === 'USER_ROLE_CHANGED' && e.args[0] === t.myUserId() && e.args[1] === 'moderator');
    }, undefined, { timeout: 10_000 }).then(() => true, () => false);
    assert.ok(promoted, 'the first participant is made moderator');
    const bIsModerator = await b.evaluate(() => (window as unknown as { salonTest: { conference: { isModerator(): boolean } } }).salonTest.conference.isModerator());
    assert.equal(bIsModerator, false, 'the second participant is not');
    await b.evaluate(() => (window as unknown as { salonTest: { sendMessage(t: string): void } }).salonTest.sendMessage('bonjour Anne'));
    const msg = await a.evaluate(() => (window as unknown as { salonTest: { waitForEvent(k: string, t: number): Promise<{ args: unknown[] } | null> } }).salonTest.waitForEvent('MESSAGE_RECEIVED', 10_000));
    assert.ok(msg, 'Anne received the message');
    assert.ok(JSON.stringify(msg.args).includes('bonjour Anne'));
  });
});
