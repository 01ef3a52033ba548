/**
 * Salon's conference client: joins a room the way lib-jitsi-meet does (XMPP over the WebSocket,
 * the focus's conference IQ, the MUC with Jitsi's presence, Jingle with the focus, the bridge channel)
 * and keeps the `ConferenceState` the views render. Owns the XMPP connection, the Jingle session, the
 * bridge channel, our devices, the statistics timer and its own timers; `leave()` closes them all.
 * Stanzas come from ./room-stanzas.ts and ./occupant-presence.ts, the SDP side from ../media/.
 * About 600 lines, over the house limit on purpose: the room's signalling is one state machine (join,
 * resumption, rejoin, session restart, leave) whose transitions are easiest to check read together;
 * what is not part of it (stanzas, presence, SDP, remote media, the store) lives in its own module.
 */
import { Element } from 'ltx';
import { tryParseJid } from '../../../xmpp/jid.ts';
import type { BridgeToClientMessage } from '../../../xmpp/protocol/bridge-channel.ts';
import { buildConferenceRequest, NS_FOCUS } from '../../../xmpp/protocol/conference-iq.ts';
import { NS_DISCO_INFO } from '../../../xmpp/protocol/disco.ts';
import { buildJingle, NS_JINGLE, parseJingle, type Jingle } from '../../../xmpp/protocol/jingle.ts';
import { NS_DOCUMENT, parseDocumentGrant } from '../../../xmpp/protocol/salon-document.ts';
import { JinglePeer, type ReceivedTrack } from '../media/jingle-peer.ts';
import { LocalMedia } from '../media/local-media.ts';
import { IqError, XmppConnection } from '../xmpp/connection.ts';
import { BridgeChannelClient } from './bridge-channel-client.ts';
import { ConferenceStore } from './conference-store.ts';
import type { ConferenceController, ConferenceErrorKind, ConferenceState, DeviceChoice, JoinOptions } from './model.ts';
import { buildOwnPresence, NS_NICK, parseOccupantPresence, type OccupantPresence, type OwnPresence } from './occupant-presence.ts';
import { qualityFromScore, QualityMonitor } from './quality-monitor.ts';
import { RemoteMediaView } from './remote-media.ts';
import {
  buildChatMessage, buildClientDiscoInfo, buildDocumentIq, buildMucAdminRequest, buildP2pDecline, buildRemoteMuteRequest,
  buildRoomPasswordRequest, MUTE_NAMESPACES,
} from './room-stanzas.ts';

/** The part of jitsi-meet's config.js the client reads. */
export interface JitsiConfig {
  hosts: { domain: string; muc: string; focus?: string; anonymousdomain?: string };
  websocket?: string;
  focusUserJid?: string;
}

/** Conference requests while the focus answers "not ready" (it is starting the room), one a second. */
const MAX_CONFERENCE_REQUESTS = 30;
/**
 * While the focus refuses us because no organiser started the room, the request is sent again this
 * often: jitsi-meet's `waitForOwner` retries every 5 s (react/features/authentication).
 */
const WAIT_FOR_HOST_RETRY_MS = 5000;
/** Session restarts allowed within RESTART_WINDOW_MS before the call is given up as failed. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;
/** ICE `disconnected` may heal by itself; after this long the session is restarted. */
const ICE_GRACE_MS = 5000;

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function createConference(options: JoinOptions, env: { config: JitsiConfig }): ConferenceController {
  return new ConferenceClient(options, env.config);
}

