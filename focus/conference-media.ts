/**
 * The media side of one conference (Jicofo's JitsiMeetConference invite path and JingleRequestHandler):
 * once enough participants are present, each gets a bridge endpoint (one Colibri2 conference per
 * conference) and a Jingle session-initiate; their answers, candidates and source changes go to the
 * bridge and, as source-add/source-remove, to the other participants (protocol notes §3.1, §5, §6.2–6.3).
 * When the bridge goes (gone from the brewery, a request timed out or failed as a broken bridge
 * fails) every participant is moved as Jicofo moves them (JitsiMeetConferenceImpl.reInviteParticipants
 * with the RestartJingle method): session-terminate, then a new session-initiate on another bridge,
 * or as soon as one appears (§5.6).
 */
import { randomUUID } from 'node:crypto';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../xmpp/errors.ts';
import { Colibri2Capability } from '../xmpp/protocol/colibri2.ts';
import { NS_DISCO_INFO, parseDiscoInfo } from '../xmpp/protocol/disco.ts';
import { buildIceUdpTransport } from '../xmpp/protocol/jingle-ice.ts';
import { buildJingle, type Jingle } from '../xmpp/protocol/jingle.ts';
import type { BridgeSelector } from './bridge-selector.ts';
import { ColibriSession, colibriFailure } from './colibri-session.ts';
import type { IqCaller } from './iq-caller.ts';
import { JingleSession } from './jingle-session.ts';
import {
  buildColibri2Media, buildSessionInitiate, FALLBACK_CLIENT_FEATURES, readBridgeSources, readBridgeTransport,
  readClientFeatures, readSessionAccept, readSourceChanges, readTransportInfo, type ClientFeatures, type CodecTable,
} from './offer.ts';
import type { Participant } from './participant.ts';
import { RestartRequestLimit, type RestartRequestLimits } from './restart-requests.ts';
import { NOT_FORCE_MUTED, type ForceMute } from './av-moderation.ts';
import { ConferenceSources, EMPTY_SOURCES, toColibri2Sources, type OwnedSources } from './sources.ts';

export const NS_JINGLE_ERRORS = 'urn:xmpp:jingle:errors:1';

/** What the media side needs from the focus. */
export interface MediaOptions {
  iq: IqCaller;
  selector: BridgeSelector;
  /** The focus's real JID, written as the Jingle initiator (`focus@auth…/focus`). */
  focusJid: string;
  /** Jicofo `min-participants`. Default 2. */
  minParticipants?: number;
  /** How long to wait for a client's disco#info before assuming {@link FALLBACK_CLIENT_FEATURES}. Default 3000. */
  discoTimeoutMs?: number;
  /** The codecs offered to clients and given to the bridge (./offer.ts codecTable). Default DEFAULT_CODECS. */
  codecs?: CodecTable;
  /** How often one participant may restart its session (./restart-requests.ts). Default Jicofo's: 5 s apart, 5 a minute. */
  restartRequestLimits?: RestartRequestLimits;
  /** The wait before inviting again after a failed invitation, doubled at each failure in a row up to `maxMs`. Default {@link INVITATION_RETRY}. */
  invitationRetry?: { firstMs: number; maxMs: number };
}

/**
 * After an invitation failed (the client refused or did not acknowledge its session-initiate, the
 * bridge refused its allocation) the participant is invited again after `firstMs`, then twice as
 * long after each further failure in a row, at most `maxMs`; an invitation both acknowledged and
 * accepted starts the count afresh. Jicofo forgets such a participant until it rejoins (onInviteFailed); Salon's focus tries
 * again, but on its own schedule: another occupant's presence no longer invites it at once, so a
 * client that refuses every offer cannot make the focus allocate on the bridge and offer again at
 * the rate of the room's presences, and one that failed once is not left without media until
 * someone's presence changes.
 */
export const INVITATION_RETRY = { firstMs: 1_000, maxMs: 60_000 } as const;

/**
 * While no bridge is usable the invitations are retried this often, besides on every brewery
 * change: a bridge marked failed becomes usable again with time alone (BridgeSelector.markFailed).
 */
