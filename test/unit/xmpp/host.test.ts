import assert from 'node:assert/strict';
import { Element, parse } from 'ltx';
import { pino } from 'pino';
import { parseStanzaError, StanzaError } from '../../../xmpp/errors.ts';
import { ClientHost, type ClientHostOptions } from '../../../xmpp/host.ts';
import { parseJid, type Jid } from '../../../xmpp/jid.ts';
import type { Outgoing } from '../../../xmpp/outgoing.ts';
import { parseDiscoInfo, parseDiscoItems } from '../../../xmpp/protocol/disco.ts';
import { parseCredentials, parseExternalServices, type ExternalService } from '../../../xmpp/protocol/extdisco.ts';
import { Router, type Recipient } from '../../../xmpp/router.ts';

class FakeClient implements Recipient {
  readonly jid: Jid;
  readonly received: Element[] = [];
  constructor(private readonly router: Router, full: string) {
    this.jid = parseJid(full);
    router.bind(this);
  }
  deliver(out: Outgoing): void {
    this.received.push(parse(out.serialisedFor(this.jid.full)));
  }
  /** Sends as this client (the stream stamps `from`). */
  send(xml: string): void {
    const el = parse(xml);
    el.attrs.from = this.jid.full;
    this.router.route(el);
  }
  /** Sends a stanza and returns the single answer it got. */
  ask(xml: string): Element {
    this.received.length = 0;
    this.send(xml);
    assert.equal(this.received.length, 1, `expected one reply to ${xml}, got ${this.received.map(String).join(' ')}`);
    const reply = this.received[0]!;
    this.received.length = 0;
    return reply;
  }
}

const TURN: ExternalService[] = [
  { type: 'stun', host: 'turn.example.com', port: 3478 },
  { type: 'turn', host: 'turn.example.com', port: 3478, transport: 'udp', username: 'u', password: 'p', expires: '2026-09-01T12:00:00Z' },
];

