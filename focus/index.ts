/**
 * The conference focus (Jicofo's job): answers clients' conference requests at
 * `focus.<domain>`, creates each conference room by joining it as the occupant `focus`, and owns
 * the conferences it started. It speaks XMPP only: an in-process session as
 * focus@<auth domain>/focus and a domain service for focus.<domain>. From the same session it sits in
 * the brewery room to learn the bridges (§6.1) and drives them with Colibri2 (§6.2).
 */
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../xmpp/errors.ts';
import { tryParseJid } from '../xmpp/jid.ts';
import { buildConferenceAnswer, parseConferenceRequest, NS_FOCUS } from '../xmpp/protocol/conference-iq.ts';
import { parseAvModerationMessage } from '../xmpp/protocol/av-moderation.ts';
import { NS_MUC } from '../xmpp/protocol/muc-user.ts';
import { NS_DOCUMENT } from '../xmpp/protocol/salon-document.ts';
import { errorReply, iqPayload, iqResult } from '../xmpp/stanza.ts';
import type { DomainService } from '../xmpp/router.ts';
import { BridgeHealthChecks, type BridgeHealthOptions } from './bridge-health.ts';
import { BridgeSelector } from './bridge-selector.ts';
import { Conference } from './conference.ts';
import { IqCaller } from './iq-caller.ts';
import { AuthenticationSessions } from './auth-sessions.ts';
import { answerDocumentRequest, type SharedDocuments } from './pad.ts';
import { ConferenceRequestLimiter, type ConferenceRequestLimits } from './request-limits.ts';
import type { CodecTable } from './offer.ts';
import type { RestartRequestLimits } from './restart-requests.ts';

export { AuthenticationSessions, sessionInvalidError, type AuthenticationSession } from './auth-sessions.ts';
export { createOwnerRule, createRoomPolicy, WAIT_FOR_HOST_TEXT, type Identity, type RoomRequest } from './room-policy.ts';
export { codecTable, type CodecOptions, type CodecTable } from './offer.ts';

/** What the focus needs of an XMPP server (in process, or later a remote connection). */
export interface FocusXmppLink {
  connectLocal(jid: string, onStanza: (stanza: Element) => void): { send(stanza: Element): void; close(reason?: string): void };
  addService(service: DomainService): () => void;
  /** Routes a stanza sent by the focus component itself (from focus.<domain>). */
  route(stanza: Element): void;
}

export interface FocusOptions {
  /** The component address clients send conference requests to (`focus.<domain>`). */
  domain: string;
  /** The focus's own account, `focus@<auth domain>`. */
  user: string;
  mucDomain: string;
  version: string;
  idleTimeoutMs?: number;
  /**
   * The brewery room, `jvbbrewery@<internal MUC domain>`. Without it the focus knows no bridge and
   * conferences get no media (the focus presence says `<bridgeNotAvailable/>`).
   */
  brewery?: string;
  /** The focus session's resource. Default `focus`. */
  resource?: string;
  /** Timeout of the focus's own requests (Colibri2, Jingle). Default 15000 ms. */
  requestTimeoutMs?: number;
  /** Timeout of the disco#info asked of each participant. Default 3000 ms. */
  discoTimeoutMs?: number;
  /**
   * Room policy hook: may refuse a conference request (throw a StanzaError). Open by default;
   * authentication adds agents and guests (./room-policy.ts). `exists`: the room's conference is
   * running (started and not ended).
   */
  policy?: (request: { room: string; requester: string; exists: boolean; agentPresent?: boolean }) => void;
  /**
   * Authentication is on (ENABLE_AUTH): answers say so (`authentication`, `externalAuth`) and,
   * for password accounts, the focus keeps jitsi-meet's authentication sessions
   * (./auth-sessions.ts) so a guest connection that presents one is taken for the account.
   */
  authentication?: {
    /** Tokens (JWT, OpenID Connect) rather than accounts: jitsi-meet then offers its token login. */
    external: boolean;
    /** The account a session logged in to with a password (its bare JID), or undefined. */
    accountOf(fullJid: string): string | undefined;
    /** Shared with the room policy, which takes the JIDs they vouch for as the account. */
    sessions: AuthenticationSessions;
  };
  /**
   * Who is made owner, by real JID (./room-policy.ts `createOwnerRule`). Default: Jicofo's
   * auto-owner rule, the oldest participant.
   */
  isModerator?: (realJid: string, roomJid: string) => boolean;
  /** With `isModerator`: every agent is made owner (default), or only the first, then the oldest agent left. */
  moderators?: 'all-agents' | 'first-agent';
  /**
   * With authentication: who is an agent in a room, by real JID. A conference whose agents all left
   * admits no new guest, and ends after `agentlessTimeoutMs` (./conference.ts AGENTLESS_TIMEOUT_MS).
   */
  isAgent?: (realJid: string, roomJid: string) => boolean;
  agentlessTimeoutMs?: number;
  /** The shared documents service (one document per conference); none without it. */
  documents?: SharedDocuments;
  /** Conference requests per session and new rooms per user (./request-limits.ts); none: unlimited. */
  requestLimits?: ConferenceRequestLimits;
  /** Session restarts per participant (./restart-requests.ts); default 5 s apart, 5 a minute, as Jicofo. */
  restartRequestLimits?: RestartRequestLimits;
  /**
   * The A/V moderation component (`avmoderation.<domain>`): its `json-message`s to the focus say
   * what each room moderates, enforced at the bridge (./av-moderation.ts). None: not enforced.
   */
  avModerationDomain?: string;
  /** The codecs offered to clients and given to the bridge (./offer.ts codecTable). Default: opus and VP8. */
  codecs?: CodecTable;
  /** The periodic health checks of the brewery's bridges (./bridge-health.ts); false: none. Default every 10 s. */
  bridgeHealth?: Partial<BridgeHealthOptions> | false;
}

