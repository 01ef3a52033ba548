/**
 * Starts the whole Salon stack in-process on ephemeral loopback ports with a fresh state
 * directory, and connects third-party XMPP clients (@xmpp/client) to it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client as xmppClient, xml } from '@xmpp/client';
import WebSocket from 'ws';
import type { Element } from 'ltx';
import { loadConfig } from '../../config/load.ts';
import { startStandaloneBridge, type StandaloneBridge } from '../../config/start-bridge.ts';
import { startSalon, type SalonHandle } from '../../config/start.ts';

export { xml };

// @xmpp/websocket expects the WHATWG WebSocket global, which Node 20 lacks; ws provides it.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

export interface TestServer {
  salon: SalonHandle;
  httpOrigin: string;
  wsUrl: string;
  boshUrl: string;
  c2sPort: number;
  close(): Promise<void>;
}

/** A free loopback TCP port (so the public URL, which clients are given, can name it). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * `start(port)` with a free port, and again with another when the port was taken meanwhile: between
 * the probe and the listen, any outgoing connection on loopback (a browser's, another test's) may
 * be given it as its own port (EADDRINUSE). What fails to start closes what it opened.
 */
async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 5) throw err;
    }
  }
}

/** `env` uses the same variable names as production (e.g. XMPP_RESTRICT_ROOM_CREATION). */
export async function startTestServer(env: Record<string, string> = {}, flags: string[] = []): Promise<TestServer> {
  const stateDir = await mkdtemp(join(tmpdir(), 'salon-test-'));
  const salon = await onFreePort((port) => startServerOn(port, stateDir, env, flags));
  const httpOrigin = salon.localOrigin;
  return {
    salon,
    httpOrigin,
    wsUrl: `${httpOrigin.replace('http', 'ws')}/xmpp-websocket`,
    boshUrl: `${httpOrigin}/http-bind`,
    c2sPort: salon.ports.c2s,
    async close() {
      await salon.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

async function startServerOn(port: number, stateDir: string, env: Record<string, string>, flags: string[]): Promise<SalonHandle> {
  const { config } = loadConfig([
    '--http-port', String(port), '--public-url', `http://127.0.0.1:${port}`,
    '--xmpp-port', '0', '--component-port', '0', '--media-port', '0',
    '--http-host', '127.0.0.1', '--state-dir', stateDir, '--log-level', process.env.SALON_TEST_LOG ?? 'silent', ...flags,
    // The load reducer would cap video whenever the test machine keeps the event loop busy: media
    // assertions must not depend on that. The tests of the reducer turn it on.
  ], { SALON_BRIDGE_LOAD_REDUCER: 'false', ...env });
  return startSalon({ ...config, xmpp: { ...config.xmpp, c2s: { ...config.xmpp.c2s, host: '127.0.0.1' } } });
}

export interface TestBridge {
  host: StandaloneBridge;
  /** `http://127.0.0.1:<port>`: the bridge's public URL, so its colibri-ws origin is the ws:// one. */
  origin: string;
  close(): Promise<void>;
}

export interface TestBridgeOptions {
  /** `host:port` of the XMPP server; default the test server's c2s port. */
  xmppServer?: string;
  /** Trust the test server's self-signed certificate (--xmpp-ca-file); default true. */
  trustServer?: boolean;
  flags?: string[];
}

/**
 * Starts `salon bridge` in-process as the command does (loadConfig, then startStandaloneBridge),
 * with its own state dir and a fast reconnection back-off, logging in to `server` over TCP c2s.
 */
export async function startTestBridge(server: TestServer, options: TestBridgeOptions = {}): Promise<TestBridge> {
  const stateDir = await mkdtemp(join(tmpdir(), 'salon-bridge-test-'));
  const trust = options.trustServer ?? true;
  try {
    return await onFreePort((port) => startBridgeOn(port, stateDir, server, options, trust));
  } catch (err) {
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
}

async function startBridgeOn(port: number, stateDir: string, server: TestServer, options: TestBridgeOptions, trust: boolean): Promise<TestBridge> {
  const origin = `http://127.0.0.1:${port}`;
  const { config } = loadConfig([
    '--state-dir', stateDir, '--http-host', '127.0.0.1', '--http-port', String(port), '--public-url', origin, '--media-port', '0',
    '--xmpp-server', options.xmppServer ?? `127.0.0.1:${server.c2sPort}`, '--log-level', process.env.SALON_TEST_LOG ?? 'silent',
    ...(trust ? ['--xmpp-ca-file', join(server.salon.config.stateDir, 'self-signed.crt')] : []),
    ...(options.flags ?? []),
  ], { JVB_AUTH_PASSWORD: server.salon.secrets.jvbPassword, SALON_BRIDGE_LOAD_REDUCER: 'false' });
  const host = await startStandaloneBridge(config, undefined, { retry: { firstMs: 50, maxMs: 200 } });
  return {
    host,
    origin,
    async close() {
      await host.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export type XmppClient = ReturnType<typeof xmppClient>;

export interface ConnectOptions {
  service: string;
  domain: string;
  username?: string;
  password?: string;
  resource?: string;
}

/** Connects an @xmpp/client and resolves once it is online; stanzas are recorded in `inbox`. */
export async function connectClient(options: ConnectOptions): Promise<{ client: XmppClient; jid: string; inbox: Element[] }> {
  const client = xmppClient({
    service: options.service,
    domain: options.domain,
    ...(options.username ? { username: options.username, password: options.password } : {}),
    ...(options.resource ? { resource: options.resource } : {}),
  });
  client.reconnect.stop();
  const inbox: Element[] = [];
  client.on('stanza', (stanza: Element) => inbox.push(stanza));
  client.on('error', () => undefined); // failures surface through start() or the test's own waits
  const address = await client.start();
  return { client, jid: address.toString(), inbox };
}

/** Waits until `inbox` holds a stanza matching `predicate` (polls the recorded stanzas). */
export async function waitForStanza(inbox: Element[], predicate: (el: Element) => boolean, timeoutMs = 5000, what = 'stanza'): Promise<Element> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = inbox.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got: ${inbox.map((s) => s.toString().slice(0, 300)).join('\n')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function stopClient(client: XmppClient): Promise<void> {
  try {
    await client.stop();
  } catch {
    // already closed by the server; nothing left to release
  }
}
