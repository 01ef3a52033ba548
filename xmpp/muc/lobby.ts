/**
 * Jitsi's lobby (jitsi/jitsi-meet resources/prosody-plugins/mod_muc_lobby_rooms.lua, as
 * lib-jitsi-meet modules/xmpp/Lobby.js drives it): a conference room that is members-only has a
 * lobby room `<room>@<lobby domain>` where people who are not members wait ("knock") until a
 * moderator lets them in (a mediated invitation to the main room makes them members) or turns them
 * away (a kick from the lobby room).
 *
 * - Switching: the lobby room exists exactly while the main room is members-only. A moderator
 *   switches it with the muc#owner form (`muc#roomconfig_membersonly`); the people already in the
 *   room are made members first, so nobody is removed (mod_muc_lobby_rooms handle_create_lobby).
 *   Switching off destroys the lobby room with the main room as alternate venue, on which waiting
 *   clients join the main room; the main room ending destroys it without one.
 * - Joining a members-only main room without being a member: refused with registration-required
 *   and the lobby room's JID, or displayname-required when no `<nick>` was sent. Members and
 *   above, the focus, those the bypass rule admits (agents) and those giving the room password
 *   enter, and become members.
 * - In the lobby room, affiliations are the main room's while one moderates there (owners there are
 *   owners here, other moderators of the main room are admins here), so moderators moderate and
 *   knockers are participants. A moderator that stops moderating the main room (demoted, or gone
 *   from it) is removed from the lobby room at once (321), as roles are set at join.
 *   Knockers see no one but themselves and reach only moderators; moderators see knockers, with
 *   their real JIDs, nicks and whatever else their presence carries (e-mail), not each other;
 *   disco#items of the lobby room lists only what the requester sees.
 * - The main room hears `lobby-notify` messages from the moderator who switched the lobby, let
 *   someone in or turned someone away.
 */
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { parseJid, type Jid } from '../jid.ts';
import type { Router } from '../router.ts';
import { NS_CLIENT } from '../stanza.ts';
import { field } from '../protocol/dataform.ts';
import { AFFILIATION_RANK, MucStatus, NS_MUC, type MucAffiliation } from '../protocol/muc-user.ts';
import type { MucRoomExtension } from './context.ts';
import { JoinRefusal } from './join.ts';
import {
  buildDisplayNameRequired, buildLobbyNotify, buildLobbyRoom, FIELD_LOBBY_ROOM, LOBBY_IDENTITY_TYPE, NS_NICK, type LobbyNotify,
} from './lobby-protocol.ts';
import type { MucOccupantView } from './occupant.ts';
import { isPasswordProtected, passwordMatches } from './password.ts';
import type { MucRoom, MucRoomView } from './room.ts';
import { MucService, type MucServiceOptions } from './service.ts';

export interface LobbyOptions {
  /** The lobby MUC domain; docker-jitsi-meet's is `lobby.meet.jitsi`. */
  domain: string;
  /** Service admins (the focus): owners of every lobby room, as of every conference room. */
  admins: ReadonlySet<string>;
  /** Knockers without a display name are refused (mod_muc_lobby_rooms muc_lobby_check_display_name_required, default true). */
  displayNameRequired: boolean;
  /** Default 500, as the conference rooms. */
  maxOccupantsPerRoom?: number;
  /** Knocks allowed per client (MucServiceOptions.joinAttempts); none: unlimited. */
  knockAttempts?: MucServiceOptions['joinAttempts'];
}

/** Whether the session `realJid` enters the members-only `room` without knocking (agents). */
export type LobbyBypass = (request: { room: MucRoomView; realJid: Jid }) => boolean;

/** Jitsi's reason when the lobby room goes (destroy_lobby_room). */
const LOBBY_CLOSED = 'Lobby room closed.';
/** Why a moderator of the lobby is removed from it when it stops moderating the conference. */
const NO_LONGER_MODERATOR = 'No longer a moderator of the conference.';

function displayName(occupant: MucOccupantView): string | undefined {
  return occupant.presence.getChildText('nick', NS_NICK) || undefined;
}

export class Lobby {
  /** The lobby MUC service, to register with the router. */
  readonly service: MucService;
  /** Main room JID → its lobby room, while its lobby is on; and lobby room JID back to the main room. */
  private readonly lobbies = new Map<string, MucRoom>();
  private readonly mains = new Map<string, MucRoom>();
  private bypass: LobbyBypass | undefined;
  private readonly disposers: Array<() => void> = [];
  private closed = false;

