/**
 * Starts the roles of one Salon process from a validated Config and returns one handle whose
 * close() stops them in reverse order. `salon start` runs every role here; tests call
 * startSalon with port 0 and read the bound ports.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { listen, startXmppServer, type XmppServer } from '../xmpp/index.ts';
import { startFocus, type Focus } from '../focus/index.ts';
import { startBridge, type Bridge } from '../bridge/index.ts';
import { MediaTransport } from '../bridge/transport/index.ts';
import { BridgeStats } from '../bridge/stats.ts';
import { registerBridgeMetrics } from '../bridge/stats-metrics.ts';
import { networkInterfaces } from 'node:os';
import { createHttpFront } from '../web/server/app.ts';
import { buildClientConfig, clientConfigScript } from './client-config.ts';
import type { Config } from './schema.ts';
import { ensureStateDir, loadSecrets, loadSelfSignedCertificate, type Secrets } from './state.ts';

export const VERSION = '0.1.0';

/**
 * Addresses the bridge announces when none are configured: this machine's LAN IPv4 addresses,
 * then loopback (JVB_ADVERTISE_IPS names the public address behind NAT instead).
 */
export function discoverMediaAddresses(): string[] {
  const lan = Object.values(networkInterfaces()).flat()
    .filter((i): i is NonNullable<typeof i> => i !== undefined && i.family === 'IPv4' && !i.internal)
    .map((i) => i.address);
  return [...new Set([...lan, '127.0.0.1'])];
}

export interface SalonHandle {
  config: Config;
  log: Logger;
  xmpp: XmppServer;
  focus: Focus;
  bridge: Bridge;
  bridgeStats: BridgeStats;
  media: MediaTransport;
  secrets: Secrets;
  /** Bound ports (useful when 0 was asked). */
  ports: { http: number; https: number; c2s: number; components: number; media: number };
  /** `http://127.0.0.1:<port>` of the plain HTTP listener, for local clients and tests. */
  localOrigin: string;
  close(): Promise<void>;
}

/** Stops accepting at once; resolves when every connection is gone (see `dropConnections`). */
function stopAccepting(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function closeServer(server: Server): Promise<void> {
  const closed = stopAccepting(server);
  server.closeAllConnections();
  return closed;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.log.level,
    base: { service: 'salon' },
    // Secrets never reach the logs (ecosystem §8): tokens, passwords, SASL payloads.
    redact: { paths: ['password', '*.password', 'token', '*.token', 'req.headers.authorization', 'query.token', 'query.pwd'], censor: '[redacted]' },
  });
}