class ConferenceClient implements ConferenceController {
  private readonly store: ConferenceStore;
  private readonly roomJid: string;
  private readonly focusDomain: string;
  private readonly media: LocalMedia;
  private readonly own: OwnPresence;
  private connection: XmppConnection | undefined;
  /** The connection that got us into the room: only its loss calls for a rejoin (a failed attempt does not). */
  private joinedConnection: XmppConnection | undefined;
  /** Our nick and endpoint id: 8 hex digits, as lib-jitsi-meet makes them. */
  private endpointId = randomHex(4);
  private peer: JinglePeer | undefined;
  private channel: BridgeChannelClient | undefined;
  private received: readonly ReceivedTrack[] = [];
  private readonly remoteMedia = new RemoteMediaView();
  /** Every timer this client starts, cleared when it ends. */
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private iceGraceTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the recent session restarts happened. */
  private restarts: number[] = [];
  /** A screen share is being started or stopped. */
  private screenChange: Promise<void> | undefined;
  private readonly quality: QualityMonitor;
  private occupants = new Map<string, OccupantPresence>();
  private ended = false;
  /** Sent with every join, rejoins included: the one we were given, or the one we set as moderator. */
  private password: string | undefined;

  constructor(private readonly options: JoinOptions, private readonly config: JitsiConfig) {
    const room = options.room.toLowerCase();
    this.roomJid = `${room}@${config.hosts.muc}`;
    this.focusDomain = config.hosts.focus ?? `focus.${config.hosts.domain}`;
    this.store = new ConferenceStore(options.room);
    this.password = options.password;
    this.media = new LocalMedia(options.devices);
    this.own = {
      displayName: options.displayName, audioMuted: options.audioMuted, videoMuted: options.videoMuted,
      screenSharing: false, raisedHandAt: undefined, statsId: randomHex(6),
    };
    this.quality = new QualityMonitor((quality, score) => {
      this.store.updateParticipant(this.endpointId, { connectionQuality: quality });
      this.channel?.send({ colibriClass: 'EndpointStats', connectionQuality: score });
    });
    this.start().catch((err: unknown) => this.fail(err));
  }

  getState(): ConferenceState {
    return this.store.state;
  }

  subscribe(listener: () => void): () => void {
    return this.store.subscribe(listener);
  }

  /** Our devices are open (or failed): the answer to the focus's offer waits for this. */
  private mediaReady: Promise<void> = Promise.resolve();

  /** Devices and signalling start together: opening a camera takes as long as logging in. */
  private async start(): Promise<void> {
    this.mediaReady = this.media.open(this.own.audioMuted, this.own.videoMuted).then(() => {
      const muted = { audio: this.own.audioMuted || !this.media.audio, video: this.own.videoMuted || !this.media.video };
      const changed = muted.audio !== this.own.audioMuted || muted.video !== this.own.videoMuted;
      this.own.audioMuted = muted.audio;
      this.own.videoMuted = muted.video;
      if (changed) this.updateOwn();
      else this.store.setLocal(this.media);
    });
    await Promise.all([this.mediaReady, this.join()]);
  }

  /** Logs in, asks the focus for the room and enters it. A lost session that cannot resume comes back here. */
  private async join(): Promise<void> {
    const websocket = this.config.websocket ?? `${location.origin.replace(/^http/, 'ws')}/xmpp-websocket`;
    const connection = new XmppConnection({
      url: websocket,
      // A token holder logs in on the main domain (where tokens are checked); everyone else on the guest domain when there is one.
      domain: this.options.jwt ? this.config.hosts.domain : this.config.hosts.anonymousdomain ?? this.config.hosts.domain,
      ...(this.options.jwt ? { token: this.options.jwt } : {}),
    });
    this.connection = connection;
    connection.onStanza((stanza) => this.onStanza(stanza));
    connection.onStatus((status) => this.onConnectionStatus(connection, status));
    connection.handleIq(NS_DISCO_INFO, 'query', () => buildClientDiscoInfo());
    connection.handleIq(NS_JINGLE, 'jingle', (iq, payload) => this.onJingle(iq, parseJingle(payload)));
    for (const [kind, ns] of Object.entries(MUTE_NAMESPACES)) {
      connection.handleIq(ns, 'mute', (iq, payload) => this.onRemoteMute(kind as 'audio' | 'video', iq, payload));
    }
    try {
      await connection.connect();
      const request = buildConferenceRequest({ room: this.roomJid, machineUid: this.own.statsId, properties: {} });
      for (let attempt = 1; ; attempt++) {
        const answer = await this.askFocus(connection, request);
        if (answer === 'no-host') {
          attempt = 0;
          await this.delay(WAIT_FOR_HOST_RETRY_MS);
          continue;
        }
        if (answer === 'busy') {
          if (this.ended || attempt >= MAX_CONFERENCE_REQUESTS) throw new Error('the focus stayed too busy to answer');
          await this.delay(2000);
          continue;
        }
        if (answer.getChild('conference', NS_FOCUS)?.attrs.ready === 'true') break;
        if (this.ended || attempt >= MAX_CONFERENCE_REQUESTS) throw new Error('the focus never said the room was ready');
        // Not ready: the focus is starting the room; ask again as lib-jitsi-meet does.
        await this.delay(1000);
      }
    } catch (err) {
      // A failed attempt leaves no logged-in session behind.
      connection.close();
      throw err;
    }
    this.joinedConnection = connection;
    if (this.store.state.phase.name === 'waiting-for-host') this.store.setPhase({ name: 'connecting' });
    this.sendPresence({ ...(this.password ? { password: this.password } : {}) });
  }

