/**
 * Drives Salon's own web client in Chromium as a user does (the landing and pre-join pages, the
 * toolbar, the panels), and reads its media statistics from the page's RTCPeerConnections, which
 * an init script records as they are made.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { BrowserHarness } from './chromium.ts';

/** Records every RTCPeerConnection the page makes (`window.__pcs`) and every WebSocket (`window.__sockets`). */
export const RECORD_CONNECTIONS = `(() => {
  const PC = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends PC { constructor(...a) { super(...a); window.__pcs.push(this); } };
  const WS = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends WS { constructor(...a) { super(...a); window.__sockets.push(this); } };
})();`;

export interface SalonPageOptions {
  label?: string;
  locale?: 'en-GB' | 'fr-FR';
}

/** Opens `origin/<room>`, fills the name on the pre-join page and joins; resolves once the conference view shows. */
export async function joinSalon(browser: BrowserHarness, origin: string, room: string, name: string, options: SalonPageOptions = {}): Promise<Page> {
  const page = await browser.newPage(`${origin}/${room}`, {
    initScript: RECORD_CONNECTIONS, locale: options.locale ?? 'en-GB', ...(options.label ? { label: options.label } : {}),
  });
  await pressJoin(page, name);
  await page.getByRole('button', { name: 'Leave the meeting' }).waitFor({ timeout: 20_000 });
  return page;
}

/** On the pre-join page: types the display name and presses "Join the meeting". */
export async function pressJoin(page: Page, name: string): Promise<void> {
  const input = page.getByLabel('Your name');
  await input.waitFor({ timeout: 15_000 });
  await input.fill(name);
  await page.getByRole('button', { name: 'Join the meeting' }).click();
}

export interface InboundRtp { kind: string; ssrc: number; bytes: number; frames: number; height: number }

/** Inbound RTP of the page's live peer connection to the bridge. */
export async function salonInbound(page: Page): Promise<{ ice: string; rtp: InboundRtp[] }> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const pc = pcs.filter((p) => p.connectionState !== 'closed').at(-1);
    if (!pc) return { ice: 'none', rtp: [] };
    const rtp: { kind: string; ssrc: number; bytes: number; frames: number; height: number }[] = [];
    (await pc.getStats()).forEach((r: Record<string, any>) => {
      if (r.type === 'inbound-rtp') rtp.push({ kind: r.kind, ssrc: r.ssrc, bytes: r.bytesReceived ?? 0, frames: r.framesDecoded ?? 0, height: r.frameHeight ?? 0 });
    });
    return { ice: pc.iceConnectionState, rtp };
  });
}

/**
 * Waits until `read` shows at least `audio` audio and `video` video streams receiving, then until
 * that many audio streams have received more bytes and that many video streams have decoded 10
 * more frames each, within 20 s (polled every 250 ms; the deadline is generous for a loaded machine).
 */
type Stream = { kind: string; ssrc?: number; bytes: number; frames: number };

export async function assertReceives(read: () => Promise<{ ice: string; rtp: Stream[] }>, want: { audio: number; video: number }, who: string): Promise<void> {
  const enough = (rtp: Stream[]) =>
    rtp.filter((r) => r.kind === 'audio' && r.bytes > 0).length >= want.audio
    && rtp.filter((r) => r.kind === 'video' && r.frames > 0).length >= want.video;
  const poll = () => new Promise((r) => setTimeout(r, 250));
  let deadline = Date.now() + 30_000;
  let before = await read();
  while (!enough(before.rtp)) {
    if (Date.now() > deadline) assert.fail(`${who} does not receive ${JSON.stringify(want)}: ${JSON.stringify(before)}`);
    await poll();
    before = await read();
  }
  const previous = (r: Stream) => before.rtp.find((b) => b.kind === r.kind && b.ssrc === r.ssrc);
  deadline = Date.now() + 20_000;
  for (;;) {
    const now = await read();
    const audio = now.rtp.filter((r) => r.kind === 'audio' && r.bytes > (previous(r)?.bytes ?? 0)).length;
    const video = now.rtp.filter((r) => r.kind === 'video' && r.frames - (previous(r)?.frames ?? 0) >= 10).length;
    if (now.ice === 'connected' && audio >= want.audio && video >= want.video) return;
    if (Date.now() > deadline) {
      assert.fail(`${who} does not keep receiving ${JSON.stringify(want)} (ICE ${now.ice}; ${audio} audio streams growing, ${video} video streams decoding): ${JSON.stringify({ before: before.rtp, now: now.rtp })}`);
    }
    await poll();
  }
}