const BRIDGE_RETRY_MS = 5_000;

/** The `<text/>` of Jicofo's session-terminate when it moves a participant (Participant.terminateJingleSession). */
export const MOVING_TEXT = 'moving';

export class ConferenceMedia {
  private colibri: ColibriSession | undefined;
  private bridgeRegion: string | undefined;
  /** Names the Colibri2 session in the offers' `<bridge-session/>` (Jicofo's Colibri2Session id): new on each bridge. */
  private bridgeSessionId = randomUUID();
  private bridgeSources: OwnedSources | undefined;
  private readonly sources = new ConferenceSources();
  private bridgeMissing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The room's `muc#roominfo_meetingId`, used as the Colibri2 meeting id (as Jicofo does). */
  private meetingId: string | undefined;
  /** Force-mute wanted per endpoint (A/V moderation, ./av-moderation.ts); absent: none. */
  private readonly forceMuted = new Map<string, ForceMute>();

  constructor(
    private readonly roomJid: string,
    private readonly participants: ReadonlyMap<string, Participant>,
    private readonly options: MediaOptions,
    private readonly log: Logger,
    /** Called when the focus presence must add (true) or drop (false) `<bridgeNotAvailable/>`. */
    private readonly onBridgeMissing: (missing: boolean) => void,
  ) {}

  /** While the room's meeting id is being read; invitations wait for it. */
  private meetingIdLookup: Promise<unknown> | undefined;

  /**
   * The room's meeting id, being read: the bridge conference is named after it (as Jicofo does),
   * so invitations wait until `lookup` settles (a missing id gives a random one).
   */
  readMeetingId(lookup: Promise<string | undefined>): void {
    const settled = lookup.then((id) => {
      if (id) this.meetingId ??= id;
    }, () => undefined).finally(() => {
      if (this.meetingIdLookup !== settled) return;
      this.meetingIdLookup = undefined;
      this.update();
    });
    this.meetingIdLookup = settled;
  }

  /**
   * Moves the conference off its bridge if that left the brewery or failed (Jicofo's
   * BridgeSelector bridgeRemoved → JitsiMeetConferenceImpl.removeBridge), then invites everyone
   * without a session who did not end its own, once enough participants are present (§3.1).
   */
  update(): void {
    if (this.closed) return;
    const colibri = this.colibri;
    if (colibri && !this.options.selector.isOperational(colibri.bridgeJid)) this.moveOff(colibri, 'the bridge left the brewery or failed');
    if (this.meetingIdLookup || this.participants.size < (this.options.minParticipants ?? 2)) return;
    for (const p of this.participants.values()) if (!p.session && !p.sessionTerminated) this.invite(p);
  }

