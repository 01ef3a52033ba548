/**
 * The other two client transports with third-party libraries: StanzaJS over BOSH
 * (XEP-0124/0206) and @xmpp/client over TCP with STARTTLS (RFC 6120 §5), meeting a WebSocket
 * user in one room.
 */
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import * as Stanza from 'stanza';
import { connectClient, startTestServer, stopClient, waitForStanza, xml, type TestServer } from './harness.ts';

const MUC = 'muc.meet.jitsi';

function stanzaClient(server: TestServer, options: { jid: string; password?: string }): Stanza.Agent {
  return Stanza.createClient({
    jid: options.jid,
    ...(options.password ? { password: options.password } : {}),
    transports: { bosh: server.boshUrl, websocket: false },
  });
}

function started(client: Stanza.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    client.once('session:started', () => resolve());
    client.once('auth:failed', () => reject(new Error('auth failed')));
    client.once('stream:error', (e: unknown) => reject(new Error(`stream error ${JSON.stringify(e)}`)));
  });
}

describe('XMPP over BOSH (StanzaJS) and TCP with STARTTLS (@xmpp/client)', function () {
  this.timeout(30_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ XMPP_RESTRICT_ROOM_CREATION: 'false' });
    await server.salon.xmpp.accounts.setPassword('bob@auth.meet.jitsi', 'bob password 123');
  });
  after(async () => server.close());

  it('logs in anonymously over BOSH, pings and discovers the server', async () => {
    const client = stanzaClient(server, { jid: 'meet.jitsi' });
    const ready = started(client);
    client.connect();
    await ready;
    assert.match(client.jid, /@meet\.jitsi\//);
    await client.ping('meet.jitsi');
    const info = await client.getDiscoInfo('meet.jitsi');
    assert.ok(info.features.includes('urn:xmpp:ping'));
    client.disconnect();
  });

  // Accounts are kept as scrypt hashes (the default): PLAIN is the only password mechanism offered.
  it('logs in with a password (PLAIN) over BOSH on the auth domain', async () => {
    const client = stanzaClient(server, { jid: 'bob@auth.meet.jitsi', password: 'bob password 123' });
    const ready = started(client);
    client.connect();
    await ready;
    assert.match(client.jid, /^bob@auth\.meet\.jitsi\//);
    client.disconnect();
  });

  it('logs in over TCP after STARTTLS with PLAIN, and a BOSH user and a TCP user chat in one room', async () => {
    const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // the server's certificate is self-signed
    let tcp;
    try {
      tcp = await connectClient({ service: `xmpp://127.0.0.1:${server.c2sPort}`, domain: 'auth.meet.jitsi', username: 'bob', password: 'bob password 123', resource: 'desk' });
    } finally {
      if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous;
    }
    try {
      assert.equal(tcp.jid, 'bob@auth.meet.jitsi/desk');
      // @xmpp/client wraps the TLS socket it upgraded to after <proceed/>.
      const socket = (tcp.client as unknown as { socket: { socket?: TLSSocket } }).socket.socket;
      assert.equal(socket?.encrypted, true, 'the TCP stream was upgraded to TLS');
      const room = `mixed@${MUC}`;
      await tcp.client.send(xml('presence', { to: `${room}/bob` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
      await waitForStanza(tcp.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/bob`, 5000, 'TCP user joined');

      const bosh = stanzaClient(server, { jid: 'meet.jitsi' });
      const ready = started(bosh);
      bosh.connect();
      await ready;
      const boshGot = new Promise<string>((resolve) => bosh.on('groupchat', (m) => {
        if (m.body) resolve(m.body);
      }));
      await bosh.joinRoom(room, 'anne');
      await waitForStanza(tcp.inbox, (s) => s.name === 'presence' && s.attrs.from === `${room}/anne`, 5000, 'BOSH user seen over TCP');
      await tcp.client.send(xml('message', { to: room, type: 'groupchat', id: 'tcp-1' }, xml('body', {}, 'hello from TCP')));
      assert.equal(await boshGot, 'hello from TCP');
      bosh.sendMessage({ to: room, type: 'groupchat', body: 'hello from BOSH' });
      const m = await waitForStanza(tcp.inbox, (s) => s.name === 'message' && s.getChildText('body') === 'hello from BOSH', 5000, 'BOSH message over TCP');
      assert.equal(m.attrs.from, `${room}/anne`);
      bosh.disconnect();
    } finally {
      await stopClient(tcp.client);
    }
  });
});
