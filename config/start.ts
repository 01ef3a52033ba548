/**
 * Starts the roles of one Salon process from a validated Config and returns one handle whose
 * close() stops them in reverse order. `salon start` runs every role here (the bridge unless
 * `bridge.enabled` is false); tests call startSalon with port 0 and read the bound ports. The
 * bridge role's own composition (`startBridgeRole`) and the HTTP listeners (`listenHttp`) are
 * shared with `salon bridge` (config/start-bridge.ts).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createJwtVerifier, listen, readJwtKeys, startXmppServer, tokenGrants, type LobbyBypass, type TokenVerifier, type XmppServer } from '../xmpp/index.ts';
import { createIdentityStamp, identityFromClaims, type StampedIdentity } from '../xmpp/muc/identity-stamp.ts';
import { isLoopback } from '../xmpp/transport/http-peer.ts';
import { AuthenticationSessions, codecTable, createOwnerRule, createRoomPolicy, startFocus, type Focus, type FocusOptions, type Identity } from '../focus/index.ts';
import { BridgeStats, inProcessLink, registerBridgeMetrics, startBridge, type Bridge, type BridgeXmppLink } from '../bridge/index.ts';
import { MediaTransport } from '../bridge/transport/index.ts';
import { CAPPED_STRESS, LoadReducer } from '../bridge/load-reducer.ts';
import { networkInterfaces } from 'node:os';
import { createHttpFront, type HttpFront } from '../web/server/app.ts';
import { sharedClientBundle, type ClientBundle } from '../web/server/bundle.ts';
import { clientPages } from '../web/server/client-pages.ts';
import { oidcMintingKey, oidcSignInFromConfig, type MintingKey } from '../web/server/auth/oidc.ts';
import { startPadService, type PadService } from '../web/server/pad/index.ts';
import { buildClientConfig, clientConfigScript } from './client-config.ts';
import { configWarnings } from './load.ts';
import type { Config } from './schema.ts';
import { ensureStateDir, loadSecrets, loadSelfSignedCertificate, type Certificate, type Secrets } from './state.ts';

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
  /** The shared documents (one per conference, in memory); absent when `pad.enabled` is false. */
  pad: PadService | undefined;
  /** The built-in bridge, its statistics and its media transport; absent with `--no-bridge`. */
  bridge: Bridge | undefined;
  bridgeStats: BridgeStats | undefined;
  media: MediaTransport | undefined;
  secrets: Secrets;
  /** Bound ports (useful when 0 was asked); media is 0 without a built-in bridge. */
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

/** The brewery room bridges join and the focus watches. */
export function breweryJid(config: Config): string {
  return `${config.bridge.brewery}@${config.xmpp.internalMucDomain}`;
}

/**
 * The focus's room policy (ENABLE_AUTH, ENABLE_GUESTS): agents start rooms and are owners, guests
 * wait for one. An agent is a session on the main XMPP domain: a PLAIN/SCRAM account, or a token
 * (JWT) whose room claim names the room (its moderator claim decides ownership); sessions of the
 * guest domain are guests.
 */
