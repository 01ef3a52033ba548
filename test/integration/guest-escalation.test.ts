/**
 * A guest cannot make itself moderator (ENABLE_AUTH, an agent's room): not by granting itself
 * owner or moderator through muc#admin, not by writing a muc#user item into its presence, not by
 * submitting the owner form, kicking or muting the agent through the focus, or presenting a made-up
 * authentication session. Each attempt gets its stanza error; afterwards the agent is still the
 * only moderator and the guest a participant, as the room, the focus and a third occupant see it.
 */
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { startTestServer, stopClient, waitForStanza, xml, type TestServer } from './harness.ts';

const ROOM = 'cabinet@muc.meet.jitsi';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_FOCUS = 'http://jitsi.org/protocol/focus';

interface IqFailure { condition?: string }

async function refused(p: Promise<unknown>, conditions: string[]): Promise<string> {
  let condition = 'accepted';
  await p.then(() => undefined, (err: IqFailure) => { condition = err.condition ?? 'unknown'; });
  assert.ok(conditions.includes(condition), `refused with one of ${conditions.join(', ')}, got ${condition}`);
  return condition;
}

function itemOf(presence: Element): Element | undefined {
  return presence.getChild('x', NS_MUC_USER)?.getChild('item');
}

describe('a guest cannot make itself moderator', function () {
  this.timeout(30_000);
  let server: TestServer;
  const participants: ConferenceParticipant[] = [];

  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true' });
    await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
  });
  after(async () => {
    await Promise.all(participants.map((p) => stopClient(p.client)));
    await server.close();
  });

  it('refuses every forged grant, kick and mute, and roles stay as they were', async () => {
    const agent = await joinConference(server, ROOM, 'agent', { login: { domain: 'meet.jitsi', username: 'alice', password: 'alice password 123' } });
    participants.push(agent);
    await waitForStanza(agent.inbox, (s) => s.attrs.from === `${ROOM}/agent` && itemOf(s)?.attrs.affiliation === 'owner', 5000, 'agent made owner');
    const guest = await joinConference(server, ROOM, 'guest', { login: { domain: 'guest.meet.jitsi' } });
    participants.push(guest);
    const witness = await joinConference(server, ROOM, 'witness', { login: { domain: 'guest.meet.jitsi' } });
    participants.push(witness);
    const guestBare = (await waitForStanza(agent.inbox, (s) => s.attrs.from === `${ROOM}/guest` && itemOf(s)?.attrs.jid !== undefined, 5000, 'guest seen'))
      .getChild('x', NS_MUC_USER)!.getChild('item')!.attrs.jid.split('/')[0];
    const agentBare = 'alice@meet.jitsi';
    const iq = guest.client.iqCaller;

    // muc#admin: owner affiliation for itself, moderator role for itself, admin, and the agent kicked or outcast.
    await refused(iq.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation: 'owner', jid: guestBare })))), ['forbidden', 'not-allowed']);
    await refused(iq.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation: 'admin', jid: guestBare })))), ['forbidden', 'not-allowed']);
    await refused(iq.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { role: 'moderator', nick: 'guest' })))), ['forbidden', 'not-allowed']);
    await refused(iq.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { role: 'none', nick: 'agent' })))), ['forbidden', 'not-allowed']);
    await refused(iq.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation: 'outcast', jid: agentBare })))), ['forbidden', 'not-allowed']);
    // muc#owner: read or submit the configuration, destroy the room.
    await refused(iq.request(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: NS_MUC_OWNER }))), ['forbidden']);
    await refused(iq.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_OWNER }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
      xml('field', { var: 'muc#roomconfig_roomsecret' }, xml('value', {}, 'mine now')))))), ['forbidden']);
    await refused(iq.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_OWNER }, xml('destroy', {})))), ['forbidden']);
    // The focus: mute the agent, ask again with a made-up authentication session.
    await refused(iq.request(xml('iq', { type: 'set', to: `${ROOM}/focus` }, xml('mute', { xmlns: 'http://jitsi.org/jitmeet/audio', jid: `${ROOM}/agent` }, 'true'))), ['forbidden']);
    await refused(iq.request(xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('conference', {
      xmlns: NS_FOCUS, room: ROOM, 'machine-uid': 'm-guest', 'session-id': '5b0e5a35-9f1a-4d55-8a51-2d1b6c1c2a10',
    }))), ['not-acceptable']);
    // A presence claiming owner and moderator in its own muc#user element.
    await guest.client.send(xml('presence', { to: `${ROOM}/guest` },
      xml('x', { xmlns: NS_MUC_USER }, xml('item', { affiliation: 'owner', role: 'moderator', jid: `${agentBare}/x` })),
      xml('status', {}, 'forged')));
    const relayed = await waitForStanza(witness.inbox, (s) => s.attrs.from === `${ROOM}/guest` && s.getChildText('status') === 'forged', 5000, 'forged presence relayed');
    const items = relayed.getChildren('x', NS_MUC_USER).map((x) => x.getChild('item')!);
    assert.equal(items.length, 1, 'only the room writes a muc#user element');
    assert.equal(items[0]!.attrs.role, 'participant');
    assert.equal(items[0]!.attrs.affiliation, 'none');
    assert.equal(items[0]!.attrs.jid.split('/')[0], guestBare);

    // Nobody was told of another role: the agent was never kicked, muted or demoted, the guest never promoted.
    const roleChanges = witness.inbox.filter((s) => s.name === 'presence' && [`${ROOM}/guest`, `${ROOM}/agent`].includes(s.attrs.from))
      .map((s) => `${s.attrs.from.split('/')[1]} ${itemOf(s)?.attrs.role} ${itemOf(s)?.attrs.affiliation} ${s.attrs.type ?? 'available'}`);
    assert.ok(roleChanges.every((r) => r.startsWith('guest participant none available') || r.startsWith('agent moderator owner available')), roleChanges.join('\n'));
    assert.ok(!agent.inbox.some((s) => s.name === 'iq' && s.getChild('mute', 'http://jitsi.org/jitmeet/audio')), 'the agent got no mute request');
  });
});
