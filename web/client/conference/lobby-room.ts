/**
 * Our occupancy of a room's lobby (protocol notes §4.9), in one of the two ways lib-jitsi-meet's
 * Lobby.js uses it:
 * - as a knocker: we wait there under our display name; a kick (307 on our own unavailable
 *   presence) is a moderator's refusal, the lobby's destruction pointing at the main room is an
 *   admission (the usual admission, the room's invitation, reaches the conference client itself);
 * - as a moderator: we see who waits (everyone but ourselves and people already in the main
 *   room), admit them with an invitation to the main room and refuse them with a kick.
 * Sends through the conference's connection; the conference hands it the stanzas from the lobby.
 */
import { Element } from 'ltx';
import { NS_MUC } from '../../../xmpp/protocol/muc-user.ts';
import type { XmppConnection } from '../xmpp/connection.ts';
import type { Knocker } from './model.ts';
import { buildLobbyAdmission, buildLobbyRefusal, readMucUser } from './moderation-stanzas.ts';
import { NS_NICK, parseOccupantPresence } from './occupant-presence.ts';

export interface LobbyRoomEvents {
  /** Moderator: the people waiting changed. */
  knockers(knockers: readonly Knocker[]): void;
  /** Moderator: someone new asks to join. */
  knock(knocker: Knocker): void;
  /** Knocker: a moderator refused us. */
  denied(): void;
  /** Knocker: the lobby was closed for the main room (turned off): we may go in. */
  admitted(): void;
  /** We are no longer in the lobby room for another reason (destroyed, refused entry). */
  gone(): void;
}

interface Waiting {
  readonly nick: string;
  readonly displayName: string;
  readonly jid: string | undefined;
}

export class LobbyRoom {
  private readonly waiting = new Map<string, Waiting>();
  private left = false;

  constructor(
    private readonly connection: XmppConnection,
    readonly jid: string,
    readonly role: 'knocker' | 'moderator',
    private readonly nick: string,
    /** Real JIDs of the main room's occupants: they are not knocking (Lobby.js ignores them too). */
    private readonly inMainRoom: (jid: string) => boolean,
    private readonly events: LobbyRoomEvents,
  ) {}

  /** Enters the lobby room under `displayName`. */
  join(displayName: string): void {
    const presence = new Element('presence', { to: `${this.jid}/${this.nick}` });
    presence.c('x', { xmlns: NS_MUC });
    presence.c('nick', { xmlns: NS_NICK }).t(displayName);
    this.connection.send(presence);
  }

  /** True when the stanza came from the lobby room (and was handled here). */
  handle(stanza: Element): boolean {
    const from = String(stanza.attrs.from ?? '');
    if (from !== this.jid && !from.startsWith(`${this.jid}/`)) return false;
    if (stanza.name === 'presence' && !this.left) this.onPresence(stanza, from);
    return true;
  }

  admit(id: string, mainRoomJid: string): void {
    const jid = this.waiting.get(id)?.jid;
    if (jid) this.connection.send(buildLobbyAdmission(mainRoomJid, jid));
  }

  deny(id: string): void {
    if (!this.waiting.has(id)) return;
    this.connection.iq(buildLobbyRefusal(this.jid, id)).catch((err: unknown) => console.warn('the lobby refused to remove a knocker', err));
  }

  /** Moderator: someone in the lobby entered the main room; they no longer wait. */
  refresh(): void {
    this.publish();
  }

  leave(): void {
    if (this.left) return;
    this.left = true;
    this.connection.send(new Element('presence', { to: `${this.jid}/${this.nick}`, type: 'unavailable' }));
    this.waiting.clear();
    if (this.role === 'moderator') this.events.knockers([]);
  }

  private onPresence(presence: Element, from: string): void {
    if (presence.attrs.type === 'error') {
      this.left = true;
      return this.events.gone();
    }
    if (!from.includes('/')) return;
    const occupant = parseOccupantPresence(presence);
    const self = occupant.nick === this.nick || occupant.statusCodes.includes(110);
    if (self) {
      if (!occupant.unavailable) return;
      this.left = true;
      this.waiting.clear();
      const destroy = readMucUser(presence)?.destroy;
      if (occupant.statusCodes.includes(307)) return this.role === 'knocker' ? this.events.denied() : this.events.gone();
      if (destroy?.jid && this.role === 'knocker') return this.events.admitted();
      if (this.role === 'moderator') this.events.knockers([]);
      return this.events.gone();
    }
    if (this.role !== 'moderator') return;
    if (occupant.unavailable) {
      if (this.waiting.delete(occupant.nick)) this.publish();
      return;
    }
    const isNew = !this.waiting.has(occupant.nick);
    const knocker = { nick: occupant.nick, displayName: occupant.displayName || occupant.nick, jid: occupant.jid };
    this.waiting.set(occupant.nick, knocker);
    this.publish();
    if (isNew && this.isKnocking(knocker)) this.events.knock({ id: knocker.nick, displayName: knocker.displayName });
  }

  private isKnocking(w: Waiting): boolean {
    return w.jid === undefined || !this.inMainRoom(w.jid);
  }

  private publish(): void {
    this.events.knockers([...this.waiting.values()].filter((w) => this.isKnocking(w)).map((w) => ({ id: w.nick, displayName: w.displayName })));
  }
}
