/**
 * The videobridge role (jitsi-videobridge's job). Over XMPP it behaves like a JVB: it logs in
 * as jvb@<auth domain>/<bridge id>, joins the brewery room jvbbrewery@<internal MUC> with a
 * `<stats>` presence (stress, drain, version, region), and answers Colibri2 conference-modify
 * requests from the focus. Media endpoints come from a factory (bridge/endpoint.ts on the shared
 * UDP port in production).
 */
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../xmpp/errors.ts';
import { buildColibriStats, buildConferenceModified, parseConferenceModify, NS_COLIBRI2 } from '../xmpp/protocol/colibri2.ts';
import { NS_MUC } from '../xmpp/protocol/muc-user.ts';
import { errorReply, iqResult } from '../xmpp/stanza.ts';
import { BridgeChannelServer } from './bridge-channel.ts';
import { ColibriService, type ColibriEndpoint } from './colibri.ts';

export { ColibriService } from './colibri.ts';

/** What the bridge needs of an XMPP server (in process, or later a remote connection). */
export interface BridgeXmppLink {
  connectLocal(jid: string, onStanza: (stanza: Element) => void): { send(stanza: Element): void; close(reason?: string): void };
}

export interface BridgeOptions {
  /** The bridge's id: its XMPP resource, its brewery nickname, the first segment of colibri-ws URLs. */
  id: string;
  /** `jvb@<auth domain>` */
  user: string;
  /** `jvbbrewery@<internal MUC domain>` */
  brewery: string;
  version: string;
  region?: string;
  /** `wss://host` (or ws:// on loopback): where clients open the bridge channel. */
  publicWebSocketOrigin: string;
  createEndpoint(id: string, log: Logger): ColibriEndpoint;
  /** How often the brewery presence (stats) is refreshed. */
  statsIntervalMs?: number;
  /** Monotonic milliseconds for speech activity and keyframe pacing. Default performance.now(). */
  now?(): number;
}

export interface Bridge {
  readonly id: string;
  readonly jid: string;
  readonly colibri: ColibriService;
  /** The colibri-ws endpoint the HTTP front hands upgrades to. */
  readonly channel: BridgeChannelServer;
  /** Stops taking new conferences (jicofo moves them elsewhere); existing ones go on. */
  drain(on: boolean): void;
  close(): void;
}

export function startBridge(xmpp: BridgeXmppLink, log: Logger, options: BridgeOptions): Bridge {
  const jid = `${options.user}/${options.id}`;
  let draining = false;
  let closed = false;
  // The directory is the Colibri2 service; it is only consulted once both exist.
  const channel: BridgeChannelServer = new BridgeChannelServer(options.id, {
    passwordOf: (m, e) => colibri.passwordOf(m, e),
    onEndpointMessage: (m, e, message) => colibri.onEndpointMessage(m, e, message),
    onChannelOpened: (m, e) => colibri.onChannelOpened(m, e),
  }, log.child({ part: 'channel' }));
  const colibri = new ColibriService({
    log,
    onEndpointRemoved: (meetingId, endpointId) => channel.closeEndpoint(meetingId, endpointId),
    sendToEndpoint: (meetingId, endpointId, message) => channel.send(meetingId, endpointId, message),
    createEndpoint: options.createEndpoint,
    webSocketUrl: (meetingId, endpointId, pwd) =>
      `${options.publicWebSocketOrigin}/colibri-ws/${encodeURIComponent(options.id)}/${encodeURIComponent(meetingId)}/${encodeURIComponent(endpointId)}?pwd=${encodeURIComponent(pwd)}`,
    refusingNewConferences: () => draining || closed,
    ...(options.now ? { now: options.now } : {}),
  });

  const session = xmpp.connectLocal(jid, (stanza) => {
    if (stanza.name !== 'iq' || (stanza.attrs.type !== 'get' && stanza.attrs.type !== 'set')) return;
    const request = stanza.getChild('conference-modify', NS_COLIBRI2);
    try {
      if (!request || stanza.attrs.type !== 'set') throw new StanzaError('cancel', 'service-unavailable');
      // Only the focus (an account of the same auth domain) may drive the bridge.
      const from = String(stanza.attrs.from ?? '');
      if (!from.startsWith(`focus@${options.user.split('@')[1]}/`)) throw new StanzaError('auth', 'forbidden', 'only the focus may use Colibri2 here');
      const answer = colibri.modify(parseConferenceModify(request));
      session.send(iqResult(stanza, buildConferenceModified(answer)));
    } catch (err) {
      const error = err instanceof StanzaError ? err : new StanzaError('wait', 'internal-server-error');
      if (!(err instanceof StanzaError)) log.error({ err }, 'Colibri2 request failed');
      const reply = errorReply(stanza, error);
      if (reply) session.send(reply);
    }
    publishStats();
  });

  let lastStats = '';
  function publishStats(join = false): void {
    if (closed) return;
    const stats: Record<string, string> = {
      stress_level: Math.min(1, colibri.endpointCount / 500).toFixed(3),
      drain: String(draining),
      graceful_shutdown: 'false',
      healthy: 'true',
      version: options.version,
      conferences: String(colibri.conferenceCount),
      participants: String(colibri.endpointCount),
      ...(options.region ? { region: options.region } : {}),
    };
    const key = JSON.stringify(stats);
    if (!join && key === lastStats) return;
    lastStats = key;
    const presence = new Element('presence', { to: `${options.brewery}/${options.id}` });
    if (join) presence.c('x', { xmlns: NS_MUC }).c('history', { maxstanzas: '0' });
    presence.cnode(buildColibriStats(stats));
    session.send(presence);
  }
  publishStats(true);
  const timer = setInterval(() => publishStats(), options.statsIntervalMs ?? 5000);
  timer.unref();

  return {
    id: options.id,
    jid,
    colibri,
    channel,
    drain(on) {
      draining = on;
      publishStats();
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      colibri.close('bridge stopped');
      channel.close();
      session.send(new Element('presence', { to: `${options.brewery}/${options.id}`, type: 'unavailable' }));
      session.close('bridge stopped');
    },
  };
}
