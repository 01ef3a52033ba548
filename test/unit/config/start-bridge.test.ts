import assert from 'node:assert/strict';
import { ConfigError } from '../../../config/load.ts';
import { defaultBridgeId, parseServerAddress } from '../../../config/start-bridge.ts';

describe('config/start-bridge', () => {
  describe('parseServerAddress', () => {
    const cases: Array<[server: string, host: string, port: number]> = [
      ['xmpp.meet.jitsi', 'xmpp.meet.jitsi', 5222],
      ['xmpp.meet.jitsi:5269', 'xmpp.meet.jitsi', 5269],
      ['192.0.2.7', '192.0.2.7', 5222],
      ['192.0.2.7:6222', '192.0.2.7', 6222],
      ['[2001:db8::1]', '2001:db8::1', 5222],
      ['[2001:db8::1]:6222', '2001:db8::1', 6222],
    ];
    for (const [server, host, port] of cases) {
      it(`reads ${server} as ${host} port ${port}`, () => {
        assert.deepEqual(parseServerAddress(server, 5222), { host, port });
      });
    }
    for (const bad of ['', 'host:', 'host:99999', 'a:b:c', '[::1']) {
      it(`refuses ${JSON.stringify(bad)}`, () => {
        assert.throws(() => parseServerAddress(bad, 5222), ConfigError);
      });
    }
  });

  describe('defaultBridgeId', () => {
    it('keeps a plain host name', () => {
      assert.equal(defaultBridgeId('jvb2.example.org'), 'jvb2.example.org');
    });
    it('replaces what a resource, nickname or path segment cannot hold, and keeps 64 characters', () => {
      assert.equal(defaultBridgeId('my host/ü'), 'my-host--');
      assert.equal(defaultBridgeId('x'.repeat(80)).length, 64);
    });
    it('falls back to jvb for an empty host name', () => {
      assert.equal(defaultBridgeId(''), 'jvb');
    });
  });
});
