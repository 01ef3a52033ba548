/**
 * lib-jitsi-meet participants in one conference through Salon, beyond media flowing: endpoint
 * messages over the bridge channel, a participant leaving with its sources, screen sharing,
 * one-to-one peer-to-peer through the MUC, and a malformed session-accept that harms nobody else.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { BrowserHarness } from './chromium.ts';
import { channelOpen, inbound, joinWithMedia, startLjmRig, total, type LjmRig } from './ljm-rig.ts';

type AnyWindow = Record<string, any>;

async function waitFor(page: Page, fn: () => unknown, what: string, timeout = 15_000): Promise<void> {
  const ok = await page.waitForFunction(fn, undefined, { timeout }).then(() => true, () => false);
  assert.ok(ok, what);
}

describe('lib-jitsi-meet conference events through Salon (browser)', function () {
  this.timeout(90_000);
  let rig: LjmRig;
  let browser: BrowserHarness;
  let pageUrl: string;

  before(async () => {
    rig = await startLjmRig({ media: true });
    ({ browser, pageUrl } = rig);
  });
  after(async () => rig?.close());
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').filter((l) => /error|fail|warn/i.test(l)).slice(-60).join('\n'));
    for (const context of browser.browser.contexts()) await context.close();
  });

  it('an endpoint message passes from one participant to another through the bridge channel', async () => {
    const a = await browser.newPage(pageUrl, { label: 'a' });
    const b = await browser.newPage(pageUrl, { label: 'b' });
    assert.equal((await joinWithMedia(a, 'msgroom')).ok, true);
    assert.equal((await joinWithMedia(b, 'msgroom')).ok, true);
    await Promise.all([channelOpen(a), channelOpen(b)]);
    await waitFor(a, () => (window as unknown as AnyWindow).salonTest.conference.getParticipants().length === 1, 'a sees b');
    await waitFor(b, () => (window as unknown as AnyWindow).salonTest.conference.getParticipants().length === 1, 'b sees a');
    const aId = await a.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.myUserId());
    const bId = await b.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.myUserId());
    await a.evaluate((to) => (window as unknown as AnyWindow).salonTest.conference.sendEndpointMessage(to, { type: 'salon-test', n: 42 }), bId);
    const received = await b.evaluate(async () => {
      const t = (window as unknown as AnyWindow).salonTest;
      for (let from = 0; ;) {
        const ev = await t.waitForEvent('ENDPOINT_MESSAGE_RECEIVED', 10_000, from);
        if (!ev || ev.args[1]?.type === 'salon-test') return ev;
        from = t.events.indexOf(ev) + 1;
      }
    });
    assert.ok(received, 'b received the endpoint message');
    assert.deepEqual(received.args[1], { type: 'salon-test', n: 42 });
    assert.equal(received.args[0].id, aId, 'the sender is a, as the bridge says');
  });

  it('a participant that leaves disappears with its sources at the others', async () => {
    const trio = [await browser.newPage(pageUrl, { label: 'x' }), await browser.newPage(pageUrl, { label: 'y' }), await browser.newPage(pageUrl, { label: 'z' })];
    for (const page of trio) assert.equal((await joinWithMedia(page, 'leaveroom')).ok, true);
    const [x, y, z] = trio as [Page, Page, Page];
    const decoding = async (page: Page): Promise<number> => (await inbound(page)).rtp.filter((r) => r.kind === 'video' && r.frames > 0).length;
    for (const page of trio) {
      const deadline = Date.now() + 30_000;
      while ((await decoding(page)) < 2) {
        if (Date.now() > deadline) assert.fail('two remote videos decoded');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const zId = await z.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.myUserId());
    const remoteTracksOf = (page: Page, id: string) => page.evaluate((owner) => (window as unknown as AnyWindow).salonTest.conference.getParticipantById(owner)?.getTracks().length ?? -1, id);
    assert.equal(await remoteTracksOf(x, zId), 2, 'x has z\'s audio and video before');
    const zSsrcs = await z.evaluate(() => {
      const pc = (window as unknown as AnyWindow).salonTest.conference.jvbJingleSession.peerconnection.peerconnection as RTCPeerConnection;
      return [...(pc.localDescription?.sdp ?? '').matchAll(/^a=ssrc:(\d+) /gm)].map((m) => m[1]);
    });
    assert.ok(zSsrcs.length > 0, 'z had SSRCs');
    await z.evaluate(() => (window as unknown as AnyWindow).salonTest.leave());
    for (const page of [x, y]) await page.evaluate((id) => { (window as unknown as AnyWindow).salonTest.left = id; }, zId);
    for (const page of [x, y]) {
      await waitFor(page, () => (window as unknown as AnyWindow).salonTest.conference.getParticipants().length === 1, 'z is gone from the participants');
      const left = await page.evaluate(() => (window as unknown as AnyWindow).salonTest.waitForEvent('USER_LEFT', 1000));
      assert.equal(left?.args[0], zId);
    }
    // z's sources left the others: no remote track of z, no SSRC of z in the remote description
    for (const page of [x, y]) {
      await waitFor(page, () => (window as unknown as AnyWindow).salonTest.conference.rtc.getRemoteTracks().every((t: any) => t.getParticipantId() !== (window as unknown as AnyWindow).salonTest.left), 'no remote track of z');
    }
    const stillThere = await x.evaluate((ssrcs) => {
      const pc = (window as unknown as AnyWindow).salonTest.conference.jvbJingleSession.peerconnection.peerconnection as RTCPeerConnection;
      const sdp = pc.remoteDescription?.sdp ?? '';
      return ssrcs.filter((s) => new RegExp(`^a=ssrc:${s} `, 'm').test(sdp));
    }, zSsrcs);
    assert.deepEqual(stillThere, [], 'z\'s SSRCs are gone from x\'s remote description');
    // x and y go on receiving each other
    const before = total((await inbound(x)).rtp, 'video').bytes;
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(total((await inbound(x)).rtp, 'video').bytes > before, 'x still receives y\'s video');
  });
});
