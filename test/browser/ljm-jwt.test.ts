/**
 * lib-jitsi-meet in headless Chromium logging in to a Salon with AUTH_TYPE=jwt: the token given to
 * `new JitsiConnection(null, token, options)` rides on the WebSocket URL, a valid one makes a token
 * session on the main domain, an expired one is refused with the reason in the SASL failure.
 */
import assert from 'node:assert/strict';
import { SignJWT, type JWTPayload } from 'jose';
import type { Page } from 'playwright-core';
import { startLjmRig, type LjmRig } from './ljm-rig.ts';

const APP = 'salon-ljm-app';
const SECRET = 'browser test secret, long enough for HS256';

interface ConnectResult { ok: boolean; error?: string; message?: string; jid?: string }

function token(over: JWTPayload = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: APP, aud: APP, sub: 'meet.jitsi', room: '*', exp: now + 600, context: { user: { name: 'Host' } }, ...over })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(SECRET));
}

describe('lib-jitsi-meet with a JWT (browser)', function () {
  this.timeout(60_000);
  let rig: LjmRig;

  before(async () => {
    rig = await startLjmRig({ env: { ENABLE_AUTH: 'true', AUTH_TYPE: 'jwt', JWT_APP_ID: APP, JWT_APP_SECRET: SECRET } });
  });
  after(async () => {
    await rig?.close();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(rig.browser.dumpLogs().split('\n').slice(-60).join('\n'));
  });

  function connect(page: Page, room: string, jwt: string): Promise<ConnectResult> {
    return page.evaluate(([r, t]) => (window as unknown as {
      salonTest: { connect(r: string, o: { token: string; timeoutMs: number }): Promise<ConnectResult> };
    }).salonTest.connect(r, { token: t, timeoutMs: 15_000 }), [room, jwt] as const);
  }

  function inboundFrames(page: Page): Promise<string[]> {
    return page.evaluate(() => (window as unknown as { salonTest: { xmpp: Array<{ dir: string; data: string }> } })
      .salonTest.xmpp.filter((f) => f.dir === 'in').map((f) => f.data));
  }

  it('logs in on the main domain with a valid token, and the server knows the session as a token holder', async () => {
    const page = await rig.browser.newPage(rig.pageUrl, { label: 'host' });
    const result = await connect(page, 'tokenroom', await token({ room: 'tokenroom' }));
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.match(result.jid ?? '', /@meet\.jitsi\//);
    const identity = rig.server.salon.xmpp.sessionIdentity(result.jid!);
    assert.ok(identity?.authenticated === 'token', JSON.stringify(identity));
    assert.equal(identity.claims.room, 'tokenroom');
  });

  it('is refused with an expired token, and the failure names the reason', async () => {
    const page = await rig.browser.newPage(rig.pageUrl, { label: 'late' });
    const result = await connect(page, 'tokenroom', await token({ exp: Math.floor(Date.now() / 1000) - 3600 }));
    assert.equal(result.ok, false, JSON.stringify(result));
    const failure = (await inboundFrames(page)).find((f) => f.includes('<failure') && f.includes('urn:ietf:params:xml:ns:xmpp-sasl'));
    assert.ok(failure, 'the client received a SASL failure');
    assert.match(failure, /<not-authorized\/>/);
    assert.match(failure, /<text[^>]*>token expired<\/text>/);
  });
});
