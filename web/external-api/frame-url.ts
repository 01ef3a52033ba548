/**
 * The address `JitsiMeetExternalAPI` loads in its iframe, built as jitsi-meet's
 * `urlObjectToString` builds it (read from the external_api.js jitsi-meet-electron bundles):
 * `https://<domain>/<roomName>?jwt=<jwt>&lang=<lang>#jitsi_meet_external_api_id=<id>&jwt="<jwt>"
 * &config.<key>=<JSON>&interfaceConfig.<key>=<JSON>&devices.<key>=<JSON>&userInfo.<key>=<JSON>`,
 * every JSON value URL-encoded. Pure, so it is unit-tested without a DOM.
 */
import { API_ID_PARAM } from '../client/embed/wire.ts';

export interface FrameUrlOptions {
  readonly roomName?: string;
  readonly jwt?: string;
  /** The UI language; else `configOverwrite.defaultLanguage`. */
  readonly lang?: string;
  readonly release?: string;
  readonly configOverwrite?: Record<string, unknown>;
  readonly interfaceConfigOverwrite?: Record<string, unknown>;
  readonly devices?: Record<string, unknown>;
  readonly userInfo?: Record<string, unknown>;
  /**
   * Plain `http:` instead of `https:`, as older Jitsi releases allowed, for a server on a
   * development machine; current Jitsi always uses https.
   */
  readonly noSSL?: boolean;
}

/** `key=<URL-encoded JSON>` for each own key; a value JSON cannot encode is left out. */
function objectParams(prefix: string, object: Record<string, unknown> | undefined): string[] {
  if (typeof object !== 'object' || object === null) return [];
  const params: string[] = [];
  for (const [key, value] of Object.entries(object)) {
    try {
      const json = JSON.stringify(value);
      if (json !== undefined) params.push(`${prefix}.${key}=${encodeURIComponent(json)}`);
    } catch {
      // a cycle or a BigInt: Jitsi skips such a value too
    }
  }
  return params;
}

/** The room path: `room`, or `tenant/room` as JaaS integrators write it; each segment escaped. */
function roomPath(roomName: string): string {
  return roomName.split('/').filter(Boolean).map(encodeURIComponent).join('/');
}

export function buildFrameUrl(domain: string, apiId: number, options: FrameUrlOptions): string {
  const url = new URL(`${options.noSSL ? 'http' : 'https'}://${domain}/`);
  url.pathname = `/${roomPath(options.roomName ?? '')}`;
  const query = new URLSearchParams();
  if (options.jwt) query.set('jwt', options.jwt);
  const defaultLanguage = options.configOverwrite?.defaultLanguage;
  const lang = options.lang || (typeof defaultLanguage === 'string' ? defaultLanguage : undefined);
  if (lang) query.set('lang', lang);
  if (options.release) query.set('release', options.release);
  url.search = query.toString();
  const hash = [`${API_ID_PARAM}=${apiId}`];
  if (options.jwt) hash.push(`jwt=${JSON.stringify(options.jwt)}`);
  hash.push(
    ...objectParams('config', options.configOverwrite),
    ...objectParams('interfaceConfig', options.interfaceConfigOverwrite),
    ...objectParams('devices', options.devices),
    ...objectParams('userInfo', options.userInfo),
  );
  url.hash = hash.join('&');
  return url.toString();
}
