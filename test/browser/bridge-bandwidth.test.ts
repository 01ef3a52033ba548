/**
 * Bandwidth estimation drives the layer each receiver gets: a lib-jitsi-meet sender sends three
 * VP8 simulcast layers; receivers A and B both put it on stage at 720. B's path is then capped
 * (a 350 kbit/s bottleneck with a queue at the bridge's socket, MediaTransport.impair): the
 * bridge's send-side estimate for B, from B's own transport-cc feedback about the bridge's
 * transport-wide sequence numbers (bridge/bwe/), falls, and the bridge moves B to a lower layer
 * (bridge/bandwidth-allocation.ts) within 5 s — stopping the tall layer at once rather than at the
 * lower layer's keyframe, whose packets would queue behind it (video-projection.ts #holdsBack) —
 * while A keeps the tall layer. Every figure about video comes from the browsers' getStats().
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { channelOpen, joinWithMedia, startLjmRig, type LjmRig } from './ljm-rig.ts';
import { constrain, pollUntil, remoteVideo as videoIn, type RemoteVideo } from './video-probes.ts';

/** The heights the sender encodes now (simulcast layers with frames). */
async function encodedHeights(page: Page): Promise<number[]> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const pc = w.salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    const heights: number[] = [];
    (await pc?.getStats())?.forEach((r: any) => { if (r.type === 'outbound-rtp' && r.kind === 'video' && r.framesEncoded > 0 && r.frameHeight) heights.push(r.frameHeight); });
    return heights.sort((x, y) => x - y);
  });
}

/** What the issue asks: the capped receiver is on a lower layer within this long of the cap. */
const REACTION_MS = 5_000;
/** The most A's picture may stand still while B is capped (Chrome's freeze detection on a loaded machine). */
const A_FREEZE_S = 1;
const CAP_BPS = 350_000;

