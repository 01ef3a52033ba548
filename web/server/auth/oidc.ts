/**
 * OpenID Connect sign-in for agents (AUTH_TYPE=oidc): how French State agents sign in through
 * ProConnect, and anyone through any OpenID provider.
 *
 * `GET /auth/oidc/login?room=<Room>` starts the authorization code flow (OpenID Connect Core §3.1)
 * with PKCE S256 (RFC 7636), a `state` and a `nonce`, kept here in memory (TTL, caps) and bound to
 * the browser by an HttpOnly cookie, so a callback URL handed to someone else's browser is refused
 * (login CSRF, RFC 6749 §10.12). `GET /auth/oidc/callback` exchanges the code (openid-client checks
 * the state, PKCE, and the ID token's `iss`, `aud`, `exp` and `nonce`), reads the user's name and
 * e-mail from the ID token or the UserInfo endpoint (ProConnect answers the latter only, as a signed
 * JWT), checks the e-mail domain, then mints a Jitsi-format token for that one room and sends the
 * browser to `/<Room>#jwt="<token>"`, which Salon's client and jitsi-meet both read. The token rides
 * in the fragment, which browsers never send: it stays out of access logs, proxies and `Referer`
 * headers, and the client takes it out of the address bar at once (web/client/ui/page-token.ts).
 *
 * Stock jitsi-meet clients come here through config.js `tokenAuthUrl` (see `tokenAuthUrlTemplate`):
 * jitsi-meet substitutes `{room}` with the room name and `{state}` with a URL-encoded JSON object
 * (`room`, `roomSafe`, `tenant`, `config.*` overrides) and navigates to it when the user, waiting
 * for the host, says "I am the host" (jitsi-meet react/features/authentication/functions.web.ts,
 * getTokenAuthUrl; actions.web.ts, openTokenAuthUrl). It reads the token back from the room URL's
 * `#jwt=` first, as a JSON string like every hash value, else `?jwt=` (react/features/base/jwt/
 * functions.ts, parseJWTFromURLParams, since jitsi-meet PR 14749/14760, 2024; older releases read
 * `?jwt=` only).
 *
 * Every failure (provider unreachable, refused consent, unknown or replayed state, a token that
 * does not verify, an e-mail domain not allowed, too many sign-ins at once) ends on a small page in
 * French and English with a way back; details go to the log, never to the page.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Router } from '@koa/router';
import type Koa from 'koa';
import { SignJWT } from 'jose';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import type { Config } from '../../../config/schema.ts';
import type { Secrets } from '../../../config/state.ts';
import { remoteAddressOf } from '../../../xmpp/transport/http-peer.ts';

export const LOGIN_PATH = '/auth/oidc/login';
export const CALLBACK_PATH = '/auth/oidc/callback';
/** The cookie binding a pending sign-in to the browser that started it. */
const BROWSER_COOKIE = 'salon_oidc';
/** The issuer and audience of minted tokens when JWT_APP_ID is not set. */
export const DEFAULT_APP_ID = 'salon';

/**
 * config.js `tokenAuthUrl` for a public origin: jitsi-meet fills `{room}` and `{state}` in; Salon's
 * own client does the same (the room URL-encoded, `{state}` an encoded JSON `{"room","tenant"}`, or
 * `jitsi_state` left out).
 */
export function tokenAuthUrlTemplate(origin: string): string {
  return `${origin}${LOGIN_PATH}?room={room}&jitsi_state={state}`;
}

/** The key minted tokens are signed with and the XMPP server verifies them with. */
export interface MintingKey {
  appId: string;
  secret: string;
}

/** JWT_APP_ID and JWT_APP_SECRET when set (so tokens minted elsewhere for the same app verify too), else Salon's own. */
export function oidcMintingKey(config: Config, secrets: Pick<Secrets, 'oidcTokenSecret'>): MintingKey {
  return { appId: config.auth.jwt.appId ?? DEFAULT_APP_ID, secret: config.auth.jwt.appSecret ?? secrets.oidcTokenSecret };
}

