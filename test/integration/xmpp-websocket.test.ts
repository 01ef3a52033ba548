/**
 * The XMPP server over WebSocket (RFC 7395), driven by @xmpp/client (a client library we did
 * not write): login, discovery, ping, multi-user chat as Jitsi uses it, and resumption.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Element } from 'ltx';
import { client as xmppClient } from '@xmpp/client';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer, type XmppClient } from './harness.ts';
import { RawWsClient } from './raw-client.ts';

const MUC = 'muc.meet.jitsi';
const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';

function mucItem(presence: Element): Element | undefined {
  return presence.getChild('x', NS_MUC_USER)?.getChild('item');
}
function statuses(presence: Element): string[] {
  return presence.getChild('x', NS_MUC_USER)?.getChildren('status').map((s) => s.attrs.code as string) ?? [];
}

/** The SASL mechanisms the server offers on a fresh stream to `domain`. */
async function offeredMechanisms(wsUrl: string, domain: string): Promise<string[]> {
  const raw = new RawWsClient(wsUrl);
  try {
    await raw.open();
    raw.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="${domain}" version="1.0"/>`);
    const features = await raw.waitFor((e) => e.name === 'stream:features', 5000, 'features');
    return features.getChild('mechanisms', 'urn:ietf:params:xml:ns:xmpp-sasl')?.getChildren('mechanism').map((m) => m.getText()) ?? [];
  } finally {
    raw.ws.close();
  }
}

/** Logs in with @xmpp/client using exactly `mechanism`; resolves with the bound JID. */
async function loginWith(wsUrl: string, mechanism: string, password: string): Promise<XmppClient> {
  const client = xmppClient({
    service: wsUrl,
    domain: 'auth.meet.jitsi',
    resource: mechanism,
    credentials: async (authenticate: (creds: Record<string, string>, mechanism: string) => Promise<void>) => {
      await authenticate({ username: 'alice', password }, mechanism);
    },
  });
  client.reconnect.stop();
  client.on('error', () => undefined);
  try {
    await client.start();
  } catch (err) {
    await stopClient(client);
    throw err;
  }
  return client;
}

const failedWith = (condition: string) => (err: Error & { condition?: string }) => err.condition === condition || err.message.includes(condition);

describe('XMPP over WebSocket with @xmpp/client', function () {
  let server: TestServer;
  const clients: XmppClient[] = [];

  before(async () => {
    server = await startTestServer({ XMPP_RESTRICT_ROOM_CREATION: 'false' });
    await server.salon.xmpp.accounts.setPassword('alice@auth.meet.jitsi', 'correct horse battery');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(stopClient));
  });
  after(async () => server.close());

  async function anonymous() {
    const c = await connectClient({ service: server.wsUrl, domain: 'meet.jitsi' });
    clients.push(c.client);
    return c;
  }

  it('logs in anonymously and binds a server-generated resource on the main domain', async () => {
    const { jid } = await anonymous();
    assert.match(jid, /^[0-9a-f-]{36}@meet\.jitsi\/.+$/);
  });

  it('logs in with a password on the auth domain (PLAIN alone: accounts kept as scrypt) and refuses a wrong password', async () => {
    assert.deepEqual(await offeredMechanisms(server.wsUrl, 'auth.meet.jitsi'), ['PLAIN']);
    const alice = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'alice', password: 'correct horse battery', resource: 'laptop' });
    clients.push(alice.client);
    assert.equal(alice.jid, 'alice@auth.meet.jitsi/laptop');
    await assert.rejects(
      connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'alice', password: 'wrong password!' }),
      (err: Error & { condition?: string }) => err.condition === 'not-authorized' || /not-authorized/.test(err.message),
    );
  });

  it('refuses SCRAM, which it does not offer, even with the right password', async () => {
    await assert.rejects(loginWith(server.wsUrl, 'SCRAM-SHA-1', 'correct horse battery'), failedWith('invalid-mechanism'));
  });

  it('replaces a session binding the same resource; the old one gets a conflict stream error', async () => {
    const first = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'alice', password: 'correct horse battery', resource: 'same' });
    clients.push(first.client);
    const conflict = new Promise<string>((resolve) => first.client.on('error', (err: Error & { condition?: string }) => resolve(err.condition ?? err.message)));
    const second = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'alice', password: 'correct horse battery', resource: 'same' });
    clients.push(second.client);
    assert.equal(await conflict, 'conflict');
    assert.equal(second.jid, 'alice@auth.meet.jitsi/same');
    const pong = await second.client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    assert.equal(pong.attrs.type, 'result');
  });

  it('answers disco#info on the domain with ping support, and pings', async () => {
    const { client } = await anonymous();
    const info = await client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const features = info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var);
    assert.ok(features.includes('urn:xmpp:ping'));
    assert.ok(info.getChild('query')!.getChildren('identity').some((i) => i.attrs.category === 'server'));
    const pong = await client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    assert.equal(pong.attrs.type, 'result');
    const items = await client.iqCaller.request(xml('iq', { type: 'get', to: 'meet.jitsi' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
    assert.ok(items.getChild('query')!.getChildren('item').some((i) => i.attrs.jid === MUC));
  });

  it('answers an IQ to an unknown domain with remote-server-not-found', async () => {
    const { client } = await anonymous();
    await assert.rejects(
      client.iqCaller.request(xml('iq', { type: 'get', to: 'elsewhere.example' }, xml('ping', { xmlns: 'urn:xmpp:ping' }))),
      (err: Error & { condition?: string }) => err.condition === 'remote-server-not-found',
    );
  });

  describe('multi-user chat', () => {
    async function join(c: { client: XmppClient; jid: string; inbox: Element[] }, room: string, nick: string, extra: Element[] = [], password?: string) {
      const x = xml('x', { xmlns: NS_MUC }, ...(password ? [xml('password', {}, password)] : []));
      await c.client.send(xml('presence', { to: `${room}/${nick}` }, x, ...extra));
      return waitForStanza(c.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/${nick}` && (statuses(s).includes('110') || s.attrs.type === 'error'), 5000, `self presence in ${room}`);
    }

    it('creates a room, shows each occupant with its real JID, and relays Jitsi presence extensions intact', async () => {
      const a = await anonymous();
      const b = await anonymous();
      const room = `relay@${MUC}`;
      const self = await join(a, room, 'aaaa1111');
      assert.deepEqual(statuses(self).sort(), ['100', '110', '201']);
      assert.equal(mucItem(self)?.attrs.affiliation, 'owner');
      const sourceInfo = '{"bbbb2222-a0":{"muted":true},"bbbb2222-v0":{"muted":false,"videoType":"camera"}}';
      await join(b, room, 'bbbb2222', [
        xml('SourceInfo', {}, sourceInfo),
        xml('stats-id', {}, 'Kristofer-Hxb'),
        xml('nick', { xmlns: 'http://jabber.org/protocol/nick' }, 'Bob'),
        xml('jitsi_participant_codecList', {}, 'vp8,h264'),
        xml('unknown', { xmlns: 'urn:example:salon-test' }, xml('deep', { level: '2' }, 'kept')),
      ]);
      const seen = await waitForStanza(a.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/bbbb2222`, 5000, 'Bob seen by Alice');
      assert.equal(seen.getChildText('SourceInfo'), sourceInfo);
      assert.equal(seen.getChildText('stats-id'), 'Kristofer-Hxb');
      assert.equal(seen.getChild('nick', 'http://jabber.org/protocol/nick')?.getText(), 'Bob');
      assert.equal(seen.getChildText('jitsi_participant_codecList'), 'vp8,h264');
      assert.equal(seen.getChild('unknown', 'urn:example:salon-test')?.getChild('deep')?.getText(), 'kept');
      assert.equal(mucItem(seen)?.attrs.jid, b.jid);
      // and the newcomer saw the first occupant with its real JID
      const first = await waitForStanza(b.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/aaaa1111`, 5000, 'Alice seen by Bob');
      assert.equal(mucItem(first)?.attrs.jid, a.jid);
    });

    it('broadcasts groupchat with the same id and delivers private messages from the occupant JID', async () => {
      const a = await anonymous();
      const b = await anonymous();
      const room = `chat@${MUC}`;
      await join(a, room, 'alice');
      await join(b, room, 'bob');
      await a.client.send(xml('message', { to: room, type: 'groupchat', id: 'msg-1' }, xml('body', {}, 'bonjour <à> tous')));
      for (const c of [a, b]) {
        const m = await waitForStanza(c.inbox, (s) => s.name === 'message' && s.attrs.id === 'msg-1', 5000, 'groupchat');
        assert.equal(m.attrs.from, `${room}/alice`);
        assert.equal(m.getChildText('body'), 'bonjour <à> tous');
      }
      await b.client.send(xml('message', { to: `${room}/alice`, type: 'chat', id: 'pm-1' }, xml('body', {}, 'psst')));
      const pm = await waitForStanza(a.inbox, (s) => s.name === 'message' && s.attrs.id === 'pm-1', 5000, 'private message');
      assert.equal(pm.attrs.from, `${room}/bob`);
      assert.equal(pm.getChildText('body'), 'psst');
    });

    it('lets the owner grant moderator, and a moderator kick with status 307', async () => {
      const a = await anonymous();
      const b = await anonymous();
      const c = await anonymous();
      const room = `moderation@${MUC}`;
      await join(a, room, 'owner');
      await join(b, room, 'bob');
      await join(c, room, 'carol');
      // a participant may not kick
      await assert.rejects(
        c.client.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { nick: 'bob', role: 'none' })))),
        (err: Error & { condition?: string }) => err.condition === 'forbidden' || err.condition === 'not-allowed',
      );
      // the owner grants Bob ownership (Jitsi's "grant moderator")
      await a.client.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation: 'owner', jid: b.jid.split('/')[0] }))));
      const promoted = await waitForStanza(c.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/bob` && mucItem(s)?.attrs.role === 'moderator', 5000, 'Bob promoted');
      assert.equal(mucItem(promoted)?.attrs.affiliation, 'owner');
      // Bob, now moderator, kicks Carol
      await b.client.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { nick: 'carol', role: 'none' }, xml('reason', {}, 'bye')))));
      const kicked = await waitForStanza(c.inbox, (s) => s.name === 'presence' && s.attrs.type === 'unavailable' && s.attrs.from === `${room}/carol`, 5000, 'kick');
      assert.ok(statuses(kicked).includes('307'));
      assert.ok(statuses(kicked).includes('110'));
      const seenByOwner = await waitForStanza(a.inbox, (s) => s.name === 'presence' && s.attrs.type === 'unavailable' && s.attrs.from === `${room}/carol`, 5000, 'kick seen');
      assert.ok(statuses(seenByOwner).includes('307'));
    });

    it('keeps nicknames (endpoint ids) to safe characters and refuses nickname changes', async () => {
      const a = await anonymous();
      const room = `nicks@${MUC}`;
      const bad = await join(a, room, 'évil nick');
      assert.equal(bad.attrs.type, 'error');
      assert.ok(bad.getChild('error')?.getChild('jid-malformed'));
      a.inbox.length = 0;
      await join(a, room, 'abcd1234');
      await a.client.send(xml('presence', { to: `${room}/efgh5678` }));
      const refused = await waitForStanza(a.inbox, (s) => s.name === 'presence' && s.attrs.type === 'error', 5000, 'nick change refused');
      assert.ok(refused.getChild('error')?.getChild('not-acceptable'));
    });

    it('refuses a password-protected room without the right password', async () => {
      const a = await anonymous();
      const b = await anonymous();
      const room = `locked@${MUC}`;
      await join(a, room, 'owner');
      const form = xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
        xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
        xml('field', { var: 'muc#roomconfig_passwordprotectedroom' }, xml('value', {}, '1')),
        xml('field', { var: 'muc#roomconfig_roomsecret' }, xml('value', {}, 's3cret')));
      await a.client.iqCaller.request(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: NS_MUC_OWNER }, form)));
      const refused = await join(b, room, 'guest');
      assert.equal(refused.attrs.type, 'error');
      assert.ok(refused.getChild('error')?.getChild('not-authorized'));
      b.inbox.length = 0;
      const wrong = await join(b, room, 'guest', [], 'nope');
      assert.equal(wrong.attrs.type, 'error');
      b.inbox.length = 0;
      const ok = await join(b, room, 'guest', [], 's3cret');
      assert.notEqual(ok.attrs.type, 'error');
      assert.ok(statuses(ok).includes('110'));
    });
  });

  it('keeps a session across a cut WebSocket with stream management resumption', async () => {
    const alice = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'alice', password: 'correct horse battery', resource: 'phone' });
    clients.push(alice.client);
    const peer = await anonymous();
    await waitForCondition(() => alice.client.streamManagement.enabled, 'stream management enabled');
    alice.client.reconnect.start();
    const resumed = new Promise<void>((resolve) => alice.client.streamManagement.once('resumed', resolve));
    // Cut the transport without a closing handshake.
    (alice.client.socket as unknown as { socket: { terminate(): void } }).socket.terminate();
    // A message sent while the socket is down must reach Alice after resumption.
    await peer.client.send(xml('message', { to: 'alice@auth.meet.jitsi/phone', type: 'chat', id: 'while-down' }, xml('body', {}, 'still there?')));
    await resumed;
    const m = await waitForStanza(alice.inbox, (s) => s.name === 'message' && s.attrs.id === 'while-down', 8000, 'message queued across resumption');
    assert.equal(m.getChildText('body'), 'still there?');
    assert.equal(alice.client.jid?.toString(), 'alice@auth.meet.jitsi/phone');
  });

  it('resumes an anonymous session when the new connection names it with previd (Jitsi)', async () => {
    const first = new RawWsClient(server.wsUrl);
    const jid = await first.loginAnonymous();
    first.send('<enable xmlns="urn:xmpp:sm:3" resume="true"/>');
    const enabled = await first.waitFor((e) => e.name === 'enabled', 5000, 'enabled');
    const previd = enabled.attrs.id as string;
    first.close();
    await first.closed;
    const second = new RawWsClient(`${server.wsUrl}?room=x&previd=${encodeURIComponent(previd)}`);
    await second.open();
    second.send('<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>');
    await second.waitFor((e) => e.name === 'stream:features');
    second.send('<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>');
    await second.waitFor((e) => e.name === 'success');
    second.send('<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="meet.jitsi" version="1.0"/>');
    await second.waitFor((e) => e.name === 'stream:features');
    second.send(`<resume xmlns="urn:xmpp:sm:3" h="0" previd="${previd}"/>`);
    const resumed = await second.waitFor((e) => e.name === 'resumed' || e.name === 'failed', 5000, 'resumed');
    assert.equal(resumed.name, 'resumed');
    // the session is the same resource: a ping to it is answered by... the resumed stream receiving it
    const pinger = await anonymous();
    await pinger.client.send(xml('message', { to: jid, type: 'chat', id: 'after-resume' }, xml('body', {}, 'hi')));
    const m = await second.waitFor((e) => e.name === 'message' && e.attrs.id === 'after-resume', 5000, 'message after resume');
    assert.equal(m.attrs.to, jid);
    second.close();
  });
});

async function waitForCondition(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('XMPP over WebSocket with accounts kept as SCRAM keys (XMPP_PASSWORD_STORAGE=scram)', function () {
  let server: TestServer;
  const clients: XmppClient[] = [];

  before(async () => {
    server = await startTestServer({ XMPP_PASSWORD_STORAGE: 'scram' });
    await server.salon.xmpp.accounts.setPassword('alice@auth.meet.jitsi', 'correct horse battery');
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(stopClient));
  });
  after(async () => server.close());

  it('offers SCRAM-SHA-256, SCRAM-SHA-1 and (loopback) PLAIN, logs in with SCRAM-SHA-1 and refuses a wrong password', async () => {
    assert.deepEqual(await offeredMechanisms(server.wsUrl, 'auth.meet.jitsi'), ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    const alice = await loginWith(server.wsUrl, 'SCRAM-SHA-1', 'correct horse battery');
    clients.push(alice);
    assert.equal(alice.jid?.toString(), 'alice@auth.meet.jitsi/SCRAM-SHA-1');
    await assert.rejects(loginWith(server.wsUrl, 'SCRAM-SHA-1', 'wrong password!'), failedWith('not-authorized'));
    clients.push(await loginWith(server.wsUrl, 'PLAIN', 'correct horse battery'));
  });
});

describe('service accounts across a change of XMPP_PASSWORD_STORAGE', function () {
  let stateDir: string;
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'salon-storage-'));
  });
  after(async () => rm(stateDir, { recursive: true, force: true }));

  const kept = async (): Promise<Record<string, string[]>> => {
    const { accounts } = JSON.parse(await readFile(join(stateDir, 'accounts.json'), 'utf8')) as { accounts: Record<string, object> };
    return Object.fromEntries(Object.entries(accounts).map(([jid, account]) => [jid, Object.keys(account).filter((k) => k !== 'createdAt')]));
  };

  it('are made as SCRAM keys in scram mode, then rehashed to scrypt at the next start in the default mode', async () => {
    const scram = await startTestServer({ XMPP_PASSWORD_STORAGE: 'scram' }, ['--state-dir', stateDir]);
    await scram.close();
    assert.deepEqual(await kept(), { 'focus@auth.meet.jitsi': ['scram'], 'jvb@auth.meet.jitsi': ['scram'] });
    const scrypt = await startTestServer({}, ['--state-dir', stateDir]);
    try {
      assert.deepEqual(await kept(), { 'focus@auth.meet.jitsi': ['scrypt'], 'jvb@auth.meet.jitsi': ['scrypt'] });
      const secrets = JSON.parse(await readFile(join(stateDir, 'secrets.json'), 'utf8')) as Record<string, string>;
      assert.equal(await scrypt.salon.xmpp.accounts.verifyPassword('jvb@auth.meet.jitsi', secrets.jvbPassword!), true);
    } finally {
      await scrypt.close();
    }
  });
});
