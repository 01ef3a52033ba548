/**
 * jitsi-meet's "I am the host" login with lib-jitsi-meet in headless Chromium (ENABLE_AUTH,
 * ENABLE_GUESTS, AUTH_TYPE=internal): a guest waiting for the host calls
 * `conference.authenticateAndUpgradeRole({ id, password })`, as jitsi-meet's login dialog does.
 * lib-jitsi-meet logs in on a second connection, gets an authentication session from the focus
 * (Settings.sessionId, kept in local storage), closes that connection and joins again on the
 * guest one with the session: the room starts and the guest connection is its moderator.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { LjmResult } from './ljm-page.ts';
import { startLjmRig, type LjmRig } from './ljm-rig.ts';

type Harness = {
  salonTest: {
    events: Array<{ key: string; args: unknown[] }>;
    xmpp: Array<{ dir: string; data: string }>;
    join(room: string, nick: string, opts?: { timeoutMs?: number }): Promise<LjmResult>;
    waitForEvent(keys: string[], timeoutMs: number, from: number): Promise<{ key: string; args: unknown[] } | null>;
    conference: {
      isModerator(): boolean | null;
      authenticateAndUpgradeRole(options: { id: string; password: string }): Promise<void>;
    } | null;
  };
};

describe('lib-jitsi-meet: the host logs in from the waiting screen (browser)', function () {
  this.timeout(90_000);
  const room = 'ljmsecureroom';
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ env: { ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true', AUTH_TYPE: 'internal' } });
    await rig.server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
  });
  after(async () => {
    await rig?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').slice(-60).join('\n'));
  });

  it('refuses a wrong password, then takes the guest connection for the account: the room starts and it is moderator', async () => {
    const page: Page = await rig.browser.newPage(rig.pageUrl, { label: 'host' });
    const refused = await page.evaluate((r) => (window as unknown as Harness).salonTest.join(r, 'Host', { timeoutMs: 4000 }), room);
    assert.deepEqual(refused, { ok: false, error: 'timeout' }, 'nobody started the room yet');
    assert.equal(rig.server.salon.focus.conferences.has(`${room}@muc.meet.jitsi`), false);

    const wrong = await page.evaluate(async () => {
      try {
        await (window as unknown as Harness).salonTest.conference!.authenticateAndUpgradeRole({ id: 'alice@meet.jitsi', password: 'not it' });
        return 'accepted';
      } catch (e) {
        return String((e as { connectionError?: string }).connectionError);
      }
    });
    assert.equal(wrong, 'connection.passwordRequired');
    assert.equal(rig.server.salon.focus.conferences.has(`${room}@muc.meet.jitsi`), false);

    const outcome = await page.evaluate(async () => {
      const t = (window as unknown as Harness).salonTest;
      const from = t.events.length;
      await t.conference!.authenticateAndUpgradeRole({ id: 'alice@meet.jitsi', password: 'alice password 123' });
      const ev = await t.waitForEvent(['CONFERENCE_JOINED', 'CONFERENCE_FAILED'], 15_000, from);
      return { event: ev?.key ?? 'timeout', sessionId: window.localStorage.getItem('sessionId') };
    });
    assert.equal(outcome.event, 'CONFERENCE_JOINED');
    await page.waitForFunction(() => (window as unknown as Harness).salonTest.conference?.isModerator() === true, undefined, { timeout: 10_000 });

    // The guest connection (still on the guest domain) presented the session the focus handed out.
    const frames = await page.evaluate(() => (window as unknown as Harness).salonTest.xmpp.map((f) => `${f.dir} ${f.data}`));
    const handedOut = frames.map((f) => /^in .*<conference [^>]*session-id="([^"]+)"/.exec(f)?.[1]).find(Boolean);
    assert.ok(handedOut, 'the focus answered a session id');
    assert.ok(frames.some((f) => f.startsWith('out') && f.includes(`session-id="${handedOut}"`)), 'the guest connection presented it');
    assert.ok(frames.some((f) => f.startsWith('in') && /<conference [^>]*identity="alice@meet\.jitsi"/.test(f)), 'answered as the account');
    const jid = frames.map((f) => /^in .*<jid>([^<]+)<\/jid>/.exec(f)?.[1]).find(Boolean);
    assert.match(String(jid), /@guest\.meet\.jitsi\//, 'the joined connection is the guest one');
  });
});
