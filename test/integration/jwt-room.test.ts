/**
 * Tokens and the room policy (AUTH_TYPE=jwt): a token holder starts the rooms its `room` claim
 * names and is owner unless its moderator claim says otherwise; a token for another room is refused
 * by the focus with the reason.
 */
import assert from 'node:assert/strict';
import { SignJWT, type JWTPayload } from 'jose';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer } from './harness.ts';

const APP = 'salon-room-app';
const SECRET = 'room policy secret, long enough for HS256';

function token(over: JWTPayload): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: APP, aud: APP, sub: 'meet.jitsi', room: '*', exp: now + 600, ...over })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(SECRET));
}

describe('room policy with tokens (AUTH_TYPE=jwt)', function () {
  this.timeout(30_000);
  let server: TestServer;
  const participants: ConferenceParticipant[] = [];

  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true', AUTH_TYPE: 'jwt', JWT_APP_ID: APP, JWT_APP_SECRET: SECRET });
  });
  afterEach(async () => {
    await Promise.all(participants.splice(0).map((p) => stopClient(p.client)));
  });
  after(async () => {
    await server?.close();
  });

  it('lets a token for this room start it and makes its holder owner', async () => {
    const room = 'daily@muc.meet.jitsi';
    const agent = await joinConference(server, room, 'agent', { token: await token({ room: 'Daily', context: { user: { name: 'A', moderator: true } } }) });
    participants.push(agent);
    await waitForStanza(agent.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/agent` && s.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('item')?.attrs.affiliation === 'owner', 5000, 'the agent made owner');
  });

  it('refuses a token for another room at the focus, with the reason', async () => {
    await assert.rejects(
      joinConference(server, 'secret@muc.meet.jitsi', 'intruder', { token: await token({ room: 'daily' }) }),
      (err: unknown) => {
        const { condition, text } = err as { condition?: string; text?: string };
        assert.equal(condition, 'not-allowed');
        assert.equal(text, 'token for another room');
        return true;
      },
    );
  });

  it('lets a token with moderator false start its room without making it owner', async () => {
    const room = 'plain@muc.meet.jitsi';
    const member = await joinConference(server, room, 'member', { token: await token({ room: 'plain', context: { user: { name: 'M', moderator: false } } }) });
    participants.push(member);
    // A moderator token joining after it is made owner: by then any grant to the member would have come.
    const host = await joinConference(server, room, 'host', { token: await token({ room: 'plain', context: { user: { name: 'H', moderator: true } } }) });
    participants.push(host);
    await waitForStanza(member.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/host` && s.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('item')?.attrs.affiliation === 'owner', 5000, 'the host made owner');
    const presences = member.inbox.filter((s) => s.name === 'presence' && s.attrs.from === `${room}/member`);
    const item = presences.at(-1)?.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('item');
    assert.ok(item, 'the member\'s presence');
    assert.notEqual(item.attrs.affiliation, 'owner');
    assert.notEqual(item.attrs.role, 'moderator');
  });

  it('refuses a moderator token for another room at the room itself, so its holder cannot walk in and be made owner', async () => {
    const room = 'board@muc.meet.jitsi';
    const host = await joinConference(server, room, 'host', { token: await token({ room: 'board', context: { user: { name: 'H', moderator: true } } }) });
    participants.push(host);
    // Someone holding a moderator token for another room skips the focus and sends its presence straight to the room.
    const service = `${server.wsUrl}?token=${encodeURIComponent(await token({ room: 'daily', context: { user: { name: 'I', moderator: true } } }))}`;
    const intruder = await connectClient({ service, domain: 'meet.jitsi' });
    participants.push({ client: intruder.client, inbox: intruder.inbox, jingle: [] });
    await intruder.client.send(xml('presence', { to: `${room}/intruder` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
    const refusal = await waitForStanza(intruder.inbox, (s) => s.name === 'presence' && s.attrs.type === 'error', 5000, 'the refusal');
    assert.ok(refusal.getChild('error')?.getChild('not-allowed', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
    assert.equal(refusal.getChild('error')?.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas'), 'token for another room');
    // The room's own answer to the host's next request is in after anything the intruder's join could have caused.
    await host.client.iqCaller.request(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    assert.ok(!host.inbox.some((s) => s.name === 'presence' && s.attrs.from === `${room}/intruder`), 'nobody saw the intruder');
  });
});
