/**
 * Salon's web client after the focus refuses its session restart. The focus, as Jicofo, ends the
 * session of a participant whose restart it refuses (too many restarts: here every one, with
 * `xmpp.limits.sessionRestartsPerMinute` 0) and invites no one who ended theirs. Two Salon clients
 * meet; every datagram between the bridge and one of them is dropped until its browser reports ICE
 * disconnected and the client asks for a restart. Refused, the client enters the room again on the
 * same connection (a new nick, a new session) and media flows both ways again, on the same page.
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
  this.timeout(150_000);
  let rig: LjmRig;
  let configDir: string;

  before(async () => {
    configDir = await mkdtemp(join(tmpdir(), 'salon-restart-'));
    const configFile = join(configDir, 'salon.json');
    await writeFile(configFile, JSON.stringify({ xmpp: { limits: { sessionRestartsPerMinute: 0 } } }));
    rig = await startLjmRig({ media: true, env: { SALON_CONFIG: configFile } });
  });
  after(async function () {
    if (this.currentTest?.state === 'failed') console.log(rig?.browser.dumpLogs().split('\n').filter((l) => /error|fail|ice|restart|refused|room/i.test(l)).slice(-60).join('\n'));
    await rig?.close();
    await rm(configDir, { recursive: true, force: true });
  });

  it('enters the room again and media flows both ways, without a reload', async () => {
    const media = rig.server.salon.media;
    assert.ok(media, 'the built-in bridge');
    const room = 'RefusedRestart1';
    const alice = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Alice', { label: 'alice' });
    const bob = await joinSalon(rig.browser, rig.server.httpOrigin, room, 'Bob', { label: 'bob' });
    await assertReceives(() => salonInbound(alice), { audio: 1, video: 1 }, 'Alice');
    await assertReceives(() => salonInbound(bob), { audio: 1, video: 1 }, 'Bob');
    await alice.evaluate(() => { (window as unknown as Record<string, unknown>).restartMarker = 'same page'; });
    assert.deepEqual(await peerConnections(alice), { made: 1, open: 1 });

    // Long enough for Chromium to report ICE disconnected and for the client's 5 s grace; the new
    // session's connection uses another local port, which the blackout does not touch.
    const address = await selectedLocalAddress(alice);
    assert.ok(media.impair(address, { blackoutMs: 60_000 }), `the bridge has an endpoint at ${address.host}:${address.port}`);
    try {
      const deadline = Date.now() + 60_000;
      while ((await peerConnections(alice)).made < 2) {
        assert.ok(Date.now() < deadline, 'Alice made no new session within 60 s of the blackout');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      await assertReceives(() => salonInbound(alice), { audio: 1, video: 1 }, 'Alice after entering again');
      await assertReceives(() => salonInbound(bob), { audio: 1, video: 1 }, 'Bob after Alice entered again');
    } finally {
      media.impair(address, undefined);
    }
    assert.deepEqual(await peerConnections(alice), { made: 2, open: 1 }, 'one new session, the old one closed');
    assert.equal(await alice.evaluate(() => (window as unknown as Record<string, unknown>).restartMarker), 'same page');
    // Each sees the other once: the old nick left the room.
    await bob.getByText('Alice').first().waitFor();
    await alice.getByText('Bob').first().waitFor();
    assert.equal(rig.server.salon.focus.conferences.get(`${room.toLowerCase()}@muc.meet.jitsi`)?.participantCount, 2);
  });
});
