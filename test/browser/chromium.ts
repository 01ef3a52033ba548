// Headless Chromium launcher for browser tests (Debian's chromium driven by playwright-core).
//
// Only the distribution browser is used: never `npx playwright install`. `.ci/run` installs the
// Debian package; CHROMIUM_PATH overrides the location.
//
// Every page gets its own BrowserContext (own cookies and localStorage), so two pages are two
// independent participants: LJM keeps its machine-uid and stats id in localStorage.
// `chromium.launch` gives each launch a fresh temporary user-data dir, removed on close.

import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** The exact flags the browser is started with (fake camera/mic, no network chatter, no QUIC). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu',
  '--disable-quic',
];

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** At most this many log lines are kept (the oldest are dropped); LJM logs a lot. */
const MAX_LOG_LINES = 20_000;

export interface BrowserHarness {
  browser: Browser;
  /** Console messages, page errors, failed requests and crashes of every page, oldest first. */
  logs: string[];
  /** Milliseconds `chromium.launch` took. */
  launchMs: number;
  /** Opens `url` in a new page of a new context and waits for its `load` event. */
  newPage(url: string, opts?: NewPageOptions): Promise<Page>;
  /** The collected logs as one string (e.g. to print when a test failed). */
  dumpLogs(): string;
  /** Closes every context and the browser; safe to call more than once. */
  close(): Promise<void>;
}

export interface NewPageOptions {
  /** Prefix for this page's log lines (default `p1`, `p2`, ...). */
  label?: string;
  /** Navigation timeout in ms (default 15000). */
  timeoutMs?: number;
  /** Browser language of the page's context (default Chromium's, en-US). */
  locale?: string;
  /** Viewport size (default Playwright's 1280x720). */
  viewport?: { width: number; height: number };
  /** A script run in the page before any of its own (test instrumentation). */
  initScript?: string;
}

export interface LaunchOptions {
  executablePath?: string;
  /** Extra flags appended after CHROMIUM_ARGS. */
  extraArgs?: string[];
  /** Echo every log line to stderr as it arrives (default: env SALON_BROWSER_LOG=1). */
  echo?: boolean;
}

/**
 * launchBrowser for a rig that started its servers first: when the browser cannot start (no
 * Chromium, a crash), `cleanup` closes them before the error goes on, since the rig never returns
 * and so its close() is never called (open servers would keep mocha from exiting).
 */
export async function launchBrowserFor(cleanup: () => Promise<unknown>, opts: LaunchOptions = {}): Promise<BrowserHarness> {
  try {
    return await launchBrowser(opts);
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
}

export async function launchBrowser(opts: LaunchOptions = {}): Promise<BrowserHarness> {
  const executablePath = opts.executablePath ?? process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH;
  const echo = opts.echo ?? process.env.SALON_BROWSER_LOG === '1';
  const logs: string[] = [];
  const started = Date.now();
  const push = (line: string): void => {
    const stamped = `${((Date.now() - started) / 1000).toFixed(3)} ${line}`;
    logs.push(stamped);
    if (logs.length > MAX_LOG_LINES) logs.splice(0, logs.length - MAX_LOG_LINES);
    if (echo) process.stderr.write(`[browser] ${stamped}\n`);
  };

  if (!existsSync(executablePath)) {
    throw new Error(`no Chromium at ${executablePath}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`);
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
  });
  const launchMs = Date.now() - started;

  const contexts = new Set<BrowserContext>();
  let pageCount = 0;
  let closing: Promise<void> | undefined;

  const newPage = async (url: string, pageOpts: NewPageOptions = {}): Promise<Page> => {
    if (closing) throw new Error('launchBrowser: harness already closed');
    pageCount += 1;
    const label = pageOpts.label ?? `p${pageCount}`;
    const context = await browser.newContext({
      ...(pageOpts.locale ? { locale: pageOpts.locale } : {}),
      ...(pageOpts.viewport ? { viewport: pageOpts.viewport } : {}),
    });
    contexts.add(context);
    if (pageOpts.initScript) await context.addInitScript(pageOpts.initScript);
    context.on('close', () => contexts.delete(context));
    const page = await context.newPage();
    page.on('console', (msg) => push(`${label} [console.${msg.type()}] ${msg.text()}`));
    page.on('pageerror', (err) => push(`${label} [pageerror] ${err.stack || err.message || String(err)}`)); // a DOMException's stack may be empty
    page.on('requestfailed', (req) =>
      push(`${label} [requestfailed] ${req.method()} ${req.url()} ${req.failure()?.errorText ?? ''}`),
    );
    page.on('crash', () => push(`${label} [crash] page crashed`));
    await page.goto(url, { waitUntil: 'load', timeout: pageOpts.timeoutMs ?? 15_000 });
    return page;
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const context of [...contexts]) {
        await context.close().catch(() => undefined);
      }
      await browser.close().catch(() => undefined);
    })();
    return closing;
  };

  return {
    browser,
    logs,
    launchMs,
    newPage,
    dumpLogs: () => logs.join('\n'),
    close,
  };
}
