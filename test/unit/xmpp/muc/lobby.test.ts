import assert from 'node:assert/strict';
import { Element, parse } from 'ltx';
import { pino } from 'pino';
import { StanzaError } from '../../../../xmpp/errors.ts';
import { Lobby } from '../../../../xmpp/muc/lobby.ts';
import {
  buildLobbyNotify, buildLobbyRoom, NS_JITMEET, parseLobbyNotify, parseLobbyRoom, type LobbyNotify,
} from '../../../../xmpp/muc/lobby-protocol.ts';
import { parseDiscoInfo } from '../../../../xmpp/protocol/disco.ts';
import { fieldValue } from '../../../../xmpp/protocol/dataform.ts';
import { FOCUS, MUC, NS_MUC, NS_MUC_USER, World, errorCondition, statusCodes, type FakeClient } from './helpers.ts';

const ROOM = `room1@${MUC}`;
const LOBBY_DOMAIN = 'lobby.example';
const LOBBY = `room1@${LOBBY_DOMAIN}`;
const OWNER = 'http://jabber.org/protocol/muc#owner';
const ADMIN = 'http://jabber.org/protocol/muc#admin';
const NICK = (name: string) => `<nick xmlns="http://jabber.org/protocol/nick">${name}</nick>`;

function membersOnly(on: boolean): string {
  return `<query xmlns="${OWNER}"><x xmlns="jabber:x:data" type="submit">
    <field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field>
    <field var="muc#roomconfig_membersonly"><value>${on}</value></field></x></query>`;
}

/** focus and alice (made owner) in room1, bob a plain participant; the lobby service beside. */
function conference(knockAttempts?: ConstructorParameters<typeof Lobby>[3]['knockAttempts']) {
  const world = new World({ restrictRoomCreation: true });
  const lobby = new Lobby(world.router, pino({ level: 'silent' }), world.muc, {
    domain: LOBBY_DOMAIN, admins: new Set(['focus@auth.example']), displayNameRequired: true, ...(knockAttempts ? { knockAttempts } : {}),
  });
  world.router.addService(lobby.service);
  const focus = world.client(FOCUS);
  const alice = world.client('alice@example/web');
  const bob = world.client('bob@example/web');
  focus.join('room1', 'focus');
  alice.join('room1', 'alice', NICK('Alice'));
  bob.join('room1', 'bob', NICK('Bob'));
  focus.send(`<iq type="set" id="own" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="owner" jid="alice@example"/></query></iq>`);
  for (const c of [focus, alice, bob]) c.clear();
  return { world, lobby, focus, alice, bob };
}

function switchOn(alice: FakeClient, on = true): void {
  alice.send(`<iq type="set" id="lobby-${on}" to="${ROOM}">${membersOnly(on)}</iq>`);
}

function notices(client: FakeClient): LobbyNotify[] {
  return client.received
    .map((s) => s.getChild('json-message', NS_JITMEET))
    .filter((j): j is Element => j !== undefined)
    .map(parseLobbyNotify);
}

function presencesFrom(client: FakeClient, from: string): Element[] {
  return client.received.filter((s) => s.name === 'presence' && s.attrs.from === from);
}

describe('Jitsi lobby protocol elements', () => {
  it('round-trips every lobby-notify event', () => {
    const cases: LobbyNotify[] = [
      { event: 'LOBBY-ENABLED', value: true },
      { event: 'LOBBY-ENABLED', value: false },
      { event: 'LOBBY-ACCESS-GRANTED', value: `${LOBBY}/abcd`, name: 'Knocker' },
      { event: 'LOBBY-ACCESS-DENIED', value: `${LOBBY}/abcd` },
    ];
    for (const notify of cases) {
      const el = buildLobbyNotify(notify);
      assert.equal(JSON.parse(el.getText()).type, 'lobby-notify');
      assert.deepEqual(parseLobbyNotify(parse(el.toString())), notify);
    }
  });

  it('refuses json-messages that are not lobby notices', () => {
    for (const text of ['{"type":"polls"}', 'not json', '{"type":"lobby-notify","event":"LOBBY-ENABLED","value":"yes"}']) {
      assert.throws(() => parseLobbyNotify(new Element('json-message', { xmlns: NS_JITMEET }).t(text)), StanzaError);
    }
  });

  it('finds the lobby room inside the error or beside it', () => {
    const inside = new Element('presence', { type: 'error' });
    inside.c('error', { type: 'auth' }).cnode(buildLobbyRoom(LOBBY, true));
    assert.equal(parseLobbyRoom(inside), LOBBY);
    const beside = new Element('presence', { type: 'error' });
    beside.c('error', { type: 'auth' });
    beside.cnode(buildLobbyRoom(LOBBY, false));
    assert.equal(parseLobbyRoom(beside), LOBBY);
    assert.equal(parseLobbyRoom(new Element('presence')), undefined);
  });
});

