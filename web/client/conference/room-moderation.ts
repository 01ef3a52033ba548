/**
 * The room's moderation features beside the conference's own signalling, as lib-jitsi-meet has
 * them (modules/xmpp/xmpp.js, ChatRoom.js, Lobby.js, AVModeration.js of the pinned bundle):
 * - which optional components the deployment has (main domain disco#info, protocol notes §2.6);
 * - what the room says of itself (disco#info after joining and on each 104 configuration change);
 * - the lobby (§4.9): knocking when a members-only room refuses us, and for moderators the lobby
 *   switch, the people waiting, admission and refusal;
 * - ending the meeting for everyone, and microphone moderation (A/V moderation component, §4.8).
 * The conference client owns it and hands it its stanzas; it reaches the room and the user's
 * state only through `ModerationHost`.
 */
import { Element } from 'ltx';
import { tryParseJid } from '../../../xmpp/jid.ts';
import { NS_DISCO_INFO } from '../../../xmpp/protocol/disco.ts';
import type { XmppConnection } from '../xmpp/connection.ts';
import type { ConferenceStore } from './conference-store.ts';
import { LobbyRoom } from './lobby-room.ts';
import type { ConferenceErrorKind } from './model.ts';
import {
  buildAvModerationApproval, buildAvModerationSwitch, buildEndConference, buildMembersOnlyRequest, buildMembershipGrant,
  parseAvModerationMessage, parseDomainComponents, parseRoomInfo, readMucUser, type DomainComponents,
} from './moderation-stanzas.ts';

/** What moderation needs of the conference it belongs to. */
export interface ModerationHost {
  readonly roomJid: string;
  /** The main XMPP domain (config.js `hosts.domain`), whose disco#info names the components. */
  readonly domain: string;
  readonly store: ConferenceStore;
  /** The current connection (it changes on a rejoin or a sign-in). */
  connection(): XmppConnection | undefined;
  /** Our nick in the room (and in its lobby). */
  nick(): string;
  displayName(): string;
  setDisplayName(name: string): void;
  isModerator(): boolean;
  /** The main room's occupants, as their presence gave them. */
  occupants(): Iterable<{ readonly jid: string | undefined; readonly affiliation: string | undefined }>;
  /** The room has a password (we set one, or we were given one). */
  hasPassword(): boolean;
  /** A moderator admitted us: the conference sends its join presence again. */
  enterRoom(): void;
  /** A moderator refused us at the lobby. */
  denied(): void;
  fail(kind: ConferenceErrorKind): void;
  /** A moderator let us speak: the raised hand that asked is lowered. */
  lowerHand(): void;
  ended(): boolean;
}

const NO_COMPONENTS: DomainComponents = { avModeration: undefined, endConference: undefined, lobby: undefined };

export class RoomModeration {
  private components: DomainComponents = NO_COMPONENTS;
  /** The room's lobby (members-only rooms), from a refused join or the room's disco#info. */
  private lobbyJid: string | undefined;
  private lobby: LobbyRoom | undefined;
  /** The room said (disco#info) it is password-protected. */
  private locked = false;
  /** The room described itself once: later changes of its lobby are announced. */
  private knownRoomInfo = false;
  /** A moderator let us unmute while microphones are moderated. */
  private audioApproved = false;

  constructor(private readonly host: ModerationHost) {}

  private get store(): ConferenceStore {
    return this.host.store;
  }

  /**
   * Which optional components the deployment has: lib-jitsi-meet reads the identities of the main
   * domain's disco#info. Absent or failing: the features stay off.
   */
  discoverComponents(connection: XmppConnection): void {
    const query = new Element('iq', { type: 'get', to: this.host.domain }).c('query', { xmlns: NS_DISCO_INFO }).root();
    connection.iq(query).then((result) => {
      if (connection !== this.host.connection()) return;
      const components = parseDomainComponents(result.getChild('query', NS_DISCO_INFO) ?? result);
      this.components = components;
      this.store.setModeration({
        lobbySupported: components.lobby !== undefined,
        canEndForEveryone: components.endConference !== undefined,
        avModerationSupported: components.avModeration !== undefined,
      });
    }).catch((err: unknown) => console.warn('the service did not say which components it has', err));
  }

  /** Handles a stanza of the lobby room or of the A/V moderation component; false for anything else. */
  handle(stanza: Element): boolean {
    if (this.lobby?.handle(stanza)) return true;
    const from = String(stanza.attrs.from ?? '');
    if (stanza.name !== 'message' || from === '' || from !== this.components.avModeration) return false;
    this.onAvModeration(stanza);
    return true;
  }