export async function startSalon(config: Config, log: Logger = createLogger(config)): Promise<SalonHandle> {
  await ensureStateDir(config.stateDir);
  const secrets = await loadSecrets(config.stateDir);
  const hostnames = [new URL(config.publicUrl).hostname, config.xmpp.domain];
  const selfSigned = await loadSelfSignedCertificate(config.stateDir, hostnames);
  const tls = config.http.tls === 'files'
    ? { cert: await readFile(config.http.certFile!, 'utf8'), key: await readFile(config.http.keyFile!, 'utf8') }
    : selfSigned;

  const publicOrigin = new URL(config.publicUrl).origin;
  const allowedOrigins = new Set([publicOrigin]);
  const trustedProxies = new Set(config.http.trustedProxies);

  const { limits } = config.xmpp;
  const xmpp = await startXmppServer({
    domain: config.xmpp.domain,
    authDomain: config.xmpp.authDomain,
    guestDomain: config.xmpp.guestDomain,
    mucDomain: config.xmpp.mucDomain,
    internalMucDomain: config.xmpp.internalMucDomain,
    authEnabled: config.auth.enabled,
    guestsEnabled: config.auth.guests,
    restrictRoomCreation: config.xmpp.restrictRoomCreation,
    stateDir: config.stateDir,
    version: VERSION,
    c2s: { ...config.xmpp.c2s, tls },
    components: config.xmpp.components,
    limits,
    hibernationSeconds: config.xmpp.smHibernationSeconds,
    allowedOrigins,
    trustedProxies,
    externalServices: config.turn,
    serviceAccounts: {
      [`focus@${config.xmpp.authDomain}`]: secrets.focusPassword,
      [`jvb@${config.xmpp.authDomain}`]: secrets.jvbPassword,
    },
  }, log.child({ component: 'xmpp' }));

  if (!config.turn.secret && config.turn.servers.some((s) => s.type !== 'stun')) {
    log.warn('TURN servers are announced without credentials: set TURN_CREDENTIALS to the TURN server\'s shared secret');
  }

  const focus = startFocus({
    connectLocal: (jid, onStanza) => xmpp.connectLocal(jid, onStanza),
    addService: (service) => xmpp.addService(service),
    route: (stanza) => xmpp.router.route(stanza),
  }, log.child({ component: 'focus' }), {
    domain: config.xmpp.focusDomain,
    user: `focus@${config.xmpp.authDomain}`,
    mucDomain: config.xmpp.mucDomain,
    brewery: `jvbbrewery@${config.xmpp.internalMucDomain}`,
    version: VERSION,
  });

  const media = await MediaTransport.start({
    host: '0.0.0.0',
    port: config.media.port,
    advertiseIps: config.media.advertiseIps.length ? config.media.advertiseIps : discoverMediaAddresses(),
    log: log.child({ component: 'media' }),
  });
  const publicUrl = new URL(config.publicUrl);
  const bridge = startBridge({ connectLocal: (jid, onStanza) => xmpp.connectLocal(jid, onStanza) }, log.child({ component: 'bridge' }), {
    id: 'jvb-1',
    user: `jvb@${config.xmpp.authDomain}`,
    brewery: `jvbbrewery@${config.xmpp.internalMucDomain}`,
    version: VERSION,
    publicWebSocketOrigin: `${publicUrl.protocol === 'https:' ? 'wss' : 'ws'}://${publicUrl.host}`,
    // Counted from creation, so an endpoint that closes between two reads still adds to the totals.
    createEndpoint: (id, endpointLog) => bridgeStats.watchEndpoint(media.createEndpoint(id, endpointLog)),
  });
  const bridgeStats = new BridgeStats({ conferences: () => bridge.colibri.conferenceList(), version: VERSION });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'salon_' });
  xmpp.registerMetrics(registry);
  registerBridgeMetrics(registry, bridgeStats);

  /** The origin config.js speaks of: the public URL, or the loopback address the request came to. */
  const originFor = (req: IncomingMessage): string => {
    const host = req.headers.host ?? '';
    const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
    if (!loopback || host === new URL(config.publicUrl).host) return publicOrigin;
    return `${(req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${host}`;
  };

  const front = createHttpFront({
    log: log.child({ component: 'http' }),
    registry,
    clientConfigScript: (req) => clientConfigScript(buildClientConfig(config, originFor(req))),
    health: () => null,
    bosh: xmpp.bosh,
    websocket: xmpp.websocket,
    bridgeStats,
    bridgeChannel: bridge.channel,
  });
  const servers: Server[] = [];
  const httpServer = createHttpServer(front.app.callback());
  httpServer.on('upgrade', front.handleUpgrade);
  servers.push(httpServer);
  let httpsPort = 0;
  let httpPort = 0;
  try {
    httpPort = await listen(httpServer, config.http.port, config.http.host);
    if (config.http.tls !== 'off') {
      const httpsServer = createHttpsServer({ cert: tls.cert, key: tls.key }, front.app.callback());
      httpsServer.on('upgrade', front.handleUpgrade);
      servers.push(httpsServer);
      httpsPort = await listen(httpsServer, config.http.httpsPort, config.http.host);
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    focus.close();
    bridgeStats.close();
    bridge.close();
    await media.close();
    await xmpp.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    config, log, xmpp, secrets, focus, bridge, bridgeStats, media,
    ports: { http: httpPort, https: httpsPort, c2s: xmpp.ports.c2s, components: xmpp.ports.components, media: media.port },
    localOrigin: `http://127.0.0.1:${httpPort}`,
    close() {
      closing ??= (async () => {
        // Stop accepting first, then the roles, then wait for the listeners to be gone.
        const listenersClosed = Promise.all(servers.map(stopAccepting));
        focus.close();
        bridgeStats.close();
        bridge.close();
        await media.close();
        await xmpp.close();
        for (const server of servers) server.closeAllConnections();
        await listenersClosed;
      })();
      return closing;
    },
  };
}
