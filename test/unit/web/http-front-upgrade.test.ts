import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createHttpFront } from '../../../web/server/app.ts';

describe('web/server/app (WebSocket upgrades)', () => {
  it('logs a failed upgrade\'s path without its query or a document capability', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } });
    const front = createHttpFront({
      log: pino({ level: 'error' }, sink),
      registry: new Registry(),
      health: () => null,
      pad: { matches: () => true, handleUpgrade: () => { throw new Error('handler bug'); } },
    });
    const targets = [
      '/pad/q1w2e3r4t5y6u7i8.SECRETSECRETSECRETSECR',
      '/tenant/pad/q1w2e3r4t5y6u7i8?token=TOKENTOKEN',
      '/etherpad/p/q1w2e3r4t5y6u7i8.SECRETSECRETSECRETSECR',
      '/xmpp-websocket?previd=PREVIDPREVID&token=TOKENTOKEN',
    ];
    for (const url of targets) {
      let destroyed = false;
      front.handleUpgrade({ url, headers: {} } as IncomingMessage, { destroy: () => void (destroyed = true), on: () => undefined } as unknown as Duplex, Buffer.alloc(0));
      assert.equal(destroyed, true, `${url}: the socket is dropped`);
    }
    assert.equal(lines.length, targets.length);
    const paths = lines.map((line) => (JSON.parse(line) as { path?: string }).path);
    assert.deepEqual(paths, ['/pad/…', '/tenant/pad/…', '/etherpad/p/…', '/xmpp-websocket']);
    for (const line of lines) assert.ok(!/SECRET|TOKEN|PREVID/.test(line), line);
  });
});
