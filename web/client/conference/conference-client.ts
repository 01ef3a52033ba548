/**
 * Salon's conference client: joins a room the way lib-jitsi-meet does (XMPP over the WebSocket,
 * the focus's conference IQ, the MUC with Jitsi's presence, Jingle with the focus, the bridge channel)
 * and keeps the `ConferenceState` the views render. Owns the XMPP connection, the Jingle session, the
 * bridge channel, our devices, the statistics timer and its own timers; `leave()` closes them all.
 * Stanzas come from ./room-stanzas.ts and ./occupant-presence.ts, the lobby, A/V moderation and
 * the other moderation features from ./room-moderation.ts, the SDP side from ../media/.
 * About 800 lines, over the house limit on purpose: the room's signalling is one state machine (join,
 * waiting for the host and the organiser's sign-in, resumption, rejoin, session restart, leave)
 * whose transitions are easiest to check read together; what is not part of it (stanzas, presence,
 * moderation, SDP, remote media, the store) lives in its own module.
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
import { machineUid } from './machine-uid.ts';
import type { ConferenceController, ConferenceErrorKind, ConferenceState, DeviceChoice, HostSignIn, JoinOptions, LeaveReason } from './model.ts';
import { parseJoinRefusal } from './moderation-stanzas.ts';
import { buildOwnPresence, NS_NICK, parseOccupantPresence, type OccupantPresence, type OwnPresence } from './occupant-presence.ts';
import { qualityFromScore, QualityMonitor } from './quality-monitor.ts';
import { RemoteMediaView } from './remote-media.ts';
import { RestartPacer } from './restart-pacer.ts';
import { RoomModeration } from './room-moderation.ts';
import {
  buildChatMessage, buildClientDiscoInfo, buildDocumentIq, buildMucAdminRequest, buildP2pDecline, buildRemoteMuteRequest, sessionRestartRequest,
  buildRoomPasswordRequest, MUTE_NAMESPACES,
} from './room-stanzas.ts';

/** The part of jitsi-meet's config.js the client reads. */
export interface JitsiConfig {
  hosts: { domain: string; muc: string; focus?: string; anonymousdomain?: string };
  websocket?: string;
  focusUserJid?: string;
  /**
   * Where an organiser signs in to get a token (jitsi-meet's `tokenAuthUrl`): `{room}` in it is
   * replaced by the room's name and `{state}` by the encoded JSON `{"room":…,"tenant":…}`; without
   * `{room}`, `?room=` is added, and without `{state}`, `?tenant=` under a tenant. The service comes
   * back to the room, under its tenant, with `#jwt=` (or `?jwt=`).
   */
  tokenAuthUrl?: string;
  /** Video codecs in preference order (`AV1`, `VP9`, `VP8`, …): an SVC codec the offer carries is sent with spatial layers. */
  videoQuality?: { codecPreferenceOrder?: string[] };
}

/**
 * The sign-in address of `tokenAuthUrl` for a room and its tenant (jitsi-meet's getTokenAuthUrl,
 * reduced to these two): the service needs both to bring the organiser back to `/<tenant>/<Room>`
 * and to mint a token for that tenant (`sub`).
 */
export function tokenAuthUrlFor(template: string, where: { room: string; tenant: string | undefined }, base: string): string {
  const { room, tenant } = where;
  const filled = template
    .replaceAll('{room}', encodeURIComponent(room))
    .replaceAll('{state}', encodeURIComponent(JSON.stringify(tenant === undefined ? { room } : { room, tenant })));
  const url = new URL(filled, base);
  if (!template.includes('{room}') && !url.searchParams.has('room')) url.searchParams.set('room', room);
  if (tenant !== undefined && !template.includes('{state}') && !url.searchParams.has('tenant')) url.searchParams.set('tenant', tenant);
  return url.toString();
}

/** Conference requests while the focus answers "not ready" (it is starting the room), one a second. */
const MAX_CONFERENCE_REQUESTS = 30;
/**
 * While the focus refuses us because no organiser started the room, the request is sent again this
 * often: jitsi-meet's `waitForOwner` retries every 5 s (react/features/authentication).
 */
