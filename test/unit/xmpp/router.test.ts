import assert from 'node:assert/strict';
import { Element, parse } from 'ltx';
import { pino } from 'pino';
import { parseStanzaError } from '../../../xmpp/errors.ts';
import { parseJid, type Jid } from '../../../xmpp/jid.ts';
import { Outgoing } from '../../../xmpp/outgoing.ts';
import { Router, type DomainService, type Recipient } from '../../../xmpp/router.ts';

/** A bound resource that keeps what it receives, parsed back from the wire form. */
class FakeRecipient implements Recipient {
  readonly jid: Jid;
  readonly received: Element[] = [];
  constructor(full: string) {
    this.jid = parseJid(full);
  }
  deliver(out: Outgoing): void {
    this.received.push(parse(out.serialisedFor(this.jid.full)));
  }
}

class FakeService implements DomainService {
  readonly received: Element[] = [];
  /** Like a MUC service: departures of vanished clients must reach it. */
  readonly tracksPresence = true;
  constructor(readonly domain: string) {}
  receive(stanza: Element): void {
    this.received.push(stanza);
  }
}

/** Log lines written at error level, to see what the router reports as our bug. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

function stanza(xml: string): Element {
  return parse(xml);
}

describe('xmpp/router', () => {
  let router: Router;
  let alice: FakeRecipient;
  let bob: FakeRecipient;
  let muc: FakeService;

  beforeEach(() => {
    router = new Router(pino({ level: 'silent' }));
    alice = new FakeRecipient('alice@meet.jitsi/web');
    bob = new FakeRecipient('bob@meet.jitsi/phone');
    muc = new FakeService('muc.meet.jitsi');
    router.bind(alice);
    router.bind(bob);
    router.addService(muc);
  });

  describe('delivery', () => {
    it('delivers to a bound full JID, addressed to it', () => {
      router.route(stanza('<message xmlns="jabber:client" from="alice@meet.jitsi/web" to="bob@meet.jitsi/phone" type="chat"><body>hi</body></message>'));
      assert.equal(bob.received.length, 1);
      const got = bob.received[0]!;
      assert.equal(got.attrs.to, 'bob@meet.jitsi/phone');
      assert.equal(got.attrs.from, 'alice@meet.jitsi/web');
      assert.equal(got.getChildText('body'), 'hi');
      assert.equal(alice.received.length, 0);
    });

    it('finds the recipient by its normalised JID', () => {
      router.route(stanza('<message from="alice@meet.jitsi/web" to="BOB@Meet.Jitsi/phone"><body>hi</body></message>'));
      assert.equal(bob.received.length, 1);
    });

    it('hands a stanza for a domain to the service owning that domain', () => {
      const presence = stanza('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"/>');
      router.route(presence);
      assert.deepEqual(muc.received, [presence]);
    });

    it('hands a stanza for an unbound full JID to the service owning its domain', () => {
      const host = new FakeService('meet.jitsi');
      router.addService(host);
      router.route(stanza('<iq type="get" id="1" from="alice@meet.jitsi/web" to="carol@meet.jitsi/gone"><ping xmlns="urn:xmpp:ping"/></iq>'));
      assert.equal(host.received.length, 1);
    });

    it('delivers a pre-serialised stanza with deliverTo, and says false for an unbound JID', () => {
      const out = new Outgoing(stanza('<message from="room@muc.meet.jitsi/carol" type="groupchat"><body>x</body></message>'));
      assert.equal(router.deliverTo('bob@meet.jitsi/phone', out), true);
      assert.equal(router.deliverTo('nobody@meet.jitsi/x', out), false);
      assert.equal(bob.received.length, 1);
      assert.equal(bob.received[0]!.attrs.to, 'bob@meet.jitsi/phone');
    });

    it('counts each delivered stanza by kind', () => {
      const kinds: string[] = [];
      const counted = new Router(pino({ level: 'silent' }), { stanzaOut: (kind) => kinds.push(kind) });
      counted.bind(bob);
      counted.route(stanza('<message from="x@meet.jitsi/y" to="bob@meet.jitsi/phone"/>'));
      counted.route(stanza('<iq type="result" id="a" from="x@meet.jitsi/y" to="bob@meet.jitsi/phone"/>'));
      assert.deepEqual(kinds, ['message', 'iq']);
    });

    it('logs a recipient that throws as our bug and keeps routing', () => {
      const { log, lines } = capturingLogger();
      const r = new Router(log);
      r.bind({ jid: parseJid('broken@meet.jitsi/x'), deliver: () => { throw new Error('boom'); } });
      r.bind(bob);
      r.route(stanza('<message from="bob@meet.jitsi/phone" to="broken@meet.jitsi/x"/>'));
      r.route(stanza('<message from="x@meet.jitsi/y" to="bob@meet.jitsi/phone"/>'));
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!.msg, 'delivery failed');
      assert.equal(bob.received.length, 1);
    });
  });

  describe('bounces', () => {
    it('answers a stanza for an unknown domain with remote-server-not-found', () => {
      router.route(stanza('<iq type="get" id="q1" from="alice@meet.jitsi/web" to="elsewhere.example"><query xmlns="jabber:iq:version"/></iq>'));
      assert.equal(alice.received.length, 1);
      const reply = alice.received[0]!;
      assert.equal(reply.attrs.type, 'error');
      assert.equal(reply.attrs.id, 'q1');
      assert.equal(reply.attrs.from, 'elsewhere.example');
      assert.equal(reply.attrs.to, 'alice@meet.jitsi/web');
      assert.deepEqual(parseStanzaError(reply), { type: 'cancel', condition: 'remote-server-not-found', text: 'no route to elsewhere.example' });
    });

    it('answers a stanza with a malformed recipient with jid-malformed', () => {
      router.route(stanza('<message id="m1" from="alice@meet.jitsi/web" to="@meet.jitsi"><body>x</body></message>'));
      assert.equal(alice.received.length, 1);
      assert.equal(parseStanzaError(alice.received[0]!)?.condition, 'jid-malformed');
      assert.equal(parseStanzaError(alice.received[0]!)?.type, 'modify');
    });

    it('answers a stanza without a recipient with jid-malformed', () => {
      router.route(stanza('<message id="m1" from="alice@meet.jitsi/web"><body>x</body></message>'));
      assert.equal(parseStanzaError(alice.received[0]!)?.condition, 'jid-malformed');
    });

    const unanswered: Array<[string, string]> = [
      ['an error message', '<message type="error" from="alice@meet.jitsi/web" to="nowhere.example"/>'],
      ['an IQ result', '<iq type="result" id="1" from="alice@meet.jitsi/web" to="nowhere.example"/>'],
      ['an IQ error', '<iq type="error" id="1" from="alice@meet.jitsi/web" to="nowhere.example"/>'],
      ['an unavailable presence', '<presence type="unavailable" from="alice@meet.jitsi/web" to="nowhere.example"/>'],
      ['a subscription presence', '<presence type="subscribe" from="alice@meet.jitsi/web" to="x@nowhere.example"/>'],
      ['an error presence', '<presence type="error" from="alice@meet.jitsi/web" to="x@nowhere.example"/>'],
    ];
    for (const [name, xml] of unanswered) {
      it(`does not answer ${name} (no error loops)`, () => {
        router.route(stanza(xml));
        assert.deepEqual(alice.received, []);
      });
    }

    it('stops after one bounce when the sender cannot be reached either', () => {
      const kinds: string[] = [];
      const r = new Router(pino({ level: 'silent' }), { stanzaOut: (kind) => kinds.push(kind) });
      // Sender and recipient are both unroutable: the error reply bounces once and is then dropped.
      assert.doesNotThrow(() => r.route(stanza('<message id="x" from="ghost@gone.example/r" to="nobody@nowhere.example"><body>x</body></message>')));
      assert.deepEqual(kinds, []);
    });

    it('drops the bounce of a stanza whose sender is malformed', () => {
      router.route(stanza('<message from="@@bad" to="nowhere.example"/>'));
      assert.deepEqual(alice.received, []);
      assert.deepEqual(bob.received, []);
    });
  });

  describe('directed presence (RFC 6121 §4.6)', () => {
    it('sends unavailable presence to every full JID a resource announced itself to, on unbind', () => {
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"/>'));
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="bob@meet.jitsi/phone"/>'));
      muc.received.length = 0;
      bob.received.length = 0;
      router.unbind(alice, 'connection lost');
      assert.equal(muc.received.length, 1);
      const toRoom = muc.received[0]!;
      assert.equal(toRoom.attrs.type, 'unavailable');
      assert.equal(toRoom.attrs.from, 'alice@meet.jitsi/web');
      assert.equal(toRoom.attrs.to, 'room@muc.meet.jitsi/alice');
      assert.equal(toRoom.getChildText('status'), 'connection lost');
      assert.equal(bob.received.length, 1);
      assert.equal(bob.received[0]!.attrs.type, 'unavailable');
    });

    it('remembers no presence sent to addresses that neither exist nor care, and caps what it remembers', () => {
      for (let i = 0; i < 100; i++) router.route(stanza(`<presence from="alice@meet.jitsi/web" to="nobody@nowhere.example/${i}"/>`));
      for (let i = 0; i < 400; i++) router.route(stanza(`<presence from="alice@meet.jitsi/web" to="room${i}@muc.meet.jitsi/alice"/>`));
      muc.received.length = 0;
      router.unbind(alice, 'connection lost');
      assert.equal(muc.received.length, 256, 'at most 256 remembered targets');
    });

    it('refuses available presence it could not remember (resource-constraint) rather than route it', () => {
      for (let i = 0; i < 256; i++) router.route(stanza(`<presence from="alice@meet.jitsi/web" to="room${i}@muc.meet.jitsi/alice"/>`));
      muc.received.length = 0;
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="real@muc.meet.jitsi/alice"/>'));
      assert.deepEqual(muc.received, [], 'not routed: its departure would never be announced');
      const error = alice.received.at(-1)!;
      assert.equal(error.name, 'presence');
      assert.equal(error.attrs.type, 'error');
      assert.equal(error.attrs.from, 'real@muc.meet.jitsi/alice');
      assert.equal(parseStanzaError(error)?.condition, 'resource-constraint');
      // A presence update to an address already remembered, and unavailable presence, still pass.
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="room0@muc.meet.jitsi/alice"><show>away</show></presence>'));
      router.route(stanza('<presence type="unavailable" from="alice@meet.jitsi/web" to="room1@muc.meet.jitsi/alice"/>'));
      assert.equal(muc.received.length, 2);
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="real@muc.meet.jitsi/alice"/>'));
      assert.equal(muc.received.length, 3, 'room for one more once a room was left');
    });

    it('forgets a target that answered the presence with an error (a room that could not be joined)', () => {
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"/>'));
      router.route(stanza('<presence type="error" from="room@muc.meet.jitsi/alice" to="alice@meet.jitsi/web"><error type="cancel"><not-allowed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>'));
      muc.received.length = 0;
      router.unbind(alice);
      assert.deepEqual(muc.received, []);
    });

    it('forgets a target the resource already left with unavailable presence', () => {
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"/>'));
      router.route(stanza('<presence type="unavailable" from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"/>'));
      muc.received.length = 0;
      router.unbind(alice);
      assert.deepEqual(muc.received, []);
    });

    it('announces the departure once per target however often presence was sent', () => {
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"/>'));
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"><show>away</show></presence>'));
      muc.received.length = 0;
      router.unbind(alice);
      assert.equal(muc.received.length, 1);
    });

    it('does not track presence to a bare JID or a domain', () => {
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi"/>'));
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="muc.meet.jitsi"/>'));
      muc.received.length = 0;
      router.unbind(alice);
      assert.deepEqual(muc.received, []);
    });

    it('does not track presence from an address that is not bound here', () => {
      router.route(stanza('<presence from="carol@meet.jitsi/x" to="room@muc.meet.jitsi/carol"/>'));
      muc.received.length = 0;
      const carol = new FakeRecipient('carol@meet.jitsi/x');
      router.bind(carol);
      router.unbind(carol);
      assert.deepEqual(muc.received, []);
    });

    it('uses "Disconnected" as the default status', () => {
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"/>'));
      muc.received.length = 0;
      router.unbind(alice);
      assert.equal(muc.received[0]!.getChildText('status'), 'Disconnected');
    });
  });

  describe('binding', () => {
    it('refuses to bind a full JID twice', () => {
      assert.throws(() => router.bind(new FakeRecipient('alice@meet.jitsi/web')), /already bound/);
    });

    it('lists the resources of a bare JID and forgets them on unbind', () => {
      const alice2 = new FakeRecipient('alice@meet.jitsi/phone');
      router.bind(alice2);
      assert.deepEqual([...router.resourcesOf('alice@meet.jitsi')], [alice, alice2]);
      assert.equal(router.resourceCount, 3);
      router.unbind(alice);
      router.unbind(alice2);
      assert.deepEqual([...router.resourcesOf('alice@meet.jitsi')], []);
      assert.equal(router.resource('alice@meet.jitsi/web'), undefined);
      assert.equal(router.resourceCount, 1);
    });

    it('rebind moves the full JID to a new recipient; the old one can no longer unbind it', () => {
      router.route(stanza('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"/>'));
      const resumed = new FakeRecipient('alice@meet.jitsi/web');
      router.rebind(resumed);
      router.route(stanza('<message from="bob@meet.jitsi/phone" to="alice@meet.jitsi/web"/>'));
      assert.equal(resumed.received.length, 1);
      assert.equal(alice.received.length, 0);
      assert.deepEqual([...router.resourcesOf('alice@meet.jitsi')], [resumed]);
      muc.received.length = 0;
      router.unbind(alice);
      assert.equal(router.resource('alice@meet.jitsi/web'), resumed, 'the stale recipient unbinds nothing');
      assert.deepEqual(muc.received, []);
      router.unbind(resumed);
      assert.equal(muc.received.length, 1, 'directed presence survives the rebind');
    });

    it('refuses to rebind a full JID that is not bound', () => {
      assert.throws(() => router.rebind(new FakeRecipient('carol@meet.jitsi/x')), /not bound/);
    });

    it('refuses a second service for the same domain; the remover frees the domain', () => {
      assert.throws(() => router.addService(new FakeService('muc.meet.jitsi')), /already served/);
      const other = new FakeService('focus.meet.jitsi');
      const remove = router.addService(other);
      assert.equal(router.hasService('focus.meet.jitsi'), true);
      remove();
      assert.equal(router.hasService('focus.meet.jitsi'), false);
      router.route(stanza('<iq type="get" id="1" from="alice@meet.jitsi/web" to="focus.meet.jitsi"><x xmlns="y"/></iq>'));
      assert.deepEqual(other.received, []);
      assert.equal(parseStanzaError(alice.received[0]!)?.condition, 'remote-server-not-found');
    });

    it("a stale remover does not remove a newer service's domain", () => {
      const first = new FakeService('focus.meet.jitsi');
      const removeFirst = router.addService(first);
      removeFirst();
      const second = new FakeService('focus.meet.jitsi');
      router.addService(second);
      removeFirst();
      assert.equal(router.hasService('focus.meet.jitsi'), true);
    });
  });
});
