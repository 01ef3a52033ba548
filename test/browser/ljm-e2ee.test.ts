/**
 * End-to-end encryption through the server (jitsi-meet's E2EE: insertable streams). The bridge
 * forwards frames it cannot read, and still routes them by what lib-jitsi-meet leaves in the clear
 * (the RTP header and VP8's payload descriptor, a keyframe's first ten bytes). With
 * `e2ee.externallyManagedKey`, the key an integrator sets with setMediaEncryptionKey; and with
 * jitsi-meet's own key exchange, Olm sessions between participants over the MUC's private
 * messages, each participant advertising E2EE in its disco#info (the page loads the Olm library as
 * jitsi-meet's does). Participants with the key decode the sender's simulcast layers, each the
 * height it asks for; one without it decodes nothing. Every figure comes from the browsers' getStats().
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { channelOpen, joinWithMedia, startLjmRig, type LjmRig } from './ljm-rig.ts';
import { constrain, pollUntil, remoteVideo, videoSenderId } from './video-probes.ts';

/** Sets the room's key (32 bytes from `seed`) and turns encryption on, as an integrator's page does. */
async function encryptWith(page: Page, seed: number): Promise<boolean> {
  return page.evaluate(async (keySeed) => {
    const conference = (window as unknown as Record<string, any>).salonTest.conference;
    if (!conference.isE2EESupported()) return false;
    const raw = new Uint8Array(32).map((_, i) => (keySeed * 31 + i * 7) & 0xff);
    const encryptionKey = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    conference.setMediaEncryptionKey({ encryptionKey, index: 0 });
    conference.toggleE2EE(true);
    return true;
  }, seed);
}

/** A page's remote video on the bridge connection, all SSRCs together: frames received and decoded, bytes. */
async function videoFrames(page: Page): Promise<{ received: number; decoded: number; bytes: number }> {
  return page.evaluate(async () => {
    const pc = (window as unknown as Record<string, any>).salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    const total = { received: 0, decoded: 0, bytes: 0 };
    (await pc?.getStats())?.forEach((r: any) => {
      if (r.type !== 'inbound-rtp' || r.kind !== 'video') return;
      total.received += r.framesReceived ?? 0;
      total.decoded += r.framesDecoded ?? 0;
      total.bytes += r.bytesReceived ?? 0;
    });
    return total;
  });
}

/** What `page` received and decoded over the next `ms`. */
async function framesOver(page: Page, ms: number): Promise<{ received: number; decoded: number; bytes: number }> {
  const before = await videoFrames(page);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await videoFrames(page);
  return { received: after.received - before.received, decoded: after.decoded - before.decoded, bytes: after.bytes - before.bytes };
}

