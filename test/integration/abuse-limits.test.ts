/**
 * Abuse limits on a real server: failed logins are refused with temporary-auth-failure once an
 * account (or an address) has spent its allowance, without the password being checked, and
 * again accepted after the window; a flood of conference requests from one session gets
 * resource-constraint while another session's requests pass.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Element } from 'ltx';
import { connectClient, startTestServer, stopClient, xml, type TestServer, type XmppClient } from './harness.ts';
import { RawWsClient } from './raw-client.ts';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_FOCUS = 'http://jitsi.org/protocol/focus';

/** One PLAIN attempt on its own connection; resolves with the `<success/>` or `<failure/>`. */
async function plainLogin(server: TestServer, username: string, password: string): Promise<Element> {
  const raw = new RawWsClient(server.wsUrl);
  try {
    await raw.open();
    raw.send('<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>');
    await raw.waitFor((el) => el.name === 'stream:features' || el.name === 'features', 5000, 'stream features');
    raw.send(xml('auth', { xmlns: NS_SASL, mechanism: 'PLAIN' }, Buffer.from(`\u0000${username}\u0000${password}`).toString('base64')).toString());
    return await raw.waitFor((el) => el.attrs.xmlns === NS_SASL && (el.name === 'success' || el.name === 'failure'), 5000, 'SASL outcome');
  } finally {
    raw.ws.terminate();
    await raw.closed;
  }
}

function condition(outcome: Element): string {
  if (outcome.name === 'success') return 'success';
  return outcome.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name ?? '(none)';
}

/** A server whose limits come from a config file (the knobs of xmpp.limits). */
async function serverWithLimits(limits: Record<string, number>): Promise<{ server: TestServer; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'salon-limits-'));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ xmpp: { limits } }));
  try {
    const server = await startTestServer({ ENABLE_AUTH: 'true' }, ['--config', file]);
    return { server, async dispose() { await server.close(); await rm(dir, { recursive: true, force: true }); } };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

describe('abuse limits', function () {
  this.timeout(30_000);

  describe('failed logins (default limits: 5 per account, 20 per address, over 300 s)', () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer({ ENABLE_AUTH: 'true' });
      await server.salon.xmpp.accounts.setPassword('alice@meet.jitsi', 'alice password 123');
      await server.salon.xmpp.accounts.setPassword('bob@meet.jitsi', 'bob password 456');
    });
    after(async () => server.close());

    it('refuses the 6th attempt on an account with temporary-auth-failure even with the right password; another account logs in', async () => {
      for (let i = 0; i < 5; i++) assert.equal(condition(await plainLogin(server, 'alice', `guess ${i}`)), 'not-authorized', `guess ${i + 1} is checked`);
      const refused = await plainLogin(server, 'alice', 'alice password 123');
      assert.equal(condition(refused), 'temporary-auth-failure');
      assert.match(refused.getChildText('text') ?? '', /^too many failed logins; try again in \d+ s$/);
      assert.equal(condition(await plainLogin(server, 'bob', 'bob password 456')), 'success');
      // A library client sees the same refusal.
      await assert.rejects(
        connectClient({ service: server.wsUrl, domain: 'meet.jitsi', username: 'alice', password: 'alice password 123' }),
        (err: Error & { condition?: string }) => err.condition === 'temporary-auth-failure' || /temporary-auth-failure/.test(err.message),
      );
    });
  });

  describe('failed logins after the window', () => {
    let handle: Awaited<ReturnType<typeof serverWithLimits>>;

    before(async () => {
      handle = await serverWithLimits({ loginFailuresPerAccount: 1, loginFailureWindowSeconds: 3 });
      await handle.server.salon.xmpp.accounts.setPassword('carol@meet.jitsi', 'carol password 789');
    });
    after(async () => handle.dispose());

    it('accepts the right password again once the window has given an attempt back', async () => {
      assert.equal(condition(await plainLogin(handle.server, 'carol', 'wrong')), 'not-authorized');
      assert.equal(condition(await plainLogin(handle.server, 'carol', 'carol password 789')), 'temporary-auth-failure');
      const deadline = Date.now() + 10_000;
      let outcome = 'temporary-auth-failure';
      while (outcome === 'temporary-auth-failure' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        outcome = condition(await plainLogin(handle.server, 'carol', 'carol password 789'));
      }
      assert.equal(outcome, 'success');
    });
  });

  describe('conference requests (default: a burst of 10 per session)', () => {
    let server: TestServer;
    const clients: XmppClient[] = [];

    before(async () => {
      server = await startTestServer();
    });
    after(async () => {
      await Promise.all(clients.map(stopClient));
      await server.close();
    });

    it('answers a flood from one session with resource-constraint while another session is answered', async () => {
      const flooder = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
      const other = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
      clients.push(flooder.client, other.client);
      const request = () => xml('iq', { type: 'set', to: 'focus.meet.jitsi' }, xml('conference', { xmlns: NS_FOCUS, room: 'flood@muc.meet.jitsi' }));
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => flooder.client.iqCaller.request(request())));
      const refusals = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as { condition?: string; type?: string; text?: string });
      assert.ok(refusals.length >= 5, `at most 10 (and a little refill) of 20 pass; ${refusals.length} refused`);
      for (const r of refusals) assert.deepEqual([r.type, r.condition, r.text], ['wait', 'resource-constraint', 'too many conference requests']);
      assert.ok(outcomes.some((o) => o.status === 'fulfilled'), 'the first requests were answered');
      const answer = await other.client.iqCaller.request(request());
      assert.equal(answer.getChild('conference', NS_FOCUS)?.attrs.ready, 'true');
    });
  });
});
