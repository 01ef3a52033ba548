/**
 * What every lib-jitsi-meet browser test starts: a fresh Salon on loopback, a page server with
 * the harness page (loading Salon's /config.js cross-origin), and Debian's Chromium.
 */
import { startTestServer, type TestServer } from '../integration/harness.ts';
import { launchBrowser, type BrowserHarness } from './chromium.ts';
import { LJM_PAGE_ASSETS, ljmHarnessHtml } from './ljm-page.ts';
import { startPageServer, type PageServer } from './page-server.ts';

export interface LjmRig {
  server: TestServer;
  pages: PageServer;
  browser: BrowserHarness;
  /** The harness page's URL. */
  pageUrl: string;
  close(): Promise<void>;
}

/** `media`: Chromium flags for WebRTC to the bridge on loopback (no mDNS hiding of addresses). */
export async function startLjmRig(options: { media?: boolean } = {}): Promise<LjmRig> {
  const server = await startTestServer();
  const pages = await startPageServer({ '/': ljmHarnessHtml(`${server.httpOrigin}/config.js`) }, LJM_PAGE_ASSETS);
  const browser = await launchBrowser(options.media
    ? { extraArgs: ['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'] }
    : {});
  return {
    server, pages, browser,
    pageUrl: `${pages.origin}/`,
    async close() {
      await browser.close();
      await pages.close();
      await server.close();
    },
  };
}
