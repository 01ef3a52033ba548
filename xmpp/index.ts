/**
 * Salon's XMPP server: client hosts, the conference and internal MUC services, the router, and
 * the transports that are not HTTP (TCP c2s with STARTTLS, XEP-0114 components). The HTTP front
 * (web/server) mounts the WebSocket and BOSH transports this server makes.
 */
import { join } from 'node:path';
import type { Element } from 'ltx';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AccountStore, type PasswordStorage } from './accounts.ts';
import { ClientHost } from './host.ts';
import { StanzaError } from './errors.ts';
import { externalServicesFor, type ExternalServiceConfig } from './external-services.ts';
import { Jid, parseJid } from './jid.ts';
import { AddressLimiter } from './limits.ts';
import { LoginLimiter } from './login-limits.ts';
import { LocalSession } from './local-session.ts';
import { registerXmppMetrics, XmppCounters } from './metrics.ts';
import { MucService } from './muc/index.ts';
import { Lobby } from './muc/lobby.ts';
import { LOBBY_IDENTITY_TYPE } from './muc/lobby-protocol.ts';
import { AvModerationComponent } from './components/av-moderation.ts';
import { EndConferenceComponent } from './components/end-conference.ts';
import type { DiscoIdentity, DiscoItem } from './protocol/disco.ts';
import { Router, type DomainService } from './router.ts';
import type { TokenVerifier } from './sasl/anonymous.ts';
import { ClientSession, SessionRegistry } from './session.ts';
import type { ClientStreamContext, HostAuth } from './stream.ts';
import { BoshTransport } from './transport/bosh.ts';
import { ComponentListener } from './transport/component.ts';
import { TcpC2sListener } from './transport/tcp.ts';
import { WebSocketTransport } from './transport/websocket.ts';
import type { XmlParserLimits } from './xml-parser.ts';

export { Jid, parseJid, tryParseJid } from './jid.ts';
export { StanzaError, StreamError } from './errors.ts';
export { listen } from './transport/listen.ts';
export { C2sLink, type C2sLinkOptions, type C2sSessionInfo, type TlsPolicy } from './client/c2s-link.ts';
export { isLoopback } from './transport/http-peer.ts';
export type { LocalSession } from './local-session.ts';
export type { DomainService } from './router.ts';
export type { TokenVerifier } from './sasl/anonymous.ts';
export type { LobbyBypass } from './muc/lobby.ts';
export { createJwtVerifier, readJwtKeys, tokenGrants, type JwtVerifierOptions, type TokenGrants } from './auth/jwt.ts';
import { tokenGrants } from './auth/jwt.ts';

