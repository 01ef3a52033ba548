/**
 * The videobridge role (jitsi-videobridge's job). Over XMPP it behaves like a JVB: it logs in
 * as jvb@<auth domain>/<bridge id>, joins the brewery room jvbbrewery@<internal MUC> with a
 * `<stats>` presence (stress, drain, version, region), and answers Colibri2 conference-modify
 * requests and health checks from the focus. Media endpoints come from a factory (bridge/endpoint.ts on the shared
 * UDP port in production). The XMPP session is a link: in process beside the server
 * (`inProcessLink`), or a c2s connection from another machine that may drop and come back; each
 * time it comes online the bridge (re)joins the brewery, and its conferences live on meanwhile.
 */
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../xmpp/errors.ts';
import { buildColibriStats, buildConferenceModified, parseConferenceModify, NS_COLIBRI2 } from '../xmpp/protocol/colibri2.ts';
import { isHealthCheck } from '../xmpp/protocol/healthcheck.ts';
import { NS_MUC, NS_MUC_USER, parseMucUser } from '../xmpp/protocol/muc-user.ts';
import { errorReply, iqResult } from '../xmpp/stanza.ts';
import { BridgeChannelServer } from './bridge-channel.ts';
import { ColibriService, type ColibriEndpoint, type ColibriExpiry } from './colibri.ts';
import { stressLevel } from './stats.ts';

export { ColibriService } from './colibri.ts';
export { BridgeStats, stressLevel, type BridgeStatsOptions } from './stats.ts';
export { registerBridgeMetrics } from './stats-metrics.ts';

/** What the bridge does with its XMPP session. */
export interface BridgeXmppHandlers {
  /** A stanza addressed to the bridge. */
  stanza(stanza: Element): void;
  /**
   * The session is (again) usable: called once it is first established and after every
   * reconnection, never from inside `connect` itself.
   */
  online(): void;
}

export interface BridgeXmppSession {
  /** Sends as the bridge; dropped while the link is down (the bridge re-announces itself on `online`). */
  send(stanza: Element): void;
  close(reason?: string): void;
}

/** What the bridge needs of an XMPP server: one session as `jid`, in process or over the network. */
export interface BridgeXmppLink {
  connect(jid: string, handlers: BridgeXmppHandlers): BridgeXmppSession;
}

/** The link for a bridge in the XMPP server's own process: an in-process session, online at once. */
export function inProcessLink(server: { connectLocal(jid: string, onStanza: (stanza: Element) => void): BridgeXmppSession }): BridgeXmppLink {
  return {
    connect(jid, handlers) {
      const session = server.connectLocal(jid, (stanza) => handlers.stanza(stanza));
      queueMicrotask(() => handlers.online());
      return session;
    },
  };
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
  /** How often the brewery presence (stats) is sent, changed or not. Default 5000 ms. */
  statsIntervalMs?: number;
  /** Monotonic milliseconds for speech activity and keyframe pacing. Default performance.now(). */
  now?(): number;
  /** When failed or silent endpoints and empty conferences are expired (./colibri.ts DEFAULT_COLIBRI_EXPIRY). */
  expiry?: Partial<ColibriExpiry>;
  /** Forward only the audio of this many loudest speakers per conference; 0 or absent: all. */
  loudestAudio?: number;
  /** The stress level with this many endpoints (BridgeStats.stress); default stressLevel: endpoints only. */
  stress?(endpoints: number): number;
}

