/**
 * Video survives packet loss through the bridge: two lib-jitsi-meet participants meet through
 * Salon's focus and bridge; the receiver's decoded frame rate of the sender's video is measured
 * over a window without impairment, then with 10 % random loss (seeded) on one participant's path,
 * both directions, at the bridge's media socket (MediaTransport.impair), then without again.
 *
 * The RECEIVER's path: loss downstream of the bridge. The receiver sees the gaps and NACKs (its
 * NACKs are 10 % lossy too); the bridge answers from its own packet cache (bridge/rtp/packet-cache.ts)
 * with RTX on the receiver's RTX SSRC, re-stamped as the first time — the sender is not involved.
 * The bridge's estimate for the receiver sees the loss as well and may move it to a lower layer,
 * whose frame rate is the same.
 *
 * The SENDER's path: loss upstream of the bridge, where only the sender can repair it: the bridge
 * sees the gap and NACKs the sender itself (bridge/rtp/retransmission-requester.ts), as does the
 * receiver's NACK mapped onto the sender's layer SSRC and sequence numbers when the bridge has not
 * asked already; the sender retransmits on RTX (itself 10 % lossy), and the bridge caches it and
 * re-wraps it for the receivers waiting. The sender's own bandwidth estimate sees 10 % loss on
 * everything it sends and falls (Chrome's loss-based control): its layers' frame rates hold.
 *
 * The decoded frame rate must stay above 80 % of the lossless mean, and retransmission must be
 * seen happening: on the receiver's path its NACKs and the bridge's RTX from its cache; on the
 * sender's path the bridge's own NACKs and the sender's RTX.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { ImpairmentCounters } from '../../bridge/transport/index.ts';
import { seededRandom } from '../unit/seeded-random.ts';
import { channelOpen, joinWithMedia, startLjmRig, waitForRemoteVideo, type LjmRig } from './ljm-rig.ts';
import { constrain } from './video-probes.ts';

const WINDOW_MS = 6_000;
/** After the first frames: libwebrtc's bandwidth estimate ramps up and simulcast layers switch on. */
const WARM_UP_MS = 4_000;
/** After a change of impairment, before measuring. */
const SETTLE_MS = 2_000;
const LOSS = 0.1;

interface VideoCounters {
  /** Receiver: inbound video. */
  framesDecoded: number;
  nackCount: number;
  packetsLost: number;
  packetsReceived: number;
  framesReceived: number;
  /** Receiver: packets repaired by RTX (Chromium's retransmittedPacketsReceived). */
  retransmittedPacketsReceived: number;
  pliCount: number;
  freezeCount: number;
  frameHeight?: number;
  /** Sender: outbound video, every simulcast layer. */
  retransmittedPacketsSent: number;
  packetsSent: number;
  /** Sender: per simulcast layer SSRC, its height, frames encoded and quality limitation. */
  layers: Record<number, { height: number; frames: number; limitation: string }>;
  availableOutgoingBps?: number;
}

async function videoCounters(page: Page): Promise<VideoCounters> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const pc = w.salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    const out: VideoCounters = { framesDecoded: 0, nackCount: 0, packetsLost: 0, packetsReceived: 0, framesReceived: 0, retransmittedPacketsReceived: 0, pliCount: 0, freezeCount: 0, retransmittedPacketsSent: 0, packetsSent: 0, layers: {} };
    if (!pc) return out;
    const report = await pc.getStats();
    let selectedPair: string | undefined;
    report.forEach((r: any) => { if (r.type === 'transport') selectedPair = r.selectedCandidatePairId; });
    report.forEach((r: any) => {
      if (r.type === 'candidate-pair' && r.id === selectedPair) out.availableOutgoingBps = r.availableOutgoingBitrate;
      if (r.kind !== 'video') return;
      if (r.type === 'inbound-rtp') {
        out.framesDecoded += r.framesDecoded ?? 0;
        out.nackCount += r.nackCount ?? 0;
        out.packetsLost += r.packetsLost ?? 0;
        out.packetsReceived += r.packetsReceived ?? 0;
        out.framesReceived += r.framesReceived ?? 0;
        out.retransmittedPacketsReceived += r.retransmittedPacketsReceived ?? 0;
        out.pliCount += r.pliCount ?? 0;
        out.freezeCount += r.freezeCount ?? 0;
        if (r.frameHeight) out.frameHeight = r.frameHeight;
      }
      if (r.type === 'outbound-rtp') {
        out.retransmittedPacketsSent += r.retransmittedPacketsSent ?? 0;
        out.packetsSent += r.packetsSent ?? 0;
        out.layers[r.ssrc] = { height: r.frameHeight ?? 0, frames: r.framesEncoded ?? 0, limitation: r.qualityLimitationReason ?? '' };
      }
    });
    return out;
  });
}

