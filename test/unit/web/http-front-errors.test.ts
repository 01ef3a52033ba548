/**
 * A handler that fails gets an error page with the same security headers as every other answer
 * (web/server/app.ts): Koa's own error handler removes every header set before it. A real Koa app
 * behind a real HTTP server on loopback.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createHttpFront, HSTS } from '../../../web/server/app.ts';

describe('web/server/app (a failing handler)', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function serve(signIn: Parameters<typeof createHttpFront>[0]['signIn'], lines: string[]): Promise<string> {
    const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } });
    const front = createHttpFront({ log: pino({ level: 'error' }, sink), registry: new Registry(), health: () => null, strictTransportSecurity: true, signIn });
    server = createServer(front.app.callback());
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const securityHeaders = (response: Response): Record<string, string | null> => ({
    nosniff: response.headers.get('x-content-type-options'),
    referrer: response.headers.get('referrer-policy'),
    hsts: response.headers.get('strict-transport-security'),
  });
  const expected = { nosniff: 'nosniff', referrer: 'no-referrer', hsts: HSTS };

  it('answers a handler\'s crash with a 500 that keeps the security headers, tells nothing of the error, and logs it', async () => {
    const lines: string[] = [];
    const base = await serve(async (ctx, next) => {
      if (ctx.path !== '/crash') return next();
      ctx.set('X-Leftover', 'set before the failure');
      throw new Error('secret detail of the failure');
    }, lines);
    const response = await fetch(`${base}/crash`);
    assert.equal(response.status, 500);
    assert.deepEqual(securityHeaders(response), expected);
    assert.equal(response.headers.get('x-leftover'), null, 'what the failed handler set is dropped');
    assert.equal(await response.text(), 'Internal Server Error\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /secret detail of the failure/, 'the error logged');
  });

  it('answers an HTTP error a handler throws with its status, its exposed message and its headers, the security headers kept', async () => {
    const lines: string[] = [];
    const base = await serve(async (ctx, next) => {
      if (ctx.path !== '/refused') return next();
      ctx.throw(429, 'slow down', { headers: { 'Retry-After': '7' } });
    }, lines);
    const response = await fetch(`${base}/refused`);
    assert.equal(response.status, 429);
    assert.deepEqual(securityHeaders(response), expected);
    assert.equal(response.headers.get('retry-after'), '7');
    assert.equal(await response.text(), 'slow down\n');
    assert.equal(lines.length, 0, 'a client error is not the server\'s to log');
  });
});