describe('Jitsi lobby (mod_muc_lobby_rooms)', () => {
  it('switching on keeps everyone present as a member, opens the lobby room and names it in the room info', () => {
    const { world, lobby, alice, bob } = conference();
    switchOn(alice);
    assert.equal(alice.received.find((s) => s.name === 'iq')?.attrs.type, 'result');
    assert.ok(presencesFrom(bob, `${ROOM}/bob`).some((p) => p.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation === 'member'));
    assert.equal(bob.received.some((s) => statusCodes(s).includes(322)), false, 'nobody removed');
    assert.equal(world.muc.room(ROOM)?.occupants.size, 3);
    assert.equal(lobby.lobbyRoomOf(ROOM), LOBBY);
    assert.ok(lobby.service.room(LOBBY));
    assert.deepEqual(notices(bob), [{ event: 'LOBBY-ENABLED', value: true }]);
    bob.clear();
    bob.send(`<iq type="get" id="d" to="${ROOM}"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`);
    const info = parseDiscoInfo(bob.next().getChild('query')!);
    assert.ok(info.features.includes('muc_membersonly'));
    const roomInfo = info.forms?.[0];
    assert.ok(roomInfo);
    assert.equal(fieldValue(roomInfo, 'muc#roominfo_lobbyroom'), LOBBY);
  });

  it('refuses a non-member with registration-required naming the lobby, and a nameless one with displayname-required', () => {
    const { world, alice } = conference();
    switchOn(alice);
    const carol = world.client('carol@guest.example/web');
    carol.send(`<presence to="${ROOM}/carol"><x xmlns="${NS_MUC}"/>${NICK('Carol')}</presence>`);
    const refusal = carol.next();
    assert.deepEqual(errorCondition(refusal), { type: 'auth', condition: 'registration-required' });
    assert.equal(refusal.getChild('error')?.attrs.code, '407');
    assert.equal(refusal.getChild('error')?.getChildText('lobbyroom', NS_JITMEET), LOBBY);
    assert.equal(refusal.getChildElements().find((c) => c.name === 'lobbyroom' && c.attrs.xmlns === undefined)?.getText(), LOBBY);
    assert.ok(refusal.getChild('x', NS_MUC));
    carol.send(`<presence to="${ROOM}/carol"><x xmlns="${NS_MUC}"/></presence>`);
    const nameless = carol.next();
    assert.deepEqual(errorCondition(nameless), { type: 'modify', condition: 'not-acceptable' });
    assert.equal(nameless.getChild('error')?.getChild('displayname-required', NS_JITMEET)?.attrs.lobby, 'true');
  });

  it('lets in, as members, those the bypass rule admits and those giving the room password', () => {
    const { world, lobby, alice } = conference();
    switchOn(alice);
    lobby.setBypass(({ realJid }) => realJid.bare === 'agent@example');
    const agent = world.client('agent@example/web');
    agent.send(`<presence to="${ROOM}/agent"><x xmlns="${NS_MUC}"/></presence>`);
    assert.equal(presencesFrom(agent, `${ROOM}/agent`)[0]?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.affiliation, 'member');
    assert.equal(world.muc.room(ROOM)?.affiliationOf('agent@example'), 'member');

    alice.send(`<iq type="set" id="pw" to="${ROOM}"><query xmlns="${OWNER}"><x xmlns="jabber:x:data" type="submit">
      <field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field>
      <field var="muc#roomconfig_roomsecret"><value>s3cret</value></field></x></query></iq>`);
    const dave = world.client('dave@guest.example/web');
    dave.send(`<presence to="${ROOM}/dave"><x xmlns="${NS_MUC}"><password>wrong</password></x>${NICK('Dave')}</presence>`);
    assert.equal(errorCondition(dave.next()).condition, 'registration-required');
    dave.send(`<presence to="${ROOM}/dave"><x xmlns="${NS_MUC}"><password>s3cret</password></x>${NICK('Dave')}</presence>`);
    assert.equal(world.muc.room(ROOM)?.occupants.get('dave')?.affiliation, 'member');
  });

  it('shows knockers to moderators only, hides moderators and other knockers from them, and lets knockers talk to moderators only', () => {
    const { world, alice, bob } = conference();
    switchOn(alice);
    alice.send(`<presence to="${LOBBY}/alice"><x xmlns="${NS_MUC}"/></presence>`);
    assert.equal(presencesFrom(alice, `${LOBBY}/alice`)[0]?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role, 'moderator');
    const k1 = world.client('k1@guest.example/web');
    const k2 = world.client('k2@guest.example/web');
    k1.send(`<presence to="${LOBBY}/k1"><x xmlns="${NS_MUC}"/>${NICK('K one')}</presence>`);
    k2.send(`<presence to="${LOBBY}/k2"><x xmlns="${NS_MUC}"/>${NICK('K two')}</presence>`);
    assert.deepEqual(k1.received.filter((s) => s.name === 'presence').map((s) => s.attrs.from), [`${LOBBY}/k1`]);
    assert.deepEqual(k2.received.filter((s) => s.name === 'presence').map((s) => s.attrs.from), [`${LOBBY}/k2`]);
    assert.equal(presencesFrom(k1, `${LOBBY}/k1`)[0]?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role, 'participant');
    const seen = presencesFrom(alice, `${LOBBY}/k2`)[0];
    assert.equal(seen?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid, 'k2@guest.example/web');
    assert.equal(seen?.getChildText('nick', 'http://jabber.org/protocol/nick'), 'K two');

    // bob (a member of the main room, not a moderator) is a plain participant of the lobby.
    bob.send(`<presence to="${LOBBY}/bob"><x xmlns="${NS_MUC}"/></presence>`);
    assert.equal(presencesFrom(bob, `${LOBBY}/bob`)[0]?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role, 'participant');
    assert.equal(presencesFrom(bob, `${LOBBY}/k1`).length, 0);

    for (const c of [alice, k1, k2]) c.clear();
    k1.send(`<message type="groupchat" to="${LOBBY}"><body>let me in</body></message>`);
    assert.equal(alice.received.filter((s) => s.name === 'message').length, 1);
    assert.equal(k2.received.length, 0);
    k1.send(`<message type="chat" id="p" to="${LOBBY}/k2"><body>psst</body></message>`);
    assert.equal(errorCondition(k1.received.at(-1)!).condition, 'item-not-found');
    assert.equal(k2.received.length, 0);
    k1.send(`<message type="chat" to="${LOBBY}/alice"><body>hello</body></message>`);
    assert.equal(alice.received.at(-1)?.getChildText('body'), 'hello');
    // Nor can a knocker send invitations from the lobby room, nor let itself into the conference.
    const victim = world.client('victim@example/v');
    k1.send(`<message to="${LOBBY}"><x xmlns="${NS_MUC_USER}"><invite to="victim@example/v"/></x></message>`);
    assert.deepEqual(errorCondition(k1.received.at(-1)!), { type: 'auth', condition: 'forbidden' });
    k1.send(`<message to="${ROOM}"><x xmlns="${NS_MUC_USER}"><invite to="k1@guest.example/web"/></x></message>`);
    assert.deepEqual(errorCondition(k1.received.at(-1)!), { type: 'cancel', condition: 'not-acceptable' });
    assert.equal(victim.received.length, 0);
    assert.equal(world.muc.room(ROOM)?.affiliationOf('k1@guest.example'), 'none');
  });

  it('gives the main room\'s moderators by role (no affiliation) moderation of the lobby', () => {
    const { world, lobby, alice } = conference();
    switchOn(alice);
    const mod = world.client('mod@example/web');
    lobby.setBypass(({ realJid }) => realJid.bare === 'mod@example');
    mod.join('room1', 'mod');
    alice.send(`<iq type="set" id="m" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="mod" role="moderator"/></query></iq>`);
    assert.equal(world.muc.room(ROOM)?.occupants.get('mod')?.role, 'moderator');
    mod.clear();
    mod.send(`<presence to="${LOBBY}/mod"><x xmlns="${NS_MUC}"/></presence>`);
    assert.equal(presencesFrom(mod, `${LOBBY}/mod`)[0]?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role, 'moderator');
  });

  it('removes a moderator by role from the lobby room once demoted in the conference, and refuses what it then sends there', () => {
    const { world, lobby, alice } = conference();
    switchOn(alice);
    lobby.setBypass(({ realJid }) => realJid.bare === 'mod@example');
    const mod = world.client('mod@example/web');
    mod.join('room1', 'mod');
    alice.send(`<iq type="set" id="m" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="mod" role="moderator"/></query></iq>`);
    alice.send(`<presence to="${LOBBY}/alice"><x xmlns="${NS_MUC}"/></presence>`);
    mod.send(`<presence to="${LOBBY}/mod"><x xmlns="${NS_MUC}"/></presence>`);
    const k = world.client('k@guest.example/web');
    k.send(`<presence to="${LOBBY}/k"><x xmlns="${NS_MUC}"/>${NICK('K')}</presence>`);
    assert.equal(presencesFrom(mod, `${LOBBY}/k`).length, 1, 'the moderator sees the knocker');
    for (const c of [alice, mod, k]) c.clear();

    alice.send(`<iq type="set" id="demote" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="mod" role="participant"/></query></iq>`);
    assert.equal(world.muc.room(ROOM)?.occupants.get('mod')?.role, 'participant');
    const out = presencesFrom(mod, `${LOBBY}/mod`);
    assert.equal(out.length, 1);
    assert.equal(out[0]?.attrs.type, 'unavailable');
    assert.deepEqual(statusCodes(out[0]!).sort(), [110, 321]);
    assert.equal(lobby.service.room(LOBBY)?.occupants.has('mod'), false);
    assert.equal(lobby.service.room(LOBBY)?.affiliationOf('mod@example'), 'member');
    // Nobody else heard of it: moderators of the lobby are invisible to its other occupants.
    assert.equal(k.received.length, 0);
    assert.equal(presencesFrom(alice, `${LOBBY}/mod`).length, 0);

    // What it sends the lobby room afterwards is refused, and knockers' presences no longer reach it.
    mod.clear();
    mod.send(`<iq type="set" id="kick" to="${LOBBY}"><query xmlns="${ADMIN}"><item nick="k" role="none"/></query></iq>`);
    assert.deepEqual(errorCondition(mod.next()), { type: 'auth', condition: 'forbidden' });
    mod.send(`<message to="${LOBBY}" id="inv"><x xmlns="${NS_MUC_USER}"><invite to="k@guest.example/web"/></x></message>`);
    assert.equal(errorCondition(mod.next()).condition, 'not-acceptable');
    assert.equal(lobby.service.room(LOBBY)?.occupants.has('k'), true);
    k.send(`<presence to="${LOBBY}/k"><x xmlns="${NS_MUC}"/>${NICK('K again')}</presence>`);
    assert.equal(mod.received.length, 0);
    // Coming back, it is one more participant: it sees no knocker and may not kick.
    mod.send(`<presence to="${LOBBY}/mod"><x xmlns="${NS_MUC}"/></presence>`);
    assert.equal(presencesFrom(mod, `${LOBBY}/mod`)[0]?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role, 'participant');
    assert.equal(presencesFrom(mod, `${LOBBY}/k`).length, 0);
    mod.clear();
    mod.send(`<iq type="set" id="kick2" to="${LOBBY}"><query xmlns="${ADMIN}"><item nick="k" role="none"/></query></iq>`);
    assert.deepEqual(errorCondition(mod.next()), { type: 'auth', condition: 'forbidden' });
  });

  it('removes an owner from the lobby room when its ownership is revoked or when it leaves the conference, not on a mere presence update', () => {
    const { world, lobby, alice, bob } = conference();
    switchOn(alice);
    alice.send(`<iq type="set" id="own-bob" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="owner" jid="bob@example"/></query></iq>`);
    for (const c of [alice, bob]) c.send(`<presence to="${LOBBY}/${c === alice ? 'alice' : 'bob'}"><x xmlns="${NS_MUC}"/></presence>`);
    assert.equal(presencesFrom(bob, `${LOBBY}/bob`)[0]?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role, 'moderator');
    const k = world.client('k@guest.example/web');
    k.send(`<presence to="${LOBBY}/k"><x xmlns="${NS_MUC}"/>${NICK('K')}</presence>`);
    assert.equal(presencesFrom(bob, `${LOBBY}/k`).length, 1);
    for (const c of [alice, bob]) c.clear();

    // A presence update in the conference changes nothing.
    alice.send(`<presence to="${ROOM}/alice"><status>busy</status></presence>`);
    assert.equal(lobby.service.room(LOBBY)?.occupants.get('alice')?.role, 'moderator');

    // Ownership revoked: in a members-only room that removes bob from the conference (321), and from the lobby.
    alice.send(`<iq type="set" id="revoke" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="none" jid="bob@example"/></query></iq>`);
    assert.deepEqual(statusCodes(presencesFrom(bob, `${ROOM}/bob`).at(-1)!).sort(), [110, 321]);
    const out = presencesFrom(bob, `${LOBBY}/bob`).at(-1)!;
    assert.equal(out.attrs.type, 'unavailable');
    assert.deepEqual(statusCodes(out).sort(), [110, 321]);
    assert.equal(lobby.service.room(LOBBY)?.occupants.has('bob'), false);
    assert.equal(lobby.service.room(LOBBY)?.occupants.get('alice')?.role, 'moderator');

    // An owner leaving the conference stops moderating its lobby, though it stays owner of the room.
    alice.clear();
    alice.send(`<presence to="${ROOM}/alice" type="unavailable"/>`);
    assert.equal(presencesFrom(alice, `${LOBBY}/alice`).at(-1)?.attrs.type, 'unavailable');
    assert.equal(lobby.service.room(LOBBY)?.occupants.has('alice'), false);
    assert.equal(world.muc.room(ROOM)?.affiliationOf('alice@example'), 'owner');
    assert.equal(lobby.service.room(LOBBY)?.affiliationOf('alice@example'), 'member');
    assert.equal(lobby.service.room(LOBBY)?.occupants.has('k'), true);
  });

  it('tells a moderator waiting in the lobby room that it is destroyed when the conference is ended for everyone', () => {
    const { world, lobby, alice } = conference();
    switchOn(alice);
    alice.send(`<presence to="${LOBBY}/alice"><x xmlns="${NS_MUC}"/></presence>`);
    alice.clear();
    assert.ok(world.muc.destroyRoom(ROOM, { reason: 'ended' }));
    const out = presencesFrom(alice, `${LOBBY}/alice`);
    assert.equal(out.length, 1);
    assert.ok(out[0]?.getChild('x', NS_MUC_USER)?.getChild('destroy'));
    assert.equal(lobby.service.roomCount, 0);
  });

  it('refuses knocks from one address past its allowance (policy-violation, wait), and others knock on', () => {
    const { world, alice } = conference({ burst: 3, refillSeconds: 60, keyOf: (jid) => jid.domain });
    switchOn(alice);
    alice.send(`<presence to="${LOBBY}/alice"><x xmlns="${NS_MUC}"/></presence>`);
    const knocker = world.client('k@guest.example/web');
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      knocker.clear();
      knocker.send(`<presence to="${LOBBY}/k${i}"><x xmlns="${NS_MUC}"/>${NICK(`K ${i}`)}</presence>`);
      const reply = knocker.next();
      outcomes.push(reply.attrs.type === 'error' ? errorCondition(reply).condition : 'in');
      knocker.send(`<presence type="unavailable" to="${LOBBY}/k${i}"/>`);
    }
    assert.deepEqual(outcomes, ['in', 'in', 'in', 'policy-violation', 'policy-violation'], 'three knocks from guest.example, then none');
    const other = world.client('o@other.example/web');
    other.send(`<presence to="${LOBBY}/o"><x xmlns="${NS_MUC}"/>${NICK('O')}</presence>`);
    assert.notEqual(other.next().attrs.type, 'error', 'another address knocks on');
  });

  it('lists in the lobby room\'s disco#items only the occupants the requester sees', () => {
    const { world, alice, bob } = conference();
    switchOn(alice);
    alice.send(`<presence to="${LOBBY}/alice"><x xmlns="${NS_MUC}"/></presence>`);
    const k1 = world.client('k1@guest.example/web');
    const k2 = world.client('k2@guest.example/web');
    k1.send(`<presence to="${LOBBY}/k1"><x xmlns="${NS_MUC}"/>${NICK('K one')}</presence>`);
    k2.send(`<presence to="${LOBBY}/k2"><x xmlns="${NS_MUC}"/>${NICK('K two')}</presence>`);
    const items = (c: FakeClient, room: string): string[] => {
      c.clear();
      c.send(`<iq type="get" id="items" to="${room}"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>`);
      const result = c.next();
      assert.equal(result.attrs.type, 'result');
      return result.getChild('query')!.getChildren('item').map((i) => String(i.attrs.jid)).sort();
    };
    assert.deepEqual(items(k1, LOBBY), [`${LOBBY}/k1`]);
    assert.deepEqual(items(k2, LOBBY), [`${LOBBY}/k2`]);
    assert.deepEqual(items(alice, LOBBY), [`${LOBBY}/alice`, `${LOBBY}/k1`, `${LOBBY}/k2`]);
    bob.clear();
    bob.send(`<iq type="get" id="items" to="${LOBBY}"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>`);
    assert.deepEqual(errorCondition(bob.next()), { type: 'auth', condition: 'forbidden' }, 'not an occupant of the lobby room: not told of it (hidden rooms)');
    assert.deepEqual(items(bob, ROOM), [`${ROOM}/alice`, `${ROOM}/bob`, `${ROOM}/focus`]);
  });

  it('makes an invited knocker a member and tells the room; a kick in the lobby turns one away and tells the room too', () => {
    const { world, alice, bob } = conference();
    switchOn(alice);
    alice.send(`<presence to="${LOBBY}/alice"><x xmlns="${NS_MUC}"/></presence>`);
    const k1 = world.client('k1@guest.example/web');
    const k2 = world.client('k2@guest.example/web');
    k1.send(`<presence to="${LOBBY}/k1"><x xmlns="${NS_MUC}"/>${NICK('K one')}</presence>`);
    k2.send(`<presence to="${LOBBY}/k2"><x xmlns="${NS_MUC}"/>${NICK('K two')}</presence>`);
    bob.clear();
    k1.clear();
    alice.send(`<message to="${ROOM}"><x xmlns="${NS_MUC_USER}"><invite to="k1@guest.example/web"/></x></message>`);
    assert.equal(k1.next().getChild('x', NS_MUC_USER)?.getChild('invite')?.attrs.from, 'alice@example/web');
    assert.equal(world.muc.room(ROOM)?.affiliationOf('k1@guest.example'), 'member');
    assert.deepEqual(notices(bob), [{ event: 'LOBBY-ACCESS-GRANTED', value: `${LOBBY}/k1`, name: 'K one' }]);
    bob.clear();
    alice.send(`<iq type="set" id="deny" to="${LOBBY}"><query xmlns="${ADMIN}"><item nick="k2" role="none"/></query></iq>`);
    const out = presencesFrom(k2, `${LOBBY}/k2`).at(-1)!;
    assert.equal(out.attrs.type, 'unavailable');
    assert.deepEqual(statusCodes(out).sort(), [110, 307]);
    assert.deepEqual(notices(bob), [{ event: 'LOBBY-ACCESS-DENIED', value: `${LOBBY}/k2`, name: 'K two' }]);
    const relayed = bob.received.find((s) => s.getChild('json-message', NS_JITMEET));
    assert.equal(relayed?.attrs.from, `${ROOM}/alice`);
  });

  it('lets a moderator admit several knockers with one message (lib-jitsi-meet approveAccess with a list), distinct ones only', () => {
    const { world, alice } = conference();
    switchOn(alice);
    const k1 = world.client('k1@guest.example/web');
    const k2 = world.client('k2@guest.example/web');
    alice.clear();
    alice.send(`<message to="${ROOM}" id="dup"><x xmlns="${NS_MUC_USER}"><invite to="k1@guest.example/web"/><invite to="k1@guest.example/web"/></x></message>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'modify', condition: 'bad-request' });
    assert.equal(k1.received.length, 0);
    alice.send(`<message to="${ROOM}"><x xmlns="${NS_MUC_USER}"><invite to="k1@guest.example/web"/><invite to="k2@guest.example/web"/></x></message>`);
    for (const k of [k1, k2]) assert.equal(k.next().getChild('x', NS_MUC_USER)?.getChild('invite')?.attrs.from, 'alice@example/web');
    assert.equal(world.muc.room(ROOM)?.affiliationOf('k1@guest.example'), 'member');
    assert.equal(world.muc.room(ROOM)?.affiliationOf('k2@guest.example'), 'member');
  });

  it('lets a knocker let in from the lobby of a locked room enter without the password (the invitation does not carry it)', () => {
    const { world, alice } = conference();
    switchOn(alice);
    alice.send(`<iq type="set" id="pw" to="${ROOM}"><query xmlns="${OWNER}"><x xmlns="jabber:x:data" type="submit">
      <field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field>
      <field var="muc#roomconfig_roomsecret"><value>s3cret</value></field></x></query></iq>`);
    const k = world.client('k@guest.example/web');
    k.send(`<presence to="${LOBBY}/k"><x xmlns="${NS_MUC}"/>${NICK('K')}</presence>`);
    alice.send(`<message to="${ROOM}"><x xmlns="${NS_MUC_USER}"><invite to="k@guest.example/web"/></x></message>`);
    k.clear();
    k.send(`<presence to="${ROOM}/k"><x xmlns="${NS_MUC}"><password>wrong</password></x>${NICK('K')}</presence>`);
    assert.deepEqual(errorCondition(k.next()), { type: 'auth', condition: 'not-authorized' });
    k.send(`<presence to="${ROOM}/k"><x xmlns="${NS_MUC}"/>${NICK('K')}</presence>`);
    assert.equal(world.muc.room(ROOM)?.occupants.get('k')?.affiliation, 'member');
  });

  it('switching off destroys the lobby room with the main room as venue; the conference ending destroys it without', () => {
    const { world, lobby, focus, alice, bob } = conference();
    switchOn(alice);
    const k = world.client('k@guest.example/web');
    k.send(`<presence to="${LOBBY}/k"><x xmlns="${NS_MUC}"/>${NICK('K')}</presence>`);
    k.clear();
    switchOn(alice, false);
    assert.equal(k.next().getChild('x', NS_MUC_USER)?.getChild('destroy')?.attrs.jid, ROOM);
    assert.equal(lobby.service.roomCount, 0);
    assert.equal(lobby.lobbyRoomOf(ROOM), undefined);

    switchOn(alice);
    k.send(`<presence to="${LOBBY}/k"><x xmlns="${NS_MUC}"/>${NICK('K')}</presence>`);
    k.clear();
    for (const c of [bob, alice, focus]) c.send(`<presence to="${ROOM}/${c === bob ? 'bob' : c === alice ? 'alice' : 'focus'}" type="unavailable"/>`);
    assert.equal(world.muc.room(ROOM), undefined);
    const destroyed = k.next();
    assert.equal(destroyed.attrs.type, 'unavailable');
    const destroy = destroyed.getChild('x', NS_MUC_USER)?.getChild('destroy');
    assert.ok(destroy);
    assert.equal(destroy.attrs.jid, undefined);
    assert.equal(lobby.service.roomCount, 0);
    lobby.close();
  });

  it('opens the lobby of a room created members-only at its first join', () => {
    const world = new World({ restrictRoomCreation: true, roomDefaults: { membersOnly: true } });
    const lobby = new Lobby(world.router, pino({ level: 'silent' }), world.muc, {
      domain: LOBBY_DOMAIN, admins: new Set(['focus@auth.example']), displayNameRequired: true,
    });
    world.router.addService(lobby.service);
    world.client(FOCUS).join('room1', 'focus');
    assert.equal(lobby.lobbyRoomOf(ROOM), LOBBY);
    const guest = world.client('g@guest.example/web');
    guest.send(`<presence to="${ROOM}/g"><x xmlns="${NS_MUC}"/>${NICK('G')}</presence>`);
    assert.equal(errorCondition(guest.next()).condition, 'registration-required');
    // Nobody but the server makes lobby rooms.
    guest.send(`<presence to="other@${LOBBY_DOMAIN}/g"><x xmlns="${NS_MUC}"/>${NICK('G')}</presence>`);
    assert.equal(errorCondition(guest.next()).condition, 'not-allowed');
    lobby.close();
  });
});
