import assert from 'node:assert/strict';
import { Element, parse } from 'ltx';
import { pino } from 'pino';
import { StreamError } from '../../../xmpp/errors.ts';
import { parseJid } from '../../../xmpp/jid.ts';
import { Outgoing } from '../../../xmpp/outgoing.ts';
import { Router, type DomainService } from '../../../xmpp/router.ts';
import { ClientSession, SessionRegistry, type SessionLink, type SessionOptions } from '../../../xmpp/session.ts';

const NS_SM = 'urn:xmpp:sm:3';

/** A connection that records what the session writes and how it was ended. */
class FakeLink implements SessionLink {
  readonly sent: string[] = [];
  readonly ended: Array<StreamError | undefined> = [];
  sendRaw(data: string): void {
    this.sent.push(data);
  }
  end(error?: StreamError): void {
    this.ended.push(error);
  }
  /** The sent data parsed, for the elements among it. */
  get elements(): Element[] {
    return this.sent.map((s) => parse(s));
  }
  get ackRequests(): number {
    return this.elements.filter((e) => e.name === 'r' && e.attrs.xmlns === NS_SM).length;
  }
}

describe('xmpp/session ClientSession', () => {
  let router: Router;
  let registry: SessionRegistry;
  let closed: Array<{ session: ClientSession; reason: string }>;
  let link: FakeLink;
  let session: ClientSession;
  const sessions: ClientSession[] = [];

  function createSession(resource = 'web', overrides: Partial<Pick<SessionOptions, 'hibernationSeconds' | 'maxQueuedStanzas' | 'maxQueuedBytes'>> = {}): ClientSession {
    const options: SessionOptions = {
      router,
      registry,
      log: pino({ level: 'silent' }),
      hibernationSeconds: 60,
      maxQueuedStanzas: 1000,
      maxQueuedBytes: 4 * 1024 * 1024,
      onClosed: (s, reason) => closed.push({ session: s, reason }),
      ...overrides,
    };
    link = new FakeLink();
    const s = new ClientSession(parseJid(`alice@meet.jitsi/${resource}`), link, options);
    router.bind(s);
    sessions.push(s);
    return s;
  }

  /** Delivers `n` messages to a session through the router, numbered from `from`. */
  function deliver(n: number, from = 1, resource = 'web'): void {
    for (let i = from; i < from + n; i++) {
      router.route(parse(`<message xmlns="jabber:client" from="bob@meet.jitsi/x" to="alice@meet.jitsi/${resource}" id="m${i}"><body>${i}</body></message>`));
    }
  }

  function messageIds(l: FakeLink): string[] {
    return l.elements.filter((e) => e.name === 'message').map((e) => String(e.attrs.id));
  }

  beforeEach(() => {
    router = new Router(pino({ level: 'silent' }));
    registry = new SessionRegistry();
    closed = [];
    session = createSession();
  });

  afterEach(() => {
    // Clears any hibernation timer; close is idempotent.
    for (const s of sessions.splice(0)) s.close('test over');
  });

  describe('without stream management', () => {
    it('writes delivered stanzas addressed to the full JID, and nothing else', () => {
      deliver(6);
      assert.deepEqual(messageIds(link), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
      assert.equal(link.elements[0]!.attrs.to, 'alice@meet.jitsi/web');
      assert.equal(link.ackRequests, 0);
    });

    it('ends on a connection loss instead of hibernating', () => {
      session.detach(link, false);
      assert.equal(session.isClosed, true);
      assert.equal(session.isHibernating, false);
      assert.deepEqual(closed.map((c) => c.reason), ['connection lost']);
    });

    it('answers <r/> with h="0" and ignores acknowledgements', () => {
      assert.equal(session.ackElement().attrs.h, '0');
      session.acknowledge(5);
      assert.equal(session.isClosed, false);
    });
  });

  describe('enable (XEP-0198 §3)', () => {
    it('answers <enabled/> with an id, resume="true" and max, and registers the session', () => {
      const enabled = session.enableStreamManagement(true);
      assert.equal(enabled.name, 'enabled');
      assert.equal(enabled.attrs.xmlns, NS_SM);
      assert.equal(enabled.attrs.resume, 'true');
      assert.equal(enabled.attrs.max, '60');
      assert.ok(typeof enabled.attrs.id === 'string' && enabled.attrs.id.length >= 16);
      assert.equal(session.smId, enabled.attrs.id);
      assert.equal(registry.get(enabled.attrs.id as string), session);
      assert.equal(session.streamManagementEnabled, true);
    });

    it('gives a fresh id to every session', () => {
      const a = session.enableStreamManagement(true).attrs.id;
      const b = createSession('phone').enableStreamManagement(true).attrs.id;
      assert.notEqual(a, b);
    });

    it('without resume: no resume or max attribute, no registration', () => {
      const enabled = session.enableStreamManagement(false);
      assert.equal(enabled.attrs.resume, undefined);
      assert.equal(enabled.attrs.max, undefined);
      assert.equal(session.smId, undefined);
      assert.equal(registry.size, 0);
    });

    it('is not resumable when hibernation is configured off', () => {
      const s = createSession('phone', { hibernationSeconds: 0 });
      assert.equal(s.enableStreamManagement(true).attrs.resume, undefined);
      assert.equal(registry.size, 0);
    });

    it('refuses a second <enable/> with unsupported-feature', () => {
      session.enableStreamManagement(true);
      assert.throws(() => session.enableStreamManagement(true), (err: unknown) => err instanceof StreamError && err.condition === 'unsupported-feature');
    });
  });

  describe('counting and acknowledgements (XEP-0198 §4)', () => {
    beforeEach(() => {
      session.enableStreamManagement(true);
    });

    it('requests an acknowledgement once 5 stanzas are unacknowledged, and only once', () => {
      deliver(4);
      assert.equal(link.ackRequests, 0);
      deliver(1, 5);
      assert.equal(link.ackRequests, 1);
      assert.equal(link.elements.at(-1)!.name, 'r', 'the request follows the fifth stanza');
      deliver(3, 6);
      assert.equal(link.ackRequests, 1);
    });

    it('requests again after an acknowledgement once 5 are outstanding again', () => {
      deliver(5);
      session.acknowledge(5);
      deliver(4, 6);
      assert.equal(link.ackRequests, 1);
      deliver(1, 10);
      assert.equal(link.ackRequests, 2);
    });

    it('reports the number of stanzas received from the client as h', () => {
      session.countInbound();
      session.countInbound();
      session.countInbound();
      const a = session.ackElement();
      assert.equal(a.name, 'a');
      assert.equal(a.attrs.xmlns, NS_SM);
      assert.equal(a.attrs.h, '3');
    });

    it('drops acknowledged stanzas from the queue: a resume replays only the rest', () => {
      deliver(5);
      session.acknowledge(3);
      session.detach(link, false);
      const next = new FakeLink();
      session.resume(next, 3);
      assert.deepEqual(messageIds(next), ['m4', 'm5']);
    });

    it('accepts an acknowledgement of everything sent, and a repeated one', () => {
      deliver(3);
      session.acknowledge(3);
      session.acknowledge(3);
      assert.equal(session.isClosed, false);
    });

    it('ignores an h behind one acknowledged before (a client whose count restarted), and goes on counting from the higher one', () => {
      deliver(5);
      session.acknowledge(4);
      session.acknowledge(1);
      assert.equal(session.isClosed, false, 'not fatal: nothing more is acknowledged');
      assert.equal(link.ended.length, 0);
      session.acknowledge(5);
      session.detach(link, false);
      const next = new FakeLink();
      session.resume(next, 5);
      assert.deepEqual(messageIds(next), [], 'the fifth was acknowledged by the higher count');
    });

    it('closes with undefined-condition when h acknowledges more than was sent', () => {
      deliver(2);
      session.acknowledge(3);
      assert.equal(session.isClosed, true);
      assert.equal(link.ended.length, 1);
      assert.equal(link.ended[0]?.condition, 'undefined-condition');
      assert.deepEqual(closed.map((c) => c.reason), ['bad-ack']);
      assert.equal(router.resource('alice@meet.jitsi/web'), undefined);
    });

    it('closes with policy-violation when the client leaves too many stanzas unacknowledged', () => {
      const s = createSession('phone', { maxQueuedStanzas: 16 });
      const l = link;
      s.enableStreamManagement(true);
      deliver(16, 1, 'phone');
      assert.equal(s.isClosed, false);
      deliver(1, 17, 'phone');
      assert.equal(s.isClosed, true);
      assert.equal(l.ended[0]?.condition, 'policy-violation');
      assert.equal(messageIds(l).length, 16, 'the stanza over the limit is not written');
      assert.deepEqual(closed.map((c) => c.reason), ['unacknowledged-stanzas']);
    });

    it('closes with policy-violation when the unacknowledged stanzas exceed maxQueuedBytes, however few; what is acknowledged no longer counts', () => {
      const s = createSession('phone', { maxQueuedBytes: 64 * 1024 });
      const l = link;
      s.enableStreamManagement(true);
      const send = (id: string): void => {
        const message = new Element('message', { xmlns: 'jabber:client', from: 'bob@meet.jitsi/x', to: 'alice@meet.jitsi/phone', id });
        message.c('body').t('x'.repeat(20_000));
        router.route(message);
      };
      for (const id of ['m1', 'm2', 'm3']) send(id);
      s.acknowledge(3);
      for (const id of ['m4', 'm5', 'm6']) send(id);
      assert.equal(s.isClosed, false, 'three of 20 KB fit in 64 KiB, once the first three are acknowledged');
      send('m7');
      assert.equal(s.isClosed, true);
      assert.equal(l.ended[0]?.condition, 'policy-violation');
      assert.equal(l.ended[0]?.text, 'too many unacknowledged bytes');
      assert.deepEqual(messageIds(l), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'], 'the stanza over the limit is not written');
      assert.deepEqual(closed.map((c) => c.reason), ['unacknowledged-stanzas']);
    });
  });

  describe('detach and resume (XEP-0198 §5)', () => {
    beforeEach(() => {
      session.enableStreamManagement(true);
    });

    it('hibernates on a connection loss, stays bound and keeps queueing', () => {
      deliver(2);
      session.detach(link, false);
      assert.equal(session.isHibernating, true);
      assert.equal(session.isClosed, false);
      assert.equal(router.resource('alice@meet.jitsi/web'), session);
      deliver(2, 3);
      assert.equal(messageIds(link).length, 2, 'nothing is written to the old link');
      assert.deepEqual(closed, []);
    });

    it('resume answers <resumed/> with h and previd, then replays the unacknowledged stanzas and asks for an ack', () => {
      session.countInbound();
      deliver(3);
      session.acknowledge(1);
      session.detach(link, false);
      deliver(1, 4);
      const next = new FakeLink();
      session.resume(next, 2);
      const [resumed, ...rest] = next.elements;
      assert.equal(resumed?.name, 'resumed');
      assert.equal(resumed?.attrs.xmlns, NS_SM);
      assert.equal(resumed?.attrs.h, '1');
      assert.equal(resumed?.attrs.previd, session.smId);
      assert.deepEqual(rest.map((e) => e.name === 'message' ? e.attrs.id : e.name), ['m3', 'm4', 'r']);
      assert.equal(session.isHibernating, false);
      deliver(1, 5);
      assert.deepEqual(messageIds(next), ['m3', 'm4', 'm5'], 'new stanzas go to the new link');
    });

    it('resume with everything acknowledged sends only <resumed/>', () => {
      deliver(2);
      session.detach(link, false);
      const next = new FakeLink();
      session.resume(next, 2);
      assert.deepEqual(next.elements.map((e) => e.name), ['resumed']);
    });

    it('resume ends a connection still attached with conflict', () => {
      const next = new FakeLink();
      session.resume(next, 0);
      assert.equal(link.ended[0]?.condition, 'conflict');
      session.detach(link, false);
      assert.equal(session.isHibernating, false, 'the old link going away later changes nothing');
    });

    it('resume with an impossible h closes instead of resuming', () => {
      deliver(1);
      session.detach(link, false);
      const next = new FakeLink();
      session.resume(next, 7);
      assert.equal(session.isClosed, true);
      assert.equal(next.ended[0]?.condition, 'undefined-condition');
      assert.ok(!next.elements.some((e) => e.name === 'resumed'));
    });

    it('refuses to resume a closed session', () => {
      session.close('gone');
      assert.throws(() => session.resume(new FakeLink(), 0), /not resumable/);
    });

    it('ignores a detach of a link that is no longer the current one', () => {
      const next = new FakeLink();
      session.resume(next, 0);
      session.detach(link, true);
      assert.equal(session.isClosed, false);
    });

    it('a clean detach closes and unbinds instead of hibernating, and the rooms hear it left', () => {
      const muc: Element[] = [];
      const service: DomainService = { domain: 'muc.meet.jitsi', tracksPresence: true, receive: (s) => void muc.push(s) };
      router.addService(service);
      router.route(parse('<presence from="alice@meet.jitsi/web" to="room@muc.meet.jitsi/alice"/>'));
      muc.length = 0;
      session.detach(link, true);
      assert.equal(session.isClosed, true);
      assert.equal(session.isHibernating, false);
      assert.equal(router.resource('alice@meet.jitsi/web'), undefined);
      assert.equal(registry.size, 0);
      assert.deepEqual(closed.map((c) => c.reason), ['closed by client']);
      assert.equal(muc.length, 1);
      assert.equal(muc[0]!.attrs.type, 'unavailable');
    });

    it('closing a hibernating session unregisters it and unbinds it', () => {
      session.detach(link, false);
      assert.equal(registry.size, 1);
      session.close('shutdown');
      assert.equal(session.isHibernating, false);
      assert.equal(registry.size, 0);
      assert.equal(router.resourceCount, 0);
      assert.deepEqual(closed.map((c) => c.reason), ['shutdown']);
    });
  });

  describe('close', () => {
    it('is idempotent and reports closing once', () => {
      session.enableStreamManagement(true);
      session.close('first');
      session.close('second');
      session.detach(link, true);
      assert.deepEqual(closed.map((c) => [c.session, c.reason]), [[session, 'first']]);
    });

    it('writes nothing once closed', () => {
      session.close('done');
      session.deliver(new Outgoing(new Element('message')));
      session.sendStanza('<message/>');
      assert.deepEqual(link.sent, []);
    });

    it('kick closes with the condition as reason and ends the link with the error', () => {
      session.kick(new StreamError('conflict', 'replaced'));
      assert.equal(session.isClosed, true);
      assert.equal(link.ended[0]?.condition, 'conflict');
      assert.deepEqual(closed.map((c) => c.reason), ['conflict']);
    });
  });

  it('records availability from broadcast presence', () => {
    session.presenceBroadcast(parse('<presence/>'));
    assert.equal(session.available, true);
    session.presenceBroadcast(parse('<presence type="unavailable"/>'));
    assert.equal(session.available, false);
  });
});
