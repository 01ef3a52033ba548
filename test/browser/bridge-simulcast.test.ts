/**
 * Simulcast layer selection per receiver, end to end: a lib-jitsi-meet sender sends its camera as
 * three VP8 simulcast layers; receiver A puts it on stage at 720, receiver B constrains it to 180
 * (ReceiverVideoConstraints through conference.setReceiverConstraints, as jitsi-meet's app does).
 * The bridge must send each the layer its own constraints ask for (jitsi-protocol.md §8.4, §8.5),
 * and B's switch up to 720 must happen on a keyframe of the tall layer, without a freeze.
 * Every figure comes from the browsers' getStats().
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { BrowserHarness } from './chromium.ts';
import { channelOpen, joinWithMedia, startLjmRig, type LjmRig } from './ljm-rig.ts';
import { constrain, pollUntil, remoteVideo as videoIn } from './video-probes.ts';

interface VideoOut { ssrc: number; framesEncoded: number; frameHeight: number; limitation?: string }

/** The sender's outgoing video encodings (one outbound-rtp per simulcast SSRC). */
async function videoOut(page: Page): Promise<VideoOut[]> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const pc = w.salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    const out: VideoOut[] = [];
    (await pc?.getStats())?.forEach((r: any) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') out.push({ ssrc: r.ssrc, framesEncoded: r.framesEncoded ?? 0, frameHeight: r.frameHeight ?? 0, limitation: r.qualityLimitationReason });
    });
    return out.sort((x, y) => x.frameHeight - y.frameHeight);
  });
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
 * The longest freeze tolerated across B's switch: about what a keyframe asked by PLI takes to come
 * (the bridge's pacing of 300 ms plus the encoder's reaction on a loaded machine). A switch not
 * made on a keyframe, or a stream with holes in its numbering, freezes until the receiver's own
 * keyframe request is answered, which is longer.
 */
const ONE_KEYFRAME_INTERVAL_S = 1;

describe('bridge: simulcast layer per receiver (browser)', function () {
  this.timeout(150_000);
  let rig: LjmRig;
  let browser: BrowserHarness;
  let origin: string;

  before(async () => {
    rig = await startLjmRig({ media: true });
    browser = rig.browser;
    origin = rig.pages.origin;
  });
  after(async () => rig?.close());
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').filter((l) => /error|fail/i.test(l)).slice(-40).join('\n'));
  });

  it('sends a 720-on-stage receiver a taller layer than a 180 one, and switches the latter up without a freeze', async () => {
    const sender = await browser.newPage(`${origin}/`, { label: 'sender' });
    const a = await browser.newPage(`${origin}/`, { label: 'a' });
    const b = await browser.newPage(`${origin}/`, { label: 'b' });
    assert.equal((await joinWithMedia(sender, 'simulcastroom', { devices: ['audio', 'video'] })).ok, true);
    // The receivers send audio only: the sender's camera is the one video in the room.
    assert.equal((await joinWithMedia(a, 'simulcastroom', { devices: ['audio'] })).ok, true);
    assert.equal((await joinWithMedia(b, 'simulcastroom', { devices: ['audio'] })).ok, true);
    await Promise.all([sender, a, b].map((p) => channelOpen(p, 30_000)));
    const sourceName = `${await sender.evaluate(() => (window as unknown as Record<string, any>).salonTest.conference.myUserId())}-v0`;

    await constrain(a, sourceName, 720, true);
    await constrain(b, sourceName, 180, false);

    // The sender encodes three layers (the bridge asks it for 720, what A wants), and A gets a tall
    // one while B gets a shorter one, from the same sender at the same time. Chrome turns its 720p
    // layer on only once its bandwidth estimate towards the bridge allows (about 1.25 Mbit/s for
    // the three layers): a loaded machine can take a while.
    const split = await pollUntil(async () => ({ a: await videoIn(a), b: await videoIn(b), out: await videoOut(sender) }),
      ({ a: va, b: vb, out }) => out.filter((e) => e.framesEncoded > 0).length >= 3
        && va !== undefined && vb !== undefined && va.frameHeight >= 360 && vb.frameHeight > 0 && vb.frameHeight < va.frameHeight, 60_000);
    assert.ok(split.out.filter((e) => e.framesEncoded > 0).length >= 3, `three simulcast encodings with frames encoded: ${JSON.stringify(split.out)} ${JSON.stringify(await senderState(sender))}`);
    assert.ok(split.a && split.a.frameHeight >= 360, `A (720 on stage) decodes at least 360 lines: ${JSON.stringify(split)}`);
    assert.ok(split.b && split.b.frameHeight > 0 && split.b.frameHeight < split.a.frameHeight, `B (180) decodes fewer lines than A: ${JSON.stringify(split)}`);
    console.log(`      sender encodes ${split.out.map((e) => e.frameHeight).join('/')} lines; A decodes ${split.a.frameHeight}, B ${split.b.frameHeight}`);

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
    // and A, untouched by B's switch, still decodes the tall layer
    const aAfter = (await videoIn(a))!;
    assert.ok(aAfter.frameHeight >= 360 && aAfter.framesDecoded > split.a.framesDecoded, `A goes on: ${JSON.stringify({ was: split.a, now: aAfter })}`);
    console.log(`      at the end: A decodes ${aAfter.frameHeight} lines, B ${after.frameHeight}; the sender encodes ${(await videoOut(sender)).map((e) => e.frameHeight).join('/')}`);
    for (const page of [sender, a, b]) await page.context().close();
  });
});
