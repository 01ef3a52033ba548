import assert from 'node:assert/strict';
/**
 * What every lib-jitsi-meet browser test starts: a fresh Salon on loopback, a page server with
 * the harness page (loading Salon's /config.js cross-origin), and Debian's Chromium; optionally
 * with the media on a bridge of its own (`salon start --no-bridge` plus `salon bridge`).
 */
import type { Page } from 'playwright-core';
import { startTestBridge, startTestServer, type TestBridge, type TestServer } from '../integration/harness.ts';
import { launchBrowserFor, type BrowserHarness } from './chromium.ts';
import { LJM_PAGE_ASSETS, ljmHarnessHtml } from './ljm-page.ts';
import { startPageServer, type PageServer } from './page-server.ts';

export interface LjmRig {
  server: TestServer;
  pages: PageServer;
  browser: BrowserHarness;
  /** The harness page's URL. */
  pageUrl: string;
  /** The standalone bridge, with `remoteBridge`. */
  bridge?: TestBridge;
  close(): Promise<void>;
}

export interface LjmRigOptions {
  /** Chromium flags for WebRTC to the bridge on loopback (no mDNS hiding of addresses). */
  media?: boolean;
  /** Salon without its built-in bridge, and a `salon bridge` logged in over TCP c2s carrying the media. */
  remoteBridge?: boolean;
  /** Environment for Salon (ENABLE_AUTH, AUTH_TYPE, JWT_*, …). */
  env?: Record<string, string>;
  /** More Chromium flags (e.g. an autoplay policy for pages that make their own audio). */
  browserArgs?: string[];
}

export async function startLjmRig(options: LjmRigOptions = {}): Promise<LjmRig> {
  const server = await startTestServer(options.env ?? {}, options.remoteBridge ? ['--no-bridge'] : []);
  const bridge = options.remoteBridge ? await startTestBridge(server) : undefined;
  const pages = await startPageServer({ '/': ljmHarnessHtml(`${server.httpOrigin}/config.js`) }, LJM_PAGE_ASSETS);
  const extraArgs = [
    ...(options.media ? ['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'] : []),
    ...(options.browserArgs ?? []),
  ];
  const browser = await launchBrowserFor(async () => {
    await pages.close();
    await bridge?.close();
    await server.close();
  }, extraArgs.length > 0 ? { extraArgs } : {});
  return {
    server, pages, browser,
    pageUrl: `${pages.origin}/`,
    ...(bridge ? { bridge } : {}),
    async close() {
      await browser.close();
      await pages.close();
      await bridge?.close();
      await server.close();
    },
  };
}

export interface Inbound { kind: string; ssrc?: number; bytes: number; frames: number }

export interface MediaJoinOptions {
  /** Peer-to-peer for 1:1 (default off: the call goes through the bridge). */
  p2p?: boolean;
  devices?: Array<'audio' | 'video' | 'desktop'>;
  /** Makes the page's session-accept malformed on the wire (every source's ssrc becomes text). */
  breakSessionAccept?: boolean;
  /** Added to the conference options (config.js's values), e.g. `{ enableIceRestart: true }`. */
  conferenceOptions?: Record<string, unknown>;
}

/**
 * Connects, creates local tracks from Chromium's fake devices, joins `room` and records the
 * conference's events (salonTest.events). Resolves once join() is called, not when joined.
 */
export async function joinWithMedia(page: Page, room: string, options: MediaJoinOptions = {}): Promise<{ ok: boolean; joinedMs?: number; error?: string }> {
  return page.evaluate(async ({ roomName, p2p, devices, breakSessionAccept, conferenceOptions }) => {
    const w = window as unknown as Record<string, any>;
    const started = performance.now();
    const c = await w.salonTest.connect(roomName);
    if (!c.ok) return { ok: false, error: String(c.error) };
    if (breakSessionAccept) {
      const strophe = w.salonTest.connection.xmpp.connection._stropheConn;
      const sendIQ = strophe.sendIQ.bind(strophe);
      strophe.sendIQ = (stanza: any, ...rest: unknown[]) => {
        const element: Element = typeof stanza.tree === 'function' ? stanza.tree() : stanza;
        if (element.querySelector('jingle[action="session-accept"]')) {
          for (const source of Array.from(element.getElementsByTagName('source'))) source.setAttribute('ssrc', 'not-a-number');
        }
        return sendIQ(stanza, ...rest);
      };
    }
    const tracks = await w.JitsiMeetJS.createLocalTracks({ devices });
    const conference = w.salonTest.connection.initJitsiConference(roomName, { ...w.config, ...conferenceOptions, p2p: { ...(w.config.p2p ?? {}), enabled: p2p } });
    w.salonTest.conference = conference;
    w.salonTest.watch(conference);
    for (const track of tracks) await conference.addTrack(track);
    conference.join();
    // Notes when the first remote video frame is decoded on the bridge connection (20 ms polls).
    const poll = setInterval(async () => {
      const pc = conference.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
      if (!pc || w.salonTest.firstRemoteFrameAt !== undefined) return;
      let frames = 0;
      (await pc.getStats()).forEach((r: any) => { if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded ?? 0; });
      if (frames > 0 && w.salonTest.firstRemoteFrameAt === undefined) {
        w.salonTest.firstRemoteFrameAt = w.salonTest.now();
        clearInterval(poll);
      }
    }, 20);
    return { ok: true, joinedMs: performance.now() - started };
  }, { roomName: room, p2p: options.p2p ?? false, devices: options.devices ?? ['audio', 'video'], breakSessionAccept: options.breakSessionAccept ?? false, conferenceOptions: options.conferenceOptions ?? {} });
}

