/**
 * Audio moderation and "end meeting for everyone" with lib-jitsi-meet in Chromium through Salon:
 * LJM finds the components in the domain's disco#info, its enableAVModeration / avModerationApprove
 * reach the others as LJM's own events, the bridge drops the audio of a participant not approved
 * (proven by the receivers' getStats), and the end-conference request destroys the room under
 * everyone (the pinned LJM has no endConference(): the page sends the stanza current LJM's
 * ChatRoom.end() sends, through LJM's own connection).
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { BrowserHarness } from './chromium.ts';
import { inbound, joinWithMedia, startLjmRig, waitForRemoteVideo, type LjmRig } from './ljm-rig.ts';

type AnyWindow = Record<string, any>;
const ROOM = 'avmodbrowser';

async function waitFor(page: Page, fn: () => unknown, what: string, timeout = 15_000): Promise<void> {
  const ok = await page.waitForFunction(fn, undefined, { timeout }).then(() => true, () => false);
  assert.ok(ok, what);
}

const myId = (page: Page): Promise<string> => page.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.myUserId());

/** Bytes `receiver` got of `sender`'s audio (its SSRC as signalled to the receiver). */
async function audioBytesFrom(receiver: Page, sender: string): Promise<number> {
  const ssrc = await receiver.evaluate((id) => {
    const track = (window as unknown as AnyWindow).salonTest.conference.getParticipantById(id)?.getTracksByMediaType('audio')[0];
    return track ? Number(track.getSSRC()) : undefined;
  }, sender);
  assert.ok(ssrc, `the receiver has ${sender}'s audio track`);
  return (await inbound(receiver)).rtp.filter((r) => r.kind === 'audio' && r.ssrc === ssrc).reduce((n, r) => n + r.bytes, 0);
}

/** Whether `sender`'s audio grows at `receiver` within `ms` (polled). */
async function audioGrows(receiver: Page, sender: string, ms: number): Promise<boolean> {
  const start = await audioBytesFrom(receiver, sender);
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 250));
    if ((await audioBytesFrom(receiver, sender)) > start) return true;
  }
  return false;
}

/** Whether the page's browser sends more audio to the bridge within `ms` (outbound-rtp, polled). */
async function audioSentGrows(page: Page, ms: number): Promise<boolean> {
  const sent = () => page.evaluate(async () => {
    const pc = (window as unknown as AnyWindow).salonTest.conference.jvbJingleSession.peerconnection.peerconnection as RTCPeerConnection;
    let bytes = 0;
    (await pc.getStats()).forEach((r: any) => { if (r.type === 'outbound-rtp' && r.kind === 'audio') bytes += r.bytesSent ?? 0; });
    return bytes;
  });
  const start = await sent();
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 250));
    if ((await sent()) > start) return true;
  }
  return false;
}

