/**
 * Two lib-jitsi-meet participants (p2p off) on a Salon started with `--no-bridge` and two `salon
 * bridge`s: when the bridge carrying their conference dies, the focus moves them to the other
 * (session-terminate "moving", then a new session-initiate, as Jicofo does) and lib-jitsi-meet
 * accepts the new session: each receives the other's audio and video again, through the bridge left.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startTestBridge, type TestBridge } from '../integration/harness.ts';
import { assertMediaFlows, joinWithMedia, startLjmRig, waitForRemoteVideo, type LjmRig } from './ljm-rig.ts';

/** The sid of the page's current bridge (JVB) Jingle session, if any. */
const jvbSid = (page: Page): Promise<string | undefined> =>
  page.evaluate(() => (window as unknown as Record<string, any>).salonTest.conference?.jvbJingleSession?.sid as string | undefined);

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('lib-jitsi-meet moved to another bridge when its bridge dies (browser)', function () {
  this.timeout(120_000);
  let rig: LjmRig;
  let second: TestBridge;

  before(async () => {
    rig = await startLjmRig({ media: true, remoteBridge: true });
    second = await startTestBridge(rig.server, { flags: ['--bridge-id', 'jvb-second'] });
  });
  after(async () => {
    await rig?.close();
    await second?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').filter((l) => /error|fail|terminat/i.test(l)).slice(-80).join('\n'));
  });

  it('media flows again between both participants after the first bridge dies', async () => {
    const { server, browser, pageUrl } = rig;
    await until(() => server.salon.focus.bridges.count === 2 && server.salon.focus.bridges.select() !== undefined, 'the focus sees both bridges');
    const a = await browser.newPage(pageUrl, { label: 'a' });
    const b = await browser.newPage(pageUrl, { label: 'b' });
    assert.equal((await joinWithMedia(a, 'failoverroom')).ok, true);
    assert.equal((await joinWithMedia(b, 'failoverroom')).ok, true);
    await waitForRemoteVideo([a, b]);

    const hosts = [rig.bridge!, second];
    const first = hosts.find((h) => h.host.bridge.colibri.endpointCount === 2);
    assert.ok(first, 'both endpoints on one bridge');
    const other = hosts.find((h) => h !== first)!;
    assert.equal(other.host.bridge.colibri.endpointCount, 0);
    const sidsBefore = await Promise.all([a, b].map(jvbSid));

    await first.close();
    await until(async () => {
      const sids = await Promise.all([a, b].map(jvbSid));
      return sids.every((sid, i) => sid !== undefined && sid !== sidsBefore[i]);
    }, 'a new bridge session on both pages');
    assert.equal(other.host.bridge.colibri.endpointCount, 2, 'both endpoints on the bridge left');
    for (const page of [a, b]) {
      // The focus moved it (rather than the client's own ICE-failure restart): its session-terminate says so.
      const reason = await page.evaluate(() => {
        const w = window as unknown as Record<string, any>;
        const frame = w.salonTest.xmpp.find((f: any) => f.dir === 'in' && f.data.includes('session-terminate'));
        const doc = new DOMParser().parseFromString(frame?.data ?? '<none/>', 'text/xml');
        const el = doc.querySelector('reason');
        return el ? `${el.firstElementChild?.tagName ?? ''} ${el.querySelector('text')?.textContent ?? ''}` : '';
      });
      assert.equal(reason, 'success moving');
    }

    await waitForRemoteVideo([a, b]);
    await assertMediaFlows([a, b]);
    assert.ok(other.host.bridgeStats.snapshot().totals.rtpPacketsForwarded > 0, 'the bridge left forwards the media');
    for (const page of [a, b]) await page.context().close();
  });
});
