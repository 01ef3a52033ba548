/**
 * Salon's conference client: joins a room the way lib-jitsi-meet does (XMPP over the WebSocket,
 * the focus's conference IQ, the MUC with Jitsi's presence, Jingle with the focus, the bridge channel)
 * and keeps the `ConferenceState` the views render. Owns the XMPP connection, the Jingle session, the
 * bridge channel, our devices and the statistics timer; `leave()` closes them all.
 */
import { Element } from 'ltx';
import { buildConferenceRequest, NS_FOCUS } from '../../../xmpp/protocol/conference-iq.ts';
import { buildJingle, NS_JINGLE, parseJingle, type Jingle } from '../../../xmpp/protocol/jingle.ts';
import { NS_MUC_ADMIN } from '../../../xmpp/protocol/muc-user.ts';
import type { BridgeToClientMessage } from '../../../xmpp/protocol/bridge-channel.ts';
import { JinglePeer, type ReceivedTrack } from '../media/jingle-peer.ts';
import { LocalMedia } from '../media/local-media.ts';
import { IqError, XmppConnection, resourceOf } from '../xmpp/connection.ts';
import { BridgeChannelClient } from './bridge-channel-client.ts';
import { ConferenceStore } from './conference-store.ts';
import type { ConferenceController, ConferenceErrorKind, ConferenceState, DeviceChoice, JoinOptions, RemoteMedia } from './model.ts';
import { buildOwnPresence, parseOccupantPresence, type OccupantPresence, type OwnPresence } from './occupant-presence.ts';
import { qualityFromScore, QualityMonitor } from './quality-monitor.ts';
import { buildDocumentRequest, NS_DOCUMENT, parseDocumentGrant } from '../../../xmpp/protocol/salon-document.ts';

/** The part of jitsi-meet's config.js the client reads. */
export interface JitsiConfig {
  hosts: { domain: string; muc: string; focus?: string; anonymousdomain?: string };
  websocket?: string;
  focusUserJid?: string;
}

const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const MUTE_NAMESPACES = { audio: 'http://jitsi.org/jitmeet/audio', video: 'http://jitsi.org/jitmeet/video' } as const;