function roomPolicy(config: Config, xmpp: Pick<XmppServer, 'sessionIdentity'>): Pick<FocusOptions, 'policy' | 'isModerator' | 'authentication' | 'moderators'> & { occupantIdentity(fullJid: string): StampedIdentity | undefined; isAgent(fullJid: string, roomJid: string): boolean } {
  const sessions = new AuthenticationSessions();
  /** A password login on the main domain (the secure domain): its bare JID. */
  const accountOf = (fullJid: string): string | undefined => {
    if (xmpp.sessionIdentity(fullJid)?.authenticated !== 'password') return undefined;
    const bare = fullJid.split('/')[0]!;
    return bare.slice(bare.indexOf('@') + 1) === config.xmpp.domain ? bare : undefined;
  };
  const identify = (fullJid: string, room?: string): Identity => {
    // A guest connection that presented an account's authentication session (jitsi-meet's "I am the host" login).
    if (sessions.identityOf(fullJid) !== undefined) return { agent: true };
    // A token session (AUTH_TYPE=jwt) is an agent for the rooms its token names; its moderator claim decides ownership.
    const session = xmpp.sessionIdentity(fullJid);
    if (session?.authenticated === 'token') {
      const grants = tokenGrants(session.claims ?? {}, room ? room.split('@')[0]! : '*');
      if (room && !grants.allowed) return { agent: false, refusal: grants.reason ?? 'token for another room' };
      return { agent: true, moderator: grants.moderator };
    }
    const bare = fullJid.split('/')[0]!;
    const at = bare.indexOf('@');
    return { agent: at > 0 && bare.slice(at + 1) === config.xmpp.domain };
  };
  const options = { authEnabled: config.auth.enabled, guestsAllowed: config.auth.guests, identify };
  const isModerator = createOwnerRule(options);
  /** What the MUC stamps in an occupant's presence (xmpp/muc/identity-stamp.ts): tokens' claims, accounts. */
  const occupantIdentity = (fullJid: string): StampedIdentity | undefined => {
    const session = xmpp.sessionIdentity(fullJid);
    if (session?.authenticated === 'token') return identityFromClaims(session.claims);
    const account = accountOf(fullJid) ?? sessions.identityOf(fullJid);
    return account ? { id: account } : undefined;
  };
  /** An agent for that room: an account (or a host login presenting its session), or a token naming it. */
  const isAgent = (fullJid: string, roomJid: string): boolean => {
    const identity = identify(fullJid, roomJid);
    return identity.agent && !identity.refusal;
  };
  if (!config.auth.enabled) return { policy: createRoomPolicy(options), occupantIdentity, isAgent };
  return {
    occupantIdentity,
    isAgent,
    policy: createRoomPolicy(options),
    ...(isModerator ? { isModerator } : {}),
    moderators: config.auth.moderators,
    authentication: { external: config.auth.type !== 'internal', accountOf, sessions },
  };
}

/**
 * Who enters a conference whose lobby is on without knocking, besides its members and moderators
 * (xmpp/muc/lobby.ts). Service accounts of the auth domain (a SIP gateway, a recorder) always, as
 * docker-jitsi-meet's `muc_lobby_whitelist`. With authentication: agents for that room (`isAgent`
 * of the room policy: an account, a host login presenting its session, a token naming the room);
 * guests knock. Without
 * authentication everyone is a guest, but the first comer while nobody moderates the room enters
 * (the focus then makes it owner, Jicofo's auto-owner rule), so a room with its lobby on from the
 * start has someone to let the others in.
 */
function lobbyBypass(config: Config, isAgent: (realJid: string, roomJid: string) => boolean): LobbyBypass {
  const focus = `focus@${config.xmpp.authDomain}`;
  return ({ room, realJid }) => {
    if (realJid.domain === config.xmpp.authDomain) return true;
    if (!config.auth.enabled) {
      return ![...room.occupants.values()].some((o) => o.role === 'moderator' && o.realJid.bare !== focus);
    }
    return isAgent(realJid.full, room.jid);
  };
}

/** The videobridge role: its media transport, the bridge on a link to the XMPP server, its statistics. */
export interface BridgeRole {
  bridge: Bridge;
  stats: BridgeStats;
  /** Caps camera video while the bridge is overloaded; undefined when `bridge.loadReducer` is off. */
  reducer: LoadReducer | undefined;
  media: MediaTransport;
  /** Closes the bridge (it leaves the brewery), its statistics and its media transport. */
  close(): Promise<void>;
}

