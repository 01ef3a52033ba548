import assert from 'node:assert/strict';
import { FOCUS, MUC, NS_MUC, NS_MUC_USER, World, errorCondition, roomOfThree, statusCodes } from './helpers.ts';

const ROOM = `room1@${MUC}`;
const ADMIN = 'http://jabber.org/protocol/muc#admin';

const room = (options: Parameters<typeof roomOfThree>[0] = {}) => roomOfThree({ restrictRoomCreation: true, ...options });

describe('MUC moderation through muc#admin (XEP-0045 §8–§10)', () => {
  it('Jitsi\'s grant-moderator (affiliation owner by bare JID) makes the occupant a moderator, broadcast to all', () => {
    const { world, focus, alice, bob } = room();

    focus.send(`<iq type="set" id="g1" to="${ROOM}"><query xmlns="${ADMIN}">
      <item affiliation="owner" jid="alice@example"><reason>Your affiliation has been changed to 'owner'.</reason></item></query></iq>`);

    bob.receives(`<presence from="${ROOM}/alice" to="bob@example/web"><x xmlns="${NS_MUC_USER}">
      <item affiliation="owner" role="moderator" jid="alice@example/web"><actor nick="focus" jid="${FOCUS}"/>
        <reason>Your affiliation has been changed to 'owner'.</reason></item></x></presence>`);
    alice.receives(`<presence from="${ROOM}/alice" to="alice@example/web"><x xmlns="${NS_MUC_USER}">
      <item affiliation="owner" role="moderator" jid="alice@example/web"><actor nick="focus" jid="${FOCUS}"/>
        <reason>Your affiliation has been changed to 'owner'.</reason></item><status code="110"/></x></presence>`);
    focus.next(); // the same presence
    focus.receives(`<iq type="result" id="g1" from="${ROOM}" to="${FOCUS}"/>`);
    assert.equal(world.muc.room(ROOM)?.occupants.get('alice')?.role, 'moderator');
    assert.equal(world.muc.room(ROOM)?.affiliationOf('alice@example'), 'owner');

    // Later newcomers see the new role in the cached presence, without actor or reason.
    const carol = world.client('carol@example/web');
    carol.send(`<presence to="${ROOM}/carol"><x xmlns="${NS_MUC}"/></presence>`);
    carol.next();
    carol.receives(`<presence from="${ROOM}/alice" to="carol@example/web"><x xmlns="${NS_MUC_USER}">
      <item affiliation="owner" role="moderator" jid="alice@example/web"/></x></presence>`);
  });

  it('kicks with 307, actor and reason; the kicked gets 110 too and leaves the room', () => {
    const { world, focus, alice, bob } = room();
    const left: string[] = [];
    world.muc.events.on('occupant-left', (_r, o) => left.push(o.nick));

    focus.send(`<iq type="set" id="k1" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="bob" role="none"><reason>You have been kicked.</reason></item></query></iq>`);

    alice.receives(`<presence type="unavailable" from="${ROOM}/bob" to="alice@example/web"><x xmlns="${NS_MUC_USER}">
      <item affiliation="none" role="none" jid="bob@example/web"><actor nick="focus" jid="${FOCUS}"/><reason>You have been kicked.</reason></item>
      <status code="307"/></x></presence>`);
    bob.receives(`<presence type="unavailable" from="${ROOM}/bob" to="bob@example/web"><x xmlns="${NS_MUC_USER}">
      <item affiliation="none" role="none" jid="bob@example/web"><actor nick="focus" jid="${FOCUS}"/><reason>You have been kicked.</reason></item>
      <status code="307"/><status code="110"/></x></presence>`);
    focus.next();
    focus.receives(`<iq type="result" id="k1" from="${ROOM}" to="${FOCUS}"/>`);
    assert.deepEqual(left, ['bob']);
    assert.equal(world.muc.room(ROOM)?.occupants.has('bob'), false);
    assert.equal(world.muc.room(ROOM)?.occupantByRealJid('bob@example/web'), undefined);
  });

  it('refuses a kick from a non-moderator with forbidden (auth) and changes nothing', () => {
    const { world, alice, bob } = room();
    alice.send(`<iq type="set" id="k2" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="bob" role="none"/></query></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'forbidden' });
    bob.receivesNothing();
    assert.equal(world.muc.room(ROOM)?.occupants.size, 3);
  });

  it('refuses to kick an owner (not-allowed), even for another owner', () => {
    const { world, focus, alice } = room();
    focus.send(`<iq type="set" id="o1" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="owner" jid="bob@example"/></query></iq>`);
    focus.send(`<iq type="set" id="o2" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="owner" jid="alice@example"/></query></iq>`);
    alice.clear();
    alice.send(`<iq type="set" id="k3" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="bob" role="none"/></query></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'cancel', condition: 'not-allowed' });
    assert.ok(world.muc.room(ROOM)?.occupants.has('bob'));
  });

  it('refuses affiliation changes to participants with forbidden', () => {
    const { alice } = room();
    alice.send(`<iq type="set" id="a1" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="owner" jid="alice@example"/></query></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'forbidden' });
  });

  it('bans with 301; the banned user cannot come back (forbidden)', () => {
    const { world, focus, alice, bob } = room();
    focus.send(`<iq type="set" id="b1" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="outcast" jid="bob@example"/></query></iq>`);
    assert.deepEqual(statusCodes(alice.next()), [301]);
    const self = bob.next();
    assert.equal(self.attrs.type, 'unavailable');
    assert.deepEqual(statusCodes(self), [301, 110]);
    bob.send(`<presence to="${ROOM}/bob2"><x xmlns="${NS_MUC}"/></presence>`);
    assert.deepEqual(errorCondition(bob.next()), { type: 'auth', condition: 'forbidden' });
    assert.equal(world.muc.room(ROOM)?.affiliations.get('bob@example'), 'outcast');
  });

  it('grants and revokes voice in a moderated room', () => {
    const { world, focus, bob } = room({ roomDefaults: { moderated: true } });
    assert.equal(world.muc.room(ROOM)?.occupants.get('bob')?.role, 'visitor');
    bob.send(`<message type="groupchat" to="${ROOM}" id="m1"><body>hi</body></message>`);
    assert.deepEqual(errorCondition(bob.next()), { type: 'auth', condition: 'forbidden' });

    focus.send(`<iq type="set" id="v1" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="bob" role="participant"/></query></iq>`);
    assert.equal(world.muc.room(ROOM)?.occupants.get('bob')?.role, 'participant');
    bob.clear();
    bob.send(`<message type="groupchat" to="${ROOM}" id="m2"><body>hi</body></message>`);
    assert.equal(bob.next().attrs.type, 'groupchat');
  });

  it('lets an owner demote a moderator it promoted by role', () => {
    const { world, focus } = room();
    focus.send(`<iq type="set" id="r1" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="alice" role="moderator"/></query></iq>`);
    assert.equal(world.muc.room(ROOM)?.occupants.get('alice')?.role, 'moderator');
    focus.send(`<iq type="set" id="r2" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="alice" role="participant"/></query></iq>`);
    assert.equal(world.muc.room(ROOM)?.occupants.get('alice')?.role, 'participant');
  });

  it('lists affiliations to owners and roles to moderators only', () => {
    const { focus, alice } = room();
    focus.send(`<iq type="set" id="m" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="member" jid="bob@example"/></query></iq>`);
    focus.clear();
    focus.send(`<iq type="get" id="l1" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="member"/></query></iq>`);
    focus.receives(`<iq type="result" id="l1" from="${ROOM}" to="${FOCUS}"><query xmlns="${ADMIN}">
      <item affiliation="member" jid="bob@example"/></query></iq>`);
    focus.send(`<iq type="get" id="l2" to="${ROOM}"><query xmlns="${ADMIN}"><item role="moderator"/></query></iq>`);
    focus.receives(`<iq type="result" id="l2" from="${ROOM}" to="${FOCUS}"><query xmlns="${ADMIN}">
      <item affiliation="owner" role="moderator" jid="${FOCUS}" nick="focus"/></query></iq>`);
    alice.clear();
    alice.send(`<iq type="get" id="l3" to="${ROOM}"><query xmlns="${ADMIN}"><item affiliation="owner"/></query></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'forbidden' });
  });

  it('refuses malformed admin items with bad-request', () => {
    const { focus } = room();
    focus.send(`<iq type="set" id="x1" to="${ROOM}"><query xmlns="${ADMIN}"><item nick="bob" role="king"/></query></iq>`);
    assert.deepEqual(errorCondition(focus.next()), { type: 'modify', condition: 'bad-request' });
    focus.send(`<iq type="set" id="x2" to="${ROOM}"><query xmlns="${ADMIN}"/></iq>`);
    assert.deepEqual(errorCondition(focus.next()), { type: 'modify', condition: 'bad-request' });
  });
});
