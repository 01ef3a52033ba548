import assert from 'node:assert/strict';
import type { Element } from 'ltx';
import { fieldValue, parseDataForm } from '../../../../xmpp/protocol/dataform.ts';
import { parseDiscoInfo } from '../../../../xmpp/protocol/disco.ts';
import { FOCUS, MUC, NS_MUC, NS_MUC_USER, World, errorCondition, statusCodes } from './helpers.ts';

const ROOM = `room1@${MUC}`;
const OWNER = 'http://jabber.org/protocol/muc#owner';

function room() {
  const world = new World({ restrictRoomCreation: true });
  const focus = world.client(FOCUS);
  const alice = world.client('alice@example/web');
  focus.join('room1', 'focus');
  alice.join('room1', 'alice');
  focus.clear();
  return { world, focus, alice };
}

function formOf(iq: Element) {
  const x = iq.getChild('query', OWNER)?.getChild('x', 'jabber:x:data');
  assert.ok(x, `no form in ${iq.toString()}`);
  return parseDataForm(x);
}

function submit(fields: Record<string, string>): string {
  const inner = Object.entries(fields).map(([name, value]) => `<field var="${name}"><value>${value}</value></field>`).join('');
  return `<query xmlns="${OWNER}"><x xmlns="jabber:x:data" type="submit">
    <field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field>${inner}</x></query>`;
}

