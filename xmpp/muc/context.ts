/**
 * What a room needs from the MUC service that owns it: the router, the service options, the
 * event listeners, extension hooks and the service-wide admin list.
 */
import type { Element } from 'ltx';
import type { Jid } from '../jid.ts';
import type { Router } from '../router.ts';
import type { DataFormField } from '../protocol/dataform.ts';
import type { MucAffiliation, MucWhois } from '../protocol/muc-user.ts';
import type { TypedEvents } from './events.ts';
import type { ItemExtras, MucOccupantView, Occupant } from './occupant.ts';
import type { MucRoom, MucRoomView, RoomConfig } from './room.ts';

/** Events of a MUC service. Listeners run synchronously after the state change they report. */
export interface MucEvents {
  'room-created': (room: MucRoomView) => void;
  'room-destroyed': (room: MucRoomView) => void;
  'occupant-joined': (room: MucRoomView, occupant: MucOccupantView) => void;
  'occupant-left': (room: MucRoomView, occupant: MucOccupantView) => void;
  /** Presence, role or affiliation changed. */
  'occupant-updated': (room: MucRoomView, occupant: MucOccupantView) => void;
  /** Nick change (§7.6); `occupant.nick` is the new nick. */
  'occupant-renamed': (room: MucRoomView, occupant: MucOccupantView, oldNick: string) => void;
}

/**
 * Hooks for features layered on rooms (Jitsi's lobby, breakout rooms): extra disco#info features
 * and muc#roominfo fields, and extra fields of the owner configuration form.
 */
export interface MucRoomExtension {
  discoFeatures?(room: MucRoomView): string[];
  roomInfoFields?(room: MucRoomView): DataFormField[];
  configFields?(room: MucRoomView): DataFormField[];
  /**
   * Before a new occupant enters (Prosody's muc-occupant-pre-join): throws the StanzaError the
   * joiner gets, or may make it a member first (a lobby bypass) or let it in without the room
   * password (a member let in from the lobby).
   */
  admission?(room: MucRoom, join: { realJid: Jid; nick: string; presence: Element; affiliation: MucAffiliation }): MucAdmission | void;
  /** An affiliation that replaces the room's own (lobby rooms take the main room's). */
  affiliationOf?(room: MucRoomView, bareJid: string): MucAffiliation | undefined;
  /** Whether `viewer` receives `subject`'s presence; default yes (self presence always goes). */
  presenceVisible?(room: MucRoomView, viewer: MucOccupantView, subject: MucOccupantView): boolean;
  /** Whether `viewer` receives a groupchat, private message or IQ from `sender`; default yes. */
  messageVisible?(room: MucRoomView, viewer: MucOccupantView, sender: MucOccupantView): boolean;
  /** After a configuration change is installed, before non-members are removed from a members-only room. */
  configChanged?(room: MucRoom, previous: Readonly<RoomConfig>, actor: Jid | undefined): void;
  /** Whether `inviter` may send mediated invitations (lobby rooms: moderators only); default yes. */
  mayInvite?(room: MucRoomView, inviter: MucOccupantView): boolean;
  /** After a mediated invitation was relayed (and the invitee made a member of a members-only room). */
  invited?(room: MucRoom, inviter: Occupant, invitee: Jid): void;
  /** After an occupant was removed by the room (kick 307, ban 301, …), with what its item said. */
  removed?(room: MucRoom, occupant: Occupant, statuses: readonly number[], extras: ItemExtras): void;
}

/** What a feature decides about a join (MucRoomExtension.admission). */
export interface MucAdmission {
  /** Record the joiner (without affiliation) as a member before it enters. */
  makeMember?: boolean;
  /** Let it in without the room password. */
  waivePassword?: boolean;
}

/** The service options a room reads. */
export interface RoomLimits {
  readonly domain: string;
  readonly maxOccupantsPerRoom: number;
  readonly maxHistoryMessages: number;
  readonly defaultWhois: MucWhois;
  readonly roomDefaults: Partial<RoomConfig>;
}

export interface RoomContext {
  readonly router: Router;
  readonly limits: RoomLimits;
  readonly events: TypedEvents<MucEvents>;
  readonly extensions: ReadonlySet<MucRoomExtension>;
  /** Key of the MAC in rewritten IQ ids (iq-proxy.ts). */
  readonly proxyKey: Uint8Array;
  /** Service admins are owners of every room (Prosody's `admins`). */
  isServiceAdmin(bareJid: string): boolean;
  now(): number;
}
