/**
 * Identity from the session, never from the message (xmpp/muc/identity-stamp.ts): a token
 * holder's presence carries the server's `<identity>` and its token's name whatever it sends; a
 * guest's forged `<identity>` never reaches the room, nor a forged `<display-name>` in a message.
 */
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import type { Element } from 'ltx';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { startTestServer, stopClient, waitForStanza, xml, type TestServer } from './harness.ts';

const APP = 'salon-identity-app';
const SECRET = 'identity stamping secret, long enough for HS256';
const ROOM = 'bureau@muc.meet.jitsi';
const NS_NICK = 'http://jabber.org/protocol/nick';

function token(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: APP, aud: APP, sub: 'meet.jitsi', room: 'bureau', exp: now + 600,
    context: { user: { id: 'agent-42', name: 'Alice Agent', email: 'alice@example.gouv.fr', moderator: true }, group: 'ministry' },
  }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(SECRET));
}

/** The latest presence of `nick` in `inbox` that satisfies `predicate`. */
function presenceOf(inbox: Element[], nick: string, predicate: (p: Element) => boolean): Promise<Element> {
  return waitForStanza(inbox, (s) => s.name === 'presence' && s.attrs.from === `${ROOM}/${nick}` && predicate(s), 5000, `${nick}'s presence`);
}

const forgedIdentity = (): Element =>
  xml('identity', {}, xml('user', {}, xml('id', {}, 'agent-42'), xml('name', {}, 'Alice Agent')), xml('group', {}, 'ministry'));

describe('identity stamped from the session', function () {
  this.timeout(30_000);
  let server: TestServer;
  const participants: ConferenceParticipant[] = [];

  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true', AUTH_TYPE: 'jwt', JWT_APP_ID: APP, JWT_APP_SECRET: SECRET });
  });
  after(async () => {
    await Promise.all(participants.map((p) => stopClient(p.client)));
    await server?.close();
  });

  it("stamps the token's identity and name on the agent, and keeps a guest from wearing them", async () => {
    const agent = await joinConference(server, ROOM, 'agent', { token: await token() });
    participants.push(agent);
    const guest = await joinConference(server, ROOM, 'guest', { login: { domain: 'guest.meet.jitsi' } });
    participants.push(guest);

    // The agent claims another name: its token's wins, with the server's identity.
    await agent.client.send(xml('presence', { to: `${ROOM}/agent` }, xml('nick', { xmlns: NS_NICK }, 'Somebody Else'), xml('x', { xmlns: 'urn:example:unknown' })));
    const stamped = await presenceOf(guest.inbox, 'agent', (p) => p.getChild('x', 'urn:example:unknown') !== undefined);
    assert.equal(stamped.getChildText('nick', NS_NICK), 'Alice Agent');
    const user = stamped.getChild('identity')?.getChild('user');
    assert.equal(user?.getChildText('id'), 'agent-42');
    assert.equal(user?.getChildText('name'), 'Alice Agent');
    assert.equal(user?.getChild('email'), undefined, "the agent's e-mail is not handed to every guest");
    assert.equal(stamped.getChild('identity')?.getChildText('group'), 'ministry');
    assert.equal(stamped.getChildren('identity').length, 1);

    // The guest copies the agent's name and forges its identity: the name is its choice, the identity is dropped.
    await guest.client.send(xml('presence', { to: `${ROOM}/guest` }, xml('nick', { xmlns: NS_NICK }, 'Alice Agent'), forgedIdentity(), xml('x', { xmlns: 'urn:example:unknown' })));
    const guestSeen = await presenceOf(agent.inbox, 'guest', (p) => p.getChildText('nick', NS_NICK) === 'Alice Agent');
    assert.equal(guestSeen.getChild('identity'), undefined, 'no identity reaches the room from a guest');
    assert.ok(guestSeen.getChild('x', 'urn:example:unknown'), 'other elements are kept');

    // The same under another prefix, and in a leave.
    await guest.client.send(xml('presence', { to: `${ROOM}/guest` }, xml('p:identity', { 'xmlns:p': 'jabber:client' }, xml('p:user', {}, xml('p:id', {}, 'agent-42'))), xml('status', {}, 'prefixed')));
    const prefixed = await presenceOf(agent.inbox, 'guest', (p) => p.getChildText('status') === 'prefixed');
    assert.deepEqual(prefixed.getChildElements().filter((c) => c.getName() === 'identity'), []);

    // A message with a forged display name arrives without it.
    await guest.client.send(xml('message', { to: ROOM, type: 'groupchat', id: 'm1' },
      xml('body', {}, 'hello'), xml('display-name', { xmlns: 'http://jitsi.org/protocol/display-name', source: 'token' }, 'Alice Agent')));
    const message = await waitForStanza(agent.inbox, (s) => s.name === 'message' && s.attrs.id === 'm1', 5000, 'the guest message');
    assert.equal(message.attrs.from, `${ROOM}/guest`);
    assert.equal(message.getChildText('body'), 'hello');
    assert.equal(message.getChild('display-name', 'http://jitsi.org/protocol/display-name'), undefined);
    // So does a private message of type error (one that is not a bounce is relayed to its occupant).
    await guest.client.send(xml('message', { to: `${ROOM}/agent`, type: 'error', id: 'm2' },
      xml('body', {}, 'psst'), xml('display-name', { xmlns: 'http://jitsi.org/protocol/display-name', source: 'token' }, 'Alice Agent'),
      xml('error', { type: 'cancel' }, xml('feature-not-implemented', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))));
    const errorMessage = await waitForStanza(agent.inbox, (s) => s.name === 'message' && s.attrs.id === 'm2', 5000, 'the guest\'s error-type message');
    assert.equal(errorMessage.attrs.from, `${ROOM}/guest`);
    assert.equal(errorMessage.getChild('display-name', 'http://jitsi.org/protocol/display-name'), undefined);

    await guest.client.send(xml('presence', { to: `${ROOM}/guest`, type: 'unavailable' }, forgedIdentity()));
    const left = await presenceOf(agent.inbox, 'guest', (p) => p.attrs.type === 'unavailable');
    assert.equal(left.getChild('identity'), undefined, 'no identity in a leave either');
  });
});
