/**
 * Audio/video moderation against the real server, focus and bridge: @xmpp/client participants
 * send the commands lib-jitsi-meet sends to `avmoderation.meet.jitsi`, receive the component's
 * json-messages, and the bridge drops the media of participants not approved (Colibri2
 * force-mute). Also "mute everyone" (one mute IQ per participant to the focus).
 */
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { buildAvModerationCommand, type AvModerationCommand } from '../../xmpp/protocol/av-moderation.ts';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';

const ROOM = 'avmod@muc.meet.jitsi';
const COMPONENT = 'avmoderation.meet.jitsi';
const NS_AUDIO = 'http://jitsi.org/jitmeet/audio';

/** The av_moderation JSON objects `p` received from the component, in order. */
function notices(p: ConferenceParticipant): Array<Record<string, unknown>> {
  return p.inbox
    .filter((s) => s.name === 'message' && s.attrs.from === COMPONENT && s.attrs.type !== 'error')
    .map((s) => JSON.parse(s.getChild('json-message', 'http://jitsi.org/jitmeet')?.getText() ?? '{}') as Record<string, unknown>);
}

async function waitForNotice(p: ConferenceParticipant, predicate: (n: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = notices(p).find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(notices(p))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sends a command as lib-jitsi-meet's AVModeration does; resolves with the error reply, if one comes. */
async function command(p: ConferenceParticipant, c: AvModerationCommand, expectError: boolean): Promise<Element | undefined> {
  const id = `cmd-${Math.random().toString(36).slice(2)}`;
  await p.client.send(xml('message', { to: COMPONENT, id }, buildAvModerationCommand(c)));
  if (!expectError) return undefined;
  return waitForStanza(p.inbox, (s) => s.name === 'message' && s.attrs.type === 'error' && s.attrs.id === id, 5000, 'the error reply');
}

function errorCondition(stanza: Element | undefined): string | undefined {
  return stanza?.getChild('error')?.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name;
}

/** A self mute/unmute request to the focus, as lib-jitsi-meet's ChatRoom.muteParticipant. */
function muteRequest(target: string, mute: boolean): Element {
  return xml('iq', { type: 'set', to: `${ROOM}/focus` }, xml('mute', { xmlns: NS_AUDIO, jid: `${ROOM}/${target}` }, String(mute)));
}

describe('A/V moderation with the real server, focus and bridge', function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: XmppClient[] = [];
  let alice: ConferenceParticipant;
  let bob: ConferenceParticipant;
  let carol: ConferenceParticipant;

  const bridgeConference = () => server.salon.bridge?.colibri.conferenceList()[0];
  const forceMuted = (nick: string) => bridgeConference()?.isForceMuted(nick, 'audio');

  before(async () => {
    server = await startTestServer();
    await until(() => server.salon.focus.bridges.count > 0, 'the focus sees the bridge');
    alice = await joinConference(server, ROOM, 'alice');
    clients.push(alice.client);
    // Jicofo's auto-owner rule: the first participant is made moderator.
    await waitForStanza(alice.inbox, (s) => s.name === 'presence' && s.attrs.from === `${ROOM}/alice`
      && s.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('item')?.attrs.role === 'moderator', 5000, 'alice made moderator');
    bob = await joinConference(server, ROOM, 'bob');
    carol = await joinConference(server, ROOM, 'carol');
    clients.push(bob.client, carol.client);
    await until(() => ['alice', 'bob', 'carol'].every((n) => bridgeConference()?.endpoint(n) !== undefined), 'every endpoint is on the bridge');
  });
  after(async () => {
    for (const c of clients) await stopClient(c);
    await server.close();
  });

  it('announces the component in the main domain\'s disco#info as lib-jitsi-meet looks for it', async () => {
    const info = await alice.client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const identities = info.getChild('query')!.getChildren('identity').map((i) => `${i.attrs.category}/${i.attrs.type}/${i.attrs.name}`);
    assert.ok(identities.includes(`component/av_moderation/${COMPONENT}`), identities.join(', '));
    assert.ok(identities.includes('component/end_conference/endconference.meet.jitsi'), identities.join(', '));
  });

  it('refuses a participant\'s enable and approve, and changes nothing', async () => {
    const refused = await command(bob, { action: 'enable', mediaType: 'audio', enable: true }, true);
    assert.equal(errorCondition(refused), 'forbidden');
    const approve = await command(carol, { action: 'approve', mediaType: 'audio', occupantJid: `${ROOM}/carol` }, true);
    assert.equal(errorCondition(approve), 'forbidden');
    assert.deepEqual(notices(alice), []);
    assert.deepEqual(notices(bob), []);
    assert.deepEqual(notices(carol), [], 'carol is not told she is approved');
    assert.equal(forceMuted('bob'), false);
  });

  it('a moderator enables audio moderation: everyone is told once, the others are muted and the bridge drops their audio', async () => {
    await command(alice, { action: 'enable', mediaType: 'audio', enable: true }, false);
    for (const p of [alice, bob, carol]) {
      const notice = await waitForNotice(p, (n) => n.enabled === true, 'the enabled notice');
      assert.deepEqual(notice, { type: 'av_moderation', room: ROOM, enabled: true, mediaType: 'audio', actor: `${ROOM}/alice` });
    }
    // had the refused enable above worked, this one would have changed nothing and told nobody
    for (const p of [alice, bob, carol]) assert.equal(notices(p).filter((n) => n.enabled !== undefined).length, 1);
    for (const p of [bob, carol]) {
      const mute = await waitForStanza(p.inbox, (s) => s.name === 'iq' && s.attrs.type === 'set' && s.getChild('mute', NS_AUDIO) !== undefined, 5000, 'the focus\'s mute');
      assert.equal(mute.attrs.from, `${ROOM}/focus`);
      assert.equal(mute.getChild('mute', NS_AUDIO)?.attrs.actor, `${ROOM}/alice`);
      assert.equal(mute.getChild('mute', NS_AUDIO)?.getText(), 'true');
    }
    assert.ok(!alice.inbox.some((s) => s.name === 'iq' && s.getChild('mute', NS_AUDIO)), 'the moderator is not muted');
    await until(() => forceMuted('bob') === true && forceMuted('carol') === true, 'bob and carol are force-muted at the bridge');
    assert.equal(forceMuted('alice'), false);
    assert.equal(bridgeConference()?.isForceMuted('bob', 'video'), false, 'video is not moderated');

    // Unmuting is refused to a participant not approved, and allowed to the moderator.
    await assert.rejects(bob.client.iqCaller.request(muteRequest('bob', false)), (e: { condition?: string }) => e.condition === 'not-allowed');
    await alice.client.iqCaller.request(muteRequest('alice', false));
  });

  it('approving tells the participant alone and the moderators the whitelist, and lifts the bridge mute for that one', async () => {
    await command(alice, { action: 'approve', mediaType: 'audio', occupantJid: `${ROOM}/bob` }, false);
    const approved = await waitForNotice(bob, (n) => n.approved === true, 'bob\'s approval');
    assert.deepEqual(approved, { type: 'av_moderation', room: ROOM, approved: true, mediaType: 'audio' });
    const lists = await waitForNotice(alice, (n) => n.whitelists !== undefined, 'the whitelists');
    assert.deepEqual(lists, { type: 'av_moderation', room: ROOM, whitelists: { audio: [`${ROOM}/bob`] }, mediaType: 'audio' });
    await until(() => forceMuted('bob') === false, 'bob is no longer force-muted');
    assert.equal(forceMuted('carol'), true);
    assert.ok(!notices(carol).some((n) => n.approved !== undefined || n.whitelists !== undefined), 'carol learns nothing of it');
    await bob.client.iqCaller.request(muteRequest('bob', false)); // now allowed
    await assert.rejects(carol.client.iqCaller.request(muteRequest('carol', false)), (e: { condition?: string }) => e.condition === 'not-allowed');
  });

  it('rejecting takes the approval back and the bridge drops the audio again', async () => {
    await command(alice, { action: 'reject', mediaType: 'audio', occupantJid: `${ROOM}/bob` }, false);
    const rejected = await waitForNotice(bob, (n) => n.removed === true, 'bob\'s rejection');
    assert.deepEqual(rejected, { type: 'av_moderation', room: ROOM, removed: true, mediaType: 'audio' });
    const lists = await waitForNotice(alice, (n) => n.removed === true, 'the shorter whitelist');
    assert.deepEqual(lists.whitelists, { audio: [] });
    await until(() => forceMuted('bob') === true, 'bob is force-muted again');
  });

  it('a late joiner is told the moderation in force and is muted at the bridge from the start', async () => {
    const dave = await joinConference(server, ROOM, 'dave');
    clients.push(dave.client);
    const notice = await waitForNotice(dave, (n) => n.enabled === true, 'the state on join');
    assert.deepEqual(notice, { type: 'av_moderation', room: ROOM, enabled: true, mediaType: 'audio', actor: `${ROOM}/alice` });
    await until(() => forceMuted('dave') === true, 'dave is force-muted');
  });

  it('disabling tells everyone and lets every endpoint through again', async () => {
    await command(alice, { action: 'enable', mediaType: 'audio', enable: false }, false);
    for (const p of [alice, bob, carol]) await waitForNotice(p, (n) => n.enabled === false, 'the disabled notice');
    await until(() => ['bob', 'carol', 'dave'].every((n) => forceMuted(n) === false), 'nobody is force-muted');
    await carol.client.iqCaller.request(muteRequest('carol', false));
  });

  it('mute everyone: the moderator\'s mute of each participant reaches each, a participant may mute nobody', async () => {
    const mutes = (p: ConferenceParticipant) => p.inbox.filter((s) => s.name === 'iq' && s.attrs.type === 'set' && s.getChild('mute', NS_AUDIO));
    const count = (p: ConferenceParticipant) => mutes(p).length;
    const counts = new Map([bob, carol].map((p) => [p, count(p)]));
    await assert.rejects(bob.client.iqCaller.request(xml('iq', { type: 'set', to: `${ROOM}/focus` }, xml('mute', { xmlns: NS_AUDIO, jid: `${ROOM}/carol` }, 'true'))),
      (e: { condition?: string }) => e.condition === 'forbidden');
    for (const nick of ['bob', 'carol']) {
      await alice.client.iqCaller.request(xml('iq', { type: 'set', to: `${ROOM}/focus` }, xml('mute', { xmlns: NS_AUDIO, jid: `${ROOM}/${nick}` }, 'true')));
    }
    for (const p of [bob, carol]) {
      await until(() => count(p) === counts.get(p)! + 1, 'one more mute');
      const last = mutes(p).at(-1)!;
      assert.equal(last.getChild('mute', NS_AUDIO)?.attrs.actor, `${ROOM}/alice`, 'muted by alice, never by bob');
    }
  });
});
