/**
 * A participant whose ICE fails is brought back by a session restart (jitsi-protocol.md §5;
 * Jicofo's behaviour): every datagram between the bridge and one lib-jitsi-meet participant is
 * dropped until its browser declares ICE failed. lib-jitsi-meet then ends its Jingle session with
 * `session-terminate` carrying `<bridge-session restart="true">` (IceFailedHandling, as Salon's
 * focus announces `support-terminate-restart`); the focus re-invites it with a new session on the
 * bridge, and media flows again both ways — on the same page, never reloaded. Everything measured
 * is from the browsers' getStats() and the Jingle session ids.
 */
import assert from 'node:assert/strict';
import { assertMediaFlows, joinWithMedia, startLjmRig, waitForRemoteVideo, type LjmRig } from './ljm-rig.ts';
import { sessionIdentity } from './video-probes.ts';

/** Chromium declares ICE failed once its checks go unanswered: about 19 s here (RFC 7675 consent would allow 30 s). */
const FAILURE_WAIT_MS = 60_000;

describe('a participant whose ICE fails is re-invited (browser)', function () {
  this.timeout(150_000);
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ media: true });
  });
  after(async () => rig?.close());
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').filter((l) => /error|fail|ice|restart|terminate/i.test(l)).slice(-60).join('\n'));
  });

  it('restarts its session when its ICE fails, and media flows again both ways', async () => {
    const media = rig.server.salon.media;
    assert.ok(media, 'the built-in bridge');
    const dark = await rig.browser.newPage(rig.pageUrl, { label: 'dark' });
    const other = await rig.browser.newPage(rig.pageUrl, { label: 'other' });
    assert.equal((await joinWithMedia(dark, 'icefailroom')).ok, true);
    assert.equal((await joinWithMedia(other, 'icefailroom')).ok, true);
    await waitForRemoteVideo([dark, other]);
    await assertMediaFlows([dark, other]);
    await dark.evaluate(() => { (window as unknown as Record<string, any>).restartMarker = 'same page'; });
    const before = await sessionIdentity(dark, 'restartMarker');
    const darkId = await dark.evaluate(() => (window as unknown as Record<string, any>).salonTest.myUserId() as string);
    const address = media.endpointAddress(darkId);
    assert.ok(address, `the participant's endpoint ${darkId} has a nominated remote address`);

    const started = Date.now();
    media.impair(address, { blackoutMs: FAILURE_WAIT_MS + 30_000 });
    let failedAfterMs: number | undefined;
    try {
      // Until the browser gives up on ICE, or lib-jitsi-meet already replaced the session.
      for (let id = await sessionIdentity(dark, 'restartMarker'); id.ice !== 'failed' && id.sid === before.sid; id = await sessionIdentity(dark, 'restartMarker')) {
        assert.ok(Date.now() - started < FAILURE_WAIT_MS, `the participant's ICE fails under a blackout (still ${id.ice})`);
        await new Promise((r) => setTimeout(r, 250));
      }
      failedAfterMs = Date.now() - started;
    } finally {
      media.impair(address, undefined);
    }

    const recoveryStarted = Date.now();
    const deadline = Date.now() + 40_000;
    let after = await sessionIdentity(dark, 'restartMarker');
    while (after.sid === before.sid || after.ice !== 'connected') {
      assert.ok(Date.now() < deadline, `a new session, connected (${JSON.stringify({ before, after })})`);
      await new Promise((r) => setTimeout(r, 250));
      after = await sessionIdentity(dark, 'restartMarker');
    }
    await assertMediaFlows([dark, other]);
    console.log(`      ICE failed ${failedAfterMs} ms into the blackout; session ${before.sid} → ${after.sid}, media both ways ${Date.now() - recoveryStarted} ms after`);
    assert.equal(after.marker, 'same page', 'the page was not reloaded');
    assert.notEqual(after.sid, before.sid, 'a new Jingle session');
    assert.ok(media.endpointAddress(darkId), 'the bridge has the participant\'s new endpoint');
    for (const page of [dark, other]) await page.context().close();
  });
});
