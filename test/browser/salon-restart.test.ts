/**
 * Salon's web client after the focus refuses its session restart. The focus, as Jicofo, refuses a
 * restart sooner than its limit allows (here 40 s after the last, with
 * `xmpp.limits.sessionRestartMinIntervalSeconds`) and ends the session; unlike Jicofo, which then
 * leaves the participant without media until it rejoins the room, it invites it again once the
 * limit allows. Two Salon clients meet; every datagram between the bridge and one of them is
 * dropped until its browser reports ICE disconnected and the client asks for a restart (granted:
 * a second session), then the same on the second session (refused: too soon). The focus's later
 * offer makes a third session and media flows both ways again, on the same page.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startLjmRig, type LjmRig } from './ljm-rig.ts';
import { assertReceives, joinSalon, salonInbound } from './salon-page.ts';

/** The local address of the page's live connection to the bridge (the bridge sees it as the endpoint's remote address). */
async function selectedLocalAddress(page: Page): Promise<{ host: string; port: number }> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    const pc = pcs.filter((p) => p.connectionState !== 'closed').at(-1);
    if (!pc) throw new Error('no peer connection');
    const reports = new Map<string, Record<string, any>>();
    (await pc.getStats()).forEach((r: Record<string, any>) => reports.set(r.id, r));
    const transport = [...reports.values()].find((r) => r.type === 'transport' && r.selectedCandidatePairId);
    const pair = transport ? reports.get(transport.selectedCandidatePairId) : undefined;
    const local = pair ? reports.get(pair.localCandidateId) : undefined;
    if (!local) throw new Error('no selected candidate pair');
    return { host: String(local.address ?? local.ip), port: Number(local.port) };
  });
}

async function peerConnections(page: Page): Promise<{ made: number; open: number }> {
  return page.evaluate(() => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs;
    return { made: pcs.length, open: pcs.filter((p) => p.connectionState !== 'closed').length };
  });
}

describe('Salon web client whose session restart is refused (browser)', function () {
  this.timeout(180_000);
  let rig: LjmRig;
  let configDir: string;

  before(async () => {
    configDir = await mkdtemp(join(tmpdir(), 'salon-restart-'));
    const configFile = join(configDir, 'salon.json');
    await writeFile(configFile, JSON.stringify({ xmpp: { limits: { sessionRestartMinIntervalSeconds: 40 } } }));
    rig = await startLjmRig({ media: true, env: { SALON_CONFIG: configFile } });
  });
  after(async function () {
    if (this.currentTest?.state === 'failed') console.log(rig?.browser.dumpLogs().split('\n').filter((l) => /error|fail|ice|restart|refused|room/i.test(l)).slice(-60).join('\n'));
    await rig?.close();
    await rm(configDir, { recursive: true, force: true });
  });

  it('gets a new session from the focus once its limit allows, and media flows both ways, without a reload', async () => {
    const media = rig.server.salon.media;
    assert.ok(media, 'the built-in bridge');
    const room = 'RefusedRestart1';
    const alice = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Alice', { label: 'alice' });
    const bob = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Bob', { label: 'bob' });
    await assertReceives(() => salonInbound(alice), { audio: 1, video: 1 }, 'Alice');
    await assertReceives(() => salonInbound(bob), { audio: 1, video: 1 }, 'Bob');
    await alice.evaluate(() => { (window as unknown as Record<string, unknown>).restartMarker = 'same page'; });
    assert.deepEqual(await peerConnections(alice), { made: 1, open: 1 });

    /** Drops everything between the bridge and Alice's current session until she has made `sessions` sessions. */
    const cutUntil = async (sessions: number, withinMs: number) => {
      // Long enough for Chromium to report ICE disconnected and for the client's 5 s grace; a new
      // session's connection uses another local port, which the blackout does not touch.
      const address = await selectedLocalAddress(alice);
      assert.ok(media.impair(address, { blackoutMs: 120_000 }), `the bridge has an endpoint at ${address.host}:${address.port}`);
      const deadline = Date.now() + withinMs;
      try {
        while ((await peerConnections(alice)).made < sessions) {
          assert.ok(Date.now() < deadline, `Alice has no session ${sessions} within ${withinMs / 1000} s of the blackout`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      } finally {
        media.impair(address, undefined);
      }
    };
    await cutUntil(2, 40_000);
    const granted = Date.now();
    await assertReceives(() => salonInbound(alice), { audio: 1, video: 1 }, 'Alice on her second session');
    await cutUntil(3, 80_000);
    const refusedAndInvited = Date.now() - granted;
    assert.ok(rig.browser.dumpLogs().includes('the session restart was refused'), 'the second restart was refused (too soon after the first)');
    await assertReceives(() => salonInbound(alice), { audio: 1, video: 1 }, 'Alice on the session the focus offered');
    await assertReceives(() => salonInbound(bob), { audio: 1, video: 1 }, 'Bob, from Alice\'s third session');
    console.log(`      third session ${Math.round(refusedAndInvited / 1000)} s after the second (the focus allows one restart per 40 s)`);
    assert.deepEqual(await peerConnections(alice), { made: 3, open: 1 }, 'one new session each time, the old ones closed');
    assert.equal(await alice.evaluate(() => (window as unknown as Record<string, unknown>).restartMarker), 'same page');
    assert.equal(rig.server.salon.focus.conferences.get(`${room.toLowerCase()}@muc.meet.jitsi`)?.participantCount, 2, 'still two participants: nobody left the room');
  });
});
