/**
 * Video layers per receiver, end to end, for every codec the bridge forwards by layer:
 * - VP8 simulcast (the default): a lib-jitsi-meet sender sends its camera as three VP8 layers,
 *   each on its own SSRC;
 * - H.264 simulcast (ENABLE_CODEC_H264: the focus offers H264 107 as Jicofo does), the same with
 *   three H.264 layers, switched at keyframes the bridge recognises from the NAL units; config.js
 *   keeps VP8 first, so the participants here prefer H.264 as jitsi-meet's `videoQuality` lets a
 *   deployment or an app do;
 * - VP9 SVC (ENABLE_CODEC_VP9: the focus offers VP9 and config.js makes lib-jitsi-meet prefer it):
 *   one SSRC carries the spatial layers (L3T3_KEY once the bridge asks the sender for 720);
 * - AV1 SVC (ENABLE_CODEC_AV1), the same with the layers named by the Dependency Descriptor. The
 *   lib-jitsi-meet on the npm registry predates AV1, so the sender is Salon's own web client, which
 *   sends the first SVC codec of config.js's preference as L3T3_KEY; the receivers stay lib-jitsi-meet.
 * Receiver A puts the camera on stage at 720, receiver B constrains it to 180 (ReceiverVideoConstraints
 * through conference.setReceiverConstraints, as jitsi-meet's app does). The bridge must send each
 * the layer(s) its own constraints ask for (jitsi-protocol.md §8.4, §8.5), and B's switch up to
 * 720 must happen on a keyframe, without a freeze. Every figure comes from the browsers' getStats().
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { BrowserHarness } from './chromium.ts';
import { channelOpen, joinWithMedia, startLjmRig, type LjmRig } from './ljm-rig.ts';
import { joinSalon } from './salon-page.ts';
import { constrain, inboundCodec, pollUntil, remoteVideo as videoIn, videoOut, videoSenderId, type VideoOut } from './video-probes.ts';

/**
 * What a receiver knows from the sender reports of the video it decodes most of (its
 * `remote-outbound-rtp`, keyed by the SSRC the bridge forwards it on): none when no report for
 * that SSRC ever came. The bridge rewrites each layer's reports onto that SSRC with the
 * receiver's own timestamps, so that lip sync survives the re-stamping.
 */
async function senderReportsSeen(page: Page): Promise<{ ssrc: number; reportsSent: number; remoteTimestamp: number; packetsSent: number } | undefined> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const pc = w.salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    const stats = (await pc?.getStats()) as (RTCStatsReport & Map<string, any>) | undefined;
    let inbound: any;
    stats?.forEach((r: any) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video' && (r.framesDecoded ?? 0) > (inbound?.framesDecoded ?? 0)) inbound = r;
    });
    let remote: { ssrc: number; reportsSent: number; remoteTimestamp: number; packetsSent: number } | undefined;
    stats?.forEach((r: any) => {
      if (r.type === 'remote-outbound-rtp' && inbound && r.ssrc === inbound.ssrc) remote = { ssrc: r.ssrc, reportsSent: r.reportsSent ?? 0, remoteTimestamp: r.remoteTimestamp ?? 0, packetsSent: r.packetsSent ?? 0 };
    });
    return remote;
  });
}

/**
 * Waits, up to `ms`, until the sender's tallest encoding is the height `receiver` decodes and gained
 * at least 10 frames in each of two consecutive seconds; says how that went.
 */
