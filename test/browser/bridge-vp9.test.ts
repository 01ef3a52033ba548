/**
 * VP9 SVC per receiver, end to end: with ENABLE_CODEC_VP9 the focus offers VP9 and config.js makes
 * lib-jitsi-meet prefer it, so the sender's camera goes out as VP9 with spatial layers in one SSRC
 * (L3T3_KEY, the bridge asking it for 720). Receiver A puts it on stage at 720, receiver B
 * constrains it to 180: the bridge forwards each the spatial layers that fit (RFC 9628 layer
 * indices), B decodes fewer lines than A from the same stream, and B's switch up happens on a
 * keyframe without a freeze. Every figure comes from the browsers' getStats().
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { BrowserHarness } from './chromium.ts';
import { channelOpen, joinWithMedia, startLjmRig, type LjmRig } from './ljm-rig.ts';
import { constrain, pollUntil, remoteVideo as videoIn } from './video-probes.ts';

interface VideoOut { ssrc: number; framesEncoded: number; frameHeight: number; scalabilityMode?: string; mimeType?: string }

/** The sender's outgoing video encodings, with their codec and scalability mode. */
async function videoOut(page: Page): Promise<VideoOut[]> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const pc = w.salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    const out: VideoOut[] = [];
    const stats = (await pc?.getStats()) as (RTCStatsReport & Map<string, any>) | undefined;
    stats?.forEach((r: any) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        out.push({ ssrc: r.ssrc, framesEncoded: r.framesEncoded ?? 0, frameHeight: r.frameHeight ?? 0, scalabilityMode: r.scalabilityMode, mimeType: stats.get(r.codecId)?.mimeType });
      }
    });
    return out.filter((e) => e.framesEncoded > 0);
  });
}

/** The codec of the remote video a receiver decodes most of. */
async function inboundCodec(page: Page): Promise<string | undefined> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const pc = w.salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    const stats = (await pc?.getStats()) as (RTCStatsReport & Map<string, any>) | undefined;
    let best: { frames: number; mime?: string } = { frames: 0 };
    stats?.forEach((r: any) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video' && (r.framesDecoded ?? 0) > best.frames) best = { frames: r.framesDecoded, mime: stats.get(r.codecId)?.mimeType };
    });
    return best.mime;
  });
}

/** As in bridge-simulcast.test.ts: about what a keyframe asked by PLI takes to come. */
const ONE_KEYFRAME_INTERVAL_S = 1;

