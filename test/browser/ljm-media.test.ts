/**
 * Two lib-jitsi-meet participants (p2p off) with Chromium's fake camera and microphone meet
 * through Salon's focus and bridge: each receives the other's audio and video, proven by
 * growing bytesReceived and framesDecoded in getStats(), and the bridge channel opens; then
 * three participants each receive both others.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { TestServer } from '../integration/harness.ts';
import type { BrowserHarness } from './chromium.ts';
import { assertMediaFlows, conferenceIqToFirstFrameMs, inbound, joinWithMedia, startLjmRig, waitForRemoteVideo, type LjmRig } from './ljm-rig.ts';
import { assertReceives } from './salon-page.ts';
import { pollUntil } from './video-probes.ts';

describe('lib-jitsi-meet media through Salon\'s focus and bridge (browser)', function () {
  this.timeout(90_000);
  let rig: LjmRig;
  let server: TestServer;
  let browser: BrowserHarness;
  let pages: { origin: string };

  before(async () => {
    rig = await startLjmRig({ media: true });
    ({ server, browser, pages } = rig);
  });
  after(async () => rig?.close());
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && process.env.SALON_DEBUG_JINGLE) {
      for (const page of browser.browser.contexts().flatMap((c) => c.pages())) {
        const frames = await page.evaluate(() => (window as unknown as Record<string, any>).salonTest.xmpp.filter((f: any) => f.dir === 'in' && /action="(session-initiate|source-add|source-remove)"/.test(f.data)).map((f: any) => `${/action="([^"]+)"/.exec(f.data)?.[1]} ${/<json-message[^>]*>([^<]*)</.exec(f.data)?.[1] ?? ''}`));
        console.error(frames.join('\n'));
      }
    }
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').filter((l) => /error|fail/i.test(l)).slice(-60).join('\n'));
  });

  it('two participants receive each other\'s audio and video (bytes and decoded frames grow)', async () => {
    const a = await browser.newPage(`${pages.origin}/`, { label: 'a' });
    const b = await browser.newPage(`${pages.origin}/`, { label: 'b' });
    const started = Date.now();
    assert.equal((await joinWithMedia(a, 'mediaroom')).ok, true);
    assert.equal((await joinWithMedia(b, 'mediaroom')).ok, true);

    // Wait for the first remote frame at each side, then measure growth over two seconds.
    await waitForRemoteVideo([a, b]);
    const firstFrameMs = Date.now() - started;
    await assertMediaFlows([a, b]);
    console.log(`      two joins to both first remote frames decoded: ${firstFrameMs} ms; the second participant's conference IQ to its first remote frame: ${Math.round(await conferenceIqToFirstFrameMs(b))} ms`);
    // the bridge channel (colibri-ws) opened for both
    const opened = await Promise.all([a, b].map((p) => p.waitForFunction(
      () => (window as unknown as Record<string, any>).salonTest.conference.rtc?._channel?.isOpen?.() === true, undefined, { timeout: 10_000 },
    ).then(() => true, () => false)));
    assert.deepEqual(opened, [true, true], 'the bridge channel (colibri-ws) is open at both');
    for (const page of [a, b]) await page.context().close();
  });

  it('three participants each receive both others\' audio and video', async () => {
    const trio = [await browser.newPage(`${pages.origin}/`, { label: 'x' }), await browser.newPage(`${pages.origin}/`, { label: 'y' }), await browser.newPage(`${pages.origin}/`, { label: 'z' })];
    for (const page of trio) assert.equal((await joinWithMedia(page, 'threeroom')).ok, true);
    const decoding = async (page: Page): Promise<number> => (await inbound(page)).rtp.filter((r) => r.kind === 'video' && r.frames > 0).length;
    for (const page of trio) {
      const deadline = Date.now() + 30_000;
      while ((await decoding(page)) < 2) {
        if (Date.now() > deadline) assert.fail(`a participant decodes ${await decoding(page)} of 2 remote videos: ${JSON.stringify(await inbound(page))}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    for (const [i, page] of trio.entries()) await assertReceives(() => inbound(page), { audio: 2, video: 2 }, `participant ${i}`);
    // the bridge's own account of it (/colibri/stats, served to local callers)
    const stats = await (await fetch(`${server.httpOrigin}/colibri/stats`)).json() as Record<string, number>;
    assert.equal(stats.participants, 3);
    assert.ok(stats.total_packets_received! > 0 && stats.total_packets_sent! > stats.total_packets_received! / 2, `packets in and out: ${stats.total_packets_received} / ${stats.total_packets_sent}`);
    console.log(`      bridge: ${stats.total_packets_received} packets in, ${stats.total_packets_sent} out; forwarding delay ${stats.forwarding_delay_ms_avg} ms average, ${stats.forwarding_delay_ms_max} ms max`);
    for (const page of trio) await page.context().close();
  });

  it('with last-N 1, a participant learns which of the others is in its last-N, and receives that one\'s video only', async () => {
    // This lib-jitsi-meet predates source names: it reads only the legacy LastNEndpointsChangeEvent,
    // which the bridge sends it besides ForwardedSources (without it, every endpoint counts as in
    // last-N, and jitsi-meet shows a participant whose video stopped as interrupted).
    const [x, y, z] = [await browser.newPage(`${pages.origin}/`, { label: 'lx' }), await browser.newPage(`${pages.origin}/`, { label: 'ly' }), await browser.newPage(`${pages.origin}/`, { label: 'lz' })];
    for (const page of [x, y, z]) assert.equal((await joinWithMedia(page, 'lastnroom')).ok, true);
    const decoding = async (page: Page): Promise<number> => (await inbound(page)).rtp.filter((r) => r.kind === 'video' && r.frames > 0).length;
    const deadline = Date.now() + 30_000;
    while ((await decoding(z)) < 2) {
      if (Date.now() > deadline) assert.fail(`z decodes ${await decoding(z)} of 2 remote videos`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const view = (): Promise<Array<{ id: string; inLastN: boolean }>> => z.evaluate(() => {
      const conference = (window as unknown as Record<string, any>).salonTest.conference;
      return conference.getParticipants().map((p: any) => ({ id: p.getId() as string, inLastN: conference.isInLastN(p.getId()) as boolean }));
    });
    assert.deepEqual((await view()).map((p) => p.inLastN), [true, true], 'both in last-N before it is set');
    await z.evaluate(() => (window as unknown as Record<string, any>).salonTest.conference.setLastN(1));
    const out = await pollUntil(view, (v) => v.filter((p) => p.inLastN).length === 1, 20_000);
    assert.equal(out.filter((p) => p.inLastN).length, 1, `one of the two in z's last-N: ${JSON.stringify(out)}`);
    // And that is the one whose video z goes on decoding.
    const before = (await inbound(z)).rtp.filter((r) => r.kind === 'video').map((r) => r.frames);
    await new Promise((r) => setTimeout(r, 2_000));
    const after = (await inbound(z)).rtp.filter((r) => r.kind === 'video').map((r) => r.frames);
    const growing = after.filter((frames, i) => frames > (before[i] ?? 0) + 10).length;
    assert.equal(growing, 1, `z decodes one remote video: frames ${JSON.stringify({ before, after })}`);
    console.log(`      z with last-N 1: ${out.map((p) => `${p.id} ${p.inLastN ? 'in' : 'out'}`).join(', ')}; one video decoding`);
    for (const page of [x, y, z]) await page.context().close();
  });

  it('a participant\'s mute reaches the other participant', async () => {
    const a = await browser.newPage(`${pages.origin}/`, { label: 'm' });
    const b = await browser.newPage(`${pages.origin}/`, { label: 'n' });
    assert.equal((await joinWithMedia(a, 'eventsroom')).ok, true);
    assert.equal((await joinWithMedia(b, 'eventsroom')).ok, true);
    const channelOpen = (p: Page) => p.waitForFunction(() => (window as unknown as Record<string, any>).salonTest.conference.rtc?._channel?.isOpen?.() === true, undefined, { timeout: 20_000 });
    await Promise.all([channelOpen(a), channelOpen(b)]);

    // mute: the audio track's mute reaches the other through presence
    await a.evaluate(async () => {
      const w = window as unknown as Record<string, any>;
      const audio = w.salonTest.conference.getLocalAudioTrack();
      await audio.mute();
    });
    assert.ok(await b.waitForFunction(() => {
      const w = window as unknown as Record<string, any>;
      return w.salonTest.conference.getParticipants().some((p: any) => p.getTracks().some((t: any) => t.getType() === 'audio' && t.isMuted()));
    }, undefined, { timeout: 15_000 }).then(() => true, () => false), 'the other sees the remote audio muted');


    for (const page of [a, b]) await page.context().close();
  });
});
