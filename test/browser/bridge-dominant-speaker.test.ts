/**
 * The bridge names the loudest participant as dominant speaker and follows a change: three
 * lib-jitsi-meet participants whose microphone is a WebAudio oscillator behind a gain (an init
 * script replaces getUserMedia's audio), one loud (not the first to join) and two near silent. Chromium computes the RFC
 * 6464 audio level of what it sends; the bridge's DominantSpeakerDetector ranks the levels and
 * sends DominantSpeakerEndpointChangeEvent on the bridge channel, which LJM turns into
 * DOMINANT_SPEAKER_CHANGED(id) at every participant. Then the loudness is swapped and the event
 * follows the new loud one.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { channelOpen, joinWithMedia, startLjmRig, waitForRemoteVideo, type LjmRig } from './ljm-rig.ts';

const LOUD = 0.8;
/** About -70 dBov: "near silent", above digital silence so the level is still measured. */
const QUIET = 0.0003;

/**
 * Replaces the audio of getUserMedia with a 440 Hz oscillator through a gain the test sets with
 * `window.fakeAudio.setGain(g)`; video still comes from Chromium's fake camera.
 */
function fakeAudioScript(gain: number): string {
  return `(() => {
    const devices = navigator.mediaDevices;
    const original = devices.getUserMedia.bind(devices);
    const state = { gain: ${gain}, context: undefined, gainNode: undefined, destination: undefined };
    const ensure = () => {
      if (state.context) return;
      state.context = new AudioContext();
      const oscillator = state.context.createOscillator();
      oscillator.frequency.value = 440;
      state.gainNode = state.context.createGain();
      state.gainNode.gain.value = state.gain;
      state.destination = state.context.createMediaStreamDestination();
      oscillator.connect(state.gainNode).connect(state.destination);
      oscillator.start();
      void state.context.resume();
    };
    window.fakeAudio = {
      setGain(g) {
        state.gain = g;
        if (state.gainNode) state.gainNode.gain.setValueAtTime(g, state.context.currentTime);
      },
      get contextState() { return state.context ? state.context.state : 'none'; },
    };
    devices.getUserMedia = async (constraints) => {
      if (!constraints || !constraints.audio) return original(constraints);
      const stream = constraints.video ? await original({ video: constraints.video }) : new MediaStream();
      ensure();
      stream.addTrack(state.destination.stream.getAudioTracks()[0].clone());
      return stream;
    };
  })();`;
}

/** The level of the page's own microphone as Chromium measures it (media-source audioLevel, 0..1). */
async function microphoneLevel(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = (window as unknown as Record<string, any>).salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    let level = -1;
    (await pc?.getStats())?.forEach((r: any) => { if (r.type === 'media-source' && r.kind === 'audio') level = Math.max(level, r.audioLevel ?? -1); });
    return level;
  });
}

/** The id named by the page's latest DOMINANT_SPEAKER_CHANGED, if any. */
async function dominantSpeaker(page: Page): Promise<string | undefined> {
  return page.evaluate(() => {
    const events = (window as unknown as Record<string, any>).salonTest.events as Array<{ key: string; args: unknown[] }>;
    const last = events.filter((e) => e.key === 'DOMINANT_SPEAKER_CHANGED').at(-1);
    return typeof last?.args[0] === 'string' ? last.args[0] : undefined;
  });
}

/** Waits until every page's latest DOMINANT_SPEAKER_CHANGED names `id`. */
async function waitForDominant(pages: readonly Page[], id: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const named = await Promise.all(pages.map(dominantSpeaker));
    if (named.every((n) => n === id)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) assert.fail(`dominant speaker ${id} wanted at every participant; they name ${JSON.stringify(named)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('dominant speaker through the bridge (browser)', function () {
  this.timeout(120_000);
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ media: true, browserArgs: ['--autoplay-policy=no-user-gesture-required'] });
  });
  after(async () => rig?.close());
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').filter((l) => /error|fail|dominant/i.test(l)).slice(-40).join('\n'));
  });

  it('names the loud participant, then follows when another becomes loud', async () => {
    // The loud one is never the first to join, so a detector that merely kept the first
    // endpoint it heard would fail.
    const gains = [QUIET, LOUD, QUIET];
    const pages: Page[] = [];
    for (const [i, gain] of gains.entries()) pages.push(await rig.browser.newPage(rig.pageUrl, { label: `s${i}`, initScript: fakeAudioScript(gain) }));
    for (const page of pages) assert.equal((await joinWithMedia(page, 'speakerroom')).ok, true);
    await waitForRemoteVideo(pages);
    for (const page of pages) await channelOpen(page);
    const states = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as Record<string, any>).fakeAudio.contextState as string)));
    assert.deepEqual(states, ['running', 'running', 'running'], 'each page\'s oscillator runs');
    const levels = await Promise.all(pages.map(microphoneLevel));
    console.log(`      microphone levels (Chromium's media-source audioLevel): ${levels.map((l) => l.toFixed(4)).join(', ')}`);
    assert.ok(levels[1]! > 20 * Math.max(levels[0]!, levels[2]!), 'participant 1 is loud, the others near silent');
    const ids = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as Record<string, any>).salonTest.myUserId() as string)));

    const firstMs = await waitForDominant(pages, ids[1]!, 20_000);
    console.log(`      participant 1 (loud) named dominant speaker at every page ${firstMs} ms after all joined and decode video`);

    await pages[1]!.evaluate((g) => (window as unknown as Record<string, any>).fakeAudio.setGain(g), QUIET);
    await pages[2]!.evaluate((g) => (window as unknown as Record<string, any>).fakeAudio.setGain(g), LOUD);
    const swapMs = await waitForDominant(pages, ids[2]!, 10_000);
    console.log(`      after swapping loudness to participant 2, it is named ${swapMs} ms later`);
    for (const page of pages) await page.context().close();
  });
});
