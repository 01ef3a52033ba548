/**
 * The HTTP front and the `salon` command: config.js for Jitsi clients, health, Prometheus
 * metrics, HTTPS with a generated certificate, flags passed through `npm start`, one-line
 * configuration errors, account management, and the stanza limit on BOSH and TCP.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer } from './harness.ts';

const LIMIT = 256 * 1024;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs a command; resolves with its exit code and output. */
function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out: ${stdout}${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

describe('HTTP front and configuration', function () {
  this.timeout(30_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer({}, ['--tls', 'self-signed', '--https-port', '0']);
  });
  after(async () => server.close());

  it('serves config.js that a Jitsi client can evaluate, with the loopback origin it was asked on', async () => {
    const res = await fetch(`${server.httpOrigin}/config.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    const sandbox: { config?: Record<string, unknown> } = {};
    runInNewContext(await res.text(), sandbox);
    const config = sandbox.config as { hosts: Record<string, string>; focusUserJid: string; websocket: string; bosh: string; videoQuality: { codecPreferenceOrder: string[] } };
    assert.equal(config.hosts.domain, 'meet.jitsi');
    assert.equal(config.hosts.muc, 'muc.meet.jitsi');
    assert.equal(config.hosts.focus, 'focus.meet.jitsi');
    assert.equal(config.hosts.anonymousdomain, undefined, 'no guest domain while authentication is off');
    assert.equal(config.focusUserJid, 'focus@auth.meet.jitsi');
    assert.equal(config.websocket, `${server.httpOrigin.replace('http', 'ws')}/xmpp-websocket`);
    assert.equal(config.bosh, `${server.httpOrigin}/http-bind`);
    assert.equal(config.videoQuality.codecPreferenceOrder[0], 'VP8');
    const tenant = await fetch(`${server.httpOrigin}/acme/config.js`);
    assert.equal(tenant.status, 200);
  });

  it('answers health and the WebSocket keep-alive GET', async () => {
    const health = await fetch(`${server.httpOrigin}/about/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    assert.equal((await fetch(`${server.httpOrigin}/xmpp-websocket?room=x`)).status, 200);
  });

  it('exposes sessions, stanzas, rooms and occupants as Prometheus metrics', async () => {
    const c = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
    try {
      await c.client.iqCaller.request(xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('conference', { xmlns: 'http://jitsi.org/protocol/focus', room: 'metrics@muc.meet.jitsi', 'machine-uid': 'm1' })));
      await c.client.send(xml('presence', { to: 'metrics@muc.meet.jitsi/me' }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
      await waitForStanza(c.inbox, (s) => s.name === 'presence' && s.attrs.from === 'metrics@muc.meet.jitsi/me', 5000, 'joined');
      const text = await (await fetch(`${server.httpOrigin}/metrics`)).text();
      const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      assert.ok(value('salon_xmpp_sessions') >= 1, 'sessions');
      assert.equal(value('salon_muc_rooms'), 1);
      assert.equal(value('salon_muc_occupants'), 2, 'the participant and the focus');
      assert.ok(Number(/^salon_xmpp_stanzas_in_total\{kind="presence"\} (\d+)/m.exec(text)?.[1]) >= 1);
      assert.ok(Number(/^salon_xmpp_stanzas_out_total\{kind="presence"\} (\d+)/m.exec(text)?.[1]) >= 1);
      assert.match(text, /^salon_xmpp_connections\{transport="websocket"\} \d+/m);
    } finally {
      await stopClient(c.client);
    }
  });

  it('serves metrics to local scrapers only, not through a proxy', async () => {
    const proxied = await fetch(`${server.httpOrigin}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(proxied.status, 403);
  });

  it('keeps the local-only routes from pages in a browser on this machine and from proxies, whichever header names the client', async () => {
    // A page of any site open in a browser here may POST to localhost (a simple request, sent
    // without a preflight), and a page rebound to 127.0.0.1 by its DNS may read the answers.
    const refused: Array<Record<string, string>> = [
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-origin' },
      { forwarded: 'for=203.0.113.9;proto=https' },
      { 'x-real-ip': '203.0.113.9' },
    ];
    for (const headers of refused) {
      const what = JSON.stringify(headers);
      const drain = await fetch(`${server.httpOrigin}/colibri/drain/enable`, { method: 'POST', headers });
      await drain.arrayBuffer();
      assert.equal(drain.status, 403, `drain: ${what}`);
      for (const path of ['/metrics', '/colibri/stats', '/colibri/drain']) {
        const res = await fetch(`${server.httpOrigin}${path}`, { headers });
        await res.arrayBuffer();
        assert.equal(res.status, 403, `${path}: ${what}`);
      }
    }
    // A page rebound to 127.0.0.1 names its own domain, whatever its browser marks.
    const hostOf = async (host: string): Promise<number> => {
      const { request } = await import('node:http');
      const url = new URL(`${server.httpOrigin}/colibri/stats`);
      return new Promise((resolve, reject) => {
        request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).end();
      });
    };
    for (const host of ['rebound.evil.example', 'rebound.evil.example:8000', '127.0.0.1.evil.example', 'localhost.evil.example']) assert.equal(await hostOf(host), 403, host);
    for (const host of ['localhost', 'localhost:8000', 'metrics.localhost', '127.0.0.1:9', '[::1]:8000']) assert.equal(await hostOf(host), 200, host);
    assert.equal(server.salon.bridge?.draining, false, 'nothing drained the bridge');
    // A scraper, an operator's curl, and an address typed into a browser here are answered.
    const answered: Array<Record<string, string>> = [{}, { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' }];
    for (const headers of answered) {
      const res = await fetch(`${server.httpOrigin}/colibri/drain`, { headers });
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.deepEqual(await res.json(), { drain: false });
    }
  });

  it('serves HTTPS with a certificate generated into the state directory', async () => {
    const port = server.salon.ports.https;
    assert.ok(port > 0);
    const body = await new Promise<string>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port, path: '/about/health', rejectUnauthorized: false }, (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d));
        res.on('end', () => resolve(data));
      }).on('error', reject).end();
    });
    assert.match(body, /"ok"/);
    const certFile = join(server.salon.config.stateDir, 'self-signed.crt');
    assert.match(await readFile(certFile, 'utf8'), /BEGIN CERTIFICATE/);
    assert.equal((await stat(join(server.salon.config.stateDir, 'self-signed.key'))).mode & 0o777, 0o600);
  });

  it('pins HTTPS with Strict-Transport-Security on every answer when the public URL is https, and only then', async () => {
    const pinned = await startTestServer({}, ['--public-url', 'https://meet.example.org']);
    try {
      for (const path of ['/', '/MyRoom123', '/config.js', '/about/health', '/external_api.js', '/http-bind', '/no/such/thing.txt']) {
        const res = await fetch(`${pinned.httpOrigin}${path}`);
        await res.arrayBuffer();
        assert.equal(res.headers.get('strict-transport-security'), 'max-age=31536000', path);
        // A page opened with ?jwt= must not hand its address to anything it loads (security.md §6).
        assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      }
    } finally {
      await pinned.close();
    }
    // An http public URL (a laptop, a test): nothing pinned, not even over the self-signed HTTPS port.
    const plain = await fetch(`${server.httpOrigin}/MyRoom123`);
    await plain.arrayBuffer();
    assert.equal(plain.headers.get('strict-transport-security'), null);
    const overTls = await new Promise<string | string[] | undefined>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: server.salon.ports.https, path: '/MyRoom123', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.headers['strict-transport-security']);
      }).on('error', reject).end();
    });
    assert.equal(overTls, undefined);
  });

  it('creates the focus and bridge service accounts at first start, with generated passwords', async () => {
    const secrets = JSON.parse(await readFile(join(server.salon.config.stateDir, 'secrets.json'), 'utf8')) as Record<string, string>;
    assert.ok((secrets.focusPassword ?? '').length >= 24);
    assert.ok(await server.salon.xmpp.accounts.verifyPassword('focus@auth.meet.jitsi', secrets.focusPassword!));
    assert.ok(await server.salon.xmpp.accounts.verifyPassword('jvb@auth.meet.jitsi', secrets.jvbPassword!));
  });

  it('refuses a stanza one byte over the limit on BOSH with a policy-violation terminate', async () => {
    const post = (body: string) => fetch(`${server.httpOrigin}/http-bind`, { method: 'POST', body, headers: { 'content-type': 'text/xml; charset=utf-8' } });
    const created = await (await post('<body xmlns="http://jabber.org/protocol/httpbind" rid="100" to="meet.jitsi" wait="5" hold="1" xmpp:version="1.0" xmlns:xmpp="urn:xmpp:xbosh"/>')).text();
    const sid = /sid="([^"]+)"/.exec(created)?.[1];
    assert.ok(sid, created);
    const head = '<message xmlns="jabber:client" to="meet.jitsi"><body>';
    const tail = '</body></message>';
    const stanza = head + 'a'.repeat(LIMIT + 1 - Buffer.byteLength(head + tail)) + tail;
    const answer = await (await post(`<body xmlns="http://jabber.org/protocol/httpbind" rid="101" sid="${sid}">${stanza}</body>`)).text();
    assert.match(answer, /type="terminate"/);
    assert.match(answer, /policy-violation/);
  });

  it('refuses a stanza one byte over the limit on TCP with a policy-violation stream error', async () => {
    const socket = netConnect(server.c2sPort, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='meet.jitsi' version='1.0'>");
    const head = '<message xmlns="jabber:client" to="meet.jitsi"><body>';
    const tail = '</body></message>';
    socket.write(head + 'a'.repeat(LIMIT + 1 - Buffer.byteLength(head + tail)) + tail);
    await closed;
    assert.match(received, /<stream:features/);
    assert.match(received, /<limits xmlns="urn:xmpp:stream-limits:0"><max-bytes>262144<\/max-bytes>/, 'the limit is advertised (XEP-0478)');
    assert.match(received, /policy-violation/);
  });
});

describe('the salon command', function () {
  this.timeout(60_000);
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'salon-cli-'));
  });
  afterEach(async () => rm(stateDir, { recursive: true, force: true }));

  it('stops at start with one line naming a bad key and its source', async () => {
    const bad = await run('node', ['config/salon.js', 'start', '--http-port', 'abc', '--state-dir', stateDir]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /--http-port/);
    const env = await run('node', ['config/salon.js', 'start', '--state-dir', stateDir], { env: { HTTP_PORT: '70000' } });
    assert.equal(env.code, 2);
    assert.match(env.stderr.trim(), /^salon: bad configuration: http\.port \(HTTP_PORT\): .*65535/);
    assert.equal(env.stderr.trim().split('\n').length, 1);
  });

  it('passes flags through `npm start --` and serves on the port given', async () => {
    const port = await freePort();
    const child = spawn('npm', ['start', '--', '--http-port', String(port), '--http-host', '127.0.0.1', '--xmpp-port', '0', '--component-port', '0', '--media-port', '0', '--state-dir', stateDir], { stdio: 'ignore', detached: true });
    try {
      const deadline = Date.now() + 30_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = await fetch(`http://127.0.0.1:${port}/about/health`).then((r) => r.status, () => 0);
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(status, 200);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
  });

  it('adds, lists, re-keys and removes accounts, storing no password in clear', async () => {
    const salon = (args: string[], input?: string, env: NodeJS.ProcessEnv = {}) => run('node', ['config/salon.js', 'user', ...args, '--state-dir', stateDir], { env, ...(input === undefined ? {} : { input }) });
    const alice = async () => (JSON.parse(await readFile(join(stateDir, 'accounts.json'), 'utf8')) as { accounts: Record<string, Record<string, unknown>> }).accounts['alice@meet.jitsi'];
    assert.equal((await salon(['add', 'alice@meet.jitsi'], 'first password 1\n')).code, 0);
    assert.deepEqual(Object.keys((await alice())!).sort(), ['createdAt', 'scrypt'], 'kept as scrypt by default');
    assert.equal((await salon(['add', 'alice@meet.jitsi'], 'again password\n')).code, 2, 'no duplicate');
    assert.match((await salon(['list'])).stdout, /^alice@meet\.jitsi$/m);
    assert.equal((await salon(['passwd', 'alice@meet.jitsi'], 'second password 2\n', { XMPP_PASSWORD_STORAGE: 'scram' })).code, 0);
    assert.deepEqual(Object.keys((await alice())!).sort(), ['createdAt', 'scram'], 'kept as SCRAM keys as configured');
    const file = await readFile(join(stateDir, 'accounts.json'), 'utf8');
    assert.ok(!file.includes('second password 2') && !file.includes('first password 1'));
    assert.match(file, /storedKey/);
    assert.equal((await salon(['remove', 'alice@meet.jitsi'])).code, 0);
    assert.doesNotMatch((await salon(['list'])).stdout, /alice/);
  });
});
