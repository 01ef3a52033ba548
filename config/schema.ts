/**
 * Salon's one configuration type: a zod schema with defaults that run everything on one machine
 * (the names and ports of ARCHITECTURE.md). Unknown keys are refused; every problem is reported.
 */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const domain = z.string().min(1).max(253).regex(/^[a-z0-9.-]+$/, 'a lower-case DNS name');
/** A name that is safe as a JID localpart or resource, a MUC nickname and a URL path segment. */
const token = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dots, dashes and underscores (64 at most)');
/**
 * One CSP source expression (CSP3 §2.3.1): 'self', 'none', a scheme (`https:`), or a host with an
 * optional scheme, `*.` wildcard, port and path. No quotes, spaces, `;` or `,`, so a configured
 * value cannot add a directive to the header.
 */
const cspSource = z.string().regex(
  /^(?:'self'|'none'|\*|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::(?:\d{1,5}|\*))?(?:\/[^\s;,'"]*)?)$/i,
  "a CSP source such as 'self', https: or https://app.example.org",
);

/** An https URL, or an http one on this machine (a test or development identity provider). */
function isHttpsOrLoopback(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** `*` and bare schemes (`https:`) open a CSP directive to the whole web. */
function isOpenSource(source: string): boolean {
  return source === '*' || /^[a-z][a-z0-9+.-]*:$/i.test(source);
}

const limits = z.strictObject({
  /** Largest stanza a client may send, in bytes (Prosody: c2s_stanza_size_limit). */
  maxStanzaBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
  maxDepth: z.number().int().min(4).max(1000).default(64),
  maxAttributes: z.number().int().min(4).max(1000).default(64),
  maxAttributeBytes: z.number().int().min(64).default(16 * 1024),
  /** Bytes per second a client session may send before its reading is paused (Prosody mod_limits). */
  c2sBytesPerSecond: z.number().int().min(512).default(10 * 1024),
  /** Seconds of c2sBytesPerSecond a session may send at once. */
  burstSeconds: z.number().min(1).max(60).default(4),
  /** Connections still authenticating, per remote address. */
  maxUnauthenticatedPerAddress: z.number().int().min(1).default(64),
  /** Client connections per remote address, and sessions per address, counted apart: a hibernating session (XEP-0198) counts until resumed or expired. */
  maxConnectionsPerAddress: z.number().int().min(1).default(2000),
  /** A connection must authenticate within this many seconds. */
  unauthenticatedTimeoutSeconds: z.number().min(1).default(60),
  /** Stanzas buffered for a client (unacknowledged or while hibernating) before it is closed. */
  maxQueuedStanzas: z.number().int().min(16).default(1000),
  /** The same bound in bytes of serialised stanzas (a byte a character); at least maxStanzaBytes. */
  maxQueuedBytes: z.number().int().min(64 * 1024).default(4 * 1024 * 1024),
  /** Failed PLAIN/SCRAM logins per account, then per address, before further ones are refused (temporary-auth-failure). */
  loginFailuresPerAccount: z.number().int().min(1).default(5),
  loginFailuresPerAddress: z.number().int().min(1).default(20),
  /** Seconds in which the failure allowances are earned back (Prosody mod_limit_auth's period). */
  loginFailureWindowSeconds: z.number().min(1).max(86400).default(300),
  /** Wrong room passwords per room and address, earned back over roomPasswordFailureWindowSeconds (policy-violation beyond). */
  roomPasswordFailures: z.number().int().min(1).default(5),
  roomPasswordFailureWindowSeconds: z.number().min(1).max(86400).default(300),
  /** Conference requests one session may send at once, earned back over conferenceRequestWindowSeconds (resource-constraint beyond). */
  conferenceRequestBurst: z.number().int().min(1).default(10),
  conferenceRequestWindowSeconds: z.number().min(1).max(3600).default(10),
  /** Rooms one user (bare JID) may bring into being per minute. */
  roomCreationsPerMinute: z.number().int().min(1).default(5),
  /**
   * Session restarts the focus grants one participant (Jicofo's restart-request-rate-limits): at
   * least sessionRestartMinIntervalSeconds apart and at most sessionRestartsPerMinute a minute; a
   * restart beyond is refused (resource-constraint) and the session ends without a new one.
   */
  sessionRestartsPerMinute: z.number().int().min(0).max(600).default(5),
  sessionRestartMinIntervalSeconds: z.number().min(0).max(3600).default(5),
}).superRefine((limits, ctx) => {
  // A queue that cannot hold one stanza of the largest size would close any session sent one.
  if (limits.maxQueuedBytes < limits.maxStanzaBytes) {
    ctx.addIssue({ code: 'custom', path: ['maxQueuedBytes'], message: `must be at least maxStanzaBytes (${limits.maxStanzaBytes})` });
  }
});

export const configSchema = z.strictObject({
  /** The address people type; WebSocket Origin checks and config.js use it. Default: http://localhost:<http.port>. */
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** Generated secrets, accounts and certificates. */
  stateDir: z.string().min(1),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  http: z.strictObject({
    host: z.string().default('0.0.0.0'),
    port: port.default(8000),
    httpsPort: port.default(8443),
    /** off: HTTP only; self-signed: a certificate generated into the state dir; files: certFile/keyFile. */
    tls: z.enum(['off', 'self-signed', 'files']).default('off'),
    certFile: z.string().optional(),
    keyFile: z.string().optional(),
    /** Trust X-Forwarded-For from these peer addresses (a TLS-terminating proxy in front). */
    trustedProxies: z.array(z.string()).default(['127.0.0.1', '::1']),
  }).prefault({}),
  xmpp: z.strictObject({
    domain: domain.default('meet.jitsi'),
    authDomain: domain.default('auth.meet.jitsi'),
    guestDomain: domain.default('guest.meet.jitsi'),
    mucDomain: domain.default('muc.meet.jitsi'),
    internalMucDomain: domain.default('internal-muc.meet.jitsi'),
    focusDomain: domain.optional(),
    /** Jitsi's A/V moderation component (docker-jitsi-meet ENABLE_AV_MODERATION), at avModerationDomain. */
    avModeration: z.boolean().default(true),
    /** Default `avmoderation.<domain>`, as docker-jitsi-meet names it. */
    avModerationDomain: domain.optional(),
    /** Jitsi's "end meeting for everyone" component (ENABLE_END_CONFERENCE), at endConferenceDomain. */
    endConference: z.boolean().default(true),
    /** Default `endconference.<domain>`. */
    endConferenceDomain: domain.optional(),
    /** Jitsi's lobby rooms (mod_muc_lobby_rooms); default `lobby.<domain>`, as docker-jitsi-meet names it. */
    lobbyDomain: domain.optional(),
    lobby: z.strictObject({
      /** Every new conference starts with its lobby on (ENABLE_LOBBY); a moderator switches it per room either way. */
      enabledByDefault: z.boolean().default(false),
      /** Knockers must give a display name (mod_muc_lobby_rooms muc_lobby_check_display_name_required). */
      displayNameRequired: z.boolean().default(true),
    }).prefault({}),
    c2s: z.strictObject({ host: z.string().default('0.0.0.0'), port: port.default(5222), enabled: z.boolean().default(true) }).prefault({}),
    components: z.strictObject({
      host: z.string().default('127.0.0.1'),
      port: port.default(5347),
      enabled: z.boolean().default(true),
      /** domain → shared secret for XEP-0114 components. */
      secrets: z.record(z.string(), z.string().min(8)).default({}),
    }).prefault({}),
    /** Only the focus creates rooms on the conference MUC (Jitsi's restrict_room_creation). */
    restrictRoomCreation: z.boolean().default(true),
    /**
     * How account passwords are kept (XMPP_PASSWORD_STORAGE), a trade-off:
     * - `scrypt` (default): a memory-hard scrypt hash (N=2^15, r=8, p=1: 32 MiB per hash; measured
     *   0.18 s per hash and 0.19 s per PLAIN login on a busy 2-core machine, against 3 ms for 10 000
     *   PBKDF2-SHA-256 rounds), so each guess at a stolen accounts file costs an attacker some 60
     *   times the time and 32 MiB of memory, which defeats cheap GPU/ASIC parallelism. The server then only
     *   offers SASL PLAIN, and only over TLS or loopback: the password crosses the (encrypted)
     *   connection at each login.
     * - `scram`: salted SCRAM keys (PBKDF2 with 10 000 rounds, SHA-1 and SHA-256, as Prosody's
     *   internal_hashed), so SCRAM-SHA-256/SHA-1 logins never send the password, but a stolen file
     *   is cheap to attack.
     * A PLAIN login moves an account kept the other way to the configured one.
     */
    passwordStorage: z.enum(['scrypt', 'scram']).default('scrypt'),
    /** How long a dropped session with stream management stays resumable (Prosody smacks_hibernation_time). */
    smHibernationSeconds: z.number().int().min(0).max(3600).default(60),
    limits: limits.prefault({}),
  }).prefault({}),
  auth: z.strictObject({
    enabled: z.boolean().default(false),
    guests: z.boolean().default(true),
    type: z.enum(['internal', 'jwt', 'oidc']).default('internal'),
    /**
     * Which agents the focus makes moderators: every agent that joins (Jicofo with authentication),
     * or only the first one, then the oldest agent present when no moderator is left.
     */
    moderators: z.enum(['all-agents', 'first-agent']).default('all-agents'),
    /** Jitsi-format tokens (AUTH_TYPE=jwt): a shared secret (HS256), a public key or a JWKS (RS256/ES256), or both kinds. */
    jwt: z.strictObject({
      /** The default accepted issuer and audience. */
      appId: z.string().optional(),
      /** Verifies HS256/HS384/HS512 tokens. */
      appSecret: z.string().optional(),
      /** A PEM public key (RSA or EC) verifying RS256/384/512 or ES256/384/512 tokens. */
      publicKeyFile: z.string().min(1).optional(),
      /** A JSON Web Key Set file of public keys, chosen by the token's `kid`. */
      jwksFile: z.string().min(1).optional(),
      /** Default [appId]. */
      acceptedIssuers: z.array(z.string()).default([]),
      /** Default [appId, "jitsi"]. */
      acceptedAudiences: z.array(z.string()).default([]),
    }).prefault({}),
    /**
     * OpenID Connect sign-in for agents (AUTH_TYPE=oidc, web/server/auth/oidc.ts): the authorization
     * code flow with PKCE against any provider (ProConnect for French State agents); on return Salon
     * mints a Jitsi-format token (auth.jwt's app id and secret, or a secret of the state dir).
     */
    oidc: z.strictObject({
      /** The provider's issuer (its discovery document is read from it) or its discovery URL. */
      issuer: z.url({ protocol: /^https?$/ }).optional(),
      clientId: z.string().min(1).optional(),
      /** The client secret; none for a public client (PKCE alone). */
      clientSecret: z.string().min(1).optional(),
      /** A file holding the client secret (Docker or systemd secrets), read at start. */
      clientSecretFile: z.string().min(1).optional(),
      scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope token (RFC 6749 §3.3)'))
        .default(['openid', 'email', 'profile'])
        .refine((list) => list.includes('openid'), 'the scopes must include openid'),
      /** Where the provider sends the browser back; default `<public URL>/auth/oidc/callback`. */
      redirectUrl: z.url({ protocol: /^https?$/ }).optional(),
      /** E-mail domains whose holders may sign in as agents; empty: any account of the provider. */
      allowedDomains: z.array(z.string().trim().toLowerCase().pipe(domain)).default([]),
      /** Lifetime of the minted token, in seconds: it must outlast the join and any full reconnection. */
      tokenTtlSeconds: z.number().int().min(60).max(86400).default(3600),
    }).prefault({}),
  }).superRefine((auth, ctx) => {
    if (!auth.enabled || auth.type !== 'oidc') return;
    const { oidc } = auth;
    if (!oidc.issuer) ctx.addIssue({ code: 'custom', path: ['oidc', 'issuer'], message: 'AUTH_TYPE=oidc requires OIDC_ISSUER (the provider\'s issuer URL)' });
    if (!oidc.clientId) ctx.addIssue({ code: 'custom', path: ['oidc', 'clientId'], message: 'AUTH_TYPE=oidc requires OIDC_CLIENT_ID (the client registered at the provider)' });
    if (oidc.clientSecret && oidc.clientSecretFile) ctx.addIssue({ code: 'custom', path: ['oidc', 'clientSecretFile'], message: 'give OIDC_CLIENT_SECRET or OIDC_CLIENT_SECRET_FILE, not both' });
    // The provider's answers carry identities: plain HTTP only to a provider on this machine.
    if (oidc.issuer && !isHttpsOrLoopback(oidc.issuer)) ctx.addIssue({ code: 'custom', path: ['oidc', 'issuer'], message: 'the provider must be reached over https (http only on loopback)' });
  }).prefault({}),
  /** STUN and TURN servers announced to clients (XEP-0215), as docker-jitsi-meet's Prosody does. */
  turn: z.strictObject({
    servers: z.array(z.strictObject({
      type: z.enum(['stun', 'turn', 'turns']),
      /** A DNS name or an IP address. */
      host: z.string().min(1).max(253).regex(/^[^\s"'<>&]+$/, 'a host name or IP address'),
      port: port.optional(),
      transport: z.enum(['udp', 'tcp']).optional(),
    })).default([]),
    /** The TURN server's shared secret (coturn use-auth-secret, static-auth-secret): credentials are minted per request. */
    secret: z.string().min(8).optional(),
    /** How long minted credentials stay valid, in seconds. */
    ttlSeconds: z.number().int().min(60).max(7 * 86400).default(86400),
  }).prefault({}),
  media: z.strictObject({
    port: port.default(10000),
    /** Addresses announced to clients (public IP behind NAT); discovered when empty. */
    advertiseIps: z.array(z.string()).default([]),
    /**
     * The bridge's native media path (SRTP over OpenSSL contexts, batched UDP sends; built by
     * `npm install`): `auto` uses it when it was built, `on` refuses to start without it, `off`
     * keeps the TypeScript path.
     */
    native: z.enum(['auto', 'on', 'off']).default('auto'),
    /**
     * On the native path, a video frame's packets to one receiver leave as one UDP GSO message the
     * kernel (or the network card) cuts into the same datagrams (Linux ≥ 4.18). What the kernel
     * refuses goes one datagram at a time: a peer whose path MTU is below a segment gets no datagram
     * that long coalesced again, one behind IPsec nothing. `false` sends each datagram as its own message.
     */
    udpSegmentation: z.boolean().default(true),
  }).prefault({}),
  /** The video codecs the focus offers (focus/offer.ts) and config.js makes clients prefer. */
  video: z.strictObject({
    /**
     * Offer VP9 (SVC) besides VP8 (docker-jitsi-meet's ENABLE_CODEC_VP9, a Jicofo setting); lib-jitsi-meet
     * clients then send VP9 (config.js prefers it). Off: VP8 only, as before.
     */
    vp9: z.boolean().default(false),
    /**
     * Offer AV1 after VP8 (and VP9), with the AV1 dependency descriptor header extension the bridge
     * forwards its layers by (docker-jitsi-meet's ENABLE_CODEC_AV1, a Jicofo setting); lib-jitsi-meet
     * clients then send AV1 (config.js prefers it, before VP9). Off: not offered, as before.
     */
    av1: z.boolean().default(false),
    /**
     * Offer H.264 right after VP8 (Jicofo's h264 codec setting, on in Jicofo by default): clients whose
     * own preference puts it first (`videoQuality.preferredCodec`, e.g. for a phone's hardware encoder)
     * send it, as three simulcast layers from lib-jitsi-meet, which the bridge forwards per receiver
     * as VP8's (every frame: no temporal layers are read in H.264). config.js keeps VP8 first. Off:
     * not offered, as before.
     */
    h264: z.boolean().default(false),
  }).prefault({}),
  /**
   * The videobridge: the one `salon start` runs beside the other roles (unless `enabled` is false),
   * or the one `salon bridge` runs alone, logged in to the XMPP server of a Salon (or Prosody)
   * elsewhere, as jitsi-videobridge does.
   */
  bridge: z.strictObject({
    /** Run a bridge inside `salon start`; false leaves media to bridges started with `salon bridge`. */
    enabled: z.boolean().default(true),
    /**
     * The bridge's XMPP resource, brewery nickname and colibri-ws path segment: unique per bridge.
     * Default `jvb-1` in `salon start`, the host name in `salon bridge`.
     */
    id: token.optional(),
    /** Announced in the brewery; the focus prefers a bridge in the participant's region. */
    region: token.optional(),
    /**
     * Large rooms: forward only the audio of this many loudest speakers (and the dominant one),
     * as jitsi-videobridge's "route loudest only"; 0 (default) forwards every participant's audio.
     */
    loudestAudio: z.number().int().min(0).max(100).default(0),
    /**
     * While the bridge is overloaded (its event loop busy 75 % of two 5 s intervals in a row), cap camera video at 360p,
     * then 180p, and lift the cap once the load stays low for a minute (bridge/load-reducer.ts).
     */
    loadReducer: z.boolean().default(true),
    /**
     * The focus asks each bridge in the brewery how it is this often (Jicofo's JvbDoctor): one that
     * fails twice in a row (no answer within half this time, or an error) is marked failed and its
     * conferences move to another bridge. 0 turns the checks off.
     */
    healthCheckMs: z.number().int().min(0).max(600_000).refine((ms) => ms === 0 || ms >= 1_000, '0 (off) or at least 1000 ms').default(10_000),
    /** The brewery room on the internal MUC domain. */
    brewery: token.default('jvbbrewery'),
    /** The bridges' account, `<user>@<auth domain>`. */
    user: token.default('jvb'),
    /**
     * The account's password. `salon start` gives the account this password (default: one
     * generated into the state dir's secrets.json); `salon bridge` logs in with it.
     */
    password: z.string().min(8).optional(),
    /** Where `salon bridge` finds the XMPP server: `host` or `host:port` (default port: xmpp.c2s.port). */
    xmppServer: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[^\s:/,[\]]+)(:\d{1,5})?$/, 'one host or host:port').default('localhost'),
    /** How `salon bridge` judges the server's certificate: verify it (default), or accept any (self-signed test set-ups). */
    xmppTls: z.enum(['verify', 'insecure']).default('verify'),
    /** With `verify`: a PEM file of the CA to trust (or the server's self-signed certificate) instead of the system's CAs. */
    xmppCaFile: z.string().min(1).optional(),
  }).prefault({}),
  /** The web client's pages (web/server/client-pages.ts). */
  web: z.strictObject({
    /**
     * Who may show Salon in an iframe (CSP frame-ancestors): integrators' origins, and `file:` for
     * the jitsi-meet-electron desktop app, whose meeting window is a local file.
     */
    frameAncestors: z.array(cspSource).min(1).default(["'self'"])
      .refine((list) => !list.includes("'none'") || list.length === 1, "'none' must stand alone")
      // A framing page drives the iframe API with the user's rights (hang up, kick, set a password):
      // a wildcard or a whole scheme would hand that to any site. `file:` is the desktop app's.
      .refine((list) => list.every((source) => !isOpenSource(source) || source === 'file:'),
        "name the origins that may frame Salon: no '*' nor a whole scheme such as https: (file: is allowed, for the desktop app)"),
    /** Further CSP connect-src sources: the origins of bridges on other hosts (their colibri-ws). */
    connectSources: z.array(cspSource).default([])
      .refine((list) => list.every((source) => !isOpenSource(source)), "name the bridges' origins: no '*' nor a whole scheme such as wss:"),
  }).prefault({}),
  /** The shared document (web/server/pad): Quill + OT, in memory only, destroyed with its conference. */
  pad: z.strictObject({
    /** Off: no document, no `<etherpad>` in the focus presence, no `etherpad_base` in config.js. */
    enabled: z.boolean().default(true),
    /**
     * jitsi-meet's way in: the capability name in the focus presence, `etherpad_base` in config.js
     * and the `/etherpad/p/<name>` page. Off: Salon's clients open the document with their tokens only.
     */
    jitsiMeetPage: z.boolean().default(true),
    /** Connections admitted at once to one document, for one occupant, and through the capability name. */
    maxConnections: z.strictObject({
      perDocument: z.number().int().min(1).max(10_000).default(100),
      perOccupant: z.number().int().min(1).max(100).default(4),
      perCapability: z.number().int().min(1).max(10_000).default(50),
    }).prefault({}),
    /** Longest document, in characters; changes beyond are refused. */
    maxDocumentChars: z.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
    /** Largest WebSocket message, in bytes; a bigger one closes that connection. */
    maxMessageBytes: z.number().int().min(4096).max(64 * 1024 * 1024).default(2 * 1024 * 1024),
    /** How long a token from the focus admits a new connection, in seconds. */
    tokenTtlSeconds: z.number().int().min(1).max(3600).default(60),
  }).prefault({}),
});

/** The input form (what files, env and flags may set). */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated configuration with every default filled in. */
export type Config = z.output<typeof configSchema> & { publicUrl: string; xmpp: { focusDomain: string } };
