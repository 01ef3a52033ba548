/**
 * Jitsi's iframe API against a real Salon in Chromium: an integrator page on another origin
 * (`http://localhost:<port>`, Salon being at `http://127.0.0.1:<port>`) loads Salon's
 * `/external_api.js`, frames a room with `new JitsiMeetExternalAPI(...)` as integrators write it,
 * and records the events the framed Salon page sends over postMessage.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../integration/harness.ts';
import type { BrowserHarness } from './chromium.ts';
import { LJM_PAGE_ASSETS, ljmHarnessHtml } from './ljm-page.ts';
import { startIntegratorRig, type IntegratorRig } from './fixtures/integrator-page.ts';

type AnyWindow = Record<string, any>;


async function waitForEvent(page: Page, name: string, timeout: number): Promise<Record<string, unknown>> {
  const found = await page.waitForFunction(
    (n) => (window as unknown as AnyWindow).events.find((e: { name: string }) => e.name === n) ?? false,
    name, { timeout },
  ).then((handle) => handle.jsonValue() as Promise<Record<string, unknown>>, () => undefined);
  if (!found) {
    const seen = await page.evaluate(() => (window as unknown as AnyWindow).events.map((e: { name: string }) => e.name));
    assert.fail(`no ${name} event within ${timeout} ms; got: ${JSON.stringify(seen)}`);
  }
  return found;
}

describe('Jitsi iframe API against Salon (browser)', function () {
  this.timeout(120_000);
  let rig: IntegratorRig;
  let server: TestServer;
  let browser: BrowserHarness;

  before(async () => {
    rig = await startIntegratorRig(LJM_PAGE_ASSETS);
    ({ server, browser } = rig);
    // The lib-jitsi-meet participant's page, once Salon's address is known.
    rig.pages['/ljm'] = ljmHarnessHtml(`${server.httpOrigin}/config.js`);
  });
  after(async () => {
    await rig?.close();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').slice(-60).join('\n'));
    for (const context of browser.browser.contexts()) await context.close();
  });

  const integratorUrl = (room: string, name: string, salon?: string): string => rig.integratorUrl(room, name, salon);

  it('the framed Salon page answers the integrator: browserSupport, then ready (onload)', async () => {
    const page = await browser.newPage(integratorUrl('apiroomone', 'Ada'), { label: 'integrator' });
    const support = await waitForEvent(page, 'browserSupport', 20_000);
    assert.deepEqual(support.data, { supported: true });
    await waitForEvent(page, 'ready', 5_000);
    await waitForEvent(page, 'onload', 5_000);
    const frame = await page.evaluate(() => {
      const iframe = (window as unknown as AnyWindow).api.getIFrame() as HTMLIFrameElement;
      return { src: iframe.src, allow: iframe.allow, name: iframe.name, width: iframe.style.width };
    });
    const salonHost = new URL(server.httpOrigin).host;
    assert.equal(frame.src, `http://${salonHost}/apiroomone#jitsi_meet_external_api_id=0`
      + '&config.prejoinConfig=%7B%22enabled%22%3Afalse%7D&config.startWithVideoMuted=true&userInfo.displayName=%22Ada%22');
    assert.equal(frame.allow, 'camera; microphone; display-capture; autoplay; clipboard-write');
    assert.equal(frame.name, 'jitsiConferenceFrame0');
    assert.equal(frame.width, '800px');
    // A request goes through and comes back (before or after the join, rooms-info has a rooms list).
    const rooms = await page.evaluate(() => (window as unknown as AnyWindow).api.getRoomsInfo());
    assert.ok(Array.isArray((rooms as { rooms?: unknown }).rooms), JSON.stringify(rooms));
  });

  it('with the default frame-ancestors, a page of another origin cannot frame Salon', async () => {
    const closed = await startTestServer();
    try {
      const page = await browser.newPage(integratorUrl('apiroomblocked', 'Ada', closed.httpOrigin), { label: 'refused' });
      const deadline = Date.now() + 15_000;
      let urls: string[] = [];
      while (Date.now() < deadline) {
        urls = page.frames().map((f) => f.url());
        if (urls.includes('chrome-error://chromewebdata/')) break;
        await new Promise((resolve) => setTimeout(resolve, 50)); // poll the frame's state, with a deadline
      }
      assert.ok(urls.includes('chrome-error://chromewebdata/'), `the iframe was refused; frames: ${urls.join(', ')}`);
      assert.deepEqual(await page.evaluate(() => (window as unknown as AnyWindow).events), []);
    } finally {
      await closed.close();
    }
  });

  // needs the conference view: the framed app joins on its own (pre-join disabled by the hash).
  it('videoConferenceJoined arrives with the room, our id and the name; a command renames us; dispose removes the frame', async () => {
    const page = await browser.newPage(integratorUrl('apiroomtwo', 'Ada'), { label: 'integrator' });
    const joined = await waitForEvent(page, 'videoConferenceJoined', 30_000);
    const data = joined.data as Record<string, unknown>;
    assert.equal(data.roomName, 'apiroomtwo');
    assert.equal(data.displayName, 'Ada');
    assert.equal(typeof data.id, 'string');
    assert.equal(await page.evaluate(() => (window as unknown as AnyWindow).api.getNumberOfParticipants()), 1);
    assert.equal(await page.evaluate(() => (window as unknown as AnyWindow).api.isVideoMuted()), true, 'startWithVideoMuted from configOverwrite');
    await page.evaluate(() => (window as unknown as AnyWindow).api.executeCommands({ displayName: ['Grace'] }));
    const renamed = await waitForEvent(page, 'displayNameChange', 10_000);
    assert.deepEqual(renamed.data, { id: data.id, displayname: 'Grace', formattedDisplayName: 'Grace' });
    assert.equal(await page.evaluate((id) => (window as unknown as AnyWindow).api.getDisplayName(id), data.id), 'Grace');
    await page.evaluate(() => (window as unknown as AnyWindow).api.dispose());
    assert.equal(await page.evaluate(() => document.querySelectorAll('iframe').length), 0, 'dispose removes the iframe');
  });

  // needs the conference view: a second participant (lib-jitsi-meet) joins the framed app's room.
  it('participantJoined arrives when a lib-jitsi-meet participant joins the room', async () => {
    const page = await browser.newPage(integratorUrl('apiroomthree', 'Ada'), { label: 'integrator' });
    await waitForEvent(page, 'videoConferenceJoined', 30_000);
    const ljm = await browser.newPage(`${rig.pageServer.origin}/ljm`, { label: 'ljm' });
    const result = await ljm.evaluate(() => (window as unknown as AnyWindow).salonTest.join('apiroomthree', 'Bob'));
    assert.equal(result.ok, true, JSON.stringify(result));
    const joined = await waitForEvent(page, 'participantJoined', 20_000);
    assert.equal((joined.data as Record<string, unknown>).displayName, 'Bob');
    const info = await page.evaluate(() => (window as unknown as AnyWindow).api.getParticipantsInfo());
    assert.deepEqual(info.map((p: { displayName: string }) => p.displayName).sort(), ['Ada', 'Bob']);
  });

  // needs the conference view: the hangup command makes the framed app leave.
  it('executeCommand("hangup") ends the call: videoConferenceLeft, then readyToClose', async () => {
    const page = await browser.newPage(integratorUrl('apiroomfour', 'Ada'), { label: 'integrator' });
    await waitForEvent(page, 'videoConferenceJoined', 30_000);
    await page.evaluate(() => (window as unknown as AnyWindow).api.executeCommand('hangup'));
    const left = await waitForEvent(page, 'videoConferenceLeft', 20_000);
    assert.equal((left.data as Record<string, unknown>).roomName, 'apiroomfour');
    await waitForEvent(page, 'readyToClose', 10_000);
    const names = await page.evaluate(() => (window as unknown as AnyWindow).events.map((e: { name: string }) => e.name));
    assert.ok(names.indexOf('videoConferenceLeft') < names.indexOf('readyToClose'), names.join(', '));
  });
});
