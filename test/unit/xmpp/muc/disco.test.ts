import assert from 'node:assert/strict';
import { fieldValue } from '../../../../xmpp/protocol/dataform.ts';
import { parseDiscoInfo, parseDiscoItems } from '../../../../xmpp/protocol/disco.ts';
import { FOCUS, MUC, World, errorCondition } from './helpers.ts';

const ROOM = `room1@${MUC}`;
const INFO = 'http://jabber.org/protocol/disco#info';
const ITEMS = 'http://jabber.org/protocol/disco#items';

describe('MUC service discovery (XEP-0045 §6, jitsi-protocol §4.6)', () => {
  it('describes the service as conference/text with the muc feature', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    alice.send(`<iq type="get" id="s1" to="${MUC}"><query xmlns="${INFO}"/></iq>`);
    const reply = alice.next();
    assert.equal(reply.attrs.from, MUC);
    const info = parseDiscoInfo(reply);
    assert.deepEqual(info.identities, [{ category: 'conference', type: 'text', name: 'Conferences' }]);
    assert.ok(info.features.includes('http://jabber.org/protocol/muc'));
  });

  it('lists public rooms with their names, and hides hidden ones', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    alice.join('room1', 'alice');
    alice.send(`<iq type="get" id="s2" to="${MUC}"><query xmlns="${ITEMS}"/></iq>`);
    assert.deepEqual(parseDiscoItems(alice.next()).items, [{ jid: ROOM, name: 'room1' }]);

    const hidden = new World({ roomDefaults: { public: false } });
    const bob = hidden.client('bob@example/web');
    bob.join('room1', 'bob');
    bob.send(`<iq type="get" id="s3" to="${MUC}"><query xmlns="${ITEMS}"/></iq>`);
    assert.deepEqual(parseDiscoItems(bob.next()).items, []);
  });

  it('with hidden rooms (the conference MUC, as mod_muc_hide_all), tells of rooms to their occupants and the service admins only', () => {
    const world = new World({ restrictRoomCreation: true, hideRooms: true });
    const focus = world.client(FOCUS);
    focus.join('secret-board-meeting', 'focus');
    const room = `secret-board-meeting@${MUC}`;
    const eve = world.client('0b7e5c1a@guest.example/x');
    eve.send(`<iq type="get" id="e1" to="${MUC}"><query xmlns="${ITEMS}"/></iq>`);
    assert.deepEqual(parseDiscoItems(eve.next()).items, [], 'no room listed to an outsider');
    for (const ns of [INFO, ITEMS]) {
      eve.send(`<iq type="get" id="e2" to="${room}"><query xmlns="${ns}"/></iq>`);
      assert.deepEqual(errorCondition(eve.next()), { type: 'auth', condition: 'forbidden' }, `${ns} of a room she is not in`);
    }
    focus.clear();
    focus.send(`<iq type="get" id="f1" to="${MUC}"><query xmlns="${ITEMS}"/></iq>`);
    assert.deepEqual(parseDiscoItems(focus.next()).items.map((item) => item.jid), [room], 'the focus, a service admin, sees it');
    const alice = world.client('alice@example/web');
    alice.join('secret-board-meeting', 'alice');
    alice.clear();
    alice.send(`<iq type="get" id="a1" to="${room}"><query xmlns="${INFO}"/></iq>`);
    assert.equal(alice.next().attrs.type, 'result', 'an occupant reads its disco#info, as lib-jitsi-meet does once joined');
  });

  it('describes a Jitsi room: non-anonymous, temporary, open, unsecured, with meeting id and start time', () => {
    const world = new World({ restrictRoomCreation: true });
    const focus = world.client(FOCUS);
    const alice = world.client('alice@example/web');
    focus.join('room1', 'focus');
    world.clock += 5000;
    alice.join('room1', 'alice');

    alice.send(`<iq type="get" id="r1" to="${ROOM}"><query xmlns="${INFO}"/></iq>`);

    const reply = alice.next();
    assert.equal(reply.attrs.type, 'result');
    assert.equal(reply.attrs.from, ROOM);
    const info = parseDiscoInfo(reply);
    assert.deepEqual(info.identities, [{ category: 'conference', type: 'text', name: 'room1' }]);
    for (const feature of ['http://jabber.org/protocol/muc', 'muc_nonanonymous', 'muc_temporary', 'muc_open', 'muc_unsecured', 'muc_unmoderated', 'muc_public']) {
      assert.ok(info.features.includes(feature), `missing ${feature}`);
    }
    const form = info.forms?.[0];
    assert.ok(form);
    assert.equal(form.type, 'result');
    assert.equal(fieldValue(form, 'FORM_TYPE'), 'http://jabber.org/protocol/muc#roominfo');
    assert.equal(fieldValue(form, 'muc#roominfo_meetingId'), world.muc.room(ROOM)?.meetingId);
    assert.equal(fieldValue(form, 'muc#roominfo_created_timestamp'), String(world.clock));
    assert.equal(fieldValue(form, 'muc#roominfo_occupants'), '2');
  });

  it('shows the opposite features for a locked, members-only, moderated, persistent, hidden, semi-anonymous room', () => {
    const world = new World({
      defaultWhois: 'moderators',
      roomDefaults: { passwordProtected: true, password: 'x', moderated: true, persistent: true, public: false, membersOnly: true },
    });
    const focus = world.client(FOCUS);
    focus.join('room1', 'focus');
    focus.send(`<iq type="get" id="r2" to="${ROOM}"><query xmlns="${INFO}"/></iq>`);
    const info = parseDiscoInfo(focus.next());
    for (const feature of ['muc_semianonymous', 'muc_membersonly', 'muc_persistent', 'muc_passwordprotected', 'muc_moderated', 'muc_hidden']) {
      assert.ok(info.features.includes(feature), `missing ${feature}`);
    }
    assert.equal(fieldValue(info.forms?.[0] ?? assert.fail(), 'muc#roominfo_created_timestamp'), undefined);
  });

  it('lets extensions add features and roominfo fields (the lobby hook)', () => {
    const world = new World();
    const remove = world.muc.addExtension({
      discoFeatures: () => ['urn:example:lobby'],
      roomInfoFields: (room) => [{ var: 'muc#roominfo_lobbyroom', values: [room.jid.replace(MUC, 'lobby.example')] }],
    });
    const alice = world.client('alice@example/web');
    alice.join('room1', 'alice');
    alice.send(`<iq type="get" id="r3" to="${ROOM}"><query xmlns="${INFO}"/></iq>`);
    const info = parseDiscoInfo(alice.next());
    assert.ok(info.features.includes('urn:example:lobby'));
    assert.equal(fieldValue(info.forms?.[0] ?? assert.fail(), 'muc#roominfo_lobbyroom'), 'room1@lobby.example');
    remove();
    alice.send(`<iq type="get" id="r4" to="${ROOM}"><query xmlns="${INFO}"/></iq>`);
    assert.ok(!parseDiscoInfo(alice.next()).features.includes('urn:example:lobby'));
  });

  it('lists occupants to occupants only', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    const eve = world.client('eve@example/x');
    alice.join('room1', 'alice');
    alice.send(`<iq type="get" id="i1" to="${ROOM}"><query xmlns="${ITEMS}"/></iq>`);
    assert.deepEqual(parseDiscoItems(alice.next()).items, [{ jid: `${ROOM}/alice`, name: 'alice' }]);
    eve.send(`<iq type="get" id="i2" to="${ROOM}"><query xmlns="${ITEMS}"/></iq>`);
    assert.deepEqual(parseDiscoItems(eve.next()).items, []);
  });

  it('answers unknown namespaces with service-unavailable, and never answers results or errors', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    alice.join('room1', 'alice');
    alice.send(`<iq type="get" id="u1" to="${ROOM}"><query xmlns="urn:example:nothing"/></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'cancel', condition: 'service-unavailable' });
    alice.send(`<iq type="set" id="u2" to="${MUC}"><query xmlns="urn:example:nothing"/></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'cancel', condition: 'service-unavailable' });
    alice.send(`<iq type="result" id="u3" to="${ROOM}"/>`);
    alice.send(`<iq type="error" id="u4" to="${MUC}"><error type="cancel"><gone xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`);
    alice.send(`<iq type="get" id="u5" to="nope@${MUC}"><query xmlns="${INFO}"/></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'cancel', condition: 'item-not-found' });
    alice.receivesNothing();
  });
});