export interface Focus {
  readonly conferences: ReadonlyMap<string, Conference>;
  readonly bridges: BridgeSelector;
  close(): void;
}

export function startFocus(xmpp: FocusXmppLink, log: Logger, options: FocusOptions): Focus {
  const conferences = new Map<string, Conference>();
  const focusJid = `${options.user}/${options.resource ?? 'focus'}`;
  const selector = new BridgeSelector();
  const limiter = options.requestLimits ? new ConferenceRequestLimiter(options.requestLimits) : undefined;
  let closed = false;

  const session = xmpp.connectLocal(focusJid, (stanza) => {
    const type = stanza.attrs.type as string | undefined;
    if (stanza.name === 'iq' && (type === 'result' || type === 'error')) {
      iqCaller.handleReply(stanza);
      return;
    }
    const from = tryParseJid(stanza.attrs.from as string | undefined);
    if (!from) return;
    if (options.brewery && from.bare === options.brewery) {
      if (stanza.name !== 'presence') return;
      if (selector.onBreweryPresence(stanza)) bridgesChanged();
      return;
    }
    if (stanza.name === 'message' && options.avModerationDomain !== undefined && from.full === options.avModerationDomain) {
      return onAvModerationMessage(stanza);
    }
    const conference = conferences.get(from.bare);
    if (stanza.name === 'presence') return conference?.onPresence(stanza);
    if (stanza.name === 'iq' && (type === 'get' || type === 'set')) handleOccupantIq(stanza, conference);
  });
  const iqCaller = new IqCaller((stanza) => session.send(stanza), options.requestTimeoutMs);
  const health = new BridgeHealthChecks({
    bridges: () => selector.present(),
    request: (to, payload, timeoutMs) => iqCaller.request(to, 'get', payload, timeoutMs),
    failed: (jid) => {
      // As after a Colibri2 request that timed out: not operational, so its conferences move.
      selector.markFailed(jid);
      bridgesChanged();
    },
    log,
  }, options.bridgeHealth || {});
  if (options.brewery && options.bridgeHealth !== false) health.start();
  if (options.brewery) {
    session.send(new Element('presence', { to: `${options.brewery}/focus` }).c('x', { xmlns: NS_MUC }).up());
  }

  /** What the focus knows of the bridges changed: every conference rechecks its own (and invites those waiting for one). */
  function bridgesChanged(): void {
    for (const c of conferences.values()) c.bridgesChanged();
  }

  /** As Jicofo's AvModerationHandler: the notice names its room, whose conference applies it. */
  function onAvModerationMessage(message: Element): void {
    try {
      const notice = parseAvModerationMessage(message);
      if (notice) conferences.get(notice.room)?.onAvModeration(notice);
    } catch (err) {
      if (err instanceof StanzaError) log.warn({ condition: err.condition, text: err.text }, 'unreadable av_moderation message');
      else log.error({ err }, 'applying an av_moderation message failed');
    }
  }

  /** The one error boundary for IQs from room occupants (Jingle, mute). */
  function handleOccupantIq(iq: Element, conference: Conference | undefined): void {
    let answer: Element | undefined;
    try {
      if (!conference) throw new StanzaError('cancel', 'service-unavailable');
      answer = iqResult(iq, conference.handleIq(iq, iqCaller));
    } catch (err) {
      const error = err instanceof StanzaError ? err : new StanzaError('wait', 'internal-server-error');
      if (err instanceof StanzaError) log.debug({ from: iq.attrs.from, condition: error.condition, text: error.text }, 'refused a request');
      else log.error({ err, from: iq.attrs.from }, 'handling a request failed');
      answer = errorReply(iq, error);
    }
    if (answer) session.send(answer);
  }

  const reply = (stanza: Element): void => xmpp.route(stanza);

  const service: DomainService = {
    domain: options.domain,
    receive(stanza) {
      if (stanza.name !== 'iq' || (stanza.attrs.type !== 'get' && stanza.attrs.type !== 'set')) return;
      handleIq(stanza).catch((err: unknown) => {
        const error = err instanceof StanzaError ? err : new StanzaError('wait', 'internal-server-error');
        if (!(err instanceof StanzaError)) log.error({ err }, 'conference request failed');
        const answer = errorReply(stanza, error);
        if (answer) reply(answer);
      });
    },
  };
  const removeService = xmpp.addService(service);

  async function handleIq(iq: Element): Promise<void> {
    const payload = iqPayload(iq);
    if (payload.name === 'document' && payload.attrs.xmlns === NS_DOCUMENT) {
      reply(iqResult(iq, answerDocumentRequest(iq, payload, conferences)));
      return;
    }
    if (payload.attrs.xmlns === NS_FOCUS && payload.name === 'logout' && iq.attrs.type === 'set') return logout(iq, payload);
    if (payload.attrs.xmlns !== NS_FOCUS || payload.name !== 'conference' || iq.attrs.type !== 'set') {
      throw new StanzaError('cancel', 'service-unavailable');
    }
    const request = parseConferenceRequest(payload);
    const room = tryParseJid(request.room);
    if (!room || !room.local || room.resource || room.domain !== options.mucDomain) {
      throw StanzaError.badRequest(`room must be a room of ${options.mucDomain}`);
    }
    if (closed) throw new StanzaError('wait', 'service-unavailable', 'the focus is shutting down');
    const requester = iq.attrs.from as string;
    limiter?.request(requester);
    const auth = options.authentication;
    // Before the policy: a request with a valid session id is the account's (auth-sessions.ts).
    const authSession = auth?.sessions.authenticate(requester, auth.accountOf(requester), request.sessionId, request.machineUid);
    let conference = conferences.get(room.bare);
    options.policy?.({ room: room.bare, requester, exists: conference !== undefined, agentPresent: conference?.hasAgent() ?? false });
    if (!conference) {
      limiter?.creation(requester);
      conference = new Conference(session, log.child({ room: room.bare }), {
        roomJid: room.bare,
        media: {
          iq: iqCaller, selector, focusJid,
          ...(options.discoTimeoutMs ? { discoTimeoutMs: options.discoTimeoutMs } : {}),
          ...(options.codecs ? { codecs: options.codecs } : {}),
          ...(options.restartRequestLimits ? { restartRequestLimits: options.restartRequestLimits } : {}),
        },
        focusVersion: options.version,
        idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
        ...(options.documents ? { documents: options.documents } : {}),
        ...(options.isModerator ? { isModerator: options.isModerator } : {}),
        ...(options.isAgent ? { isAgent: options.isAgent } : {}),
        ...(options.agentlessTimeoutMs !== undefined ? { agentlessTimeoutMs: options.agentlessTimeoutMs } : {}),
        ...(options.moderators ? { moderators: options.moderators } : {}),
        onEnded: (c) => {
          if (conferences.get(c.roomJid) === c) conferences.delete(c.roomJid);
        },
      });
      conferences.set(room.bare, conference);
    }
    await conference.whenReady();
    reply(iqResult(iq, buildConferenceAnswer({
      room: room.bare,
      ready: true,
      focusJid: options.user,
      ...(authSession ? { sessionId: authSession.id, identity: authSession.identity } : {}),
      properties: auth ? { authentication: 'true', externalAuth: String(auth.external) } : { authentication: 'false' },
    })));
  }

  /** `<logout session-id=…/>` (lib-jitsi-meet Moderator.logout): ends the requester's authentication session. */
  function logout(iq: Element, payload: Element): void {
    const sessionId = payload.attrs['session-id'] as string | undefined;
    if (!options.authentication || !sessionId) throw StanzaError.badRequest('no session to log out of');
    options.authentication.sessions.logout(iq.attrs.from as string, sessionId);
    reply(iqResult(iq, new Element('logout', { xmlns: NS_FOCUS })));
  }

  return {
    conferences,
    bridges: selector,
    close() {
      if (closed) return;
      closed = true;
      for (const c of [...conferences.values()]) c.end('focus stopped');
      options.authentication?.sessions.clear();
      removeService();
      if (options.brewery) session.send(new Element('presence', { to: `${options.brewery}/focus`, type: 'unavailable' }));
      health.close();
      iqCaller.close();
      session.close('focus stopped');
    },
  };
}
