/**
 * Reads the few settings a Jitsi link or the iframe API may pass in the page URL, from a fixed
 * whitelist: whether to show the pre-join screen, start muted, the display name, a JWT, the
 * language and the iframe API instance id. Every other parameter is ignored, and nothing that
 * decides where the client connects or how it secures the call (hosts, websocket URL, focus, p2p,
 * e2ee, ICE servers) can ever come from the URL.
 *
 * Formats, as jitsi/jitsi-meet `react/features/base/util/parseURLParams.ts` reads them and the
 * external API (`urlObjectToString`) writes them:
 * - hash `#key=value&key=value`; keys are used as written (not URL-decoded); a value is
 *   URL-decoded, `\&` becomes `&`, typographic quotes become ASCII ones, `undefined` means absent,
 *   and the rest is JSON-parsed (`config.startWithAudioMuted=true`,
 *   `userInfo.displayName=%22Ada%22`). jitsi-meet drops a value that is not JSON; here a
 *   string-typed key keeps the raw text instead (`#userInfo.displayName=Ada` typed by hand);
 * - the API passes a whole object per top-level key, e.g. `config.prejoinConfig={"enabled":false}`,
 *   where a hand-written link says `config.prejoinConfig.enabled=false`; both are read;
 * - the query carries `jwt` and `lang` as plain text (`?jwt=…&lang=fr`); the JWT may also come in
 *   the hash (`#jwt="…"`, or unquoted by hand), and the hash's wins, as in jitsi-meet's
 *   `parseJWTFromURLParams` (react/features/base/jwt/functions.ts): its sign-in services and its
 *   iframe API put it there, out of server logs.
 *
 * `addressWithoutToken` gives the same address with every `jwt` parameter taken out, for the page to
 * show once it has read the token (../ui/page-token.ts).
 */

export interface UrlOverrides {
  /** `jitsi_meet_external_api_id`: set when an iframe API instance opened this page. */
  readonly apiId: number | undefined;
  /** `config.prejoinConfig.enabled` (or the older `config.prejoinPageEnabled`). */
  readonly prejoinEnabled: boolean | undefined;
  readonly startWithAudioMuted: boolean | undefined;
  readonly startWithVideoMuted: boolean | undefined;
  /** `userInfo.displayName`: trimmed, control characters removed, at most MAX_DISPLAY_NAME code points. */
  readonly displayName: string | undefined;
  /** A compact JWT (three base64url parts), passed to the server as Jitsi clients do. */
  readonly jwt: string | undefined;
  /** `?lang=` or else `config.defaultLanguage`: a BCP 47 tag as written (the app picks fr or en from it). */
  readonly lang: string | undefined;
}

/** A longer raw parameter value is ignored (a JWT is a few kilobytes at most). */
export const MAX_VALUE_CHARS = 8192;
/** Parameters read from a hash or query; the rest of a longer one is ignored. */
export const MAX_PARAMS = 100;
export const MAX_DISPLAY_NAME = 64;

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$/;
const CONTROL = /\p{Cc}/gu;

/** The whitelist: nothing else is even decoded. */
const HASH_KEYS = new Set([
  'jitsi_meet_external_api_id',
  'config.prejoinConfig',
  'config.prejoinConfig.enabled',
  'config.prejoinPageEnabled',
  'config.startWithAudioMuted',
  'config.startWithVideoMuted',
  'config.defaultLanguage',
  'userInfo.displayName',
  'jwt',
]);
const QUERY_KEYS = new Set(['jwt', 'lang']);

/** `key → raw value` of the whitelisted keys of `#…` or `?…` (later occurrences win). */
function rawParams(part: string, keys: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  const body = part.startsWith('#') || part.startsWith('?') ? part.slice(1) : part;
  // A hash router's `#/path` is not a parameter list (as in jitsi-meet).
  if (body.startsWith('/') && !body.includes('&')) return out;
  let count = 0;
  for (const item of body.split('&')) {
    if (++count > MAX_PARAMS) break;
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    if (!keys.has(key)) continue;
    const value = eq === -1 ? '' : item.slice(eq + 1);
    if (value.length > MAX_VALUE_CHARS) continue;
    out.set(key, value);
  }
  return out;
}

function urlDecode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined; // a malformed escape
  }
}