interface Window {
  fps: number;
  /** Receiver: frames received, PLIs sent, freezes. */
  receivedFps: number;
  repaired: number;
  plis: number;
  freezes: number;
  /** Sender: per layer, its height, encoded frame rate and limitation; its bandwidth estimate. */
  encoded: string[];
  estimateKbps: number;
  nacks: number;
  lost: number;
  received: number;
  retransmitted: number;
  sent: number;
  height?: number;
}

/** The receiver's decoded frame rate and both ends' counters over WINDOW_MS. */
async function measure(sender: Page, receiver: Page): Promise<Window> {
  const [tx0, rx0] = [await videoCounters(sender), await videoCounters(receiver)];
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS)); // a measurement window, not a wait for a condition
  const [tx1, rx1] = [await videoCounters(sender), await videoCounters(receiver)];
  const seconds = (Date.now() - t0) / 1000;
  return {
    fps: (rx1.framesDecoded - rx0.framesDecoded) / seconds,
    receivedFps: (rx1.framesReceived - rx0.framesReceived) / seconds,
    repaired: rx1.retransmittedPacketsReceived - rx0.retransmittedPacketsReceived,
    plis: rx1.pliCount - rx0.pliCount,
    freezes: rx1.freezeCount - rx0.freezeCount,
    encoded: Object.entries(tx1.layers).map(([ssrc, l]) => `${l.height}p ${((l.frames - (tx0.layers[Number(ssrc)]?.frames ?? 0)) / seconds).toFixed(1)} fps ${l.limitation}`),
    estimateKbps: Math.round((tx1.availableOutgoingBps ?? 0) / 1000),
    nacks: rx1.nackCount - rx0.nackCount,
    lost: rx1.packetsLost - rx0.packetsLost,
    received: rx1.packetsReceived - rx0.packetsReceived,
    retransmitted: tx1.retransmittedPacketsSent - tx0.retransmittedPacketsSent,
    sent: tx1.packetsSent - tx0.packetsSent,
    ...(rx1.frameHeight ? { height: rx1.frameHeight } : {}),
  };
}

function describeWindow(w: Window): string {
  return `${w.fps.toFixed(1)} fps decoded (${w.height ?? '?'}p), ${w.receivedFps.toFixed(1)} received; receiver: ${w.received} packets, ${w.lost} lost, ${w.nacks} NACKs, ${w.repaired} retransmissions received, ${w.plis} PLIs, ${w.freezes} freezes; ` +
    `sender: ${w.sent} packets, ${w.retransmitted} retransmitted, encoding ${w.encoded.join(', ')}; estimate ${w.estimateKbps} kbps`;
}