describe('bridge: bandwidth estimation moves a capped receiver down (browser)', function () {
  this.timeout(150_000);
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ media: true });
  });
  after(async () => rig?.close());
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').filter((l) => /error|fail/i.test(l)).slice(-40).join('\n'));
  });

  it('moves the receiver whose path is capped to a lower layer within 5 s, the other keeps the tall one', async () => {
    const media = rig.server.salon.media;
    assert.ok(media, 'the built-in bridge');
    const sender = await rig.browser.newPage(rig.pageUrl, { label: 'sender' });
    const a = await rig.browser.newPage(rig.pageUrl, { label: 'a' });
    const b = await rig.browser.newPage(rig.pageUrl, { label: 'b' });
    assert.equal((await joinWithMedia(sender, 'bweroom', { devices: ['audio', 'video'] })).ok, true);
    assert.equal((await joinWithMedia(a, 'bweroom', { devices: ['audio'] })).ok, true);
    assert.equal((await joinWithMedia(b, 'bweroom', { devices: ['audio'] })).ok, true);
    await Promise.all([sender, a, b].map((p) => channelOpen(p, 30_000)));
    const id = (page: Page) => page.evaluate(() => (window as unknown as Record<string, any>).salonTest.conference.myUserId() as string);
    const sourceName = `${await id(sender)}-v0`;
    await constrain(a, sourceName, 720, true);
    await constrain(b, sourceName, 720, true);

    // Both decode the sender's tallest layer (Chrome turns it on once its own estimate allows).
    const start = await pollUntil(async () => ({ heights: await encodedHeights(sender), a: await videoIn(a), b: await videoIn(b) }),
      ({ heights, a: va, b: vb }) => heights.length >= 3 && va?.frameHeight === heights.at(-1) && vb?.frameHeight === heights.at(-1), 60_000);
    const top = start.heights.at(-1)!;
    assert.ok(start.heights.length >= 3 && top >= 360, `the sender encodes three layers: ${JSON.stringify(start)}`);
    assert.equal(start.a?.frameHeight, top, `A decodes the top layer: ${JSON.stringify(start)}`);
    assert.equal(start.b?.frameHeight, top, `B decodes the top layer: ${JSON.stringify(start)}`);
    const conference = rig.server.salon.bridge!.colibri.conferenceList()[0]!;
    const bId = await id(b);
    console.log(`      before: the sender encodes ${start.heights.join('/')}; A and B decode ${top}; the bridge's estimate for B ${Math.round((conference.bandwidthEstimate(bId) ?? 0) / 1000)} kbps`);

    const address = media.endpointAddress(bId);
    assert.ok(address, 'B has a nominated address');
    // The cap meets a tall layer at its rate: not one Chrome has just turned on and is still ramping
    // up, whose cost the bridge cannot know yet (it would keep it for B until measured).
    const steady = await pollUntil(async () => conference.arrivingLayers(sourceName), (layers) => layers.length >= 3 &&
      layers.at(-1)!.bitrate > Math.max(CAP_BPS, layers.at(-2)!.bitrate), 20_000);
    assert.ok(steady.length >= 3 && steady.at(-1)!.bitrate > CAP_BPS, `the tall layer arrives at more than the cap: ${JSON.stringify(steady)}`);
    console.log(`      the bridge measures the layers at ${steady.map((l) => `${l.height}p ${Math.round(l.bitrate / 1000)}`).join(', ')} kbps`);
    const aBefore = (await videoIn(a))!;
    const bBefore = (await videoIn(b))!;
    const capped = Date.now();
    media.impair(address, { rateBps: CAP_BPS });
    let moved: RemoteVideo | undefined;
    try {
      // B's picture and the bridge's estimate for it, every poll: printed when the move is slow.
      const timeline: string[] = [];
      // The time each poll's getStats answered: B had moved by then (a bound from above, up to a
      // poll interval late, never early).
      let answeredAt = capped;
      moved = await pollUntil(async () => {
        const v = await videoIn(b);
        answeredAt = Date.now();
        timeline.push(`+${answeredAt - capped} ms: estimate ${Math.round((conference.bandwidthEstimate(bId) ?? 0) / 1000)} kbps, B decodes ${v?.frameHeight} lines (${v?.framesDecoded} frames)`);
        return v;
      }, (v) => v !== undefined && v.frameHeight < top, REACTION_MS + 3_000);
      const reactionMs = answeredAt - capped;
      if (reactionMs > 2_000) console.log(timeline.map((l) => `        ${l}`).join('\n'));
      console.log(`      B capped at ${CAP_BPS / 1000} kbps: decodes ${moved?.frameHeight} lines after ${reactionMs} ms; the bridge's estimate for B ${Math.round((conference.bandwidthEstimate(bId) ?? 0) / 1000)} kbps; layers stopped at once for a move down: ${conference.mediaStats().bandwidthHolds}; ` +
        `B's picture stood still ${moved!.freezeCount - bBefore.freezeCount} times, ${(moved!.totalFreezesDuration - bBefore.totalFreezesDuration).toFixed(2)} s in all, from the cap to its move`);
      assert.ok(moved && moved.frameHeight < top, `B moves to a lower layer: ${JSON.stringify({ moved, top, estimate: conference.bandwidthEstimate(bId) })}`);
      assert.ok(reactionMs <= REACTION_MS, `B moves within ${REACTION_MS} ms of the cap (seen after ${reactionMs} ms)`);
      // B keeps decoding on its lower layer: the layer fits the cap.
      const bLater = await pollUntil(() => videoIn(b), (v) => v !== undefined && v.framesDecoded >= moved!.framesDecoded + 30, 10_000);
      assert.ok(bLater && bLater.framesDecoded >= moved.framesDecoded + 30, `B keeps decoding under the cap: ${JSON.stringify({ moved, bLater })}`);
      // A, while B is still capped, is not affected: the sender's top layer, decoding on, its
      // picture not standing still. (On a loaded machine Chrome may stop encoding its 720p layer
      // for its own reasons; A then gets the tallest layer still sent: a few seconds for A to be
      // back on the top layer if the sender paused it meanwhile, CPU adaptation.)
      const { a: aCapped, top: topNow } = await pollUntil(async () => ({ a: (await videoIn(a))!, top: (await encodedHeights(sender)).at(-1) }), (v) => v.a.frameHeight === v.top, 5_000);
      const aId = await id(a);
      const aFrozen = aCapped.totalFreezesDuration - aBefore.totalFreezesDuration;
      console.log(`      A while B is capped: ${aCapped.frameHeight} lines (the sender's top now ${topNow}), ${aCapped.framesDecoded - aBefore.framesDecoded} frames decoded, stood still ${aCapped.freezeCount - aBefore.freezeCount} times (${aFrozen.toFixed(2)} s); the bridge's estimate for A ${Math.round((conference.bandwidthEstimate(aId) ?? 0) / 1000)} kbps`);
      assert.equal(aCapped.frameHeight, topNow, 'A decodes the top layer the sender encodes while B is capped');
      assert.ok(aCapped.framesDecoded >= aBefore.framesDecoded + 30, `A kept decoding while B is capped: ${JSON.stringify({ aBefore, aCapped })}`);
      assert.ok(aFrozen <= A_FREEZE_S, `A's picture stood still ${aFrozen.toFixed(2)} s while B was capped: ${JSON.stringify({ aBefore, aCapped })}`);
    } finally {
      media.impair(address, undefined);
    }

    // The cap lifted, B climbs back (the estimate grows again; the switch up is the probe).
    const lifted = Date.now();
    const back = await pollUntil(async () => ({ b: await videoIn(b), top: (await encodedHeights(sender)).at(-1) }), (v) => v.b?.frameHeight === v.top, 40_000);
    console.log(`      cap lifted: B decodes ${back.b?.frameHeight} lines (the sender's top ${back.top}) after ${Date.now() - lifted} ms; estimate ${Math.round((conference.bandwidthEstimate(bId) ?? 0) / 1000)} kbps; probing sent ${Math.round(conference.mediaStats().probingBytes / 1000)} kB`);
    assert.equal(back.b?.frameHeight, back.top, 'B goes back to the top layer once the cap is lifted');
    for (const page of [sender, a, b]) await page.context().close();
  });

  it('stops sending a receiver whose cap cannot carry both cameras the lower-ranked one, which lib-jitsi-meet then takes as out of last-N, and brings it back', async () => {
    const media = rig.server.salon.media!;
    const first = await rig.browser.newPage(rig.pageUrl, { label: 'first' });
    const second = await rig.browser.newPage(rig.pageUrl, { label: 'second' });
    const r = await rig.browser.newPage(rig.pageUrl, { label: 'receiver' });
    assert.equal((await joinWithMedia(first, 'suspendroom', { devices: ['audio', 'video'] })).ok, true);
    assert.equal((await joinWithMedia(second, 'suspendroom', { devices: ['audio', 'video'] })).ok, true);
    assert.equal((await joinWithMedia(r, 'suspendroom', { devices: ['audio'] })).ok, true);
    await Promise.all([first, second, r].map((p) => channelOpen(p, 30_000)));
    const id = (page: Page) => page.evaluate(() => (window as unknown as Record<string, any>).salonTest.conference.myUserId() as string);
    const [firstId, secondId, rId] = [await id(first), await id(second), await id(r)];
    // The first camera on stage (ranked first), the second a thumbnail at 180.
    await constrain(r, `${firstId}-v0`, 720, true);
    /**
     * Per sender: frames R decoded of its camera (by the SSRC of lib-jitsi-meet's remote track),
     * and whether R's lib-jitsi-meet counts it in last-N (what jitsi-meet shows a thumbnail or an
     * avatar by; this client of before source names learns it from LastNEndpointsChangeEvent).
     */
    const seen = () => r.evaluate(async (owners) => {
      const w = window as unknown as Record<string, any>;
      const conference = w.salonTest.conference;
      const pc = conference.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection;
      const stats = await pc.getStats();
      const out: Record<string, { frames: number; inLastN: boolean }> = {};
      for (const owner of owners) {
        const participant = conference.getParticipantById(owner);
        const ssrc = Number(participant?.getTracksByMediaType('video')[0]?.getSSRC());
        let frames = 0;
        stats.forEach((s: any) => { if (s.type === 'inbound-rtp' && s.kind === 'video' && s.ssrc === ssrc) frames = s.framesDecoded ?? 0; });
        out[owner] = { frames, inLastN: conference.isInLastN(owner) === true };
      }
      return out;
    }, [firstId, secondId]);
    const conference = rig.server.salon.bridge!.colibri.conferenceList().find((c) => c.endpointIds().includes(rId))!;
    const lowest = (owner: string) => conference.arrivingLayers(`${owner}-v0`)[0]?.bitrate ?? 0;
    const flowing = await pollUntil(async () => ({ now: await seen(), low: [lowest(firstId), lowest(secondId)] }),
      (v) => v.now[firstId]!.frames > 30 && v.now[secondId]!.frames > 30 && v.low.every((b) => b > 0), 40_000);
    assert.ok(flowing.now[firstId]!.frames > 30 && flowing.now[secondId]!.frames > 30, `R decodes both cameras: ${JSON.stringify(flowing)}`);
    assert.ok(flowing.now[firstId]!.inLastN && flowing.now[secondId]!.inLastN);
    // The lowest layers' bitrates over 3 s (the bridge's one-second windows), the highest seen of each.
    const low = [0, 0];
    for (let i = 0; i < 15; i++) {
      low[0] = Math.max(low[0]!, lowest(firstId));
      low[1] = Math.max(low[1]!, lowest(secondId));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Room for the first camera's lowest layer, half the second's and both microphones (Opus, with
    // its packets' overhead, 100 kbit/s for the two): the second camera must go, the first fits.
    const cap = Math.round(low[0]! + low[1]! / 2 + 100_000);
    const address = media.endpointAddress(rId)!;
    const suspensionsBefore = conference.mediaStats().bandwidthSuspensions;
    const capped = Date.now();
    media.impair(address, { rateBps: cap });
    let suspended: Awaited<ReturnType<typeof seen>> | undefined;
    try {
      // The second camera stops for R and its lib-jitsi-meet learns it.
      suspended = (await pollUntil(async () => ({ now: await seen() }), (v) => !v.now[secondId]!.inLastN, 20_000)).now;
      console.log(`      lowest layers ${Math.round(low[0]! / 1000)} and ${Math.round(low[1]! / 1000)} kbps; R capped at ${Math.round(cap / 1000)} kbps: the second camera out of last-N at R after ${Date.now() - capped} ms, estimate ${Math.round((conference.bandwidthEstimate(rId) ?? 0) / 1000)} kbps`);
      assert.equal(suspended[secondId]!.inLastN, false, `lib-jitsi-meet takes the second camera as not received: ${JSON.stringify(suspended)}`);
      assert.ok(conference.mediaStats().bandwidthSuspensions > suspensionsBefore, 'counted');
      // The first camera, on stage, goes on under the cap (on its lowest layer, once the move down is done); nothing more of the second.
      // Counted from when R's decoding of the second camera has stood still for a second: frames of it
      // already in the capped path's 300 ms queue, in R's jitter buffer or in its decoder's backlog
      // when lib-jitsi-meet heard of it still come out (up to 4 within a second on a quiet machine;
      // 6 more within the next 2.5 s once, the whole suite running on a slower one). A bridge that
      // kept sending it never stands still, and one that sent it now and then shows in the window after.
      let still = await seen();
      let stillSince = Date.now();
      while (Date.now() - stillSince < 1_000) {
        assert.ok(Date.now() - capped < 20_000, `the second camera's frames stop coming: ${JSON.stringify({ suspended, still })}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const now = await seen();
        if (now[secondId]!.frames !== still[secondId]!.frames) {
          still = now;
          stillSince = Date.now();
        }
      }
      const settled = await seen();
      const suspensionsSettled = conference.mediaStats().bandwidthSuspensions;
      const later = await pollUntil(() => seen(), (v) => v[firstId]!.frames - settled[firstId]!.frames >= 30, 20_000);
      console.log(`      then in ${Date.now() - capped} ms from the cap, R decoded ${later[firstId]!.frames - suspended[firstId]!.frames} frames of the first camera and ${later[secondId]!.frames - suspended[secondId]!.frames} of the second (${settled[secondId]!.frames - suspended[secondId]!.frames} before standing still, ${later[secondId]!.frames - settled[secondId]!.frames} after)`);
      assert.ok(later[firstId]!.frames - settled[firstId]!.frames >= 30, `the first one goes on under the cap: ${JSON.stringify({ suspended, settled, later })}`);
      assert.ok(later[secondId]!.frames - settled[secondId]!.frames <= 1, `no more frames of the second camera: ${JSON.stringify({ suspended, settled, later })}`);
      assert.equal(later[firstId]!.inLastN, true);
      // Still suspended, not resumed and suspended again meanwhile.
      assert.equal(later[secondId]!.inLastN, false, `the second camera stays out of last-N under the cap: ${JSON.stringify(later)}`);
      assert.equal(conference.mediaStats().bandwidthSuspensions, suspensionsSettled, 'no new suspension under the cap');
    } finally {
      media.impair(address, undefined);
    }
    // The cap lifted: the estimate grows (probing with the first camera's copies) and the second comes back.
    const lifted = Date.now();
    const back = await pollUntil(async () => seen(), (v) => v[secondId]!.inLastN && v[secondId]!.frames > suspended![secondId]!.frames + 30, 40_000);
    console.log(`      cap lifted: the second camera decoded again at R after ${Date.now() - lifted} ms (estimate ${Math.round((conference.bandwidthEstimate(rId) ?? 0) / 1000)} kbps)`);
    assert.ok(back[secondId]!.inLastN && back[secondId]!.frames > suspended![secondId]!.frames + 30, `the second camera is back: ${JSON.stringify(back)}`);
    for (const page of [first, second, r]) await page.context().close();
  });
});
