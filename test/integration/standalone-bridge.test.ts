/**
 * `salon bridge` against a `salon start --no-bridge`, on loopback: the bridge logs in over TCP c2s
 * (STARTTLS with the server's self-signed certificate as its CA, then PLAIN, the only mechanism a
 * server keeping accounts as scrypt hashes offers; SCRAM-SHA-256 with XMPP_PASSWORD_STORAGE=scram), joins the
 * brewery, the focus puts a conference on it, clients are sent to its own colibri-ws origin, and
 * it comes back into the brewery after its connection is cut. The connection runs through a TCP
 * relay the test can cut, as a network would.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import type { StandaloneBridge } from '../../config/start-bridge.ts';
import { listen } from '../../xmpp/index.ts';
import { joinConference } from './conference-participant.ts';
import { startTestBridge, startTestServer, stopClient, type TestBridge, type TestServer, type XmppClient } from './harness.ts';
import { until as waitUntil } from './channel-client.ts';

const ROOM = 'remotebridge@muc.meet.jitsi';
const BRIDGE_ID = 'jvb-remote-1';


/** A TCP relay to the server's c2s port whose connections the test can cut. */
interface Relay {
  port: number;
  connections: number;
  cut(): void;
  close(): Promise<void>;
}

async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((inbound) => {
    connections++;
    const outbound = connect(targetPort, '127.0.0.1');
    const end = (): void => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', end);
      s.on('close', end);
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  const port = await listen(server, 0, '127.0.0.1');
  return {
    port,
    get connections() {
      return connections;
    },
    cut() {
      for (const s of [...sockets]) s.destroy();
    },
    close: () => {
      for (const s of [...sockets]) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The bridge reconnects with back-off: a longer wait than the channel tests'. */
const until = (check: () => boolean, what: string, timeoutMs = 8000): Promise<void> => waitUntil(check, what, timeoutMs);

describe('a videobridge on another machine (salon bridge)', function () {
  this.timeout(30_000);
  let server: TestServer;
  let relay: Relay;
  const bridges: TestBridge[] = [];
  const clients: XmppClient[] = [];

  async function startBridgeHost(flags: string[], trustServer = true): Promise<{ host: StandaloneBridge; origin: string }> {
    const bridge = await startTestBridge(server, { xmppServer: `127.0.0.1:${relay.port}`, trustServer, flags });
    bridges.push(bridge);
    return bridge;
  }

  before(async () => {
    server = await startTestServer({}, ['--no-bridge']);
    relay = await startRelay(server.c2sPort);
  });
  after(async () => {
    for (const c of clients) await stopClient(c);
    for (const b of bridges) await b.close();
    await relay.close();
    await server.close();
  });

  it('runs no bridge of its own with --no-bridge', () => {
    assert.equal(server.salon.bridge, undefined);
    assert.equal(server.salon.media, undefined);
    assert.equal(server.salon.focus.bridges.count, 0);
  });

  it('refuses the server\'s self-signed certificate unless told to trust it, and keeps retrying', async () => {
    const { host } = await startBridgeHost(['--bridge-id', 'jvb-untrusting'], false);
    await until(() => relay.connections >= 2, 'a second attempt after the first failed');
    assert.match(host.link.lastError ?? '', /self[- ]signed certificate/);
    assert.equal(host.link.sessionCount, 0);
    assert.equal(server.salon.focus.bridges.count, 0);
    await host.close();
    assert.equal(host.link.state, 'closed');
  });

  it('logs in with PLAIN over STARTTLS, and the focus puts a conference on it with its own colibri-ws origin', async () => {
    const { host, origin } = await startBridgeHost(['--bridge-id', BRIDGE_ID]);
    await until(() => server.salon.focus.bridges.count === 1, 'the focus sees the bridge in the brewery');
    assert.deepEqual(host.link.session, { jid: `jvb@auth.meet.jitsi/${BRIDGE_ID}`, mechanism: 'PLAIN', encrypted: true });
    assert.equal(server.salon.focus.bridges.select()?.jid, host.bridge.jid);

    const alice = await joinConference(server, ROOM, 'alice');
    clients.push(alice.client);
    const bob = await joinConference(server, ROOM, 'bob');
    clients.push(bob.client);
    await until(() => alice.jingle.length > 0 && bob.jingle.length > 0, 'session-initiate to both');
    assert.equal(host.bridge.colibri.endpointCount, 2, 'both endpoints are on the remote bridge');
    assert.equal(host.bridge.colibri.conferenceCount, 1);

    const offer = alice.jingle.find((j) => j.action === 'session-initiate')!;
    const channelUrl = new URL(offer.contents[0]!.transport!.webSockets[0]!.url);
    assert.equal(channelUrl.origin, origin.replace('http', 'ws'), 'the bridge channel is the standalone bridge\'s');
    assert.equal(channelUrl.pathname.split('/')[2], BRIDGE_ID);
    const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const ws = new WebSocket(channelUrl);
      ws.once('message', (data: Buffer) => {
        ws.close();
        resolve(JSON.parse(data.toString()) as Record<string, unknown>);
      });
      ws.once('error', reject);
    });
    assert.equal(hello.colibriClass, 'ServerHello');

    // Drain mode through the bridge's local REST interface, as jitsi-videobridge's.
    const drain = async (mode: 'enable' | 'disable'): Promise<unknown> => (await fetch(`${host.localOrigin}/colibri/drain/${mode}`, { method: 'POST' })).json();
    assert.deepEqual(await drain('enable'), { drain: true });
    assert.equal(host.bridge.draining, true);
    assert.equal(host.bridgeStats.colibriStats().drain, true);
    await until(() => server.salon.focus.bridges.count === 1 && server.salon.focus.bridges.select() === undefined, 'the focus sees the bridge draining');
    assert.deepEqual(await drain('disable'), { drain: false });
    await until(() => server.salon.focus.bridges.select() !== undefined, 'the focus sees the bridge back');
  });

  it('rejoins the brewery after its connection is cut, with its conference intact', async () => {
    const { host } = bridges.at(-1)!;
    assert.equal(host.link.sessionCount, 1);
    relay.cut();
    await until(() => server.salon.focus.bridges.count === 0, 'the bridge leaves the brewery with its session');
    await until(() => host.link.sessionCount === 2 && server.salon.focus.bridges.count === 1, 'the bridge back in the brewery');
    assert.equal(server.salon.focus.bridges.select()?.jid, host.bridge.jid);
    // The focus moved the participants off the bridge when it left the brewery (as Jicofo does) and
    // invites them again once it is back; the stale conference is expired and created anew.
    await until(() => host.bridge.colibri.endpointCount === 2 && host.bridge.colibri.conferenceCount === 1, 'the conference back on the bridge');
  });

  it('leaves the brewery when closed', async () => {
    const { host } = bridges.at(-1)!;
    await host.close();
    assert.equal(host.link.state, 'closed');
    await until(() => server.salon.focus.bridges.count === 0, 'the bridge gone from the brewery');
    assert.equal(host.bridge.colibri.conferenceCount, 0);
  });
});

describe('a videobridge on another machine, accounts kept as SCRAM keys (XMPP_PASSWORD_STORAGE=scram)', function () {
  this.timeout(30_000);
  let server: TestServer;
  let bridge: TestBridge | undefined;

  before(async () => {
    server = await startTestServer({ XMPP_PASSWORD_STORAGE: 'scram' }, ['--no-bridge']);
  });
  after(async () => {
    await bridge?.close();
    await server.close();
  });

  it('logs in with SCRAM-SHA-256 over STARTTLS and joins the brewery', async () => {
    bridge = await startTestBridge(server, { trustServer: true, flags: ['--bridge-id', 'jvb-scram'] });
    await until(() => server.salon.focus.bridges.count === 1, 'the focus sees the bridge in the brewery');
    assert.deepEqual(bridge.host.link.session, { jid: 'jvb@auth.meet.jitsi/jvb-scram', mechanism: 'SCRAM-SHA-256', encrypted: true });
  });
});