describe('xmpp/host ClientHost', () => {
  let router: Router;
  let alice: FakeClient;
  let requesters: string[];

  function addHost(overrides: Partial<ClientHostOptions> = {}): void {
    router.addService(new ClientHost(router, pino({ level: 'silent' }), { domain: 'meet.jitsi', version: '1.2.3', ...overrides }));
  }

  beforeEach(() => {
    router = new Router(pino({ level: 'silent' }));
    requesters = [];
    alice = new FakeClient(router, 'alice@meet.jitsi/web');
  });

  describe('the domain itself', () => {
    beforeEach(() => {
      addHost({
        items: () => [{ jid: 'muc.meet.jitsi', name: 'Conferences' }, { jid: 'focus.meet.jitsi' }],
        identities: () => [{ category: 'component', type: 'speakerstats', name: 'speakerstats.meet.jitsi' }],
        externalServices: (requester) => {
          requesters.push(requester.full);
          return TURN;
        },
      });
    });

    it('answers disco#info with the server identity, extra identities and the ping feature', () => {
      const reply = alice.ask('<iq type="get" id="d1" to="meet.jitsi"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>');
      assert.equal(reply.attrs.type, 'result');
      assert.equal(reply.attrs.id, 'd1');
      assert.equal(reply.attrs.from, 'meet.jitsi');
      assert.equal(reply.attrs.to, 'alice@meet.jitsi/web');
      const info = parseDiscoInfo(reply);
      assert.deepEqual(info.identities, [
        { category: 'server', type: 'im', name: 'Salon' },
        { category: 'component', type: 'speakerstats', name: 'speakerstats.meet.jitsi' },
      ]);
      for (const feature of ['urn:xmpp:ping', 'http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items', 'urn:xmpp:extdisco:2', 'jabber:iq:version']) {
        assert.ok(info.features.includes(feature), `lacks ${feature}`);
      }
    });

    it('answers disco#info of a node with item-not-found', () => {
      const reply = alice.ask('<iq type="get" id="d2" to="meet.jitsi"><query xmlns="http://jabber.org/protocol/disco#info" node="x"/></iq>');
      assert.equal(parseStanzaError(reply)?.condition, 'item-not-found');
    });

    it('answers disco#items with the configured items', () => {
      const reply = alice.ask('<iq type="get" id="i1" to="meet.jitsi"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>');
      assert.deepEqual(parseDiscoItems(reply).items, [{ jid: 'muc.meet.jitsi', name: 'Conferences' }, { jid: 'focus.meet.jitsi' }]);
    });

    it('answers a ping with an empty result', () => {
      const reply = alice.ask('<iq type="get" id="p1" to="meet.jitsi"><ping xmlns="urn:xmpp:ping"/></iq>');
      assert.equal(reply.attrs.type, 'result');
      assert.equal(reply.attrs.id, 'p1');
      assert.deepEqual(reply.getChildElements(), []);
    });

    it('answers a version query with the name and version', () => {
      const reply = alice.ask('<iq type="get" id="v1" to="meet.jitsi"><query xmlns="jabber:iq:version"/></iq>');
      const query = reply.getChild('query', 'jabber:iq:version');
      assert.equal(query?.getChildText('name'), 'Salon');
      assert.equal(query?.getChildText('version'), '1.2.3');
    });

    it('answers extdisco:2 with the services made for the requester', () => {
      const reply = alice.ask('<iq type="get" id="e1" to="meet.jitsi"><services xmlns="urn:xmpp:extdisco:2"/></iq>');
      const services = reply.getChild('services', 'urn:xmpp:extdisco:2');
      assert.ok(services);
      assert.deepEqual(parseExternalServices(services), TURN);
      assert.deepEqual(requesters, ['alice@meet.jitsi/web']);
    });

    it('answers extdisco:1 in its own namespace', () => {
      const reply = alice.ask('<iq type="get" id="e2" to="meet.jitsi"><services xmlns="urn:xmpp:extdisco:1"/></iq>');
      assert.ok(reply.getChild('services', 'urn:xmpp:extdisco:1'));
    });

    it('filters the services by the requested type', () => {
      const reply = alice.ask('<iq type="get" id="e3" to="meet.jitsi"><services xmlns="urn:xmpp:extdisco:2" type="turn"/></iq>');
      assert.deepEqual(parseExternalServices(reply.getChild('services')!).map((s) => s.type), ['turn']);
    });

    it('answers a credentials request with the service it names (XEP-0215 §3.3)', () => {
      const reply = alice.ask('<iq type="get" id="c1" to="meet.jitsi"><credentials xmlns="urn:xmpp:extdisco:2"><service host="turn.example.com" type="turn"/></credentials></iq>');
      assert.equal(reply.attrs.type, 'result');
      assert.deepEqual(parseCredentials(reply.getChild('credentials', 'urn:xmpp:extdisco:2')!), [TURN[1]]);
      assert.deepEqual(requesters, ['alice@meet.jitsi/web']);
    });

    it('answers a credentials request for a service it does not have with item-not-found', () => {
      const wrongPort = alice.ask('<iq type="get" id="c2" to="meet.jitsi"><credentials xmlns="urn:xmpp:extdisco:2"><service host="turn.example.com" type="turn" port="5349"/></credentials></iq>');
      assert.equal(parseStanzaError(wrongPort)?.condition, 'item-not-found');
      const empty = alice.ask('<iq type="get" id="c3" to="meet.jitsi"><credentials xmlns="urn:xmpp:extdisco:2"/></iq>');
      assert.equal(parseStanzaError(empty)?.condition, 'bad-request');
    });

    it('answers an unknown namespace with service-unavailable', () => {
      const reply = alice.ask('<iq type="get" id="u1" to="meet.jitsi"><query xmlns="urn:example:unknown"/></iq>');
      assert.equal(reply.attrs.type, 'error');
      assert.deepEqual(parseStanzaError(reply), { type: 'cancel', condition: 'service-unavailable' });
    });

    it('answers a set of a known namespace with service-unavailable', () => {
      const reply = alice.ask('<iq type="set" id="u2" to="meet.jitsi"><ping xmlns="urn:xmpp:ping"/></iq>');
      assert.equal(parseStanzaError(reply)?.condition, 'service-unavailable');
    });

    it('answers an IQ without payload with bad-request', () => {
      const reply = alice.ask('<iq type="get" id="b1" to="meet.jitsi"/>');
      assert.equal(parseStanzaError(reply)?.condition, 'bad-request');
    });

    it('drops messages, presence and IQ results sent to the domain', () => {
      alice.send('<message to="meet.jitsi"><body>hi</body></message>');
      alice.send('<presence to="meet.jitsi"/>');
      alice.send('<iq type="result" id="r1" to="meet.jitsi"/>');
      assert.deepEqual(alice.received, []);
    });
  });

  describe('external services refused to the requester', () => {
    it('answers services and credentials requests with the provider\'s forbidden', () => {
      addHost({ externalServices: () => { throw new StanzaError('auth', 'forbidden', 'not for you'); } });
      const services = alice.ask('<iq type="get" id="f1" to="meet.jitsi"><services xmlns="urn:xmpp:extdisco:2"/></iq>');
      assert.deepEqual(parseStanzaError(services), { type: 'auth', condition: 'forbidden', text: 'not for you' });
      const credentials = alice.ask('<iq type="get" id="f2" to="meet.jitsi"><credentials xmlns="urn:xmpp:extdisco:2"><service host="h" type="turn"/></credentials></iq>');
      assert.equal(parseStanzaError(credentials)?.condition, 'forbidden');
    });
  });

  describe('the domain without optional services', () => {
    it('answers extdisco with an empty services element', () => {
      addHost();
      const reply = alice.ask('<iq type="get" id="e1" to="meet.jitsi"><services xmlns="urn:xmpp:extdisco:2"/></iq>');
      const services = reply.getChild('services', 'urn:xmpp:extdisco:2');
      assert.ok(services);
      assert.deepEqual(services.getChildElements(), []);
    });

    it('answers disco#items with no items', () => {
      addHost();
      const reply = alice.ask('<iq type="get" id="i1" to="meet.jitsi"><query xmlns="http://jabber.org/protocol/disco#items"/></iq>');
      assert.deepEqual(parseDiscoItems(reply).items, []);
    });
  });

  describe('accounts (RFC 6121 §8.5)', () => {
    beforeEach(() => addHost());

    it('answers the roster get of the account itself with an empty roster', () => {
      const reply = alice.ask('<iq type="get" id="r1" to="alice@meet.jitsi"><query xmlns="jabber:iq:roster"/></iq>');
      assert.equal(reply.attrs.type, 'result');
      const query = reply.getChild('query', 'jabber:iq:roster');
      assert.ok(query);
      assert.deepEqual(query.getChildElements(), []);
    });

    it("refuses another account's roster with service-unavailable", () => {
      const reply = alice.ask('<iq type="get" id="r2" to="bob@meet.jitsi"><query xmlns="jabber:iq:roster"/></iq>');
      assert.equal(parseStanzaError(reply)?.condition, 'service-unavailable');
    });

    it('answers disco#info of an account for itself', () => {
      const reply = alice.ask('<iq type="get" id="a1" to="alice@meet.jitsi"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>');
      assert.deepEqual(parseDiscoInfo(reply).identities, [{ category: 'account', type: 'registered' }]);
    });

    it('answers a ping to an online account and refuses one to an offline account', () => {
      new FakeClient(router, 'bob@meet.jitsi/phone');
      assert.equal(alice.ask('<iq type="get" id="p1" to="bob@meet.jitsi"><ping xmlns="urn:xmpp:ping"/></iq>').attrs.type, 'result');
      const offline = alice.ask('<iq type="get" id="p2" to="carol@meet.jitsi"><ping xmlns="urn:xmpp:ping"/></iq>');
      assert.equal(parseStanzaError(offline)?.condition, 'service-unavailable');
    });

    it('answers a message to a bare JID without resources with service-unavailable', () => {
      const reply = alice.ask('<message id="m1" to="bob@meet.jitsi" type="chat"><body>hi</body></message>');
      assert.equal(reply.name, 'message');
      assert.equal(reply.attrs.type, 'error');
      assert.equal(reply.attrs.from, 'bob@meet.jitsi');
      assert.equal(parseStanzaError(reply)?.condition, 'service-unavailable');
    });

    it('drops a groupchat or headline message to a bare JID without resources', () => {
      alice.send('<message to="bob@meet.jitsi" type="groupchat"><body>hi</body></message>');
      alice.send('<message to="bob@meet.jitsi" type="headline"><body>hi</body></message>');
      assert.deepEqual(alice.received, []);
    });

    it('delivers a message to a bare JID to every resource', () => {
      const phone = new FakeClient(router, 'bob@meet.jitsi/phone');
      const laptop = new FakeClient(router, 'bob@meet.jitsi/laptop');
      alice.send('<message id="m2" to="bob@meet.jitsi" type="chat"><body>hi</body></message>');
      for (const bob of [phone, laptop]) {
        assert.equal(bob.received.length, 1);
        assert.equal(bob.received[0]!.getChildText('body'), 'hi');
        assert.equal(bob.received[0]!.attrs.from, 'alice@meet.jitsi/web');
        assert.equal(bob.received[0]!.attrs.to, bob.jid.full, 'each copy is addressed to its resource');
      }
      assert.deepEqual(alice.received, []);
    });

    it('delivers a chat message for a resource that is gone to the remaining resources', () => {
      const phone = new FakeClient(router, 'bob@meet.jitsi/phone');
      alice.send('<message id="m3" to="bob@meet.jitsi/gone" type="chat"><body>hi</body></message>');
      assert.equal(phone.received.length, 1);
    });

    it('answers an IQ for a resource that is gone with service-unavailable and drops presence to it', () => {
      const reply = alice.ask('<iq type="get" id="g1" to="bob@meet.jitsi/gone"><ping xmlns="urn:xmpp:ping"/></iq>');
      assert.equal(parseStanzaError(reply)?.condition, 'service-unavailable');
      alice.send('<presence to="bob@meet.jitsi/gone"/>');
      assert.deepEqual(alice.received, []);
    });

    it('delivers directed presence to a bare JID to every resource, and drops subscriptions', () => {
      const phone = new FakeClient(router, 'bob@meet.jitsi/phone');
      alice.send('<presence to="bob@meet.jitsi"/>');
      alice.send('<presence to="bob@meet.jitsi" type="subscribe"/>');
      assert.deepEqual(phone.received.map((p) => p.attrs.type), [undefined]);
      assert.deepEqual(alice.received, []);
    });
  });
});
