/**
 * The web client's entry point: takes the server's `/config.js` (loaded before this bundle, as
 * `window.config`), the settings the URL gives, starts the iframe API endpoint when framed, and
 * renders the app into `#app`.
 */
import { render } from 'preact';
import { App, type OnConference } from './app.tsx';
import { createConference, type JitsiConfig } from './conference/conference-client.ts';
import { parseUrlOverrides, startEmbedding } from './embed/index.ts';
import { initialOptionsFrom } from './ui/initial-options.ts';
import { takePageToken } from './ui/page-token.ts';

const config = (globalThis as { config?: unknown }).config as JitsiConfig;

// ── Embedding (iframe API) ─────────────────────────────────────────────────────────────────
// The one place the embedding code plugs in. `startEmbedding` is called first: the embedder waits
// for the events it sends at once. The URL's whitelisted settings (#config.prejoinConfig.enabled,
// #config.startWithAudioMuted/VideoMuted, #userInfo.displayName, #jwt / ?jwt, ?lang) become the
// app's initial options, and each conference is attached to the endpoint (attach returns detach),
// with the room's way to join again with a password (the `password` command's second meaning).
// The token leaves the address bar at once (./ui/page-token.ts).
const endpoint = startEmbedding(window);
const overrides = parseUrlOverrides(location);
const jwt = takePageToken({ location, history, storage: () => sessionStorage, now: Date.now() }, overrides.jwt);
const initial = initialOptionsFrom({ ...overrides, jwt });
const onConference: OnConference | undefined = endpoint
  ? (controller, _options, room) => endpoint.attach(controller, { joinWithPassword: room.joinWithPassword })
  : undefined;
// ──────────────────────────────────────────────────────────────────────────────────────────

function mountPoint(): HTMLElement {
  const existing = document.getElementById('app');
  if (existing) return existing;
  const el = document.createElement('div');
  el.id = 'app';
  document.body.prepend(el);
  return el;
}

render(
  <App initial={initial} createConference={(options) => createConference(options, { config })} onConference={onConference} />,
  mountPoint(),
);