describe('bridge: VP9 SVC spatial layers per receiver (browser)', function () {
  this.timeout(150_000);
  let rig: LjmRig;
  let browser: BrowserHarness;
  let origin: string;

  before(async () => {
    rig = await startLjmRig({ media: true, env: { ENABLE_CODEC_VP9: 'true' } });
    browser = rig.browser;
    origin = rig.pages.origin;
  });
  after(async () => rig?.close());
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').filter((l) => /error|fail/i.test(l)).slice(-40).join('\n'));
  });

  it('sends a 720-on-stage receiver more spatial layers than a 180 one, and switches the latter up without a freeze', async () => {
    const sender = await browser.newPage(`${origin}/`, { label: 'sender' });
    const a = await browser.newPage(`${origin}/`, { label: 'a' });
    const b = await browser.newPage(`${origin}/`, { label: 'b' });
    assert.equal((await joinWithMedia(sender, 'vp9room', { devices: ['audio', 'video'] })).ok, true);
    // The receivers send audio only: the sender's camera is the one video in the room.
    assert.equal((await joinWithMedia(a, 'vp9room', { devices: ['audio'] })).ok, true);
    assert.equal((await joinWithMedia(b, 'vp9room', { devices: ['audio'] })).ok, true);
    await Promise.all([sender, a, b].map((p) => channelOpen(p, 30_000)));
    const sourceName = `${await sender.evaluate(() => (window as unknown as Record<string, any>).salonTest.conference.myUserId())}-v0`;

    await constrain(a, sourceName, 720, true);
    await constrain(b, sourceName, 180, false);

    // The sender encodes VP9 with spatial layers in one encoding; A decodes a tall picture, B a
    // short one, from the same stream at the same time.
    const split = await pollUntil(async () => ({ a: await videoIn(a), b: await videoIn(b), out: await videoOut(sender) }),
      // Waits for the full picture (L3T3_KEY at 720) while B stays at its 180 layer; Chrome climbs
      // through L1T3 and L2T3_KEY as its bandwidth estimate grows, and a loaded machine may stop
      // short (CPU adaptation): the assertions below ask only for a taller picture at A than at B.
      ({ a: va, b: vb }) => va !== undefined && vb !== undefined && va.frameHeight >= 720 && vb.frameHeight > 0 && vb.frameHeight <= 180, 45_000);
    // One encoding carries the layers (lib-jitsi-meet may start the others for a few frames before it applies SVC).
    const encoding = [...split.out].sort((x, y) => y.framesEncoded - x.framesEncoded)[0];
    assert.equal(encoding?.mimeType, 'video/VP9', `the sender sends VP9: ${JSON.stringify(split.out)}`);
    assert.match(encoding?.scalabilityMode ?? '', /^L[23]T3/, `with spatial layers: ${JSON.stringify(split.out)}`);
    assert.equal(await inboundCodec(a), 'video/VP9');
    assert.equal(await inboundCodec(b), 'video/VP9');
    assert.ok(split.a && split.a.frameHeight >= 360, `A (720 on stage) decodes at least 360 lines: ${JSON.stringify(split)}`);
    assert.ok(split.b && split.b.frameHeight > 0 && split.b.frameHeight < split.a.frameHeight, `B (180) decodes fewer lines than A: ${JSON.stringify(split)}`);
    console.log(`      sender encodes VP9 ${encoding?.scalabilityMode} at ${encoding?.frameHeight} lines; A decodes ${split.a.frameHeight}, B ${split.b.frameHeight}`);

    // B now wants 720: it goes up (on a keyframe of the tall layer) and its video does not freeze.
    const before = (await videoIn(b))!;
    await constrain(b, sourceName, 720, true);
    const up = await pollUntil(() => videoIn(b), (v) => v !== undefined && v.frameHeight >= 360, 20_000);
    assert.ok(up && up.frameHeight >= 360, `B switches to the tall spatial layer: ${JSON.stringify({ before, up })}`);
    // Decoding goes on after the switch: 30 more frames within 15 s (a loaded machine decodes slower, not never).
    const after = await pollUntil(() => videoIn(b), (v) => v !== undefined && v.framesDecoded >= up.framesDecoded + 30, 15_000);
    assert.ok(after && after.framesDecoded >= up.framesDecoded + 30, `B keeps decoding after the switch: ${JSON.stringify({ up, after })}`);
    const frozen = after.totalFreezesDuration - before.totalFreezesDuration;
    console.log(`      B: ${before.frameHeight} → ${after.frameHeight} lines; freezes during the switch: ${after.freezeCount - before.freezeCount}, ${frozen.toFixed(3)} s`);
    assert.ok(frozen <= ONE_KEYFRAME_INTERVAL_S, `no freeze longer than a keyframe interval across B's switch: ${JSON.stringify({ before, after })}`);
    // and A, untouched by B's switch, still decodes the tall layer
    const aAfter = (await videoIn(a))!;
    assert.ok(aAfter.frameHeight >= 360 && aAfter.framesDecoded > split.a.framesDecoded, `A goes on: ${JSON.stringify({ was: split.a, now: aAfter })}`);
    console.log(`      at the end: A decodes ${aAfter.frameHeight} lines, B ${after.frameHeight}; the sender encodes ${JSON.stringify(await videoOut(sender))}`);
    for (const page of [sender, a, b]) await page.context().close();
  });
});
