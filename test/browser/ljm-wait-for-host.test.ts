/**
 * lib-jitsi-meet in headless Chromium against a Salon with authentication on (ENABLE_AUTH,
 * ENABLE_GUESTS): a guest of the guest domain asking for a room nobody started gets Jicofo's
 * `not-authorized` answer, which lib-jitsi-meet takes for "authentication required" (it logs
 * "Unauthorized to start the conference"); a host logged in with a password starts the room and
 * is moderator; the guest's next `join()`, as jitsi-meet's `waitForOwner` makes every 5 s, gets in.
 *
 * The pinned lib-jitsi-meet build emits AUTHENTICATION_REQUIRED under an undefined event name
 * (LJM-NOTES.md §4), so no CONFERENCE_FAILED reaches the page: the refusal is read from the
 * XMPP frames and the client's log instead.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { LjmResult } from './ljm-page.ts';
import { startLjmRig, type LjmRig } from './ljm-rig.ts';

type Harness = {
  salonTest: {
    events: unknown[];
    xmpp: Array<{ dir: string; data: string }>;
    connect(room: string, opts: { id?: string; password?: string; timeoutMs?: number }): Promise<LjmResult>;
    join(room: string, nick: string, opts?: { timeoutMs?: number }): Promise<LjmResult>;
    waitForEvent(keys: string[], timeoutMs: number, from: number): Promise<{ key: string; args: unknown[] } | null>;
    conference: { join(): void; isModerator(): boolean | null } | null;
  };
};

describe('lib-jitsi-meet: a guest waits for the host (browser)', function () {
  this.timeout(90_000);
  const room = 'ljmwaitroom';
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ env: { ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true' } });
    await rig.server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
  });
  after(async () => {
    await rig?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').slice(-60).join('\n'));
  });

  it('refuses the guest as Jicofo does, makes the host moderator, and lets the guest in on its retry', async () => {
    const guest: Page = await rig.browser.newPage(rig.pageUrl, { label: 'guest' });
    const refused = await guest.evaluate((r) => (window as unknown as Harness).salonTest.join(r, 'Guest', { timeoutMs: 4000 }), room);
    assert.deepEqual(refused, { ok: false, error: 'timeout' }, 'the guest is not in the room');
    const answers = await guest.evaluate(() => (window as unknown as Harness).salonTest.xmpp.filter((f) => f.dir === 'in').map((f) => f.data));
    const refusal = answers.find((a) => a.includes('from="focus.meet.jitsi"') && a.includes('type="error"'));
    assert.ok(refusal, `the focus refused the conference request: ${answers.join('\n')}`);
    assert.match(refusal, /<not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/>/);
    assert.match(refusal, /not authorized user domain/);
    assert.match(rig.browser.dumpLogs(), /guest .*Unauthorized to start the conference/);
    assert.equal(rig.server.salon.focus.conferences.has(`${room}@muc.meet.jitsi`), false);

    const host: Page = await rig.browser.newPage(rig.pageUrl, { label: 'host' });
    const connected = await host.evaluate((r) => (window as unknown as Harness).salonTest.connect(r, { id: 'alice@meet.jitsi', password: 'alice password 123' }), room);
    assert.equal(connected.ok, true, JSON.stringify(connected));
    assert.match(String(connected.jid), /^alice@meet\.jitsi\//);
    const joined = await host.evaluate((r) => (window as unknown as Harness).salonTest.join(r, 'Host'), room);
    assert.equal(joined.ok, true, JSON.stringify(joined));
    await host.waitForFunction(() => (window as unknown as Harness).salonTest.conference?.isModerator() === true, undefined, { timeout: 10_000 });

    // jitsi-meet's waitForOwner → checkIfCanJoin calls join() again on the same conference.
    const retried = await guest.evaluate(async () => {
      const t = (window as unknown as Harness).salonTest;
      const from = t.events.length;
      t.conference!.join();
      const ev = await t.waitForEvent(['CONFERENCE_JOINED', 'CONFERENCE_FAILED'], 15_000, from);
      return ev ? ev.key : 'timeout';
    });
    assert.equal(retried, 'CONFERENCE_JOINED');
    assert.equal(await guest.evaluate(() => (window as unknown as Harness).salonTest.conference?.isModerator()), false);
  });
});
