import assert from 'node:assert/strict';
import { FOCUS, MUC, NS_MUC, NS_MUC_USER, World, errorCondition, statusCodes } from './helpers.ts';

const ROOM = `room1@${MUC}`;

describe('MUC join, presence and leave (XEP-0045 §7.2, §7.6, §7.14)', () => {
  it('the creator gets owner/moderator with statuses 100, 110 and 201, then the empty subject', () => {
    const world = new World({ restrictRoomCreation: true });
    const created: string[] = [];
    world.muc.events.on('room-created', (room) => created.push(room.jid));
    const focus = world.client(FOCUS);

    focus.send(`<presence to="Room1@${MUC}/focus"><x xmlns="${NS_MUC}"/><versions xmlns="http://jitsi.org/jitmeet"><component type="focus">1.0</component></versions></presence>`);

    focus.receives(`<presence from="${ROOM}/focus" to="${FOCUS}">
      <versions xmlns="http://jitsi.org/jitmeet"><component type="focus">1.0</component></versions>
      <x xmlns="${NS_MUC_USER}"><item affiliation="owner" role="moderator" jid="${FOCUS}"/>
        <status code="100"/><status code="110"/><status code="201"/></x>
    </presence>`);
    focus.receives(`<message type="groupchat" from="${ROOM}" to="${FOCUS}"><subject/></message>`);
    focus.receivesNothing();
    assert.deepEqual(created, [ROOM]);
    assert.equal(world.muc.roomCount, 1);
    assert.equal(world.muc.room(ROOM)?.occupants.get('focus')?.affiliation, 'owner');
  });

  it('a newcomer receives every occupant with its real JID, then itself; the others receive the newcomer', () => {
    const world = new World();
    const focus = world.client(FOCUS);
    const alice = world.client('alice@example/web');
    focus.join('room1', 'focus');

    alice.send(`<presence to="${ROOM}/abcd1234"><x xmlns="${NS_MUC}"/><nick xmlns="http://jabber.org/protocol/nick">Alice</nick></presence>`);

    alice.receives(`<presence from="${ROOM}/focus" to="alice@example/web">
      <x xmlns="${NS_MUC_USER}"><item affiliation="owner" role="moderator" jid="${FOCUS}"/></x></presence>`);
    alice.receives(`<presence from="${ROOM}/abcd1234" to="alice@example/web">
      <nick xmlns="http://jabber.org/protocol/nick">Alice</nick>
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="alice@example/web"/>
        <status code="100"/><status code="110"/></x></presence>`);
    alice.receives(`<message type="groupchat" from="${ROOM}" to="alice@example/web"><subject/></message>`);
    alice.receivesNothing();
    focus.receives(`<presence from="${ROOM}/abcd1234" to="${FOCUS}">
      <nick xmlns="http://jabber.org/protocol/nick">Alice</nick>
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="alice@example/web"/></x></presence>`);
    focus.receivesNothing();
  });

  it('relays every presence extension intact, including unknown namespaces', () => {
    const world = new World();
    const focus = world.client(FOCUS);
    const alice = world.client('alice@example/web');
    focus.join('room1', 'focus');
    const extensions = `<stats-id>Kristofer-Hxb</stats-id>
      <c xmlns="http://jabber.org/protocol/caps" hash="sha-1" node="https://jitsi.org/jitsi-meet" ver="k3Ng="/>
      <features><feature var="https://jitsi.org/meet/e2ee"/></features>
      <jitsi_participant_codecList>vp8,h264,vp9,av1</jitsi_participant_codecList>
      <SourceInfo>{"abcd1234-a0":{"muted":false}}</SourceInfo>
      <foo xmlns="urn:example:unknown" a="1"><bar>baz</bar></foo>`;

    alice.send(`<presence to="${ROOM}/abcd1234"><x xmlns="${NS_MUC}"/>${extensions}</presence>`);

    focus.receives(`<presence from="${ROOM}/abcd1234" to="${FOCUS}">${extensions}
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="alice@example/web"/></x></presence>`);
    const view = world.muc.room(ROOM)?.occupants.get('abcd1234');
    assert.equal(view?.presence.getChildText('SourceInfo'), '{"abcd1234-a0":{"muted":false}}');
  });

  it('strips a muc#user element a client tries to forge', () => {
    const world = new World();
    const focus = world.client(FOCUS);
    const mallory = world.client('mallory@example/x');
    focus.join('room1', 'focus');

    mallory.send(`<presence to="${ROOM}/mallory"><x xmlns="${NS_MUC}"/>
      <x xmlns="${NS_MUC_USER}"><item affiliation="owner" role="moderator" jid="${FOCUS}"/><status code="110"/></x></presence>`);

    focus.receives(`<presence from="${ROOM}/mallory" to="${FOCUS}">
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="mallory@example/x"/></x></presence>`);
    mallory.clear();
    mallory.send(`<presence to="${ROOM}/mallory"><x xmlns="${NS_MUC_USER}"><status code="201"/></x><show>away</show></presence>`);
    focus.receives(`<presence from="${ROOM}/mallory" to="${FOCUS}"><show>away</show>
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="mallory@example/x"/></x></presence>`);
  });

  it('refuses a taken nick with conflict and keeps the room as it was', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    const bob = world.client('bob@example/web');
    alice.join('room1', 'same');

    bob.send(`<presence to="${ROOM}/same"><x xmlns="${NS_MUC}"/></presence>`);

    bob.receives(`<presence type="error" from="${ROOM}/same" to="bob@example/web"><x xmlns="${NS_MUC}"/>
      <error type="cancel"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">*</text></error></presence>`);
    alice.receivesNothing();
    assert.equal(world.muc.occupantCount, 1);
  });

  it('requires a nickname (jid-malformed)', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    alice.send(`<presence to="${ROOM}"><x xmlns="${NS_MUC}"/></presence>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'modify', condition: 'jid-malformed' });
  });

  it('rebroadcasts a presence update to all, with 110 in the sender\'s copy', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    const bob = world.client('bob@example/web');
    alice.join('room1', 'alice');
    bob.join('room1', 'bob');
    alice.clear();

    bob.send(`<presence to="${ROOM}/bob"><SourceInfo>{"bob-a0":{"muted":true}}</SourceInfo></presence>`);

    alice.receives(`<presence from="${ROOM}/bob" to="alice@example/web"><SourceInfo>{"bob-a0":{"muted":true}}</SourceInfo>
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="bob@example/web"/></x></presence>`);
    bob.receives(`<presence from="${ROOM}/bob" to="bob@example/web"><SourceInfo>{"bob-a0":{"muted":true}}</SourceInfo>
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="bob@example/web"/><status code="110"/></x></presence>`);
  });

  it('announces a leave to all, and destroys the room when the last occupant leaves', () => {
    const world = new World();
    const events: string[] = [];
    world.muc.events.on('occupant-left', (_room, o) => events.push(`left ${o.nick}`));
    world.muc.events.on('room-destroyed', (room) => events.push(`destroyed ${room.jid}`));
    const alice = world.client('alice@example/web');
    const bob = world.client('bob@example/web');
    alice.join('room1', 'alice');
    bob.join('room1', 'bob');
    alice.clear();

    bob.send(`<presence type="unavailable" to="${ROOM}/bob"><status>bye</status></presence>`);

    alice.receives(`<presence type="unavailable" from="${ROOM}/bob" to="alice@example/web"><status>bye</status>
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="none" jid="bob@example/web"/></x></presence>`);
    bob.receives(`<presence type="unavailable" from="${ROOM}/bob" to="bob@example/web"><status>bye</status>
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="none" jid="bob@example/web"/><status code="110"/></x></presence>`);
    assert.equal(world.muc.roomCount, 1);

    alice.send(`<presence type="unavailable" to="${ROOM}/alice"/>`);
    assert.deepEqual(statusCodes(alice.next()), [110]);
    assert.deepEqual(events, ['left bob', 'left alice', `destroyed ${ROOM}`]);
    assert.equal(world.muc.roomCount, 0);
    assert.equal(world.muc.occupantCount, 0);
    assert.equal(world.muc.room(ROOM), undefined);
  });

  it('leaves every room of a resource that unbinds (directed presence)', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    const bob = world.client('bob@example/web');
    alice.join('room1', 'alice');
    bob.join('room1', 'bob');
    alice.clear();

    world.router.unbind(bob);

    const gone = alice.next();
    assert.equal(gone.attrs.type, 'unavailable');
    assert.equal(gone.attrs.from, `${ROOM}/bob`);
    assert.equal(world.muc.occupantCount, 1);
  });

  it('keeps a persistent room when it empties', () => {
    const world = new World({ roomDefaults: { persistent: true } });
    const alice = world.client('alice@example/web');
    alice.join('room1', 'alice');
    alice.send(`<presence type="unavailable" to="${ROOM}/alice"/>`);
    assert.equal(world.muc.roomCount, 1);
    assert.equal(world.muc.room(ROOM)?.occupants.size, 0);
  });

  it('changes nick with 303 then presence under the new nick (§7.6)', () => {
    const world = new World();
    const renamed: string[] = [];
    world.muc.events.on('occupant-renamed', (_room, o, old) => renamed.push(`${old}->${o.nick}`));
    const alice = world.client('alice@example/web');
    const bob = world.client('bob@example/web');
    alice.join('room1', 'alice');
    bob.join('room1', 'bob');
    alice.clear();

    bob.send(`<presence to="${ROOM}/robert"><show>chat</show></presence>`);

    alice.receives(`<presence type="unavailable" from="${ROOM}/bob" to="alice@example/web">
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="bob@example/web" nick="robert"/><status code="303"/></x></presence>`);
    alice.receives(`<presence from="${ROOM}/robert" to="alice@example/web"><show>chat</show>
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="bob@example/web"/></x></presence>`);
    bob.receives(`<presence type="unavailable" from="${ROOM}/bob" to="bob@example/web">
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="bob@example/web" nick="robert"/><status code="303"/><status code="110"/></x></presence>`);
    assert.deepEqual(statusCodes(bob.next()), [110]);
    assert.deepEqual(renamed, ['bob->robert']);
    assert.deepEqual([...(world.muc.room(ROOM)?.occupants.keys() ?? [])].sort(), ['alice', 'robert']);
  });

  it('refuses a nick change to a taken nick with conflict', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    const bob = world.client('bob@example/web');
    alice.join('room1', 'alice');
    bob.join('room1', 'bob');
    bob.send(`<presence to="${ROOM}/alice"/>`);
    assert.deepEqual(errorCondition(bob.next()), { type: 'cancel', condition: 'conflict' });
    assert.equal(world.muc.room(ROOM)?.occupants.get('bob')?.realJid.full, 'bob@example/web');
  });

  it('never answers an unavailable or error presence with an error', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    alice.send(`<presence type="unavailable" to="${ROOM}/alice"/>`);
    alice.send(`<presence type="error" to="${ROOM}/alice"><error type="cancel"><gone xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>`);
    alice.send(`<presence type="unavailable" to="${ROOM}/alice"><x xmlns="${NS_MUC_USER}"><status code="abc"/></x></presence>`);
    alice.receivesNothing();
    assert.equal(world.muc.roomCount, 0);
  });

  it('removes an occupant whose client bounces presence, with 307 to the others', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    const bob = world.client('bob@example/web');
    alice.join('room1', 'alice');
    bob.join('room1', 'bob');
    alice.clear();
    bob.send(`<presence type="error" to="${ROOM}/alice"><error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>`);
    alice.receives(`<presence type="unavailable" from="${ROOM}/bob" to="alice@example/web"><status>Kicked: service unavailable</status>
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="none" jid="bob@example/web"/><status code="307"/></x></presence>`);
    assert.equal(world.muc.occupantCount, 1);
  });

  it('in a semi-anonymous room shows real JIDs to moderators only', () => {
    const world = new World({ defaultWhois: 'moderators' });
    const focus = world.client(FOCUS);
    const alice = world.client('alice@example/web');
    const bob = world.client('bob@example/web');
    focus.join('room1', 'focus');
    alice.join('room1', 'alice');
    focus.clear();

    bob.send(`<presence to="${ROOM}/bob"><x xmlns="${NS_MUC}"/></presence>`);

    focus.receives(`<presence from="${ROOM}/bob" to="${FOCUS}">
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="bob@example/web"/></x></presence>`);
    alice.receives(`<presence from="${ROOM}/bob" to="alice@example/web">
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant"/></x></presence>`);
    bob.receives(`<presence from="${ROOM}/focus" to="bob@example/web">
      <x xmlns="${NS_MUC_USER}"><item affiliation="owner" role="moderator"/></x></presence>`);
    bob.next();
    assert.deepEqual(statusCodes(bob.next()), [110]);
  });

  it('a client that vanishes leaves its room, even after presence to hundreds of rooms it could not join', () => {
    const world = new World({ restrictRoomCreation: true });
    const focus = world.client(FOCUS);
    focus.join('conf', 'focus');
    const mallory = world.client('mallory@example/web');
    // Rooms that do not exist and that she may not create: each refuses her, and is not remembered as joined.
    for (let i = 0; i < 300; i++) mallory.send(`<presence to="junk${i}@${MUC}/x"/>`);
    mallory.join('conf', 'mallory');
    assert.ok(world.muc.room(`conf@${MUC}`)?.occupants.has('mallory'), 'she joined the real room');
    focus.clear();
    // Her connection drops without an unavailable presence.
    world.router.unbind(mallory, 'connection lost');
    assert.equal(world.muc.room(`conf@${MUC}`)?.occupants.has('mallory'), false, 'not left behind as an occupant');
    const told = focus.received.filter((p) => p.name === 'presence' && p.attrs.type === 'unavailable' && p.attrs.from === `conf@${MUC}/mallory`);
    assert.equal(told.length, 1, 'the focus is told she left');
  });
});
