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

  it('a screen share (desktop video type) reaches the others', async () => {
    const a = await browser.newPage(pageUrl, { label: 's' });
    const b = await browser.newPage(pageUrl, { label: 't' });
    assert.equal((await joinWithMedia(a, 'shareroom')).ok, true);
    assert.equal((await joinWithMedia(b, 'shareroom')).ok, true);
    await waitFor(b, () => {
      const w = window as unknown as AnyWindow;
      // this client leaves a camera's type unset (no <videoType> in presence for cameras)
      return w.salonTest.conference.rtc.getRemoteTracks().some((t: any) => t.getType() === 'video' && t.getVideoType() !== 'desktop');
    }, 'b has a\'s camera track', 30_000);
    const aId = await a.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.myUserId());
    // the jitsi-meet way: the camera track is replaced by a getDisplayMedia track
    const shared = await a.evaluate(async () => {
      const w = window as unknown as AnyWindow;
      const tracks = await w.JitsiMeetJS.createLocalTracks({ devices: ['desktop'] });
      const desktop = tracks.find((t: any) => t.getType() === 'video');
      for (const t of tracks) if (t !== desktop) await t.dispose(); // the screen's audio, if any
      const camera = w.salonTest.conference.getLocalVideoTrack();
      await w.salonTest.conference.replaceTrack(camera, desktop);
      const settings = desktop.getTrack().getSettings();
      return { videoType: desktop.getVideoType(), surface: settings.displaySurface, width: settings.width };
    });
    assert.equal(shared.videoType, 'desktop');
    await waitFor(b, () => {
      const w = window as unknown as AnyWindow;
      return w.salonTest.conference.rtc.getRemoteTracks().some((t: any) => t.getType() === 'video' && t.getVideoType() === 'desktop');
    }, 'b sees a\'s video as desktop');
    const owner = await b.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.rtc.getRemoteTracks().find((t: any) => t.getVideoType() === 'desktop').getParticipantId());
    assert.equal(owner, aId);
    // and the screen's frames are decoded at b
    const framesAt = async () => total((await inbound(b)).rtp, 'video').frames;
    const before = await framesAt();
    let after = before;
    for (const deadline = Date.now() + 10_000; after - before < 10 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 250));
      after = await framesAt();
    }
    assert.ok(after - before >= 10, `b decodes the shared screen: ${after - before} frames in 10 s`);
    // the screen's own picture: wider than Chromium's fake camera (640×480)
    const width = await b.evaluate(async () => {
      const pc = (window as unknown as AnyWindow).salonTest.conference.jvbJingleSession.peerconnection.peerconnection as RTCPeerConnection;
      let w = 0;
      (await pc.getStats()).forEach((r: any) => { if (r.type === 'inbound-rtp' && r.kind === 'video') w = Math.max(w, r.frameWidth ?? 0); });
      return w;
    });
    assert.ok(width > 640, `the screen arrives at its own size: ${width} px wide (shared at ${shared.width})`);
  });

  it('one-to-one with p2p on: the call goes peer-to-peer through the MUC\'s IQ routing', async () => {
    const a = await browser.newPage(pageUrl, { label: 'p' });
    const b = await browser.newPage(pageUrl, { label: 'q' });
    assert.equal((await joinWithMedia(a, 'p2proom', { p2p: true })).ok, true);
    assert.equal((await joinWithMedia(b, 'p2proom', { p2p: true })).ok, true);
    const p2pStats = (page: Page) => page.evaluate(async () => {
      const c = (window as unknown as AnyWindow).salonTest.conference;
      const pc = c.p2pJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
      if (!pc) return { active: false, ice: 'none', audioBytes: 0, videoFrames: 0 };
      let audioBytes = 0;
      let videoFrames = 0;
      (await pc.getStats()).forEach((r: any) => {
        if (r.type !== 'inbound-rtp') return;
        if (r.kind === 'audio') audioBytes += r.bytesReceived ?? 0;
        else videoFrames += r.framesDecoded ?? 0;
      });
      return { active: c.isP2PActive(), ice: pc.iceConnectionState, audioBytes, videoFrames };
    });
    for (const page of [a, b]) {
      await waitFor(page, () => (window as unknown as AnyWindow).salonTest.conference.isP2PActive() === true, 'the p2p session is active', 30_000);
    }
    const before = await Promise.all([a, b].map(p2pStats));
    const flowing = (after: Awaited<ReturnType<typeof p2pStats>>[]) => [0, 1].every((i) =>
      ['connected', 'completed'].includes(after[i]!.ice) && after[i]!.audioBytes > before[i]!.audioBytes
      && after[i]!.videoFrames - before[i]!.videoFrames >= 20);
    let after = before;
    for (const deadline = Date.now() + 15_000; !flowing(after) && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 250));
      after = await Promise.all([a, b].map(p2pStats));
    }
    for (const i of [0, 1]) {
      assert.ok(['connected', 'completed'].includes(after[i]!.ice), `p2p ICE of ${i}: ${after[i]!.ice}`);
      assert.ok(after[i]!.audioBytes > before[i]!.audioBytes, `participant ${i} receives audio peer-to-peer`);
      assert.ok(after[i]!.videoFrames - before[i]!.videoFrames >= 20, `participant ${i} decodes video peer-to-peer: ${after[i]!.videoFrames - before[i]!.videoFrames} more frames within 15 s`);
    }
    // the Jingle of the p2p session went occupant to occupant through the room
    const relayed = await b.evaluate(() => (window as unknown as AnyWindow).salonTest.xmpp.some((f: any) => f.dir === 'in' && /action="session-initiate"/.test(f.data) && /from="p2proom@[^"]+\/[^"]+"/.test(f.data) && !/\/focus"/.test(f.data.match(/from="[^"]+"/)?.[0] ?? '')));
    const initiatedByA = await a.evaluate(() => (window as unknown as AnyWindow).salonTest.xmpp.some((f: any) => f.dir === 'in' && /action="session-initiate"/.test(f.data) && /from="p2proom@[^"]+\/[^"]+"/.test(f.data) && !/\/focus"/.test(f.data.match(/from="[^"]+"/)?.[0] ?? '')));
    assert.ok(relayed || initiatedByA, 'a p2p session-initiate came from an occupant\'s room address');
  });

  it('a malformed session-accept from one participant leaves the others\' call running', async () => {
    const a = await browser.newPage(pageUrl, { label: 'g' });
    const b = await browser.newPage(pageUrl, { label: 'h' });
    const c = await browser.newPage(pageUrl, { label: 'bad' });
    assert.equal((await joinWithMedia(a, 'badroom')).ok, true);
    assert.equal((await joinWithMedia(b, 'badroom')).ok, true);
    const videoBytes = async (page: Page) => total((await inbound(page)).rtp, 'video').bytes;
    for (const page of [a, b]) {
      await waitFor(page, () => (window as unknown as AnyWindow).salonTest.conference.rtc.getRemoteTracks().length === 2, 'a and b have each other\'s tracks', 30_000);
    }
    assert.equal((await joinWithMedia(c, 'badroom', { breakSessionAccept: true })).ok, true);
    // the focus refuses c's session-accept with an error
    const refused = await c.waitForFunction(() => {
      const frames = (window as unknown as AnyWindow).salonTest.xmpp as Array<{ dir: string; data: string }>;
      const accept = frames.find((f) => f.dir === 'out' && f.data.includes('action="session-accept"'));
      const id = accept && /<iq [^>]*id="([^"]+)"/.exec(accept.data)?.[1];
      return id !== undefined && frames.some((f) => f.dir === 'in' && f.data.includes(`id="${id}"`) && f.data.includes('type="error"'));
    }, undefined, { timeout: 20_000 }).then(() => true, () => false);
    assert.ok(refused, 'c\'s malformed session-accept is answered with an error');
    // a and b go on receiving each other's media
    const before = await Promise.all([a, b].map(videoBytes));
    await new Promise((r) => setTimeout(r, 1500));
    const after = await Promise.all([a, b].map(videoBytes));
    assert.ok(after[0]! > before[0]! && after[1]! > before[1]!, `a and b still receive video: ${before} → ${after}`);
    for (const page of [a, b]) {
      assert.equal(await page.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.jvbJingleSession.peerconnection.peerconnection.iceConnectionState), 'connected');
    }
  });
});
