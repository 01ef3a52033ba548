/**
 * What the page's URL (and, when embedded, the iframe API's hash overrides) decide before the
 * user does anything: whether the pre-join screen shows, the starting mute states, the name, the
 * token. main.tsx fills it from the whitelisted URL settings the embedding code parses.
 */
import type { UrlOverrides } from '../embed/url-overrides.ts';

export interface InitialOptions {
  /** jitsi-meet's `prejoinConfig.enabled` (default true). */
  readonly prejoinEnabled: boolean;
  /** jitsi-meet's `startWithAudioMuted`. */
  readonly startAudioMuted: boolean;
  /** jitsi-meet's `startWithVideoMuted`. */
  readonly startVideoMuted: boolean;
  /** jitsi-meet's `userInfo.displayName`; overrides the remembered name. */
  readonly displayName: string | undefined;
  /** A JWT given as `#jwt=` or `?jwt=` (kept for a reload of the tab, ./page-token.ts), passed on to the server. */
  readonly jwt: string | undefined;
  /** A language tag the URL asks for (`?lang=`, `config.defaultLanguage`); fr or en is used from it. */
  readonly lang: string | undefined;
}

export const DEFAULT_INITIAL_OPTIONS: InitialOptions = {
  prejoinEnabled: true,
  startAudioMuted: false,
  startVideoMuted: false,
  displayName: undefined,
  jwt: undefined,
  lang: undefined,
};

/** The URL's overrides (any field left undefined keeps the default), as ../embed/url-overrides.ts reads them. */
export type InitialOverrides = Omit<UrlOverrides, 'apiId'>;

export function initialOptionsFrom(overrides: InitialOverrides): InitialOptions {
  return {
    prejoinEnabled: overrides.prejoinEnabled ?? DEFAULT_INITIAL_OPTIONS.prejoinEnabled,
    startAudioMuted: overrides.startWithAudioMuted ?? DEFAULT_INITIAL_OPTIONS.startAudioMuted,
    startVideoMuted: overrides.startWithVideoMuted ?? DEFAULT_INITIAL_OPTIONS.startVideoMuted,
    displayName: overrides.displayName,
    jwt: overrides.jwt,
    lang: overrides.lang,
  };
}
