/**
 * The `config.js` that Jitsi clients (jitsi-meet, lib-jitsi-meet, the mobile and desktop apps)
 * and Salon's own client read: derived from the server configuration, never edited by hand
 * (docker-jitsi-meet regenerates it too; here it cannot drift).
 */
import type { Config } from './schema.ts';
import { tokenAuthUrlTemplate } from '../web/server/auth/oidc.ts';

export interface ClientConfig {
  hosts: { domain: string; muc: string; focus: string; anonymousdomain?: string; authdomain?: string };
  focusUserJid: string;
  websocket: string;
  bosh: string;
  [key: string]: unknown;
}

/** `origin` is the public origin, e.g. `https://meet.example.org` (no trailing slash). */
export function buildClientConfig(config: Config, origin: string): ClientConfig {
  const { xmpp, auth } = config;
  const wsOrigin = origin.replace(/^http/, 'ws');
  const hosts: ClientConfig['hosts'] = { domain: xmpp.domain, muc: xmpp.mucDomain, focus: xmpp.focusDomain };
  if (auth.enabled && auth.guests) {
    hosts.anonymousdomain = xmpp.guestDomain;
    hosts.authdomain = xmpp.domain;
  }
  return {
    hosts,
    focusUserJid: `focus@${xmpp.authDomain}`,
    websocket: `${wsOrigin}/xmpp-websocket`,
    bosh: `${origin}/http-bind`,
    // The bridge channel is the colibri-ws WebSocket announced in each Jingle offer.
    bridgeChannel: { preferSctp: false },
    p2p: { enabled: true },
    videoQuality: videoQuality(config.video),
    enableWelcomePage: true,
    prejoinConfig: { enabled: true },
    disableThirdPartyRequests: true,
    analytics: { disabled: true },
    enableInsecureRoomNameWarning: false,
    // jitsi-meet opens `new URL(<focus's etherpad name>, etherpad_base)` in an iframe (protocol
    // doc §9); the page is served at the root whatever tenant path config.js was asked under.
    ...(config.pad.enabled && config.pad.jitsiMeetPage ? { etherpad_base: `${origin}/etherpad/p/` } : {}),
    // AUTH_TYPE=oidc: jitsi-meet's "I am the host" (and Salon's "Sign in") go to Salon's sign-in,
    // which comes back to the room with a token (web/server/auth/oidc.ts).
    ...(auth.enabled && auth.type === 'oidc' ? { tokenAuthUrl: tokenAuthUrlTemplate(origin) } : {}),
  };
}

/**
 * lib-jitsi-meet's codec preference: VP8 simulcast, which the bridge forwards best, unless the focus
 * offers an optional codec (ENABLE_CODEC_AV1, ENABLE_CODEC_VP9); lib-jitsi-meet then sends the first
 * offered codec of this order, AV1 before VP9, whose layers the bridge forwards per receiver. H.264
 * (ENABLE_CODEC_H264) keeps its place after VP8: it is offered for clients that prefer it themselves.
 */
function videoQuality(video: Config['video']): { codecPreferenceOrder: string[]; preferredCodec: string } {
  const optional = [['AV1', video.av1], ['VP9', video.vp9]] as const;
  const enabled = optional.filter(([, on]) => on).map(([name]) => name);
  // The codecs not offered keep today's places after H264: VP9, then AV1.
  const rest = ['VP9', 'AV1'].filter((name) => !(enabled as readonly string[]).includes(name));
  const codecPreferenceOrder = [...enabled, 'VP8', 'H264', ...rest];
  return { codecPreferenceOrder, preferredCodec: codecPreferenceOrder[0]! };
}

export function clientConfigScript(config: ClientConfig): string {
  return `var config = ${JSON.stringify(config, null, 2)};\n`;
}