describe('lib-jitsi-meet audio moderation and end of conference through Salon (browser)', function () {
  this.timeout(120_000);
  let rig: LjmRig;
  let browser: BrowserHarness;
  let a: Page;
  let b: Page;
  let c: Page;

  before(async () => {
    rig = await startLjmRig({ media: true });
    browser = rig.browser;
    a = await browser.newPage(rig.pageUrl, { label: 'mod' });
    b = await browser.newPage(rig.pageUrl, { label: 'b' });
    c = await browser.newPage(rig.pageUrl, { label: 'c' });
    assert.equal((await joinWithMedia(a, ROOM)).ok, true);
    await waitFor(a, () => (window as unknown as AnyWindow).salonTest.conference.isModerator() === true, 'the first participant is moderator');
    assert.equal((await joinWithMedia(b, ROOM)).ok, true);
    assert.equal((await joinWithMedia(c, ROOM)).ok, true);
    for (const page of [a, b, c]) await waitFor(page, () => (window as unknown as AnyWindow).salonTest.conference.getParticipants().length === 2, 'everyone sees the two others', 30_000);
    await waitForRemoteVideo([a, b, c]);
  });
  after(async () => rig?.close());
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(browser.dumpLogs().split('\n').filter((l) => /error|fail|warn|moderation/i.test(l)).slice(-60).join('\n'));
  });

  it('a moderator enables audio moderation: the others get AV_MODERATION_CHANGED, a participant\'s audio stops at the bridge', async () => {
    for (const page of [a, b, c]) assert.equal(await page.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.isAVModerationSupported()), true);
    const [aId, bId] = [await myId(a), await myId(b)];
    assert.ok(await audioGrows(a, bId, 10_000), 'b\'s audio reaches a before moderation');

    await a.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.enableAVModeration('audio'));
    for (const page of [b, c]) {
      const changed = await page.evaluate(() => (window as unknown as AnyWindow).salonTest.waitForEvent('AV_MODERATION_CHANGED', 10_000));
      assert.ok(changed, 'AV_MODERATION_CHANGED');
      assert.equal(changed.args[0].enabled, true);
      assert.equal(changed.args[0].mediaType, 'audio');
      assert.equal(changed.args[0].actor?.id, aId, 'the actor is the moderator');
    }
    // the focus muted b (LJM mutes its microphone); b unmutes by itself, which the focus refuses:
    // its client sends audio again, the bridge forwards none of it
    await waitFor(b, () => (window as unknown as AnyWindow).salonTest.conference.getLocalAudioTrack().isMuted() === true, 'b is muted by the focus');
    await b.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.getLocalAudioTrack().unmute());
    await waitFor(b, () => (window as unknown as AnyWindow).salonTest.conference.getLocalAudioTrack().isMuted() === false, 'b unmuted locally');
    await waitFor(b, () => ((window as unknown as AnyWindow).salonTest.xmpp as Array<{ dir: string; data: string }>)
      .some((f) => f.dir === 'in' && f.data.includes('type="error"') && f.data.includes('http://jitsi.org/jitmeet/audio')), 'the focus refused b\'s unmute');
    assert.ok(await audioSentGrows(b, 5000), 'b\'s browser sends audio');
    assert.equal(rig.server.salon.bridge?.colibri.conferenceList()[0]?.isForceMuted(bId, 'audio'), true, 'the bridge has b force-muted');
    assert.equal(await audioGrows(a, bId, 3000), false, 'a receives none of b\'s audio while b is not approved');
    assert.equal(await audioGrows(c, bId, 1000), false, 'nor does c');
  });

  it('the moderator approves a participant: it gets AV_MODERATION_APPROVED and its audio flows again', async () => {
    const cId = await myId(c);
    const bId = await myId(b);
    await waitFor(c, () => (window as unknown as AnyWindow).salonTest.conference.getLocalAudioTrack().isMuted() === true, 'c is muted by the focus');
    await a.evaluate((id) => (window as unknown as AnyWindow).salonTest.conference.avModerationApprove('audio', id), cId);
    const approved = await c.evaluate(() => (window as unknown as AnyWindow).salonTest.waitForEvent('AV_MODERATION_APPROVED', 10_000));
    assert.ok(approved, 'AV_MODERATION_APPROVED');
    assert.equal(approved.args[0].mediaType, 'audio');
    const seen = await a.evaluate(() => (window as unknown as AnyWindow).salonTest.waitForEvent('AV_MODERATION_PARTICIPANT_APPROVED', 10_000));
    assert.equal(seen?.args[0].participant.id, cId, 'the moderator sees whom it approved');
    assert.equal(await b.evaluate(() => (window as unknown as AnyWindow).salonTest.events.some((e: any) => e.key === 'AV_MODERATION_APPROVED')), false, 'b is not approved');

    await c.evaluate(() => (window as unknown as AnyWindow).salonTest.conference.getLocalAudioTrack().unmute());
    assert.ok(await audioGrows(a, cId, 10_000), 'a receives c\'s audio once c is approved');
    assert.equal(await audioGrows(a, bId, 2000), false, 'and still none of b\'s');
  });

  it('a participant\'s end-conference request is refused; the moderator\'s ends it for everyone with CONFERENCE_FAILED conference.destroyed', async () => {
    const send = (page: Page) => page.evaluate(() => {
      const w = window as unknown as AnyWindow;
      const stanza = new DOMParser().parseFromString(`<message xmlns="jabber:client" to="endconference.${w.config.hosts.domain}"><end_conference/></message>`, 'text/xml').documentElement;
      w.salonTest.connection.xmpp.connection.send(stanza);
    });
    await send(b);
    await waitFor(b, () => ((window as unknown as AnyWindow).salonTest.xmpp as Array<{ dir: string; data: string }>)
      .some((f) => f.dir === 'in' && f.data.includes('from="endconference.') && f.data.includes('forbidden')), 'b\'s request is refused');
    const room = `${ROOM}@${rig.server.salon.config.xmpp.mucDomain}`;
    assert.ok(rig.server.salon.focus.conferences.has(room), 'the conference goes on');

    await send(a);
    for (const page of [b, c]) {
      const failed = await page.evaluate(() => (window as unknown as AnyWindow).salonTest.waitForEvent('CONFERENCE_FAILED', 10_000));
      assert.ok(failed, 'CONFERENCE_FAILED');
      assert.equal(failed.args[0], 'conference.destroyed');
      assert.equal(failed.args[1], 'The meeting has been terminated');
    }
    const deadline = Date.now() + 10_000;
    while ((rig.server.salon.focus.conferences.has(room) || rig.server.salon.bridge?.colibri.conferenceCount !== 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(rig.server.salon.focus.conferences.has(room), false, 'the focus ended the conference');
    assert.equal(rig.server.salon.bridge?.colibri.conferenceCount, 0, 'the bridge conference is expired');
  });
});
