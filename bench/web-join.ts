/**
 * Join time of Salon's own web client, as a user feels it: from pressing "Join the meeting" on
 * the pre-join page to the first remote video frame decoded (getStats polled every 20 ms), with a
 * Salon participant already in the room. Salon on loopback, Debian's Chromium with fake devices;
 * each join is a fresh page in a fresh context. Prints one JSON line and a table.
 *
 *   npm run bench:join [-- --joins 10]
 */
import { parseArgs } from 'node:util';
import { launchBrowser } from '../test/browser/chromium.ts';
import { joinSalon, pressJoin, RECORD_CONNECTIONS } from '../test/browser/salon-page.ts';
import { startTestServer } from '../test/integration/harness.ts';

const { values } = parseArgs({ options: { joins: { type: 'string', default: '10' } } });
const joins = Number(values.joins);

const server = await startTestServer();
const browser = await launchBrowser({ extraArgs: ['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'] });
const room = `JoinBench${Date.now() % 100000}`;
const times: number[] = [];
try {
  await joinSalon(browser, server.httpOrigin, room, 'Host', { label: 'host' });
  for (let i = 0; i < joins; i++) {
    const page = await browser.newPage(`${server.httpOrigin}/${room}`, { initScript: RECORD_CONNECTIONS, locale: 'en-GB', label: `j${i}` });
    await page.getByLabel('Your name').waitFor();
    // The clock starts in the page when the join button is pressed.
    await page.evaluate(() => {
      const w = window as unknown as { __pressed?: number; __firstFrame?: number; __pcs: RTCPeerConnection[] };
      document.addEventListener('click', () => { w.__pressed ??= performance.now(); }, { capture: true });
      const poll = setInterval(async () => {
        for (const pc of w.__pcs) {
          let frames = 0;
          (await pc.getStats()).forEach((r: Record<string, any>) => { if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded ?? 0; });
          if (frames > 0 && w.__firstFrame === undefined) {
            w.__firstFrame = performance.now();
            clearInterval(poll);
          }
        }
      }, 20);
    });
    await pressJoin(page, `Guest ${i}`);
    await page.waitForFunction(() => (window as unknown as { __firstFrame?: number }).__firstFrame !== undefined, undefined, { timeout: 30_000 });
    const ms = await page.evaluate(() => {
      const w = window as unknown as { __pressed: number; __firstFrame: number };
      return w.__firstFrame - w.__pressed;
    });
    times.push(Math.round(ms));
    await page.context().close();
  }
} finally {
  await browser.close();
  await server.close();
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
console.log(JSON.stringify({ joins: times.length, medianMs: median, minMs: sorted[0], maxMs: sorted.at(-1), times }));
console.log(`join → first remote frame over ${times.length} joins: median ${median} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms`);