/** A hash value as jitsi-meet decodes it; `undefined` for absent, undecodable or `undefined`. */
function hashValue(raw: string | undefined): { readonly text: string; readonly json: unknown } | undefined {
  if (raw === undefined) return undefined;
  const decoded = urlDecode(raw);
  if (decoded === undefined) return undefined;
  const text = decoded.replace(/\\&/, '&').replace(/[\u2018\u2019]/g, '\'').replace(/[\u201C\u201D]/g, '"');
  if (text === 'undefined') return undefined;
  try {
    return { text, json: JSON.parse(text) as unknown };
  } catch {
    return { text, json: undefined };
  }
}

function booleanOf(raw: string | undefined): boolean | undefined {
  const value = hashValue(raw)?.json;
  return typeof value === 'boolean' ? value : undefined;
}

/** A JSON string value, or the raw text when it is not JSON at all. */
function stringOf(raw: string | undefined): string | undefined {
  const value = hashValue(raw);
  if (value === undefined) return undefined;
  if (typeof value.json === 'string') return value.json;
  return value.json === undefined ? value.text : undefined;
}

function prejoinFrom(hash: ReadonlyMap<string, string>): boolean | undefined {
  const dotted = booleanOf(hash.get('config.prejoinConfig.enabled'));
  if (dotted !== undefined) return dotted;
  const object = hashValue(hash.get('config.prejoinConfig'))?.json;
  if (typeof object === 'object' && object !== null && Object.hasOwn(object, 'enabled')) {
    const enabled = (object as { enabled: unknown }).enabled;
    if (typeof enabled === 'boolean') return enabled;
  }
  return booleanOf(hash.get('config.prejoinPageEnabled'));
}

function apiIdFrom(raw: string | undefined): number | undefined {
  const value = hashValue(raw)?.json;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function displayNameFrom(raw: string | undefined): string | undefined {
  const value = stringOf(raw);
  if (value === undefined) return undefined;
  const clean = value.replace(CONTROL, '').trim();
  if (!clean) return undefined;
  return [...clean].slice(0, MAX_DISPLAY_NAME).join('');
}

function jwtOf(value: string | undefined): string | undefined {
  return value !== undefined && JWT.test(value) ? value : undefined;
}

function languageOf(value: string | undefined): string | undefined {
  return value !== undefined && LANGUAGE_TAG.test(value) ? value : undefined;
}

/** The overrides in `location` (or any `{hash, search}`); unknown and malformed parameters are ignored. */
export function parseUrlOverrides(location: { readonly hash: string; readonly search: string }): UrlOverrides {
  const hash = rawParams(location.hash, HASH_KEYS);
  const query = rawParams(location.search, QUERY_KEYS);
  const queryText = (key: string): string | undefined => {
    const raw = query.get(key);
    return raw === undefined ? undefined : urlDecode(raw.replace(/\+/g, ' '));
  };
  return {
    apiId: apiIdFrom(hash.get('jitsi_meet_external_api_id')),
    prejoinEnabled: prejoinFrom(hash),
    startWithAudioMuted: booleanOf(hash.get('config.startWithAudioMuted')),
    startWithVideoMuted: booleanOf(hash.get('config.startWithVideoMuted')),
    displayName: displayNameFrom(hash.get('userInfo.displayName')),
    jwt: jwtOf(stringOf(hash.get('jwt'))) ?? jwtOf(queryText('jwt')),
    lang: languageOf(queryText('lang')) ?? languageOf(stringOf(hash.get('config.defaultLanguage'))),
  };
}

const isJwtParam = (item: string): boolean => item === 'jwt' || item.startsWith('jwt=');

/** A `?…` or `#…` part without its `jwt` parameters, the others as written ('' when none is left). */
function withoutJwt(part: string): string {
  const kept = part.slice(1).split('&').filter((item) => !isJwtParam(item));
  return kept.some((item) => item !== '') ? `${part[0]}${kept.join('&')}` : '';
}

/**
 * The page's address (path, query, hash) without its `jwt` parameters, the others kept as written
 * and in order; `undefined` when it has none. A token must not stay in the address bar, the
 * history, or a room link copied from there to invite someone.
 */
export function addressWithoutToken(location: { readonly pathname: string; readonly search: string; readonly hash: string }): string | undefined {
  const parts = [location.search, location.hash];
  if (!parts.some((part) => part.slice(1).split('&').some(isJwtParam))) return undefined;
  return `${location.pathname}${parts.map(withoutJwt).join('')}`;
}
