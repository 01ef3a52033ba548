/**
 * What a room needs from the MUC service that owns it: the router, the service options, the
 * event listeners, extension hooks and the service-wide admin list.
 */
import type { Router } from '../router.ts';
import type { DataFormField } from '../protocol/dataform.ts';
import type { MucWhois } from '../protocol/muc-user.ts';
import type { TypedEvents } from './events.ts';
import type { MucOccupantView } from './occupant.ts';
import type { MucRoomView, RoomConfig } from './room.ts';

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
