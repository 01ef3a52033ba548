/**
 * Jitsi's lobby over real sockets, driven as lib-jitsi-meet drives it (modules/xmpp/Lobby.js,
 * ChatRoom.setMembersOnly): a moderator switches it with the muc#owner form, a guest's join is
 * refused with registration-required naming the lobby room, the guest waits there, the moderator
 * sees it and lets it in with a mediated invitation or turns it away with a kick; nobody but a
 * moderator can do either. With ENABLE_LOBBY every new room starts with its lobby on.
 */
import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';

const NS_FOCUS = 'http://jitsi.org/protocol/focus';
const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_JITMEET = 'http://jitsi.org/jitmeet';
const NS_NICK = 'http://jabber.org/protocol/nick';

interface IqFailure { condition?: string; type?: string }
interface Person { client: XmppClient; jid: string; inbox: Element[] }

const statuses = (s: Element): string[] => s.getChild('x', NS_MUC_USER)?.getChildren('status').map((c) => String(c.attrs.code)) ?? [];
const itemOf = (s: Element): Element | undefined => s.getChild('x', NS_MUC_USER)?.getChild('item');
const errorCondition = (s: Element): string | undefined =>
  s.getChild('error')?.getChildElements().find((c) => c.attrs.xmlns === NS_STANZAS && c.name !== 'text')?.name;

/** The `lobby-notify` JSON messages a room broadcast, parsed. */
function lobbyNotices(inbox: Element[], room: string): Array<Record<string, unknown>> {
  return inbox
    .filter((s) => s.name === 'message' && String(s.attrs.from).startsWith(`${room}/`))
    .map((s) => s.getChild('json-message', NS_JITMEET)?.getText())
    .filter((t): t is string => t !== undefined)
    .map((t) => JSON.parse(t) as Record<string, unknown>)
    .filter((j) => j.type === 'lobby-notify');
}