  /**
   * One conference request. With authentication on, a guest asking before any organiser started
   * the room gets Jicofo's `not-authorized` error (text "not authorized user domain"), which
   * lib-jitsi-meet reports as AUTHENTICATION_REQUIRED (modules/xmpp/moderator.js) and jitsi-meet
   * answers with its "waiting for the host" dialog: that is 'no-host', and the phase says so.
   */
  private async askFocus(connection: XmppConnection, request: Element): Promise<Element | 'no-host' | 'busy'> {
    try {
      return await connection.iq(new Element('iq', { type: 'set', to: this.focusDomain }).cnode(request).root());
    } catch (err) {
      // The focus's request limit (`<resource-constraint/>`, type wait): ask again a little later.
      if (err instanceof IqError && err.condition === 'resource-constraint') return 'busy';
      if (!(err instanceof IqError) || err.condition !== 'not-authorized') throw err;
      if (!this.ended) this.store.setPhase({ name: 'waiting-for-host' });
      return 'no-host';
    }
  }

  /** A pause that ends with this client (its timer is cleared by end(); after the end it never resolves). */
  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.ended) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private sendPresence(join?: { password?: string }): void {
    this.connection?.send(buildOwnPresence(`${this.roomJid}/${this.endpointId}`, this.endpointId, this.own, join));
  }

  private onConnectionStatus(connection: XmppConnection, status: string): void {
    if (connection !== this.connection || this.ended) return;
    if (status === 'reconnecting') this.store.setPhase({ name: 'reconnecting' });
    else if (status === 'resumed') {
      this.store.setPhase({ name: 'joined' });
      this.store.notice({ kind: 'reconnected' });
    } else if (status === 'closed' && connection === this.joinedConnection) this.rejoin();
  }

  /** The session is gone for good (server restarted or forgot us): a new one joins the same room. */
  private rejoin(): void {
    this.store.setPhase({ name: 'reconnecting' });
    this.closeSession();
    this.occupants.clear();
    this.store.resetParticipants();
    this.endpointId = randomHex(4);
    const retry = (attempt: number) => {
      if (this.ended) return;
      this.join().catch((err: unknown) => {
        console.warn(`rejoining failed (attempt ${attempt + 1}), trying again`, err);
        this.delay(Math.min(10_000, 1000 * 2 ** attempt)).then(() => retry(attempt + 1), () => undefined);
      });
    };
    retry(0);
  }

  private closeSession(): void {
    clearTimeout(this.iceGraceTimer);
    this.quality.stop();
    this.peer?.close();
    this.peer = undefined;
    this.channel?.close();
    this.channel = undefined;
    this.received = [];
    this.refreshRemoteMedia();
  }

  private onStanza(stanza: Element): void {
    const from = String(stanza.attrs.from ?? '');
    if (!from.startsWith(`${this.roomJid}/`) && from !== this.roomJid) return;
    if (stanza.name === 'presence') return this.onPresence(stanza);
    if (stanza.name === 'message') return this.onMessage(stanza);
  }

  /** The focus occupant: nick `focus`, and, where the room shows real JIDs, the focus's own account (§4.3). */
  private isFocus(occupant: OccupantPresence): boolean {
    const focusUser = this.config.focusUserJid;
    if (occupant.nick !== 'focus') return false;
    return focusUser === undefined || occupant.jid === undefined || occupant.jid.startsWith(`${focusUser}/`);
  }

  private onPresence(presence: Element): void {
    if (presence.attrs.type === 'error') {
      const condition = presence.getChild('error')?.children.find((c): c is Element => typeof c !== 'string')?.name;
      const kind: ConferenceErrorKind = condition === 'not-authorized' ? 'password-required'
        : condition === 'service-unavailable' ? 'room-full' : condition === 'forbidden' ? 'not-allowed' : 'connection-failed';
      return this.fail(kind);
    }
    const occupant = parseOccupantPresence(presence);
    // The bare room JID is not an occupant (its presence errors are handled above).
    if (!String(presence.attrs.from ?? '').includes('/') || this.isFocus(occupant)) return;
    const self = occupant.nick === this.endpointId || occupant.statusCodes.includes(110);
    if (occupant.unavailable) {
      if (self) {
        const reason = occupant.statusCodes.includes(307) ? 'kicked' : 'ended';
        return void this.end(reason);
      }
      const known = this.occupants.get(occupant.nick);
      this.occupants.delete(occupant.nick);
      this.store.removeParticipant(occupant.nick);
      if (known) this.store.notice({ kind: 'left', name: known.displayName || occupant.nick });
      return;
    }
    const isNew = !this.occupants.has(occupant.nick);
    this.occupants.set(occupant.nick, occupant);
    this.store.upsertParticipant({
      id: occupant.nick,
      displayName: self ? this.own.displayName : occupant.displayName,
      role: occupant.role,
      local: self,
      audioMuted: self ? this.own.audioMuted : occupant.audioMuted,
      videoMuted: self ? this.own.videoMuted : occupant.videoMuted,
      raisedHandAt: self ? this.own.raisedHandAt : occupant.raisedHandAt,
      screenSharing: self ? this.own.screenSharing : occupant.screenSharing,
    });
    if (self && isNew) {
      this.store.setJoined(this.endpointId);
    } else if (isNew && this.store.state.phase.name === 'joined') {
      this.store.notice({ kind: 'joined', name: occupant.displayName || occupant.nick });
    }
    this.refreshRemoteMedia();
  }

  private onMessage(message: Element): void {
    const body = message.getChildText('body');
    if (body === null || message.attrs.type === 'error') return;
    const from = tryParseJid(String(message.attrs.from))?.resource;
    if (!from || message.getChild('delay', 'urn:xmpp:delay')) return;
    const type = message.attrs.type;
    if (type === 'groupchat' && from === this.endpointId) return;
    const occupant = this.occupants.get(from);
    this.store.addMessage({
      from,
      fromName: occupant?.displayName || message.getChildText('nick', NS_NICK) || from,
      privateWith: type === 'chat' ? from : undefined,
      text: body,
      timestamp: Date.now(),
      local: false,
    });
  }

  // ---- Jingle with the focus ----------------------------------------------------------------------

  private onJingle(iq: Element, jingle: Jingle): undefined {
    const from = String(iq.attrs.from ?? '');
    if (from !== `${this.roomJid}/focus`) {
      // A peer-to-peer offer from a jitsi-meet client: Salon's client talks through the bridge only.
      if (jingle.action === 'session-initiate') {
        queueMicrotask(() => this.connection?.send(buildP2pDecline(from, jingle.sid)));
        return undefined;
      }
      throw new IqError('item-not-found', undefined, 'no such session');
    }
    switch (jingle.action) {
      case 'session-initiate': {
        this.peer?.close();
        this.channel?.close();
        const peer = new JinglePeer(jingle, {
          endpointId: this.endpointId,
          send: (j) => this.sendJingle(j),
          onReceivedTracks: (tracks) => {
            this.received = tracks;
            this.refreshRemoteMedia();
          },
          onIceState: (state) => this.onIceState(peer, state),
        });
        this.peer = peer;
        if (peer.bridgeChannelUrl) this.channel = new BridgeChannelClient(peer.bridgeChannelUrl, (msg) => this.onBridgeMessage(msg));
        this.sendConstraints();
        this.quality.start(peer.pc);
        this.mediaReady.then(() => peer.accept(this.media.audio, this.media.video))
          .then(() => (this.own.screenSharing && this.media.screen ? peer.setScreen(this.media.screen) : undefined))
          .catch((err: unknown) => {
            // A session replaced meanwhile fails too; only the current one is restarted.
            if (peer !== this.peer) return;
            console.error('answering the offer failed', err);
            this.restartSession(peer);
          });
        return undefined;
      }
      case 'source-add': case 'addsource': case 'source-remove': case 'removesource':
        if (jingle.sid === this.peer?.sid) this.peer.updateSources(jingle).catch((err: unknown) => console.error('a source change failed', err));
        return undefined;
      case 'session-terminate':
        // A late terminate of a session already replaced leaves the current one alone.
        if (jingle.sid === this.peer?.sid) this.closeSession();
        return undefined;
      case 'transport-info': case 'session-info':
        return undefined;
      default:
        throw new IqError('feature-not-implemented', undefined, `Jingle action ${jingle.action}`);
    }
  }

  private async sendJingle(jingle: Jingle): Promise<void> {
    if (!this.connection) throw new Error('not connected');
    jingle.initiator ??= `${this.roomJid}/focus`;
    await this.connection.iq(new Element('iq', { type: 'set', to: `${this.roomJid}/focus` }).cnode(buildJingle(jingle)).root());
  }

  private onIceState(peer: JinglePeer, state: RTCIceConnectionState): void {
    if (peer !== this.peer) return;
    clearTimeout(this.iceGraceTimer);
    // A broken path: after a grace period (ICE may recover by itself) the focus is asked for a new session.
    if (state === 'failed') this.restartSession(peer);
    else if (state === 'disconnected') this.iceGraceTimer = setTimeout(() => this.restartSession(peer), ICE_GRACE_MS);
  }

  /**
   * Jicofo's session restart (§5.6): session-terminate with `<bridge-session restart="true"/>`, then a
   * new offer. A session that keeps failing (MAX_RESTARTS in a minute) ends the call as failed.
   */
  private restartSession(peer: JinglePeer): void {
    if (peer !== this.peer || this.ended) return;
    const now = Date.now();
    this.restarts = [...this.restarts.filter((t) => now - t < RESTART_WINDOW_MS), now];
    if (this.restarts.length > MAX_RESTARTS) return this.fail('media-failed');
    const { sid } = peer;
    this.closeSession();
    this.sendJingle({
      action: 'session-terminate', sid, contents: [], groups: [], extensions: [],
      bridgeSession: { restart: true }, reason: { condition: 'connectivity-error', extensions: [] },
    }).catch((err: unknown) => console.warn('the session restart was refused', err));
  }

  // ---- Bridge channel -----------------------------------------------------------------------------

  private onBridgeMessage(msg: BridgeToClientMessage): void {
    switch (msg.colibriClass) {
      case 'DominantSpeakerEndpointChangeEvent':
        this.store.setDominantSpeaker(msg.silence ? this.store.state.dominantSpeakerId : msg.dominantSpeakerEndpoint);
        break;
      case 'EndpointStats': {
        const score = (msg as { connectionQuality?: unknown }).connectionQuality;
        if (msg.from && typeof score === 'number') this.store.updateParticipant(msg.from, { connectionQuality: qualityFromScore(score) });
        break;
      }
      default:
        break;
    }
  }

  /**
   * What video we want: everyone's (last-N off), screens on stage at full size; cameras at 720p while
   * tiles are large (four people or fewer), 360p beyond, where a tile is a quarter of the stage or less.
   */
  private sendConstraints(): void {
    const count = this.store.state.participants.size;
    const screens = this.received.filter((r) => r.source.videoType === 'desktop').map((r) => r.source.name);
    this.channel?.send({
      colibriClass: 'ReceiverVideoConstraints',
      lastN: -1,
      onStageSources: screens,
      defaultConstraints: { maxHeight: count > 4 ? 360 : 720 },
      constraints: Object.fromEntries(screens.map((name) => [name, { maxHeight: -1 }])),
    });
  }

  private refreshRemoteMedia(): void {
    this.store.setRemoteMedia(this.remoteMedia.update(this.received, this.occupants));
    this.sendConstraints();
  }

  // ---- Actions ------------------------------------------------------------------------------------

  async setAudioMuted(muted: boolean): Promise<void> {
    if (!muted && !this.media.audio) await this.peer?.replaceTrack('audio', (await this.media.openAudio()) ?? null);
    if (this.media.audio) this.media.audio.enabled = !muted;
    this.own.audioMuted = muted || !this.media.audio;
    this.updateOwn();
  }

  async setVideoMuted(muted: boolean): Promise<void> {
    if (muted) {
      this.media.closeVideo();
      await this.peer?.replaceTrack('video', null);
    } else if (!this.media.video) {
      await this.peer?.replaceTrack('video', (await this.media.openVideo()) ?? null);
    }
    this.own.videoMuted = muted || !this.media.video;
    this.updateOwn();
  }

  async setScreenSharing(on: boolean): Promise<void> {
    // One change at a time: a double click or a button plus an iframe command must not open two captures.
    while (this.screenChange) await this.screenChange;
    if (on === this.own.screenSharing || this.ended) return;
    this.screenChange = (on ? this.startScreen() : this.stopScreen()).finally(() => {
      this.screenChange = undefined;
    });
    await this.screenChange;
  }

  private async startScreen(): Promise<void> {
    const track = await this.media.openScreen(() => void this.setScreenSharing(false));
    if (!track) return;
    this.own.screenSharing = true;
    this.updateOwn();
    await this.peer?.setScreen(track);
    this.channel?.send({ colibriClass: 'SourceVideoTypeMessage', sourceName: `${this.endpointId}-v1`, videoType: 'DESKTOP' });
  }

  private async stopScreen(): Promise<void> {
    this.own.screenSharing = false;
    try {
      await this.peer?.setScreen(null);
    } finally {
      // The capture stops even when the session is gone mid-change.
      this.media.closeScreen();
      this.updateOwn();
    }
  }

  async switchDevices(choice: Partial<DeviceChoice>): Promise<void> {
    const changed = this.media.choose(choice);
    if (changed.audio) {
      const track = await this.media.openAudio();
      if (track) track.enabled = !this.own.audioMuted;
      await this.peer?.replaceTrack('audio', track ?? null);
    }
    if (changed.video && !this.own.videoMuted) await this.peer?.replaceTrack('video', (await this.media.openVideo()) ?? null);
    if (choice.audioOutput !== undefined) this.store.setAudioOutput(choice.audioOutput);
    this.updateOwn();
  }

  private updateOwn(): void {
    this.store.setLocal(this.media);
    this.store.updateParticipant(this.endpointId, {
      audioMuted: this.own.audioMuted, videoMuted: this.own.videoMuted, screenSharing: this.own.screenSharing,
      raisedHandAt: this.own.raisedHandAt, displayName: this.own.displayName,
    });
    if (this.store.state.phase.name === 'joined' || this.store.state.phase.name === 'reconnecting') this.sendPresence();
  }

  sendChatMessage(text: string, to?: string): void {
    const trimmed = text.trim();
    if (!trimmed || !this.connection) return;
    this.connection.send(buildChatMessage(this.roomJid, randomHex(8), trimmed, this.own.displayName, to));
    this.store.addMessage({ from: this.endpointId, fromName: this.own.displayName, privateWith: to, text: trimmed, timestamp: Date.now(), local: true });
  }

  setRaisedHand(raised: boolean): void {
    this.own.raisedHandAt = raised ? Date.now() : undefined;
    this.updateOwn();
  }

  setDisplayName(name: string): void {
    this.own.displayName = name.trim().slice(0, 64);
    this.updateOwn();
  }

  muteParticipant(id: string): void {
    this.request(buildRemoteMuteRequest(this.roomJid, id), 'the focus refused to mute');
  }

  kickParticipant(id: string): void {
    this.request(buildMucAdminRequest(this.roomJid, { nick: id, role: 'none' }), 'the room refused to remove a participant');
  }

  grantModerator(id: string): void {
    const jid = tryParseJid(this.occupants.get(id)?.jid);
    if (jid) this.request(buildMucAdminRequest(this.roomJid, { jid: jid.bare, affiliation: 'owner' }), 'the room refused to grant ownership');
  }

  setRoomPassword(password: string): void {
    this.password = password || undefined;
    this.request(buildRoomPasswordRequest(this.roomJid, password), 'the room refused the password');
  }

  /** An IQ whose refusal only matters to the console (the server enforces who may do what). */
  private request(iq: Element, refusal: string): void {
    this.connection?.iq(iq).catch((err: unknown) => console.warn(refusal, err));
  }

  async openDocument(): Promise<{ url: string; token: string }> {
    if (!this.connection) throw new Error('not connected');
    const answer = await this.connection.iq(buildDocumentIq(this.focusDomain, this.roomJid));
    const grant = answer.getChild('document', NS_DOCUMENT);
    if (!grant) throw new Error('the focus answered without a document');
    const { room, path, token } = parseDocumentGrant(grant);
    if (room !== this.roomJid) throw new Error('the focus answered for another room');
    return { url: new URL(path, location.href.replace(/^http/, 'ws')).toString(), token };
  }

  /**
   * Remote mute by a moderator (§4.5): only the focus relays it (anyone could send us the IQ
   * directly or through the room); only muting is possible.
   */
  private onRemoteMute(kind: 'audio' | 'video', iq: Element, payload: Element): undefined {
    if (iq.attrs.from !== `${this.roomJid}/focus`) throw new IqError('forbidden', undefined, 'only the focus mutes participants');
    if (payload.getText().trim() !== 'true') return undefined;
    if (kind === 'audio') void this.setAudioMuted(true);
    else void this.setVideoMuted(true);
    this.store.notice({ kind: 'muted-by-moderator' });
    return undefined;
  }

  async leave(): Promise<void> {
    await this.end('hangup');
  }

  private async end(reason: 'hangup' | 'kicked' | 'ended'): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const connection = this.connection;
    if (reason === 'hangup') connection?.send(new Element('presence', { to: `${this.roomJid}/${this.endpointId}`, type: 'unavailable' }));
    this.clearTimers();
    this.closeSession();
    this.media.close();
    connection?.close();
    this.store.setLocal(this.media);
    this.store.setPhase({ name: 'left', reason });
  }

  private fail(err: unknown): void {
    if (this.ended) return;
    console.error('the conference failed', err);
    const kind: ConferenceErrorKind = typeof err === 'string' ? (err as ConferenceErrorKind) : 'connection-failed';
    this.ended = true;
    this.clearTimers();
    this.closeSession();
    this.media.close();
    this.connection?.close();
    this.store.setPhase({ name: 'failed', error: kind });
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
