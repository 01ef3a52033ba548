/**
 * One conference as the focus sees it: the focus's own occupancy of the MUC room (nickname
 * `focus`, owner), the conference requests waiting for it, the participants it has seen, and the
 * conference's end when the last one leaves, the `<bridgeNotAvailable/>` flag in its presence and
 * remote mute. Jingle sessions and bridge allocation are ./conference-media.ts.
 */
import { randomUUID } from 'node:crypto';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../xmpp/errors.ts';
import { FIELD_MEETING_ID } from '../xmpp/muc/config.ts';
import { NS_FOCUS } from '../xmpp/protocol/conference-iq.ts';
import { fieldValue } from '../xmpp/protocol/dataform.ts';
import { NS_DISCO_INFO, parseDiscoInfo } from '../xmpp/protocol/disco.ts';
import { NS_JINGLE, parseJingle } from '../xmpp/protocol/jingle.ts';
import { NS_MUC, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_USER } from '../xmpp/protocol/muc-user.ts';
import { buildEtherpad } from '../xmpp/protocol/salon-document.ts';
import { iqPayload } from '../xmpp/stanza.ts';
import type { AvModerationNotice, ModeratedMedia } from '../xmpp/protocol/av-moderation.ts';
import { AvModeration } from './av-moderation.ts';
import { ConferenceMedia, type MediaOptions } from './conference-media.ts';
import type { IqCaller } from './iq-caller.ts';
import { notAnOccupant, type ConferenceDocument, type DocumentAccess, type SharedDocuments } from './pad.ts';
import { readParticipantPresence, suppressesForceMute, type Participant } from './participant.ts';

/**
 * Statuses of an occupant's unavailable presence saying the room removed it (XEP-0045 §8.2 kick
 * 307, §9.1 ban 301, §9.4/§9.7 affiliation change 321, §10.2 members-only 322), as opposed to leaving.
 */
const REMOVAL_STATUSES = ['301', '307', '321', '322'];

/** Remote mute namespaces (§4.5): `http://jitsi.org/jitmeet/<audio|video|desktop>`. */
const MUTE_NAMESPACES = new Map<string, ModeratedMedia>([
  ['http://jitsi.org/jitmeet/audio', 'audio'], ['http://jitsi.org/jitmeet/video', 'video'], ['http://jitsi.org/jitmeet/desktop', 'desktop'],
]);

export interface ConferenceLink {
  /** Sends a stanza as the focus's own session (from focus@auth/focus). */
  send(stanza: Element): void;
}

export interface ConferenceOptions {
  roomJid: string;
  focusVersion: string;
  /** A conference nobody joins within this time ends. */
  idleTimeoutMs: number;
  onEnded(conference: Conference, reason: string): void;
  /** Bridges and Jingle; without it the conference manages only the room. */
  media?: MediaOptions;
  /** The shared documents service; without it the conference has no document. */
  documents?: SharedDocuments;
  /**
   * With authentication: who is made owner, by real JID (every agent, never a guest). Without it,
   * Jicofo's auto-owner rule: the oldest participant.
   */
  isModerator?: (realJid: string, roomJid: string) => boolean;
  /** With `isModerator`: 'first-agent' makes only one agent owner at a time (see ensureModerator). */
  moderators?: 'all-agents' | 'first-agent';
  /**
   * With authentication: who is an agent, by real JID. A conference whose agents have all left
   * ends `agentlessTimeoutMs` later (default AGENTLESS_TIMEOUT_MS) unless one comes back, its room
   * destroyed and its document with it (security.md §6: nothing kept once the agents are gone);
   * meanwhile the room policy lets no new guest in (RoomRequest.agentPresent).
   */
  isAgent?: (realJid: string, roomJid: string) => boolean;
  agentlessTimeoutMs?: number;
  /** With `isAgent`: how long a new conference counts its creator as present before any agent's presence came (default CREATOR_GRACE_MS). */
  creatorGraceMs?: number;
}

/**
 * How long a conference an agent's request created counts that agent as present before its
 * presence reaches the focus: the client joins the room only once the focus answered, and a guest
 * asking in between must not be told to wait for the host it is about to meet.
 */
export const CREATOR_GRACE_MS = 30_000;

/** How long a conference goes on once its last agent left, for one to come back (a reload, a lost network). */
export const AGENTLESS_TIMEOUT_MS = 5 * 60_000;

