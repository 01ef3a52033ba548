/**
 * A participant whose ICE fails is brought back by a session restart (jitsi-protocol.md §5;
 * Jicofo's behaviour): every datagram between the bridge and one lib-jitsi-meet participant is
 * dropped until its browser declares ICE failed. lib-jitsi-meet then ends its Jingle session with
 * `session-terminate` carrying `<bridge-session restart="true">` (IceFailedHandling, as Salon's
 * focus announces `support-terminate-restart`); the focus re-invites it with a new session on the
 * bridge, and media flows again both ways — on the same page, never reloaded. With config.js's
 * `enableIceRestart: true`, lib-jitsi-meet instead notifies the focus in a `session-info` carrying
 * `<ice-state>failed</ice-state>` (sendIceFailedNotification); the focus ends that session
 * ("moving") and invites it afresh, as Jicofo's iceFailed does. Everything measured is from the
 * browsers' getStats() and the Jingle session ids.
 */
import assert from 'node:assert/strict';
import { assertMediaFlows, joinWithMedia, startLjmRig, waitForRemoteVideo, type LjmRig, type MediaJoinOptions } from './ljm-rig.ts';
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

  /** Blacks out the participant until its ICE fails, then lifts it: a new session must come, connected, and media flow both ways. */
  async function recoversFromIceFailure(room: string, expected: 'session-terminate' | 'session-info', options: MediaJoinOptions = {}): Promise<void> {
    const media = rig.server.salon.media;
    assert.ok(media, 'the built-in bridge');
    const dark = await rig.browser.newPage(rig.pageUrl, { label: 'dark' });
    const other = await rig.browser.newPage(rig.pageUrl, { label: 'other' });
    assert.equal((await joinWithMedia(dark, room, options)).ok, true);
    assert.equal((await joinWithMedia(other, room)).ok, true);
    await waitForRemoteVideo([dark, other]);
    await assertMediaFlows([dark, other]);
    await dark.evaluate(() => {
      const w = window as unknown as Record<string, any>;
      w.restartMarker = 'same page';
      // What the page asks of the focus: each Jingle request's action, and what says why.
      w.jingleSent = [] as string[];
      const strophe = w.salonTest.connection.xmpp.connection._stropheConn;
      const sendIQ = strophe.sendIQ.bind(strophe);
      strophe.sendIQ = (stanza: any, ...rest: unknown[]) => {
        const element: Element = typeof stanza.tree === 'function' ? stanza.tree() : stanza;
        const jingle = element.querySelector('jingle');
        if (jingle) {
          const restart = jingle.querySelector('bridge-session')?.getAttribute('restart');
          const ice = jingle.querySelector('ice-state')?.textContent;
          w.jingleSent.push([jingle.getAttribute('action'), restart ? `restart=${restart}` : '', ice ? `ice-state=${ice}` : ''].filter(Boolean).join(' '));
        }
        return sendIQ(stanza, ...rest);
      };
    });
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
    const sent = await dark.evaluate(() => (window as unknown as Record<string, any>).jingleSent as string[]);
    console.log(`      the participant sent: ${sent.join(', ')}`);
    if (expected === 'session-info') {
      assert.ok(sent.includes('session-info ice-state=failed'), 'it notified its ICE failure');
      assert.ok(!sent.some((action) => action.startsWith('session-terminate')), 'and asked no restart itself');
    } else {
      assert.ok(sent.includes('session-terminate restart=true'), 'it asked for a restart');
    }
    for (const page of [dark, other]) await page.context().close();
  }

  it('restarts its session when its ICE fails, and media flows again both ways', async () => {
    await recoversFromIceFailure('icefailroom', 'session-terminate');
  });

  it('invites it again when it notifies its ICE failure in a session-info (enableIceRestart), and media flows again both ways', async () => {
    await recoversFromIceFailure('icefailinforoom', 'session-info', { conferenceOptions: { enableIceRestart: true } });
  });
});