export interface Bridge {
  readonly id: string;
  readonly jid: string;
  readonly colibri: ColibriService;
  /** The colibri-ws endpoint the HTTP front hands upgrades to. */
  readonly channel: BridgeChannelServer;
  /** Whether the bridge refuses new conferences (see `drain`). */
  readonly draining: boolean;
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
    wantsStatsFrom: (m, receiver, sender) => colibri.wantsStatsFrom(m, receiver, sender),
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
    ...(options.expiry ? { expiry: options.expiry } : {}),
    ...(options.loudestAudio ? { loudestAudio: options.loudestAudio } : {}),
  });

  /**
   * The real JIDs of the brewery's occupants, from their presence: Jicofo addresses a bridge at its
   * occupant JID, and the MUC hands its requests on from Jicofo's own occupant JID.
   */
  const breweryOccupants = new Map<string, string>();
  let refusalLogged = false;
  const focusPrefix = `focus@${options.user.split('@')[1]}/`;
  /** Only the focus (an account of the same auth domain) may drive the bridge or ask how it is: directly, or through the brewery. */
  const isFocus = (from: string): boolean => from.startsWith(focusPrefix) || (from.startsWith(`${options.brewery}/`) && (breweryOccupants.get(from)?.startsWith(focusPrefix) ?? false));

  const session = xmpp.connect(jid, { stanza: onStanza, online: () => publishStats(true) });

  function onStanza(stanza: Element): void {
    if (stanza.name === 'presence' && String(stanza.attrs.from ?? '').startsWith(`${options.brewery}/`)) {
      onBreweryPresence(stanza);
      return;
    }
    if (stanza.name !== 'iq' || (stanza.attrs.type !== 'get' && stanza.attrs.type !== 'set')) return;
    const request = stanza.getChild('conference-modify', NS_COLIBRI2);
    try {
      const fromFocus = isFocus(String(stanza.attrs.from ?? ''));
      if (stanza.attrs.type === 'get' && isHealthCheck(stanza.getChild('healthcheck'))) {
        if (!fromFocus) throw new StanzaError('auth', 'forbidden', 'only the focus may check the bridge');
        // Answering at all is most of the check: a bridge whose event loop is stuck, or whose
        // process is gone behind a live connection, does not (the focus's JvbDoctor times out).
        if (closed) throw new StanzaError('cancel', 'service-unavailable', 'the bridge is stopping');
        session.send(iqResult(stanza));
        return;
      }
      if (!request || stanza.attrs.type !== 'set') throw new StanzaError('cancel', 'service-unavailable');
      if (!fromFocus) throw new StanzaError('auth', 'forbidden', 'only the focus may use Colibri2 here');
      const answer = colibri.modify(parseConferenceModify(request));
      session.send(iqResult(stanza, buildConferenceModified(answer)));
    } catch (err) {
      const error = err instanceof StanzaError ? err : new StanzaError('wait', 'internal-server-error');
      if (!(err instanceof StanzaError)) log.error({ err }, 'Colibri2 request failed');
      const reply = errorReply(stanza, error);
      if (reply) session.send(reply);
    }
    publishStats();
  }

  function onBreweryPresence(presence: Element): void {
    const occupant = String(presence.attrs.from);
    const own = occupant === `${options.brewery}/${options.id}`;
    if (presence.attrs.type === 'error') {
      // Most often another bridge holds this nickname (409 conflict): bridge ids must be unique.
      // Said once until the bridge is in (its presence, sent every interval, asks again each time).
      if (own && !refusalLogged) log.error({ brewery: options.brewery, id: options.id, error: presence.getChild('error')?.toString() }, 'the brewery refused the bridge');
      refusalLogged ||= own;
      return;
    }
    if (own) refusalLogged = false;
    if (presence.attrs.type === 'unavailable') {
      breweryOccupants.delete(occupant);
      // The bridge's own leaving (a kick, the room gone): who was there is known again from the presences of the next join.
      if (own) breweryOccupants.clear();
      return;
    }
    const x = presence.getChild('x', NS_MUC_USER);
    const realJid = x ? parseMucUser(x).items[0]?.jid : undefined;
    if (realJid) breweryOccupants.set(occupant, realJid);
    else breweryOccupants.delete(occupant); // a room that hides real JIDs: requests through it are refused
  }

  let lastStats = '';
  /**
   * The brewery presence with the bridge's stats: at its join, when they change, and every
   * statsIntervalMs whether or not they did, as jitsi-videobridge sends it — a Jicofo that judges
   * bridges by their presence (health-checks.use-presence) fails one it has not heard from for
   * its presence-timeout (45 s by default).
   */
  function publishStats(join = false, refresh = false): void {
    if (closed) return;
    const stats: Record<string, string> = {
      stress_level: (options.stress ?? stressLevel)(colibri.endpointCount).toFixed(3),
      drain: String(draining),
      graceful_shutdown: 'false',
      healthy: 'true',
      version: options.version,
      conferences: String(colibri.conferenceCount),
      participants: String(colibri.endpointCount),
      ...(options.region ? { region: options.region } : {}),
    };
    const key = JSON.stringify(stats);
    if (!join && !refresh && key === lastStats) return;
    lastStats = key;
    const presence = new Element('presence', { to: `${options.brewery}/${options.id}` });
    if (join) presence.c('x', { xmlns: NS_MUC }).c('history', { maxstanzas: '0' });
    presence.cnode(buildColibriStats(stats));
    session.send(presence);
  }
  const timer = setInterval(() => publishStats(false, true), options.statsIntervalMs ?? 5000);
  timer.unref();

  return {
    id: options.id,
    jid,
    colibri,
    channel,
    get draining() {
      return draining;
    },
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