export interface XmppServerOptions {
  domain: string;
  authDomain: string;
  guestDomain: string;
  mucDomain: string;
  internalMucDomain: string;
  /** Whether the main domain requires accounts (ENABLE_AUTH); guests then use the guest domain. */
  authEnabled: boolean;
  guestsEnabled: boolean;
  restrictRoomCreation: boolean;
  stateDir: string;
  version: string;
  c2s: { enabled: boolean; host: string; port: number; tls: { key: string; cert: string } | undefined };
  components: { enabled: boolean; host: string; port: number; secrets: Record<string, string> };
  limits: {
    maxStanzaBytes: number; maxDepth: number; maxAttributes: number; maxAttributeBytes: number;
    c2sBytesPerSecond: number; burstSeconds: number; maxUnauthenticatedPerAddress: number;
    maxConnectionsPerAddress: number; unauthenticatedTimeoutSeconds: number; maxQueuedStanzas: number;
    maxQueuedBytes: number;
    /** Failed-login limits (./login-limits.ts); defaults 5 per account, 20 per address, 300 s. */
    loginFailuresPerAccount?: number; loginFailuresPerAddress?: number; loginFailureWindowSeconds?: number;
    /** Wrong room passwords per room and address; defaults 5 per 300 s. */
    roomPasswordFailures?: number; roomPasswordFailureWindowSeconds?: number;
  };
  hibernationSeconds: number;
  allowedOrigins: ReadonlySet<string>;
  trustedProxies: ReadonlySet<string>;
  /** Service accounts created at first start: bare JID → password. */
  serviceAccounts: Record<string, string>;
  /** How account passwords are kept (./accounts.ts): scrypt (PLAIN logins only) or SCRAM keys; default scrypt. */
  passwordStorage?: PasswordStorage;
  /**
   * Verifies `?token=` on SASL ANONYMOUS logins. With `authEnabled` the main domain then takes
   * token logins (a token is required there) instead of accounts, as Prosody's
   * `authentication = "token"`; guests still log in anonymously on the guest domain.
   */
  tokenVerifier?: TokenVerifier;
  /** STUN/TURN servers for XEP-0215, with the TURN REST shared secret; none by default. */
  externalServices?: { servers: readonly ExternalServiceConfig[]; secret?: string; ttlSeconds: number };
  /** The A/V moderation component's address (docker-jitsi-meet: `avmoderation.<domain>`); none without it. */
  avModerationDomain?: string;
  /** The end-conference component's address (`endconference.<domain>`); none without it. */
  endConferenceDomain?: string;
  /**
   * Jitsi's lobby (./muc/lobby.ts) on its own MUC domain (docker-jitsi-meet: `lobby.<domain>`);
   * with `enabledByDefault` every new conference room starts members-only, its lobby on.
   */
  lobby?: { domain: string; enabledByDefault: boolean; displayNameRequired?: boolean };
}

export interface XmppServer {
  readonly router: Router;
  readonly accounts: AccountStore;
  readonly muc: MucService;
  readonly internalMuc: MucService;
  /** The lobby (its MUC service and who bypasses it); undefined when not configured. */
  readonly lobby: Lobby | undefined;
  readonly websocket: WebSocketTransport;
  readonly bosh: BoshTransport;
  /** Bound TCP ports (0 when the listener is off). */
  readonly ports: { c2s: number; components: number };
  readonly counters: XmppCounters;
  /** Opens an in-process session bound at `jid` (a full JID); stanzas for it go to `onStanza`. */
  connectLocal(jid: string, onStanza: (stanza: Element) => void): LocalSession;
  /** Registers an in-process service for a domain (e.g. the focus component). */
  addService(service: DomainService): () => void;
  /** Adds a Jitsi component identity to the main domain's disco#info (category `component`). */
  addComponentIdentity(identity: DiscoIdentity): void;
  registerMetrics(registry: Registry): void;
  /** How the client bound at `fullJid` logged in; undefined when no client session is bound there. */
  sessionIdentity(fullJid: string): SessionIdentity | undefined;
  /** The network address a bound client session connects from (undefined: not a client session, or unknown). */
  remoteAddressOf(fullJid: string): string | undefined;
  close(): Promise<void>;
}

/** How a client session authenticated: an account's password, a token (with its claims), or nothing. */
export type SessionIdentity =
  | { authenticated: 'password' }
  | { authenticated: 'token'; claims: Record<string, unknown> }
  | { authenticated: 'anonymous' };

