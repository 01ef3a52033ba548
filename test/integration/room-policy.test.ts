/**
 * The focus's room policy with authentication on (ENABLE_AUTH, ENABLE_GUESTS): a guest of the
 * guest domain cannot start a room and gets Jicofo's "not authorized user domain" answer, then gets
 * in by asking again once an agent (an account of the main domain) started it; the agent is owner
 * and moderator, the guest a plain participant.
 */
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';

const ROOM = 'townhall@muc.meet.jitsi';
const NS_FOCUS = 'http://jitsi.org/protocol/focus';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

/** What @xmpp/client rejects an IQ with when the answer is an error. */
interface IqFailure { condition?: string; text?: string; type?: string; element?: Element }

const conferenceIq = (nick: string): Element =>
  xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('conference', { xmlns: NS_FOCUS, room: ROOM, 'machine-uid': `m-${nick}` }));

/** The muc#user item of `nick`'s latest presence in `inbox`, once it matches `predicate`. */
async function occupantItem(inbox: Element[], nick: string, predicate: (item: Element) => boolean): Promise<Element> {
  const presence = await waitForStanza(inbox, (s) => {
    if (s.name !== 'presence' || s.attrs.from !== `${ROOM}/${nick}`) return false;
    const item = s.getChild('x', NS_MUC_USER)?.getChild('item');
    return item !== undefined && predicate(item);
  }, 5000, `${nick}'s presence`);
  return presence.getChild('x', NS_MUC_USER)!.getChild('item')!;
}

describe('room policy: agents start conferences, guests wait for them', function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: XmppClient[] = [];

  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true' });
    await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
    await server.salon.xmpp.accounts.setPassword('bob@meet.jitsi', 'bob password 456');
  });
  after(async () => {
    await Promise.all(clients.map(stopClient));
    await server.close();
  });

  it('refuses a guest before any agent, lets it in once an agent started the room, and makes every agent owner, the guest not', async () => {
    const guest = await connectClient({ service: server.wsUrl, domain: 'guest.meet.jitsi' });
    clients.push(guest.client);
    assert.match(guest.jid, /@guest\.meet\.jitsi\//);

    await assert.rejects(guest.client.iqCaller.request(conferenceIq('guest')), (err: IqFailure) => {
      assert.equal(err.condition, 'not-authorized');
      assert.equal(err.type, 'auth');
      assert.equal(err.text, 'not authorized user domain');
      const children = err.element?.children.filter((c): c is Element => typeof c !== 'string') ?? [];
      assert.deepEqual(children.map((c) => `${c.name} ${c.attrs.xmlns}`), [`not-authorized ${NS_STANZAS}`, `text ${NS_STANZAS}`]);
      return true;
    });
    assert.equal(server.salon.focus.conferences.has(ROOM), false, 'no conference was started for the guest');

    const agent: ConferenceParticipant = await joinConference(server, ROOM, 'agent', {
      login: { domain: 'meet.jitsi', username: 'alice', password: 'alice password 123' },
    });
    clients.push(agent.client);
    assert.equal(server.salon.focus.conferences.has(ROOM), true);

    // The guest asks again, as jitsi-meet does every 5 s while its "waiting for the host" dialog is up.
    const answer = await guest.client.iqCaller.request(conferenceIq('guest'));
    const conference = answer.getChild('conference', NS_FOCUS);
    assert.equal(conference?.attrs.ready, 'true');
    await guest.client.send(xml('presence', { to: `${ROOM}/guest` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
    const guestSelf = await occupantItem(guest.inbox, 'guest', () => true);
    assert.notEqual(guestSelf.attrs.affiliation, 'owner');

    const agentItem = await occupantItem(agent.inbox, 'agent', (item) => item.attrs.affiliation === 'owner');
    assert.equal(agentItem.attrs.role, 'moderator');
    const guestSeen = await occupantItem(agent.inbox, 'guest', () => true);
    assert.equal(guestSeen.attrs.role, 'participant');
    assert.equal(guestSeen.attrs.affiliation, 'none');

    // Every agent is owner, not only the oldest participant (Jicofo's rule without authentication).
    const second = await joinConference(server, ROOM, 'second', {
      login: { domain: 'meet.jitsi', username: 'bob', password: 'bob password 456' },
    });
    clients.push(second.client);
    const secondItem = await occupantItem(guest.inbox, 'second', (item) => item.attrs.affiliation === 'owner');
    assert.equal(secondItem.attrs.role, 'moderator');
  });
});
