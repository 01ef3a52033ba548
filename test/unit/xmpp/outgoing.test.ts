import assert from 'node:assert/strict';
import { Element, parse } from 'ltx';
import { Outgoing } from '../../../xmpp/outgoing.ts';

/** An element that counts its serialisations. */
class CountingElement extends Element {
  serialisations = 0;
  override toString(): string {
    this.serialisations++;
    return super.toString();
  }
}

describe('xmpp/outgoing', () => {
  it('serialises with the recipient as the first attribute and the rest unchanged', () => {
    const el = parse('<message xmlns="jabber:client" from="room@muc/alice" type="groupchat"><body>hi &amp; bye</body></message>');
    const out = new Outgoing(el);
    const text = out.serialisedFor('bob@meet.jitsi/web');
    assert.equal(text, '<message to="bob@meet.jitsi/web" xmlns="jabber:client" from="room@muc/alice" type="groupchat"><body>hi &amp; bye</body></message>');
  });

  it('serialises an element without attributes or children', () => {
    assert.equal(new Outgoing(new Element('presence')).serialisedFor('a@b/c'), '<presence to="a@b/c"/>');
  });

  it('escapes the recipient so it cannot break out of the attribute', () => {
    const out = new Outgoing(new Element('message', { type: 'chat' }));
    const text = out.serialisedFor('a&b@x/"><evil/>\'');
    const reparsed = parse(text);
    assert.equal(reparsed.attrs.to, 'a&b@x/"><evil/>\'');
    assert.equal(reparsed.getChildElements().length, 0);
    assert.ok(!text.includes('<evil'));
  });

  it('serialises the stanza once for any number of recipients', () => {
    const el = new CountingElement('message', { from: 'room@muc/alice' });
    el.c('body').t('hello');
    const out = new Outgoing(el);
    const recipients = ['a@x/1', 'b@x/2', 'c@x/3'];
    const copies = recipients.map((to) => out.serialisedFor(to));
    assert.equal(el.serialisations, 1);
    assert.deepEqual(copies.map((c) => parse(c).attrs.to), recipients);
    const tails = copies.map((c, i) => c.slice(`<message to="${recipients[i]}"`.length));
    assert.deepEqual(tails, Array(3).fill(' from="room@muc/alice"><body>hello</body></message>'));
  });

  it('elementFor gives an addressed copy that shares the children and leaves the original alone', () => {
    const el = parse('<presence from="room@muc/alice"><x xmlns="http://jabber.org/protocol/muc#user"/></presence>');
    const out = new Outgoing(el);
    const copy = out.elementFor('bob@meet.jitsi/web');
    assert.equal(copy.attrs.to, 'bob@meet.jitsi/web');
    assert.equal(copy.attrs.from, 'room@muc/alice');
    assert.equal(copy.children, el.children);
    assert.equal(el.attrs.to, undefined);
  });

  it('of() takes the recipient off a unicast stanza without touching the original', () => {
    const el = parse('<iq to="bob@meet.jitsi/web" from="alice@meet.jitsi/x" type="get" id="1"><ping xmlns="urn:xmpp:ping"/></iq>');
    const { out, to } = Outgoing.of(el);
    assert.equal(to, 'bob@meet.jitsi/web');
    assert.equal(out.element.attrs.to, undefined);
    assert.equal(el.attrs.to, 'bob@meet.jitsi/web');
    assert.equal(out.element.children, el.children);
    assert.equal(parse(out.serialisedFor(to)).attrs.to, 'bob@meet.jitsi/web');
  });

  it('of() gives an empty recipient for a stanza without one', () => {
    assert.equal(Outgoing.of(new Element('presence')).to, '');
  });
});
