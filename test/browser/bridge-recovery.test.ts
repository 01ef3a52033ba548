/**
 * A participant's network goes dark for 5 s and comes back: two lib-jitsi-meet participants meet
 * through Salon's focus and bridge; every datagram between the bridge's media socket and one
 * participant is dropped, both ways, for 5 s (MediaTransport.impair with a blackout). Afterwards
 * media flows again to and from it — bytes and decoded frames grow at both ends — on the same
 * page (never reloaded) and the same bridge endpoint. ICE consent (30 s, RFC 7675) outlasts the
 * blackout at both ends, so nothing is torn down; the receivers ask for keyframes (PLI) and the
 * bridge passes them on.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { assertMediaFlows, inbound, joinWithMedia, startLjmRig, total, waitForRemoteVideo, type LjmRig } from './ljm-rig.ts';
import { sessionIdentity } from './video-probes.ts';

const BLACKOUT_MS = 5_000;

async function receivedBytes(page: Page): Promise<number> {
  const stats = await inbound(page);
  return total(stats.rtp, 'audio').bytes + total(stats.rtp, 'video').bytes;
}

describe('media through the bridge after a 5 s blackout of one participant (browser)', function () {
  this.timeout(120_000);
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ media: true });
  });
  after(async () => rig?.close());
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').filter((l) => /error|fail|ice/i.test(l)).slice(-60).join('\n'));
  });

  it('flows again to and from the participant, without a reload', async () => {
    const media = rig.server.salon.media;
    assert.ok(media, 'the built-in bridge');
    const dark = await rig.browser.newPage(rig.pageUrl, { label: 'dark' });
    const other = await rig.browser.newPage(rig.pageUrl, { label: 'other' });
    assert.equal((await joinWithMedia(dark, 'blackoutroom')).ok, true);
    assert.equal((await joinWithMedia(other, 'blackoutroom')).ok, true);
    await waitForRemoteVideo([dark, other]);
    await assertMediaFlows([dark, other]);
    await dark.evaluate(() => { (window as unknown as Record<string, any>).blackoutMarker = 'same page'; });
    const before = await sessionIdentity(dark, 'blackoutMarker');
    const darkId = await dark.evaluate(() => (window as unknown as Record<string, any>).salonTest.myUserId() as string);
    const address = media.endpointAddress(darkId);
    assert.ok(address, `the participant's endpoint ${darkId} has a nominated remote address`);

    const impairment = media.impair(address, { blackoutMs: BLACKOUT_MS })!;
    const blackoutStarted = Date.now();
    const during = { dark: await receivedBytes(dark), other: await receivedBytes(other) };
    /**
     * Counts 1.5 s into the blackout (what was in flight, or received but not yet counted by a
     * loaded browser, is in by then) and 2 s before its end (media resumes the moment it ends, so
     * counts taken after it include new packets, and a loaded browser answers slowly): nothing may
     * arrive between the two.
     */
    let settled: { dark: number; other: number } | undefined;
    let late: { dark: number; other: number } | undefined;
    try {
      // The blackout ends on the bridge's clock; poll for it rather than sleeping a guess.
      const deadline = Date.now() + BLACKOUT_MS + 5_000;
      while (impairment.blackedOut) {
        assert.ok(Date.now() < deadline, 'the blackout ends');
        await new Promise((r) => setTimeout(r, 200));
        const elapsed = Date.now() - blackoutStarted;
        if (!settled && elapsed >= 1_500) settled = { dark: await receivedBytes(dark), other: await receivedBytes(other) };
        else if (settled && !late && elapsed >= BLACKOUT_MS - 2_000) late = { dark: await receivedBytes(dark), other: await receivedBytes(other) };
      }
      const dropped = { in: impairment.counters('in').blackedOut, out: impairment.counters('out').blackedOut };
      const after = { dark: await receivedBytes(dark), other: await receivedBytes(other) };
      console.log(`      blackout: ${dropped.in} datagrams from and ${dropped.out} to the participant dropped; bytes received meanwhile: participant ${after.dark - during.dark}, other ${after.other - during.other}`);
      assert.ok(dropped.in > 0 && dropped.out > 0, 'the blackout dropped datagrams both ways');
      // Only what was in flight when it began may have arrived, both ways (a loaded browser may
      // count it late); in the middle of the blackout nothing at all (it would leak if the
      // browser moved to another of its candidate pairs).
      assert.ok(settled && late, 'both counts were taken within the blackout');
      assert.ok(late.dark - settled.dark < 2_000, `the participant received ${late.dark - settled.dark} bytes in the middle of the blackout`);
      assert.ok(late.other - settled.other < 2_000, `the other participant received ${late.other - settled.other} bytes from it in the middle of the blackout`);
    } finally {
      media.impair(address, undefined);
    }

    const recoveryStarted = Date.now();
    const iceDeadline = Date.now() + 30_000;
    for (let id = await sessionIdentity(dark, 'blackoutMarker'); id.ice !== 'connected'; id = await sessionIdentity(dark, 'blackoutMarker')) {
      assert.ok(Date.now() < iceDeadline, `ICE of the participant back to connected (still ${id.ice})`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await assertMediaFlows([dark, other]);
    const afterId = await sessionIdentity(dark, 'blackoutMarker');
    console.log(`      media flowing both ways again ${Date.now() - recoveryStarted} ms after the blackout; Jingle session ${before.sid === afterId.sid ? 'kept' : `replaced (${before.sid} → ${afterId.sid})`}`);
    assert.equal(afterId.marker, 'same page', 'the page was not reloaded');
    assert.ok(media.endpointAddress(darkId), 'the bridge still has the participant\'s endpoint');
    for (const page of [dark, other]) await page.context().close();
  });
});