export interface OidcSignInOptions {
  /** The provider's issuer URL, or its discovery document's URL. */
  issuer: string;
  clientId: string;
  /** None: a public client, PKCE alone (token_endpoint_auth_method "none"). */
  clientSecret?: string | undefined;
  scopes: readonly string[];
  redirectUrl: string;
  /** E-mail domains allowed to sign in (lower case); empty: any. */
  allowedDomains: readonly string[];
  /** Where the rooms are, e.g. `https://meet.example.org`. */
  publicOrigin: string;
  /** Set the cookie Secure (the public URL is https). */
  secureCookies: boolean;
  key: MintingKey;
  /** The `sub` of minted tokens without a tenant: the XMPP domain, as Jitsi's tokens name it (doc/tokens.md). */
  xmppDomain: string;
  tokenTtlSeconds: number;
  trustedProxies: ReadonlySet<string>;
  log: Logger;
  /** How long a started sign-in may take, in ms; default 10 minutes. */
  pendingTtlMs?: number;
  /** Sign-ins pending at once, in all; default 10000. */
  maxPending?: number;
  /** Sign-ins pending at once from one address; default 20. */
  maxPendingPerAddress?: number;
  /** Provider requests time out after this many seconds; default 10. */
  timeoutSeconds?: number;
  now?: () => number;
}

export interface OidcSignIn {
  /** The koa middleware serving the two routes; everything else passes on. */
  middleware: Koa.Middleware;
  /** Sign-ins started and not yet come back (for tests and metrics). */
  pendingCount(): number;
}

interface Pending {
  codeVerifier: string;
  nonce: string;
  /** The random value of the browser's cookie when it started. */
  browser: string;
  address: string;
  room: string;
  tenant: string | undefined;
  /** jitsi-meet's settings to carry back in the room URL's hash (`config.startWithAudioMuted=true`…). */
  overrides: Array<[string, string]>;
  expiresAt: number;
}

type Problem = 'bad-room' | 'busy' | 'unavailable' | 'expired' | 'denied' | 'provider-error' | 'unverified' | 'domain';

const PROBLEMS: Readonly<Record<Problem, { status: number; fr: string; en: string }>> = {
  'bad-room': {
    status: 400,
    fr: 'Ce nom de salle n’est pas valable : lettres, chiffres, tirets et soulignés, 64 caractères au plus.',
    en: 'This room name is not valid: letters, digits, dashes and underscores, 64 characters at most.',
  },
  busy: {
    status: 429,
    fr: 'Trop de connexions sont en cours. Réessayez dans quelques minutes.',
    en: 'Too many sign-ins are under way. Try again in a few minutes.',
  },
  unavailable: {
    status: 502,
    fr: 'Le fournisseur d’identité ne répond pas. Réessayez plus tard.',
    en: 'The identity provider does not answer. Try again later.',
  },
  expired: {
    status: 400,
    fr: 'Cette connexion n’est plus valable : elle a expiré, a déjà servi, ou n’a pas été commencée dans ce navigateur. Recommencez.',
    en: 'This sign-in is no longer valid: it expired, was already used, or was not started in this browser. Start again.',
  },
  denied: {
    status: 403,
    fr: 'La connexion a été refusée ou annulée auprès du fournisseur d’identité.',
    en: 'The sign-in was refused or cancelled at the identity provider.',
  },
  'provider-error': {
    status: 502,
    fr: 'Le fournisseur d’identité a signalé une erreur. Réessayez plus tard.',
    en: 'The identity provider reported an error. Try again later.',
  },
  unverified: {
    status: 400,
    fr: 'La réponse du fournisseur d’identité n’a pas pu être vérifiée. Recommencez.',
    en: 'The identity provider’s answer could not be verified. Start again.',
  },
  domain: {
    status: 403,
    fr: 'Votre adresse électronique ne fait pas partie des domaines autorisés à ouvrir une réunion ici.',
    en: 'Your e-mail address is not in a domain allowed to host meetings here.',
  },
};

/** As Salon's client accepts room names (web/client/ui/landing/room-name.ts), a tenant likewise. */
const NAME = /^[\p{L}\p{N}_-]{1,64}$/u;
/** jitsi-meet settings a sign-in may carry back to the room (from its `{state}`), booleans only. */
const CARRIED_SETTINGS = new Set([
  'config.startWithAudioMuted', 'config.startWithVideoMuted', 'config.startAudioOnly', 'config.prejoinConfig.enabled',
]);

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The room's path, under its tenant if any. */
function roomPath(room: string, tenant: string | undefined): string {
  return `${tenant ? `/${encodeURIComponent(tenant)}` : ''}/${encodeURIComponent(room)}`;
}