  /** A message from the room itself: an invitation admits us; a 104 configuration change is read again. */
  onRoomMessage(message: Element): void {
    if (message.attrs.type === 'error') return;
    const mucUser = readMucUser(message);
    // The room's invitation: a moderator admitted us from the lobby (Lobby.js, INVITE_MESSAGE_RECEIVED).
    if (mucUser && mucUser.invites.length > 0) return this.enterFromLobby();
    if (mucUser?.statuses.includes(104) && this.store.state.phase.name === 'joined') this.discoverRoom();
  }

  /** We are in the room: a knocker leaves the lobby (as Lobby.js does once the main room is joined); the room is asked about itself. */
  onJoined(): void {
    if (this.lobby?.role === 'knocker') this.leaveLobby();
    this.discoverRoom();
  }

  /** Someone entered the main room: a knocker who came in is no longer waiting. */
  onOccupantJoined(): void {
    this.lobby?.refresh();
  }

  /** Our role changed: a moderator sees the lobby and may always unmute. */
  onLocalRole(): void {
    this.updateMayUnmute();
    this.maybeWatchLobby();
  }

  /** Our join was refused because the lobby is on: the knock step (name, "Ask to join"). */
  onMembersOnly(lobbyRoom: string | undefined): void {
    if (lobbyRoom) this.lobbyJid = lobbyRoom;
    if (!this.lobbyJid && !this.defaultLobbyJid()) return this.host.fail('not-allowed');
    // Refused again while already knocking (a late presence): nothing new.
    if (this.lobby?.role === 'knocker') return;
    this.store.setModeration({ lobbyEnabled: true, lobbySupported: true });
    this.store.setPhase({ name: 'lobby', step: 'knock' });
  }

  knock(displayName: string): void {
    const phase = this.store.state.phase;
    const connection = this.host.connection();
    if (phase.name !== 'lobby' || phase.step !== 'knock' || !connection || this.host.ended()) return;
    const lobbyJid = this.lobbyJid ?? this.defaultLobbyJid();
    if (!lobbyJid) return this.host.fail('not-allowed');
    if (displayName.trim()) this.host.setDisplayName(displayName);
    this.lobby = new LobbyRoom(connection, lobbyJid, 'knocker', this.host.nick(), () => false, {
      knockers: () => undefined,
      knock: () => undefined,
      denied: () => {
        this.lobby = undefined;
        this.host.denied();
      },
      // The lobby was turned off (destroyed, pointing at the main room): we go in.
      admitted: () => this.enterFromLobby(),
      gone: () => {
        this.lobby = undefined;
        this.host.fail('not-allowed');
      },
    });
    this.lobby.join(this.host.displayName());
    this.store.setPhase({ name: 'lobby', step: 'waiting' });
  }

  setLobbyEnabled(on: boolean): Promise<boolean> {
    const connection = this.host.connection();
    if (!connection || !this.host.isModerator()) return Promise.resolve(false);
    if (on) {
      // Everyone present becomes a member first, so a rejoin does not land in the lobby (ChatRoom.setMembersOnly).
      for (const occupant of this.host.occupants()) {
        const bare = tryParseJid(occupant.jid)?.bare;
        if (bare && !['member', 'admin', 'owner'].includes(occupant.affiliation ?? 'none')) {
          connection.iq(buildMembershipGrant(this.host.roomJid, bare)).catch((err: unknown) => console.warn('the room refused a membership', err));
        }
      }
    }
    return connection.iq(buildMembersOnlyRequest(this.host.roomJid, on, this.locked || this.host.hasPassword()))
      .then(() => {
        this.discoverRoom();
        return true;
      }, (err: unknown) => {
        console.warn('the room refused to change its lobby', err);
        return false;
      });
  }

  admitKnocker(id: string): void {
    if (this.lobby?.role === 'moderator') this.lobby.admit(id, this.host.roomJid);
  }

  denyKnocker(id: string): void {
    if (this.lobby?.role === 'moderator') this.lobby.deny(id);
  }

  endForEveryone(): void {
    const component = this.components.endConference;
    if (component && this.host.isModerator()) this.host.connection()?.send(buildEndConference(component));
  }

  setAudioModeration(on: boolean): void {
    const component = this.components.avModeration;
    if (component && this.host.isModerator()) this.host.connection()?.send(buildAvModerationSwitch(component, on, 'audio'));
  }

  allowToSpeak(id: string): void {
    const component = this.components.avModeration;
    if (component && this.host.isModerator()) {
      this.host.connection()?.send(buildAvModerationApproval(component, `${this.host.roomJid}/${id}`, 'audio'));
    }
  }

  /** The conference ends: leaving (hangup) says goodbye to the lobby too. */
  close(leaving: boolean): void {
    if (leaving) this.lobby?.leave();
    this.lobby = undefined;
  }

