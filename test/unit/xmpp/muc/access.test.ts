import assert from 'node:assert/strict';
import { parse as parseXml } from 'ltx';
import { StanzaError } from '../../../../xmpp/errors.ts';
import { FOCUS, MUC, NS_MUC, NS_MUC_USER, World, errorCondition, statusCodes } from './helpers.ts';

const ROOM = `room1@${MUC}`;

describe('MUC access control: creation, passwords, members, size, policy (§7.2.6–§7.2.10)', () => {
  it('refuses room creation to non-admins when creation is restricted, and creates nothing', () => {
    const world = new World({ restrictRoomCreation: true });
    const guest = world.client('guest@guest.example/x');

    guest.send(`<presence to="${ROOM}/guest"><x xmlns="${NS_MUC}"/></presence>`);

    assert.deepEqual(errorCondition(guest.next()), { type: 'cancel', condition: 'not-allowed' });
    assert.equal(world.muc.roomCount, 0);
  });

  it('refuses joins beyond the room size with service-unavailable (wait), but admits the focus', () => {
    const world = new World({ maxOccupantsPerRoom: 2 });
    const [a, b, c] = ['a', 'b', 'c'].map((n) => world.client(`${n}@example/r`));
    a?.join('room1', 'a');
    b?.join('room1', 'b');
    c?.send(`<presence to="${ROOM}/c"><x xmlns="${NS_MUC}"/></presence>`);
    assert.deepEqual(errorCondition(c?.next() ?? assert.fail()), { type: 'wait', condition: 'service-unavailable' });
    const focus = world.client(FOCUS);
    focus.send(`<presence to="${ROOM}/focus"><x xmlns="${NS_MUC}"/></presence>`);
    assert.equal(world.muc.room(ROOM)?.occupants.size, 3);
  });

  it('lets a join policy refuse a join with its own error', () => {
    const world = new World();
    const seen: string[] = [];
    world.muc.setJoinPolicy(({ room, nick }) => {
      seen.push(`${room ? 'existing' : 'new'}:${nick}`);
      if (nick === 'bad') throw new StanzaError('modify', 'not-acceptable', 'bad nick');
    });
    const alice = world.client('alice@example/web');
    alice.send(`<presence to="${ROOM}/bad"><x xmlns="${NS_MUC}"/></presence>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'modify', condition: 'not-acceptable' });
    assert.equal(world.muc.roomCount, 0);
    alice.join('room1', 'good');
    assert.deepEqual(seen, ['new:bad', 'new:good']);
  });

  it('answers a bug in a policy with internal-server-error and stays usable', () => {
    const world = new World();
    world.muc.setJoinPolicy(() => {
      throw new Error('oops');
    });
    const alice = world.client('alice@example/web');
    alice.send(`<presence to="${ROOM}/alice"><x xmlns="${NS_MUC}"/></presence>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'cancel', condition: 'internal-server-error' });
    world.muc.setJoinPolicy(undefined);
    alice.join('room1', 'alice');
    assert.equal(world.muc.occupantCount, 1);
  });

  function lockedRoom(): World {
    const world = new World({ roomDefaults: { passwordProtected: true, password: 's3cret' } });
    world.client(FOCUS).join('room1', 'focus');
    return world;
  }

  it('refuses a join without a password with not-authorized (auth)', () => {
    const world = lockedRoom();
    const alice = world.client('alice@example/web');
    alice.send(`<presence to="${ROOM}/alice"><x xmlns="${NS_MUC}"/></presence>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'not-authorized' });
    alice.send(`<presence to="${ROOM}/alice"/>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'not-authorized' });
  });

  it('refuses a wrong password with not-authorized (auth)', () => {
    const world = lockedRoom();
    const alice = world.client('alice@example/web');
    alice.send(`<presence to="${ROOM}/alice"><x xmlns="${NS_MUC}"><password>s3cret-not</password></x></presence>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'not-authorized' });
    assert.equal(world.muc.occupantCount, 1);
  });

  it('admits the right password, and never relays it', () => {
    const world = lockedRoom();
    const alice = world.client('alice@example/web');
    alice.send(`<presence to="${ROOM}/alice"><x xmlns="${NS_MUC}"><password>s3cret</password></x></presence>`);
    alice.next();
    assert.deepEqual(statusCodes(alice.next()), [100, 110]);
    assert.ok(!world.muc.room(ROOM)?.occupants.get('alice')?.presence.toString().includes('s3cret'));
  });

  it('refuses a non-member with registration-required (auth)', () => {
    const world = new World({ roomDefaults: { membersOnly: true } });
    world.client(FOCUS).join('room1', 'focus');
    const alice = world.client('alice@example/web');
    alice.send(`<presence to="${ROOM}/alice"><x xmlns="${NS_MUC}"/></presence>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'registration-required' });
  });

  it('only lets users of the allowed domains into the internal MUC, and relays bridge stats intact', () => {
    const world = new World({ allowedUserDomains: new Set(['auth.example']) });
    const focus = world.client(FOCUS);
    const jvb = world.client('jvb@auth.example/jvb-1');
    const outsider = world.client('alice@example/web');
    focus.join('jvbbrewery', 'focus');
    const stats = `<stats xmlns="http://jitsi.org/protocol/colibri"><stat name="stress_level" value="0.05"/><stat name="region" value="eu-west"/></stats>`;

    jvb.send(`<presence to="jvbbrewery@${MUC}/jvb1"><x xmlns="${NS_MUC}"/>${stats}</presence>`);
    outsider.send(`<presence to="jvbbrewery@${MUC}/spy"><x xmlns="${NS_MUC}"/></presence>`);

    focus.receives(`<presence from="jvbbrewery@${MUC}/jvb1" to="${FOCUS}">${stats}
      <x xmlns="${NS_MUC_USER}"><item affiliation="none" role="participant" jid="jvb@auth.example/jvb-1"/></x></presence>`);
    assert.deepEqual(errorCondition(outsider.next()), { type: 'auth', condition: 'forbidden' });
    assert.equal(world.muc.occupantCount, 2);
  });
  it('removes an occupant whose real JID cannot be reached (the bounce comes back as a presence error)', () => {
    const world = new World();
    const alice = world.client('alice@example/web');
    alice.join('room1', 'alice');
    // Never bound: every stanza the room sends it bounces with remote-server-not-found.
    world.router.route(parseXml(`<presence from="ghost@nowhere.example/x" to="${ROOM}/ghost"><x xmlns="${NS_MUC}"/></presence>`));
    assert.equal(alice.next().attrs.from, `${ROOM}/ghost`);
    const gone = alice.next();
    assert.equal(gone.attrs.type, 'unavailable');
    assert.deepEqual(statusCodes(gone), [307]);
    assert.equal(world.muc.occupantCount, 1);
  });
});