/**
 * The room URL's fragment: the token and the carried settings, as jitsi-meet writes a hash
 * (react/features/base/util/uri.ts, urlObjectToString): `key=<URL-encoded JSON value>` joined by
 * `&`, keys as they are. The token is a JSON string, `jwt=%22…%22`, since jitsi-meet JSON-parses
 * every hash value and drops one that does not parse.
 */
function roomHash(token: string, overrides: ReadonlyArray<readonly [string, string]>): string {
  // The carried settings' values are JSON already (`true`, `false`).
  return [`jwt=${encodeURIComponent(JSON.stringify(token))}`, ...overrides.map(([key, json]) => `${key}=${encodeURIComponent(json)}`)].join('&');
}

function problemPage(problem: Problem, back: string, retry: string | undefined): string {
  const { fr, en } = PROBLEMS[problem];
  const link = (href: string, text: string): string => `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>`;
  return [
    '<!doctype html>',
    '<html lang="fr">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Connexion impossible · Sign-in failed · Salon</title></head>',
    '<body>',
    '<h1>Connexion impossible</h1>',
    `<p>${escapeHtml(fr)}</p>`,
    `<p>${retry ? `${link(retry, 'Recommencer la connexion')} · ` : ''}${link(back, 'Retour à la salle')}</p>`,
    '<hr>',
    '<div lang="en">',
    '<h1>Sign-in failed</h1>',
    `<p>${escapeHtml(en)}</p>`,
    `<p>${retry ? `${link(retry, 'Sign in again')} · ` : ''}${link(back, 'Back to the room')}</p>`,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The jitsi-meet `{state}` object, when it is one (anything else is ignored). */
function jitsiState(raw: string | undefined): Record<string, unknown> {
  if (!raw || raw === '{state}') return {};
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The name to show: `name`, else the given name with ProConnect's `usual_name` or `family_name`. */
function displayName(claims: Record<string, unknown>): string | undefined {
  const name = stringClaim(claims, 'name');
  if (name) return name;
  const parts = [stringClaim(claims, 'given_name'), stringClaim(claims, 'usual_name') ?? stringClaim(claims, 'family_name')].filter(Boolean);
  return parts.length ? parts.join(' ') : undefined;
}

function isLoopbackUrl(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/** Builds the sign-in routes; the provider's discovery document is read at the first sign-in (and again after a failure). */
export function createOidcSignIn(options: OidcSignInOptions): OidcSignIn {
  const { log } = options;
  const now = options.now ?? Date.now;
  const pendingTtlMs = options.pendingTtlMs ?? 10 * 60_000;
  const maxPending = options.maxPending ?? 10_000;
  const maxPerAddress = options.maxPendingPerAddress ?? 20;
  const pending = new Map<string, Pending>();
  const perAddress = new Map<string, number>();

  const issuerUrl = new URL(options.issuer);
  let discovered: Promise<client.Configuration> | undefined;
  const configuration = (): Promise<client.Configuration> => {
    discovered ??= client.discovery(
      issuerUrl,
      options.clientId,
      undefined,
      options.clientSecret ? client.ClientSecretPost(options.clientSecret) : client.None(),
      {
        timeout: options.timeoutSeconds ?? 10,
        // Plain HTTP is for a provider on this machine only (the configuration refuses others).
        ...(issuerUrl.protocol === 'http:' && isLoopbackUrl(issuerUrl) ? { execute: [client.allowInsecureRequests] } : {}),
      },
    ).catch((err: unknown) => {
      discovered = undefined; // the next sign-in tries again
      throw err;
    });
    return discovered;
  };

  const forget = (state: string): Pending | undefined => {
    const entry = pending.get(state);
    if (!entry) return undefined;
    pending.delete(state);
    const left = (perAddress.get(entry.address) ?? 1) - 1;
    if (left > 0) perAddress.set(entry.address, left);
    else perAddress.delete(entry.address);
    return entry;
  };
  /** Drops expired sign-ins: the map is in insertion order, and every entry lives as long. */
  const sweep = (): void => {
    const at = now();
    for (const [state, entry] of pending) {
      if (entry.expiresAt > at) break;
      forget(state);
    }
  };

  const fail = (ctx: Koa.Context, problem: Problem, where?: { room: string; tenant: string | undefined }): void => {
    ctx.status = PROBLEMS[problem].status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    const back = where ? roomPath(where.room, where.tenant) : '/';
    const retry = where && problem !== 'bad-room' && problem !== 'domain'
      ? `${LOGIN_PATH}?${new URLSearchParams({ room: where.room, ...(where.tenant ? { tenant: where.tenant } : {}) }).toString()}`
      : undefined;
    ctx.body = problemPage(problem, back, retry);
  };

  const login = async (ctx: Koa.Context): Promise<void> => {
    const query = ctx.query;
    const one = (name: string): string | undefined => (typeof query[name] === 'string' ? query[name] : undefined);
    const state = jitsiState(one('jitsi_state'));
    const room = one('room') ?? (typeof state.room === 'string' ? state.room : undefined);
    const tenantRaw = one('tenant') ?? (typeof state.tenant === 'string' && state.tenant !== '' ? state.tenant : undefined);
    if (!room || !NAME.test(room) || (tenantRaw !== undefined && !NAME.test(tenantRaw))) {
      fail(ctx, 'bad-room');
      return;
    }
    const where = { room, tenant: tenantRaw };
    let config: client.Configuration;
    try {
      config = await configuration();
    } catch (err) {
      log.warn({ err: (err as Error).message, issuer: options.issuer }, 'identity provider discovery failed');
      fail(ctx, 'unavailable', where);
      return;
    }
    // Checked and counted with no await in between, so concurrent sign-ins cannot pass the caps together.
    sweep();
    const address = remoteAddressOf(ctx.req as IncomingMessage, options.trustedProxies);
    if (pending.size >= maxPending || (perAddress.get(address) ?? 0) >= maxPerAddress) {
      log.warn({ address, pending: pending.size }, 'sign-in refused: too many pending');
      fail(ctx, 'busy', where);
      return;
    }
    const codeVerifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const oauthState = client.randomState();
    // One value per browser, so sign-ins started in several tabs all stay valid; only one of ours is reused.
    const held = ctx.cookies.get(BROWSER_COOKIE);
    const browser = held && /^[A-Za-z0-9_-]{32}$/.test(held) ? held : randomBytes(24).toString('base64url');
    const overrides: Array<[string, string]> = Object.entries(state)
      .filter(([key, value]) => CARRIED_SETTINGS.has(key) && typeof value === 'boolean')
      .map(([key, value]) => [key, String(value)]);
    pending.set(oauthState, { codeVerifier, nonce, browser, address, room, tenant: tenantRaw, overrides, expiresAt: now() + pendingTtlMs });
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);

    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: options.redirectUrl,
      scope: options.scopes.join(' '),
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: oauthState,
      nonce,
    });
    // Koa refuses a Secure cookie on a connection it does not see as TLS; behind a TLS-terminating
    // proxy the browser's connection is, which the public URL says.
    ctx.cookies.secure = options.secureCookies;
    ctx.cookies.set(BROWSER_COOKIE, browser, {
      httpOnly: true,
      // Lax: the provider's redirect back is a top-level GET navigation from another site.
      sameSite: 'lax',
      secure: options.secureCookies,
      path: '/auth/oidc/',
      maxAge: pendingTtlMs,
      overwrite: true,
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(url.href);
  };

  const callback = async (ctx: Koa.Context): Promise<void> => {
    ctx.set('Cache-Control', 'no-store');
    const stateParam = typeof ctx.query.state === 'string' ? ctx.query.state : undefined;
    sweep();
    const entry = stateParam ? forget(stateParam) : undefined; // one use only: a replayed callback finds nothing
    if (!entry) {
      log.info('sign-in callback with an unknown, expired or used state');
      fail(ctx, 'expired');
      return;
    }
    const where = { room: entry.room, tenant: entry.tenant };
    if (ctx.cookies.get(BROWSER_COOKIE) !== entry.browser) {
      log.info('sign-in callback in another browser than the one that started it');
      fail(ctx, 'expired', where);
      return;
    }
    const error = typeof ctx.query.error === 'string' ? ctx.query.error : undefined;
    if (error) {
      log.info({ error }, 'the identity provider refused the sign-in');
      fail(ctx, error === 'access_denied' || error === 'consent_required' || error === 'login_required' ? 'denied' : 'provider-error', where);
      return;
    }
    let config: client.Configuration;
    try {
      config = await configuration();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'identity provider discovery failed');
      fail(ctx, 'unavailable', where);
      return;
    }
    // The URL the provider sent the browser to: the configured redirect URL and this request's query.
    const currentUrl = new URL(options.redirectUrl);
    currentUrl.search = ctx.querystring;
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: entry.codeVerifier,
        expectedState: stateParam,
        expectedNonce: entry.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error('no ID token');
      claims = { ...idClaims };
      // ProConnect, and providers generally, give e-mail and names at the UserInfo endpoint.
      if ((!stringClaim(claims, 'email') || !displayName(claims)) && config.serverMetadata().userinfo_endpoint) {
        const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...info, ...claims }; // the ID token's own claims win
        log.debug({ claims: Object.keys(info) }, 'claims read from the UserInfo endpoint');
      }
    } catch (err) {
      const network = err instanceof TypeError || (err as { code?: string }).code === 'OAUTH_TIMEOUT';
      log.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, 'sign-in answer refused');
      fail(ctx, network ? 'unavailable' : 'unverified', where);
      return;
    }
    const sub = String(claims.sub);
    const email = stringClaim(claims, 'email')?.toLowerCase();
    if (options.allowedDomains.length) {
      const domain = email?.slice(email.lastIndexOf('@') + 1);
      if (!email || !domain || claims.email_verified === false || !options.allowedDomains.includes(domain)) {
        log.info({ domain }, 'sign-in refused: e-mail domain not allowed');
        fail(ctx, 'domain', where);
        return;
      }
    }
    const token = await mint({ sub, email, name: displayName(claims) ?? email?.split('@')[0] }, entry);
    log.info({ room: entry.room }, 'agent signed in');
    const target = new URL(roomPath(entry.room, entry.tenant), options.publicOrigin);
    target.hash = roomHash(token, entry.overrides);
    ctx.redirect(target.href);
  };

  /**
   * A Jitsi-format token (jitsi-meet doc/tokens.md) for the one room, its holder a moderator. It
   * lives `tokenTtlSeconds` (default one hour): the client presents it at every full connection,
   * including the reconnection after a network change outlasting XEP-0198 hibernation and a page
   * reload, so it must outlast a meeting's start; a client that leaves it in the address bar
   * leaves it in the browser's history too, so it should not outlast a working session by much.
   */
  const mint = (user: { sub: string; email: string | undefined; name: string | undefined }, entry: Pending): Promise<string> => {
    const issuedAt = Math.floor(now() / 1000);
    return new SignJWT({
      room: entry.room,
      context: { user: { id: user.sub, ...(user.name ? { name: user.name } : {}), ...(user.email ? { email: user.email } : {}), moderator: true } },
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(options.key.appId)
      .setAudience(options.key.appId)
      .setSubject(entry.tenant ? entry.tenant.toLowerCase() : options.xmppDomain)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + options.tokenTtlSeconds)
      .sign(new TextEncoder().encode(options.key.secret));
  };

  const router = new Router();
  router.get(LOGIN_PATH, login);
  router.get(CALLBACK_PATH, callback);
  const routes = router.routes();
  return {
    middleware: async (ctx, next) => {
      // Nothing a request carries may surface as a stack trace.
      try {
        await routes(ctx as Parameters<typeof routes>[0], next);
      } catch (err) {
        log.error({ err }, 'sign-in route failed');
        fail(ctx, 'unavailable');
      }
    },
    pendingCount: () => pending.size,
  };
}

