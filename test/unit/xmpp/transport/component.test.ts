import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Element } from 'ltx';
import { parseJid } from '../../../../xmpp/jid.ts';
import type { Outgoing } from '../../../../xmpp/outgoing.ts';
import type { Recipient } from '../../../../xmpp/router.ts';
import { ComponentListener } from '../../../../xmpp/transport/component.ts';
import { createTestServer, testLimits, XmlStreamClient, type TestServer } from './helpers.ts';

const NS_COMPONENT = 'jabber:component:accept';
const COMPONENT = 'focus.meet.jitsi';
const SECRET = 's3cret-for-tests';

/** A bound client resource that records what it receives. */
class Inbox implements Recipient {
  readonly jid = parseJid('user@meet.jitsi/web');
  private readonly received: string[] = [];
  private waiter: ((data: string) => void) | undefined;

  deliver(out: Outgoing): void {
    const data = out.serialisedFor(this.jid.full);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(data);
    } else {
      this.received.push(data);
    }
  }

  next(): Promise<string> {
    const queued = this.received.shift();
    return queued !== undefined ? Promise.resolve(queued) : new Promise((resolve) => (this.waiter = resolve));
  }
}

describe('ComponentListener', () => {
  let server: TestServer;
  let listener: ComponentListener;
  let port: number;
  let clients: XmlStreamClient[];

  beforeEach(async () => {
    server = await createTestServer();
    listener = new ComponentListener(server.router, server.ctx.log, {
      host: '127.0.0.1',
      port: 0,
      secrets: { [COMPONENT]: SECRET, 'speakerstats.meet.jitsi': 'other' },
      parserLimits: testLimits,
    });
    port = await listener.listen();
    clients = [];
  });

  afterEach(async () => {
    for (const c of clients) c.destroy();
    await listener.close();
    assert.equal(listener.connectionCount, 0);
    assert.equal(server.router.hasService(COMPONENT), false, 'the domain is released');
    await server.close();
  });

  async function connect(domain = COMPONENT): Promise<{ client: XmlStreamClient; id: string }> {
    const client = await XmlStreamClient.connect(port);
    clients.push(client);
    client.open(domain, NS_COMPONENT);
    const header = await client.header();
    assert.equal(header.xmlns, NS_COMPONENT);
    return { client, id: header.id ?? '' };
  }

  function handshake(id: string, secret: string): string {
    return `<handshake>${createHash('sha1').update(id + secret).digest('hex')}</handshake>`;
  }

  async function authenticated(): Promise<XmlStreamClient> {
    const { client, id } = await connect();
    client.send(handshake(id, SECRET));
    const reply = await client.element('handshake');
    assert.equal(reply.getText(), '');
    assert.ok(server.router.hasService(COMPONENT));
    return client;
  }

  it('accepts the right handshake and delivers stanzas for its domain both ways', async () => {
    const component = await authenticated();
    const user = new Inbox();
    server.router.bind(user);

    const request = new Element('iq', { xmlns: 'jabber:client', type: 'get', id: 'c1', from: user.jid.full, to: COMPONENT });
    request.c('query', { xmlns: 'http://jabber.org/protocol/disco#info' });
    server.router.route(request);
    const received = await component.element('iq');
    assert.equal(received.attrs.xmlns, NS_COMPONENT);
    assert.equal(received.attrs.from, user.jid.full);
    assert.equal(received.attrs.id, 'c1');
    assert.ok(received.getChild('query', 'http://jabber.org/protocol/disco#info'));

    component.send(`<iq type='result' id='c1' from='${COMPONENT}' to='${user.jid.full}'/>`);
    const answer = await user.next();
    assert.match(answer, /^<iq to="user@meet\.jitsi\/web"/);
    assert.match(answer, /xmlns="jabber:client"/);
    assert.match(answer, /from="focus\.meet\.jitsi"/);
    server.router.unbind(user);
  });

  it('closes the stream with not-authorized on a wrong secret', async () => {
    const { client, id } = await connect();
    client.send(handshake(id, 'wrong'));
    assert.equal(await client.streamError(), 'not-authorized');
    assert.equal(server.router.hasService(COMPONENT), false);
  });

  it('closes the stream with host-unknown for a domain without a secret', async () => {
    const { client } = await connect('unknown.meet.jitsi');
    assert.equal(await client.streamError(), 'host-unknown');
  });

  it('refuses a second connection for a connected domain with conflict', async () => {
    await authenticated();
    const { client, id } = await connect();
    client.send(handshake(id, SECRET));
    assert.equal(await client.streamError(), 'conflict');
    assert.ok(server.router.hasService(COMPONENT), 'the first connection keeps the domain');
  });

  it('closes the stream with invalid-from when the component sends from another domain', async () => {
    const component = await authenticated();
    component.send(`<message from='someone@meet.jitsi' to='user@meet.jitsi'><body>hi</body></message>`);
    assert.equal(await component.streamError(), 'invalid-from');
    await component.closed();
    assert.equal(server.router.hasService(COMPONENT), false);
  });

  it('answers a stanza without to with bad-request', async () => {
    const component = await authenticated();
    component.send(`<iq type='get' id='n1' from='${COMPONENT}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    const error = await component.element('iq');
    assert.equal(error.attrs.type, 'error');
    assert.equal(error.attrs.id, 'n1');
    assert.ok(error.getChild('error')?.getChild('bad-request', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  });

  it('refuses stanzas before the handshake with not-authorized', async () => {
    const { client } = await connect();
    client.send(`<message from='${COMPONENT}' to='user@meet.jitsi'/>`);
    assert.equal(await client.streamError(), 'not-authorized');
  });

  it('releases the domain when the component disconnects', async () => {
    const component = await authenticated();
    component.send('</stream:stream>');
    assert.equal((await component.next()).kind, 'close');
    await component.closed();
    assert.equal(server.router.hasService(COMPONENT), false);
  });
});