const WAIT_FOR_HOST_RETRY_MS = 5000;
/**
 * After a refused session restart, how long to wait for the focus's new offer: Salon's focus makes
 * it once its limit allows (at most a minute, Jicofo's interval), with some slack.
 */
const REFUSED_RESTART_WAIT_MS = 75_000;
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
  /** Session restarts: at most 3 a minute before the call is given up as failed, 5 s apart as the focus requires. */
  private readonly restarts = new RestartPacer();
  /** A restart waiting for the focus's gap since the last one. */
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** After a refused restart: the call ends as failed unless the focus offers a new session before it fires. */
  private offerWaitTimer: ReturnType<typeof setTimeout> | undefined;
  /** A screen share is being started or stopped. */
  private screenChange: Promise<void> | undefined;
  private readonly quality: QualityMonitor;
  private occupants = new Map<string, OccupantPresence>();
  private ended = false;
  /** Sent with every join, rejoins included: the one we were given, or the one we set as moderator. */
  private password: string | undefined;
  private readonly moderation: RoomModeration;
  /** An account of the service the organiser signed in with (SASL on the main domain). */
  private credentials: { username: string; password: string } | undefined;
  /** A signed-in connection waiting to replace the guest one, and how to wake the host wait for it. */
  private signedIn: XmppConnection | undefined;
  private wakeHostWait: (() => void) | undefined;

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
    this.moderation = new RoomModeration({
      roomJid: this.roomJid,
      domain: config.hosts.domain,
      store: this.store,
      connection: () => this.connection,
      nick: () => this.endpointId,
      displayName: () => this.own.displayName,
      setDisplayName: (name) => {
        this.own.displayName = name.trim().slice(0, 64);
      },
      isModerator: () => this.isModerator(),
      occupants: () => this.occupants.values(),
      hasPassword: () => this.password !== undefined,
      enterRoom: () => this.sendPresence({ ...(this.password ? { password: this.password } : {}) }),
      denied: () => void this.end('denied'),
      fail: (kind) => this.fail(kind),
      lowerHand: () => {
        if (this.own.raisedHandAt !== undefined) this.setRaisedHand(false);
      },
      ended: () => this.ended,
    });
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

  /** A connection with our handlers: anonymous (guest domain), with the page's token, or with the organiser's account. */
  private createConnection(credentials: { username: string; password: string } | undefined): XmppConnection {
    const websocket = this.config.websocket ?? `${location.origin.replace(/^http/, 'ws')}/xmpp-websocket`;
    const main = this.options.jwt !== undefined || credentials !== undefined;
    const connection = new XmppConnection({
      url: websocket,
      // A token holder or an account logs in on the main domain (where tokens and accounts are
      // checked); everyone else on the guest domain when there is one.
      domain: main ? this.config.hosts.domain : this.config.hosts.anonymousdomain ?? this.config.hosts.domain,
      // jitsi-meet adds the room to the service URL: Prosody's components (A/V moderation, end
      // conference) find the sender's room from it.
      room: this.options.room.toLowerCase(),
      ...(this.options.jwt ? { token: this.options.jwt } : {}),
      ...(credentials ? { credentials } : {}),
    });
    connection.onStanza((stanza) => this.onStanza(connection, stanza));
    connection.onStatus((status) => this.onConnectionStatus(connection, status));
    connection.handleIq(NS_DISCO_INFO, 'query', () => buildClientDiscoInfo());
    connection.handleIq(NS_JINGLE, 'jingle', (iq, payload) => this.onJingle(iq, parseJingle(payload)));
    for (const [kind, ns] of Object.entries(MUTE_NAMESPACES)) {
      connection.handleIq(ns, 'mute', (iq, payload) => this.onRemoteMute(kind as 'audio' | 'video', iq, payload));
    }
    return connection;
  }

  /** Logs in, asks the focus for the room and enters it. A lost session that cannot resume comes back here. */
  private async join(): Promise<void> {
    let connection = this.createConnection(this.credentials);
    this.connection = connection;
    try {
      await connection.connect();
      this.moderation.discoverComponents(connection);
      const request = buildConferenceRequest({ room: this.roomJid, machineUid: machineUid(), properties: {} });
      for (let attempt = 1; ; attempt++) {
        const answer = await this.askFocus(connection, request);
        if (answer === 'no-host') {
          attempt = 0;
          if (!this.signedIn) await this.waitForHost();
          // The organiser signed in meanwhile: its session replaces the guest one and asks again.
          const signedIn = this.signedIn;
          if (signedIn && signedIn !== connection) {
            this.signedIn = undefined;
            connection.close();
            connection = signedIn;
            this.connection = connection;
            this.moderation.discoverComponents(connection);
          }
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
      if (!this.ended && this.store.state.phase.name !== 'waiting-for-host') {
        const signIn = this.hostSignIn();
        this.store.setPhase(signIn ? { name: 'waiting-for-host', signIn } : { name: 'waiting-for-host' });
      }
      return 'no-host';
    }
  }

  /**
   * How a waiting organiser may sign in: the token service when config.js names one; else, on a
   * deployment with a guest domain (authentication on), an account of the service. Not for someone
   * already signed in or holding a token.
   */
  private hostSignIn(): HostSignIn | undefined {
    if (this.credentials || this.options.jwt) return undefined;
    if (this.config.tokenAuthUrl) return { kind: 'url', url: tokenAuthUrlFor(this.config.tokenAuthUrl, { room: this.options.room, tenant: this.options.tenant }, location.href) };
    return this.config.hosts.anonymousdomain ? { kind: 'password' } : undefined;
  }

  /** The pause between two asks while no organiser is there; a sign-in ends it early. */
  private waitForHost(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeHostWait = () => resolve();
      this.delay(WAIT_FOR_HOST_RETRY_MS).then(resolve, resolve);
    }).finally(() => {
      this.wakeHostWait = undefined;
    });
  }

  async signIn(username: string, password: string): Promise<void> {
    if (this.ended || this.store.state.phase.name !== 'waiting-for-host') return;
    const credentials = { username: username.trim(), password };
    const connection = this.createConnection(credentials);
    try {
      await connection.connect();
    } catch (err) {
      connection.close();
      // Wrong credentials, or anything else (a login limit, the network): the form says which.
      throw new Error(err instanceof Error && /^login refused: not-authorized/.test(err.message) ? 'not-authorized' : 'connection-failed');
    }
    if (this.ended) return void connection.close();
    this.credentials = credentials;
    this.signedIn?.close();
    this.signedIn = connection;
    this.wakeHostWait?.();
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
    this.moderation.reset();
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
    clearTimeout(this.offerWaitTimer);
    this.offerWaitTimer = undefined;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.quality.stop();
    this.peer?.close();
    this.peer = undefined;
    this.channel?.close();
    this.channel = undefined;
    this.received = [];
    this.refreshRemoteMedia();
  }

  private onStanza(connection: XmppConnection, stanza: Element): void {
    if (connection !== this.connection) return;
    const from = String(stanza.attrs.from ?? '');
    if (this.moderation.handle(stanza)) return;
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
      const refusal = parseJoinRefusal(presence);
      // A members-only room (its lobby is on): we knock at its lobby (Lobby.js, protocol notes §4.9).
      if (refusal.condition === 'registration-required') return this.moderation.onMembersOnly(refusal.lobbyRoom);
      const condition = refusal.condition;
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
        // Kicked (307); otherwise the room went away: destroyed (`<destroy/>`, the meeting was
        // ended for everyone) or shut.
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
    const roleBefore = this.occupants.get(occupant.nick)?.role;
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
      verified: occupant.verified,
    });
    if (self && isNew) {
      this.store.setJoined(this.endpointId);
      this.moderation.onJoined();
    } else if (isNew && this.store.state.phase.name === 'joined') {
      this.store.notice({ kind: 'joined', name: occupant.displayName || occupant.nick });
    }
    if (self && roleBefore !== occupant.role) this.moderation.onLocalRole();
    if (isNew && !self) this.moderation.onOccupantJoined();
    this.refreshRemoteMedia();
  }

  // ---- Moderation (./room-moderation.ts does the work) -------------------------------------------------

  private isModerator(): boolean {
    return this.occupants.get(this.endpointId)?.role === 'moderator';
  }

  knock(displayName: string): void {
    this.moderation.knock(displayName);
  }

  setLobbyEnabled(on: boolean): Promise<boolean> {
    return this.moderation.setLobbyEnabled(on);
  }

  admitKnocker(id: string): void {
    this.moderation.admitKnocker(id);
  }

  denyKnocker(id: string): void {
    this.moderation.denyKnocker(id);
  }

  endForEveryone(): void {
    this.moderation.endForEveryone();
  }

  setAudioModeration(on: boolean): void {
    this.moderation.setAudioModeration(on);
  }

  allowToSpeak(id: string): void {
    this.moderation.allowToSpeak(id);
  }

  muteEveryone(): void {
    if (!this.isModerator()) return;
    // jitsi-meet's muteAllParticipants: one remote mute per other participant, through the focus.
    for (const participant of this.store.state.participants.values()) {
      if (!participant.local) this.muteParticipant(participant.id);
    }
    this.store.notice({ kind: 'everyone-muted' });
  }

  private onMessage(message: Element): void {
    if (message.attrs.from === this.roomJid) this.moderation.onRoomMessage(message);
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
        clearTimeout(this.offerWaitTimer);
        this.offerWaitTimer = undefined;
        this.peer?.close();
        this.channel?.close();
        const peer = new JinglePeer(jingle, {
          endpointId: this.endpointId,
          ...(this.config.videoQuality?.codecPreferenceOrder ? { videoCodecPreference: this.config.videoQuality.codecPreferenceOrder } : {}),
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
   * new offer. A session that keeps failing (restart-pacer.ts) ends the call as failed; one due
   * sooner than the focus allows after the last waits for it (the focus would refuse it).
   */
  private restartSession(peer: JinglePeer): void {
    if (peer !== this.peer || this.ended || this.restartTimer) return;
    const decision = this.restarts.next(Date.now());
    if (decision === 'give-up') return this.fail('media-failed');
    if (decision !== 'now') {
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.restartSession(peer);
      }, decision);
      return;
    }
    const { sid } = peer;
    const connection = this.connection;
    this.closeSession();
    this.sendJingle(sessionRestartRequest(sid, peer.bridgeSessionId)).catch((err: unknown) => {
      // Refused (too many restarts): Salon's focus invites again once its limit allows; a focus that
      // does not (Jicofo leaves the participant without media until it rejoins) must not leave the
      // call silently without media, so it ends as failed (the user can join again) after a wait.
      console.warn('the session restart was refused; waiting for the focus to offer a new session', err);
      if (connection !== this.connection || this.peer || this.ended) return;
      clearTimeout(this.offerWaitTimer);
      this.offerWaitTimer = setTimeout(() => {
        this.offerWaitTimer = undefined;
        if (!this.peer) this.fail('media-failed');
      }, REFUSED_RESTART_WAIT_MS);
    });
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
    if (!muted && !this.store.state.moderation.mayUnmute) {
      // Microphones are moderated: instead of unmuting we ask to speak, as jitsi-meet does.
      if (this.own.raisedHandAt === undefined) this.setRaisedHand(true);
      this.store.notice({ kind: 'asked-to-speak' });
      return;
    }
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

  private async end(reason: LeaveReason): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const connection = this.connection;
    this.moderation.close(reason === 'hangup');
    if (reason === 'hangup') connection?.send(new Element('presence', { to: `${this.roomJid}/${this.endpointId}`, type: 'unavailable' }));
    this.signedIn?.close();
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
    this.signedIn?.close();
    this.store.setPhase({ name: 'failed', error: kind });
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