describe('lobby: knocking, letting in and turning away (mod_muc_lobby_rooms)', function () {
  this.timeout(30_000);
  let server: TestServer;
  const clients: XmppClient[] = [];

  async function connect(login: 'guest' | { username: string; password: string }): Promise<Person> {
    const person = await connectClient(login === 'guest'
      ? { service: server.wsUrl, domain: 'guest.meet.jitsi' }
      : { service: server.wsUrl, domain: 'meet.jitsi', ...login });
    clients.push(person.client);
    return person;
  }

  /** The conference IQ (rejects with the focus's refusal), as every Jitsi client sends before joining. */
  function askFocus(p: Person, room: string): Promise<Element> {
    return p.client.iqCaller.request(xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('conference', { xmlns: NS_FOCUS, room, 'machine-uid': `m-${p.jid}` })));
  }

  /** Sends a join presence and returns the room's first answer from that occupant JID (self presence or error). */
  async function join(p: Person, occupantJid: string, options: { name?: string; password?: string } = {}): Promise<Element> {
    const seen = p.inbox.length;
    const x = xml('x', { xmlns: NS_MUC }, ...(options.password ? [xml('password', {}, options.password)] : []));
    await p.client.send(xml('presence', { to: occupantJid }, x, ...(options.name ? [xml('nick', { xmlns: NS_NICK }, options.name)] : [])));
    return waitForStanza(p.inbox, (s) => s.name === 'presence' && s.attrs.from === occupantJid && p.inbox.indexOf(s) >= seen, 5000, `answer from ${occupantJid}`);
  }

  /** LJM's ChatRoom.setMembersOnly: fetch the owner form, check the field, submit it. */
  async function setMembersOnly(p: Person, room: string, on: boolean): Promise<void> {
    const form = await p.client.iqCaller.request(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: NS_MUC_OWNER })));
    const fields = form.getChild('query', NS_MUC_OWNER)?.getChild('x', 'jabber:x:data')?.getChildren('field').map((f) => f.attrs.var);
    assert.ok(fields?.includes('muc#roomconfig_membersonly'), 'the owner form offers muc#roomconfig_membersonly');
    await p.client.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_OWNER },
      xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
        xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
        xml('field', { var: 'muc#roomconfig_membersonly' }, xml('value', {}, on ? 'true' : 'false'))))));
  }

  async function roomInfo(p: Person, room: string): Promise<{ features: string[]; lobbyRoom: string | undefined }> {
    const result = await p.client.iqCaller.request(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: NS_DISCO_INFO })));
    const query = result.getChild('query', NS_DISCO_INFO)!;
    const lobbyField = query.getChild('x', 'jabber:x:data')?.getChildren('field').find((f) => f.attrs.var === 'muc#roominfo_lobbyroom');
    return { features: query.getChildren('feature').map((f) => String(f.attrs.var)), lobbyRoom: lobbyField?.getChildText('value') ?? undefined };
  }

  /** A round trip on `p`'s own stream: whatever the server sent it before has arrived after this. */
  async function barrier(p: Person): Promise<void> {
    await p.client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  }

  describe('switched by a moderator', () => {
    const ROOM = 'boardroom@muc.meet.jitsi';
    const LOBBY = 'boardroom@lobby.meet.jitsi';
    let host: Person;

    before(async () => {
      server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true' });
      await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
      host = await connect({ username: 'alice', password: 'alice password 123' });
      await askFocus(host, ROOM);
      await join(host, `${ROOM}/alice`, { name: 'Alice' });
      await waitForStanza(host.inbox, (s) => s.attrs.from === `${ROOM}/alice` && itemOf(s)?.attrs.affiliation === 'owner', 5000, 'ownership');
    });
    after(async () => {
      await Promise.all(clients.splice(0).map(stopClient));
      await server.close();
    });

    it('announces the lobby component on the main domain', async () => {
      const info = await host.client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('query', { xmlns: NS_DISCO_INFO })));
      const identity = info.getChild('query', NS_DISCO_INFO)?.getChildren('identity').find((i) => i.attrs.type === 'lobbyrooms');
      assert.equal(identity?.attrs.category, 'component');
      assert.equal(identity?.attrs.name, 'lobby.meet.jitsi');
      // lib-jitsi-meet then asks the lobby for its `lobbyrooms` node (Caps.getFeaturesAndIdentities).
      const node = await host.client.iqCaller.request(xml('iq', { type: 'get', to: 'lobby.meet.jitsi' }, xml('query', { xmlns: NS_DISCO_INFO, node: 'lobbyrooms' })));
      assert.equal(node.getChild('query', NS_DISCO_INFO)?.attrs.node, 'lobbyrooms');
      assert.ok(node.getChild('query', NS_DISCO_INFO)?.getChildren('feature').some((f) => f.attrs.var === NS_MUC));
    });

    it('keeps a guest already in the room when the lobby goes on, and refuses a guest that is not a moderator the owner form', async () => {
      const early = await connect('guest');
      await askFocus(early, ROOM);
      const self = await join(early, `${ROOM}/early`, { name: 'Early' });
      assert.equal(self.attrs.type, undefined);
      await assert.rejects(setMembersOnly(early, ROOM, true), (err: IqFailure) => err.condition === 'forbidden');

      await setMembersOnly(host, ROOM, true);
      // Made a member, not removed with 322 (mod_muc_lobby_rooms handle_create_lobby).
      const update = await waitForStanza(early.inbox, (s) => s.attrs.from === `${ROOM}/early` && itemOf(s)?.attrs.affiliation === 'member', 5000, 'membership');
      assert.notEqual(update.attrs.type, 'unavailable');
      await waitForStanza(early.inbox, (s) => s.name === 'message' && s.attrs.from === ROOM && statuses(s).includes('104'), 5000, 'status 104');
      assert.equal(early.inbox.some((s) => statuses(s).includes('322')), false);

      const info = await roomInfo(early, ROOM);
      assert.ok(info.features.includes('muc_membersonly'));
      assert.equal(info.lobbyRoom, LOBBY);
      const notice = lobbyNotices(host.inbox, ROOM).find((n) => n.event === 'LOBBY-ENABLED');
      assert.deepEqual(notice, { event: 'LOBBY-ENABLED', value: true, type: 'lobby-notify' });
      await early.client.send(xml('presence', { to: `${ROOM}/early`, type: 'unavailable' }));
    });

    it('refuses a guest with registration-required naming the lobby room, and one without a display name with displayname-required', async () => {
      const guest = await connect('guest');
      await askFocus(guest, ROOM);
      const refusal = await join(guest, `${ROOM}/knocker`, { name: 'Knocker' });
      assert.equal(refusal.attrs.type, 'error');
      const error = refusal.getChild('error')!;
      assert.equal(error.attrs.type, 'auth');
      assert.equal(errorCondition(refusal), 'registration-required');
      assert.equal(error.getChildText('lobbyroom', NS_JITMEET), LOBBY);
      // lib-jitsi-meet's ChatRoom.onPresenceError reads `>lobbyroom`, a child of the presence.
      assert.equal(refusal.getChildElements().find((c) => c.name === 'lobbyroom')?.getText(), LOBBY);

      const nameless = await join(guest, `${ROOM}/nameless`);
      assert.equal(nameless.getChild('error')?.attrs.type, 'modify');
      assert.equal(errorCondition(nameless), 'not-acceptable');
      assert.ok(nameless.getChild('error')?.getChild('displayname-required', NS_JITMEET));
    });

    it('shows knockers to the moderator in the lobby and to nobody else, lets one in on a moderator invitation and turns one away on a kick', async () => {
      const lobbySelf = await join(host, `${LOBBY}/alice`, { name: 'Alice' });
      assert.equal(itemOf(lobbySelf)?.attrs.role, 'moderator');

      const first = await connect('guest');
      const second = await connect('guest');
      await askFocus(first, ROOM);
      await askFocus(second, ROOM);
      assert.equal((await join(first, `${ROOM}/first`, { name: 'First' })).attrs.type, 'error');
      const firstSelf = await join(first, `${LOBBY}/first`, { name: 'First' });
      assert.equal(itemOf(firstSelf)?.attrs.role, 'participant');
      const secondSelf = await join(second, `${LOBBY}/second`, { name: 'Second' });
      assert.equal(secondSelf.attrs.type, undefined);

      // The moderator sees both, with real JID and display name.
      const seen = await waitForStanza(host.inbox, (s) => s.attrs.from === `${LOBBY}/second` && s.attrs.type === undefined, 5000, 'second knocker');
      assert.equal(itemOf(seen)?.attrs.jid, second.jid);
      assert.equal(seen.getChildText('nick', NS_NICK), 'Second');
      await waitForStanza(host.inbox, (s) => s.attrs.from === `${LOBBY}/first`, 5000, 'first knocker');
      // Knockers see neither each other nor the moderator.
      await barrier(first);
      await barrier(second);
      assert.equal(first.inbox.some((s) => s.name === 'presence' && (s.attrs.from === `${LOBBY}/second` || s.attrs.from === `${LOBBY}/alice`)), false);
      assert.equal(second.inbox.some((s) => s.name === 'presence' && s.attrs.from === `${LOBBY}/first`), false);
      // … nor reach each other.
      await assert.rejects(first.client.iqCaller.request(xml('iq', { type: 'get', to: `${LOBBY}/second` }, xml('query', { xmlns: NS_DISCO_INFO }))),
        (err: IqFailure) => err.condition === 'item-not-found');

      // A knocker cannot let itself (or anyone) in, nor turn anyone away.
      const forged = xml('message', { to: ROOM, id: 'self-invite' }, xml('x', { xmlns: NS_MUC_USER }, xml('invite', { to: first.jid })));
      await first.client.send(forged);
      const inviteError = await waitForStanza(first.inbox, (s) => s.name === 'message' && s.attrs.id === 'self-invite' && s.attrs.type === 'error', 5000, 'invite refusal');
      assert.equal(errorCondition(inviteError), 'not-acceptable');
      await assert.rejects(first.client.iqCaller.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation: 'member', jid: first.jid.split('/')[0] })))),
        (err: IqFailure) => err.condition === 'forbidden');
      await assert.rejects(first.client.iqCaller.request(xml('iq', { type: 'set', to: LOBBY }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { nick: 'second', role: 'none' })))),
        (err: IqFailure) => err.condition === 'forbidden');
      assert.equal(errorCondition(await join(first, `${ROOM}/first`, { name: 'First' })), 'registration-required', 'still not a member');

      // Let in: the moderator's mediated invitation (Lobby.approveAccess) reaches the knocker from the main room.
      await host.client.send(xml('message', { to: ROOM }, xml('x', { xmlns: NS_MUC_USER }, xml('invite', { to: first.jid }))));
      const invitation = await waitForStanza(first.inbox, (s) => s.name === 'message' && s.attrs.from === ROOM && s.getChild('x', NS_MUC_USER)?.getChild('invite') !== undefined, 5000, 'invitation');
      assert.equal(invitation.getChild('x', NS_MUC_USER)?.getChild('invite')?.attrs.from, host.jid);
      const admitted = await join(first, `${ROOM}/first`, { name: 'First' });
      assert.equal(admitted.attrs.type, undefined);
      assert.equal(itemOf(admitted)?.attrs.affiliation, 'member');
      assert.equal(itemOf(admitted)?.attrs.role, 'participant');
      await waitForStanza(host.inbox, () => lobbyNotices(host.inbox, ROOM).some((n) => n.event === 'LOBBY-ACCESS-GRANTED' && n.value === `${LOBBY}/first` && n.name === 'First'), 5000, 'access granted notice');

      // An admitted participant (not a moderator) cannot invite others in.
      await first.client.send(xml('message', { to: ROOM, id: 'member-invite' }, xml('x', { xmlns: NS_MUC_USER }, xml('invite', { to: second.jid }))));
      const memberInviteError = await waitForStanza(first.inbox, (s) => s.attrs.id === 'member-invite' && s.attrs.type === 'error', 5000, 'member invite refusal');
      assert.equal(errorCondition(memberInviteError), 'forbidden');

      // Turned away: a kick in the lobby room (Lobby.denyAccess); the knocker gets 307 with 110.
      await host.client.iqCaller.request(xml('iq', { type: 'set', to: LOBBY }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { nick: 'second', role: 'none' }))));
      const kicked = await waitForStanza(second.inbox, (s) => s.attrs.from === `${LOBBY}/second` && s.attrs.type === 'unavailable', 5000, 'kick');
      assert.deepEqual(statuses(kicked).sort(), ['110', '307']);
      await waitForStanza(host.inbox, () => lobbyNotices(host.inbox, ROOM).some((n) => n.event === 'LOBBY-ACCESS-DENIED' && n.value === `${LOBBY}/second`), 5000, 'access denied notice');
      assert.equal(errorCondition(await join(second, `${ROOM}/second`, { name: 'Second' })), 'registration-required');
    });

    it('takes moderation of the lobby away from a moderator whose ownership is revoked: it leaves the lobby room and may no longer turn anyone away', async () => {
      // bob, a guest let in and made owner by alice, moderates the lobby beside her (the focus only re-grants agents).
      const bob = await connect('guest');
      await askFocus(bob, ROOM);
      await host.client.send(xml('message', { to: ROOM }, xml('x', { xmlns: NS_MUC_USER }, xml('invite', { to: bob.jid }))));
      await waitForStanza(bob.inbox, (s) => s.name === 'message' && s.attrs.from === ROOM, 5000, 'invitation');
      assert.equal((await join(bob, `${ROOM}/bob`, { name: 'Bob' })).attrs.type, undefined);
      const bare = bob.jid.split('/')[0];
      await host.client.iqCaller.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation: 'owner', jid: bare }))));
      await waitForStanza(bob.inbox, (s) => s.attrs.from === `${ROOM}/bob` && itemOf(s)?.attrs.affiliation === 'owner', 5000, 'ownership');
      const lobbySelf = await join(bob, `${LOBBY}/bob`, { name: 'Bob' });
      assert.equal(itemOf(lobbySelf)?.attrs.role, 'moderator');

      const knocker = await connect('guest');
      await askFocus(knocker, ROOM);
      assert.equal((await join(knocker, `${LOBBY}/knocker`, { name: 'Knocker' })).attrs.type, undefined);
      const seen = await waitForStanza(bob.inbox, (s) => s.attrs.from === `${LOBBY}/knocker` && s.attrs.type === undefined, 5000, 'knocker seen by bob');
      assert.equal(itemOf(seen)?.attrs.jid, knocker.jid);

      // alice revokes it (lib-jitsi-meet's JitsiConference.revokeOwner: affiliation member in a members-only room).
      await host.client.iqCaller.request(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation: 'member', jid: bare }))));
      const demoted = await waitForStanza(bob.inbox, (s) => s.attrs.from === `${ROOM}/bob` && itemOf(s)?.attrs.affiliation === 'member', 5000, 'demotion');
      assert.equal(itemOf(demoted)?.attrs.role, 'participant');
      assert.notEqual(demoted.attrs.type, 'unavailable', 'still in the conference');
      const removed = await waitForStanza(bob.inbox, (s) => s.attrs.from === `${LOBBY}/bob` && s.attrs.type === 'unavailable', 5000, 'removal from the lobby room');
      assert.deepEqual(statuses(removed).sort(), ['110', '321']);

      // It no longer hears of knockers, and its kick is refused; the knocker still waits.
      const mark = bob.inbox.length;
      await knocker.client.send(xml('presence', { to: `${LOBBY}/knocker` }, xml('nick', { xmlns: NS_NICK }, 'Knocker again')));
      await assert.rejects(bob.client.iqCaller.request(xml('iq', { type: 'set', to: LOBBY }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { nick: 'knocker', role: 'none' })))),
        (err: IqFailure) => err.condition === 'forbidden');
      await waitForStanza(host.inbox, (s) => s.attrs.from === `${LOBBY}/knocker` && s.getChildText('nick', NS_NICK) === 'Knocker again', 5000, 'update seen by alice');
      await barrier(bob);
      assert.equal(bob.inbox.slice(mark).some((s) => String(s.attrs.from).startsWith(`${LOBBY}/`)), false);
      assert.ok(server.salon.xmpp.lobby?.service.room(LOBBY)?.occupants.has('knocker'));
      await knocker.client.send(xml('presence', { to: `${LOBBY}/knocker`, type: 'unavailable' }));
      await bob.client.send(xml('presence', { to: `${ROOM}/bob`, type: 'unavailable' }));
    });

    it('lists in the lobby room\'s disco#items only what the requester sees: a knocker finds no other knocker', async () => {
      const one = await connect('guest');
      const two = await connect('guest');
      for (const [p, nick] of [[one, 'one'], [two, 'two']] as const) {
        await askFocus(p, ROOM);
        assert.equal((await join(p, `${LOBBY}/${nick}`, { name: nick })).attrs.type, undefined);
      }
      const items = async (p: Person): Promise<string[]> => {
        const result = await p.client.iqCaller.request(xml('iq', { type: 'get', to: LOBBY }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
        return result.getChild('query')!.getChildren('item').map((i) => String(i.attrs.jid)).sort();
      };
      assert.deepEqual(await items(one), [`${LOBBY}/one`]);
      assert.deepEqual(await items(two), [`${LOBBY}/two`]);
      const seenByHost = await items(host);
      assert.ok(seenByHost.includes(`${LOBBY}/one`) && seenByHost.includes(`${LOBBY}/two`) && seenByHost.includes(`${LOBBY}/alice`));
      for (const [p, nick] of [[one, 'one'], [two, 'two']] as const) await p.client.send(xml('presence', { to: `${LOBBY}/${nick}`, type: 'unavailable' }));
    });

    it('destroys the lobby room when the lobby goes off, sending those waiting to the main room', async () => {
      const waiting = await connect('guest');
      await askFocus(waiting, ROOM);
      assert.equal((await join(waiting, `${LOBBY}/waiting`, { name: 'Waiting' })).attrs.type, undefined);
      await setMembersOnly(host, ROOM, false);
      const destroyed = await waitForStanza(waiting.inbox, (s) => s.attrs.from === `${LOBBY}/waiting` && s.attrs.type === 'unavailable', 5000, 'lobby destroyed');
      const destroy = destroyed.getChild('x', NS_MUC_USER)?.getChild('destroy');
      assert.equal(destroy?.attrs.jid, ROOM);
      const info = await roomInfo(host, ROOM);
      assert.ok(info.features.includes('muc_open'));
      assert.equal(info.lobbyRoom, undefined);
      assert.equal((await join(waiting, `${ROOM}/waiting`, { name: 'Waiting' })).attrs.type, undefined);
      assert.equal(server.salon.xmpp.lobby?.service.roomCount, 0);
    });
  });

  describe('on in every new room (ENABLE_LOBBY)', () => {
    const ROOM = 'standup@muc.meet.jitsi';
    const LOBBY = 'standup@lobby.meet.jitsi';

    before(async () => {
      server = await startTestServer({ ENABLE_AUTH: 'true', ENABLE_GUESTS: 'true', ENABLE_LOBBY: 'true' });
      await server.salon.xmpp.accounts.setPassword('bob@meet.jitsi', 'bob password 456');
    });
    after(async () => {
      await Promise.all(clients.splice(0).map(stopClient));
      await server.close();
    });

    it('sends a guest that waited for the host to the lobby once the host started the room, lets the host in, and closes the lobby with the conference', async () => {
      const guest = await connect('guest');
      await assert.rejects(askFocus(guest, ROOM), (err: IqFailure) => err.condition === 'not-authorized');

      const host = await connect({ username: 'bob', password: 'bob password 456' });
      await askFocus(host, ROOM);
      const hostSelf = await join(host, `${ROOM}/bob`, { name: 'Bob' });
      assert.equal(hostSelf.attrs.type, undefined, 'an agent enters without knocking');
      const info = await roomInfo(host, ROOM);
      assert.ok(info.features.includes('muc_membersonly'));
      assert.equal(info.lobbyRoom, LOBBY);

      await askFocus(guest, ROOM);
      const refusal = await join(guest, `${ROOM}/guest`, { name: 'Guest' });
      assert.equal(errorCondition(refusal), 'registration-required');
      assert.equal(refusal.getChild('error')?.getChildText('lobbyroom', NS_JITMEET), LOBBY);
      assert.equal((await join(guest, `${LOBBY}/guest`, { name: 'Guest' })).attrs.type, undefined);

      // The conference ends: the lobby room goes with it, without an alternate venue.
      await host.client.send(xml('presence', { to: `${ROOM}/bob`, type: 'unavailable' }));
      const destroyed = await waitForStanza(guest.inbox, (s) => s.attrs.from === `${LOBBY}/guest` && s.attrs.type === 'unavailable', 10_000, 'lobby destroyed');
      const destroy = destroyed.getChild('x', NS_MUC_USER)?.getChild('destroy');
      assert.ok(destroy);
      assert.equal(destroy.attrs.jid, undefined);
    });
  });

  describe('on in every new room, without authentication', () => {
    const ROOM = 'openhouse@muc.meet.jitsi';

    before(async () => {
      server = await startTestServer({ ENABLE_LOBBY: 'true' });
    });
    after(async () => {
      await Promise.all(clients.splice(0).map(stopClient));
      await server.close();
    });

    it('lets the first comer in (it becomes the moderator) and sends the next one to the lobby', async () => {
      const first = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
      const second = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
      clients.push(first.client, second.client);
      await askFocus(first, ROOM);
      assert.equal((await join(first, `${ROOM}/first`, { name: 'First' })).attrs.type, undefined);
      await waitForStanza(first.inbox, (s) => s.attrs.from === `${ROOM}/first` && itemOf(s)?.attrs.role === 'moderator', 5000, 'moderation');
      await askFocus(second, ROOM);
      assert.equal(errorCondition(await join(second, `${ROOM}/second`, { name: 'Second' })), 'registration-required');
    });
  });
});
