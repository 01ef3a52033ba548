import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configWarnings, loadConfig } from '../../../config/load.ts';

/** An environment with nothing but a state directory, so the machine's own environment never leaks in. */
const BASE_ENV = { XDG_DATA_HOME: '/nonexistent/data' };

function load(argv: string[] = [], env: Record<string, string> = {}) {
  return loadConfig(argv, { ...BASE_ENV, ...env });
}

/** Asserts that loading fails with one ConfigError line mentioning every fragment. */
function assertConfigError(argv: string[], env: Record<string, string>, ...fragments: string[]): void {
  assert.throws(() => load(argv, env), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.doesNotMatch(err.message, /[\r\n]/, `more than one line: ${JSON.stringify(err.message)}`);
    for (const fragment of fragments) assert.ok(err.message.includes(fragment), `${JSON.stringify(err.message)} lacks ${JSON.stringify(fragment)}`);
    return true;
  });
}

describe('config/load', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'salon-config-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configFile(name: string, content: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, content);
    return file;
  }

  describe('defaults', () => {
    it('uses the single-machine ports 8000, 8443, 5222, 5347 and 10000', () => {
      const { config } = load();
      assert.equal(config.http.port, 8000);
      assert.equal(config.http.httpsPort, 8443);
      assert.equal(config.xmpp.c2s.port, 5222);
      assert.equal(config.xmpp.components.port, 5347);
      assert.equal(config.xmpp.components.host, '127.0.0.1');
      assert.equal(config.media.port, 10000);
      assert.equal(config.http.tls, 'off');
    });

    it('names the meet.jitsi family of domains and derives the focus domain from the main one', () => {
      const { config } = load();
      assert.equal(config.xmpp.domain, 'meet.jitsi');
      assert.equal(config.xmpp.authDomain, 'auth.meet.jitsi');
      assert.equal(config.xmpp.guestDomain, 'guest.meet.jitsi');
      assert.equal(config.xmpp.mucDomain, 'muc.meet.jitsi');
      assert.equal(config.xmpp.internalMucDomain, 'internal-muc.meet.jitsi');
      assert.equal(config.xmpp.focusDomain, 'focus.meet.jitsi');
    });

    it('derives focusDomain from a configured domain', () => {
      assert.equal(load(['--domain', 'example.org']).config.xmpp.focusDomain, 'focus.example.org');
    });

    it('derives publicUrl from http.port', () => {
      assert.equal(load().config.publicUrl, 'http://localhost:8000');
      assert.equal(load(['--http-port', '9000']).config.publicUrl, 'http://localhost:9000');
    });

    it('keeps a configured publicUrl, without its trailing slashes', () => {
      assert.equal(load(['--public-url', 'https://meet.example.org/']).config.publicUrl, 'https://meet.example.org');
    });

    it('puts the state directory under XDG_DATA_HOME', () => {
      assert.equal(load().config.stateDir, join('/nonexistent/data', 'salon'));
    });

    it('leaves authentication off with guests allowed', () => {
      const { config } = load();
      assert.equal(config.auth.enabled, false);
      assert.equal(config.auth.guests, true);
      assert.deepEqual(config.auth.jwt.acceptedIssuers, []);
    });
  });

  describe('precedence file < environment < flags', () => {
    it('takes a value from the file when nothing else sets it', async () => {
      const file = await configFile('file-only.json', JSON.stringify({ http: { port: 7000 }, xmpp: { domain: 'file.example' } }));
      const { config } = load(['--config', file]);
      assert.equal(config.http.port, 7000);
      assert.equal(config.xmpp.domain, 'file.example');
    });

    it('lets the environment override the file and flags override both', async () => {
      const file = await configFile('layers.json', JSON.stringify({ http: { port: 7000, httpsPort: 7443 } }));
      assert.equal(load(['--config', file], { HTTP_PORT: '7100' }).config.http.port, 7100);
      const { config } = load(['--config', file, '--http-port', '7200'], { HTTP_PORT: '7100' });
      assert.equal(config.http.port, 7200);
      assert.equal(config.http.httpsPort, 7443, 'a sibling key of the file survives the deeper layers');
    });

    it('reads the file named by SALON_CONFIG, and --config wins over it', async () => {
      const a = await configFile('a.json', JSON.stringify({ media: { port: 11000 } }));
      const b = await configFile('b.json', JSON.stringify({ media: { port: 12000 } }));
      assert.equal(load([], { SALON_CONFIG: a }).config.media.port, 11000);
      assert.equal(load(['--config', b], { SALON_CONFIG: a }).config.media.port, 12000);
    });
  });

  describe('flags', () => {
    it('accepts both --flag value and --flag=value', () => {
      assert.equal(load(['--http-port', '8100']).config.http.port, 8100);
      assert.equal(load(['--http-port=8101']).config.http.port, 8101);
      assert.equal(load(['--public-url=https://a.example/x=y']).config.publicUrl, 'https://a.example/x=y');
    });

    it('returns arguments that are not configuration flags in rest, in order', () => {
      const { rest, config } = load(['user', '--http-port', '8100', 'add', 'bob@meet.jitsi', '--verbose']);
      assert.deepEqual(rest, ['user', 'add', 'bob@meet.jitsi', '--verbose']);
      assert.equal(config.http.port, 8100);
    });

    it('maps --tls true/false onto self-signed/off', () => {
      assert.equal(load(['--tls', 'true']).config.http.tls, 'self-signed');
      assert.equal(load(['--tls=0']).config.http.tls, 'off');
    });

    it('takes every flag to its own key', () => {
      const { config } = load([
        '--https-port', '1', '--http-host', '127.0.0.1', '--xmpp-port', '2', '--component-port', '3',
        '--media-port', '4', '--log-level', 'debug', '--state-dir', '/tmp/salon-state',
      ]);
      assert.equal(config.http.httpsPort, 1);
      assert.equal(config.http.host, '127.0.0.1');
      assert.equal(config.xmpp.c2s.port, 2);
      assert.equal(config.xmpp.components.port, 3);
      assert.equal(config.media.port, 4);
      assert.equal(config.log.level, 'debug');
      assert.equal(config.stateDir, '/tmp/salon-state');
    });

    it('accepts port 0 (tests ask for any free port)', () => {
      assert.equal(load(['--http-port', '0']).config.http.port, 0);
    });
  });

  describe('docker-jitsi-meet environment names', () => {
    it('reads HTTP_PORT, XMPP_DOMAIN, ENABLE_AUTH and JVB_PORT', () => {
      const { config } = load([], { HTTP_PORT: '80', XMPP_DOMAIN: 'meet.example.org', ENABLE_AUTH: '1', JVB_PORT: '10001' });
      assert.equal(config.http.port, 80);
      assert.equal(config.xmpp.domain, 'meet.example.org');
      assert.equal(config.xmpp.focusDomain, 'focus.meet.example.org');
      assert.equal(config.auth.enabled, true);
      assert.equal(config.media.port, 10001);
    });

    it('refuses frame-ancestors and connect sources that open to any site, and keeps file: for the desktop app', () => {
      assertConfigError([], { SALON_FRAME_ANCESTORS: "'self' *" }, 'web.frameAncestors', 'SALON_FRAME_ANCESTORS');
      assertConfigError([], { SALON_FRAME_ANCESTORS: 'https:' }, 'web.frameAncestors');
      assertConfigError([], { SALON_CONNECT_SOURCES: 'wss:' }, 'web.connectSources');
      assert.deepEqual(load([], { SALON_FRAME_ANCESTORS: "'self' file: https://intranet.example.org" }).config.web.frameAncestors,
        ["'self'", 'file:', 'https://intranet.example.org']);
    });

    it('reads booleans as docker-jitsi-meet writes them: true/false, 1/0, yes/no', () => {
      assert.equal(load([], { ENABLE_AUTH: 'true' }).config.auth.enabled, true);
      assert.equal(load([], { ENABLE_AUTH: 'YES' }).config.auth.enabled, true);
      assert.equal(load([], { ENABLE_GUESTS: 'false' }).config.auth.guests, false);
      assert.equal(load([], { ENABLE_GUESTS: '0' }).config.auth.guests, false);
    });

    it("reads ENABLE_CODEC_VP9 (Jicofo's VP9 offer), off by default", () => {
      assert.equal(load().config.video.vp9, false);
      assert.equal(load([], { ENABLE_CODEC_VP9: 'true' }).config.video.vp9, true);
      assert.equal(load([], { ENABLE_CODEC_VP9: '0' }).config.video.vp9, false);
      assertConfigError([], { ENABLE_CODEC_VP9: 'maybe' }, 'ENABLE_CODEC_VP9');
    });

    it("reads ENABLE_CODEC_H264 (Jicofo's H.264 offer), off by default, apart from the others", () => {
      assert.equal(load([], {}).config.video.h264, false);
      assert.equal(load([], { ENABLE_CODEC_H264: 'true' }).config.video.h264, true);
      assert.equal(load([], { ENABLE_CODEC_H264: 'true' }).config.video.vp9, false);
      assert.equal(load([], { ENABLE_CODEC_VP9: 'true', ENABLE_CODEC_AV1: 'true' }).config.video.h264, false);
      assertConfigError([], { ENABLE_CODEC_H264: 'maybe' }, 'ENABLE_CODEC_H264');
    });

    it("reads ENABLE_CODEC_AV1 (Jicofo's AV1 offer), off by default, apart from VP9", () => {
      assert.equal(load().config.video.av1, false);
      assert.equal(load([], { ENABLE_CODEC_AV1: 'true' }).config.video.av1, true);
      assert.equal(load([], { ENABLE_CODEC_AV1: 'true' }).config.video.vp9, false);
      assert.equal(load([], { ENABLE_CODEC_VP9: 'true' }).config.video.av1, false);
      assert.equal(load([], { ENABLE_CODEC_AV1: '0' }).config.video.av1, false);
      assertConfigError([], { ENABLE_CODEC_AV1: 'maybe' }, 'ENABLE_CODEC_AV1');
    });

    it('ignores variables set to the empty string (compose files pass unset variables that way)', () => {
      const { config } = load([], { ENABLE_AUTH: '', HTTP_PORT: '' });
      assert.equal(config.auth.enabled, false);
      assert.equal(config.http.port, 8000);
    });

    it("reads PROSODY_C2S_LIMIT in Prosody's notation: 10kb/s is 10240 bytes per second", () => {
      assert.equal(load([], { PROSODY_C2S_LIMIT: '10kb/s' }).config.xmpp.limits.c2sBytesPerSecond, 10240);
      assert.equal(load([], { PROSODY_C2S_LIMIT: '1mb/s' }).config.xmpp.limits.c2sBytesPerSecond, 1024 * 1024);
      assert.equal(load([], { PROSODY_C2S_LIMIT: '4096' }).config.xmpp.limits.c2sBytesPerSecond, 4096);
    });

    it('splits JWT_ACCEPTED_ISSUERS on commas, trimming and dropping empty entries', () => {
      const { config } = load([], { JWT_ACCEPTED_ISSUERS: 'issuer-a, issuer-b,,', JWT_ACCEPTED_AUDIENCES: 'aud' });
      assert.deepEqual(config.auth.jwt.acceptedIssuers, ['issuer-a', 'issuer-b']);
      assert.deepEqual(config.auth.jwt.acceptedAudiences, ['aud']);
    });
  });

  describe("docker-jitsi-meet's STUN and TURN variables", () => {
    it('announces nothing by default', () => {
      const { config } = load();
      assert.deepEqual(config.turn, { servers: [], ttlSeconds: 86400 });
    });

    it('builds the server list as its Prosody template does: ports 443, TURN over each TURN_TRANSPORT, TURNS over TCP', () => {
      const { config } = load([], {
        STUN_HOST: 'stun.example.org', TURN_HOST: 'turn1.example.org, turn2.example.org', TURN_TRANSPORT: 'udp,tcp',
        TURNS_HOST: 'turns.example.org', TURNS_PORT: '5349', TURN_CREDENTIALS: 'a shared secret', TURN_TTL: '3600',
      });
      assert.deepEqual(config.turn.servers, [
        { type: 'stun', host: 'stun.example.org', port: 443, transport: 'udp' },
        { type: 'turn', host: 'turn1.example.org', port: 443, transport: 'udp' },
        { type: 'turn', host: 'turn1.example.org', port: 443, transport: 'tcp' },
        { type: 'turn', host: 'turn2.example.org', port: 443, transport: 'udp' },
        { type: 'turn', host: 'turn2.example.org', port: 443, transport: 'tcp' },
        { type: 'turns', host: 'turns.example.org', port: 5349, transport: 'tcp' },
      ]);
      assert.equal(config.turn.secret, 'a shared secret');
      assert.equal(config.turn.ttlSeconds, 3600);
    });

    it('takes TURN over TCP when TURN_TRANSPORT is not set', () => {
      const { config } = load([], { TURN_HOST: 'turn.example.org', TURN_PORT: '3478' });
      assert.deepEqual(config.turn.servers, [{ type: 'turn', host: 'turn.example.org', port: 3478, transport: 'tcp' }]);
    });

    it('keeps the list of the config file when no host variable is set', async () => {
      const servers = [{ type: 'turn', host: 'relay.example.org', port: 3478, transport: 'udp' }];
      const file = await configFile('turn.json', JSON.stringify({ turn: { servers } }));
      assert.deepEqual(load(['--config', file], { TURN_CREDENTIALS: 'a shared secret' }).config.turn.servers, servers);
    });

    it('names the variable of a bad transport or port', () => {
      assertConfigError([], { TURN_HOST: 'turn.example.org', TURN_TRANSPORT: 'sctp' }, 'turn.servers.0.transport', 'TURN_TRANSPORT');
      assertConfigError([], { TURNS_HOST: 'turn.example.org', TURNS_PORT: '70000' }, 'turn.servers.0.port', 'TURNS_PORT');
      assertConfigError([], { STUN_HOST: 'stun.example.org', STUN_PORT: 'x' }, 'STUN_PORT');
      assertConfigError([], { TURN_CREDENTIALS: 'short' }, 'turn.secret', 'TURN_CREDENTIALS');
    });
  });

  describe('bad values: one line naming the key and where it came from', () => {
    it('HTTP_PORT=abc', () => {
      assertConfigError([], { HTTP_PORT: 'abc' }, 'HTTP_PORT', 'abc');
    });

    it('--http-port 70000', () => {
      assertConfigError(['--http-port', '70000'], {}, 'http.port', '--http-port');
    });

    it('--http-port=-1', () => {
      assertConfigError(['--http-port=-1'], {}, '--http-port', '-1');
    });

    it('ENABLE_AUTH=maybe', () => {
      assertConfigError([], { ENABLE_AUTH: 'maybe' }, 'ENABLE_AUTH', 'maybe');
    });

    it('PROSODY_C2S_LIMIT=fast', () => {
      assertConfigError([], { PROSODY_C2S_LIMIT: 'fast' }, 'PROSODY_C2S_LIMIT', 'fast');
    });

    it('LOG_LEVEL=loud', () => {
      assertConfigError([], { LOG_LEVEL: 'loud' }, 'log.level', 'LOG_LEVEL');
    });

    it('a flag without its value', () => {
      assertConfigError(['--http-port'], {}, '--http-port');
    });

    it('an unacknowledged-bytes bound smaller than the largest stanza', async () => {
      const file = await configFile('small-queue.json', JSON.stringify({ xmpp: { limits: { maxStanzaBytes: 512 * 1024, maxQueuedBytes: 256 * 1024 } } }));
      assertConfigError(['--config', file], {}, 'xmpp.limits.maxQueuedBytes', 'maxStanzaBytes', file);
    });

    it('an unknown key in the file, named with its parent and the file', async () => {
      const file = await configFile('unknown-key.json', JSON.stringify({ http: { port: 8000, prot: 1 } }));
      assertConfigError(['--config', file], {}, 'http', 'prot', file);
    });

    it('an unknown top-level key in the file', async () => {
      const file = await configFile('unknown-top.json', JSON.stringify({ bogus: true }));
      assertConfigError(['--config', file], {}, 'bogus', file);
    });

    it('__proto__, constructor and prototype anywhere in the file, as unknown keys, with the other problems', async () => {
      // Written as text: JSON.stringify would not write __proto__ as a key.
      const cases: Array<[string, string, string]> = [
        ['{"__proto__": {"http": {"port": 1}}}', '(top)', '__proto__'],
        ['{"xmpp": {"components": {"secrets": {"__proto__": "a component secret"}}}}', 'xmpp.components.secrets', '__proto__'],
        ['{"xmpp": {"components": {"secrets": {"__proto__": {"focus.meet.jitsi": "a component secret"}}}}}', 'xmpp.components.secrets', '__proto__'],
        ['{"xmpp": {"components": {"secrets": {"constructor": "a component secret"}}}}', 'xmpp.components.secrets', 'constructor'],
        ['{"xmpp": {"components": {"secrets": {"prototype": "a component secret"}}}}', 'xmpp.components.secrets', 'prototype'],
        ['{"turn": {"servers": [{"type": "stun", "host": "stun.example", "port": 3478, "constructor": {}}]}}', 'turn.servers.0', 'constructor'],
      ];
      for (const [i, [text, parent, key]] of cases.entries()) {
        const file = await configFile(`reserved-${i}.json`, text);
        assertConfigError(['--config', file], {}, `${parent} (in ${file}): Unrecognized key: "${key}"`);
      }
      const both = await configFile('reserved-and-bad.json', '{"http": {"port": "x"}, "xmpp": {"components": {"secrets": {"__proto__": "a component secret"}}}}');
      assertConfigError(['--config', both], {}, 'xmpp.components.secrets', '__proto__', 'http.port', both);
    });

    it('keeps component secrets and server lists of a valid file as written', async () => {
      const file = await configFile('valid-nested.json', JSON.stringify({
        xmpp: { components: { secrets: { 'focus.meet.jitsi': 'a component secret', 'jvb.meet.jitsi': 'another secret' } } },
        turn: { servers: [{ type: 'stun', host: 'stun.example', port: 3478 }] },
      }));
      const { config } = load(['--config', file]);
      assert.deepEqual(config.xmpp.components.secrets, { 'focus.meet.jitsi': 'a component secret', 'jvb.meet.jitsi': 'another secret' });
      assert.equal(Object.getPrototypeOf(config.xmpp.components.secrets), Object.prototype);
      assert.deepEqual(config.turn.servers.map(({ type, host, port }) => ({ type, host, port })), [{ type: 'stun', host: 'stun.example', port: 3478 }]);
    });

    it('every problem of a file at once, still on one line', async () => {
      const file = await configFile('two-problems.json', JSON.stringify({ http: { port: 'x' }, media: { port: 99999 } }));
      assertConfigError(['--config', file], {}, 'http.port', 'media.port', file);
    });

    it('--tls files without certificate files', () => {
      assertConfigError(['--tls', 'files'], {}, 'http.tls', '--tls', 'certFile', 'keyFile');
    });

    it('SALON_TLS=files with only a certificate file', () => {
      assertConfigError([], { SALON_TLS: 'files', TLS_CERT_FILE: '/etc/cert.pem' }, 'http.tls', 'SALON_TLS', 'keyFile');
    });

    it('tls "files" in the file without certificate files', async () => {
      const file = await configFile('tls-files.json', JSON.stringify({ http: { tls: 'files' } }));
      assertConfigError(['--config', file], {}, 'http.tls', file);
    });

    it('a config file that is not valid JSON (spread over several lines)', async () => {
      const file = await configFile('broken.json', '{\n  "http": {\n    "port": 1,\n  }\n}\n');
      assertConfigError(['--config', file], {}, file);
    });

    it('a config file that is JSON but not an object', async () => {
      const file = await configFile('array.json', '[1, 2]');
      assertConfigError(['--config', file], {}, file, 'not a JSON object');
    });

    it('a config file that does not exist', () => {
      const file = join(dir, 'missing.json');
      assertConfigError(['--config', file], {}, file);
    });
  });
  describe('the bridge (salon start --no-bridge, salon bridge)', () => {
    it('runs the built-in bridge by default, joining jvbbrewery as jvb and verifying the XMPP server certificate', () => {
      const { bridge } = load().config;
      assert.equal(bridge.enabled, true);
      assert.equal(bridge.brewery, 'jvbbrewery');
      assert.equal(bridge.user, 'jvb');
      assert.equal(bridge.xmppServer, 'localhost');
      assert.equal(bridge.xmppTls, 'verify');
      assert.equal(bridge.id, undefined);
      assert.equal(bridge.password, undefined);
    });

    it('--no-bridge and SALON_BRIDGE=false turn the built-in bridge off; the flag wins over the environment', () => {
      assert.equal(load(['--no-bridge']).config.bridge.enabled, false);
      assert.equal(load([], { SALON_BRIDGE: 'false' }).config.bridge.enabled, false);
      assert.equal(load(['--no-bridge'], { SALON_BRIDGE: 'true' }).config.bridge.enabled, false);
    });

    it('--no-bridge takes no value and leaves the next argument alone', () => {
      const { config, rest } = load(['--no-bridge', 'extra']);
      assert.equal(config.bridge.enabled, false);
      assert.deepEqual(rest, ['extra']);
      assertConfigError(['--no-bridge=yes'], {}, '--no-bridge', 'no value');
    });

    it('reads docker-jitsi-meet\'s JVB variables', () => {
      const { bridge, xmpp } = load([], {
        XMPP_SERVER: 'xmpp.meet.jitsi', XMPP_PORT: '5223', JVB_AUTH_USER: 'bridges', JVB_AUTH_PASSWORD: 'a long password',
        JVB_BREWERY_MUC: 'otherbrewery', JVB_MUC_NICKNAME: 'jvb-eu-1', JVB_OCTO_REGION: 'eu-west',
      }).config;
      assert.deepEqual(
        { server: bridge.xmppServer, user: bridge.user, password: bridge.password, brewery: bridge.brewery, id: bridge.id, region: bridge.region, port: xmpp.c2s.port },
        { server: 'xmpp.meet.jitsi', user: 'bridges', password: 'a long password', brewery: 'otherbrewery', id: 'jvb-eu-1', region: 'eu-west', port: 5223 },
      );
    });

    it('takes the XMPP server, TLS policy, CA file, id and region as flags', () => {
      const { bridge } = load(['--xmpp-server', 'meet.example.org:5269', '--xmpp-tls', 'insecure', '--xmpp-ca-file', '/etc/ca.pem', '--bridge-id', 'b2', '--region', 'us']).config;
      assert.deepEqual(
        { s: bridge.xmppServer, t: bridge.xmppTls, ca: bridge.xmppCaFile, id: bridge.id, r: bridge.region },
        { s: 'meet.example.org:5269', t: 'insecure', ca: '/etc/ca.pem', id: 'b2', r: 'us' },
      );
    });

    it('refuses a list of XMPP servers (one per bridge)', () => {
      assertConfigError([], { XMPP_SERVER: 'a.example,b.example' }, 'bridge.xmppServer', 'XMPP_SERVER', 'host:port');
    });

    it('refuses a bridge id that cannot be an XMPP resource, nickname and URL segment', () => {
      assertConfigError(['--bridge-id', 'my bridge/1'], {}, 'bridge.id', '--bridge-id');
    });

    it('refuses an unknown certificate policy', () => {
      assertConfigError([], { SALON_XMPP_TLS: 'maybe' }, 'bridge.xmppTls', 'SALON_XMPP_TLS');
    });
  });

  it('warns of a JWT_APP_SECRET shorter than HS256 needs wherever it signs or verifies tokens, and of TURN servers without credentials', () => {
    const warnings = (env: Record<string, string>) => configWarnings(load([], env).config);
    const jwt = { ENABLE_AUTH: 'true', AUTH_TYPE: 'jwt', JWT_APP_ID: 'my-app' };
    const [short, ...others] = warnings({ ...jwt, JWT_APP_SECRET: 'a long shared secret' });
    assert.match(short ?? '', /^JWT_APP_SECRET has 20 bytes, HS256 needs 32 at least \(RFC 7518 §3\.2\)/);
    assert.deepEqual(others, []);
    assert.equal(warnings({ ...jwt, JWT_APP_SECRET: 'k'.repeat(31) }).length, 1);
    assert.deepEqual(warnings({ ...jwt, JWT_APP_SECRET: 'k'.repeat(32) }), []);
    assert.deepEqual(warnings({ ...jwt, JWT_APP_SECRET: 'é'.repeat(16) }), [], 'counted in bytes, as HMAC takes it');
    const oidc = { ENABLE_AUTH: 'true', AUTH_TYPE: 'oidc', OIDC_ISSUER: 'https://idp.example.org', OIDC_CLIENT_ID: 'salon' };
    assert.equal(warnings({ ...oidc, JWT_APP_SECRET: 'short secret' }).length, 1, 'it signs the tokens minted after a sign-in');
    assert.deepEqual(warnings(oidc), [], 'the generated secret is long enough');
    assert.deepEqual(warnings({ JWT_APP_SECRET: 'short secret' }), [], 'no authentication: the secret verifies nothing');
    assert.deepEqual(warnings({ TURN_HOST: 'turn.example.org' }), ['TURN servers are announced without credentials: set TURN_CREDENTIALS to the TURN server\'s shared secret']);
    assert.deepEqual(warnings({ TURN_HOST: 'turn.example.org', TURN_CREDENTIALS: 'a shared secret' }), []);
  });
});
