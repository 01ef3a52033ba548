/**
 * Serves the built web client (./bundle.ts) from koa: the app's HTML at `/`, `/<Room>`,
 * `/<tenant>/<Room>` and `/<tenant>/` (the app reads the path), the shared document's page at
 * `/etherpad/p/<docName>` (where Jitsi clients open `etherpad_base` + name, protocol doc §9), the
 * hashed assets under `/assets/`, and `/external_api.js`. Mounted after the HTTP front's own
 * routes, so config.js, BOSH, the WebSocket keep-alive, health, metrics and colibri win; paths
 * that only look like files, and the names reserved below, are never taken for rooms.
 *
 * Every HTML response carries a strict Content-Security-Policy (no inline script or style, no
 * eval) and a Permissions-Policy; there is no X-Frame-Options, because `frame-ancestors` decides
 * who may frame the page (integrators and the desktop app must be able to).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';
import type { Asset, ClientBundle, PageEntry } from './bundle.ts';

export interface ClientPagesOptions {
  readonly bundle: ClientBundle;
  /**
   * CSP `frame-ancestors` sources of the app page (config `web.frameAncestors`, default
   * `'self'`): who may show Salon in an iframe. The shared document's page always adds 'self',
   * since the app frames it.
   */
  readonly frameAncestors: readonly string[];
  /** Further CSP `connect-src` sources (config `web.connectSources`): bridges on other hosts. */
  readonly connectSources?: readonly string[];
  /**
   * The page's public origin for a request (`https://meet.example.org`), whose WebSocket form
   * (`wss://meet.example.org`) connect-src names; without it, 'self' alone covers it.
   */
  readonly originFor?: (req: IncomingMessage) => string;
  /** Serve the shared document's page at `/etherpad/p/<docName>` (default true). */
  readonly etherpadPage?: boolean;
}

/**
 * First path segments that are never a room or a tenant: the pad's WebSocket (`/pad/`), the
 * shared document page, assets, and the paths Jitsi deployments and their clients use.
 */
export const RESERVED_SEGMENTS: ReadonlySet<string> = new Set([
  'pad', 'etherpad', 'assets', 'static', 'libs', 'css', 'images', 'fonts', 'lang', 'sounds',
  'about', 'colibri', 'colibri-ws', 'http-bind', 'xmpp-websocket', 'metrics', 'config.js',
  'interface_config.js', 'external_api.js', 'favicon.ico', 'robots.txt',
]);

/**
 * What may name a room or tenant here (URL-decoded): up to 128 characters, none of which nginx's
 * Jitsi configuration refuses in a room (`/ ? & : ' "`), no control characters or `\ < > # %`,
 * and no dot, so `/favicon.ico`, `/robots.txt` and the like never serve the app. The app itself
 * judges the name and explains a bad one, so this is only the outer fence.
 */