type Waiter = { resolve(): void; reject(err: StanzaError): void };

export class Conference {
  private state: 'joining' | 'joined' | 'ended' = 'joining';
  private readonly waiters: Waiter[] = [];
  private readonly participants = new Map<string, Participant>();
  private idleTimer: NodeJS.Timeout | undefined;
  /** Nicks of the participants who are agents (ConferenceOptions.isAgent), judged as they joined. */
  private readonly agents = new Set<string>();
  /** Armed while no agent is in the conference (ConferenceOptions.isAgent). */
  private agentlessTimer: NodeJS.Timeout | undefined;
  /** When it was made, on the monotonic clock (for CREATOR_GRACE_MS). */
  private readonly madeAt = performance.now();
  /** An agent's presence came once: from then on only agents present count (hasAgent). */
  private agentJoined = false;
  private readonly media: ConferenceMedia | undefined;
  private bridgeNotAvailable = false;
  /** A/V moderation as the component announced it; enforced at the bridge. */
  private readonly avModeration = new AvModeration();
  /** This conference's shared document (./pad.ts), made before the focus's first presence names it. */
  private readonly document: ConferenceDocument | undefined;
  readonly createdAt = Date.now();
  readonly roomJid: string;

  constructor(private readonly link: ConferenceLink, private readonly log: Logger, private readonly options: ConferenceOptions) {
    this.roomJid = options.roomJid;
    if (options.media) {
      this.media = new ConferenceMedia(this.roomJid, this.participants, options.media, log, (missing) => {
        this.bridgeNotAvailable = missing;
        if (this.state === 'joined') this.link.send(this.focusPresence(false));
      });
    }
    this.document = options.documents?.create(this.roomJid);
    this.armIdleTimer();
    this.link.send(this.focusPresence(true));
  }

  get participantCount(): number {
    return this.participants.size;
  }

