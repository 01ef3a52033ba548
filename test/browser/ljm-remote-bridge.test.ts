/**
 * Two lib-jitsi-meet participants (p2p off) meet on a Salon started with `--no-bridge`, their
 * media carried by a `salon bridge` logged in over TCP c2s (STARTTLS, SCRAM): each receives the
 * other's audio and video (bytesReceived and framesDecoded grow), and the bridge channel opens at
 * the standalone bridge's own origin.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { assertMediaFlows, channelOpen, joinWithMedia, startLjmRig, waitForRemoteVideo, type LjmRig } from './ljm-rig.ts';

describe('lib-jitsi-meet media through a bridge on its own (salon bridge, browser)', function () {
  this.timeout(90_000);
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ media: true, remoteBridge: true });
  });
  after(async () => rig?.close());
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').filter((l) => /error|fail/i.test(l)).slice(-60).join('\n'));
  });

  it('two participants receive each other\'s audio and video through the standalone bridge', async () => {
    const { server, browser, pageUrl } = rig;
    const bridge = rig.bridge!;
    assert.equal(server.salon.bridge, undefined, 'the server runs no bridge of its own');
    const deadline = Date.now() + 10_000;
    while (server.salon.focus.bridges.count === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.salon.focus.bridges.select()?.jid, bridge.host.bridge.jid, 'the focus knows the standalone bridge');

    const a = await browser.newPage(pageUrl, { label: 'a' });
    const b = await browser.newPage(pageUrl, { label: 'b' });
    assert.equal((await joinWithMedia(a, 'remotebridgeroom')).ok, true);
    assert.equal((await joinWithMedia(b, 'remotebridgeroom')).ok, true);

    await waitForRemoteVideo([a, b]);
    assert.equal(bridge.host.bridge.colibri.endpointCount, 2, 'both endpoints are on the standalone bridge');
    await assertMediaFlows([a, b]);
    assert.ok(bridge.host.bridgeStats.snapshot().totals.rtpPacketsForwarded > 0, 'the standalone bridge forwarded the media');

    await Promise.all([a, b].map((page) => channelOpen(page, 10_000)));
    // The session-initiate named the standalone bridge's own origin for the channel.
    const channelUrl = await a.evaluate(() => {
      const w = window as unknown as Record<string, any>;
      const frame = w.salonTest.xmpp.find((f: any) => f.dir === 'in' && f.data.includes('session-initiate'));
      return new DOMParser().parseFromString(frame?.data ?? '<none/>', 'text/xml').querySelector('web-socket')?.getAttribute('url') ?? '';
    });
    assert.ok(channelUrl.startsWith(`${bridge.origin.replace('http', 'ws')}/colibri-ws/`), `bridge channel URL ${channelUrl}`);
    for (const page of [a, b]) await page.context().close();
  });
});
