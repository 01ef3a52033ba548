/**
 * The token a page is opened with (`#jwt=`, or `?jwt=`, ../embed/url-overrides.ts reads both):
 * taken out of the address bar at once, and kept for this tab alone.
 *
 * A token in the address is a moderator's key: it would stay in the browser's history, and in the
 * room link someone copies from the address bar to invite others. So once read, the address is
 * replaced (history.replaceState: same path, the other parameters kept, no new history entry),
 * as jitsi-meet keeps tokens out of the links it shows (getURLWithoutParams,
 * react/features/base/connection/utils.ts). A reload must still sign the organiser in, so the token
 * is kept in sessionStorage for that path: it lives as long as the tab, is never sent anywhere, and
 * is not shared with other tabs. An expired one is dropped rather than presented.
 */
import { addressWithoutToken } from '../embed/index.ts';

export const PAGE_TOKEN_KEY_PREFIX = 'salon.pageToken:';
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface PageTokenEnv {
  readonly location: { readonly pathname: string; readonly search: string; readonly hash: string };
  readonly history: { readonly state: unknown; replaceState(data: unknown, unused: string, url: string): void };
  /** This tab's sessionStorage; touching it may throw (storage disabled, sandboxed frame). */
  readonly storage: () => Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

/** The token's `exp` in seconds, when its payload says one. */
function expiryOf(token: string): number | undefined {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `fromAddress` (the token the address carried, if any, as parseUrlOverrides read it) or the one
 * kept for this path; takes every `jwt` parameter out of the address either way.
 */
export function takePageToken(env: PageTokenEnv, fromAddress: string | undefined): string | undefined {
  const clean = addressWithoutToken(env.location);
  if (clean !== undefined) env.history.replaceState(env.history.state, '', clean);
  const key = `${PAGE_TOKEN_KEY_PREFIX}${env.location.pathname}`;
  try {
    const store = env.storage();
    if (fromAddress !== undefined) {
      store.setItem(key, fromAddress);
      return fromAddress;
    }
    const kept = store.getItem(key);
    if (kept === null) return undefined;
    const exp = expiryOf(kept);
    if (JWT.test(kept) && (exp === undefined || exp * 1000 > env.now)) return kept;
    store.removeItem(key);
    return undefined;
  } catch {
    return fromAddress; // storage unavailable: a reload will not sign in again
  }
}