export async function startXmppServer(options: XmppServerOptions, log: Logger): Promise<XmppServer> {
  const counters = new XmppCounters();
  const router = new Router(log.child({ component: 'router' }), counters);
  const accounts = await AccountStore.open(join(options.stateDir, 'accounts.json'), { storage: options.passwordStorage ?? 'scrypt' });
  for (const [jid, password] of Object.entries(options.serviceAccounts)) {
    if (!accounts.has(jid)) await accounts.setPassword(jid, password);
    // Checking the known password moves a service account kept the other way to the configured one.
    else if (accounts.needsRehash(jid)) await accounts.verifyPassword(jid, password);
  }

  const tokenLogins = options.authEnabled && options.tokenVerifier !== undefined;
  const hosts = new Map<string, HostAuth>();
  hosts.set(options.domain, options.authEnabled && !tokenLogins ? 'internal' : 'anonymous');
  if (options.authEnabled && options.guestsEnabled) hosts.set(options.guestDomain, 'anonymous');
  hosts.set(options.authDomain, 'internal');

  const componentIdentities: DiscoIdentity[] = [];
  const extraServices = new Set<string>();
  const items = (): DiscoItem[] => [
    { jid: options.mucDomain, name: 'Conferences' },
    ...[...extraServices].map((jid) => ({ jid })),
  ];
  const externalServices = externalServicesFor({
    servers: options.externalServices?.servers ?? [],
    ttlSeconds: options.externalServices?.ttlSeconds ?? 86400,
    ...(options.externalServices?.secret ? { secret: options.externalServices.secret } : {}),
    domains: new Set(hosts.keys()),
  });
  const removers: Array<() => void> = [];
  for (const domain of hosts.keys()) {
    removers.push(router.addService(new ClientHost(router, log.child({ component: 'host', domain }), {
      domain,
      items,
      identities: () => componentIdentities,
      version: options.version,
      externalServices,
    })));
  }

  const admins = new Set([`focus@${options.authDomain}`]);
  /** A client's address, for limits per client: anonymous guests get a new JID with each connection. */
  const addressOf = (jid: Jid): string => {
    const session = router.resource(jid.full);
    return session instanceof ClientSession && session.remoteAddress !== undefined ? session.remoteAddress : jid.bare;
  };
  const muc = new MucService(router, log.child({ component: 'muc', domain: options.mucDomain }), {
    domain: options.mucDomain,
    name: 'Conferences',
    admins,
    restrictRoomCreation: options.restrictRoomCreation,
    hideRooms: true,
    passwordAttempts: {
      burst: options.limits.roomPasswordFailures ?? 5,
      refillSeconds: options.limits.roomPasswordFailureWindowSeconds ?? 300,
      keyOf: addressOf,
    },
    maxOccupantsPerRoom: 500,
    maxHistoryMessages: 0,
    defaultWhois: 'anyone',
    // Members-only from its creation, so nobody enters between the focus creating it and the lobby opening.
    ...(options.lobby?.enabledByDefault ? { roomDefaults: { membersOnly: true } } : {}),
  });
  const internalMuc = new MucService(router, log.child({ component: 'muc', domain: options.internalMucDomain }), {
    domain: options.internalMucDomain,
    name: 'Internal',
    admins,
    restrictRoomCreation: false,
    allowedUserDomains: new Set([options.authDomain]),
    maxOccupantsPerRoom: 1000,
    maxHistoryMessages: 0,
    defaultWhois: 'anyone',
  });
  // The nickname is the Jitsi endpoint id everywhere (Colibri, bridge channel, source names):
  // it is kept to safe characters and cannot be changed once in the room, so nobody can take
  // over another participant's endpoint id (Jitsi's muc_resource_validate, security.md §7 #22).
  muc.setJoinPolicy(({ room, realJid, nick }) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(nick)) throw new StanzaError('modify', 'jid-malformed', 'nicknames are 1 to 64 letters, digits, - or _');
    const current = room?.occupantByRealJid(realJid.full);
    if (current && current.nick !== nick) throw new StanzaError('cancel', 'not-acceptable', 'nickname changes are not allowed in conferences');
    // A token opens the rooms its room claim names, and no other (Prosody's token_verification at
    // the MUC join): the focus refuses its conference request, and the room its presence.
    const session = room ? router.resource(realJid.full) : undefined;
    if (room && session instanceof ClientSession && session.claims) {
      const grants = tokenGrants(session.claims, parseJid(room.jid).local ?? '');
      if (!grants.allowed) throw new StanzaError('cancel', 'not-allowed', grants.reason ?? 'token for another room');
    }
  });
  removers.push(router.addService(muc), router.addService(internalMuc));
  // Jitsi's optional components, announced as mod_av_moderation / mod_end_conference do (§2.6):
  // an identity of category `component` in the main domain's disco#info, its name the address.
  const avModeration = options.avModerationDomain
    ? new AvModerationComponent(options.avModerationDomain, router, muc, log.child({ component: 'av-moderation' }))
    : undefined;
  if (avModeration) {
    removers.push(router.addService(avModeration), () => avModeration.close());
    componentIdentities.push({ category: 'component', type: 'av_moderation', name: avModeration.domain });
    extraServices.add(avModeration.domain);
  }
  if (options.endConferenceDomain) {
    const endConference = new EndConferenceComponent(options.endConferenceDomain, router, muc, log.child({ component: 'end-conference' }));
    removers.push(router.addService(endConference));
    componentIdentities.push({ category: 'component', type: 'end_conference', name: endConference.domain });
    extraServices.add(endConference.domain);
  }

  // mod_muc_lobby_rooms announces the lobby as a `lobbyrooms` component identity of the main domain.
  const lobby = options.lobby
    ? new Lobby(router, log.child({ component: 'muc', domain: options.lobby.domain }), muc, {
      domain: options.lobby.domain,
      admins,
      displayNameRequired: options.lobby.displayNameRequired ?? true,
      // Each knock reaches the room's moderators: 30 a minute per address (an office behind one), then one every 2 s.
      knockAttempts: { burst: 30, refillSeconds: 60, keyOf: addressOf },
    })
    : undefined;
  if (lobby) {
    removers.push(router.addService(lobby.service), () => lobby.close());
    componentIdentities.push({ category: 'component', type: LOBBY_IDENTITY_TYPE, name: lobby.service.domain });
    extraServices.add(lobby.service.domain);
  }

  const registry = new SessionRegistry();
  const addressLimiter = new AddressLimiter(options.limits.maxConnectionsPerAddress, options.limits.maxUnauthenticatedPerAddress);
  const sessions = new Set<ClientSession>();
  const ctx: ClientStreamContext = {
    log: log.child({ component: 'c2s' }),
    router,
    accounts,
    registry,
    hosts,
    defaultHost: options.domain,
    trustedDomain: options.authDomain,
    limits: options.limits,
    hibernationSeconds: options.hibernationSeconds,
    addressLimiter,
    loginLimiter: new LoginLimiter({
      failuresPerAccount: options.limits.loginFailuresPerAccount ?? 5,
      failuresPerAddress: options.limits.loginFailuresPerAddress ?? 20,
      windowSeconds: options.limits.loginFailureWindowSeconds ?? 300,
    }),
    ...(options.tokenVerifier ? { tokenVerifier: withTokenRequirement(options.tokenVerifier, tokenLogins ? options.domain : undefined) } : {}),
    onStanzaIn: (kind) => counters.stanzaIn(kind),
    onSessionOpened: (s) => {
      counters.logins++;
      sessions.add(s);
    },
    onSessionClosed: (s) => sessions.delete(s),
  };
  const parserLimits: XmlParserLimits = {
    maxStanzaBytes: options.limits.maxStanzaBytes,
    maxDepth: options.limits.maxDepth,
    maxAttributes: options.limits.maxAttributes,
    maxAttributeBytes: options.limits.maxAttributeBytes,
    maxHeaderBytes: 8192,
  };
  const websocket = new WebSocketTransport(ctx, { parserLimits, allowedOrigins: options.allowedOrigins, trustedProxies: options.trustedProxies });
  const bosh = new BoshTransport(ctx, { parserLimits, allowedOrigins: options.allowedOrigins, trustedProxies: options.trustedProxies });

  const c2s = options.c2s.enabled
    ? new TcpC2sListener(ctx, { host: options.c2s.host, port: options.c2s.port, parserLimits, tls: options.c2s.tls })
    : undefined;
  const components = options.components.enabled
    ? new ComponentListener(router, log.child({ component: 'components' }), {
      host: options.components.host, port: options.components.port, secrets: options.components.secrets,
      parserLimits: { ...parserLimits, maxStanzaBytes: Math.max(parserLimits.maxStanzaBytes, 1024 * 1024) },
    })
    : undefined;
  let ports: { c2s: number; components: number };
  try {
    ports = { c2s: (await c2s?.listen()) ?? 0, components: (await components?.listen()) ?? 0 };
  } catch (err) {
    // A port in use: what did start is stopped, so a failed start leaves nothing listening.
    const logFailure = (e: unknown) => log.error({ err: e }, 'closing a listener after a failed start');
    await c2s?.close().catch(logFailure);
    await components?.close().catch(logFailure);
    muc.close();
    internalMuc.close();
    lobby?.close();
    throw err;
  }

  const locals = new Set<LocalSession>();
  let closed = false;

  return {
    router, accounts, muc, internalMuc, lobby, websocket, bosh, ports, counters,
    connectLocal(jid, onStanza) {
      const session = new LocalSession(parseJid(jid), router, log.child({ component: 'local', jid }), onStanza, (s) => locals.delete(s));
      locals.add(session);
      return session;
    },
    addService(service) {
      extraServices.add(service.domain);
      const remove = router.addService(service);
      return () => {
        extraServices.delete(service.domain);
        remove();
      };
    },
    addComponentIdentity(identity) {
      componentIdentities.push(identity);
    },
    registerMetrics(metricsRegistry) {
      registerXmppMetrics(metricsRegistry, counters, {
        sessions: () => sessions.size,
        connections: () => ({ websocket: websocket.connectionCount, bosh: bosh.sessionCount, tcp: c2s?.connectionCount ?? 0 }),
        rooms: () => muc.roomCount,
        occupants: () => muc.occupantCount,
      });
    },
    remoteAddressOf(fullJid) {
      const session = router.resource(fullJid);
      return session instanceof ClientSession && !session.isClosed ? session.remoteAddress : undefined;
    },
    sessionIdentity(fullJid) {
      const session = router.resource(fullJid);
      if (!(session instanceof ClientSession) || session.isClosed) return undefined;
      if (session.claims) return { authenticated: 'token', claims: session.claims };
      // PLAIN and SCRAM are the only mechanisms of an 'internal' host (stream.ts).
      return hosts.get(session.jid.domain) === 'internal' ? { authenticated: 'password' } : { authenticated: 'anonymous' };
    },
    async close() {
      if (closed) return;
      closed = true;
      const failures: unknown[] = [];
      const attempt = async (fn: () => unknown): Promise<void> => {
        try {
          await fn();
        } catch (err) {
          failures.push(err);
        }
      };
      // Rooms first (each destroyed once, not emptied occupant by occupant), then connections.
      await attempt(() => muc.close());
      await attempt(() => internalMuc.close());
      await attempt(() => websocket.close());
      await attempt(() => bosh.close());
      await attempt(() => c2s?.close());
      await attempt(() => components?.close());
      for (const s of [...sessions]) await attempt(() => s.close('system-shutdown'));
      for (const l of [...locals]) await attempt(() => l.close('system-shutdown'));
      for (const remove of removers.reverse()) await attempt(remove);
      if (failures.length) throw new AggregateError(failures, 'XMPP server did not close cleanly');
    },
  };
}

/** The verifier, requiring a token on `domain` (the main domain when it takes token logins). */
function withTokenRequirement(verifier: TokenVerifier, domain: string | undefined): TokenVerifier {
  return {
    verify: (token, ctx) => verifier.verify(token, ctx),
    requiresToken: (d) => d === domain || (verifier.requiresToken?.(d) ?? false),
  };
}