  private invite(p: Participant): void {
    if (!this.colibri) {
      const bridge = this.options.selector.select(p.region);
      if (!bridge) {
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = undefined;
          this.update();
        }, BRIDGE_RETRY_MS).unref();
        return this.setBridgeMissing(true);
      }
      this.colibri = new ColibriSession(this.options.iq, bridge.jid, this.meetingId ?? randomUUID(), this.roomJid);
      this.bridgeRegion = bridge.region;
      this.bridgeSessionId = randomUUID();
      this.log.info({ bridge: bridge.jid, meetingId: this.colibri.meetingId }, 'bridge selected');
    }
    this.setBridgeMissing(false);
    const colibri = this.colibri;
    this.options.selector.noteEndpoint(colibri.bridgeJid);
    const session = new JingleSession(randomUUID().replace(/-/g, '').slice(0, 16), p.occupantJid, this.options.iq, this.log.child({ endpoint: p.nick }));
    p.session = session;
    this.initiate(p, session, colibri).catch((err: unknown) => {
      if (session.ended) return;
      const failures = (p.invitationFailures ?? 0) + 1;
      const { firstMs, maxMs } = this.options.invitationRetry ?? INVITATION_RETRY;
      const waitMs = Math.min(firstMs * 2 ** (failures - 1), maxMs);
      this.log.warn({ err, endpoint: p.nick, failures, waitMs }, 'inviting the participant failed');
      if (!this.dropSession(p, session, colibri)) return;
      p.invitationFailures = failures;
      this.deferInvitation(p, waitMs);
    });
  }

  /**
   * An invitation that cannot go on ends as a session does (Jicofo's onInviteFailed): its endpoint is
   * expired, and the sources it may have accepted with are taken back from the others.
   */
  private dropSession(p: Participant, session: JingleSession, colibri: ColibriSession): boolean {
    session.close();
    if (p.session !== session) return false;
    this.endSession(p, colibri);
    return true;
  }

  private async initiate(p: Participant, session: JingleSession, colibri: ColibriSession): Promise<void> {
    const features = await this.features(p);
    if (session.ended) return;
    const forceMute = this.forceMuted.get(p.nick);
    let allocated: Awaited<ReturnType<ColibriSession['allocate']>>;
    try {
      allocated = await colibri.allocate(p.nick, {
        ...(p.statsId ? { statsId: p.statsId } : {}),
        // Jicofo's ParticipantInviteRunnable: a participant joining under A/V moderation is muted at the bridge from the start.
        ...(forceMute ? { forceMute } : {}),
        media: buildColibri2Media(features, this.options.codecs),
        // As Jicofo did while it served clients of both kinds: a client that names its sources (and
        // says so in disco#info) gets the bridge's source-scoped messages; one that does not, also
        // their legacy forms (LastNEndpointsChangeEvent, SenderVideoConstraints).
        capabilities: features.sourceNames ? [Colibri2Capability.sourceNames] : [],
        sctp: features.sctp,
      });
    } catch (err) {
      if (session.ended) return;
      if (this.onColibriFailure(colibri, err, p)) return;
      throw err;
    }
    if (session.ended) return;
    if (allocated.feedbackSources) {
      this.bridgeSources = readBridgeSources(allocated.feedbackSources);
      this.sources.reserve(this.bridgeSources.sources.map((source) => source.ssrc));
    }
    const others = this.sources.others(p.nick);
    const offer = buildSessionInitiate({
      sid: session.sid,
      initiator: this.options.focusJid,
      transport: readBridgeTransport(allocated.endpoint),
      features,
      ...(this.bridgeSources ? { bridgeSources: this.bridgeSources } : {}),
      sources: others,
      ...(this.options.codecs ? { codecs: this.options.codecs } : {}),
      bridgeSession: { id: this.bridgeSessionId, ...(this.bridgeRegion ? { region: this.bridgeRegion } : {}) },
    });
    await session.initiate(offer, features, others);
    this.log.debug({ endpoint: p.nick, sid: session.sid }, 'session-initiate acknowledged');
    if (session.state === 'active' && p.session === session) p.invitationFailures = undefined;
  }

  /** The client's features from its disco#info (§4.4), asked once; Jicofo's defaults when it does not answer. */
  private features(p: Participant): Promise<ClientFeatures> {
    p.features ??= this.options.iq
      .request(p.occupantJid, 'get', new Element('query', { xmlns: NS_DISCO_INFO }), this.options.discoTimeoutMs ?? 3000)
      .then((answer) => (answer ? readClientFeatures(parseDiscoInfo(answer).features) : FALLBACK_CLIENT_FEATURES))
      .catch((err: unknown) => {
        this.log.debug({ err, endpoint: p.nick }, 'no disco#info from the client; assuming audio, video and SCTP');
        return FALLBACK_CLIENT_FEATURES;
      });
    return p.features;
  }

  private setBridgeMissing(missing: boolean): void {
    if (missing === this.bridgeMissing) return;
    this.bridgeMissing = missing;
    if (missing) this.log.warn('no bridge available');
    this.onBridgeMissing(missing);
  }

  /**
   * A Jingle request from participant `p`; returns when it may be acknowledged with a result.
   * @throws StanzaError for the participant alone (unknown session, malformed request, refused sources).
   */
  handleJingle(p: Participant, jingle: Jingle): void {
    const session = p.session;
    if (!session || session.sid !== jingle.sid || session.ended || session.state === 'initiating') {
      throw new StanzaError('cancel', 'item-not-found', `unknown session '${jingle.sid}'`, new Element('unknown-session', { xmlns: NS_JINGLE_ERRORS }));
    }
    switch (jingle.action) {
      case 'session-accept': return this.onAccept(p, session, jingle);
      case 'transport-info': {
        const transport = readTransportInfo(jingle);
        session.noteEarlyTransport(transport);
        return this.updateBridge(p, { iceUdp: buildIceUdpTransport(transport) });
      }
      case 'source-add': case 'addsource': case 'source-remove': case 'removesource': {
        const change = readSourceChanges(jingle);
        if (change.action === 'add') this.sources.add(p.nick, change.sources);
        else this.sources.remove(p.nick, change.sources);
        this.updateBridge(p, { sources: toColibri2Sources(p.nick, this.sources.get(p.nick)) });
        return this.propagate(p.nick);
      }
      case 'session-terminate': {
        this.checkBridgeSession(p, jingle);
        const restartRequested = jingle.bridgeSession?.restart === true;
        const limit = restartRequested ? (p.restartRequests ??= new RestartRequestLimit(this.options.restartRequestLimits)) : undefined;
        const restart = limit?.accept() === true;
        this.log.info({ endpoint: p.nick, restartRequested, restart, reason: jingle.reason }, 'the participant ended its session');
        this.endSession(p);
        if (!restart) {
          // Without restart the focus only expires the endpoint (§5.6; Jicofo's terminateSession).
          p.sessionTerminated = true;
          if (!limit) return;
          // As Jicofo's Participant.onSessionTerminate: the session ends, no new one starts now. Unlike
          // Jicofo, which leaves the participant without media until it rejoins the room, the focus
          // invites it again once its limit allows (restarts stay as rare as the limit says).
          this.log.warn({ endpoint: p.nick }, 'session restart refused: rate-limited');
          this.deferRestart(p, limit);
          throw new StanzaError('wait', 'resource-constraint', 'rate-limited');
        }
        // Re-invite after the result has gone out (Jicofo's RestartJingle re-invite method, §5.6).
        queueMicrotask(() => this.update());
        return;
      }
      case 'session-info': return this.onSessionInfo(p, jingle);
      default:
        throw new StanzaError('cancel', 'feature-not-implemented', `Jingle action '${jingle.action}' is not supported`);
    }
  }

  /**
   * A session-info (Jicofo's Participant.onSessionInfo). `<ice-state>failed</ice-state>` is a
   * client whose ICE failed asking to be invited again: lib-jitsi-meet sends it in place of a
   * restart request when its config sets `enableIceRestart`, and clients from before restart
   * requests always. As Jicofo's iceFailed with its RestartJingle method, the focus ends the session
   * (`session-terminate`, "moving") and invites the participant afresh, answering with a result.
   * Unlike Jicofo, which re-invites at every such notification, the restart limit of
   * session-terminate's restart requests applies: one beyond it still ends the session, answered
   * with a result, and the invitation follows once the limit allows; with a limit allowing none, the
   * session is left as it is and the answer is resource-constraint, as for a restart request. A
   * notification naming another bridge session (a session already replaced) is ignored with a
   * result, as Jicofo ignores it; one naming none is taken as for the current session, as a
   * session-terminate is. Another ICE state is ignored with a result. An in-place ICE restart
   * (`<bridge-session ice-restart="true"/>`, Jicofo's when enabled) is refused with
   * feature-not-implemented, as Jicofo refuses it when disabled, and the client falls back to a
   * restart. Without an ICE state, a session-info with nothing in it is a ping (XEP-0166 §6.8); one
   * with anything else gets feature-not-implemented and `<unsupported-info/>` (§7.2).
   * @throws StanzaError as said
   */
  private onSessionInfo(p: Participant, jingle: Jingle): void {
    if (jingle.bridgeSession?.iceRestart === true) {
      throw new StanzaError('cancel', 'feature-not-implemented', 'in-place ICE restart is not supported');
    }
    if (jingle.iceState === undefined) {
      const empty = jingle.extensions.length === 0 && jingle.contents.length === 0 && jingle.groups.length === 0
        && !jingle.bridgeSession && !jingle.reason && !jingle.startMuted && !jingle.sources;
      if (empty) return;
      throw new StanzaError('cancel', 'feature-not-implemented', 'unsupported session-info payload', new Element('unsupported-info', { xmlns: NS_JINGLE_ERRORS }));
    }
    if (jingle.iceState.toLowerCase() !== 'failed') {
      this.log.debug({ endpoint: p.nick, iceState: jingle.iceState }, 'ignored an ICE state other than failed');
      return;
    }
    const named = jingle.bridgeSession?.id;
    if (named !== undefined && named !== this.bridgeSessionId) {
      this.log.info({ endpoint: p.nick, bridgeSession: named, current: this.bridgeSessionId }, 'ICE failure notified for a bridge session already replaced: ignored');
      return;
    }
    const limit = (p.restartRequests ??= new RestartRequestLimit(this.options.restartRequestLimits));
    const restart = limit.accept();
    if (!restart && !Number.isFinite(limit.waitMs())) {
      // A limit allowing none (0 a minute): ending the session would leave the participant without
      // one until it rejoins; its session is left as it is, and it is told, as a restart request is.
      this.log.warn({ endpoint: p.nick }, 'the participant\'s ICE failed, and its restarts are not allowed');
      throw new StanzaError('wait', 'resource-constraint', 'rate-limited');
    }
    this.log.info({ endpoint: p.nick, restart }, 'the participant\'s ICE failed: inviting it again');
    if (restart) return this.reinvite(p, 'ICE failed');
    this.terminate(p, 'ICE failed');
    this.endSession(p);
    p.sessionTerminated = true;
    this.log.warn({ endpoint: p.nick }, 'invitation after an ICE failure deferred: rate-limited');
    this.deferRestart(p, limit);
  }

  /**
   * A session-terminate must name, in its `<bridge-session id>`, the bridge session of the
   * participant's current one (Jicofo's JitsiMeetConferenceImpl.terminateSession): one naming
   * another (a session already replaced) is refused with item-not-found and the current session
   * goes on. Unlike Jicofo, which counts a restart request against its limit before this check, a
   * refused one is not counted. Every session is on the current bridge (moveOff ends them all), so
   * its bridge session is {@link bridgeSessionId}. Unlike Jicofo, which refuses a request naming
   * none too, one without an id is taken as for the current session: its sid already names that,
   * and clients that omit the id (lib-jitsi-meet before mid-2020, Salon's web client) keep their
   * restarts and hang-ups.
   * @throws StanzaError item-not-found, as Jicofo answers (InvalidBridgeSessionIdException).
   */
  private checkBridgeSession(p: Participant, jingle: Jingle): void {
    const named = jingle.bridgeSession?.id;
    if (named === undefined || named === this.bridgeSessionId) return;
    this.log.info({ endpoint: p.nick, bridgeSession: named, current: this.bridgeSessionId }, 'session-terminate for a bridge session already replaced: refused');
    throw new StanzaError('cancel', 'item-not-found', `${named} is not a currently active session`);
  }

  private onAccept(p: Participant, session: JingleSession, jingle: Jingle): void {
    if (session.state !== 'pending') throw new StanzaError('cancel', 'unexpected-request', 'the session is already accepted');
    const accept = readSessionAccept(jingle, session.earlyTransports);
    this.sources.add(p.nick, accept.sources);
    session.activate();
    // The invitation succeeded once both its acknowledgement and the accept came (initiate clears it too).
    if (session.acknowledged) p.invitationFailures = undefined;
    this.updateBridge(p, { iceUdp: buildIceUdpTransport(accept.transport), sources: toColibri2Sources(p.nick, this.sources.get(p.nick)) });
    // What changed between the offer and now (others accepted, changed or left).
    const owners = new Set([...session.signalledOwners(), ...this.sources.endpoints()]);
    owners.delete(p.nick);
    for (const owner of owners) session.syncSources(owner, this.sources.get(owner));
    this.propagate(p.nick);
  }

  /** Tells every other active session of `owner`'s current sources. */
  private propagate(owner: string): void {
    const current = this.sources.get(owner);
    for (const other of this.participants.values()) if (other.nick !== owner) other.session?.syncSources(owner, current);
  }

  private updateBridge(p: Participant, change: Parameters<ColibriSession['update']>[1]): void {
    const colibri = this.colibri;
    // The session the update is for: its endpoint's failure says nothing of one that replaced it
    // (a restart or a rejoin while the answer was on its way, from a bridge on another machine).
    const session = p.session;
    colibri?.update(p.nick, change).catch((err: unknown) => {
      if (colibri !== this.colibri) this.log.debug({ err, endpoint: p.nick }, 'an update to the bridge left failed');
      else if (this.participants.get(p.nick) !== p || p.session !== session) this.log.debug({ err, endpoint: p.nick }, 'an update of an endpoint since replaced failed');
      else if (!this.onColibriFailure(colibri, err, p)) this.log.warn({ err, endpoint: p.nick }, 'the bridge refused an endpoint update');
    });
  }

  /**
   * A Colibri2 request to `colibri`'s bridge failed (./colibri-session.ts colibriFailure). Returns
   * true when that moved participants (all of them, or `p` alone whose endpoint the bridge
   * expired); false when the error concerns the request only.
   */
  private onColibriFailure(colibri: ColibriSession, err: unknown, p?: Participant): boolean {
    if (this.closed || colibri !== this.colibri) return false;
    const failure = colibriFailure(err);
    switch (failure.kind) {
      case 'refused': return false;
      case 'endpoint-lost': {
        // Jicofo's Colibri2Session.sendRequest → endpointFailed → re-invite that participant.
        const lost = this.participants.get(failure.endpointId) ?? (p?.nick === failure.endpointId ? p : undefined);
        if (!lost?.session) return false;
        this.log.warn({ endpoint: lost.nick, reason: failure.reason }, 'the bridge no longer knows the endpoint: re-inviting the participant');
        this.reinvite(lost, failure.reason);
        return true;
      }
      case 'bridge-failed':
        this.options.selector.markFailed(colibri.bridgeJid);
        this.moveOff(colibri, failure.reason);
        return true;
      case 'session-lost':
        if (failure.shuttingDown) this.options.selector.markShuttingDown(colibri.bridgeJid);
        this.moveOff(colibri, failure.reason);
        return true;
    }
  }

  /**
   * Moves every participant off `colibri` (Jicofo's reInviteParticipants, RestartJingle): each
   * session is terminated (`<success/>`, "moving"; lib-jitsi-meet closes its PeerConnection and
   * accepts the next session-initiate), the sources are forgotten (every session is new), the old
   * bridge conference is expired if the bridge still hears, and everyone is invited again on the
   * bridge selected next, or when one appears.
   */
  private moveOff(colibri: ColibriSession, reason: string): void {
    if (this.closed || colibri !== this.colibri) return;
    this.colibri = undefined;
    this.bridgeSources = undefined;
    this.sources.reserve([]);
    const moved: string[] = [];
    for (const p of this.participants.values()) {
      if (!p.session) continue;
      this.terminate(p, reason);
      p.session.close();
      p.session = undefined;
      this.sources.removeEndpoint(p.nick);
      moved.push(p.nick);
    }
    this.log.warn({ bridge: colibri.bridgeJid, reason, moved }, 'moving the conference off its bridge');
    colibri.expire().catch((err: unknown) => this.log.debug({ err, bridge: colibri.bridgeJid }, 'expiring the conference on the bridge left failed'));
    queueMicrotask(() => this.update());
  }

  /**
   * Tells `p` its session ends because it moves (Jicofo's JingleSession.terminate: `<reason><success/>
   * <text>moving</text></reason>`); sent only once the client has the session-initiate.
   */
  private terminate(p: Participant, reason: string): void {
    const session = p.session;
    if (!session || session.ended || session.state === 'initiating') return;
    const terminate = buildJingle({
      action: 'session-terminate', sid: session.sid, initiator: this.options.focusJid, contents: [], groups: [], extensions: [],
      reason: { condition: 'success', text: MOVING_TEXT, extensions: [] },
    });
    this.log.info({ endpoint: p.nick, sid: session.sid, reason }, 'session-terminate: moving the participant');
    this.options.iq.request(p.occupantJid, 'set', terminate).catch((err: unknown) => this.log.debug({ err, endpoint: p.nick }, 'the client did not acknowledge session-terminate'));
  }

  /**
   * Ends `p`'s session as the focus's own decision (it is told, "moving") and invites it afresh once
   * the current turn is over (after the answer to the request that led here has gone out).
   */
  private reinvite(p: Participant, reason: string): void {
    this.terminate(p, reason);
    this.endSession(p);
    queueMicrotask(() => this.update());
  }

  /** Ends `p`'s session: its endpoint expired on `colibri`, its sources removed from the others. */
  private endSession(p: Participant, colibri = this.colibri): void {
    p.session?.close();
    p.session = undefined;
    colibri?.expireEndpoint(p.nick).catch((err: unknown) => {
      // unknown_endpoint: the bridge expired it first, nothing is left to do.
      if (colibriFailure(err).kind === 'endpoint-lost') this.log.debug({ err, endpoint: p.nick }, 'the bridge had already expired the endpoint');
      else if (!this.onColibriFailure(colibri, err)) this.log.warn({ err, endpoint: p.nick }, 'expiring the endpoint failed');
    });
    this.sources.removeEndpoint(p.nick);
    for (const other of this.participants.values()) if (other.nick !== p.nick) other.session?.syncSources(p.nick, EMPTY_SOURCES);
  }

  /**
   * Invites `p` again once `limit` allows a restart (counted as one); never when the limit allows
   * none. Cancelled when it rejoins, leaves, or the conference closes.
   */
  private deferRestart(p: Participant, limit: RestartRequestLimit): void {
    const wait = limit.waitMs();
    if (!Number.isFinite(wait)) {
      p.cancelDeferredRestart?.();
      p.cancelDeferredRestart = undefined;
      return;
    }
    this.deferInvitation(p, wait, () => {
      if (!limit.accept()) {
        this.deferRestart(p, limit);
        return false;
      }
      this.log.info({ endpoint: p.nick }, 'inviting again after a restart refused for its rate');
      return true;
    });
  }

  /**
   * Invites `p` (without a session) again in `waitMs`, not before, unless `due` says otherwise
   * then; meanwhile it is left out of {@link update}. Cancelled when it rejoins, leaves, or the
   * conference closes.
   */
  private deferInvitation(p: Participant, waitMs: number, due: () => boolean = () => true): void {
    p.cancelDeferredRestart?.();
    p.sessionTerminated = true;
    const timer = setTimeout(() => {
      p.cancelDeferredRestart = undefined;
      if (this.closed || this.participants.get(p.nick) !== p || p.session || !due()) return;
      p.sessionTerminated = false;
      this.update();
    }, waitMs);
    p.cancelDeferredRestart = () => clearTimeout(timer);
  }

  /** The participant left the room (it is no longer in the participants map). */
  participantLeft(p: Participant): void {
    p.cancelDeferredRestart?.();
    p.cancelDeferredRestart = undefined;
    this.forceMuted.delete(p.nick);
    this.endSession(p);
  }

  /**
   * What the bridge must drop of `p`'s media (Colibri2 `<force-mute>`); told to the bridge when it
   * changes, or with the endpoint's allocation if it has none yet.
   */
  setForceMute(p: Participant, mute: ForceMute): void {
    const previous = this.forceMuted.get(p.nick) ?? NOT_FORCE_MUTED;
    if (previous.audio === mute.audio && previous.video === mute.video) return;
    if (mute.audio || mute.video) this.forceMuted.set(p.nick, mute);
    else this.forceMuted.delete(p.nick);
    if (p.session) this.updateBridge(p, { forceMute: mute });
  }

  /** Ends every session and expires the Colibri2 conference. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const p of this.participants.values()) {
      p.cancelDeferredRestart?.();
      p.cancelDeferredRestart = undefined;
      p.session?.close();
      p.session = undefined;
    }
    const colibri = this.colibri;
    this.colibri = undefined;
    colibri?.expire().catch((err: unknown) => this.log.debug({ err }, 'expiring the Colibri2 conference failed'));
  }
}