describe('MUC room configuration and destruction (XEP-0045 §10)', () => {
  it('gives owners the configuration form with Jitsi\'s meeting id', () => {
    const { world, focus } = room();
    focus.send(`<iq type="get" id="c1" to="${ROOM}"><query xmlns="${OWNER}"/></iq>`);
    const reply = focus.next();
    assert.equal(reply.attrs.type, 'result');
    const form = formOf(reply);
    assert.equal(form.type, 'form');
    assert.equal(fieldValue(form, 'FORM_TYPE'), 'http://jabber.org/protocol/muc#roomconfig');
    for (const name of ['roomname', 'roomdesc', 'persistentroom', 'publicroom', 'membersonly', 'moderatedroom',
      'passwordprotectedroom', 'roomsecret', 'whois', 'maxusers', 'changesubject', 'allowinvites']) {
      assert.ok(fieldValue(form, `muc#roomconfig_${name}`) !== undefined, `missing muc#roomconfig_${name}`);
    }
    assert.equal(fieldValue(form, 'muc#roomconfig_whois'), 'anyone');
    assert.equal(fieldValue(form, 'muc#roominfo_meetingId'), world.muc.room(ROOM)?.meetingId);
    assert.match(fieldValue(form, 'muc#roominfo_meetingId') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('refuses the form to non-owners with forbidden', () => {
    const { alice } = room();
    alice.clear();
    alice.send(`<iq type="get" id="c2" to="${ROOM}"><query xmlns="${OWNER}"/></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'auth', condition: 'forbidden' });
  });

  it('applies a submitted form (Jitsi\'s lock), tells everyone with status 104, and disco shows the lock', () => {
    const { world, focus, alice } = room();
    alice.clear();

    focus.send(`<iq type="set" id="c3" to="${ROOM}">${submit({
      'muc#roomconfig_roomsecret': 'pw', 'muc#roomconfig_passwordprotectedroom': '1', 'muc#roomconfig_whois': 'anyone',
    })}</iq>`);

    alice.receives(`<message type="groupchat" from="${ROOM}" to="alice@example/web"><x xmlns="${NS_MUC_USER}"><status code="104"/></x></message>`);
    focus.next();
    focus.receives(`<iq type="result" id="c3" from="${ROOM}" to="${FOCUS}"/>`);
    assert.equal(world.muc.room(ROOM)?.config.password, 'pw');

    alice.send(`<iq type="get" id="d" to="${ROOM}"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`);
    const features = parseDiscoInfo(alice.next()).features;
    assert.ok(features.includes('muc_passwordprotected'));
    assert.ok(!features.includes('muc_unsecured'));

    const bob = world.client('bob@example/web');
    bob.send(`<presence to="${ROOM}/bob"><x xmlns="${NS_MUC}"/></presence>`);
    assert.deepEqual(errorCondition(bob.next()), { type: 'auth', condition: 'not-authorized' });
  });

  it('sends nothing when a submission changes nothing, and accepts a cancelled form', () => {
    const { focus, alice } = room();
    alice.clear();
    focus.send(`<iq type="set" id="c4" to="${ROOM}">${submit({ 'muc#roomconfig_whois': 'anyone' })}</iq>`);
    focus.receives(`<iq type="result" id="c4" from="${ROOM}" to="${FOCUS}"/>`);
    focus.send(`<iq type="set" id="c5" to="${ROOM}"><query xmlns="${OWNER}"><x xmlns="jabber:x:data" type="cancel"/></query></iq>`);
    focus.receives(`<iq type="result" id="c5" from="${ROOM}" to="${FOCUS}"/>`);
    alice.receivesNothing();
  });

  it('refuses a form of another type or with bad values with bad-request', () => {
    const { focus } = room();
    focus.send(`<iq type="set" id="c6" to="${ROOM}"><query xmlns="${OWNER}"><x xmlns="jabber:x:data" type="submit">
      <field var="FORM_TYPE"><value>urn:other</value></field></x></query></iq>`);
    assert.deepEqual(errorCondition(focus.next()), { type: 'modify', condition: 'bad-request' });
    focus.send(`<iq type="set" id="c7" to="${ROOM}">${submit({ 'muc#roomconfig_membersonly': 'maybe' })}</iq>`);
    assert.deepEqual(errorCondition(focus.next()), { type: 'modify', condition: 'bad-request' });
  });

  it('lets only the service make a room persistent: an owner who is not a service admin is refused, and the room goes when it empties', () => {
    const { world, focus, alice } = room();
    focus.send(`<iq type="set" id="o1" to="${ROOM}"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="owner" jid="alice@example"/></query></iq>`);
    alice.clear();
    alice.send(`<iq type="set" id="p1" to="${ROOM}">${submit({ 'muc#roomconfig_persistentroom': '1' })}</iq>`);
    assert.deepEqual(errorCondition(alice.received.find((s) => s.name === 'iq')!), { type: 'auth', condition: 'forbidden' });
    assert.equal(world.muc.room(ROOM)?.config.persistent, false);
    alice.send(`<presence type="unavailable" to="${ROOM}/alice"/>`);
    focus.send(`<presence type="unavailable" to="${ROOM}/focus"/>`);
    assert.equal(world.muc.roomCount, 0, 'nothing left for anyone to join under the focus\'s nickname');
    // The focus (a service admin) may.
    const kept = new World({ restrictRoomCreation: true });
    const admin = kept.client(FOCUS);
    admin.join('room1', 'focus');
    admin.clear();
    admin.send(`<iq type="set" id="p2" to="${ROOM}">${submit({ 'muc#roomconfig_persistentroom': '1' })}</iq>`);
    assert.equal(admin.received.find((s) => s.name === 'iq')?.attrs.type, 'result');
    assert.equal(kept.muc.room(ROOM)?.config.persistent, true);
  });

  it('making a room members-only removes non-members with 322', () => {
    const { world, focus, alice } = room();
    alice.clear();
    focus.send(`<iq type="set" id="c8" to="${ROOM}">${submit({ 'muc#roomconfig_membersonly': 'true' })}</iq>`);
    const gone = alice.next();
    assert.equal(gone.attrs.type, 'unavailable');
    assert.deepEqual(statusCodes(gone), [322, 110]);
    assert.equal(world.muc.room(ROOM)?.occupants.size, 1);
  });

  it('destroys the room on the owner\'s request: each occupant gets unavailable with <destroy/>', () => {
    const { world, focus, alice } = room();
    const destroyed: string[] = [];
    world.muc.events.on('room-destroyed', (r) => destroyed.push(r.jid));
    alice.clear();

    focus.send(`<iq type="set" id="x1" to="${ROOM}"><query xmlns="${OWNER}"><destroy><reason>Conference ended</reason></destroy></query></iq>`);

    alice.receives(`<presence type="unavailable" from="${ROOM}/alice" to="alice@example/web"><x xmlns="${NS_MUC_USER}">
      <item affiliation="none" role="none"/><status code="110"/><destroy><reason>Conference ended</reason></destroy></x></presence>`);
    alice.receivesNothing();
    focus.next();
    focus.receives(`<iq type="result" id="x1" from="${ROOM}" to="${FOCUS}"/>`);
    assert.deepEqual(destroyed, [ROOM]);
    assert.equal(world.muc.roomCount, 0);
  });

  it('close() destroys every room, is idempotent, and refuses later stanzas', () => {
    const { world, focus, alice } = room();
    alice.clear();
    focus.clear();
    world.muc.close();
    world.muc.close();
    assert.ok(alice.next().getChild('x', NS_MUC_USER)?.getChild('destroy'));
    assert.equal(world.muc.roomCount, 0);
    alice.send(`<iq type="get" id="late" to="${ROOM}"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'cancel', condition: 'service-unavailable' });
  });
});
