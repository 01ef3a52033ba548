import assert from 'node:assert/strict';
import { FOCUS, MUC, NS_MUC, NS_MUC_USER, World, errorCondition, roomOfThree } from './helpers.ts';

const ROOM = `room1@${MUC}`;

const room = roomOfThree;

describe('MUC messages (XEP-0045 §7.4, §7.5, §7.8, §8.1)', () => {
  it('broadcasts a groupchat message to all occupants from the sender\'s occupant JID with the same id', () => {
    const { focus, alice, bob } = room();

    alice.send(`<message type="groupchat" id="u-1" to="${ROOM}"><body>hello</body><reply xmlns="urn:xmpp:reply:0" to="x"/></message>`);

    for (const [client, jid] of [[focus, FOCUS], [alice, 'alice@example/web'], [bob, 'bob@example/web']] as const) {
      client.receives(`<message type="groupchat" id="u-1" from="${ROOM}/alice" to="${jid}"><body>hello</body><reply xmlns="urn:xmpp:reply:0" to="x"/></message>`);
    }
    // one serialisation for the whole room
    assert.equal(focus.deliveries.at(-1), bob.deliveries.at(-1));
  });

  it('strips a muc#user element from a groupchat message', () => {
    const { bob, alice } = room();
    alice.send(`<message type="groupchat" id="u-2" to="${ROOM}"><x xmlns="${NS_MUC_USER}"><status code="104"/></x><body>hi</body></message>`);
    bob.receives(`<message type="groupchat" id="u-2" from="${ROOM}/alice" to="bob@example/web"><body>hi</body></message>`);
  });

  it('refuses groupchat from a non-occupant with not-acceptable', () => {
    const { world, bob } = room();
    const eve = world.client('eve@example/x');
    eve.send(`<message type="groupchat" id="e1" to="${ROOM}"><body>spam</body></message>`);
    assert.deepEqual(errorCondition(eve.next()), { type: 'cancel', condition: 'not-acceptable' });
    bob.receivesNothing();
  });

  it('delivers a private message to the occupant with the sender\'s occupant JID and a muc#user marker', () => {
    const { alice, bob } = room();
    alice.send(`<message type="chat" id="p1" to="${ROOM}/bob"><body>psst</body></message>`);
    bob.receives(`<message type="chat" id="p1" from="${ROOM}/alice" to="bob@example/web"><body>psst</body><x xmlns="${NS_MUC_USER}"/></message>`);
    alice.receivesNothing();
  });

  it('answers a private message to an unknown nick with item-not-found, and one from a non-occupant with not-acceptable', () => {
    const { world, alice } = room();
    alice.send(`<message type="chat" id="p2" to="${ROOM}/nobody"><body>?</body></message>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'cancel', condition: 'item-not-found' });
    const eve = world.client('eve@example/x');
    eve.send(`<message type="chat" id="p3" to="${ROOM}/bob"><body>?</body></message>`);
    assert.deepEqual(errorCondition(eve.next()), { type: 'cancel', condition: 'not-acceptable' });
  });

  it('answers a message to a room that does not exist with item-not-found', () => {
    const { world } = room();
    const eve = world.client('eve@example/x');
    eve.send(`<message type="groupchat" id="n1" to="nope@${MUC}"><body>?</body></message>`);
    assert.deepEqual(errorCondition(eve.next()), { type: 'cancel', condition: 'item-not-found' });
  });

  it('lets moderators change the subject, which newcomers then receive', () => {
    const { world, focus, alice, bob } = room();
    focus.send(`<message type="groupchat" to="${ROOM}"><subject>Weekly sync</subject></message>`);
    bob.receives(`<message type="groupchat" from="${ROOM}/focus" to="bob@example/web"><subject>Weekly sync</subject></message>`);
    alice.clear();

    alice.send(`<message type="groupchat" to="${ROOM}"><subject>Mine now</subject></message>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'forbidden' });
    assert.equal(world.muc.room(ROOM)?.subject, 'Weekly sync');

    const carol = world.client('carol@example/web');
    carol.send(`<presence to="${ROOM}/carol"><x xmlns="${NS_MUC}"/></presence>`);
    const last = carol.received.at(-1);
    assert.equal(last?.getChildText('subject'), 'Weekly sync');
    assert.equal(last?.attrs.from, `${ROOM}/focus`);
  });

  it('lets participants change the subject when the room allows it', () => {
    const { world, alice } = room({ roomDefaults: { changeSubject: true } });
    alice.send(`<message type="groupchat" to="${ROOM}"><subject>Ours</subject></message>`);
    assert.equal(world.muc.room(ROOM)?.subject, 'Ours');
  });

  it('replays the last messages with a delay stamp before the subject, and honours maxstanzas="0"', () => {
    const { world, alice } = room({ maxHistoryMessages: 2 });
    for (const text of ['one', 'two', 'three']) alice.send(`<message type="groupchat" id="${text}" to="${ROOM}"><body>${text}</body></message>`);
    alice.send(`<message type="groupchat" id="nobody" to="${ROOM}"><active xmlns="http://jabber.org/protocol/chatstates"/></message>`);

    const carol = world.client('carol@example/web');
    carol.send(`<presence to="${ROOM}/carol"><x xmlns="${NS_MUC}"/></presence>`);
    carol.received.splice(0, 4); // focus, alice, bob, self
    carol.receives(`<message type="groupchat" id="two" from="${ROOM}/alice" to="carol@example/web"><body>two</body>
      <delay xmlns="urn:xmpp:delay" from="${ROOM}" stamp="2026-01-01T00:00:00.000Z"/></message>`);
    carol.receives(`<message type="groupchat" id="three" from="${ROOM}/alice" to="carol@example/web"><body>three</body>
      <delay xmlns="urn:xmpp:delay" from="${ROOM}" stamp="*"/></message>`);
    carol.receives(`<message type="groupchat" from="${ROOM}" to="carol@example/web"><subject/></message>`);

    const dave = world.client('dave@example/web');
    dave.send(`<presence to="${ROOM}/dave"><x xmlns="${NS_MUC}"><history maxstanzas="0"/></x></presence>`);
    assert.deepEqual(dave.received.slice(5).map((m) => m.getChild('subject') !== undefined), [true]);
  });

  it('in a members-only room, a moderator\'s invitation makes the invitee a member and is forwarded without the password', () => {
    const { world, focus } = room({ roomDefaults: { membersOnly: true, passwordProtected: true, password: 'pw' } });
    const guest = world.client('guest@guest.example/lobby');
    guest.send(`<presence to="${ROOM}/guest"><x xmlns="${NS_MUC}"><password>pw</password></x></presence>`);
    assert.deepEqual(errorCondition(guest.next()), { type: 'auth', condition: 'registration-required' });

    focus.send(`<message to="${ROOM}"><x xmlns="${NS_MUC_USER}"><invite to="guest@guest.example/lobby"><reason>come in</reason></invite></x></message>`);

    guest.receives(`<message from="${ROOM}" to="guest@guest.example/lobby">
      <x xmlns="${NS_MUC_USER}"><invite from="${FOCUS}"><reason>come in</reason></invite></x>
      <x xmlns="jabber:x:conference" jid="${ROOM}">come in</x></message>`);
    assert.equal(world.muc.room(ROOM)?.affiliationOf('guest@guest.example'), 'member');
    guest.send(`<presence to="${ROOM}/guest"><x xmlns="${NS_MUC}"><password>pw</password></x></presence>`);
    assert.equal(world.muc.room(ROOM)?.occupants.get('guest')?.role, 'participant');
  });

  it('refuses invitations to a members-only room from plain members', () => {
    const world = new World({ roomDefaults: { membersOnly: true } });
    const focus = world.client(FOCUS);
    focus.join('room1', 'focus');
    focus.send(`<iq type="set" id="m" to="${ROOM}"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="alice@example"/></query></iq>`);
    const alice = world.client('alice@example/web');
    alice.join('room1', 'alice');
    alice.send(`<message to="${ROOM}"><x xmlns="${NS_MUC_USER}"><invite to="eve@example"/></x></message>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'forbidden' });
    assert.equal(world.muc.room(ROOM)?.affiliationOf('eve@example'), 'none');
  });

  it('relays one invitation per message, from occupants only, with nothing of the original but the invitation', () => {
    const { world, focus } = room();
    const outsider = world.client('mallory@example/x');
    const victim = world.client('victim@example/v');
    outsider.send(`<message to="${ROOM}"><body>${'spam '.repeat(100)}</body><x xmlns="${NS_MUC_USER}"><invite to="victim@example/v"/></x></message>`);
    assert.deepEqual(errorCondition(outsider.next()), { type: 'cancel', condition: 'not-acceptable' });
    focus.send(`<message to="${ROOM}"><x xmlns="${NS_MUC_USER}"><invite to="victim@example/v"/><invite to="victim@example/v"/></x></message>`);
    assert.deepEqual(errorCondition(focus.next()), { type: 'modify', condition: 'bad-request' });
    assert.equal(victim.received.length, 0, 'nothing reached the victim');
    focus.send(`<message to="${ROOM}" id="inv1"><body>big body</body><x xmlns="${NS_MUC_USER}"><invite to="victim@example/v"/></x></message>`);
    const relayed = victim.next();
    assert.equal(relayed.attrs.id, 'inv1');
    assert.equal(relayed.getChild('body'), undefined, 'the body is not relayed');
  });

  it('relays a decline only in answer to an invitation, to its inviter, with nothing of the original but the decline', () => {
    const { world, focus, alice } = room();
    const eve = world.client('eve@guest.example/x');
    // Nobody invited eve: her "decline", carrying a subject and a body, goes nowhere.
    alice.clear();
    eve.send(`<message to="${ROOM}" id="d1"><x xmlns="${NS_MUC_USER}"><decline to="${ROOM}/alice"/></x><subject>Meeting moved</subject><body>pwned</body></message>`);
    assert.deepEqual(errorCondition(eve.next()), { type: 'cancel', condition: 'not-acceptable' });
    alice.receivesNothing();
    // Invited by the focus, she declines: the focus gets the decline alone, whatever she addressed it to.
    focus.send(`<message to="${ROOM}"><x xmlns="${NS_MUC_USER}"><invite to="eve@guest.example"/></x></message>`);
    eve.clear();
    focus.clear();
    eve.send(`<message to="${ROOM}" id="d2"><x xmlns="${NS_MUC_USER}"><decline to="${ROOM}/alice"><reason>${'busy '.repeat(200)}</reason></decline></x><subject>Meeting moved</subject><body>pwned</body></message>`);
    const relayed = focus.next();
    assert.equal(relayed.attrs.from, ROOM);
    assert.equal(relayed.getChild('body'), undefined, 'no body');
    assert.equal(relayed.getChild('subject'), undefined, 'no subject');
    const declined = relayed.getChild('x', NS_MUC_USER)!.getChild('decline')!;
    assert.equal(declined.attrs.from, 'eve@guest.example/x');
    assert.equal(declined.getChildText('reason')!.length, 500, 'its reason shortened');
    alice.receivesNothing();
    // Once.
    eve.send(`<message to="${ROOM}" id="d3"><x xmlns="${NS_MUC_USER}"><decline to="${FOCUS}"/></x></message>`);
    assert.deepEqual(errorCondition(eve.next()), { type: 'cancel', condition: 'not-acceptable' });
  });

  it('never lifts a ban through an invitation', () => {
    const world = new World({ roomDefaults: { membersOnly: true } });
    const focus = world.client(FOCUS);
    focus.join('room1', 'focus');
    focus.send(`<iq type="set" id="b" to="${ROOM}"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="outcast" jid="eve@example"/></query></iq>`);
    focus.send(`<message to="${ROOM}"><x xmlns="${NS_MUC_USER}"><invite to="eve@example"/></x></message>`);
    assert.equal(world.muc.room(ROOM)?.affiliationOf('eve@example'), 'outcast');
  });

  it('refuses a plain chat message to the bare room', () => {
    const { alice } = room();
    alice.send(`<message type="chat" to="${ROOM}"><body>?</body></message>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'cancel', condition: 'service-unavailable' });
  });
});