async function steadyTallest(receiver: Page, sender: Page, ms: number): Promise<string> {
  const started = Date.now();
  let steadySeconds = 0;
  let last: { height: number; frames: number } | undefined;
  let seen = '';
  for (;;) {
    const out = await videoOut(sender);
    const tallest = [...out].sort((x, y) => y.frameHeight - x.frameHeight)[0];
    const decoded = await videoIn(receiver);
    const frames = tallest ? tallest.framesEncoded : 0;
    const gained = last && tallest && last.height === tallest.frameHeight ? frames - last.frames : 0;
    seen = `${tallest?.frameHeight ?? 0} lines, ${gained} frames in the last second, the receiver on ${decoded?.frameHeight ?? 0}`;
    steadySeconds = last && tallest && decoded?.frameHeight === tallest.frameHeight && gained >= 10 ? steadySeconds + 1 : 0;
    if (steadySeconds >= 2) return `steady after ${((Date.now() - started) / 1000).toFixed(1)} s (${seen})`;
    if (Date.now() - started > ms) return `not steady within ${ms / 1000} s (${seen})`;
    last = tallest ? { height: tallest.frameHeight, frames } : undefined;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** For failure messages: the sender's encodings (active, scale) and its bandwidth estimate towards the bridge. */
async function senderState(page: Page): Promise<unknown> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const pc = w.salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    const active = pc?.getSenders().filter((s) => s.track?.kind === 'video').map((s) => s.getParameters().encodings.map((e) => ({ active: e.active, scale: e.scaleResolutionDownBy, max: e.maxBitrate })));
    let bwe: number | undefined;
    (await pc?.getStats())?.forEach((r: any) => { if (r.type === 'candidate-pair' && r.nominated) bwe = r.availableOutgoingBitrate; });
    return { active, availableOutgoingBitrate: bwe };
  });
}

/**
 * The height of the sender's shortest layer: of its simulcast encodings (VP8), or of the spatial
 * layers in its one SVC encoding (`L3T3`: a quarter of the full height, `L2T3`: a half).
 */
function shortestLayer(codec: string, out: VideoOut[]): number {
  if (out.length === 0) return 0;
  if (SIMULCAST.has(codec)) return Math.min(...out.map((e) => e.frameHeight));
  const main = [...out].sort((x, y) => y.framesEncoded - x.framesEncoded)[0]!;
  const spatial = Number(/^L(\d)/.exec(main.scalabilityMode ?? '')?.[1] ?? 1);
  return Math.round(main.frameHeight / 2 ** (spatial - 1));
}

/**
 * The longest freeze tolerated across B's switch: about what a keyframe asked by PLI takes to come
 * (the bridge's pacing of 300 ms plus the encoder's reaction on a loaded machine). A switch not
 * made on a keyframe, or a stream with holes in its numbering, freezes until the receiver's own
 * keyframe request is answered, which is longer.
 */
const ONE_KEYFRAME_INTERVAL_S = 1;

/** Codecs sent as simulcast (one SSRC a layer), the others as SVC (one SSRC). */
const SIMULCAST = new Set(['VP8', 'H264']);

/** What a jitsi-meet deployment's config.js (or an app's settings) sets to have lib-jitsi-meet send H.264. */
async function preferH264(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { config: Record<string, any> };
    w.config.videoQuality = { ...w.config.videoQuality, preferredCodec: 'H264', codecPreferenceOrder: ['H264', 'VP8'] };
  });
}

const CODECS = [
  { codec: 'VP8', title: 'simulcast layer', env: {}, room: 'simulcastroom', sender: 'lib-jitsi-meet' },
  { codec: 'H264', title: 'H.264 simulcast layer', env: { ENABLE_CODEC_H264: 'true' }, room: 'h264room', sender: 'lib-jitsi-meet' },
  // The bridge's fallback media path (dgram, SRTP in TypeScript), as where the addon is not built.
  { codec: 'VP8', title: 'simulcast layer, on the TypeScript media path,', env: { SALON_BRIDGE_NATIVE: 'off' }, room: 'simulcasttsroom', sender: 'lib-jitsi-meet' },
  { codec: 'VP9', title: 'VP9 SVC spatial layers', env: { ENABLE_CODEC_VP9: 'true' }, room: 'vp9room', sender: 'lib-jitsi-meet' },
  { codec: 'AV1', title: 'AV1 SVC spatial layers', env: { ENABLE_CODEC_AV1: 'true' }, room: 'av1room', sender: 'Salon' },
] as const;