/** What we tell the focus we support (disco#info, §3.3): Jingle RTP audio/video over ICE-UDP with DTLS, RTX, transport-cc. */
const FEATURES = [
  'http://jabber.org/protocol/disco#info',
  'urn:xmpp:jingle:1',
  'urn:xmpp:jingle:apps:rtp:1',
  'urn:xmpp:jingle:apps:rtp:audio',
  'urn:xmpp:jingle:apps:rtp:video',
  'urn:xmpp:jingle:transports:ice-udp:1',
  'urn:xmpp:jingle:apps:dtls:0',
  'urn:ietf:rfc:5761',
  'urn:ietf:rfc:5888',
  'urn:ietf:rfc:4588',
  'http://jitsi.org/tcc',
];

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
  private endpointId = randomHex(4);
  private peer: JinglePeer | undefined;
  private channel: BridgeChannelClient | undefined;
  private received: readonly ReceivedTrack[] = [];
  private readonly streams = new Map<string, MediaStream>();
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
      domain: this.config.hosts.anonymousdomain ?? this.config.hosts.domain,
      ...(this.options.jwt ? { token: this.options.jwt } : {}),
    });
    this.connection = connection;
    connection.onStanza((stanza) => this.onStanza(stanza));
    connection.onStatus((status) => this.onConnectionStatus(connection, status));
    connection.handleIq(NS_DISCO_INFO, 'query', () => {
      const query = new Element('query', { xmlns: NS_DISCO_INFO });
      query.c('identity', { category: 'client', type: 'web', name: 'Salon' });
      for (const feature of FEATURES) query.c('feature', { var: feature });
      return query;
    });
    connection.handleIq(NS_JINGLE, 'jingle', (iq, payload) => this.onJingle(iq, parseJingle(payload)));
    for (const [kind, ns] of Object.entries(MUTE_NAMESPACES)) {
      connection.handleIq(ns, 'mute', (iq, payload) => this.onRemoteMute(kind as 'audio' | 'video', iq, payload));
    }
    await connection.connect();
    const request = buildConferenceRequest({ room: this.roomJid, machineUid: this.own.statsId, properties: {} });
    for (;;) {
      const answer = await connection.iq(new Element('iq', { type: 'set', to: this.focusDomain }).cnode(request).root());
      if (answer.getChild('conference', NS_FOCUS)?.attrs.ready === 'true') break;
      // Not ready: the focus is starting the room; ask again as lib-jitsi-meet does.
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.sendPresence({ ...(this.password ? { password: this.password } : {}) });
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
    } else if (status === 'closed') this.rejoin();
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
      this.join().catch(() => setTimeout(() => retry(attempt + 1), Math.min(10_000, 1000 * 2 ** attempt)));
    };
    retry(0);
  }

  private closeSession(): void {
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

  private isFocus(occupant: OccupantPresence): boolean {
    const focusUser = this.config.focusUserJid;
    return occupant.nick === 'focus' || (focusUser !== undefined && occupant.jid?.startsWith(`${focusUser}/`) === true);
  }

  private onPresence(presence: Element): void {
    if (presence.attrs.type === 'error') {
      const condition = presence.getChild('error')?.children.find((c): c is Element => typeof c !== 'string')?.name;
      const kind: ConferenceErrorKind = condition === 'not-authorized' ? 'password-required'
        : condition === 'service-unavailable' ? 'room-full' : condition === 'forbidden' ? 'not-allowed' : 'connection-failed';
      return this.fail(kind);
    }
    const occupant = parseOccupantPresence(presence);
    if (this.isFocus(occupant)) return;
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
    const from = resourceOf(String(message.attrs.from));
    if (!from || message.getChild('delay', 'urn:xmpp:delay')) return;
    const type = message.attrs.type;
    if (type === 'groupchat' && from === this.endpointId) return;
    const occupant = this.occupants.get(from);
    this.store.addMessage({
      from,
      fromName: occupant?.displayName || message.getChildText('nick', 'http://jabber.org/protocol/nick') || from,
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
        queueMicrotask(() => this.connection?.send(new Element('iq', { type: 'set', to: from }).cnode(
          buildJingle({ action: 'session-terminate', sid: jingle.sid, contents: [], groups: [], extensions: [], reason: { condition: 'decline', extensions: [] } }),
        ).root()));
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
            console.error('answering the offer failed', err);
            this.restartSession();
          });
        return undefined;
      }
      case 'source-add': case 'addsource': case 'source-remove': case 'removesource':
        if (jingle.sid === this.peer?.sid) this.peer.updateSources(jingle).catch((err: unknown) => console.error('a source change failed', err));
        return undefined;
      case 'session-terminate':
        this.closeSession();
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

  private iceFailedTimer: ReturnType<typeof setTimeout> | undefined;

  private onIceState(peer: JinglePeer, state: RTCIceConnectionState): void {
    if (peer !== this.peer) return;
    clearTimeout(this.iceFailedTimer);
    // A broken path: after a grace period (ICE may recover by itself) the focus is asked for a new session.
    if (state === 'failed') this.restartSession();
    else if (state === 'disconnected') this.iceFailedTimer = setTimeout(() => this.restartSession(), 5000);
  }

  /** Jicofo's session restart (§5.6): session-terminate with `<bridge-session restart="true"/>`, then a new offer. */
  private restartSession(): void {
    const peer = this.peer;
    if (!peer || this.ended) return;
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

  /** What video we want: everyone's, at the height the tiles need (the screen share sharpest). */
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
    const media: RemoteMedia[] = [];
    const live = new Set<string>();
    for (const { source, track } of this.received) {
      const occupant = this.occupants.get(source.owner);
      if (!occupant) continue;
      const key = `${source.name}/${track.id}`;
      live.add(key);
      let stream = this.streams.get(key);
      if (!stream) this.streams.set(key, (stream = new MediaStream([track])));
      // lib-jitsi-meet shares a screen on its camera source and says so in presence.
      const screen = source.videoType === 'desktop' || (source.name.endsWith('-v0') && occupant.screenSharing && !this.received.some((r) => r.source.owner === source.owner && r.source.videoType === 'desktop'));
      media.push({ participantId: source.owner, kind: source.media === 'audio' ? 'audio' : screen ? 'screen' : 'camera', stream });
    }
    for (const key of [...this.streams.keys()]) if (!live.has(key)) this.streams.delete(key);
    this.store.setRemoteMedia(media);
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
    if (on === this.own.screenSharing) return;
    if (on) {
      const track = await this.media.openScreen(() => void this.setScreenSharing(false));
      if (!track) return;
      this.own.screenSharing = true;
      this.updateOwn();
      await this.peer?.setScreen(track);
      this.channel?.send({ colibriClass: 'SourceVideoTypeMessage', sourceName: `${this.endpointId}-v1`, videoType: 'DESKTOP' });
    } else {
      this.own.screenSharing = false;
      await this.peer?.setScreen(null);
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
    const message = new Element('message', to ? { to: `${this.roomJid}/${to}`, type: 'chat', id: randomHex(8) } : { to: this.roomJid, type: 'groupchat', id: randomHex(8) });
    message.c('body').t(trimmed).up().c('nick', { xmlns: 'http://jabber.org/protocol/nick' }).t(this.own.displayName);
    this.connection.send(message);
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
    const mute = new Element('mute', { xmlns: MUTE_NAMESPACES.audio, jid: `${this.roomJid}/${id}` }).t('true');
    this.connection?.iq(new Element('iq', { type: 'set', to: `${this.roomJid}/focus` }).cnode(mute).root())
      .catch((err: unknown) => console.warn('mute refused', err));
  }

  kickParticipant(id: string): void {
    this.admin({ nick: id, role: 'none' });
  }

  grantModerator(id: string): void {
    const jid = this.occupants.get(id)?.jid;
    if (jid) this.admin({ jid: jid.split('/')[0] ?? jid, affiliation: 'owner' });
  }

  private admin(attrs: Record<string, string>): void {
    const query = new Element('query', { xmlns: NS_MUC_ADMIN }).c('item', attrs).root();
    this.connection?.iq(new Element('iq', { type: 'set', to: this.roomJid }).cnode(query).root())
      .catch((err: unknown) => console.warn('the room refused a moderation request', err));
  }

  setRoomPassword(password: string): void {
    this.password = password || undefined;
    const form = new Element('x', { xmlns: 'jabber:x:data', type: 'submit' });
    form.c('field', { var: 'FORM_TYPE' }).c('value').t('http://jabber.org/protocol/muc#roomconfig');
    form.c('field', { var: 'muc#roomconfig_roomsecret' }).c('value').t(password);
    form.c('field', { var: 'muc#roomconfig_passwordprotectedroom' }).c('value').t(password ? '1' : '0');
    const query = new Element('query', { xmlns: 'http://jabber.org/protocol/muc#owner' }).cnode(form).root();
    this.connection?.iq(new Element('iq', { type: 'set', to: this.roomJid }).cnode(query).root())
      .catch((err: unknown) => console.warn('the room refused the password', err));
  }

  async openDocument(): Promise<{ url: string; token: string }> {
    if (!this.connection) throw new Error('not connected');
    const answer = await this.connection.iq(new Element('iq', { type: 'get', to: this.focusDomain }).cnode(buildDocumentRequest({ room: this.roomJid })).root());
    const grant = answer.getChild('document', NS_DOCUMENT);
    if (!grant) throw new Error('the focus answered without a document');
    const { path, token } = parseDocumentGrant(grant);
    return { url: new URL(path, location.href.replace(/^http/, 'ws')).toString(), token };
  }

  /** Remote mute by a moderator (§4.5): the focus relays it; only muting is possible. */
  private onRemoteMute(kind: 'audio' | 'video', _iq: Element, payload: Element): undefined {
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
    this.closeSession();
    this.media.close();
    this.connection?.close();
    this.store.setPhase({ name: 'failed', error: kind });
  }
}
