/**
 * "End meeting for everyone" against the real server, focus and bridge: a moderator's
 * `<end_conference/>` to `endconference.meet.jitsi` (what lib-jitsi-meet's ChatRoom.end() sends)
 * destroys the room for every occupant, the focus ends the conference and the bridge conference
 * is expired; a participant's request is refused and changes nothing.
 */
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';

const ROOM = 'endtest@muc.meet.jitsi';
const COMPONENT = 'endconference.meet.jitsi';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function endConference(client: XmppClient, inbox: Element[], expectError: boolean): Promise<Element | undefined> {
  const id = `end-${Math.random().toString(36).slice(2)}`;
  await client.send(xml('message', { to: COMPONENT, id }, xml('end_conference')));
  if (!expectError) return undefined;
  return waitForStanza(inbox, (s) => s.name === 'message' && s.attrs.type === 'error' && s.attrs.id === id, 5000, 'the error reply');
}

function errorCondition(stanza: Element | undefined): string | undefined {
  return stanza?.getChild('error')?.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name;
}

describe('ending a conference for everyone with the real server, focus and bridge', function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: XmppClient[] = [];
  let alice: ConferenceParticipant;
  let bob: ConferenceParticipant;

  before(async () => {
    server = await startTestServer();
    await until(() => server.salon.focus.bridges.count > 0, 'the focus sees the bridge');
    alice = await joinConference(server, ROOM, 'alice');
    clients.push(alice.client);
    await waitForStanza(alice.inbox, (s) => s.name === 'presence' && s.attrs.from === `${ROOM}/alice`
      && s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role === 'moderator', 5000, 'alice made moderator');
    bob = await joinConference(server, ROOM, 'bob');
    clients.push(bob.client);
    await until(() => server.salon.bridge?.colibri.conferenceCount === 1, 'the bridge conference exists');
  });
  after(async () => {
    for (const c of clients) await stopClient(c);
    await server.close();
  });

  it('refuses a participant\'s request and someone outside the room, and the conference goes on', async () => {
    assert.equal(errorCondition(await endConference(bob.client, bob.inbox, true)), 'forbidden');
    const stranger = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
    clients.push(stranger.client);
    assert.equal(errorCondition(await endConference(stranger.client, stranger.inbox, true)), 'item-not-found');
    assert.ok(server.salon.xmpp.muc.room(ROOM), 'the room is still there');
    assert.ok(server.salon.focus.conferences.has(ROOM), 'the conference goes on');
    assert.equal(server.salon.bridge?.colibri.conferenceCount, 1);
    for (const p of [alice, bob]) {
      assert.ok(!p.inbox.some((s) => s.name === 'presence' && s.getChild('x', NS_MUC_USER)?.getChild('destroy')), 'nobody was sent away');
    }
  });

  it('a moderator\'s request destroys the room for every occupant, ends the focus\'s conference and expires the bridge\'s', async () => {
    await endConference(alice.client, alice.inbox, false);
    for (const [p, nick] of [[alice, 'alice'], [bob, 'bob']] as const) {
      const gone = await waitForStanza(p.inbox, (s) => s.name === 'presence' && s.attrs.type === 'unavailable' && s.attrs.from === `${ROOM}/${nick}`
        && s.getChild('x', NS_MUC_USER)?.getChild('destroy') !== undefined, 5000, `${nick}'s destroy presence`);
      assert.equal(gone.getChild('x', NS_MUC_USER)?.getChild('destroy')?.getChildText('reason'), 'The meeting has been terminated');
      assert.ok(gone.getChild('x', NS_MUC_USER)?.getChildren('status').some((st) => st.attrs.code === '110'), 'self-presence');
    }
    await until(() => !server.salon.focus.conferences.has(ROOM), 'the focus has ended the conference');
    await until(() => server.salon.bridge?.colibri.conferenceCount === 0, 'the bridge conference is expired');
    assert.equal(server.salon.xmpp.muc.room(ROOM), undefined, 'the room is gone');
  });
});