export async function startBridgeRole(config: Config, link: BridgeXmppLink, log: Logger, id: string): Promise<BridgeRole> {
  const media = await MediaTransport.start({
    host: '0.0.0.0',
    port: config.media.port,
    advertiseIps: config.media.advertiseIps.length ? config.media.advertiseIps : discoverMediaAddresses(),
    native: config.media.native,
    udpSegmentation: config.media.udpSegmentation,
    log: log.child({ component: 'media' }),
  });
  const publicUrl = new URL(config.publicUrl);
  const { region } = config.bridge;
  const bridge = startBridge(link, log.child({ component: 'bridge' }), {
    id,
    user: `${config.bridge.user}@${config.xmpp.authDomain}`,
    brewery: breweryJid(config),
    version: VERSION,
    ...(region ? { region } : {}),
    ...(config.bridge.loudestAudio > 0 ? { loudestAudio: config.bridge.loudestAudio } : {}),
    publicWebSocketOrigin: `${publicUrl.protocol === 'https:' ? 'wss' : 'ws'}://${publicUrl.host}`,
    // Counted from creation, so an endpoint that closes between two reads still adds to the totals.
    createEndpoint: (endpointId, endpointLog) => stats.watchEndpoint(media.createEndpoint(endpointId, endpointLog)),
    // Read from the first presence on, once `stats` exists (the session comes online later).
    stress: (endpoints) => stats.stress(endpoints),
  });
  const reducer = config.bridge.loadReducer
    ? new LoadReducer({ apply: (height) => bridge.colibri.setCameraMaxHeight(height), log: log.child({ component: 'bridge' }) })
    : undefined;
  const stats = new BridgeStats({
    conferences: () => bridge.colibri.conferenceList(),
    version: VERSION,
    ...(region ? { region } : {}),
    draining: () => bridge.draining,
    ...(reducer ? {
      onSample: (utilization: number, at: number) => {
        try {
          reducer.update(utilization, at);
        } catch (err) {
          log.error({ err }, 'the load reducer failed');
        }
      },
      // A bridge holding video down is full, though its load looks moderate: the focus is to send new conferences elsewhere.
      stressFloor: () => (reducer.cameraMaxHeight === undefined ? 0 : CAPPED_STRESS),
    } : {}),
  });
  return {
    bridge, stats, media, reducer,
    async close() {
      stats.close();
      bridge.close();
      await media.close();
    },
  };
}

/** The HTTP (and, unless `http.tls` is off, HTTPS) listeners of a front. */
export interface HttpListeners {
  http: number;
  https: number;
  /** Stops accepting at once; resolves when the listeners are gone (see `dropConnections`). */
  stopAccepting(): Promise<void>;
  /** Ends the connections still open (upgraded sockets included). */
  dropConnections(): void;
}

export async function listenHttp(config: Config, front: HttpFront, tls: Certificate | undefined): Promise<HttpListeners> {
  const servers: Server[] = [];
  const httpServer = createHttpServer(front.app.callback());
  httpServer.on('upgrade', front.handleUpgrade);
  servers.push(httpServer);
  let https = 0;
  let http = 0;
  try {
    http = await listen(httpServer, config.http.port, config.http.host);
    if (config.http.tls !== 'off' && tls) {
      const httpsServer = createHttpsServer({ cert: tls.cert, key: tls.key }, front.app.callback());
      httpsServer.on('upgrade', front.handleUpgrade);
      servers.push(httpsServer);
      https = await listen(httpsServer, config.http.httpsPort, config.http.host);
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }
  return {
    http,
    https,
    stopAccepting: async () => {
      await Promise.all(servers.map(stopAccepting));
    },
    dropConnections: () => {
      for (const server of servers) server.closeAllConnections();
    },
  };
}

/** Addresses of Jitsi's optional components that are on (docker-jitsi-meet's names by default). */
function componentDomains(config: Config): { avModerationDomain?: string; endConferenceDomain?: string } {
  const { xmpp } = config;
  return {
    ...(xmpp.avModeration ? { avModerationDomain: xmpp.avModerationDomain ?? `avmoderation.${xmpp.domain}` } : {}),
    ...(xmpp.endConference ? { endConferenceDomain: xmpp.endConferenceDomain ?? `endconference.${xmpp.domain}` } : {}),
  };
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.log.level,
    base: { service: 'salon' },
    // Secrets never reach the logs (ecosystem §8): tokens, passwords, SASL payloads.
    redact: { paths: ['password', '*.password', 'token', '*.token', 'req.headers.authorization', 'query.token', 'query.pwd'], censor: '[redacted]' },
  });
}

/**
 * The JWT verifier of AUTH_TYPE=jwt, its key files read once here; with AUTH_TYPE=oidc it also
 * (or only) verifies the tokens Salon mints after a sign-in (`minted`), exactly as other tokens.
 */
