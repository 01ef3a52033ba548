import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { buildClientConfig, clientConfigScript, type ClientConfig } from '../../../config/client-config.ts';
import { loadConfig } from '../../../config/load.ts';

function config(argv: string[] = [], env: Record<string, string> = {}) {
  return loadConfig(argv, { XDG_DATA_HOME: '/nonexistent/data', ...env }).config;
}

/** Runs the script as a browser would (a classic script in a fresh global) and returns `config`. */
function evaluate(script: string): ClientConfig {
  const sandbox: Record<string, unknown> = {};
  runInNewContext(script, sandbox);
  return sandbox.config as ClientConfig;
}

describe('config/client-config', () => {
  it('names the XMPP domain, the MUC and the focus component in hosts', () => {
    const out = buildClientConfig(config(), 'http://localhost:8000');
    assert.deepEqual(out.hosts, { domain: 'meet.jitsi', muc: 'muc.meet.jitsi', focus: 'focus.meet.jitsi' });
  });

  it('follows a configured domain', () => {
    const out = buildClientConfig(config(['--domain', 'example.org'], { XMPP_MUC_DOMAIN: 'conference.example.org' }), 'https://example.org');
    assert.equal(out.hosts.domain, 'example.org');
    assert.equal(out.hosts.muc, 'conference.example.org');
    assert.equal(out.hosts.focus, 'focus.example.org');
  });

  it('gives the focus user JID on the auth domain', () => {
    assert.equal(buildClientConfig(config(), 'http://localhost:8000').focusUserJid, 'focus@auth.meet.jitsi');
  });

  it('has no anonymousdomain without authentication', () => {
    const out = buildClientConfig(config(), 'http://localhost:8000');
    assert.equal('anonymousdomain' in out.hosts, false);
    assert.equal('authdomain' in out.hosts, false);
  });

  it('has no anonymousdomain with authentication but without guests', () => {
    const out = buildClientConfig(config([], { ENABLE_AUTH: '1', ENABLE_GUESTS: '0' }), 'http://localhost:8000');
    assert.equal('anonymousdomain' in out.hosts, false);
  });

  it('names the guest domain as anonymousdomain with authentication and guests', () => {
    const out = buildClientConfig(config([], { ENABLE_AUTH: '1', ENABLE_GUESTS: '1' }), 'http://localhost:8000');
    assert.equal(out.hosts.anonymousdomain, 'guest.meet.jitsi');
    assert.equal(out.hosts.authdomain, 'meet.jitsi');
  });

  it('derives ws:// and the BOSH URL from an http origin', () => {
    const out = buildClientConfig(config(), 'http://localhost:8000');
    assert.equal(out.websocket, 'ws://localhost:8000/xmpp-websocket');
    assert.equal(out.bosh, 'http://localhost:8000/http-bind');
  });

  it('derives wss:// and the BOSH URL from an https origin', () => {
    const out = buildClientConfig(config(), 'https://meet.example.org');
    assert.equal(out.websocket, 'wss://meet.example.org/xmpp-websocket');
    assert.equal(out.bosh, 'https://meet.example.org/http-bind');
  });

  it('prefers VP8 first', () => {
    const out = buildClientConfig(config(), 'http://localhost:8000');
    const quality = out.videoQuality as { codecPreferenceOrder: string[]; preferredCodec: string };
    assert.equal(quality.codecPreferenceOrder[0], 'VP8');
    assert.equal(quality.preferredCodec, 'VP8');
  });

  it('makes lib-jitsi-meet prefer VP9 only with ENABLE_CODEC_VP9', () => {
    const on = buildClientConfig(config([], { ENABLE_CODEC_VP9: 'true' }), 'http://localhost:8000');
    assert.deepEqual(on.videoQuality, { codecPreferenceOrder: ['VP9', 'VP8', 'H264', 'AV1'], preferredCodec: 'VP9' });
    const off = buildClientConfig(config([], { ENABLE_CODEC_VP9: 'false' }), 'http://localhost:8000');
    assert.deepEqual(off.videoQuality, { codecPreferenceOrder: ['VP8', 'H264', 'VP9', 'AV1'], preferredCodec: 'VP8' });
    assert.deepEqual(buildClientConfig(config(), 'http://localhost:8000').videoQuality, off.videoQuality);
  });

  it('makes lib-jitsi-meet prefer AV1 with ENABLE_CODEC_AV1, before VP9 when both are on', () => {
    const quality = (env: Record<string, string>) => buildClientConfig(config([], env), 'http://localhost:8000').videoQuality;
    assert.deepEqual(quality({ ENABLE_CODEC_AV1: 'true' }), { codecPreferenceOrder: ['AV1', 'VP8', 'H264', 'VP9'], preferredCodec: 'AV1' });
    assert.deepEqual(quality({ ENABLE_CODEC_AV1: 'true', ENABLE_CODEC_VP9: 'true' }), { codecPreferenceOrder: ['AV1', 'VP9', 'VP8', 'H264'], preferredCodec: 'AV1' });
    assert.deepEqual(quality({ ENABLE_CODEC_AV1: 'false', ENABLE_CODEC_VP9: 'true' }), { codecPreferenceOrder: ['VP9', 'VP8', 'H264', 'AV1'], preferredCodec: 'VP9' });
    assert.deepEqual(quality({ ENABLE_CODEC_AV1: 'false' }), { codecPreferenceOrder: ['VP8', 'H264', 'VP9', 'AV1'], preferredCodec: 'VP8' });
  });

  it('writes a script that evaluates to the same object', () => {
    const built = buildClientConfig(config([], { ENABLE_AUTH: '1' }), 'https://meet.example.org');
    const script = clientConfigScript(built);
    assert.match(script, /^var config = /);
    const evaluated = evaluate(script);
    assert.deepEqual(JSON.parse(JSON.stringify(evaluated)), JSON.parse(JSON.stringify(built)));
    assert.equal(evaluated.hosts.domain, 'meet.jitsi');
    assert.equal(evaluated.hosts.muc, 'muc.meet.jitsi');
    assert.equal(evaluated.hosts.focus, 'focus.meet.jitsi');
    assert.equal(evaluated.hosts.anonymousdomain, 'guest.meet.jitsi');
    assert.equal(evaluated.focusUserJid, 'focus@auth.meet.jitsi');
    assert.equal(evaluated.websocket, 'wss://meet.example.org/xmpp-websocket');
    assert.equal(evaluated.bosh, 'https://meet.example.org/http-bind');
  });

  it('keeps a value with quotes and a closing script tag as data, not code', () => {
    const built = buildClientConfig(config(), 'http://localhost:8000');
    built.extra = '"; alert(1); var x = "</script>';
    assert.equal(evaluate(clientConfigScript(built)).extra, built.extra);
  });
});
