/**
 * The web client as a real Salon serves it over HTTP: the app and shared-document pages with
 * their security headers, the hashed assets with immutable caching and precompressed bodies,
 * `/external_api.js` for integrators, and the paths that must stay someone else's (config.js,
 * BOSH, health, metrics, the pad's WebSocket) or nobody's (path traversal, unknown assets).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { runInNewContext } from 'node:vm';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { ConfigError, loadConfig } from '../../config/load.ts';
import { startTestServer, type TestServer } from './harness.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

/** One request with the path sent exactly as written (no normalisation, no automatic decompression). */
function get(origin: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function header(reply: Reply, name: string): string {
  const value = reply.headers[name];
  return Array.isArray(value) ? value.join(', ') : value ?? '';
}

function csp(origin: string, frameAncestors: string): string {
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "style-src-attr 'unsafe-inline'", "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:", `connect-src 'self' ${origin.replace('http:', 'ws:')}`, "object-src 'none'",
    "base-uri 'none'", "form-action 'self'", "frame-src 'self'", `frame-ancestors ${frameAncestors}`,
  ].join('; ');
}

/** The asset URLs a page references, by kind. */
function referenced(html: string): { scripts: string[]; styles: string[]; preloads: string[] } {
  const all = (re: RegExp) => [...html.matchAll(re)].map((m) => m[1]!);
  return {
    scripts: all(/<script type="module" src="([^"]+)"><\/script>/g),
    styles: all(/<link rel="stylesheet" href="([^"]+)">/g),
    preloads: all(/<link rel="modulepreload" href="([^"]+)">/g),
  };
}

function assertAppPage(reply: Reply, what: string): void {
  assert.equal(reply.status, 200, what);
  assert.equal(header(reply, 'content-type'), 'text/html; charset=utf-8', what);
  assert.equal(header(reply, 'cache-control'), 'no-cache', what);
  assert.match(reply.text, /^<!doctype html>\n<html lang="(en|fr)">/, what);
  assert.match(reply.text, /<meta name="viewport" content="width=device-width, initial-scale=1">/, what);
  const configAt = reply.text.indexOf('<script src="/config.js"></script>');
  const moduleAt = reply.text.search(/<script type="module" src="\/assets\/main-[A-Z0-9]+\.js"><\/script>/);
  assert.ok(configAt !== -1 && moduleAt > configAt, `${what}: config.js, then the app module`);
  assert.match(reply.text, /<link rel="stylesheet" href="\/assets\/main-[A-Z0-9]+\.css">/, what);
  assert.match(reply.text, /<noscript>.*JavaScript.*lang="fr">Salon a besoin de JavaScript/s, what);
  assert.doesNotMatch(reply.text, /<script(?![^>]*\bsrc=)[^>]*>/, `${what}: no inline script`);
  assert.doesNotMatch(reply.text, /<style|\sstyle=/, `${what}: no inline style`);
  assert.equal(reply.headers['x-frame-options'], undefined, `${what}: frame-ancestors decides, not X-Frame-Options`);
  assert.match(header(reply, 'permissions-policy'), /camera=\(self\).*microphone=\(self\).*display-capture=\(self\)/, what);
}