  constructor(router: Router, private readonly log: Logger, private readonly main: MucService, private readonly options: LobbyOptions) {
    this.service = new MucService(router, log, {
      domain: options.domain,
      name: 'Lobby',
      admins: options.admins,
      // Lobby rooms are made by the server only (restrict_room_creation in Jitsi's lobby component).
      restrictRoomCreation: true,
      maxOccupantsPerRoom: options.maxOccupantsPerRoom ?? 500,
      ...(options.knockAttempts ? { joinAttempts: options.knockAttempts } : {}),
      maxHistoryMessages: 0,
      defaultWhois: 'anyone',
      // Kept while empty (a moderator may leave and come back), never listed.
      roomDefaults: { persistent: true, public: false },
      hideRooms: true,
      // lib-jitsi-meet asks the lobby domain for disco#info node `lobbyrooms` (mod_muc_lobby_rooms
      // answers it from its host-disco-info-node hook).
      infoNodes: new Set([LOBBY_IDENTITY_TYPE]),
    });
    this.disposers.push(
      main.addExtension(this.mainRoomExtension()),
      this.service.addExtension(this.lobbyRoomExtension()),
      main.events.on('room-destroyed', (room) => this.switchOff(room.jid, undefined)),
      // Moderation of the lobby is held through moderation of the conference: it ends with it.
      main.events.on('occupant-updated', (room, occupant) => {
        if (occupant.role !== 'moderator') this.revokeLobbyModeration(room, occupant.realJid.bare);
      }),
      main.events.on('occupant-left', (room, occupant) => this.revokeLobbyModeration(room, occupant.realJid.bare)),
      // A lobby room destroyed by other means (its owner's muc#owner destroy) is forgotten, and
      // made again by the next knock.
      this.service.events.on('room-destroyed', (room) => {
        const main = this.mains.get(room.jid);
        if (main && this.lobbies.get(main.jid)?.jid === room.jid) this.lobbies.delete(main.jid);
        this.mains.delete(room.jid);
      }),
    );
  }

  /** Sets who enters members-only rooms without knocking (besides members, owners and admins). */
  setBypass(bypass: LobbyBypass | undefined): void {
    this.bypass = bypass;
  }

  /** The lobby room of a main room, while its lobby is on. */
  lobbyRoomOf(mainRoomJid: string): string | undefined {
    return this.lobbies.get(mainRoomJid)?.jid;
  }

  /** Closes every lobby room (waiting clients get `<destroy/>`); idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const dispose of this.disposers.splice(0).reverse()) dispose();
    this.lobbies.clear();
    this.mains.clear();
    this.service.close();
  }

  /** Opens the lobby room of `main` (or finds it); returns its JID. */
  private switchOn(main: MucRoom): string {
    const known = this.lobbies.get(main.jid);
    if (known && this.service.room(known.jid) === known) return known.jid;
    const lobbyJid = `${parseJid(main.jid).local}@${this.service.domain}`;
    this.lobbies.set(main.jid, this.service.openRoom(lobbyJid));
    this.mains.set(lobbyJid, main);
    this.log.info({ room: main.jid, lobby: lobbyJid }, 'lobby on');
    return lobbyJid;
  }

  /** Destroys the lobby room of `mainJid`, sending waiting clients to `venue` if given. */
  private switchOff(mainJid: string, venue: string | undefined): void {
    const lobbyJid = this.lobbies.get(mainJid)?.jid;
    if (lobbyJid === undefined) return;
    this.lobbies.delete(mainJid);
    this.mains.delete(lobbyJid);
    this.service.destroyRoom(lobbyJid, venue ? { jid: venue, reason: LOBBY_CLOSED } : { reason: LOBBY_CLOSED });
    this.log.info({ room: mainJid, lobby: lobbyJid }, 'lobby off');
  }

  /** The main room of a lobby room. */
  private mainRoomOf(lobbyJid: string): MucRoom | undefined {
    return this.mains.get(lobbyJid);
  }

  /**
   * A groupchat `lobby-notify` message in the main room from the actor's occupant there
   * (mod_muc_lobby_rooms broadcast_json_msg); nothing when the actor is not in it (the focus).
   */
  private notify(main: MucRoom, actor: string | undefined, notify: LobbyNotify): void {
    const occupant = actor === undefined ? undefined : main.occupantByRealJid(actor);
    if (!occupant) return;
    const message = new Element('message', { xmlns: NS_CLIENT, type: 'groupchat', from: occupant.occupantJid });
    message.cnode(buildLobbyNotify(notify));
    main.broadcastMessage(message);
  }