/** The sign-in routes for a configuration with AUTH_TYPE=oidc (reads the client secret file). */
export async function oidcSignInFromConfig(config: Config, secrets: Pick<Secrets, 'oidcTokenSecret'>, log: Logger, trustedProxies: ReadonlySet<string>): Promise<OidcSignIn> {
  const { oidc } = config.auth;
  let clientSecret = oidc.clientSecret;
  if (oidc.clientSecretFile) {
    try {
      clientSecret = (await readFile(oidc.clientSecretFile, 'utf8')).trim();
    } catch (err) {
      throw new Error(`OIDC client secret file ${oidc.clientSecretFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  const publicOrigin = new URL(config.publicUrl).origin;
  return createOidcSignIn({
    issuer: oidc.issuer!,
    clientId: oidc.clientId!,
    clientSecret,
    scopes: oidc.scopes,
    redirectUrl: oidc.redirectUrl ?? `${publicOrigin}${CALLBACK_PATH}`,
    allowedDomains: oidc.allowedDomains,
    publicOrigin,
    secureCookies: publicOrigin.startsWith('https:'),
    key: oidcMintingKey(config, secrets),
    xmppDomain: config.xmpp.domain,
    tokenTtlSeconds: oidc.tokenTtlSeconds,
    trustedProxies,
    log,
  });
}
