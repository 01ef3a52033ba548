/**
 * jitsi-meet's "secure domain" login through the focus (protocol reference §3.4; lib-jitsi-meet
 * authenticateAndUpgradeRole): a guest waiting for the host logs in with a password on a second
 * connection, whose conference request opens an authentication session (`session-id`,
 * `identity`); the guest connection then presents that session with the same machine-uid and is
 * taken for the account: it starts the room and is made owner. Bad, copied and logged-out sessions
 * get Jicofo's answers. Then the 'first-agent' moderator setting.
 */
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { joinConference } from './conference-participant.ts';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';

const NS_FOCUS = 'http://jitsi.org/protocol/focus';
const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';

interface IqFailure { condition?: string; text?: string; element?: Element }

function conferenceIq(room: string, machineUid: string | undefined, sessionId?: string): Element {
  return xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('conference', {
    xmlns: NS_FOCUS, room,
    ...(machineUid ? { 'machine-uid': machineUid } : {}),
    ...(sessionId ? { 'session-id': sessionId } : {}),
  }));
}

function properties(conference: Element): Record<string, string> {
  return Object.fromEntries(conference.getChildren('property').map((p) => [p.attrs.name as string, p.attrs.value as string]));
}

async function ownItem(inbox: Element[], room: string, nick: string, predicate: (item: Element) => boolean = () => true): Promise<Element> {
  const presence = await waitForStanza(inbox, (s) => {
    if (s.name !== 'presence' || s.attrs.from !== `${room}/${nick}`) return false;
    const item = s.getChild('x', NS_MUC_USER)?.getChild('item');
    return item !== undefined && predicate(item);
  }, 5000, `${nick}'s presence`);
  return presence.getChild('x', NS_MUC_USER)!.getChild('item')!;
}

