/**
 * Jitsi's lobby with lib-jitsi-meet in headless Chromium: the moderator switches it on with
 * `conference.enableLobby()`; a participant's join then fails with `conference.connectionError.membersOnly`
 * (the lobby room named), it waits with `joinLobby(name)`, the moderator's page reports
 * LOBBY_USER_JOINED with that name and lets it in with `lobbyApproveAccess(id)` (it then joins the
 * conference by itself), or turns another away with `lobbyDenyAccess(id)` (that one's conference
 * fails with `conference.connectionError.accessDenied`); switching the lobby off (`disableLobby()`)
 * lets whoever still waits in.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { LjmResult } from './ljm-page.ts';
import { startLjmRig, type LjmRig } from './ljm-rig.ts';

type LjmEvent = { key: string; args: unknown[] };
type Conference = {
  isModerator(): boolean | null;
  isMembersOnly(): boolean;
  enableLobby(): Promise<unknown>;
  joinLobby(name: string): Promise<unknown>;
  lobbyApproveAccess(id: string): void;
  lobbyDenyAccess(id: string): void;
  grantOwner(id: string): void;
  revokeOwner(id: string): void;
  myUserId(): string;
  getParticipants(): Array<{ getId(): string; getDisplayName(): string }>;
};
type Harness = {
  salonTest: {
    events: LjmEvent[];
    join(room: string, nick: string, opts?: { timeoutMs?: number }): Promise<LjmResult>;
    waitForEvent(keys: string | string[], timeoutMs: number, from?: number): Promise<LjmEvent | null>;
    conference: Conference | null;
  };
};

const ROOM = 'ljmlobbyroom';
const LOBBY = `${ROOM}@lobby.meet.jitsi`;

/** Joins and expects the members-only refusal; returns the lobby room it names. */
async function knock(page: Page, name: string): Promise<unknown[]> {
  const result = await page.evaluate(({ room, nick }) => (window as unknown as Harness).salonTest.join(room, nick), { room: ROOM, nick: name });
  assert.equal(result.ok, false, JSON.stringify(result));
  assert.equal(result.error, 'conference.connectionError.membersOnly', JSON.stringify(result));
  return (result.event as LjmEvent).args;
}

/** joinLobby(name) on the page; resolves with 'joined' or the error. */
function joinLobby(page: Page, name: string): Promise<string> {
  return page.evaluate((n) => (window as unknown as Harness).salonTest.conference!.joinLobby(n).then(() => 'joined', (e: unknown) => `failed: ${String(e)}`), name);
}

/** The moderator page's next LOBBY_USER_JOINED for `name`: the knocker's id. */
async function knockerId(host: Page, name: string, from: number): Promise<string> {
  const ev = await host.evaluate(async ({ n, i }) => {
    const t = (window as unknown as Harness).salonTest;
    for (let at = i; ;) {
      const found = await t.waitForEvent('LOBBY_USER_JOINED', 15_000, at);
      if (!found) return null;
      if (found.args[1] === n) return found;
      at = t.events.indexOf(found) + 1;
    }
  }, { n: name, i: from });
  assert.ok(ev, `the moderator saw ${name} knock`);
  assert.equal(typeof ev.args[0], 'string');
  return ev.args[0] as string;
}

