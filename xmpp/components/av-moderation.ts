/**
 * The audio/video moderation component (`avmoderation.<domain>`), as jitsi-meet's
 * resources/prosody-plugins/mod_av_moderation_component.lua behaves: a moderator of a conference
 * room enables or disables moderation of a media type, and approves (whitelists) or rejects
 * participants; the component keeps that state per room and tells the occupants with
 * `json-message`s (xmpp/protocol/av-moderation.ts). The focus, an occupant and moderator of every
 * room, learns the same state from the same messages and enforces it at the bridge, as Jicofo's
 * AvModerationHandler does.
 *
 * Differences from the Prosody module, on purpose:
 * - the room is the one the sender moderates, found by its full JID (./moderator-room.ts), not
 *   the `?room=` of its connection URL, which Salon does not keep;
 * - a refused command gets an error reply (Prosody drops it silently when the hook returns false);
 * - an occupant who leaves is taken off the whitelists (moderators get the lists again with
 *   `removed`), so a later occupant with the same nickname is not approved in its place.
 */
import type { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../errors.ts';
import { tryParseJid } from '../jid.ts';
import type { MucOccupantView, MucRoomView, MucService } from '../muc/index.ts';
import {
  buildAvModerationMessage, MODERATED_MEDIA, parseAvModerationCommand,
  type AvModerationCommand, type AvModerationNotice, type ModeratedMedia, type Whitelists,
} from '../protocol/av-moderation.ts';
import type { DomainService, Router } from '../router.ts';
import { moderatorRoom } from './moderator-room.ts';

/** One room's moderation: per enabled media type, who enabled it and the occupants approved. */
interface RoomModeration {
  enabled: Map<ModeratedMedia, { actor: string; whitelist: string[] }>;
}

export class AvModerationComponent implements DomainService {
  private readonly rooms = new Map<string, RoomModeration>();
  private readonly unsubscribe: Array<() => void>;
  /** Moderators that have the whitelists (a participant made moderator gets them once). */
  private readonly informed = new WeakSet<MucOccupantView>();

  constructor(
    readonly domain: string,
    private readonly router: Router,
    private readonly muc: MucService,
    private readonly log: Logger,
  ) {
    this.unsubscribe = [
      muc.events.on('occupant-joined', (room, occupant) => this.occupantJoined(room, occupant)),
      muc.events.on('occupant-updated', (room, occupant) => this.occupantUpdated(room, occupant)),
      muc.events.on('occupant-left', (room, occupant) => this.occupantLeft(room, occupant)),
      muc.events.on('room-destroyed', (room) => this.rooms.delete(room.jid)),
    ];
  }

  /** Moderation state of a room, for tests and the focus's debugging: media type → whitelist. */
  stateOf(roomJid: string): ReadonlyMap<ModeratedMedia, { actor: string; whitelist: readonly string[] }> {
    return this.rooms.get(roomJid)?.enabled ?? new Map();
  }

  receive(stanza: Element): void {
    // Errors are never answered (RFC 6120 §8.3.1), and only messages are commands.
    if (stanza.attrs.type === 'error') return;
    if (stanza.name !== 'message') {
      if (stanza.name === 'iq' && (stanza.attrs.type === 'get' || stanza.attrs.type === 'set')) {
        this.router.bounce(stanza, new StanzaError('cancel', 'service-unavailable'));
      }
      return;
    }
    const payload = stanza.getChild('av_moderation');
    if (!payload) return; // other messages (receipts, chat states) mean nothing here
    try {
      this.command(String(stanza.attrs.from), parseAvModerationCommand(payload));
    } catch (err) {
      if (!(err instanceof StanzaError)) {
        this.log.error({ err }, 'av_moderation command failed');
        return this.router.bounce(stanza, new StanzaError('wait', 'internal-server-error'));
      }
      this.log.debug({ from: stanza.attrs.from, condition: err.condition, text: err.text }, 'av_moderation command refused');
      this.router.bounce(stanza, err);
    }
  }

  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    this.rooms.clear();
  }

  private command(from: string, command: AvModerationCommand): void {
    const { room, occupant } = moderatorRoom(this.muc, from, 'moderate audio and video');
    if (command.action === 'enable') return this.setEnabled(room, occupant, command.mediaType, command.enable);
    const target = this.occupantOf(room, command.occupantJid);
    const state = this.rooms.get(room.jid);
    if (command.action === 'approve') {
      const moderated = state?.enabled.get(command.mediaType);
      if (!state || !moderated) {
        // Moderation is off for that media: the moderator is only asking the participant to unmute.
        this.send(target, { kind: 'approved', room: room.jid, mediaType: command.mediaType });
        return;
      }
      if (!moderated.whitelist.includes(target.occupantJid)) moderated.whitelist.push(target.occupantJid);
      this.log.info({ room: room.jid, mediaType: command.mediaType, approved: target.nick, by: occupant.nick }, 'participant approved');
      this.whitelistChanged(room, state, command.mediaType, false, target);
      return;
    }
    const moderated = state?.enabled.get(command.mediaType);
    const index = moderated?.whitelist.indexOf(target.occupantJid) ?? -1;
    if (!state || !moderated || index < 0) return; // nothing to take back
    moderated.whitelist.splice(index, 1);
    this.log.info({ room: room.jid, mediaType: command.mediaType, rejected: target.nick, by: occupant.nick }, 'participant rejected');
    this.whitelistChanged(room, state, command.mediaType, true, target);
  }

  private occupantOf(room: MucRoomView, occupantJid: string): MucOccupantView {
    const jid = tryParseJid(occupantJid);
    const occupant = jid && jid.bare === room.jid && jid.resource ? room.occupants.get(jid.resource) : undefined;
    if (!occupant) throw new StanzaError('cancel', 'item-not-found', `no occupant ${occupantJid} in this conference`);
    return occupant;
  }

  private setEnabled(room: MucRoomView, actor: MucOccupantView, mediaType: ModeratedMedia, enable: boolean): void {
    let state = this.rooms.get(room.jid);
    // The same state again is a concurrent request of two moderators: nothing changes, nobody is told.
    if (enable === (state?.enabled.has(mediaType) ?? false)) return;
    if (enable) {
      if (!state) this.rooms.set(room.jid, (state = { enabled: new Map() }));
      state.enabled.set(mediaType, { actor: actor.occupantJid, whitelist: [] });
    } else {
      state!.enabled.delete(mediaType);
      if (state!.enabled.size === 0) this.rooms.delete(room.jid);
    }
    this.log.info({ room: room.jid, mediaType, enabled: enable, by: actor.nick }, 'A/V moderation changed');
    const notice: AvModerationNotice = { kind: 'enabled', room: room.jid, mediaType, enabled: enable, actor: actor.occupantJid };
    for (const occupant of room.occupants.values()) this.send(occupant, notice);
  }

  /** Moderators get the lists; the participant concerned, if not a moderator, its approval or rejection. */
  private whitelistChanged(room: MucRoomView, state: RoomModeration, mediaType: ModeratedMedia, removed: boolean, target: MucOccupantView | undefined): void {
    const lists: AvModerationNotice = { kind: 'whitelists', room: room.jid, mediaType, whitelists: whitelists(state), ...(removed ? { removed } : {}) };
    for (const occupant of room.occupants.values()) {
      if (occupant.role === 'moderator') this.send(occupant, lists);
      else if (occupant === target) this.send(occupant, { kind: removed ? 'rejected' : 'approved', room: room.jid, mediaType });
    }
  }

  /** A newcomer learns what is moderated (and, a moderator, the whitelists), as Jitsi does on join. */
  private occupantJoined(room: MucRoomView, occupant: MucOccupantView): void {
    const state = this.rooms.get(room.jid);
    if (!state) return;
    for (const [mediaType, { actor }] of state.enabled) this.send(occupant, { kind: 'enabled', room: room.jid, mediaType, enabled: true, actor });
    if (occupant.role === 'moderator') this.send(occupant, { kind: 'whitelists', room: room.jid, whitelists: whitelists(state) });
  }

  /** Made moderator (owner granted): it gets the whitelists it has not had. */
  private occupantUpdated(room: MucRoomView, occupant: MucOccupantView): void {
    if (occupant.role !== 'moderator') {
      this.informed.delete(occupant);
      return;
    }
    const state = this.rooms.get(room.jid);
    if (!state || this.informed.has(occupant)) return;
    this.send(occupant, { kind: 'whitelists', room: room.jid, whitelists: whitelists(state) });
  }

  private occupantLeft(room: MucRoomView, occupant: MucOccupantView): void {
    this.informed.delete(occupant);
    const state = this.rooms.get(room.jid);
    if (!state || room.occupants.size === 0) return;
    for (const [mediaType, moderated] of state.enabled) {
      const index = moderated.whitelist.indexOf(occupant.occupantJid);
      if (index < 0) continue;
      moderated.whitelist.splice(index, 1);
      this.whitelistChanged(room, state, mediaType, true, undefined);
    }
  }

  private send(occupant: MucOccupantView, notice: AvModerationNotice): void {
    if (notice.kind === 'whitelists') this.informed.add(occupant);
    this.router.route(buildAvModerationMessage(this.domain, occupant.realJid.full, notice));
  }
}

function whitelists(state: RoomModeration): Whitelists {
  const lists: Whitelists = {};
  for (const media of MODERATED_MEDIA) {
    const moderated = state.enabled.get(media);
    if (moderated) lists[media] = [...moderated.whitelist];
  }
  return lists;
}