describe('secure domain: the host logs in and its guest connection is taken for the account', function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: XmppClient[] = [];
  const guest = async (): Promise<{ client: XmppClient; inbox: Element[] }> => {
    const c = await connectClient({ service: server.wsUrl, domain: 'guest.meet.jitsi' });
    clients.push(c.client);
    return c;
  };

  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true', AUTH_TYPE: 'internal' });
    await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
  });
  after(async () => {
    await Promise.all(clients.map(stopClient));
    await server.close();
  });

  it('opens a session for a password login, takes the guest connection that presents it for the account, ends it on logout', async () => {
    const room = 'hall@muc.meet.jitsi';
    const machine = 'browser-of-alice';
    const waiting = await guest();
    await assert.rejects(waiting.client.iqCaller.request(conferenceIq(room, machine)), (err: IqFailure) => err.condition === 'not-authorized');

    // "I am the host": a second connection logs in with the password and asks the focus.
    const login = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi', username: 'alice', password: 'alice password 123' });
    const answer = (await login.client.iqCaller.request(conferenceIq(room, machine))).getChild('conference', NS_FOCUS)!;
    assert.equal(answer.attrs.ready, 'true');
    assert.equal(answer.attrs.identity, 'alice@meet.jitsi');
    const sessionId = answer.attrs['session-id'] as string;
    assert.match(sessionId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(properties(answer), { authentication: 'true', externalAuth: 'false' });
    // A password login without machine-uid cannot get a session (Jicofo's answer).
    await assert.rejects(login.client.iqCaller.request(conferenceIq(room, undefined)), (err: IqFailure) =>
      err.condition === 'not-acceptable' && err.text === "Missing mandatory attribute 'machine-uid'");
    await stopClient(login.client);

    // The waiting connection presents the session: it is the host.
    const again = (await waiting.client.iqCaller.request(conferenceIq(room, machine, sessionId))).getChild('conference', NS_FOCUS)!;
    assert.equal(again.attrs.ready, 'true');
    assert.equal(again.attrs['session-id'], sessionId);
    assert.equal(again.attrs.identity, 'alice@meet.jitsi');
    await waiting.client.send(xml('presence', { to: `${room}/host` }, xml('x', { xmlns: NS_MUC })));
    const hostItem = await ownItem(waiting.inbox, room, 'host', (item) => item.attrs.affiliation === 'owner');
    assert.equal(hostItem.attrs.role, 'moderator');

    // The same id from another browser, or an id the focus never gave, is worth nothing.
    const other = await guest();
    await assert.rejects(other.client.iqCaller.request(conferenceIq(room, 'another-browser', sessionId)), (err: IqFailure) =>
      err.condition === 'not-acceptable' && err.text === 'machine UID mismatch or empty');
    await assert.rejects(other.client.iqCaller.request(conferenceIq(room, machine, 'a0b1c2d3-0000-4000-8000-000000000000')), (err: IqFailure) =>
      err.condition === 'not-acceptable' && err.element?.getChild('session-invalid', NS_FOCUS) !== undefined);
    // A plain guest joins the running room and stays a participant.
    const plain = (await other.client.iqCaller.request(conferenceIq(room, 'another-browser'))).getChild('conference', NS_FOCUS)!;
    assert.equal(plain.attrs['session-id'], undefined, 'a guest gets no session');
    await other.client.send(xml('presence', { to: `${room}/visitor` }, xml('x', { xmlns: NS_MUC })));
    const seen = await ownItem(waiting.inbox, room, 'visitor');
    assert.equal(seen.attrs.role, 'participant');
    assert.equal(seen.attrs.affiliation, 'none');

    // Only a connection the session vouches for may log it out.
    const logout = (id: string): Element => xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('logout', { xmlns: NS_FOCUS, 'session-id': id }));
    await assert.rejects(other.client.iqCaller.request(logout(sessionId)), (err: IqFailure) => err.condition === 'forbidden');
    const done = await waiting.client.iqCaller.request(logout(sessionId));
    assert.equal(done.getChild('logout', NS_FOCUS)?.attrs.xmlns, NS_FOCUS);
    await assert.rejects(waiting.client.iqCaller.request(conferenceIq(room, machine, sessionId)), (err: IqFailure) =>
      err.element?.getChild('session-invalid', NS_FOCUS) !== undefined);
  });

  it('lets no new guest into a conference whose agents all left (it ends five minutes later: test/unit/focus/conference.test.ts)', async () => {
    const room = 'board@muc.meet.jitsi';
    /** A new guest's conference request: its `ready`, or the condition it was refused with. */
    const newGuestAsks = async (): Promise<string> => {
      const asking = await connectClient({ service: server.wsUrl, domain: 'guest.meet.jitsi' });
      clients.push(asking.client);
      try {
        const result = await asking.client.iqCaller.request(conferenceIq(room, 'm'));
        return `ready=${String(result.getChild('conference', NS_FOCUS)?.attrs.ready)}`;
      } catch (err) {
        return `refused: ${String((err as IqFailure).condition)}`;
      }
    };
    const alice = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi', username: 'alice', password: 'alice password 123' });
    await alice.client.iqCaller.request(conferenceIq(room, 'a'));
    await alice.client.send(xml('presence', { to: `${room}/alice` }, xml('x', { xmlns: NS_MUC })));
    await ownItem(alice.inbox, room, 'alice');
    assert.equal(await newGuestAsks(), 'ready=true', 'with the agent in the room');
    // A guest who stays keeps the conference going once the agent leaves.
    const staying = await connectClient({ service: server.wsUrl, domain: 'guest.meet.jitsi' });
    clients.push(staying.client);
    await staying.client.iqCaller.request(conferenceIq(room, 's'));
    await staying.client.send(xml('presence', { to: `${room}/guest1` }, xml('x', { xmlns: NS_MUC })));
    await ownItem(staying.inbox, room, 'guest1');
    await stopClient(alice.client);
    await waitForStanza(staying.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/alice` && s.attrs.type === 'unavailable', 5000, 'alice gone');
    assert.ok(server.salon.focus.conferences.has(room), 'the conference goes on with its guest, for the grace');
    assert.equal(await newGuestAsks(), 'refused: not-authorized', 'a new guest waits for the host');
  });
});

describe('first agent only: SALON_MODERATORS=first-agent', function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: XmppClient[] = [];

  before(async () => {
    server = await startTestServer({ ENABLE_AUTH: 'true', SALON_MODERATORS: 'first-agent' });
    await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
    await server.salon.xmpp.accounts.setPassword('bob@meet.jitsi', 'bob password 456');
  });
  after(async () => {
    await Promise.all(clients.map(stopClient));
    await server.close();
  });

  it('makes only the first agent moderator, and the next agent when it leaves, never a guest', async () => {
    const room = 'council@muc.meet.jitsi';
    const alice = await joinConference(server, room, 'alice', { login: { domain: 'meet.jitsi', username: 'alice', password: 'alice password 123' } });
    clients.push(alice.client);
    await ownItem(alice.inbox, room, 'alice', (item) => item.attrs.affiliation === 'owner');
    const guest = await joinConference(server, room, 'guest', { login: { domain: 'guest.meet.jitsi' } });
    clients.push(guest.client);
    const bob = await joinConference(server, room, 'bob', { login: { domain: 'meet.jitsi', username: 'bob', password: 'bob password 456' } });
    clients.push(bob.client);
    const bobSeen = await ownItem(alice.inbox, room, 'bob');
    assert.equal(bobSeen.attrs.role, 'participant');
    // The focus handles Bob's join as it is routed (in process), so a grant would be queued at the
    // room before Alice's next request: once that is answered, Bob's owner presence would be in.
    await alice.client.iqCaller.request(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const owners = alice.inbox
      .filter((s) => s.name === 'presence' && (s.attrs.from === `${room}/bob` || s.attrs.from === `${room}/guest`))
      .filter((s) => s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation === 'owner');
    assert.deepEqual(owners, [], 'neither the second agent nor the guest was made owner');

    await stopClient(alice.client);
    const bobNow = await ownItem(bob.inbox, room, 'bob', (item) => item.attrs.affiliation === 'owner');
    assert.equal(bobNow.attrs.role, 'moderator');
    const guestItems = guest.inbox
      .filter((s) => s.name === 'presence' && s.attrs.from === `${room}/guest`)
      .map((s) => s.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation);
    assert.ok(guestItems.length > 0 && guestItems.every((a) => a !== 'owner'), 'the guest was never made owner');
  });
});