describe('lib-jitsi-meet: the lobby (browser)', function () {
  this.timeout(120_000);
  let rig: LjmRig;
  let host: Page;
  /** The participant let in by the first test, a member of the conference. */
  let admitted: Page | undefined;

  before(async () => {
    rig = await startLjmRig();
    host = await rig.browser.newPage(rig.pageUrl, { label: 'host' });
    const joined = await host.evaluate((r) => (window as unknown as Harness).salonTest.join(r, 'Host'), ROOM);
    assert.equal(joined.ok, true, JSON.stringify(joined));
    await host.waitForFunction(() => (window as unknown as Harness).salonTest.conference?.isModerator() === true, undefined, { timeout: 10_000 });
    const enabled = await host.evaluate(async () => {
      const t = (window as unknown as Harness).salonTest;
      const from = t.events.length;
      await t.conference!.enableLobby();
      const ev = await t.waitForEvent('MEMBERS_ONLY_CHANGED', 10_000, from);
      return { event: ev?.args, membersOnly: t.conference!.isMembersOnly() };
    });
    assert.deepEqual(enabled, { event: [true], membersOnly: true });
  });
  after(async () => {
    await rig?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').slice(-80).join('\n'));
  });

  it('sends a participant to the lobby, shows it to the moderator, and lets it in when the moderator approves', async () => {
    const guest = await rig.browser.newPage(rig.pageUrl, { label: 'guest' });
    const from = await host.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    const refusal = await knock(guest, 'Guest');
    assert.deepEqual(refusal, ['conference.connectionError.membersOnly', LOBBY]);
    assert.equal(await joinLobby(guest, 'Guest'), 'joined');

    const id = await knockerId(host, 'Guest', from);
    const guestFrom = await guest.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    await host.evaluate((knocker) => (window as unknown as Harness).salonTest.conference!.lobbyApproveAccess(knocker), id);

    const outcome = await guest.evaluate(async (i) => {
      const ev = await (window as unknown as Harness).salonTest.waitForEvent(['CONFERENCE_JOINED', 'CONFERENCE_FAILED'], 20_000, i);
      return ev ? { key: ev.key, args: ev.args } : null;
    }, guestFrom);
    assert.equal(outcome?.key, 'CONFERENCE_JOINED', JSON.stringify(outcome));
    const guestId = await guest.evaluate(() => (window as unknown as Harness).salonTest.conference!.myUserId());
    await host.waitForFunction((gid) => (window as unknown as Harness).salonTest.conference!.getParticipants().some((p) => p.getId() === gid), guestId, { timeout: 10_000 });
    assert.equal(await guest.evaluate(() => (window as unknown as Harness).salonTest.conference!.isModerator()), false);
    // Admitted, it left the lobby: the moderator's page says so.
    const left = await host.evaluate(async ({ knocker, i }) => {
      const t = (window as unknown as Harness).salonTest;
      for (let at = i; ;) {
        const ev = await t.waitForEvent('LOBBY_USER_LEFT', 10_000, at);
        if (!ev || ev.args[0] === knocker) return ev?.args ?? null;
        at = t.events.indexOf(ev) + 1;
      }
    }, { knocker: id, i: from });
    assert.deepEqual(left, [id]);
    admitted = guest;
  });

  it('takes the lobby away from a moderator whose ownership is revoked: its page stops showing knockers', async () => {
    assert.ok(admitted, 'a participant was let in by the previous test');
    const member = admitted;
    const memberId = await member.evaluate(() => (window as unknown as Harness).salonTest.conference!.myUserId());
    // Made owner, lib-jitsi-meet joins the lobby room as a moderator (Lobby._maybeJoinLobbyRoom on LOCAL_ROLE_CHANGED).
    await host.evaluate((mid) => (window as unknown as Harness).salonTest.conference!.grantOwner(mid), memberId);
    await member.waitForFunction(() => (window as unknown as Harness).salonTest.conference?.isModerator() === true, undefined, { timeout: 10_000 });
    const knocker = await rig.browser.newPage(rig.pageUrl, { label: 'knocker' });
    const memberFrom = await member.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    const hostFrom = await host.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    await knock(knocker, 'Knocker');
    assert.equal(await joinLobby(knocker, 'Knocker'), 'joined');
    const idSeenByMember = await knockerId(member, 'Knocker', memberFrom);
    const id = await knockerId(host, 'Knocker', hostFrom);

    const revokedFrom = await member.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    await host.evaluate((mid) => (window as unknown as Harness).salonTest.conference!.revokeOwner(mid), memberId);
    await member.waitForFunction(() => (window as unknown as Harness).salonTest.conference?.isModerator() === false, undefined, { timeout: 10_000 });
    // Removed from the lobby room (321), its page drops the knocker it was showing.
    const gone = await member.evaluate(async ({ knockerJid, i }) => {
      const t = (window as unknown as Harness).salonTest;
      for (let at = i; ;) {
        const ev = await t.waitForEvent('LOBBY_USER_LEFT', 10_000, at);
        if (!ev || ev.args[0] === knockerJid) return ev?.args ?? null;
        at = t.events.indexOf(ev) + 1;
      }
    }, { knockerJid: idSeenByMember, i: revokedFrom });
    assert.deepEqual(gone, [idSeenByMember]);
    // The knocker still waits: the host turns it away.
    const knockerFrom = await knocker.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    await host.evaluate((k) => (window as unknown as Harness).salonTest.conference!.lobbyDenyAccess(k), id);
    const outcome = await knocker.evaluate(async (i) => {
      const ev = await (window as unknown as Harness).salonTest.waitForEvent(['CONFERENCE_JOINED', 'CONFERENCE_FAILED'], 20_000, i);
      return ev ? { key: ev.key, args: ev.args } : null;
    }, knockerFrom);
    assert.deepEqual(outcome, { key: 'CONFERENCE_FAILED', args: ['conference.connectionError.accessDenied'] });
  });

  it('tells a participant the moderator turned it away', async () => {
    const other = await rig.browser.newPage(rig.pageUrl, { label: 'other' });
    const from = await host.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    await knock(other, 'Other');
    assert.equal(await joinLobby(other, 'Other'), 'joined');
    const id = await knockerId(host, 'Other', from);
    const otherFrom = await other.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    await host.evaluate((knocker) => (window as unknown as Harness).salonTest.conference!.lobbyDenyAccess(knocker), id);
    const outcome = await other.evaluate(async (i) => {
      const ev = await (window as unknown as Harness).salonTest.waitForEvent(['CONFERENCE_JOINED', 'CONFERENCE_FAILED'], 20_000, i);
      return ev ? { key: ev.key, args: ev.args } : null;
    }, otherFrom);
    assert.deepEqual(outcome, { key: 'CONFERENCE_FAILED', args: ['conference.connectionError.accessDenied'] });
    const participants = await host.evaluate(() => (window as unknown as Harness).salonTest.conference!.getParticipants().map((p) => p.getDisplayName()));
    assert.equal(participants.includes('Other'), false);
  });

  it('lets everyone waiting in when the moderator switches the lobby off', async () => {
    const late = await rig.browser.newPage(rig.pageUrl, { label: 'late' });
    const from = await host.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    await knock(late, 'Late');
    assert.equal(await joinLobby(late, 'Late'), 'joined');
    await knockerId(host, 'Late', from);
    const lateFrom = await late.evaluate(() => (window as unknown as Harness).salonTest.events.length);
    const off = await host.evaluate(async (i) => {
      const t = (window as unknown as Harness).salonTest;
      (t.conference as unknown as { disableLobby(): void }).disableLobby();
      const ev = await t.waitForEvent('MEMBERS_ONLY_CHANGED', 10_000, i);
      return ev?.args ?? null;
    }, from);
    assert.deepEqual(off, [false]);
    // The lobby room is destroyed with the conference as alternate venue: lib-jitsi-meet joins it.
    const outcome = await late.evaluate(async (i) => {
      const ev = await (window as unknown as Harness).salonTest.waitForEvent(['CONFERENCE_JOINED', 'CONFERENCE_FAILED'], 20_000, i);
      return ev ? { key: ev.key, args: ev.args } : null;
    }, lateFrom);
    assert.equal(outcome?.key, 'CONFERENCE_JOINED', JSON.stringify(outcome));
  });
});
