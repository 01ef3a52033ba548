import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { parse } from 'ltx';
import { generate } from 'selfsigned';
import { TcpC2sListener } from '../../../../xmpp/transport/tcp.ts';
import {
  bindIq, createTestServer, mechanismsOf, NS_BIND, NS_SASL, NS_TLS, pingIq, plainAuth, ScramClient, testLimits,
  XmlStreamClient, type TestServer,
} from './helpers.ts';

const USER = 'user';
const DOMAIN = 'auth.meet.jitsi';
const PASSWORD = 'password123';

describe('TcpC2sListener', () => {
  let pems: { key: string; cert: string };
  let server: TestServer;
  let listener: TcpC2sListener | undefined;
  let clients: XmlStreamClient[];

  before(async () => {
    const generated = await generate([{ name: 'commonName', value: DOMAIN }], { keyType: 'ec', algorithm: 'sha256' });
    pems = { key: generated.private, cert: generated.cert };
  });

  beforeEach(async () => {
    server = await createTestServer();
    await server.accounts.setPassword(`${USER}@${DOMAIN}`, PASSWORD);
    clients = [];
  });

  afterEach(async () => {
    for (const c of clients) c.destroy();
    await listener?.close();
    assert.equal(listener?.connectionCount ?? 0, 0);
    listener = undefined;
    await server.close();
  });

  async function start(options: { tls?: boolean; loopbackIsSecure?: boolean } = {}): Promise<number> {
    listener = new TcpC2sListener(server.ctx, {
      host: '127.0.0.1',
      port: 0,
      parserLimits: testLimits,
      tls: options.tls === false ? undefined : pems,
      ...(options.loopbackIsSecure === undefined ? {} : { loopbackIsSecure: options.loopbackIsSecure }),
    });
    return listener.listen();
  }

  async function connect(port: number): Promise<XmlStreamClient> {
    const client = await XmlStreamClient.connect(port);
    clients.push(client);
    return client;
  }

  /** After SASL success: restart, bind, and ping the domain; returns the bound JID. */
  async function restartBindPing(client: XmlStreamClient): Promise<string> {
    client.restart();
    client.open(DOMAIN);
    await client.header();
    const features = await client.element('stream:features');
    assert.ok(features.getChild('bind', NS_BIND));
    assert.deepEqual(mechanismsOf(features), []);
    client.send(bindIq('b1', 'tcp'));
    const bound = await client.element('iq');
    assert.equal(bound.attrs.type, 'result');
    const jid = bound.getChild('bind', NS_BIND)?.getChildText('jid');
    assert.equal(jid, `${USER}@${DOMAIN}/tcp`);
    client.send(pingIq('ping1', DOMAIN));
    const pong = await client.element('iq');
    assert.equal(pong.attrs.type, 'result');
    assert.equal(pong.attrs.id, 'ping1');
    assert.equal(pong.attrs.from, DOMAIN);
    return jid!;
  }

  it('logs in with SCRAM-SHA-256 on loopback, binds, pings, and closes cleanly', async () => {
    const port = await start();
    const client = await connect(port);
    client.open(DOMAIN);
    const header = await client.header();
    assert.equal(header.from, DOMAIN);
    assert.equal(header.version, '1.0');
    assert.equal(header.xmlns, 'jabber:client');
    assert.ok(header.id);
    const features = await client.element('stream:features');
    // Loopback counts as secure: STARTTLS is optional and PLAIN is offered.
    const starttls = features.getChild('starttls', NS_TLS);
    assert.ok(starttls);
    assert.equal(starttls.getChild('required'), undefined);
    assert.deepEqual(mechanismsOf(features), ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    assert.equal(listener!.connectionCount, 1);

    const scram = new ScramClient('sha256', USER, PASSWORD);
    client.send(scram.auth());
    client.send(await scram.response(await client.element('challenge')));
    const success = await client.element('success');
    assert.ok(scram.verify(success), 'the server proves it knows the password too');
    const jid = await restartBindPing(client);

    client.send('</stream:stream>');
    assert.equal((await client.next()).kind, 'close');
    assert.equal(server.router.resource(jid), undefined);
    await client.closed();
  });

  it('requires STARTTLS from a remote client, then offers PLAIN over TLS', async () => {
    const port = await start({ loopbackIsSecure: false });
    const client = await connect(port);
    client.open(DOMAIN);
    await client.header();
    const before = await client.element('stream:features');
    assert.ok(before.getChild('starttls', NS_TLS)?.getChild('required'));
    assert.deepEqual(mechanismsOf(before), [], 'no mechanism before TLS');

    client.send(`<starttls xmlns='${NS_TLS}'/>`);
    await client.element('proceed');
    await client.startTls(pems.cert, DOMAIN);
    client.open(DOMAIN);
    await client.header();
    const after = await client.element('stream:features');
    assert.equal(after.getChild('starttls', NS_TLS), undefined, 'TLS is not offered twice');
    assert.deepEqual(mechanismsOf(after), ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);

    client.send(plainAuth(USER, PASSWORD));
    await client.element('success');
    await restartBindPing(client);
  });

  it('ignores stanzas sent in plaintext after <starttls/> (STARTTLS command injection)', async () => {
    const port = await start({ loopbackIsSecure: false });
    const client = await connect(port);
    client.open(DOMAIN);
    await client.header();
    await client.element('stream:features');
    // One write: whatever follows <starttls/> in plaintext must not survive into the TLS stream.
    client.send(`<starttls xmlns='${NS_TLS}'/>${pingIq('inj', DOMAIN)}`);
    await client.element('proceed');
    await client.startTls(pems.cert, DOMAIN);
    client.open(DOMAIN);
    const header = await client.header();
    assert.ok(header.id);
    const features = await client.element('stream:features');
    assert.deepEqual(mechanismsOf(features), ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    client.send(plainAuth(USER, PASSWORD));
    await client.element('success');
    // restartBindPing reads every element up to the ping result: an <iq id='inj'/> reply (or a
    // stream error) in between fails it.
    await restartBindPing(client);
    client.send('</stream:stream>');
    assert.equal((await client.next()).kind, 'close');
  });

  describe('with accounts kept as scrypt hashes', () => {
    beforeEach(async () => {
      await server.close();
      server = await createTestServer({ passwordStorage: 'scrypt' });
      await server.accounts.setPassword(`${USER}@${DOMAIN}`, PASSWORD);
    });

    it('offers PLAIN alone on loopback and logs in with it', async () => {
      const port = await start();
      const client = await connect(port);
      client.open(DOMAIN);
      await client.header();
      assert.deepEqual(mechanismsOf(await client.element('stream:features')), ['PLAIN']);
      client.send(plainAuth(USER, PASSWORD));
      await client.element('success');
      await restartBindPing(client);
    });

    it('refuses SCRAM as a mechanism it does not offer', async () => {
      const port = await start();
      const client = await connect(port);
      client.open(DOMAIN);
      await client.header();
      await client.element('stream:features');
      client.send(new ScramClient('sha256', USER, PASSWORD).auth());
      assert.ok((await client.element('failure')).getChild('invalid-mechanism'));
    });

    it('offers no mechanism to a remote client before TLS, then PLAIN alone over TLS', async () => {
      const port = await start({ loopbackIsSecure: false });
      const client = await connect(port);
      client.open(DOMAIN);
      await client.header();
      const before = await client.element('stream:features');
      assert.ok(before.getChild('starttls', NS_TLS));
      assert.deepEqual(mechanismsOf(before), []);
      client.send(`<starttls xmlns='${NS_TLS}'/>`);
      await client.element('proceed');
      await client.startTls(pems.cert, DOMAIN);
      client.open(DOMAIN);
      await client.header();
      assert.deepEqual(mechanismsOf(await client.element('stream:features')), ['PLAIN']);
      client.send(plainAuth(USER, PASSWORD));
      await client.element('success');
    });
  });

  it('refuses PLAIN before TLS on a connection that is not secure', async () => {
    const port = await start({ loopbackIsSecure: false });
    const client = await connect(port);
    client.open(DOMAIN);
    await client.header();
    await client.element('stream:features');
    client.send(plainAuth(USER, PASSWORD));
    const failure = await client.element('failure');
    assert.equal(failure.attrs.xmlns, NS_SASL);
    assert.ok(failure.getChild('invalid-mechanism'));
  });

  it('does not offer STARTTLS without a certificate', async () => {
    const port = await start({ tls: false });
    const client = await connect(port);
    client.open(DOMAIN);
    await client.header();
    const features = await client.element('stream:features');
    assert.equal(features.getChild('starttls', NS_TLS), undefined);
    client.send(`<starttls xmlns='${NS_TLS}'/>`);
    assert.equal(await client.streamError(), 'unsupported-feature');
  });

  it('closes a stream whose content namespace is not jabber:client with invalid-namespace', async () => {
    const port = await start();
    const client = await connect(port);
    client.open(DOMAIN, 'jabber:server');
    await client.header();
    assert.equal(await client.streamError(), 'invalid-namespace');
    await client.closed();
  });

  it('closes a stream to a domain it does not serve with host-unknown', async () => {
    const port = await start();
    const client = await connect(port);
    client.open('elsewhere.example');
    await client.header();
    assert.equal(await client.streamError(), 'host-unknown');
  });

  it('closes a stream whose stanza exceeds the size limit with policy-violation', async () => {
    const port = await start();
    const client = await connect(port);
    client.open(DOMAIN);
    await client.header();
    await client.element('stream:features');
    client.send(`<message xmlns='jabber:client'><body>${'x'.repeat(testLimits.maxStanzaBytes)}</body></message>`);
    assert.equal(await client.streamError(), 'policy-violation');
  });

  it('ends open streams with system-shutdown when the listener closes', async () => {
    const port = await start();
    const client = await connect(port);
    client.open(DOMAIN);
    await client.header();
    await client.element('stream:features');
    const closing = listener!.close();
    assert.equal(await client.streamError(), 'system-shutdown');
    client.destroy();
    await closing;
    assert.equal(listener!.connectionCount, 0);
  });

  it('closes the connection of a client that stops reading once 8 MiB wait for it, and keeps nothing more for it', async () => {
    const port = await start({ tls: false });
    const socket = netConnect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const until = async (pattern: RegExp): Promise<RegExpExecArray> => {
      for (let i = 0; i < 100; i++) {
        const found = pattern.exec(text);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`no ${pattern} in ${text}`);
    };
    const open = (): boolean => socket.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${DOMAIN}' version='1.0'>`);
    open();
    await until(/<\/stream:features>/);
    socket.write(plainAuth(USER, PASSWORD));
    await until(/<success/);
    text = '';
    open();
    await until(/<\/stream:features>/);
    socket.write(bindIq('b1', 'slow'));
    const jid = (await until(/<jid>([^<]+)<\/jid>/))[1]!;
    // It stops reading; others keep sending it 60 KB messages (20 MB in all).
    socket.pause();
    socket.removeAllListeners('data');
    const body = 'x'.repeat(60_000);
    for (let i = 0; i < 340 && server.router.resource(jid); i++) {
      server.router.route(parse(`<message xmlns='jabber:client' from='someone@${DOMAIN}/a' to='${jid}' type='chat'><body>${body}</body></message>`));
      if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (let i = 0; i < 100 && listener!.connectionCount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(listener!.connectionCount, 0, 'the connection was closed');
    assert.equal(server.router.resource(jid), undefined, 'and its session is gone');
    socket.destroy();
  });
});
