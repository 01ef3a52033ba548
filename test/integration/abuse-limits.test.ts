/**
 * Abuse limits on a real server: failed logins are refused with temporary-auth-failure once an
 * account (or an address) has spent its allowance, without the password being checked, and
 * again accepted after the window; a flood of conference requests from one session gets
 * resource-constraint while another session's requests pass; sessions left hibernating count
 * against their address until resumed or expired; a session that leaves too many bytes
 * unacknowledged is closed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Element } from 'ltx';
import { connectClient, startTestServer, stopClient, xml, type TestServer, type XmppClient } from './harness.ts';
import { ClientSession } from '../../xmpp/session.ts';
import { RawWsClient } from './raw-client.ts';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_FOCUS = 'http://jitsi.org/protocol/focus';
const NS_SM = 'urn:xmpp:sm:3';
/** Anonymous logins go to the guest domain on these servers (ENABLE_AUTH). */
const GUESTS = 'guest.meet.jitsi';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

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

/** A server whose limits come from a config file (the knobs of xmpp.limits, and other xmpp settings). */
async function serverWithLimits(limits: Record<string, number>, xmpp: Record<string, number> = {}): Promise<{ server: TestServer; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'salon-limits-'));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ xmpp: { ...xmpp, limits } }));
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

  describe('sessions per address (maxConnectionsPerAddress: 2)', () => {
    let handle: Awaited<ReturnType<typeof serverWithLimits>>;
    const raws: RawWsClient[] = [];

    before(async () => {
      handle = await serverWithLimits({ maxConnectionsPerAddress: 2 });
    });
    afterEach(() => {
      for (const raw of raws.splice(0)) raw.close();
    });
    after(async () => handle.dispose());

    const connect = (address: string, query = ''): RawWsClient => {
      const raw = new RawWsClient(`${handle.server.wsUrl}${query}`, { localAddress: address });
      raws.push(raw);
      return raw;
    };

    /** A guest from `address` that enables resumption and drops its connection; resolves once its session hibernates. */
    async function hibernatingSession(address: string): Promise<{ jid: string; previd: string }> {
      const raw = connect(address);
      const jid = await raw.loginAnonymous(GUESTS);
      raw.send(xml('enable', { xmlns: NS_SM, resume: 'true' }).toString());
      const enabled = await raw.waitFor((e) => e.name === 'enabled', 5000, 'enabled');
      raw.close();
      await waitUntil(() => hibernating(handle.server, jid), `${jid} to hibernate`);
      return { jid, previd: enabled.attrs.id as string };
    }

    /**
     * A guest from `address` asking to bind a resource: the server's result (the session stays)
     * or error (its connection is closed, and gone from the server's count, before this returns).
     */
    async function bind(address: string): Promise<Element> {
      const raw = connect(address);
      await raw.authenticateAnonymous(GUESTS);
      raw.send(xml('iq', { xmlns: 'jabber:client', type: 'set', id: 'bind' }, xml('bind', { xmlns: NS_BIND })).toString());
      const answer = await raw.waitFor((e) => e.name === 'iq' && e.attrs.id === 'bind', 5000, 'bind answer');
      if (answer.attrs.type === 'error') {
        const websocket = handle.server.salon.xmpp.websocket;
        const open = websocket.connectionCount;
        raw.close();
        await waitUntil(() => websocket.connectionCount < open, 'the refused connection to close');
      }
      return answer;
    }

    /** A new connection from `address` resuming `previd` (Jitsi names it in the URL): <resumed/> or <failed/>, and the connection. */
    async function resume(address: string, previd: string): Promise<{ raw: RawWsClient; answer: Element }> {
      const raw = connect(address, `?previd=${encodeURIComponent(previd)}`);
      await raw.authenticateAnonymous(GUESTS);
      raw.send(xml('resume', { xmlns: NS_SM, h: '0', previd }).toString());
      const answer = await raw.waitFor((e) => e.attrs.xmlns === NS_SM && (e.name === 'resumed' || e.name === 'failed'), 5000, 'resumption outcome');
      return { raw, answer };
    }

    const refused = (answer: Element): boolean =>
      answer.attrs.type === 'error' && answer.getChild('error')?.getChild('resource-constraint', NS_STANZAS) !== undefined;

    it('counts hibernating sessions against their address: a new session is refused, and each of them still resumes from there', async () => {
      const a = await hibernatingSession('127.0.0.11');
      const b = await hibernatingSession('127.0.0.11');
      const third = await bind('127.0.0.11');
      assert.ok(refused(third), `a third session from the address is refused: ${third.toString()}`);
      assert.equal(third.getChild('error')?.attrs.type, 'wait');
      assert.equal((await bind('127.0.0.12')).attrs.type, 'result', 'another address is not affected');
      // Resumption takes over the session's own slot, however full the address is.
      const resumedA = await resume('127.0.0.11', a.previd);
      assert.equal(resumedA.answer.name, 'resumed');
      assert.equal((await resume('127.0.0.11', b.previd)).answer.name, 'resumed');
      // Counted once: when one of them ends, its address has room for a new session.
      resumedA.raw.send(xml('close', { xmlns: 'urn:ietf:params:xml:ns:xmpp-framing' }).toString());
      await waitUntil(() => handle.server.salon.xmpp.router.resource(a.jid) === undefined, 'the resumed session to end');
      assert.equal((await bind('127.0.0.11')).attrs.type, 'result');
    });

    it('moves a session resumed from another address there, and leaves one whose new address is full resumable where it was', async () => {
      const a = await hibernatingSession('127.0.0.21');
      const b = await hibernatingSession('127.0.0.21');
      assert.equal((await resume('127.0.0.22', a.previd)).answer.name, 'resumed');
      assert.equal((await bind('127.0.0.21')).attrs.type, 'result', 'the first address has a slot again');
      assert.ok(refused(await bind('127.0.0.21')), 'and no more');
      await hibernatingSession('127.0.0.23');
      await hibernatingSession('127.0.0.23');
      const full = await resume('127.0.0.23', b.previd);
      assert.equal(full.answer.name, 'failed');
      assert.ok(full.answer.getChild('resource-constraint', NS_STANZAS), full.answer.toString());
      assert.ok(hibernating(handle.server, b.jid), 'still hibernating');
      assert.equal((await resume('127.0.0.21', b.previd)).answer.name, 'resumed');
    });
  });

  describe('sessions per address when hibernation expires (smHibernationSeconds: 2)', () => {
    let handle: Awaited<ReturnType<typeof serverWithLimits>>;
    const raws: RawWsClient[] = [];

    before(async () => {
      handle = await serverWithLimits({ maxConnectionsPerAddress: 1 }, { smHibernationSeconds: 2 });
    });
    after(async () => {
      for (const raw of raws) raw.close();
      await handle.dispose();
    });

    it('frees the slot of a session whose hibernation expired', async () => {
      const first = new RawWsClient(handle.server.wsUrl);
      raws.push(first);
      const jid = await first.loginAnonymous(GUESTS);
      first.send(xml('enable', { xmlns: NS_SM, resume: 'true' }).toString());
      await first.waitFor((e) => e.name === 'enabled', 5000, 'enabled');
      first.close();
      await waitUntil(() => hibernating(handle.server, jid), 'the session to hibernate');
      const bindAnswer = async (): Promise<Element> => {
        const raw = new RawWsClient(handle.server.wsUrl);
        raws.push(raw);
        await raw.authenticateAnonymous(GUESTS);
        raw.send(xml('iq', { xmlns: 'jabber:client', type: 'set', id: 'bind' }, xml('bind', { xmlns: NS_BIND })).toString());
        const answer = await raw.waitFor((e) => e.name === 'iq' && e.attrs.id === 'bind', 5000, 'bind answer');
        raw.close();
        await raw.closed;
        return answer;
      };
      assert.equal((await bindAnswer()).attrs.type, 'error', 'refused while the session hibernates');
      await waitUntil(() => handle.server.salon.xmpp.router.resource(jid) === undefined, 'the hibernation to expire', 10_000);
      assert.equal((await bindAnswer()).attrs.type, 'result');
    });
  });

  describe('unacknowledged stanzas (maxQueuedBytes: 256 KiB)', () => {
    let handle: Awaited<ReturnType<typeof serverWithLimits>>;
    const raws: RawWsClient[] = [];

    before(async () => {
      handle = await serverWithLimits({ maxQueuedBytes: 256 * 1024 });
    });
    afterEach(() => {
      for (const raw of raws.splice(0)) raw.close();
    });
    after(async () => handle.dispose());

    /** A guest with stream management on, and a way to send it 60 KB messages. */
    async function streamManagedGuest(): Promise<{ raw: RawWsClient; jid: string; send(id: string): void }> {
      const raw = new RawWsClient(handle.server.wsUrl);
      raws.push(raw);
      const jid = await raw.loginAnonymous(GUESTS);
      raw.send(xml('enable', { xmlns: NS_SM }).toString());
      await raw.waitFor((e) => e.name === 'enabled', 5000, 'enabled');
      const send = (id: string): void => {
        const message = new Element('message', { xmlns: 'jabber:client', from: 'someone@guest.meet.jitsi/a', to: jid, type: 'chat', id });
        message.c('body').t('x'.repeat(60_000));
        handle.server.salon.xmpp.router.route(message);
      };
      return { raw, jid, send };
    }

    it('closes a session that leaves more than 256 KiB unacknowledged with policy-violation, five stanzas of the 1,000 it may leave', async () => {
      const { raw, jid, send } = await streamManagedGuest();
      for (let i = 1; i <= 10; i++) send(`big${i}`);
      assert.equal(await raw.streamError(), 'policy-violation');
      assert.ok(raw.frames.some((f) => f.includes('too many unacknowledged bytes')), 'named for the bytes');
      const delivered = raw.elements.filter((e) => e.name === 'message').map((e) => e.attrs.id);
      assert.deepEqual(delivered, ['big1', 'big2', 'big3', 'big4'], 'four fit in 256 KiB');
      await waitUntil(() => handle.server.salon.xmpp.router.resource(jid) === undefined, 'the session to end');
    });

    it('keeps a session that acknowledges what it receives, however much it receives in all', async () => {
      const { raw, jid, send } = await streamManagedGuest();
      for (let i = 1; i <= 10; i++) {
        send(`big${i}`);
        await raw.waitFor((e) => e.name === 'message' && e.attrs.id === `big${i}`, 5000, `message ${i}`);
        raw.send(xml('a', { xmlns: NS_SM, h: String(i) }).toString());
      }
      assert.ok(handle.server.salon.xmpp.router.resource(jid), 'still bound');
      assert.ok(!raw.frames.some((f) => f.includes('stream:error')), 'no stream error');
    });
  });
});

function hibernating(server: TestServer, jid: string): boolean {
  const session = server.salon.xmpp.router.resource(jid);
  return session instanceof ClientSession && session.isHibernating;
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
