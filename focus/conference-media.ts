/**
 * The media side of one conference (Jicofo's JitsiMeetConference invite path and JingleRequestHandler):
 * once enough participants are present, each gets a bridge endpoint (one Colibri2 conference per
 * conference) and a Jingle session-initiate; their answers, candidates and source changes go to the
 * bridge and, as source-add/source-remove, to the other participants (protocol notes §3.1, §5, §6.2–6.3).
 */
import { randomUUID } from 'node:crypto';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../xmpp/errors.ts';
import { NS_DISCO_INFO, parseDiscoInfo } from '../xmpp/protocol/disco.ts';
import { buildIceUdpTransport } from '../xmpp/protocol/jingle-ice.ts';
import type { Jingle } from '../xmpp/protocol/jingle.ts';
import type { BridgeSelector } from './bridge-selector.ts';
import { ColibriSession } from './colibri-session.ts';
import type { IqCaller } from './iq-caller.ts';
import { JingleSession } from './jingle-session.ts';
import {
  buildColibri2Media, buildSessionInitiate, FALLBACK_CLIENT_FEATURES, readBridgeSources, readBridgeTransport,
  readClientFeatures, readSessionAccept, readSourceChanges, readTransportInfo, type ClientFeatures,
} from './offer.ts';
import type { Participant } from './participant.ts';
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
}

export class ConferenceMedia {
  private colibri: ColibriSession | undefined;
  private bridgeRegion: string | undefined;
  private readonly bridgeSessionId = randomUUID();
  private bridgeSources: OwnedSources | undefined;
  private readonly sources = new ConferenceSources();
  private bridgeMissing = false;
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

  /** Invites everyone without a session, once enough participants are present (§3.1). */
  update(): void {
    if (this.closed || this.meetingIdLookup || this.participants.size < (this.options.minParticipants ?? 2)) return;
    for (const p of this.participants.values()) if (!p.session) this.invite(p);
  }

  private invite(p: Participant): void {
    if (!this.colibri) {
      const bridge = this.options.selector.select(p.region);
      if (!bridge) return this.setBridgeMissing(true);
      this.colibri = new ColibriSession(this.options.iq, bridge.jid, this.meetingId ?? randomUUID(), this.roomJid);
      this.bridgeRegion = bridge.region;
      this.log.info({ bridge: bridge.jid, meetingId: this.colibri.meetingId }, 'bridge selected');
    }
    this.setBridgeMissing(false);
    const colibri = this.colibri;
    const session = new JingleSession(randomUUID().replace(/-/g, '').slice(0, 16), p.occupantJid, this.options.iq, this.log.child({ endpoint: p.nick }));
    p.session = session;
    this.initiate(p, session, colibri).catch((err: unknown) => {
      if (session.ended) return;
      this.log.warn({ err, endpoint: p.nick }, 'inviting the participant failed');
      session.close();
      if (p.session === session) p.session = undefined;
      colibri.expireEndpoint(p.nick).catch((e: unknown) => this.log.warn({ err: e, endpoint: p.nick }, 'expiring a failed endpoint failed'));
    });
  }

  private async initiate(p: Participant, session: JingleSession, colibri: ColibriSession): Promise<void> {
    const features = await this.features(p);
    if (session.ended) return;
    const forceMute = this.forceMuted.get(p.nick);
    const allocated = await colibri.allocate(p.nick, {
      ...(p.statsId ? { statsId: p.statsId } : {}),
      // Jicofo's ParticipantInviteRunnable: a participant joining under A/V moderation is muted at the bridge from the start.
      ...(forceMute ? { forceMute } : {}),
      media: buildColibri2Media(features),
      sctp: features.sctp,
    });
    if (session.ended) return;
    if (allocated.feedbackSources) this.bridgeSources = readBridgeSources(allocated.feedbackSources);
    const others = this.sources.others(p.nick);
    const offer = buildSessionInitiate({
      sid: session.sid,
      initiator: this.options.focusJid,
      transport: readBridgeTransport(allocated.endpoint),
      features,
      ...(this.bridgeSources ? { bridgeSources: this.bridgeSources } : {}),
      sources: others,
      bridgeSession: { id: this.bridgeSessionId, ...(this.bridgeRegion ? { region: this.bridgeRegion } : {}) },
    });
    await session.initiate(offer, features, others);
    this.log.debug({ endpoint: p.nick, sid: session.sid }, 'session-initiate acknowledged');
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
        const restart = jingle.bridgeSession?.restart === true;
        this.log.info({ endpoint: p.nick, restart, reason: jingle.reason }, 'the participant ended its session');
        this.endSession(p);
        // Re-invite after the result has gone out (Jicofo's RestartJingle re-invite method, §5.6).
        if (restart) queueMicrotask(() => this.update());
        return;
      }
      default:
        throw new StanzaError('cancel', 'feature-not-implemented', `Jingle action '${jingle.action}' is not supported`);
    }
  }

  private onAccept(p: Participant, session: JingleSession, jingle: Jingle): void {
    if (session.state !== 'pending') throw new StanzaError('cancel', 'unexpected-request', 'the session is already accepted');
    const accept = readSessionAccept(jingle);
    this.sources.add(p.nick, accept.sources);
    session.activate();
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
    this.colibri?.update(p.nick, change).catch((err: unknown) => this.log.warn({ err, endpoint: p.nick }, 'the bridge refused an endpoint update'));
  }

  /** Ends `p`'s session: bridge endpoint expired, its sources removed from the others. */
  private endSession(p: Participant): void {
    p.session?.close();
    p.session = undefined;
    this.colibri?.expireEndpoint(p.nick).catch((err: unknown) => this.log.warn({ err, endpoint: p.nick }, 'expiring the endpoint failed'));
    this.sources.removeEndpoint(p.nick);
    for (const other of this.participants.values()) if (other.nick !== p.nick) other.session?.syncSources(p.nick, EMPTY_SOURCES);
  }

  /** The participant left the room (it is no longer in the participants map). */
  participantLeft(p: Participant): void {
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
    for (const p of this.participants.values()) {
      p.session?.close();
      p.session = undefined;
    }
    const colibri = this.colibri;
    this.colibri = undefined;
    colibri?.expire().catch((err: unknown) => this.log.debug({ err }, 'expiring the Colibri2 conference failed'));
  }
}