  /**
   * A new session replaces the old one (rejoin): the lobby occupancy went with it, and so did what
   * the A/V moderation component knew of it (an approval is the old occupant's: the component tells
   * the new one whether the room is moderated, and a moderator approves it again).
   */
  reset(): void {
    this.lobby = undefined;
    this.audioApproved = false;
    this.store.setModeration({ knockers: [], audioModerated: false, allowedToSpeak: [] });
    this.updateMayUnmute();
  }

  /** The room's disco#info, as ChatRoom.discoRoomInfo reads it. */
  private discoverRoom(): void {
    const connection = this.host.connection();
    if (!connection) return;
    const query = new Element('iq', { type: 'get', to: this.host.roomJid }).c('query', { xmlns: NS_DISCO_INFO }).root();
    connection.iq(query).then((result) => {
      if (connection !== this.host.connection() || this.host.ended()) return;
      const info = parseRoomInfo(result.getChild('query', NS_DISCO_INFO) ?? result);
      this.locked = info.passwordProtected;
      if (info.lobbyRoom) this.lobbyJid = info.lobbyRoom;
      const before = this.store.state.moderation.lobbyEnabled;
      this.store.setModeration({ lobbyEnabled: info.membersOnly, ...(info.lobbyRoom ? { lobbySupported: true } : {}) });
      if (before !== info.membersOnly && this.knownRoomInfo) this.store.notice({ kind: info.membersOnly ? 'lobby-on' : 'lobby-off' });
      this.knownRoomInfo = true;
      this.maybeWatchLobby();
    }).catch((err: unknown) => console.warn('the room did not describe itself', err));
  }

  /** A moderator of a members-only room sits in its lobby to see who knocks (Lobby._maybeJoinLobbyRoom). */
  private maybeWatchLobby(): void {
    const connection = this.host.connection();
    const wanted = this.store.state.phase.name === 'joined' && this.host.isModerator() && this.store.state.moderation.lobbyEnabled;
    if (this.lobby && this.lobby.role === 'moderator' && !wanted) return this.leaveLobby();
    if (!wanted || this.lobby || !connection) return;
    const lobbyJid = this.lobbyJid ?? this.defaultLobbyJid();
    if (!lobbyJid) return;
    const inMainRoom = (jid: string): boolean => [...this.host.occupants()].some((o) => o.jid === jid);
    this.lobby = new LobbyRoom(connection, lobbyJid, 'moderator', this.host.nick(), inMainRoom, {
      knockers: (knockers) => this.store.setModeration({ knockers }),
      knock: (knocker) => this.store.notice({ kind: 'knocking', name: knocker.displayName }),
      denied: () => undefined,
      admitted: () => undefined,
      gone: () => {
        this.lobby = undefined;
        this.store.setModeration({ knockers: [] });
      },
    });
    this.lobby.join(this.host.displayName());
  }

  /** Without a lobby room named by the room, the one of the lobby service (`<room>@lobby.<domain>`). */
  private defaultLobbyJid(): string | undefined {
    const service = this.components.lobby;
    const room = this.host.roomJid;
    return service ? `${room.slice(0, room.indexOf('@'))}@${service}` : undefined;
  }

  private leaveLobby(): void {
    this.lobby?.leave();
    this.lobby = undefined;
    this.store.setModeration({ knockers: [] });
  }

  /** A moderator let us in (the room's invitation, or the lobby closed): we join the main room again. */
  private enterFromLobby(): void {
    if (this.store.state.phase.name !== 'lobby' || this.host.ended()) return;
    this.store.setPhase({ name: 'connecting' });
    this.host.enterRoom();
  }

  /** What the A/V moderation component says (AVModeration._onMessage); only microphones are moderated here. */
  private onAvModeration(message: Element): void {
    const event = parseAvModerationMessage(message);
    if (!event || event.mediaType !== 'audio') return;
    switch (event.kind) {
      case 'enabled':
        if (event.enabled === this.store.state.moderation.audioModerated) return;
        this.audioApproved = false;
        this.store.setModeration({ audioModerated: event.enabled, allowedToSpeak: [] });
        this.store.notice({ kind: event.enabled ? 'audio-moderation-on' : 'audio-moderation-off' });
        break;
      case 'approved':
        this.audioApproved = true;
        this.store.notice({ kind: 'may-unmute' });
        // The request to speak was answered.
        this.host.lowerHand();
        break;
      case 'rejected':
        this.audioApproved = false;
        break;
      case 'whitelist': {
        // Occupant JIDs of this room → participant ids.
        const prefix = `${this.host.roomJid}/`;
        this.store.setModeration({ allowedToSpeak: event.jids.filter((j) => j.startsWith(prefix)).map((j) => j.slice(prefix.length)) });
        return;
      }
    }
    this.updateMayUnmute();
  }

  private updateMayUnmute(): void {
    const moderation = this.store.state.moderation;
    this.store.setModeration({ mayUnmute: !moderation.audioModerated || this.audioApproved || this.host.isModerator() });
  }
}
