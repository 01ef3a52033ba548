/**
 * `salon bridge`: the videobridge role alone on a machine of its own, as operators add
 * jitsi-videobridges to a Jitsi deployment. It logs in over TCP c2s to the XMPP server of a Salon
 * (or Prosody) elsewhere as `<bridge.user>@<auth domain>/<bridge id>` (xmpp/client/c2s-link.ts:
 * STARTTLS, SCRAM, reconnection with back-off), joins the brewery, where the focus finds it, and
 * serves its bridge channel (colibri-ws), health, metrics and statistics on its own HTTP(S) port
 * and its media on its own UDP port.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { registerBridgeMetrics, type Bridge, type BridgeStats } from '../bridge/index.ts';
import type { MediaTransport } from '../bridge/transport/index.ts';
import { createHttpFront } from '../web/server/app.ts';
import { C2sLink, isLoopback, type C2sLinkOptions, type TlsPolicy } from '../xmpp/index.ts';
import { ConfigError } from './load.ts';
import type { Config } from './schema.ts';
import { breweryJid, createLogger, listenHttp, startBridgeRole } from './start.ts';
import { ensureStateDir, loadSelfSignedCertificate, readSecrets, type Certificate } from './state.ts';

export interface StandaloneBridge {
  config: Config;
  log: Logger;
  bridge: Bridge;
  bridgeStats: BridgeStats;
  media: MediaTransport;
  /** The c2s session to the XMPP server (state, negotiated mechanism, reconnections). */
  link: C2sLink;
  /** Bound ports (useful when 0 was asked). */
  ports: { http: number; https: number; media: number };
  /** `http://127.0.0.1:<port>` of the plain HTTP listener. */
  localOrigin: string;
  close(): Promise<void>;
}

/** Timing of the XMPP link, for tests (production uses the link's defaults). */
export type StandaloneBridgeTiming = Pick<C2sLinkOptions, 'retry' | 'ping' | 'attemptTimeoutMs'>;

/** The bridge id `salon bridge` uses unless one is configured: this machine's host name. */
export function defaultBridgeId(name = hostname()): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'jvb';
}

/** `host`, `host:port` or `[v6]:port`; the port defaults to `defaultPort` (xmpp.c2s.port, XMPP_PORT). */
export function parseServerAddress(server: string, defaultPort: number): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(server);
  const port = m?.[3] === undefined ? defaultPort : Number(m[3]);
  if (!m || port < 1 || port > 65535) throw new ConfigError(`bridge.xmppServer: ${JSON.stringify(server)} is not host or host:port`);
  return { host: m[1] ?? m[2]!, port };
}

async function bridgePassword(config: Config): Promise<string> {
  if (config.bridge.password) return config.bridge.password;
  // On the XMPP server's own machine the generated password is at hand.
  const stored = (await readSecrets(config.stateDir))?.jvbPassword;
  if (stored) return stored;
  throw new ConfigError(
    `JVB_AUTH_PASSWORD is required: the password of ${config.bridge.user}@${config.xmpp.authDomain} `
    + '(jvbPassword in the XMPP server\'s secrets.json, or the JVB_AUTH_PASSWORD it was started with)',
  );
}

async function tlsPolicy(config: Config): Promise<TlsPolicy> {
  const { xmppTls, xmppCaFile } = config.bridge;
  if (xmppTls === 'insecure') {
    if (xmppCaFile) throw new ConfigError('bridge.xmppCaFile: no use with bridge.xmppTls insecure (nothing is verified)');
    return { verify: false };
  }
  if (!xmppCaFile) return { verify: true };
  try {
    return { verify: true, ca: await readFile(xmppCaFile, 'utf8') };
  } catch (err) {
    throw new ConfigError(`bridge.xmppCaFile: ${(err as Error).message}`);
  }
}

async function httpsCertificate(config: Config): Promise<Certificate | undefined> {
  if (config.http.tls === 'files') {
    return { cert: await readFile(config.http.certFile!, 'utf8'), key: await readFile(config.http.keyFile!, 'utf8') };
  }
  if (config.http.tls !== 'self-signed') return undefined;
  await ensureStateDir(config.stateDir);
  return loadSelfSignedCertificate(config.stateDir, [new URL(config.publicUrl).hostname]);
}

export async function startStandaloneBridge(config: Config, log: Logger = createLogger(config), timing: StandaloneBridgeTiming = {}): Promise<StandaloneBridge> {
  const id = config.bridge.id ?? defaultBridgeId();
  const server = parseServerAddress(config.bridge.xmppServer, config.xmpp.c2s.port);
  const password = await bridgePassword(config);
  const tls = await tlsPolicy(config);
  const certificate = await httpsCertificate(config);
  const publicHost = new URL(config.publicUrl).hostname;
  if ((publicHost === 'localhost' || isLoopback(publicHost)) && server.host !== 'localhost' && !isLoopback(server.host)) {
    log.warn({ publicUrl: config.publicUrl }, 'PUBLIC_URL names this machine\'s loopback: browsers elsewhere cannot open the bridge channel; set it to the bridge\'s public origin');
  }

  const link = new C2sLink({
    ...server,
    domain: config.xmpp.authDomain,
    username: config.bridge.user,
    password,
    tls,
    log: log.child({ component: 'xmpp-link' }),
    ...timing,
  });
  const role = await startBridgeRole(config, link, log, id);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'salon_' });
  registerBridgeMetrics(registry, role.stats, role.media, role.reducer);
  const front = createHttpFront({
    log: log.child({ component: 'http' }),
    registry,
    health: () => null,
    bridgeStats: role.stats,
    bridgeDrain: role.bridge,
    bridgeChannel: role.bridge.channel,
    strictTransportSecurity: new URL(config.publicUrl).protocol === 'https:',
  });
  let listeners: Awaited<ReturnType<typeof listenHttp>>;
  try {
    listeners = await listenHttp(config, front, certificate);
  } catch (err) {
    await role.close();
    await link.close('start failed');
    throw err;
  }
  log.info({ id, server: `${server.host}:${server.port}`, brewery: breweryJid(config), publicUrl: config.publicUrl, media: role.media.port }, 'bridge started');

  let closing: Promise<void> | undefined;
  return {
    config, log, link,
    bridge: role.bridge, bridgeStats: role.stats, media: role.media,
    ports: { http: listeners.http, https: listeners.https, media: role.media.port },
    localOrigin: `http://127.0.0.1:${listeners.http}`,
    close() {
      closing ??= (async () => {
        const listenersClosed = listeners.stopAccepting();
        // The bridge leaves the brewery over the link before the link closes its stream.
        await role.close();
        await link.close('bridge stopped');
        listeners.dropConnections();
        await listenersClosed;
      })();
      return closing;
    },
  };
}