describe('video through the bridge under 10 % random loss (browser)', function () {
  this.timeout(150_000);
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ media: true });
  });
  after(async () => rig?.close());
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').filter((l) => /error|fail/i.test(l)).slice(-40).join('\n'));
  });

  /** One run: lossless, 10 % loss on `path`, lossless again; in room `room`. */
  async function run(path: 'sender' | 'receiver', room: string): Promise<void> {
    const media = rig.server.salon.media;
    assert.ok(media, 'the built-in bridge');
    const sender = await rig.browser.newPage(rig.pageUrl, { label: 'tx' });
    const receiver = await rig.browser.newPage(rig.pageUrl, { label: 'rx' });
    // The receiver sends audio only: a second camera's three encodings would only load the two
    // cores the bridge and both browsers share, and what is measured is the sender's video.
    assert.equal((await joinWithMedia(sender, room)).ok, true);
    assert.equal((await joinWithMedia(receiver, room, { devices: ['audio'] })).ok, true);
    await waitForRemoteVideo([receiver]);
    // On the receiver's path the receiver watches the sender on its stage at up to 720 lines, as the
    // person speaking is watched. On the sender's path it keeps the default small tile (180
    // lines): there the sender's own estimate falls under 10 % loss (Chrome's loss-based control)
    // and it slows or stops its 720p layer, which a 720p receiver would see as a layer switch that
    // no retransmission can help; the 180p layer keeps its frame rate, so it shows what NACK/RTX do.
    if (path === 'receiver') {
      await channelOpen(receiver);
      const senderId = await sender.evaluate(() => (window as unknown as Record<string, any>).salonTest.myUserId() as string);
      await constrain(receiver, `${senderId}-v0`, 720, true);
    }
    const lossy = path === 'sender' ? sender : receiver;
    const lossyId = await lossy.evaluate(() => (window as unknown as Record<string, any>).salonTest.myUserId() as string);
    const address = media.endpointAddress(lossyId);
    assert.ok(address, `the ${path}'s endpoint ${lossyId} has a nominated remote address`);
    const conference = rig.server.salon.bridge!.colibri.conferenceList().find((c) => c.endpointIds().includes(lossyId))!;

    // Lossless, lossy, lossless again: the baseline is the mean of the two lossless windows, so a
    // drift over the run (bandwidth estimate still ramping, a loaded machine) does not pass for the
    // effect of the loss either way.
    await new Promise((r) => setTimeout(r, WARM_UP_MS)); // let the bandwidth estimate and layers settle
    const before = await measure(sender, receiver);
    console.log(`      lossless: ${describeWindow(before)}`);
    let during: Window;
    let counters: { in: ImpairmentCounters; out: ImpairmentCounters };
    const cacheBefore = conference.mediaStats();
    const impairment = media.impair(address, { loss: LOSS, random: seededRandom(0x5a10) })!;
    try {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      during = await measure(sender, receiver);
      counters = { in: impairment.counters('in'), out: impairment.counters('out') };
    } finally {
      media.impair(address, undefined);
    }
    const cacheAfter = conference.mediaStats();
    const fromCache = cacheAfter.retransmissionsFromCache - cacheBefore.retransmissionsFromCache;
    const requested = cacheAfter.retransmissionsRequested - cacheBefore.retransmissionsRequested;
    const own = cacheAfter.ownRetransmissionRequests - cacheBefore.ownRetransmissionRequests;
    const repeated = cacheAfter.frameEndsRepeated - cacheBefore.frameEndsRepeated;
    const tailProbes = cacheAfter.tailLossProbes - cacheBefore.tailLossProbes;
    console.log(`      10 % loss: ${describeWindow(during)}`);
    console.log(`      the bridge: ${fromCache} NACKed packets sent again from its cache, ${requested} NACKed packets not in its cache (asked of the sender unless it just had), ${own} requests of its own (${tailProbes} of them tail-loss probes), ${repeated} frame ends sent twice`);
    console.log(`      impairment on the ${path}'s path: in ${counters.in.lost}/${counters.in.lost + counters.in.passed} dropped, out ${counters.out.lost}/${counters.out.lost + counters.out.passed} dropped`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const after = await measure(sender, receiver);
    console.log(`      lossless again: ${describeWindow(after)}`);
    const baseline = (before.fps + after.fps) / 2;
    console.log(`      decoded frame rate under loss: ${((100 * during.fps) / baseline).toFixed(0)} % of the lossless mean (${baseline.toFixed(1)} fps)`);

    assert.ok(before.fps > 5 && after.fps > 5, `the lossless runs decode video (${before.fps.toFixed(1)}, ${after.fps.toFixed(1)} fps)`);
    assert.ok(counters.in.lost > 0 && counters.out.lost > 0, 'the impairment dropped datagrams both ways');
    if (path === 'receiver') {
      assert.ok(during.nacks > 0, `the receiver sent NACKs (${during.nacks})`);
      assert.ok(during.repaired > 0, `the receiver got retransmissions (${during.repaired})`);
      assert.ok(fromCache > 0, `the bridge answered NACKs from its cache (${fromCache}; ${requested} asked of the sender)`);
      assert.ok(repeated > 0, 'the bridge sent the lossy receiver its frame ends twice');
    }
    else {
      // What the sender's path lost is repaired before the receiver: the bridge's own NACKs, the
      // sender's RTX. The receiver NACKs only what the bridge could not repair in time; at 180
      // lines a frame is about one packet, and a lost one, asked at once (tail-loss probe) and
      // forwarded as it comes back, often leaves the receiver nothing to ask (0 NACKs in one run).
      assert.ok(own > 0, `the bridge asked the sender for what it lost (${own})`);
      assert.ok(during.retransmitted > 0, `the sender retransmitted (${during.retransmitted} packets)`);
    }
    // The 80 %, on either path. On the sender's path a frame whose last packet was lost
    // before the bridge shows its loss only with the next frame, which Chromium's jitter buffer
    // may not wait for: the bridge's tail-loss probe asks the sender for the frame's end at once.
    const floor = 0.8;
    assert.ok(during.fps > floor * baseline, `decoded ${during.fps.toFixed(1)} fps under loss, not above ${floor * 100} % of the lossless ${baseline.toFixed(1)} fps`);
    for (const page of [sender, receiver]) await page.context().close();
  }

  it('keeps the receiver\'s decoded frame rate above 80 % of the lossless run with 10 % loss on ITS path, by the bridge\'s NACK/RTX from its cache', async () => {
    await run('receiver', 'lossroomrx');
  });

  it('keeps the receiver\'s decoded frame rate above 80 % of the lossless run with 10 % loss on the sender\'s path, which the bridge asks again', async () => {
    await run('sender', 'lossroomtx');
  });
});