  /** Resolves once the focus is in the room (the conference is ready for clients). */
  whenReady(): Promise<void> {
    if (this.state === 'joined') return Promise.resolve();
    if (this.state === 'ended') return Promise.reject(new StanzaError('wait', 'service-unavailable', 'conference ended'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** A presence from the room (addressed to the focus's session). */
  onPresence(presence: Element): void {
    if (this.state === 'ended') return;
    const from = presence.attrs.from as string;
    const nick = from.slice(this.roomJid.length + 1);
    const x = presence.getChild('x', NS_MUC_USER);
    const statuses = new Set(x?.getChildren('status').map((s) => s.attrs.code as string) ?? []);
    if (presence.attrs.type === 'error') {
      if (this.state === 'joining') {
        const condition = presence.getChild('error')?.children.find((c): c is Element => typeof c !== 'string')?.name ?? 'undefined-condition';
        this.log.warn({ room: this.roomJid, condition }, 'focus could not join the room');
        this.end(`join refused: ${condition}`, new StanzaError('wait', 'service-unavailable', `the focus could not join the room (${condition})`));
      }
      return;
    }
    if (statuses.has('110')) {
      if (presence.attrs.type === 'unavailable') return this.end('focus left the room');
      if (this.state === 'joining') {
        this.state = 'joined';
        this.log.info({ room: this.roomJid }, 'conference started');
        this.readMeetingId();
        for (const w of this.waiters.splice(0)) w.resolve();
      }
      return;
    }
    if (presence.attrs.type === 'unavailable') {
      const participant = this.participants.get(nick);
      if (!participant) return;
      this.participants.delete(nick);
      this.agents.delete(nick);
      this.log.info({ endpoint: nick, statuses: [...statuses] }, 'participant left');
      this.media?.participantLeft(participant);
      this.document?.revoke(participant.occupantJid);
      // XEP-0045 §7.6: a nickname change; the available presence from the new nick follows at once.
      if (statuses.has('303')) return;
      if (this.participants.size === 0) return this.end('last participant left');
      if (REMOVAL_STATUSES.some((code) => statuses.has(code))) this.renewDocumentName(nick);
      this.ensureModerator();
      this.checkAgents();
      return;
    }
    const fields = readParticipantPresence(presence);
    if (!fields) return; // non-anonymous rooms always carry the real JID; anything else is not ours to manage
    const known = this.participants.get(nick);
    if (known) {
      Object.assign(known, fields);
    } else {
      this.participants.set(nick, { nick, occupantJid: from, ...fields });
      // Judged once, as it joins: a nick's real JID does not change (a nick change is a leave and a join).
      if (this.options.isAgent?.(fields.realJid, this.roomJid)) {
        this.agents.add(nick);
        this.agentJoined = true;
      }
      this.checkAgents();
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.ensureModerator();
    // A newcomer under A/V moderation is muted at the bridge from its allocation; a role change may lift it.
    const participant = this.participants.get(nick)!;
    this.media?.setForceMute(participant, this.avModeration.forceMuteOf(participant));
    this.media?.update();
  }

  /**
   * Access to the shared document for the session `requester` (a full JID), which must be a
   * participant: its token is bound to its occupant JID, so leaving ends it.
   */
  grantDocument(requester: string): DocumentAccess {
    if (!this.document || this.state !== 'joined') throw notAnOccupant();
    for (const p of this.participants.values()) if (p.realJid === requester) return this.document.grant(p.occupantJid);
    throw notAnOccupant();
  }

  /**
   * A participant was removed: it saw the document's capability name in the focus's presence, so
   * the name is renewed and the new one republished to the occupants left (the removed one no
   * longer receives room presence). Its token connections already closed with `revoke`.
   *
   * Every connection made through the old name closes, honest jitsi-meet users' too: a capability
   * names no one, so the removed participant's connections cannot be told from theirs. They get
   * the new name from this presence: lib-jitsi-meet runs its `etherpad` handlers on every focus
   * presence (ChatRoom.onPresence), and jitsi-meet's etherpad middleware stores the new URL each
   * time (setDocumentUrl). The mobile app's document screen renders a WebView from that URL, so
   * it reloads on the new name. The web app builds its iframe once, at the first opening, from the
   * URL of that moment and keeps it for the whole conference (modules/UI/etherpad/Etherpad.js,
   * EtherpadManager.openEtherpad), so a web user who had the document open sees it refused until
   * they reload the conference; one who had not opened it yet gets the new name.
   */
  private renewDocumentName(removed: string): void {
    if (!this.document?.name) return;
    this.document.renewName();
    this.log.info({ room: this.roomJid, removed }, 'participant removed: shared document name renewed');
    if (this.state === 'joined') this.link.send(this.focusPresence(false));
  }

  /** The bridges changed (a brewery presence): invitations waiting for a bridge are retried. */
  bridgesChanged(): void {
    if (this.state === 'joined') this.media?.update();
  }

  /**
   * An IQ get/set from an occupant (`room/nick`) to the focus: Jingle (§5) or remote mute (§4.5).
   * @returns the result payload, if any.
   * @throws StanzaError, answered to that occupant only.
   */
  handleIq(iq: Element, iqCaller: IqCaller): Element | undefined {
    const from = iq.attrs.from as string;
    const participant = this.participants.get(from.slice(this.roomJid.length + 1));
    const payload = iqPayload(iq);
    if (payload.name === 'jingle' && payload.getNS() === NS_JINGLE && iq.attrs.type === 'set') {
      const jingle = parseJingle(payload);
      if (!participant || !this.media) throw new StanzaError('cancel', 'item-not-found', `unknown session '${jingle.sid}'`);
      this.media.handleJingle(participant, jingle);
      return undefined;
    }
    const media = MUTE_NAMESPACES.get(payload.getNS() ?? '');
    if (payload.name === 'mute' && media && iq.attrs.type === 'set') {
      if (!participant) throw new StanzaError('auth', 'forbidden', 'only moderators may mute others');
      const target = this.participants.get(String(payload.attrs.jid ?? '').slice(this.roomJid.length + 1));
      const self = target === participant;
      if (!self && participant.role !== 'moderator') throw new StanzaError('auth', 'forbidden', 'only moderators may mute others');
      if (!target || payload.attrs.jid !== target.occupantJid) throw new StanzaError('cancel', 'item-not-found', 'no such participant');
      const text = payload.getText().trim();
      if (text === 'false' && self) {
        // lib-jitsi-meet asks this when a participant the focus muted unmutes (JitsiConference
        // _fireMuteChangeEvent); Jicofo's handleMuteRequest refuses it under A/V moderation
        // unless approved, and the bridge keeps dropping the media.
        if (!this.avModeration.mayUnmute(target, media)) throw new StanzaError('cancel', 'not-allowed', 'a moderator must approve you first');
        return undefined;
      }
      if (text !== 'true') throw new StanzaError('cancel', 'not-allowed', 'only muting is allowed');
      if (self) return undefined; // muting oneself needs nobody told
      // Jicofo's handleMuteRequest: NOT_ALLOWED for a recorder, or a SIP gateway that cannot mute its side.
      if (suppressesForceMute(target)) throw new StanzaError('cancel', 'not-allowed', 'this participant cannot be muted');
      const forwarded = new Element('mute', { xmlns: payload.getNS() ?? '', actor: participant.occupantJid }).t('true');
      iqCaller.request(target.occupantJid, 'set', forwarded).catch((err: unknown) => this.log.debug({ err, target: target.nick }, 'the mute target did not acknowledge'));
      return undefined;
    }
    throw new StanzaError('cancel', 'service-unavailable');
  }

  /**
   * A notice of the A/V moderation component about this room (Jicofo's AvModerationHandler). When
   * a media type becomes moderated, everyone not allowed is asked to mute (the enabling moderator
   * named as actor, and skipped); then every endpoint's bridge state follows the new state.
   */
  onAvModeration(notice: AvModerationNotice): void {
    if (this.state === 'ended') return;
    const nowModerated = this.avModeration.apply(notice);
    const actor = notice.kind === 'enabled' ? notice.actor : undefined;
    for (const media of nowModerated) {
      this.log.info({ room: this.roomJid, media, actor }, 'A/V moderation enabled: muting participants');
      for (const p of this.participants.values()) {
        if (p.occupantJid === actor || this.avModeration.mayUnmute(p, media) || suppressesForceMute(p)) continue;
        const iq = new Element('iq', { type: 'set', to: p.occupantJid, id: `mute-${randomUUID()}` });
        iq.c('mute', { xmlns: `http://jitsi.org/jitmeet/${media}`, ...(actor ? { actor } : {}) }).t('true');
        this.link.send(iq);
      }
    }
    for (const p of this.participants.values()) this.media?.setForceMute(p, this.avModeration.forceMuteOf(p));
  }

  /**
   * Jicofo's owner rules (protocol reference §3.4). Without authentication, auto-owner: the oldest
   * participant is owner; when it leaves, the next oldest is granted ownership. A Jitsi service
   * (Jigasi, Jibri, a transcriber: Participant.service) is neither made owner nor counted as one,
   * as Jicofo's AutoOwnerRoleManager skips them: a SIP call that opened the room, or a recorder left
   * oldest, would hold the room's controls with nobody to use them. With
   * authentication (`isModerator`), every agent is granted ownership and guests never are, even
   * when no owner is left. With 'first-agent', only the oldest agent present is granted it when no
   * owner is left (a moderator may still grant it to others).
   */
  private ensureModerator(): void {
    const isModerator = this.options.isModerator;
    if (isModerator && this.options.moderators === 'first-agent') {
      for (const p of this.participants.values()) if (p.affiliation === 'owner') return;
      for (const p of this.participants.values()) if (isModerator(p.realJid, this.roomJid)) return this.grantOwner(p);
      return;
    }
    if (isModerator) {
      for (const p of this.participants.values()) if (p.affiliation !== 'owner' && isModerator(p.realJid, this.roomJid)) this.grantOwner(p);
      return;
    }
    for (const p of this.participants.values()) if (p.affiliation === 'owner' && p.service === undefined) return;
    for (const p of this.participants.values()) if (p.service === undefined) return this.grantOwner(p);
  }

  private grantOwner(participant: Participant): void {
    participant.affiliation = 'owner';
    const iq = new Element('iq', { type: 'set', to: this.roomJid, id: `owner-${randomUUID()}` });
    iq.c('query', { xmlns: NS_MUC_ADMIN }).c('item', { affiliation: 'owner', jid: participant.realJid.split('/')[0]! });
    this.link.send(iq);
  }

  /** Jicofo reads the room's meeting id (mod_muc_meeting_id's field) and names the bridge conference after it. */
  private readMeetingId(): void {
    const iq = this.options.media?.iq;
    if (!this.media || !iq) return;
    this.media.readMeetingId(iq.request(this.roomJid, 'get', new Element('query', { xmlns: NS_DISCO_INFO }), 3000).then((answer) => {
      for (const form of answer ? parseDiscoInfo(answer).forms ?? [] : []) {
        const id = fieldValue(form, FIELD_MEETING_ID);
        if (id) return id;
      }
      this.log.debug({ room: this.roomJid }, 'the room has no meeting id');
      return undefined;
    }, (err: unknown) => {
      this.log.debug({ err, room: this.roomJid }, 'room disco#info failed');
      return undefined;
    }));
  }

  private armIdleTimer(): void {
    this.idleTimer = setTimeout(() => this.end('nobody joined'), this.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private focusPresence(join: boolean): Element {
    const presence = new Element('presence', { to: `${this.roomJid}/focus` });
    if (join) presence.c('x', { xmlns: NS_MUC }).c('history', { maxstanzas: '0' });
    presence.c('versions', { xmlns: 'http://jitsi.org/jitmeet' }).c('component', { type: 'focus' }).t(this.options.focusVersion);
    const properties = presence.c('conference-properties', { xmlns: 'http://jitsi.org/protocol/focus' });
    properties.c('property', { key: 'support-terminate-restart', value: 'true' });
    properties.c('property', { key: 'created-ms', value: String(this.createdAt) });
    if (this.bridgeNotAvailable) presence.c('bridgeNotAvailable', { xmlns: NS_FOCUS });
    // jitsi-meet shows its shared-document button for this name (jitsi-protocol.md §9); none
    // when the document opens with tokens only.
    const name = this.document?.name;
    if (name) presence.cnode(buildEtherpad(name));
    return presence;
  }

  /**
   * Whether an agent is in the conference (always true without ConferenceOptions.isAgent), or is
   * about to be: the agent whose request created it, for CREATOR_GRACE_MS, until an agent joined.
   */
  hasAgent(): boolean {
    if (!this.options.isAgent || this.agents.size > 0) return true;
    return !this.agentJoined && performance.now() - this.madeAt < (this.options.creatorGraceMs ?? CREATOR_GRACE_MS);
  }

  /** Arms the end of a conference left without agents, or disarms it when one is back. */
  private checkAgents(): void {
    if (!this.options.isAgent || this.state === 'ended') return;
    // Agents in the room, not the creator's grace (hasAgent): guests let in before a creator who
    // never comes must not keep the conference for good either.
    if (this.agents.size > 0) {
      if (this.agentlessTimer) clearTimeout(this.agentlessTimer);
      this.agentlessTimer = undefined;
      return;
    }
    if (this.agentlessTimer || this.participants.size === 0) return;
    this.log.info({ room: this.roomJid }, 'no agent left in the conference');
    this.agentlessTimer = setTimeout(() => {
      this.agentlessTimer = undefined;
      if (this.agents.size > 0 || this.state === 'ended') return;
      // Destroyed, not only left: the guests are told the conference is over (XEP-0045 §10.9).
      const iq = new Element('iq', { type: 'set', to: this.roomJid, id: `destroy-${randomUUID()}` });
      iq.c('query', { xmlns: NS_MUC_OWNER }).c('destroy').c('reason').t('The conference has ended: no host is left.');
      this.link.send(iq);
      this.end('no agent left');
    }, this.options.agentlessTimeoutMs ?? AGENTLESS_TIMEOUT_MS);
    this.agentlessTimer.unref?.();
  }

  /** Ends the conference: the focus leaves (the room then empties and is destroyed). Idempotent. */
  end(reason: string, error?: StanzaError): void {
    if (this.state === 'ended') return;
    const wasIn = this.state === 'joined';
    this.state = 'ended';
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.agentlessTimer) clearTimeout(this.agentlessTimer);
    this.agentlessTimer = undefined;
    const err = error ?? new StanzaError('wait', 'service-unavailable', 'conference ended');
    for (const w of this.waiters.splice(0)) w.reject(err);
    this.media?.close();
    this.document?.destroy();
    if (wasIn) this.link.send(new Element('presence', { to: `${this.roomJid}/focus`, type: 'unavailable' }));
    this.participants.clear();
    this.log.info({ room: this.roomJid, reason }, 'conference ended');
    this.options.onEnded(this, reason);
  }
}