describe('bridge: end-to-end encrypted media from lib-jitsi-meet (browser)', function () {
  this.timeout(120_000);
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ media: true });
  });
  after(async () => rig?.close());
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').filter((l) => /error|fail|e2ee/i.test(l)).slice(-40).join('\n'));
  });

  it('forwards frames it cannot read: receivers with the key decode the layer each asks for, one without the key decodes almost none of what it receives', async () => {
    const { browser } = rig;
    const origin = rig.pages.origin;
    const e2ee = { conferenceOptions: { e2ee: { externallyManagedKey: true } } };
    const sender = await browser.newPage(`${origin}/`, { label: 'sender' });
    const a = await browser.newPage(`${origin}/`, { label: 'a' });
    const b = await browser.newPage(`${origin}/`, { label: 'b' });
    const stranger = await browser.newPage(`${origin}/`, { label: 'stranger' });
    assert.equal((await joinWithMedia(sender, 'e2eeroom', { devices: ['audio', 'video'], ...e2ee })).ok, true);
    for (const page of [a, b, stranger]) assert.equal((await joinWithMedia(page, 'e2eeroom', { devices: ['audio'], ...e2ee })).ok, true);
    await Promise.all([sender, a, b, stranger].map((p) => channelOpen(p, 30_000)));
    for (const page of [sender, a, b]) assert.equal(await encryptWith(page, 1), true, 'Chromium supports E2EE');
    assert.equal(await encryptWith(stranger, 2), true);
    const senderId = await videoSenderId(a);
    await constrain(a, `${senderId}-v0`, 720, true);
    await constrain(b, `${senderId}-v0`, 180, false);
    await constrain(stranger, `${senderId}-v0`, 720, true);

    const seen = await pollUntil(async () => ({ a: await remoteVideo(a), b: await remoteVideo(b) }),
      (v) => (v.a?.frameHeight ?? 0) >= 360 && (v.b?.framesDecoded ?? 0) >= 30 && (v.b?.frameHeight ?? 0) > 0 && v.b!.frameHeight < v.a!.frameHeight, 60_000);
    assert.ok(seen.a && seen.a.frameHeight >= 360, `A (720, with the key) decodes a tall picture: ${JSON.stringify(seen)}`);
    assert.ok(seen.b && seen.b.frameHeight > 0 && seen.b.frameHeight < seen.a.frameHeight, `B (180, with the key) decodes a shorter one: ${JSON.stringify(seen)}`);
    const later = await pollUntil(() => remoteVideo(a), (v) => (v?.framesDecoded ?? 0) >= seen.a!.framesDecoded + 60, 20_000);
    assert.ok(later && later.framesDecoded >= seen.a.framesDecoded + 60, `A keeps decoding: ${JSON.stringify({ seen, later })}`);
    // The stranger is sent the same bytes (the bridge cannot tell), and its decoder, fed frames it
    // cannot decrypt, decodes almost none of them (a keyframe whose clear header holds may pass as noise).
    const strangerSaw = await framesOver(stranger, 3_000);
    assert.ok(strangerSaw.received >= 30 && strangerSaw.bytes > 50_000, `the stranger receives the video: ${JSON.stringify(strangerSaw)}`);
    assert.ok(strangerSaw.decoded <= 0.1 * strangerSaw.received, `and decodes almost none of it: ${JSON.stringify(strangerSaw)}`);
    console.log(`      with the key: A decodes ${later.frameHeight} lines (${later.framesDecoded} frames), B ${seen.b.frameHeight}; without: ${strangerSaw.decoded} of ${strangerSaw.received} frames decoded in 3 s (${strangerSaw.bytes} bytes)`);
    for (const page of [sender, a, b, stranger]) await page.context().close();
  });

  it('carries jitsi-meet\'s own key exchange (Olm over the MUC\'s private messages): a participant who turns E2EE on decodes the sender\'s video, one without E2EE decodes almost none of what it receives', async () => {
    const { browser } = rig;
    const origin = rig.pages.origin;
    const sender = await browser.newPage(`${origin}/`, { label: 'sender' });
    const a = await browser.newPage(`${origin}/`, { label: 'a' });
    const bystander = await browser.newPage(`${origin}/`, { label: 'bystander' });
    // Olm is loaded before connecting: lib-jitsi-meet advertises E2EE (disco#info) only when it can do it.
    for (const page of [sender, a]) {
      await page.addScriptTag({ url: `${origin}/libs/olm.js` });
      assert.equal(await page.evaluate(() => typeof (window as unknown as Record<string, unknown>).Olm), 'object');
    }
    assert.equal((await joinWithMedia(sender, 'olmroom', { devices: ['audio', 'video'] })).ok, true);
    for (const page of [a, bystander]) assert.equal((await joinWithMedia(page, 'olmroom', { devices: ['audio'] })).ok, true);
    await Promise.all([sender, a, bystander].map((p) => channelOpen(p, 30_000)));
    const supported = await Promise.all([sender, a, bystander].map((p) => p.evaluate(() => (window as unknown as Record<string, any>).salonTest.conference.isE2EESupported() as boolean)));
    assert.deepEqual(supported, [true, true, false], 'E2EE where Olm is loaded');
    // As jitsi-meet's toggle does on each participant's side.
    for (const page of [sender, a]) await page.evaluate(() => (window as unknown as Record<string, any>).salonTest.conference.toggleE2EE(true));
    const senderId = await videoSenderId(a);
    await constrain(a, `${senderId}-v0`, 720, true);
    await constrain(bystander, `${senderId}-v0`, 720, true);
    // The keys go through Olm sessions first: A decodes once it has the sender's.
    const first = await pollUntil(() => remoteVideo(a), (v) => (v?.framesDecoded ?? 0) >= 30 && (v?.frameHeight ?? 0) > 0, 60_000);
    assert.ok(first && first.framesDecoded >= 30, `A decodes the sender's encrypted video: ${JSON.stringify(first)}`);
    const onward = await pollUntil(() => remoteVideo(a), (v) => (v?.framesDecoded ?? 0) >= first.framesDecoded + 60, 20_000);
    assert.ok(onward && onward.framesDecoded >= first.framesDecoded + 60, `and keeps decoding: ${JSON.stringify({ first, onward })}`);
    // lib-jitsi-meet sends in the clear until the sender's key is set (it is sent over Olm first), so
    // what follows is read once the bystander has decoded little for a second. A bystander's decoder
    // fed encrypted frames keeps failing: it decodes few of the frames it receives (a keyframe whose
    // clear header holds may pass as a picture of noise), where A decodes them all.
    await pollUntil(() => framesOver(bystander, 1_000), (w) => w.received >= 10 && w.decoded <= 0.1 * w.received, 20_000);
    const [withKey, without] = await Promise.all([framesOver(a, 3_000), framesOver(bystander, 3_000)]);
    assert.ok(withKey.received >= 30 && withKey.decoded >= 0.9 * withKey.received, `A decodes what it receives: ${JSON.stringify(withKey)}`);
    assert.ok(without.received >= 30 && without.bytes > 50_000, `the bystander receives the video: ${JSON.stringify(without)}`);
    assert.ok(without.decoded <= 0.1 * without.received, `and decodes almost none of it: ${JSON.stringify(without)}`);
    console.log(`      Olm: A decodes ${onward.frameHeight} lines, ${withKey.decoded} of ${withKey.received} frames in 3 s; the bystander ${without.decoded} of ${without.received} (${without.bytes} bytes)`);
    for (const page of [sender, a, bystander]) await page.context().close();
  });
});