describe('web client serving', function () {
  this.timeout(60_000);
  let server: TestServer;
  let framed: TestServer;
  before(async () => {
    server = await startTestServer();
    framed = await startTestServer({ SALON_FRAME_ANCESTORS: "'self' https://app.example.org  file:" });
  });
  after(async () => {
    await server?.close();
    await framed?.close();
  });

  it('serves the app at /, /<Room>, /<tenant>/<Room> and /<tenant>/ with a strict CSP', async () => {
    for (const path of ['/', '/MyRoom123', '/acme/MyRoom123', '/acme/', '/Salle-%C3%A9t%C3%A9_2']) {
      const reply = await get(server.httpOrigin, path);
      assertAppPage(reply, path);
      assert.equal(header(reply, 'content-security-policy'), csp(server.httpOrigin, "'self'"), path);
    }
  });

  it('names the configured frame ancestors, and always lets the app frame the shared document', async () => {
    const app = await get(framed.httpOrigin, '/MyRoom123');
    assert.equal(header(app, 'content-security-policy'), csp(framed.httpOrigin, "'self' https://app.example.org file:"));
    const pad = await get(framed.httpOrigin, '/etherpad/p/myroom');
    assert.match(header(pad, 'content-security-policy'), /; frame-ancestors 'self' https:\/\/app\.example\.org file:$/);
    const padDefault = await get(server.httpOrigin, '/etherpad/p/myroom');
    assert.match(header(padDefault, 'content-security-policy'), /; frame-ancestors 'self'$/);
  });

  it('refuses configured frame ancestors that are not CSP sources, which could add a directive', () => {
    for (const bad of ["'self'; script-src *", "'unsafe-inline'", 'https://a.example,https://b.example', "'none' 'self'", 'javascript:alert(1)//x"']) {
      assert.throws(() => loadConfig(['--state-dir', '/nonexistent'], { SALON_FRAME_ANCESTORS: bad }), ConfigError, bad);
    }
    const { config } = loadConfig(['--state-dir', '/nonexistent'], { SALON_FRAME_ANCESTORS: " https://*.example.org:8443  file: 'self' " });
    assert.deepEqual(config.web.frameAncestors, ['https://*.example.org:8443', 'file:', "'self'"]);
  });

  it('serves the shared document page at /etherpad/p/<docName>, where Jitsi clients open it', async () => {
    const reply = await get(server.httpOrigin, '/etherpad/p/myroom?showChat=false&userName=Ada');
    assert.equal(reply.status, 200);
    assert.equal(header(reply, 'content-type'), 'text/html; charset=utf-8');
    assert.match(reply.text, /<script type="module" src="\/assets\/pad-page-[A-Z0-9]+\.js"><\/script>/);
    assert.doesNotMatch(reply.text, /\/assets\/main-/);
    assert.match(header(reply, 'permissions-policy'), /camera=\(\)/, 'the document needs no camera');
    assert.equal((await get(server.httpOrigin, '/etherpad/p/a/b')).status, 404);
  });

  it('answers in the visitor\'s language and revalidates with the ETag', async () => {
    const fr = await get(server.httpOrigin, '/MyRoom123', { 'accept-language': 'fr-CA,fr;q=0.9,en;q=0.5' });
    assert.match(fr.text, /<html lang="fr">/);
    assert.match(header(fr, 'vary'), /accept-language/i);
    const etag = header(fr, 'etag');
    assert.ok(etag);
    const again = await get(server.httpOrigin, '/MyRoom123', { 'accept-language': 'fr', 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.match((await get(server.httpOrigin, '/', { 'accept-language': 'de' })).text, /<html lang="en">/);
  });

  it('serves every asset a page references, immutable, typed, and compressed when asked', async () => {
    const page = await get(server.httpOrigin, '/MyRoom123');
    const { scripts, styles, preloads } = referenced(page.text);
    assert.equal(scripts.length, 1);
    assert.equal(styles.length, 1);
    for (const path of [...scripts, ...styles, ...preloads]) {
      const type = path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8';
      const plain = await get(server.httpOrigin, path);
      assert.equal(plain.status, 200, path);
      assert.equal(header(plain, 'content-type'), type, path);
      assert.equal(header(plain, 'cache-control'), 'public, max-age=31536000, immutable', path);
      assert.equal(header(plain, 'content-encoding'), '', path);
      assert.ok(plain.body.length > 0, path);
      if (plain.body.length < 512) continue; // too small to be worth compressing
      const gz = await get(server.httpOrigin, path, { 'accept-encoding': 'gzip' });
      assert.equal(header(gz, 'content-encoding'), 'gzip', path);
      assert.match(header(gz, 'vary'), /accept-encoding/i, path);
      assert.ok(gz.body.length < plain.body.length, path);
      assert.deepEqual(gunzipSync(gz.body), plain.body, path);
      const br = await get(server.httpOrigin, path, { 'accept-encoding': 'gzip, deflate, br' });
      assert.equal(header(br, 'content-encoding'), 'br', path);
      assert.deepEqual(brotliDecompressSync(br.body), plain.body, path);
      const refused = await get(server.httpOrigin, path, { 'accept-encoding': 'br;q=0, gzip' });
      assert.equal(header(refused, 'content-encoding'), 'gzip', `${path}: a refused encoding is not sent`);
    }
  });

  it('serves /external_api.js for integrators and the desktop app\'s HEAD probe', async () => {
    const head = await get(server.httpOrigin, '/external_api.js', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(header(head, 'content-type'), 'text/javascript; charset=utf-8');
    assert.equal(header(head, 'access-control-allow-origin'), '*');
    assert.equal(header(head, 'cache-control'), 'no-cache');
    const script = await get(server.httpOrigin, '/external_api.js');
    assert.equal(script.status, 200);
    assert.equal(header(script, 'etag'), header(head, 'etag'));
    const sandbox: Record<string, unknown> = {};
    sandbox.window = sandbox;
    runInNewContext(script.text, sandbox);
    assert.equal(typeof sandbox.JitsiMeetExternalAPI, 'function', 'the script defines window.JitsiMeetExternalAPI');
    const cached = await get(server.httpOrigin, '/external_api.js', { 'if-none-match': header(script, 'etag') });
    assert.equal(cached.status, 304);
  });

  it('leaves config.js, BOSH, the WebSocket keep-alive, health, metrics and colibri to their routes', async () => {
    const config = await get(server.httpOrigin, '/config.js');
    assert.equal(config.status, 200);
    assert.match(config.text, /^var config = /);
    const tenantConfig = await get(server.httpOrigin, '/acme/config.js');
    assert.match(tenantConfig.text, /^var config = /);
    assert.match((await get(server.httpOrigin, '/about/health')).text, /"status":"ok"/);
    assert.match((await get(server.httpOrigin, '/xmpp-websocket')).text, /XMPP over WebSocket/);
    assert.match((await get(server.httpOrigin, '/acme/xmpp-websocket')).text, /XMPP over WebSocket/);
    assert.match(header(await get(server.httpOrigin, '/metrics'), 'content-type'), /text\/plain/);
    assert.match(header(await get(server.httpOrigin, '/colibri/stats'), 'content-type'), /application\/json/);
    const bosh = await get(server.httpOrigin, '/http-bind');
    assert.doesNotMatch(bosh.text, /<!doctype html>/);
  });

  it('answers 404, never the app, for unknown assets, reserved names and file-like paths', async () => {
    for (const path of [
      '/assets/nope.js', '/assets/main-AAAAAAAA.js', '/assets', '/assets/', '/assets/a/b.js', '/favicon.ico', '/robots.txt',
      '/pad', '/pad/myroom', '/static', '/static/x', '/libs/app.bundle.min.js', '/colibri/x', '/my.room', '/a/b/c', '/a/b/',
      '/bad%ZZname', '/%00room', '/room%2Fname',
    ]) {
      const reply = await get(server.httpOrigin, path);
      assert.equal(reply.status, 404, path);
      assert.doesNotMatch(reply.text, /<!doctype html>/, path);
    }
    const post = await get(server.httpOrigin, '/MyRoom123', {}, 'POST');
    assert.notEqual(post.status, 200);
  });

  it('serves no file outside the bundle, whatever the path tricks', async () => {
    for (const path of [
      '/assets/../config/schema.ts', '/assets/%2e%2e/config/schema.ts', '/assets/%2E%2E%2Fconfig%2Fschema.ts',
      '/assets/..%2f..%2fpackage.json', '/assets/..%5cconfig%5cschema.ts', '/assets/%252e%252e%252fpackage.json',
      '/assets/....//config/schema.ts', '/assets//etc/passwd', '/assets/%2Fetc%2Fpasswd',
    ]) {
      const reply = await get(server.httpOrigin, path);
      assert.equal(reply.status, 404, path);
      assert.doesNotMatch(reply.text, /zod|"name": "salon"|root:/, path);
    }
  });
});
