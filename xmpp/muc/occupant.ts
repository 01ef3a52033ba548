/**
 * One occupant of a room (XEP-0045 §5): nick, real JID, role, affiliation and the presence it
 * last sent, with that presence as others receive it built once and reused until it changes.
 */
import type { Element } from 'ltx';
import type { Jid } from '../jid.ts';
import type { MucActor, MucAffiliation, MucItem, MucRole } from '../protocol/muc-user.ts';
import { PresenceVariants, relayedPresence, withMucUser } from './presence.ts';

/** Read-only view of an occupant, for the focus and tests. */
export interface MucOccupantView {
  readonly nick: string;
  /** `room@service/nick`. */
  readonly occupantJid: string;
  /** The full JID of the session behind the occupant. */
  readonly realJid: Jid;
  readonly role: MucRole;
  readonly affiliation: MucAffiliation;
  /** The presence as relayed, from the occupant JID, without muc#user; shared, do not modify. */
  readonly presence: Element;
}

/** Extra content of an occupant's `<item/>` in moderation broadcasts (§8, §9). */
export interface ItemExtras {
  actor?: { nick?: string; jid?: string };
  reason?: string;
  /** The new nick of a nick change (§7.6). */
  nick?: string;
}

export class Occupant implements MucOccupantView {
  nick: string;
  occupantJid: string;
  role: MucRole;
  affiliation: MucAffiliation;
  presence: Element;
  private variants: PresenceVariants;

  constructor(
    private readonly roomJid: string,
    nick: string,
    readonly realJid: Jid,
    role: MucRole,
    affiliation: MucAffiliation,
    clientPresence: Element,
  ) {
    this.nick = nick;
    this.occupantJid = `${roomJid}/${nick}`;
    this.role = role;
    this.affiliation = affiliation;
    this.presence = relayedPresence(this.occupantJid, clientPresence);
    this.variants = this.newVariants();
  }

  /** The occupant's current available presence as every other occupant receives it. */
  get broadcast(): PresenceVariants {
    return this.variants;
  }

  setPresence(clientPresence: Element): void {
    this.presence = relayedPresence(this.occupantJid, clientPresence);
    this.variants = this.newVariants();
  }

  setRole(role: MucRole): void {
    this.role = role;
    this.variants = this.newVariants();
  }

  setAffiliation(affiliation: MucAffiliation): void {
    this.affiliation = affiliation;
    this.variants = this.newVariants();
  }

  /** Moves to another nick, keeping the presence content (§7.6). The room re-indexes. */
  rename(nick: string): void {
    this.nick = nick;
    this.occupantJid = `${this.roomJid}/${nick}`;
    this.presence = relayedPresence(this.occupantJid, this.presence);
    this.variants = this.newVariants();
  }

  item(withJid: boolean, extras: ItemExtras = {}, role: MucRole = this.role): MucItem {
    const item: MucItem = { affiliation: this.affiliation, role };
    if (withJid) item.jid = this.realJid.full;
    if (extras.nick !== undefined) item.nick = extras.nick;
    if (extras.actor) {
      const actor: MucActor = {};
      if (extras.actor.nick !== undefined) actor.nick = extras.actor.nick;
      if (withJid && extras.actor.jid !== undefined) actor.jid = extras.actor.jid;
      item.actor = actor;
    }
    if (extras.reason !== undefined) item.reason = extras.reason;
    return item;
  }

  /** The copy of its own presence the occupant receives (§7.2.3: always with its real JID and 110). */
  selfPresence(statuses: readonly number[], extras?: ItemExtras): Element {
    return withMucUser(this.presence, { items: [this.item(true, extras)], statuses: [...statuses] }, this.realJid.full);
  }

  /** Replaced on every change, so a cached stanza never outlives the state it shows. */
  private newVariants(): PresenceVariants {
    const presence = this.presence;
    return new PresenceVariants((withJid) => withMucUser(presence, { items: [this.item(withJid)] }));
  }
}
