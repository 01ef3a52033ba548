/**
 * End-to-end encryption through the bridge (jitsi-meet's E2EE: insertable streams; here with
 * `e2ee.externallyManagedKey`, the key an integrator sets with setMediaEncryptionKey, so that no
 * Olm library is needed): the bridge forwards frames it cannot read, and still routes them by what
 * lib-jitsi-meet leaves in the clear (the RTP header and VP8's payload descriptor, a keyframe's first
 * ten bytes). Participants with the key decode the sender's simulcast layers, each the height it
 * asks for; one without it decodes nothing. Every figure comes from the browsers' getStats().
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { channelOpen, joinWithMedia, startLjmRig, type LjmRig } from './ljm-rig.ts';
import { constrain, pollUntil, remoteVideo } from './video-probes.ts';

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

  it('forwards frames it cannot read: receivers with the key decode the layer each asks for, one without the key decodes nothing', async () => {
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
    const senderId = await pollUntil(() => a.evaluate(() => {
      const conference = (window as unknown as Record<string, any>).salonTest.conference;
      return conference.getParticipants().find((p: any) => p.getTracksByMediaType('video').length > 0)?.getId() as string | undefined;
    }), (id) => id !== undefined, 20_000);
    assert.ok(senderId, 'A sees the sender\'s video track');
    await constrain(a, `${senderId}-v0`, 720, true);
    await constrain(b, `${senderId}-v0`, 180, false);
    await constrain(stranger, `${senderId}-v0`, 720, true);

    const seen = await pollUntil(async () => ({ a: await remoteVideo(a), b: await remoteVideo(b) }),
      (v) => (v.a?.frameHeight ?? 0) >= 360 && (v.b?.framesDecoded ?? 0) >= 30 && (v.b?.frameHeight ?? 0) > 0 && v.b!.frameHeight < v.a!.frameHeight, 60_000);
    assert.ok(seen.a && seen.a.frameHeight >= 360, `A (720, with the key) decodes a tall picture: ${JSON.stringify(seen)}`);
    assert.ok(seen.b && seen.b.frameHeight > 0 && seen.b.frameHeight < seen.a.frameHeight, `B (180, with the key) decodes a shorter one: ${JSON.stringify(seen)}`);
    const later = await pollUntil(() => remoteVideo(a), (v) => (v?.framesDecoded ?? 0) >= seen.a!.framesDecoded + 60, 20_000);
    assert.ok(later && later.framesDecoded >= seen.a.framesDecoded + 60, `A keeps decoding: ${JSON.stringify({ seen, later })}`);
    // The stranger is sent the same bytes (the bridge cannot tell), and decodes none of them.
    const strangerVideo = await remoteVideo(stranger);
    const strangerBytes = await stranger.evaluate(async () => {
      const pc = (window as unknown as Record<string, any>).salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
      let bytes = 0;
      (await pc?.getStats())?.forEach((r: any) => { if (r.type === 'inbound-rtp' && r.kind === 'video') bytes += r.bytesReceived ?? 0; });
      return bytes;
    });
    assert.ok(strangerBytes > 50_000, `the stranger receives the video's bytes (${strangerBytes})`);
    assert.equal(strangerVideo?.framesDecoded ?? 0, 0, `and decodes no frame of it: ${JSON.stringify(strangerVideo)}`);
    console.log(`      with the key: A decodes ${later.frameHeight} lines (${later.framesDecoded} frames), B ${seen.b.frameHeight}; without: ${strangerBytes} bytes received, ${strangerVideo?.framesDecoded ?? 0} frames decoded`);
    for (const page of [sender, a, b, stranger]) await page.context().close();
  });
});