for (const { codec, title, env, room, sender: senderClient } of CODECS) {
  describe(`bridge: ${title} per receiver (browser)`, function () {
    this.timeout(150_000);
    let rig: LjmRig;
    let browser: BrowserHarness;
    let origin: string;

    before(async () => {
      rig = await startLjmRig({ media: true, env });
      browser = rig.browser;
      origin = rig.pages.origin;
      if ('SALON_BRIDGE_NATIVE' in env) assert.equal(rig.server.salon.media?.mediaPath, 'typescript', 'the bridge runs its TypeScript media path');
    });
    after(async () => rig?.close());
    afterEach(function () {
      if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').filter((l) => /error|fail/i.test(l)).slice(-40).join('\n'));
    });

    it(`sends a 720-on-stage receiver a taller picture than a 180 one (${codec}), and switches the latter up and back down without a freeze`, async () => {
      let sender: Page;
      if (senderClient === 'Salon') {
        sender = await joinSalon(browser, rig.server.httpOrigin, room, 'Sender', { label: 'sender' });
      } else {
        sender = await browser.newPage(`${origin}/`, { label: 'sender' });
        if (codec === 'H264') await preferH264(sender);
        assert.equal((await joinWithMedia(sender, room, { devices: ['audio', 'video'] })).ok, true);
      }
      const a = await browser.newPage(`${origin}/`, { label: 'a' });
      const b = await browser.newPage(`${origin}/`, { label: 'b' });
      // Every participant prefers it: lib-jitsi-meet sends VP8 while another's preference is VP8.
      if (codec === 'H264') for (const page of [a, b]) await preferH264(page);
      // The receivers send audio only: the sender's camera is the one video in the room.
      assert.equal((await joinWithMedia(a, room, { devices: ['audio'] })).ok, true);
      assert.equal((await joinWithMedia(b, room, { devices: ['audio'] })).ok, true);
      await Promise.all((senderClient === 'Salon' ? [a, b] : [sender, a, b]).map((p) => channelOpen(p, 30_000)));
      // The source names `<endpoint>-v0`: the sender's endpoint is the one remote participant of A with a video track.
      const senderId = await videoSenderId(a);
      const sourceName = `${senderId}-v0`;

      await constrain(a, sourceName, 720, true);
      await constrain(b, sourceName, 180, false);

      // A gets a tall picture while B gets a shorter one, from the same sender at the same time.
      // Chrome turns its 720p layer on only once its bandwidth estimate towards the bridge allows
      // (about 1.25 Mbit/s for the three layers; for SVC it climbs through L1T3 and L2T3_KEY), and a
      // loaded machine may stop short (CPU adaptation: AV1 at 720 costs a core): for SVC the poll
      // waits until A decodes the sender's full picture, whatever its height, and B a shorter one.
      // B's picture no taller than 180 lines, or than the sender's shortest layer if that is taller.
      const fitsB = (vb: { frameHeight: number }, out: VideoOut[]) => vb.frameHeight <= Math.max(180, shortestLayer(codec, out));
      const split = await pollUntil(async () => ({ a: await videoIn(a), b: await videoIn(b), out: await videoOut(sender) }),
        ({ a: va, b: vb, out }) => va !== undefined && vb !== undefined && va.frameHeight >= 360 && vb.frameHeight > 0 && vb.frameHeight < va.frameHeight
          && fitsB(vb, out) && (SIMULCAST.has(codec) ? out.length >= 3 : va.frameHeight === Math.max(...out.map((e) => e.frameHeight))),
        60_000);
      if (SIMULCAST.has(codec)) {
        assert.ok(split.out.length >= 3, `three simulcast encodings with frames encoded: ${JSON.stringify(split.out)} ${JSON.stringify(await senderState(sender))}`);
        assert.ok(split.out.every((e) => e.mimeType === `video/${codec}`), `every encoding is ${codec}: ${JSON.stringify(split.out)}`);
        assert.equal(await inboundCodec(a), `video/${codec}`);
        assert.equal(await inboundCodec(b), `video/${codec}`);
      } else {
        // One encoding carries the layers (lib-jitsi-meet may start the others for a few frames before it applies SVC).
        const main = [...split.out].sort((x, y) => y.framesEncoded - x.framesEncoded)[0];
        assert.equal(main?.mimeType, `video/${codec}`, `the sender sends ${codec}: ${JSON.stringify(split.out)}`);
        assert.match(main?.scalabilityMode ?? '', /^L[23]T3/, `with spatial layers in one encoding: ${JSON.stringify(split.out)}`);
        assert.equal(await inboundCodec(a), `video/${codec}`);
        assert.equal(await inboundCodec(b), `video/${codec}`);
      }
      assert.ok(split.a && split.a.frameHeight >= 360, `A (720 on stage) decodes at least 360 lines: ${JSON.stringify(split)}`);
      assert.ok(split.b && split.b.frameHeight > 0 && split.b.frameHeight < split.a.frameHeight, `B (180) decodes fewer lines than A: ${JSON.stringify(split)}`);
      assert.ok(fitsB(split.b, split.out), `B (180) decodes no more than 180 lines, or the sender's shortest layer: ${JSON.stringify(split)}`);
      console.log(`      sender encodes ${split.out.map((e) => `${e.frameHeight}${e.scalabilityMode ? ` ${e.scalabilityMode}` : ''}`).join('/')} lines; A decodes ${split.a.frameHeight}, B ${split.b.frameHeight}`);

      // B goes up once the sender's tallest layer runs steadily: A decodes it, and it gained at least
      // 10 frames over the last second, twice in a row (up to 20 s, then B goes up as things are).
      // On a loaded machine Chrome's estimate may keep that layer starved, dropping frames or
      // pausing (the bridge leaves a layer silent for 500 ms); in one CI run A was on 360 meanwhile,
      // and B, put on the 720 layer, froze twice (1.01 s) as it came and went: the sender's freezes,
      // not the switch's.
      const tallSteady = await steadyTallest(a, sender, 20_000);
      console.log(`      the sender's tallest layer: ${tallSteady}`);
      // B now wants 720: it goes up (on a keyframe of the tall layer) and its video does not freeze.
      const before = (await videoIn(b))!;
      await constrain(b, sourceName, 720, true);
      const up = await pollUntil(() => videoIn(b), (v) => v !== undefined && v.frameHeight >= 360, 20_000);
      assert.ok(up && up.frameHeight >= 360, `B switches to a tall layer: ${JSON.stringify({ before, up })}`);
      // Decoding goes on after the switch: 30 more frames within 15 s (a loaded machine decodes slower, not never).
      const after = await pollUntil(() => videoIn(b), (v) => v !== undefined && v.framesDecoded >= up.framesDecoded + 30, 15_000);
      assert.ok(after && after.framesDecoded >= up.framesDecoded + 30, `B keeps decoding after the switch: ${JSON.stringify({ up, after })}`);
      const frozen = after.totalFreezesDuration - before.totalFreezesDuration;
      console.log(`      B: ${before.frameHeight} → ${after.frameHeight} lines; freezes during the switch: ${after.freezeCount - before.freezeCount}, ${frozen.toFixed(3)} s`);
      assert.ok(frozen <= ONE_KEYFRAME_INTERVAL_S, `no freeze longer than a keyframe interval across B's switch: ${JSON.stringify({ before, after })}`);
      // B goes on getting sender reports for the SSRC it decodes, now of the tall layer rewritten
      // (Chromium sends one about every second): their count grows, their wall clock is now's.
      const reports = await pollUntil(() => senderReportsSeen(b), (r) => r !== undefined && r.reportsSent > 0, 10_000);
      assert.ok(reports && reports.reportsSent > 0, `B has sender reports for the video it decodes: ${JSON.stringify(reports)}`);
      const moreReports = await pollUntil(() => senderReportsSeen(b), (r) => r !== undefined && r.reportsSent >= reports.reportsSent + 2, 10_000);
      assert.ok(moreReports && moreReports.reportsSent >= reports.reportsSent + 2, `and more of them after the switch: ${JSON.stringify({ reports, moreReports })}`);
      assert.ok(Math.abs(moreReports.remoteTimestamp - Date.now()) < 5_000, `their NTP time is the sender's clock, now: ${JSON.stringify(moreReports)} at ${Date.now()}`);
      const layersNow = await videoOut(sender);
      console.log(`      B: sender reports for SSRC ${moreReports.ssrc}: ${moreReports.reportsSent}, the last saying ${moreReports.packetsSent} packets sent; the sender's layers: ${layersNow.map((e) => `${e.frameHeight} ${e.packetsSent}`).join(', ')}`);
      if (SIMULCAST.has(codec)) {
        // The report B got last is the tall layer's it decodes, rewritten: it cannot count many more
        // packets than that layer has sent by now (the 180 layer's, passed on as they came, may,
        // where that layer ran longer). Not exactly: a report counts padding the sender's getStats
        // leaves out, and getStats answers from a cache up to 50 ms old (4 packets over in one run).
        // The layer B decodes, by its height: 360 where the sender's estimate keeps its 720 layer
        // barely running (a loaded machine), the tallest otherwise.
        const bNow = (await videoIn(b))!;
        const tallNow = layersNow.find((e) => e.frameHeight === bNow.frameHeight) ?? [...layersNow].sort((x, y) => y.frameHeight - x.frameHeight)[0]!;
        assert.ok(tallNow.frameHeight >= 360, `B decodes a tall layer: ${JSON.stringify({ bNow, layersNow })}`);
        const slack = Math.max(10, Math.round(0.05 * tallNow.packetsSent));
        assert.ok(moreReports.packetsSent <= tallNow.packetsSent + slack, `B's last sender report counts the tall layer's packets: ${JSON.stringify({ moreReports, layersNow, bNow })}`);
      }
      // and A, untouched by B's switch, still decodes the tall picture — for SVC, the sender's full
      // picture, whatever height CPU adaptation left it by now (AV1 at 720 costs a core)
      const aAfter = (await videoIn(a))!;
      const outNow = await videoOut(sender);
      // The encoding that carries the SVC layers: the one with the most frames.
      const fullNow = [...outNow].sort((x, y) => y.framesEncoded - x.framesEncoded)[0]?.frameHeight;
      const tall = aAfter.frameHeight >= 360 || (!SIMULCAST.has(codec) && aAfter.frameHeight === fullNow);
      assert.ok(tall && aAfter.framesDecoded > split.a.framesDecoded, `A goes on: ${JSON.stringify({ was: split.a, now: aAfter, sender: outNow })}`);
      console.log(`      at the end: A decodes ${aAfter.frameHeight} lines, B ${after.frameHeight}; the sender encodes ${outNow.map((e) => `${e.frameHeight}${e.scalabilityMode ? ` ${e.scalabilityMode}` : ''}`).join('/')}`);

      // B back to 180: down again (at a keyframe of the short layer), decoding on, without a freeze.
      const tallB = (await videoIn(b))!;
      await constrain(b, sourceName, 180, false);
      const down = await pollUntil(async () => ({ b: await videoIn(b), out: await videoOut(sender) }), (v) => v.b !== undefined && v.b.frameHeight > 0 && fitsB(v.b, v.out), 20_000);
      assert.ok(down.b && fitsB(down.b, down.out), `B switches down to a short layer: ${JSON.stringify({ tallB, down })}`);
      const downOn = await pollUntil(() => videoIn(b), (v) => v !== undefined && v.framesDecoded >= down.b!.framesDecoded + 30, 15_000);
      assert.ok(downOn && downOn.framesDecoded >= down.b!.framesDecoded + 30, `B keeps decoding after the switch down: ${JSON.stringify({ down, downOn })}`);
      const frozenDown = downOn.totalFreezesDuration - tallB.totalFreezesDuration;
      console.log(`      B back to 180: ${tallB.frameHeight} → ${downOn.frameHeight} lines; freezes during the switch: ${downOn.freezeCount - tallB.freezeCount}, ${frozenDown.toFixed(3)} s`);
      assert.ok(frozenDown <= ONE_KEYFRAME_INTERVAL_S, `no freeze longer than a keyframe interval across B's switch down: ${JSON.stringify({ tallB, downOn })}`);
      for (const page of [sender, a, b]) await page.context().close();
    });

    if (codec !== 'VP8' || 'SALON_BRIDGE_NATIVE' in env) return;

    it('caps camera video while the bridge is overloaded (load reducer): the receiver on stage gets 180 and decodes on, then a tall picture again once lifted', async () => {
      const colibri = rig.server.salon.bridge!.colibri;
      const sender = await browser.newPage(`${origin}/`, { label: 'sender' });
      const a = await browser.newPage(`${origin}/`, { label: 'a' });
      try {
        assert.equal((await joinWithMedia(sender, 'cappedroom', { devices: ['audio', 'video'] })).ok, true);
        assert.equal((await joinWithMedia(a, 'cappedroom', { devices: ['audio'] })).ok, true);
        await Promise.all([sender, a].map((p) => channelOpen(p, 30_000)));
        const senderId = await videoSenderId(a);
        await constrain(a, `${senderId}-v0`, 720, true);
        const tall = await pollUntil(() => videoIn(a), (v) => v !== undefined && v.frameHeight >= 360, 60_000);
        assert.ok(tall && tall.frameHeight >= 360, `A (720 on stage) decodes a tall picture first: ${JSON.stringify(tall)}`);

        // What the load reducer does at its second step (bridge/load-reducer.ts), here without the load.
        colibri.setCameraMaxHeight(180);
        const capped = await pollUntil(() => videoIn(a), (v) => v !== undefined && v.frameHeight > 0 && v.frameHeight <= 180 && v.framesDecoded > tall.framesDecoded, 20_000);
        assert.ok(capped && capped.frameHeight <= 180, `A drops to the 180 layer: ${JSON.stringify({ tall, capped })}`);
        const on = await pollUntil(() => videoIn(a), (v) => v !== undefined && v.framesDecoded >= capped.framesDecoded + 30, 15_000);
        assert.ok(on && on.framesDecoded >= capped.framesDecoded + 30 && on.frameHeight <= 180, `and decodes on at 180: ${JSON.stringify({ capped, on })}`);
        console.log(`      capped at 180: A decodes ${on.frameHeight} lines, ${on.freezeCount - capped.freezeCount} freezes since the switch`);
        // This lib-jitsi-meet predates source names: the bridge tells it the legacy way too
        // (SenderVideoConstraints), and it suspends its two upper layers, so the bridge receives less as well.
        const activeLayers = async () => ((await senderState(sender)) as { active?: Array<Array<{ active: boolean }>> }).active?.[0]?.map((e) => e.active);
        const suspended = await pollUntil(activeLayers, (layers) => JSON.stringify(layers) === '[true,false,false]', 15_000);
        assert.deepEqual(suspended, [true, false, false], 'the sender sends its 180 layer only while capped');
        const sending = await videoOut(sender);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const stillSending = await videoOut(sender);
        const encodedSince = stillSending.map((e) => ({ height: e.frameHeight, frames: e.framesEncoded - (sending.find((x) => x.ssrc === e.ssrc)?.framesEncoded ?? 0) }));
        assert.equal(encodedSince.filter((e) => e.frames > 0).length, 1, `one encoding goes on being encoded: ${JSON.stringify(encodedSince)}`);

        colibri.setCameraMaxHeight(undefined);
        const back = await pollUntil(() => videoIn(a), (v) => v !== undefined && v.frameHeight >= 360, 30_000);
        assert.ok(back && back.frameHeight >= 360, `A back on a tall layer once the cap is lifted: ${JSON.stringify(back)}`);
        assert.deepEqual(await activeLayers(), [true, true, true], 'the sender sends every layer again');
        console.log(`      cap lifted: A decodes ${back.frameHeight} lines; the sender had suspended its 360 and 720 layers while capped`);
      } finally {
        colibri.setCameraMaxHeight(undefined);
        for (const page of [sender, a]) await page.context().close();
      }
    });
  });
}
