import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Element } from 'ltx';
import { BoshTransport } from '../../../../xmpp/transport/bosh.ts';
import {
  BoshClient, bindIq, createTestServer, httpRequest, mechanismsOf, NS_BIND, NS_SASL, NS_STREAMS, NS_XMPP_STREAMS,
  payloadOf, pingIq, testLimits, type BoshResponse, type TestServer,
} from './helpers.ts';

const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';

describe('BoshTransport', () => {
  let server: TestServer;
  let bosh: BoshTransport;
  let http: Server;
  let port: number;
  let handled = 0;
  const handledWaiters: Array<() => void> = [];

  /** Resolves once `count` POST bodies in total have been dispatched by the transport. */
  async function dispatched(count: number): Promise<void> {
    while (handled < count) await new Promise<void>((resolve) => handledWaiters.push(resolve));
  }

  async function start(options: { maxWaitSeconds?: number; inactivitySeconds?: number; maxOutboxBytes?: number } = {}): Promise<void> {
    bosh = new BoshTransport(server.ctx, {
      parserLimits: testLimits,
      allowedOrigins: new Set(['https://meet.example']),
      trustedProxies: new Set(),
      ...options,
    });
    handled = 0;
    http = createServer((req, res) => {
      bosh.handleRequest(req, res);
      // Registered after the transport's own 'end' listener, so this runs once the body was dispatched.
      req.once('end', () => {
        handled++;
        for (const w of handledWaiters.splice(0)) w();
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
  }

  beforeEach(async () => {
    server = await createTestServer();
  });

  afterEach(async () => {
    bosh.close();
    assert.equal(bosh.sessionCount, 0);
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await server.close();
  });

  /** Session creation, ANONYMOUS, restart and bind; returns the bound JID. */
  async function login(client: BoshClient, wait = 60): Promise<string> {
    const created = await client.create('meet.jitsi', wait);
    assert.deepEqual(mechanismsOf(payloadOf(created.body)[0]!), ['ANONYMOUS']);
    const success = await client.post(`<auth xmlns='${NS_SASL}' mechanism='ANONYMOUS'/>`);
    assert.equal(payloadOf(success.body)[0]?.name, 'success');
    const restarted = await client.restart('meet.jitsi');
    assert.ok(payloadOf(restarted.body)[0]?.getChild('bind', NS_BIND));
    const bound = await client.post(bindIq('bind1'));
    const jid = payloadOf(bound.body)[0]?.getChild('bind', NS_BIND)?.getChildText('jid');
    assert.ok(jid);
    return jid;
  }

  function terminateCondition(res: BoshResponse): string | undefined {
    assert.equal(res.body.attrs.type, 'terminate');
    return res.body.attrs.condition as string | undefined;
  }

  it('answers session creation with the session attributes and the stream features', async () => {
    await start({ maxWaitSeconds: 30 });
    const client = new BoshClient(port);
    const res = await client.create('meet.jitsi', 60);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/xml; charset=utf-8');
    const a = res.body.attrs;
    assert.equal(res.body.name, 'body');
    assert.equal(a.xmlns, NS_HTTPBIND);
    assert.match(String(a.sid), /^[0-9a-f]{32}$/);
    assert.equal(a.wait, '30', 'the requested wait is capped');
    assert.equal(a.requests, '2');
    assert.equal(a.hold, '1');
    assert.equal(a.inactivity, '60');
    assert.equal(a.from, 'meet.jitsi');
    assert.ok(a.authid);
    assert.equal(a['xmpp:version'], '1.0');
    assert.equal(a['xmlns:xmpp'], 'urn:xmpp:xbosh');
    assert.equal(a['xmlns:stream'], NS_STREAMS);
    const [features] = payloadOf(res.body);
    assert.equal(features?.name, 'stream:features');
    assert.deepEqual(mechanismsOf(features!), ['ANONYMOUS']);
    assert.equal(bosh.sessionCount, 1);
  });

  it('logs in anonymously, restarts, binds and gets the domain\'s ping result', async () => {
    await start();
    const client = new BoshClient(port);
    const jid = await login(client);
    assert.match(jid, /^[^@]+@meet\.jitsi\/.+$/);
    const pong = await client.post(pingIq('p1', 'meet.jitsi'));
    const [result] = payloadOf(pong.body);
    assert.equal(result?.name, 'iq');
    assert.equal(result?.attrs.type, 'result');
    assert.equal(result?.attrs.id, 'p1');
    assert.equal(result?.attrs.from, 'meet.jitsi');
    assert.ok(server.router.resource(jid), 'the resource is bound on the router');
  });

  it('resends the cached response when a rid is repeated', async () => {
    await start();
    const client = new BoshClient(port);
    await login(client);
    const rid = client.rid;
    const first = await client.post(pingIq('p2', 'meet.jitsi'), {}, rid);
    const again = await client.post(pingIq('p2', 'meet.jitsi'), {}, rid);
    assert.equal(again.status, 200);
    assert.equal(again.text, first.text);
    assert.equal(payloadOf(first.body)[0]?.attrs.id, 'p2');
    client.rid = rid + 1;
    const next = await client.post(pingIq('p3', 'meet.jitsi'));
    assert.equal(payloadOf(next.body)[0]?.attrs.id, 'p3', 'the repeated request was not processed twice');
  });

  it('answers an unknown sid with 404 and item-not-found', async () => {
    await start();
    const client = new BoshClient(port);
    client.sid = 'no-such-session';
    const res = await client.post(pingIq('p', 'meet.jitsi'));
    assert.equal(res.status, 404);
    assert.equal(terminateCondition(res), 'item-not-found');
  });

  it('ends the session when a rid falls outside the window', async () => {
    await start();
    const client = new BoshClient(port);
    await client.create('meet.jitsi');
    const res = await client.post('', {}, client.rid + 5);
    assert.equal(terminateCondition(res), 'item-not-found');
    assert.equal(bosh.sessionCount, 0);
  });

  it('processes requests in rid order when they arrive out of order', async () => {
    await start();
    const client = new BoshClient(port);
    await login(client);
    const rid = client.rid;
    const later = client.post(pingIq('second', 'meet.jitsi'), {}, rid + 1);
    await dispatched(handled + 1);
    const earlier = client.post(pingIq('first', 'meet.jitsi'), {}, rid);
    const [a, b] = await Promise.all([earlier, later]);
    const ids = [...payloadOf(a.body), ...payloadOf(b.body)].map((el) => el.attrs.id);
    assert.deepEqual(ids, ['first', 'second']);
  });

  it('answers the held request when a new one arrives, and sends data on the newest', async () => {
    await start();
    const client = new BoshClient(port);
    await login(client);
    const held = client.post('');
    // The empty poll is held; the ping that follows releases it and gets its own result.
    const ping = await client.post(pingIq('p4', 'meet.jitsi'));
    const released = await held;
    assert.deepEqual(payloadOf(released.body), []);
    assert.equal(released.body.attrs.type, undefined);
    assert.equal(payloadOf(ping.body)[0]?.attrs.id, 'p4');
  });

  it('moves a held request to its retransmission with the same rid', async () => {
    await start();
    const client = new BoshClient(port);
    await login(client);
    const rid = client.rid++;
    const first = client.post('', {}, rid);
    while (bosh.heldRequestCount === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    // Strophe aborts a request it thinks is stuck and sends it again with the same rid.
    const retry = client.post('', {}, rid);
    const abandoned = await first;
    assert.deepEqual(payloadOf(abandoned.body), []);
    assert.equal(bosh.heldRequestCount, 1);
    const ping = await client.post(pingIq('p5', 'meet.jitsi'));
    assert.deepEqual(payloadOf((await retry).body), []);
    assert.equal(payloadOf(ping.body)[0]?.attrs.id, 'p5');
  });

  it('ends the session with remote-stream-error when a stanza breaks the stream', async () => {
    await start();
    const client = new BoshClient(port);
    const jid = await login(client);
    const res = await client.post(`<message xmlns='jabber:client' from='someone@meet.jitsi' to='meet.jitsi'/>`);
    assert.equal(terminateCondition(res), 'remote-stream-error');
    assert.ok(res.body.getChild('error', NS_STREAMS)?.getChild('invalid-from', NS_XMPP_STREAMS));
    assert.equal(server.router.resource(jid), undefined);
    assert.equal(bosh.sessionCount, 0);
    const after = await client.post(pingIq('late', 'meet.jitsi'));
    assert.equal(after.status, 404);
  });

  it('delays a request\'s stanzas while the session exceeds its read rate', async () => {
    server.ctx.limits.maxStanzaBytes = 1000;
    server.ctx.limits.c2sBytesPerSecond = 20_000;
    server.ctx.limits.burstSeconds = 0;
    await start();
    const client = new BoshClient(port);
    await login(client);
    const padding = `<pad xmlns='urn:example:pad'>${'x'.repeat(4000)}</pad>`;
    const started = performance.now();
    const res = await client.post(`<iq xmlns='jabber:client' type='get' id='slow' to='meet.jitsi'><ping xmlns='urn:xmpp:ping'/>${padding}</iq>`);
    // 4 KB against a 1 KB bucket refilling at 20 KB/s: at least 150 ms of pause.
    assert.ok(performance.now() - started >= 140, 'the request was held back');
    assert.equal(payloadOf(res.body)[0]?.attrs.id, 'slow');
  });

  it('answers a held request with an empty body after wait seconds', async () => {
    await start({ maxWaitSeconds: 1 });
    const client = new BoshClient(port);
    await login(client, 1);
    const started = performance.now();
    const res = await client.post('');
    assert.ok(performance.now() - started >= 900, 'held for about wait seconds');
    assert.equal(res.status, 200);
    assert.deepEqual(payloadOf(res.body), []);
    assert.equal(bosh.sessionCount, 1);
  });

  it('processes the stanzas of a terminate body, then ends the session', async () => {
    await start();
    const client = new BoshClient(port);
    const jid = await login(client);
    const closed = server.nextSessionClosed();
    const res = await client.post(`<presence xmlns='jabber:client' type='unavailable'/>`, { type: 'terminate' });
    assert.equal(terminateCondition(res), undefined);
    assert.equal(await closed, 'closed by client');
    assert.equal(server.closedSessions[0]?.jid, jid);
    assert.equal(server.router.resource(jid), undefined);
    assert.equal(bosh.sessionCount, 0);
  });

  it('refuses an unknown host with a remote-stream-error carrying host-unknown', async () => {
    await start();
    const client = new BoshClient(port);
    const res = await client.create('elsewhere.example');
    assert.equal(terminateCondition(res), 'remote-stream-error');
    const error = res.body.getChild('error', NS_STREAMS);
    assert.ok(error?.getChild('host-unknown', NS_XMPP_STREAMS));
    assert.equal(bosh.sessionCount, 0);
  });

  it('drops a session after inactivity seconds without requests', async () => {
    await start({ inactivitySeconds: 1 });
    const client = new BoshClient(port);
    const jid = await login(client);
    const reason = await server.nextSessionClosed();
    assert.equal(reason, 'connection lost');
    assert.equal(server.router.resource(jid), undefined);
    assert.equal(bosh.sessionCount, 0);
  });

  /** Waits until `condition` holds, looking every 20 ms. */
  async function until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => setTimeout(resolve, 20));
  }

  /** Posts a body with `rid` and closes its connection once the transport has dispatched it. */
  async function postAndAbort(client: BoshClient, rid: number): Promise<void> {
    const body = `<body xmlns='${NS_HTTPBIND}' rid='${rid}' sid='${client.sid}'/>`;
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/http-bind', agent: false, headers: { 'Content-Type': 'text/xml; charset=utf-8' } });
    req.on('error', () => undefined); // the abort below
    const target = handled + 1;
    req.end(body);
    await dispatched(target);
    req.destroy();
  }

  it('drops a session after inactivity when a request waiting for a skipped rid is abandoned', async function () {
    this.timeout(5000);
    await start({ inactivitySeconds: 1 });
    const client = new BoshClient(port);
    const jid = await login(client);
    // rid + 1 waits for rid, which never comes; then the client gives up on it.
    const closed = server.nextSessionClosed();
    await postAndAbort(client, client.rid + 1);
    assert.equal(bosh.sessionCount, 1);
    assert.equal(await closed, 'connection lost');
    assert.equal(server.router.resource(jid), undefined);
    assert.equal(bosh.sessionCount, 0);
  });

  it('drops a session whose stream ended before login with no request to carry the error', async function () {
    this.timeout(5000);
    server.ctx.limits.unauthenticatedTimeoutSeconds = 0.2;
    await start();
    // One client comes back in time and collects the stream error; the other never does.
    const collecting = new BoshClient(port);
    const silent = new BoshClient(port);
    await collecting.create('meet.jitsi');
    await silent.create('meet.jitsi');
    assert.equal(bosh.sessionCount, 2);
    await new Promise<void>((resolve) => setTimeout(resolve, 400));
    const res = await collecting.post('');
    assert.equal(terminateCondition(res), 'remote-stream-error');
    assert.ok(res.body.getChild('error', NS_STREAMS)?.getChild('connection-timeout', NS_XMPP_STREAMS));
    assert.equal(bosh.sessionCount, 1);
    await until(() => bosh.sessionCount === 0);
    const late = await silent.post('');
    assert.equal(late.status, 404);
  });

  it('ends a session with policy-violation when its outbox outgrows the bound', async () => {
    await start({ maxOutboxBytes: 20_000 });
    const receiver = new BoshClient(port);
    const sender = new BoshClient(port);
    const receiverJid = await login(receiver);
    await login(sender);
    // The receiver has no request at the server: everything sent to it waits in its outbox.
    const message = `<message xmlns='jabber:client' type='chat' to='${receiverJid}'><body>${'x'.repeat(8000)}</body></message>`;
    const closed = server.nextSessionClosed();
    const sent = await sender.post(`${message}${message}${message}${pingIq('after', 'meet.jitsi')}`);
    assert.equal(payloadOf(sent.body).at(-1)?.attrs.id, 'after', 'the sender goes on');
    await closed;
    assert.equal(server.router.resource(receiverJid), undefined);
    const res = await receiver.post('');
    assert.equal(terminateCondition(res), 'remote-stream-error');
    assert.ok(res.body.getChild('error', NS_STREAMS)?.getChild('policy-violation', NS_XMPP_STREAMS));
    assert.deepEqual(payloadOf(res.body).map((el) => el.name), ['stream:error'], 'the waiting data was dropped');
    assert.equal(bosh.sessionCount, 1);
  });

  it('ends held requests with system-shutdown when the transport closes', async () => {
    await start();
    const client = new BoshClient(port);
    await login(client);
    const held = client.post('');
    // The poll must be held before the transport closes; its arrival has no event, so look each turn.
    while (bosh.heldRequestCount === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    bosh.close();
    const res = await held;
    assert.equal(terminateCondition(res), 'remote-stream-error');
    assert.ok(res.body.getChild('error', NS_STREAMS)?.getChild('system-shutdown', NS_XMPP_STREAMS));
    assert.equal(bosh.sessionCount, 0);
  });

  it('refuses a body larger than the stanza limit with 413 policy-violation', async () => {
    await start();
    const client = new BoshClient(port);
    await client.create('meet.jitsi');
    const big = `<message xmlns='jabber:client' to='meet.jitsi'><body>${'x'.repeat(testLimits.maxStanzaBytes + 9000)}</body></message>`;
    const res = await client.post(big);
    assert.equal(res.status, 413);
    assert.equal(terminateCondition(res), 'policy-violation');
  });

  it('answers malformed XML and a missing rid with 400 bad-request', async () => {
    await start();
    const client = new BoshClient(port);
    const broken = await client.postRaw(`<body xmlns='${NS_HTTPBIND}' rid='1'><iq></body>`);
    assert.equal(broken.status, 400);
    assert.equal(terminateCondition(broken), 'bad-request');
    const noRid = await client.postRaw(`<body xmlns='${NS_HTTPBIND}' to='meet.jitsi'/>`);
    assert.equal(noRid.status, 400);
    assert.equal(bosh.sessionCount, 0);
  });

  it('applies CORS: preflight and responses name allowed origins only', async () => {
    await start();
    const allowed = await httpRequest(port, { method: 'OPTIONS', headers: { Origin: 'https://meet.example', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://meet.example');
    assert.match(String(allowed.headers['access-control-allow-methods']), /POST/);
    const refused = await httpRequest(port, { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    const creation = `<body xmlns='${NS_HTTPBIND}' rid='7' to='meet.jitsi' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'/>`;
    const post = await httpRequest(port, { method: 'POST', body: creation, headers: { Origin: 'https://evil.example' } });
    assert.equal(post.status, 403);
    assert.equal(bosh.sessionCount, 0);
    const ok = await new BoshClient(port).postRaw(creation, { Origin: 'https://meet.example' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://meet.example');
    assert.equal(bosh.sessionCount, 1);
  });

  it('answers GET with a short 200 page', async () => {
    await start();
    const res = await httpRequest(port, { method: 'GET' });
    assert.equal(res.status, 200);
    assert.match(res.text, /BOSH/);
  });

  it('takes room and token from the creation request URL', async () => {
    await start();
    const client = new BoshClient(port, '/http-bind?room=lobby&token=abc');
    const res = await client.create('meet.jitsi');
    assert.equal(res.body.attrs.type, undefined);
    // A token on a server without a verifier is refused by ANONYMOUS: the query reached SASL.
    const failure = await client.post(`<auth xmlns='${NS_SASL}' mechanism='ANONYMOUS'/>`);
    const [el] = payloadOf(failure.body);
    assert.equal(el?.name, 'failure');
    assert.ok((el as Element).getChild('not-authorized'));
  });
});

