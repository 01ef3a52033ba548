import assert from 'node:assert/strict';
import { decodeProxyId, encodeProxyId } from '../../../../xmpp/muc/iq-proxy.ts';
import { FOCUS, MUC, World, errorCondition, roomOfThree } from './helpers.ts';

const ROOM = `room1@${MUC}`;
const JINGLE = 'urn:xmpp:jingle:1';

const room = () => roomOfThree();

describe('MUC IQ routing between occupants (XEP-0045 §7.2.1, Prosody handle_iq_to_occupant)', () => {
  it('forwards a request from the sender\'s occupant JID and routes the result back with the original id', () => {
    const { focus, alice } = room();

    focus.send(`<iq type="set" id="jingle-1" to="${ROOM}/alice"><jingle xmlns="${JINGLE}" action="session-initiate" sid="s1"><content name="audio"/></jingle></iq>`);

    const request = alice.receives(`<iq type="set" id="*" from="${ROOM}/focus" to="alice@example/web">
      <jingle xmlns="${JINGLE}" action="session-initiate" sid="s1"><content name="audio"/></jingle></iq>`);
    alice.send(`<iq type="result" id="${String(request.attrs.id)}" to="${ROOM}/focus"/>`);
    focus.receives(`<iq type="result" id="jingle-1" from="${ROOM}/alice" to="${FOCUS}"/>`);
  });

  it('routes an error reply back the same way, payload included', () => {
    const { focus, alice } = room();
    focus.send(`<iq type="get" id="d1" to="${ROOM}/alice"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`);
    const request = alice.next();
    assert.equal(request.getChild('query')?.attrs.xmlns, 'http://jabber.org/protocol/disco#info');
    alice.send(`<iq type="error" id="${String(request.attrs.id)}" to="${ROOM}/focus"><error type="cancel"><feature-not-implemented xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`);
    const reply = focus.next();
    assert.equal(reply.attrs.id, 'd1');
    assert.equal(reply.attrs.from, `${ROOM}/alice`);
    assert.deepEqual(errorCondition(reply), { type: 'cancel', condition: 'feature-not-implemented' });
  });

  it('keeps two senders\' identical ids apart (peer-to-peer Jingle next to the focus)', () => {
    const { focus, alice, bob } = room();
    focus.send(`<iq type="set" id="same" to="${ROOM}/alice"><ping xmlns="urn:example"/></iq>`);
    bob.send(`<iq type="set" id="same" to="${ROOM}/alice"><ping xmlns="urn:example"/></iq>`);
    const [fromFocus, fromBob] = [alice.next(), alice.next()];
    assert.notEqual(fromFocus.attrs.id, fromBob.attrs.id);
    alice.send(`<iq type="result" id="${String(fromBob.attrs.id)}" to="${ROOM}/bob"/>`);
    alice.send(`<iq type="result" id="${String(fromFocus.attrs.id)}" to="${ROOM}/focus"/>`);
    assert.equal(bob.next().attrs.id, 'same');
    assert.equal(focus.next().attrs.id, 'same');
  });

  it('drops a reply whose id was not made for that pair (no forged results)', () => {
    const { focus, alice, bob } = room();
    focus.send(`<iq type="get" id="q" to="${ROOM}/alice"><x xmlns="urn:example"/></iq>`);
    const forwarded = String(alice.next().attrs.id);
    bob.send(`<iq type="result" id="${forwarded}" to="${ROOM}/focus"/>`);
    bob.send(`<iq type="result" id="q" to="${ROOM}/focus"/>`);
    focus.receivesNothing();
    bob.receivesNothing();
  });

  it('answers a request from a non-occupant with not-acceptable, and one to an unknown nick with item-not-found', () => {
    const { world, alice } = room();
    const eve = world.client('eve@example/x');
    eve.send(`<iq type="get" id="e1" to="${ROOM}/alice"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`);
    assert.deepEqual(errorCondition(eve.next()), { type: 'cancel', condition: 'not-acceptable' });
    alice.receivesNothing();
    alice.send(`<iq type="get" id="a1" to="${ROOM}/nobody"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`);
    assert.deepEqual(errorCondition(alice.next()), { type: 'cancel', condition: 'item-not-found' });
  });

  it('answers an occupant\'s self-ping itself (XEP-0410)', () => {
    const { alice } = room();
    alice.send(`<iq type="get" id="sp" to="${ROOM}/alice"><ping xmlns="urn:xmpp:ping"/></iq>`);
    alice.receives(`<iq type="result" id="sp" from="${ROOM}/alice" to="alice@example/web"/>`);
  });

  it('routes a Colibri2 request to a bridge in the brewery and its answer back to the focus', () => {
    const world = new World({ allowedUserDomains: new Set(['auth.example']) });
    const focus = world.client(FOCUS);
    const jvb = world.client('jvb@auth.example/jvb-1');
    focus.join('jvbbrewery', 'focus');
    jvb.join('jvbbrewery', 'jvb1');
    focus.clear();
    focus.send(`<iq type="set" id="c2" to="jvbbrewery@${MUC}/jvb1"><conference-modify xmlns="jitsi:colibri2" meeting-id="m" create="true"/></iq>`);
    const request = jvb.next();
    assert.equal(request.attrs.from, `jvbbrewery@${MUC}/focus`);
    jvb.send(`<iq type="result" id="${String(request.attrs.id)}" to="jvbbrewery@${MUC}/focus"><conference-modified xmlns="jitsi:colibri2"/></iq>`);
    focus.receives(`<iq type="result" id="c2" from="jvbbrewery@${MUC}/jvb1" to="${FOCUS}"><conference-modified xmlns="jitsi:colibri2"/></iq>`);
  });

  it('encodes ids that decode only for the same sender and target', () => {
    const key = new Uint8Array(32).fill(7);
    const id = encodeProxyId(key, 'ab.c/ü', 's@x/1', 't@x/2');
    assert.equal(decodeProxyId(key, id, 's@x/1', 't@x/2'), 'ab.c/ü');
    assert.equal(decodeProxyId(key, id, 's@x/1', 't@x/3'), undefined);
    assert.equal(decodeProxyId(new Uint8Array(32), id, 's@x/1', 't@x/2'), undefined);
    assert.equal(decodeProxyId(key, 'garbage', 's@x/1', 't@x/2'), undefined);
  });
});
