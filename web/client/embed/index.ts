/**
 * Salon's side of Jitsi Meet's iframe API, as the app uses it: `startEmbedding()` at start (an
 * endpoint when the page is framed by `JitsiMeetExternalAPI`, see ./endpoint.ts for attaching a
 * conference), and `parseUrlOverrides()` for the whitelisted URL settings Jitsi links carry.
 */
import { ExternalApiEndpoint, startEmbeddingIn } from './endpoint.ts';
import { parseUrlOverrides } from './url-overrides.ts';

export { ExternalApiEndpoint } from './endpoint.ts';
export { addressWithoutToken, parseUrlOverrides, type UrlOverrides } from './url-overrides.ts';

/**
 * The iframe API endpoint if this page is framed and its URL hash names an API instance
 * (`#jitsi_meet_external_api_id=N`), else undefined. Call once, as early as possible: the
 * embedder's loading spinner waits for the `browserSupport` event it sends at once.
 */
export function startEmbedding(win: Window = window): ExternalApiEndpoint | undefined {
  return startEmbeddingIn(win, parseUrlOverrides(win.location).apiId);
}
