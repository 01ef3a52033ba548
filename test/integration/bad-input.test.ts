/**
 * Hostile input (security.md §7, "XMPP stream and parser"): each gets the right stream error for
 * its own session only, other sessions keep working, and memory returns near its baseline.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';
import { parse as parseXml } from 'ltx';
import { RawWsClient } from './raw-client.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

const LIMIT = 256 * 1024;

/** A message stanza of exactly `bytes` bytes (UTF-8). */
function messageOfSize(to: string, bytes: number): string {
  const head = `<message xmlns="jabber:client" to="${to}" type="chat" id="big"><body>`;
  const tail = '</body></message>';
  return head + 'a'.repeat(bytes - Buffer.byteLength(head + tail)) + tail;
}

describe('bad input on the XMPP transports', function () {
  this.timeout(60_000);
  let server: TestServer;
  let witness: { client: XmppClient; jid: string };
  let baseline: number;

  before(async () => {
    server = await startTestServer();
    const w = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
    witness = w;
    baseline = heapMiB();
  });
  after(async () => {
    await stopClient(witness.client);
    await server.close();
  });

  /** The witness session must still be served after every case. */
  afterEach(async () => {
    const pong = await witness.client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 3000);
    assert.equal(pong.attrs.type, 'result');
  });

  async function rawSession(): Promise<RawWsClient> {
    const raw = new RawWsClient(server.wsUrl);
    await raw.loginAnonymous();
    return raw;
  }

  async function expectStreamError(send: (raw: RawWsClient) => void, condition: string, opts: { login?: boolean } = {}): Promise<void> {
    const raw = opts.login === false ? new RawWsClient(server.wsUrl) : await rawSession();
    await raw.open();
    send(raw);
    assert.equal(await raw.streamError(), condition);
    await raw.closed;
  }

  it('refuses a DTD (billion laughs) with restricted-xml, expanding nothing', async () => {
    const laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>';
    await expectStreamError((raw) => raw.send(`${laughs}<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>`), 'restricted-xml', { login: false });
  });

  it('refuses comments and processing instructions with restricted-xml', async () => {
    await expectStreamError((raw) => raw.send('<message xmlns="jabber:client" to="meet.jitsi"><!-- hidden --><body>x</body></message>'), 'restricted-xml');
    await expectStreamError((raw) => raw.send('<message xmlns="jabber:client" to="meet.jitsi"><?php evil() ?></message>'), 'restricted-xml');
  });

  it('refuses an XML declaration in UTF-16', async () => {
    await expectStreamError((raw) => raw.send('<?xml version="1.0" encoding="UTF-16"?><open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>'), 'unsupported-encoding', { login: false });
  });

  it('accepts a stanza of exactly the size limit and refuses one byte more with policy-violation', async () => {
    const raw = await rawSession();
    raw.send(messageOfSize('nobody@meet.jitsi', LIMIT));
    // accepted: the server answers it (service-unavailable: nobody is online), the stream stays open
    const answer = await raw.waitFor((e) => e.name === 'message' && e.attrs.id === 'big', 10_000, 'answer to the limit-size stanza');
    assert.equal(answer.attrs.type, 'error');
    raw.send(messageOfSize('nobody@meet.jitsi', LIMIT + 1));
    assert.equal(await raw.streamError(), 'policy-violation');
    await raw.closed;
  });

  it('closes a session sending a 10 MiB stanza without buffering it', async () => {
    const raw = await rawSession();
    const before = process.memoryUsage().rss;
    raw.send(messageOfSize('nobody@meet.jitsi', 10 * 1024 * 1024));
    const code = await raw.closed;
    // ws refuses the frame before it is buffered (1009) or the parser stops it (policy-violation)
    assert.ok(code === 1009 || raw.frames.some((f) => f.includes('policy-violation')), `closed with ${code}`);
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024);
  });

  it('refuses 10,000 nested elements and 10,000 attributes with policy-violation', async () => {
    await expectStreamError((raw) => raw.send(`<message xmlns="jabber:client" to="meet.jitsi">${'<a>'.repeat(10_000)}`), 'policy-violation');
    const attrs = Array.from({ length: 10_000 }, (_, i) => `a${i}="1"`).join(' ');
    await expectStreamError((raw) => raw.send(`<message xmlns="jabber:client" to="meet.jitsi" ${attrs}/>`), 'policy-violation');
  });

  it('refuses invalid UTF-8 and U+0000 with not-well-formed', async () => {
    await expectStreamError((raw) => raw.send(Buffer.concat([Buffer.from('<message xmlns="jabber:client" to="meet.jitsi"><body>'), Buffer.from([0xc3, 0x28]), Buffer.from('</body></message>')])), 'not-well-formed');
    await expectStreamError((raw) => raw.send('<message xmlns="jabber:client" to="meet.jitsi"><body>a\u0000b</body></message>'), 'not-well-formed');
    await expectStreamError((raw) => raw.send('<message xmlns="jabber:client" to="meet.jitsi"><body>&#0;</body></message>'), 'not-well-formed');
  });

  it('refuses a forged from with invalid-from, and the victim receives nothing', async () => {
    const before = witness.client.streamManagement.inbound;
    await expectStreamError((raw) => raw.send(`<message xmlns="jabber:client" from="${witness.jid}" to="${witness.jid}" type="chat"><body>forged</body></message>`), 'invalid-from');
    assert.equal(witness.client.streamManagement.inbound, before);
  });

  it('answers unknown namespaces with an error reply, not a crash', async () => {
    const raw = await rawSession();
    raw.send('<iq xmlns="jabber:client" type="get" id="u1" to="meet.jitsi"><query xmlns="urn:example:unknown"/></iq>');
    const reply = await raw.waitFor((e) => e.name === 'iq' && e.attrs.id === 'u1');
    assert.equal(reply.attrs.type, 'error');
    assert.ok(reply.getChild('error')?.getChild('service-unavailable'));
    raw.send('<foo xmlns="urn:example:unknown"/>');
    assert.equal(await raw.streamError(), 'unsupported-stanza-type');
    raw.close();
  });

  it('parses a stanza split at every byte offset across WebSocket frames the same way', async () => {
    const raw = new RawWsClient(server.wsUrl);
    const jid = await raw.loginAnonymous();
    const stanza = (id: string): string => `<message xmlns="jabber:client" to="${jid}" type="chat" id="${id}"><body>Grüße — 会議 🎥 &lt;ok&gt;</body><SourceInfo>{"a":{"muted":true}}</SourceInfo></message>`;
    const id = (offset: number): string => `s${String(offset).padStart(4, '0')}`;
    const length = Buffer.byteLength(stanza(id(0)));
    for (let offset = 1; offset < length; offset++) {
      const bytes = Buffer.from(stanza(id(offset)));
      raw.send(bytes.subarray(0, offset));
      raw.send(bytes.subarray(offset));
    }
    let expected: string | undefined;
    for (let offset = 1; offset < length; offset++) {
      const got = await raw.waitFor((e) => e.name === 'message' && e.attrs.id === id(offset), 10_000, `split at ${offset}`);
      const normalised = got.toString().replace(id(offset), id(0));
      expected ??= normalised;
      assert.equal(normalised, expected, `split at byte ${offset}`);
    }
    assert.ok(expected?.includes('Grüße — 会議 🎥 &lt;ok&gt;'));
    raw.close();
  });

  it('caps unauthenticated connections from one address and reaps them, while logged-in sessions go on', async () => {
    const raws = Array.from({ length: 500 }, () => new RawWsClient(server.wsUrl));
    await Promise.all(raws.map((r) => r.open().catch(() => undefined)));
    for (const r of raws) r.send('<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>');
    const refused = await Promise.all(raws.slice(100).map((r) => r.streamError(10_000)));
    assert.ok(refused.every((c) => c === 'policy-violation'), 'connections beyond the cap get policy-violation');
    for (const r of raws) r.close();
    await Promise.all(raws.map((r) => r.closed));
    // the address may log in again once they are gone
    const again = new RawWsClient(server.wsUrl);
    assert.match(await again.loginAnonymous(), /@meet\.jitsi\//);
    again.close();
  });

  it('forgets 1,000 connections dropped mid-handshake', async () => {
    for (let batch = 0; batch < 10; batch++) {
      const raws = Array.from({ length: 100 }, () => new RawWsClient(server.wsUrl));
      await Promise.all(raws.map((r) => r.open()));
      raws.forEach((r, i) => {
        r.send('<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>');
        if (i % 2) r.send('<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>');
        if (i % 3 === 0) r.send('<message xmlns="jabber:client"><body>half');
      });
      for (const r of raws) r.close();
      await Promise.all(raws.map((r) => r.closed));
    }
    await waitUntil(() => server.salon.xmpp.websocket.connectionCount === 1, 'connections to drain');
  });

  it('closes a WebSocket session that stops reading once 8 MiB wait for it', async () => {
    const slow = new RawWsClient(server.wsUrl);
    const jid = await slow.loginAnonymous();
    assert.ok(server.salon.xmpp.router.resource(jid), 'bound');
    // It stops reading; others keep sending it 60 KB messages (20 MB in all).
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const body = 'x'.repeat(60_000);
    const router = server.salon.xmpp.router;
    for (let i = 0; i < 340 && router.resource(jid); i++) {
      router.route(parseXml(`<message xmlns="jabber:client" from="someone@meet.jitsi/a" to="${jid}" type="chat"><body>${body}</body></message>`));
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await waitUntil(() => router.resource(jid) === undefined, 'the session to be closed');
    slow.close();
  });

  it('handles a bound session\'s stanzas at a bounded rate, however many one WebSocket message carries, in order', async () => {
    const flooder = new RawWsClient(server.wsUrl);
    await flooder.loginAnonymous();
    const before = flooder.elements.length;
    // A thousand pings in one message of 90 KB: within the byte allowance, far over the stanza rate.
    flooder.send(Array.from({ length: 1000 }, (_, i) => `<iq xmlns="jabber:client" type="get" id="p${i}" to="meet.jitsi"><ping xmlns="urn:xmpp:ping"/></iq>`).join(''));
    await new Promise((r) => setTimeout(r, 400));
    const answered = () => flooder.elements.slice(before).filter((e) => e.name === 'iq' && e.attrs.type === 'result');
    const soon = answered().length;
    assert.ok(soon >= 90 && soon <= 130, `${soon} answered at once: the burst, then the rate`);
    await new Promise((r) => setTimeout(r, 1000));
    const later = answered().length;
    assert.ok(later - soon >= 15 && later - soon <= 40, `${later - soon} answered in the next second`);
    assert.deepEqual(answered().map((e) => e.attrs.id), Array.from({ length: later }, (_, i) => `p${i}`), 'in order');
    flooder.close();
  });

  it('throttles a message flood from one session without slowing the others', async () => {
    const flooder = await rawSession();
    const chunk = `<message xmlns="jabber:client" to="nobody@meet.jitsi" type="headline"><body>${'x'.repeat(900)}</body></message>`;
    for (let i = 0; i < 1000; i++) flooder.send(chunk);
    // the witness's ping is answered quickly while the flood is being throttled
    const started = performance.now();
    await witness.client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 2000);
    const pingMs = performance.now() - started;
    assert.ok(pingMs < 1000, `ping took ${pingMs} ms`);
    // After the burst allowance (one full stanza limit), reading runs at 10 KiB/s: ~10 of these a second.
    await new Promise((r) => setTimeout(r, 1500));
    const inDuring = server.salon.xmpp.counters.stanzasIn.message;
    await new Promise((r) => setTimeout(r, 1000));
    const perSecond = server.salon.xmpp.counters.stanzasIn.message - inDuring;
    assert.ok(perSecond < 40, `${perSecond} stanzas/s read from the flooder`);
    flooder.close();
  });

  it('reads the bridge account (a trusted service) at full speed while clients are throttled', async () => {
    const { jvbPassword } = server.salon.secrets;
    const jvb = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'jvb', password: jvbPassword, resource: 'bridge' });
    try {
      const body = 'y'.repeat(1000);
      const started = performance.now();
      for (let i = 0; i < 300; i++) await jvb.client.send(xml('message', { to: jvb.jid, type: 'chat', id: `j${i}` }, xml('body', {}, body)));
      await waitForStanza(jvb.inbox, (s) => s.attrs.id === 'j299', 10_000, 'the last of 300 stanzas');
      const ms = performance.now() - started;
      // ~300 KiB: a throttled client would need ~30 s at 10 KiB/s.
      assert.ok(ms < 5000, `300 KiB from the bridge account took ${ms.toFixed(0)} ms`);
    } finally {
      await stopClient(jvb.client);
    }
  });

  it('survives a WebSocket upgrade on a path no URL parser accepts', async () => {
    const socket = (await import('node:net')).connect(Number(new URL(server.httpOrigin).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /\\[/xmpp-websocket?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n');
    const answer = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
    socket.destroy();
    assert.match(answer, /^HTTP\/1\.1 (101|400|404)/);
    // the process is alive: the witness ping in afterEach proves it
  });

  it('survives clients resetting their sockets while their WebSocket upgrades are refused', async () => {
    const net = await import('node:net');
    const port = Number(new URL(server.httpOrigin).port);
    const upgrade = (path: string, origin?: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${origin ? `Origin: ${origin}\r\n` : ''}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const refused = [
      upgrade('/no-such-websocket'), // 404 from the front
      upgrade('/xmpp-websocket', 'https://evil.example'), // 403, cross-origin
      upgrade('/colibri-ws/jvb-1/nomeeting/noendpoint?pwd=x'), // unknown bridge endpoint
    ];
    for (let round = 0; round < 30; round++) {
      for (const request of refused) {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(request);
        socket.resetAndDestroy(); // RST: the server's refusal meets a reset socket
      }
    }
    // An error thrown by a refused socket would surface here as an uncaught exception.
    await new Promise((r) => setTimeout(r, 300));
    const answer = await fetch(`${server.httpOrigin}/config.js`);
    assert.equal(answer.status, 200, 'the server still answers');
  });

  it('answers stream management mistakes as XEP-0198 says: bad h is fatal, a second enable fails softly', async () => {
    const raw = await rawSession();
    raw.send('<enable xmlns="urn:xmpp:sm:3" resume="true"/>');
    await raw.waitFor((e) => e.name === 'enabled');
    raw.send('<enable xmlns="urn:xmpp:sm:3"/>');
    const failed = await raw.waitFor((e) => e.name === 'failed');
    assert.ok(failed.getChild('unexpected-request'));
    raw.send('<a xmlns="urn:xmpp:sm:3" h="lots"/>');
    assert.equal(await raw.streamError(), 'undefined-condition');
  });

  it('refuses a resumption whose h is not a 32-bit count', async () => {
    const raw = new RawWsClient(server.wsUrl);
    await raw.open();
    raw.send('<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>');
    await raw.waitFor((e) => e.name === 'stream:features');
    raw.send('<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>');
    await raw.waitFor((e) => e.name === 'success');
    raw.send('<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>');
    await raw.waitFor((e) => e.name === 'stream:features');
    raw.send('<resume xmlns="urn:xmpp:sm:3" h="4294967296" previd="x"/>');
    const failed = await raw.waitFor((e) => e.name === 'failed');
    assert.ok(failed.getChild('bad-request'));
    raw.close();
  });

  it('refuses a cross-origin WebSocket upgrade with 403', async () => {
    const raw = new RawWsClient(server.wsUrl, { origin: 'https://evil.example' });
    await assert.rejects(raw.open(), /HTTP 403/);
  });

  it('returns memory near its baseline afterwards', async () => {
    // The flooder's socket stays paused until its read budget refills; it may still be counted.
    await waitUntil(() => server.salon.xmpp.websocket.connectionCount <= 2, 'connections to drain');
    const after = heapMiB();
    assert.ok(after - baseline < 30, `heap grew from ${baseline.toFixed(1)} to ${after.toFixed(1)} MiB`);
  });
});

describe('connections that never authenticate', function () {
  this.timeout(20_000);
  it('are closed with connection-timeout after the configured time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'salon-cfg-'));
    const file = join(dir, 'salon.json');
    await writeFile(file, JSON.stringify({ xmpp: { limits: { unauthenticatedTimeoutSeconds: 1 } } }));
    const server = await startTestServer({}, ['--config', file]);
    try {
      const raw = new RawWsClient(server.wsUrl);
      await raw.open();
      raw.send('<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>');
      const started = Date.now();
      assert.equal(await raw.streamError(5000), 'connection-timeout');
      assert.ok(Date.now() - started >= 900);
      // nor is a stream that authenticated but never binds left open
      const unbound = new RawWsClient(server.wsUrl);
      await unbound.open();
      unbound.send('<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>');
      await unbound.waitFor((e) => e.name === 'stream:features');
      unbound.send('<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>');
      await unbound.waitFor((e) => e.name === 'success');
      assert.equal(await unbound.streamError(5000), 'connection-timeout');
      // a bound session is not subject to it
      const ok = new RawWsClient(server.wsUrl);
      await ok.loginAnonymous();
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(ok.closeCode, undefined);
      ok.close();
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