const SEGMENT = /^[^\p{Cc}/\\?#&:'"<>%.\s]{1,128}$/u;
/** A shared document's name: the room's name or a random hex id (Jicofo's choices). */
const DOC_NAME = /^[^\p{Cc}/\\?#&:'"<>%\s]{1,128}$/u;

type Lang = 'en' | 'fr';
const LANGS: readonly Lang[] = ['en', 'fr'];

const NOSCRIPT: Readonly<Record<Lang, string>> = {
  en: 'Salon needs JavaScript to run.',
  fr: 'Salon a besoin de JavaScript pour fonctionner.',
};
const PAD_TITLE: Readonly<Record<Lang, string>> = { en: 'Shared document', fr: 'Document partagé' };

/**
 * The app may use the camera, microphone, screen capture, fullscreen and autoplay itself. An
 * embedding page still delegates them with its iframe's `allow` attribute; an allowlist here
 * names origins inside this page, so framing origins need no mention.
 */
const APP_PERMISSIONS = [
  'camera=(self)', 'microphone=(self)', 'display-capture=(self)', 'fullscreen=(self)', 'autoplay=(self)',
  'geolocation=()', 'payment=()', 'usb=()',
].join(', ');
/** The document page needs none of the media features. */
const PAD_PERMISSIONS = [
  'camera=()', 'microphone=()', 'display-capture=()', 'fullscreen=(self)', 'geolocation=()', 'payment=()', 'usb=()',
].join(', ');

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Page {
  readonly html: string;
  readonly etag: string;
}

/**
 * The HTML of one entry: `<script src="/config.js">` first (it sets `window.config`), then the
 * module and what it imports (modulepreload, so they load in parallel), then the CSS; nothing
 * inline, so the CSP needs no 'unsafe-inline'. The empty data: icon spares a /favicon.ico request.
 */
export function pageHtml(entry: PageEntry, lang: Lang, title: string): string {
  const asset = (name: string): string => escapeHtml(`/assets/${name}`);
  const other: Lang = lang === 'en' ? 'fr' : 'en';
  return [
    '<!doctype html>',
    `<html lang="${lang}">`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<link rel="icon" href="data:,">',
    ...entry.styles.map((name) => `<link rel="stylesheet" href="${asset(name)}">`),
    '<script src="/config.js"></script>',
    `<script type="module" src="${asset(entry.script)}"></script>`,
    ...entry.preloads.map((name) => `<link rel="modulepreload" href="${asset(name)}">`),
    '</head>',
    '<body>',
    `<noscript><p>${escapeHtml(NOSCRIPT[lang])}</p><p lang="${other}">${escapeHtml(NOSCRIPT[other])}</p></noscript>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function makePage(entry: PageEntry, lang: Lang, title: string): Page {
  const html = pageHtml(entry, lang, title);
  return { html, etag: `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"` };
}

/**
 * The Content-Security-Policy of an HTML page.
 * - script-src 'self': modules from /assets and /config.js; no inline script, no eval.
 * - style-src 'self': style sheets only from /assets; no `<style>` element, no inline sheet.
 * - style-src-attr 'unsafe-inline': style *attributes* only, which Quill 2 needs. Preact and
 *   Quill set styles through the CSSOM (`el.style.x = …`), which CSP does not govern, but Quill's
 *   clipboard reads pasted HTML with DOMParser, and under a strict policy that document's
 *   `style="font-weight:700"` attributes parse to nothing (checked in Chromium): bold, italic,
 *   underline, colours pasted from Google Docs or Word would be lost. An attribute cannot load
 *   anything or select other elements, and Preact writes no attribute it is not given.
 * - connect-src: the XMPP WebSocket and BOSH, the bridge channel (colibri-ws) and the pad's
 *   WebSocket are on this origin; its ws:/wss: form is named as well, for browsers whose 'self'
 *   does not cover WebSocket schemes. Bridges on other hosts come from `connectSources`.
 * - img-src data: blob: (avatars and snapshots made in the page), media-src blob: mediastream:
 *   (local and remote media streams), frame-src 'self' (the shared document).
 */
export function contentSecurityPolicy(frameAncestors: readonly string[], connectSources: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    `connect-src ${["'self'", ...connectSources].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-src 'self'",
    `frame-ancestors ${frameAncestors.join(' ')}`,
  ].join('; ');
}

/** The ws: or wss: origin of an http: or https: origin. */
function webSocketOrigin(origin: string): string | undefined {
  const match = /^http(s?):\/\/([^/\s;,'"]+)$/.exec(origin);
  return match ? `ws${match[1]}://${match[2]}` : undefined;
}

/** The decoded path segments, or undefined when one is not valid percent-encoding. */
function segmentsOf(path: string): string[] | undefined {
  try {
    return path.split('/').slice(1).map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

function isNameSegment(segment: string | undefined): segment is string {
  return segment !== undefined && SEGMENT.test(segment) && !RESERVED_SEGMENTS.has(segment.toLowerCase());
}

/** Sends an asset in the best encoding the client accepts (precompressed at build). */
function sendAsset(ctx: Koa.Context, asset: Asset, cacheControl: string): void {
  ctx.status = 200;
  ctx.set('Cache-Control', cacheControl);
  ctx.type = asset.contentType;
  if (asset.gzip || asset.brotli) {
    ctx.vary('Accept-Encoding');
    // Our preference, not the header's order: browsers list gzip before br with equal weight.
    const accepted = (encoding: string): boolean => ctx.acceptsEncodings([encoding]) === encoding;
    const [encoding, body] = asset.brotli && accepted('br') ? ['br', asset.brotli]
      : asset.gzip && accepted('gzip') ? ['gzip', asset.gzip] : [undefined, undefined];
    if (encoding && body) {
      ctx.set('Content-Encoding', encoding);
      ctx.body = body;
      return;
    }
  }
  ctx.body = asset.body;
}

/** koa middleware serving the client; it passes on to `next` every path it does not own. */
export function clientPages(options: ClientPagesOptions): Koa.Middleware {
  const { bundle } = options;
  const appPages = new Map(LANGS.map((lang) => [lang, makePage(bundle.app, lang, 'Salon')]));
  const padPages = new Map(LANGS.map((lang) => [lang, makePage(bundle.pad, lang, `${PAD_TITLE[lang]} · Salon`)]));
  const connectSources = options.connectSources ?? [];
  const padAncestors = [...new Set(["'self'", ...options.frameAncestors.filter((s) => s !== "'none'")])];
  const etherpadPage = options.etherpadPage ?? true;

  const sendPage = (ctx: Koa.Context, pages: ReadonlyMap<Lang, Page>, ancestors: readonly string[], permissions: string): void => {
    const lang = (ctx.acceptsLanguages([...LANGS]) || 'en') as Lang;
    const page = pages.get(lang) ?? pages.get('en')!;
    const origin = options.originFor?.(ctx.req);
    const ws = origin === undefined ? undefined : webSocketOrigin(origin);
    ctx.status = 200;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Content-Security-Policy', contentSecurityPolicy(ancestors, [...(ws ? [ws] : []), ...connectSources]));
    ctx.set('Permissions-Policy', permissions);
    ctx.vary('Accept-Language');
    ctx.etag = page.etag;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = page.html;
  };

  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const segments = segmentsOf(ctx.path);
    if (!segments) return next();
    const [first, second, third, ...rest] = segments;

    if (first === 'assets') {
      const asset = segments.length === 2 && second !== undefined ? bundle.assets.get(second) : undefined;
      if (asset) sendAsset(ctx, asset, 'public, max-age=31536000, immutable');
      return; // an unknown asset is a 404, never a room
    }
    if (first === 'external_api.js' && segments.length === 1) {
      // Integrators and the desktop app load it by this fixed name from other origins.
      ctx.set('Access-Control-Allow-Origin', '*');
      ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
      // Weak: the same validator covers the identity, gzip and brotli bodies (RFC 9110 §8.8.1).
      ctx.etag = `W/${bundle.externalApi.etag}`;
      ctx.vary('Accept-Encoding');
      ctx.status = 200;
      if (ctx.fresh) {
        ctx.status = 304;
        return;
      }
      sendAsset(ctx, bundle.externalApi, 'no-cache');
      return;
    }
    if (etherpadPage && first === 'etherpad' && second === 'p' && third !== undefined && DOC_NAME.test(third) && !rest.length) {
      sendPage(ctx, padPages, padAncestors, PAD_PERMISSIONS);
      return;
    }
    // `/`, `/<Room>`, `/<tenant>/<Room>`, and `/<tenant>/` (the landing page under a tenant).
    const isApp = (segments.length === 1 && (first === '' || isNameSegment(first)))
      || (segments.length === 2 && isNameSegment(first) && (second === '' || isNameSegment(second)));
    if (isApp) {
      sendPage(ctx, appPages, options.frameAncestors, APP_PERMISSIONS);
      return;
    }
    return next();
  };
}