  private mainRoomExtension(): MucRoomExtension {
    return {
      roomInfoFields: (room) => {
        const lobbyJid = this.lobbies.get(room.jid)?.jid;
        return lobbyJid !== undefined && room.config.membersOnly ? [field.text(FIELD_LOBBY_ROOM, lobbyJid, 'Lobby room jid')] : [];
      },
      admission: (room, join) => {
        if (!room.config.membersOnly) return;
        // A room created members-only (lobby on by default) gets its lobby at its first join, the focus's.
        const lobbyJid = this.switchOn(room);
        const password = join.presence.getChild('x', NS_MUC)?.getChildText('password') ?? undefined;
        // mod_muc_lobby_rooms: a member let in from the lobby does not need the room password
        // (the invitation never carries it), unless it gives one, which must then be right.
        if (join.affiliation === 'member') return password === undefined ? { waivePassword: true } : undefined;
        if (AFFILIATION_RANK[join.affiliation] >= AFFILIATION_RANK.member) return;
        if (this.bypass?.({ room, realJid: join.realJid })) return { makeMember: true };
        // mod_muc_lobby_rooms: the room password lets one in without knocking.
        if (isPasswordProtected(room.config) && passwordMatches(room.config.password, password)) return { makeMember: true };
        const nick = join.presence.getChildText('nick', NS_NICK);
        if (this.options.displayNameRequired && !nick) {
          throw new JoinRefusal('modify', 'not-acceptable', 'a display name is required to knock', buildDisplayNameRequired(), [], '406');
        }
        throw new JoinRefusal('auth', 'registration-required', 'this conference has a lobby: knock there',
          buildLobbyRoom(lobbyJid, true), [buildLobbyRoom(lobbyJid, false)], '407');
      },
      configChanged: (room, _previous, actor) => {
        const known = this.lobbies.has(room.jid);
        if (room.config.membersOnly && !known) {
          this.admitEveryonePresent(room);
          this.switchOn(room);
          this.notify(room, actor?.full, { event: 'LOBBY-ENABLED', value: true });
        } else if (!room.config.membersOnly && known) {
          this.switchOff(room.jid, room.jid);
          this.notify(room, actor?.full, { event: 'LOBBY-ENABLED', value: false });
        }
      },
      invited: (room, inviter, invitee) => {
        const knocker = this.lobbies.get(room.jid)?.occupantByRealJid(invitee.full);
        if (!knocker) return;
        const name = displayName(knocker);
        this.notify(room, inviter.realJid.full, { event: 'LOBBY-ACCESS-GRANTED', value: knocker.occupantJid, ...(name ? { name } : {}) });
      },
    };
  }

  /**
   * Removes from the lobby room of `main` the occupants of `bareJid` that moderate there but no
   * longer moderate the conference (demoted, or gone from it): a role is set once, at join, so
   * without this a former moderator would keep seeing knockers' real JIDs and turning them away.
   * They get their unavailable presence with 321 (their standing changed), which no one else sees.
   */
  private revokeLobbyModeration(main: MucRoomView, bareJid: string): void {
    const lobby = this.lobbies.get(main.jid);
    // A conference that ends takes its lobby room with it (switchOff), waiting clients told why.
    if (!lobby || this.mains.get(lobby.jid)?.destroyed !== false) return;
    const stays = lobby.defaultRole(lobby.affiliationOf(bareJid)) === 'moderator';
    if (stays) return;
    for (const occupant of lobby.occupantsOf(bareJid)) {
      if (occupant.role !== 'moderator') continue;
      lobby.evict(occupant, [MucStatus.affiliationChanged], { reason: NO_LONGER_MODERATOR });
      this.log.info({ room: main.jid, lobby: lobby.jid, jid: occupant.realJid.full }, 'lobby moderation revoked');
    }
  }

  /**
   * Makes every occupant without affiliation a member (mod_muc_lobby_rooms handle_create_lobby):
   * switching the lobby on keeps the people already in the conference.
   */
  private admitEveryonePresent(room: MucRoom): void {
    for (const occupant of [...room.occupants.values()]) {
      if (room.affiliationOf(occupant.realJid.bare) !== 'none') continue;
      room.recordAffiliation(occupant.realJid.bare, 'member');
      for (const session of room.occupantsOf(occupant.realJid.bare)) {
        if (session.affiliation !== 'none') continue;
        session.setAffiliation('member');
        room.broadcastChange(session, {});
      }
    }
  }

  private lobbyRoomExtension(): MucRoomExtension {
    return {
      // mod_muc_lobby_rooms reads the main room's affiliation at every use (its lobby room_mt.get_affiliation,
      // filter_stanza); here the lobby affiliation is that of a moderator of the main room while one of
      // its sessions moderates there (owners and admins, and moderators by role, granted with muc#admin
      // without affiliation), so an owner who left the conference does not moderate its lobby.
      affiliationOf: (room, bareJid): MucAffiliation => {
        const main = this.mainRoomOf(room.jid);
        if (!main) return 'none';
        const affiliation = main.affiliationOf(bareJid);
        if (affiliation === 'none' || affiliation === 'outcast') return affiliation;
        if (main.occupantsOf(bareJid).some((o) => o.role === 'moderator')) return affiliation === 'member' ? 'admin' : affiliation;
        return 'member';
      },
      // mod_muc_lobby_rooms filter_stanza: knockers' presences go to moderators only, moderators'
      // to no one; messages only between a moderator and anyone.
      presenceVisible: (_room, viewer, subject) => viewer.role === 'moderator' && subject.role !== 'moderator',
      messageVisible: (_room, viewer, sender) => viewer.role === 'moderator' || sender.role === 'moderator',
      // Nobody waiting sends invitations from the lobby room (they would come from the conference's name).
      mayInvite: (_room, inviter) => inviter.role === 'moderator',
      removed: (room, occupant, statuses, extras) => {
        if (!statuses.includes(MucStatus.kicked) || occupant.role === 'moderator') return;
        const main = this.mainRoomOf(room.jid);
        if (!main) return;
        const name = displayName(occupant);
        this.notify(main, extras.actor?.jid, { event: 'LOBBY-ACCESS-DENIED', value: occupant.occupantJid, ...(name ? { name } : {}) });
      },
    };
  }
}