/** Resolves when the page's bridge channel (colibri-ws) is open. */
export async function channelOpen(page: Page, timeout = 20_000): Promise<void> {
  await page.waitForFunction(() => (window as unknown as Record<string, any>).salonTest.conference?.rtc?._channel?.isOpen?.() === true, undefined, { timeout });
}

/**
 * Milliseconds from the page's conference IQ (the focus request, as sent on the wire) to the
 * first remote video frame decoded (noted by joinWithMedia's poller).
 */
export async function conferenceIqToFirstFrameMs(page: Page, timeout = 30_000): Promise<number> {
  await page.waitForFunction(() => (window as unknown as Record<string, any>).salonTest.firstRemoteFrameAt !== undefined, undefined, { timeout });
  return page.evaluate(() => {
    const w = window as unknown as Record<string, any>;
    const iq = w.salonTest.xmpp.find((f: any) => f.dir === 'out' && f.data.includes('http://jitsi.org/protocol/focus') && /<conference[\s>]/.test(f.data));
    if (!iq) throw new Error('no conference IQ recorded');
    return w.salonTest.firstRemoteFrameAt - iq.t;
  });
}

/** Inbound RTP of the bridge session, from the browser's own statistics. */
export async function inbound(page: Page): Promise<{ ice: string; rtp: Inbound[]; firstFrameMs?: number }> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const session = w.salonTest.conference?.jvbJingleSession;
    if (!session) return { ice: 'no-session', rtp: [] };
    const pc = session.peerconnection.peerconnection as RTCPeerConnection;
    const rtp: Array<{ kind: string; ssrc: number; bytes: number; frames: number }> = [];
    (await pc.getStats()).forEach((r: any) => {
      if (r.type === 'inbound-rtp') rtp.push({ kind: r.kind, ssrc: r.ssrc, bytes: r.bytesReceived ?? 0, frames: r.framesDecoded ?? 0 });
    });
    return { ice: pc.iceConnectionState, rtp };
  });
}

export function total(rtp: Inbound[], kind: string): { bytes: number; frames: number } {
  return rtp.filter((r) => r.kind === kind).reduce((a, r) => ({ bytes: a.bytes + r.bytes, frames: a.frames + r.frames }), { bytes: 0, frames: 0 });
}


/** Waits (up to 30 s) until each page has decoded a first remote video frame. */
export async function waitForRemoteVideo(pages: readonly Page[]): Promise<void> {
  for (const page of pages) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await inbound(page);
      if (total(s.rtp, 'video').frames > 0) break;
      if (Date.now() > deadline) assert.fail(`no video frame decoded: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Every page's bridge connection is connected and its audio and video bytes grow and at least 20
 * more video frames are decoded, within 15 s (polled; a loaded machine decodes slower, not never).
 */
export async function assertMediaFlows(pages: readonly Page[]): Promise<void> {
  const before = await Promise.all(pages.map(inbound));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const after = await Promise.all(pages.map(inbound));
    const problems = pages.flatMap((_, i) => {
      const found: string[] = [];
      if (after[i]!.ice !== 'connected') found.push(`participant ${i}: ICE ${after[i]!.ice}`);
      for (const kind of ['audio', 'video']) {
        const x = total(before[i]!.rtp, kind);
        const y = total(after[i]!.rtp, kind);
        if (y.bytes <= x.bytes) found.push(`participant ${i} receives no more ${kind}: ${x.bytes} → ${y.bytes} bytes`);
      }
      const frames = total(after[i]!.rtp, 'video').frames - total(before[i]!.rtp, 'video').frames;
      if (frames < 20) found.push(`participant ${i} decodes ${frames} more frames (20 wanted)`);
      return found;
    });
    if (problems.length === 0) return;
    if (Date.now() > deadline) assert.fail(problems.join('; '));
    await new Promise((r) => setTimeout(r, 250));
  }
}