async function jwtVerifier(config: Config, log: Logger, minted?: MintingKey): Promise<TokenVerifier> {
  const { jwt } = config.auth;
  const appId = minted?.appId ?? jwt.appId;
  const appSecret = minted?.secret ?? jwt.appSecret;
  const withMinted = (list: readonly string[]): string[] => (minted && list.length && !list.includes(minted.appId) ? [...list, minted.appId] : [...list]);
  return createJwtVerifier({
    ...await readJwtKeys({ publicKeyFile: jwt.publicKeyFile, jwksFile: jwt.jwksFile }),
    ...(appId ? { appId } : {}),
    ...(appSecret ? { appSecret } : {}),
    acceptedIssuers: withMinted(jwt.acceptedIssuers),
    acceptedAudiences: withMinted(jwt.acceptedAudiences),
    log: log.child({ component: 'jwt' }),
  });
}

export interface StartOptions {
  /** The built web client; default: the process's one build (web/server/bundle.ts). */
  clientBundle?: ClientBundle;
}

export async function startSalon(config: Config, log: Logger = createLogger(config), options: StartOptions = {}): Promise<SalonHandle> {
  // The client first: a source that does not compile stops the start here, with esbuild's errors.
  const clientBundle = options.clientBundle ?? await sharedClientBundle();
  log.info({ component: 'http', buildMs: clientBundle.buildMs, assets: clientBundle.assets.size }, 'web client built');
  for (const warning of clientBundle.warnings) log.warn({ component: 'http', warning }, 'web client build warning');
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
  const bridgeAccount = `${config.bridge.user}@${config.xmpp.authDomain}`;
  const oidc = config.auth.enabled && config.auth.type === 'oidc';
  const tokenVerifier = config.auth.enabled && config.auth.type === 'jwt' ? await jwtVerifier(config, log)
    : oidc ? await jwtVerifier(config, log, oidcMintingKey(config, secrets)) : undefined;
  // Read before anything listens: a missing client secret file stops the start here.
  const signIn = oidc ? await oidcSignInFromConfig(config, secrets, log.child({ component: 'oidc' }), trustedProxies) : undefined;
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
    ...(tokenVerifier ? { tokenVerifier } : {}),
    ...componentDomains(config),
    lobby: {
      domain: config.xmpp.lobbyDomain ?? `lobby.${config.xmpp.domain}`,
      enabledByDefault: config.xmpp.lobby.enabledByDefault,
      displayNameRequired: config.xmpp.lobby.displayNameRequired,
    },
    passwordStorage: config.xmpp.passwordStorage,
    serviceAccounts: {
      [`focus@${config.xmpp.authDomain}`]: secrets.focusPassword,
      [bridgeAccount]: config.bridge.password ?? secrets.jvbPassword,
    },
  }, log.child({ component: 'xmpp' }));
  // A configured bridge password (JVB_AUTH_PASSWORD, shared with the `salon bridge` hosts) is the
  // account's, even when the account was made earlier with the generated one.
  const configuredPassword = config.bridge.password;
  try {
    if (configuredPassword && !(await xmpp.accounts.verifyPassword(bridgeAccount, configuredPassword))) {
      await xmpp.accounts.setPassword(bridgeAccount, configuredPassword);
      log.info({ account: bridgeAccount }, 'bridge account password set from the configuration');
    }
  } catch (err) {
    await xmpp.close();
    throw err;
  }

  for (const warning of configWarnings(config)) log.warn(warning);

  const pad = config.pad.enabled
    ? startPadService({
      log: log.child({ component: 'pad' }),
      allowedOrigins,
      maxDocumentChars: config.pad.maxDocumentChars,
      maxMessageBytes: config.pad.maxMessageBytes,
      tokenTtlMs: config.pad.tokenTtlSeconds * 1000,
      jitsiMeetPage: config.pad.jitsiMeetPage,
      maxConnections: config.pad.maxConnections,
    })
    : undefined;
  const { occupantIdentity, isAgent, ...policy } = roomPolicy(config, xmpp);
  xmpp.lobby?.setBypass(lobbyBypass(config, isAgent));
  const stamp = createIdentityStamp(occupantIdentity);
  xmpp.muc.setStamp(stamp);
  xmpp.lobby?.service.setStamp(stamp);
  const focus = startFocus({
    connectLocal: (jid, onStanza) => xmpp.connectLocal(jid, onStanza),
    addService: (service) => xmpp.addService(service),
    route: (stanza) => xmpp.router.route(stanza),
  }, log.child({ component: 'focus' }), {
    domain: config.xmpp.focusDomain,
    user: `focus@${config.xmpp.authDomain}`,
    mucDomain: config.xmpp.mucDomain,
    brewery: breweryJid(config),
    version: VERSION,
    ...(pad ? { documents: pad } : {}),
    ...policy,
    // With authentication, a conference left without agents ends (focus/conference.ts AGENTLESS_TIMEOUT_MS).
    ...(config.auth.enabled ? { isAgent } : {}),
    ...(componentDomains(config).avModerationDomain ? { avModerationDomain: componentDomains(config).avModerationDomain } : {}),
    codecs: codecTable({ h264: config.video.h264, vp9: config.video.vp9, av1: config.video.av1 }),
    bridgeHealth: config.bridge.healthCheckMs === 0 ? false
      : { intervalMs: config.bridge.healthCheckMs, timeoutMs: config.bridge.healthCheckMs / 2, retryDelayMs: config.bridge.healthCheckMs / 2 },
    requestLimits: {
      burst: limits.conferenceRequestBurst,
      windowSeconds: limits.conferenceRequestWindowSeconds,
      roomCreationsPerMinute: limits.roomCreationsPerMinute,
      // Not loopback: clients on this machine (tools, tests, the benchmark's participants) are not counted by address.
      addressOf: (requester) => {
        const address = xmpp.remoteAddressOf(requester);
        return address !== undefined && !isLoopback(address) ? address : undefined;
      },
    },
    restartRequestLimits: { maxRequests: limits.sessionRestartsPerMinute, minIntervalMs: limits.sessionRestartMinIntervalSeconds * 1000, intervalMs: 60_000 },
  });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'salon_' });
  xmpp.registerMetrics(registry);

  let bridgeRole: BridgeRole | undefined;
  let http: HttpListeners | undefined;
  try {
    if (config.bridge.enabled) {
      bridgeRole = await startBridgeRole(config, inProcessLink(xmpp), log, config.bridge.id ?? 'jvb-1');
      registerBridgeMetrics(registry, bridgeRole.stats, bridgeRole.media, bridgeRole.reducer);
    } else {
      log.info({ brewery: breweryJid(config) }, 'no built-in bridge: conferences use the bridges in the brewery');
    }

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
      strictTransportSecurity: publicOrigin.startsWith('https:'),
      health: () => null,
      bosh: xmpp.bosh,
      websocket: xmpp.websocket,
      ...(bridgeRole ? { bridgeStats: bridgeRole.stats, bridgeDrain: bridgeRole.bridge, bridgeChannel: bridgeRole.bridge.channel } : {}),
      ...(pad ? { pad } : {}),
      ...(signIn ? { signIn: signIn.middleware } : {}),
      clientPages: clientPages({
        bundle: clientBundle,
        frameAncestors: config.web.frameAncestors,
        connectSources: config.web.connectSources,
        originFor,
        etherpadPage: config.pad.enabled && config.pad.jitsiMeetPage,
      }),
    });
    http = await listenHttp(config, front, tls);
  } catch (err) {
    focus.close();
    await pad?.close();
    await bridgeRole?.close();
    await xmpp.close();
    throw err;
  }
  const listeners = http;

  let closing: Promise<void> | undefined;
  return {
    config, log, xmpp, secrets, focus, pad,
    bridge: bridgeRole?.bridge, bridgeStats: bridgeRole?.stats, media: bridgeRole?.media,
    ports: { http: listeners.http, https: listeners.https, c2s: xmpp.ports.c2s, components: xmpp.ports.components, media: bridgeRole?.media.port ?? 0 },
    localOrigin: `http://127.0.0.1:${listeners.http}`,
    close() {
      closing ??= (async () => {
        // Stop accepting first, then the roles, then wait for the listeners to be gone.
        const listenersClosed = listeners.stopAccepting();
        focus.close();
        await pad?.close();
        await bridgeRole?.close();
        await xmpp.close();
        listeners.dropConnections();
        await listenersClosed;
      })();
      return closing;
    },
  };
}
