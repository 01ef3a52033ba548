/**
 * One room (XEP-0045 §5–§6): its occupants, affiliations, configuration and subject, and the
 * fan-out of presence and messages to occupants, each stanza serialised once per room.
 * Features (join, moderation, config, messages) are functions over this state in sibling files.
 */
import { randomUUID } from 'node:crypto';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { Outgoing } from '../outgoing.ts';
import { NS_CLIENT } from '../stanza.ts';
import {
  AFFILIATION_RANK, buildMucUser, MucStatus,
  type MucAffiliation, type MucDestroy, type MucRole, type MucWhois,
} from '../protocol/muc-user.ts';
import type { RoomContext } from './context.ts';
import { RoomHistory } from './history.ts';
import type { ItemExtras, MucOccupantView, Occupant } from './occupant.ts';
import { PresenceVariants, relayedPresence, withMucUser } from './presence.ts';

/** The muc#roomconfig settings of a room (§10.2, §15.5.3). */
export interface RoomConfig {
  /** Natural-language name; empty means the room's localpart. */
  name: string;
  description: string;
  /** Kept when the last occupant leaves. */
  persistent: boolean;
  /** Listed in the service's disco#items. */
  public: boolean;
  membersOnly: boolean;
  /** Occupants without affiliation enter as visitors (no voice). */
  moderated: boolean;
  passwordProtected: boolean;
  password: string;
  /** Who sees occupants' real JIDs; Jitsi rooms use `anyone`. */
  whois: MucWhois;
  maxUsers: number;
  /** Participants (not only moderators) may change the subject. */
  changeSubject: boolean;
  /** Participants (not only admins) may invite to a members-only room. */
  allowInvites: boolean;
}

/** Read-only view of a room, for the focus and tests. */
export interface MucRoomView {
  /** The bare room JID. */
  readonly jid: string;
  readonly name: string;
  /** Jitsi's `muc#roominfo_meetingId`: a random UUID made when the room is created. */
  readonly meetingId: string;
  readonly createdAt: number;
  /** When a second occupant first joined (Jitsi's `muc#roominfo_created_timestamp`). */
  readonly conferenceStartedAt: number | undefined;
  readonly config: Readonly<RoomConfig>;
  readonly subject: string;
  /** Occupants by nick. */
  readonly occupants: ReadonlyMap<string, MucOccupantView>;
  occupantByRealJid(fullJid: string): MucOccupantView | undefined;
  affiliationOf(bareJid: string): MucAffiliation;
  /** Affiliations other than `none`, by bare JID. */
  readonly affiliations: ReadonlyMap<string, MucAffiliation>;
}

export function defaultRoomConfig(limits: RoomContext['limits']): RoomConfig {
  return {
    name: '', description: '', persistent: false, public: true, membersOnly: false, moderated: false,
    passwordProtected: false, password: '', whois: limits.defaultWhois, maxUsers: limits.maxOccupantsPerRoom,
    changeSubject: false, allowInvites: false, ...limits.roomDefaults,
  };
}

export class MucRoom implements MucRoomView {
  readonly meetingId = randomUUID();
  readonly createdAt: number;
  conferenceStartedAt: number | undefined;
  config: RoomConfig;
  readonly history: RoomHistory;
  /** Set by destroy(); the service then drops the room. */
  destroyed = false;
  /**
   * Invitations relayed (§7.8.2), by invitee bare JID: who sent it and when. A decline is relayed
   * only in answer to one of them (./messages.ts), to its inviter. At most MAX_PENDING_INVITATIONS, the oldest giving way.
   */
  readonly invitations = new Map<string, { inviter: string; at: number }>();
  private subjectText = '';
  private subjectFrom: string;
  private subjectOut: Outgoing | undefined;
  private readonly byNick = new Map<string, Occupant>();
  private readonly byReal = new Map<string, Occupant>();
  private readonly affiliationMap = new Map<string, MucAffiliation>();

  constructor(readonly ctx: RoomContext, readonly jid: string, readonly log: Logger) {
    this.createdAt = ctx.now();
    this.config = defaultRoomConfig(ctx.limits);
    this.history = new RoomHistory(ctx.limits.maxHistoryMessages);
    this.subjectFrom = jid;
  }

  get name(): string {
    return this.config.name || this.jid.slice(0, this.jid.indexOf('@'));
  }

  get subject(): string {
    return this.subjectText;
  }

  get occupants(): ReadonlyMap<string, Occupant> {
    return this.byNick;
  }

  get occupantCount(): number {
    return this.byNick.size;
  }

  get affiliations(): ReadonlyMap<string, MucAffiliation> {
    return this.affiliationMap;
  }

  /** The configured limit, never above the service's. */
  get maxOccupants(): number {
    return Math.min(this.config.maxUsers, this.ctx.limits.maxOccupantsPerRoom);
  }

  occupantByNick(nick: string): Occupant | undefined {
    return this.byNick.get(nick);
  }

  occupantByRealJid(fullJid: string): Occupant | undefined {
    return this.byReal.get(fullJid);
  }

  occupantsOf(bareJid: string): Occupant[] {
    return [...this.byNick.values()].filter((o) => o.realJid.bare === bareJid);
  }

  affiliationOf(bareJid: string): MucAffiliation {
    if (this.ctx.isServiceAdmin(bareJid)) return 'owner';
    for (const extension of this.ctx.extensions) {
      const delegated = extension.affiliationOf?.(this, bareJid);
      if (delegated !== undefined) return delegated;
    }
    return this.affiliationMap.get(bareJid) ?? 'none';
  }

  /** Whether `viewer` receives `subject`'s presence (extensions may hide occupants, as in lobby rooms). */
  presenceVisible(viewer: Occupant, subject: Occupant): boolean {
    if (viewer === subject) return true;
    for (const extension of this.ctx.extensions) if (extension.presenceVisible?.(this, viewer, subject) === false) return false;
    return true;
  }

  /** Whether `viewer` receives messages and IQs from `sender`. */
  messageVisible(viewer: Occupant, sender: Occupant): boolean {
    for (const extension of this.ctx.extensions) if (extension.messageVisible?.(this, viewer, sender) === false) return false;
    return true;
  }

  recordAffiliation(bareJid: string, affiliation: MucAffiliation): void {
    if (affiliation === 'none') this.affiliationMap.delete(bareJid);
    else this.affiliationMap.set(bareJid, affiliation);
  }

  /** §5.1.2: owners and admins moderate; others participate, or only listen in moderated rooms; 'none' may not enter. */
  defaultRole(affiliation: MucAffiliation): MucRole {
    if (affiliation === 'owner' || affiliation === 'admin') return 'moderator';
    if (affiliation === 'outcast') return 'none';
    if (affiliation === 'none' && this.config.membersOnly) return 'none';
    if (affiliation === 'none' && this.config.moderated) return 'visitor';
    return 'participant';
  }

  isOwner(bareJid: string): boolean {
    return this.affiliationOf(bareJid) === 'owner';
  }

  hasAffiliationAtLeast(bareJid: string, affiliation: MucAffiliation): boolean {
    return AFFILIATION_RANK[this.affiliationOf(bareJid)] >= AFFILIATION_RANK[affiliation];
  }

  /** §7.2.4: in semi-anonymous rooms only moderators (and the occupant's own sessions) see real JIDs. */
  canSeeRealJids(viewer: Occupant, subject: Occupant): boolean {
    return this.config.whois === 'anyone' || viewer.role === 'moderator' || viewer.realJid.bare === subject.realJid.bare;
  }

  add(occupant: Occupant): void {
    this.byNick.set(occupant.nick, occupant);
    this.byReal.set(occupant.realJid.full, occupant);
  }

  remove(occupant: Occupant): void {
    if (this.byNick.get(occupant.nick) === occupant) this.byNick.delete(occupant.nick);
    if (this.byReal.get(occupant.realJid.full) === occupant) this.byReal.delete(occupant.realJid.full);
  }

  rename(occupant: Occupant, nick: string): void {
    this.byNick.delete(occupant.nick);
    occupant.rename(nick);
    this.byNick.set(nick, occupant);
  }

  /** Delivers a shared stanza; when no session is bound there (a component), routes a copy. */
  deliver(to: string, out: Outgoing): void {
    if (!this.ctx.router.deliverTo(to, out)) this.ctx.router.route(out.elementFor(to));
  }

  /** Routes a stanza that already carries `to`. */
  send(stanza: Element): void {
    this.ctx.router.route(stanza);
  }

  /** Every other occupant's presence to `newcomer` (§7.2.3), each from its cache. */
  sendOccupantList(newcomer: Occupant): void {
    for (const other of this.byNick.values()) {
      if (other !== newcomer && this.presenceVisible(newcomer, other)) {
        this.deliver(newcomer.realJid.full, other.broadcast.get(this.canSeeRealJids(newcomer, other)));
      }
    }
  }

  /** `others` to every occupant but `subject` (the variant each may see), then `self` to `subject`. */
  broadcastPresence(subject: Occupant, others: PresenceVariants, self: Element | undefined): void {
    for (const viewer of this.byNick.values()) {
      if (viewer !== subject && this.presenceVisible(viewer, subject)) this.deliver(viewer.realJid.full, others.get(this.canSeeRealJids(viewer, subject)));
    }
    if (self) this.send(self);
  }

  /** A presence change the room makes (role, affiliation), with its actor and reason (§8, §9). */
  broadcastChange(occupant: Occupant, extras: ItemExtras, statuses: number[] = []): void {
    const variants = new PresenceVariants((withJid) => withMucUser(occupant.presence, { items: [occupant.item(withJid, extras)], statuses }));
    this.broadcastPresence(occupant, variants, occupant.selfPresence([...statuses, MucStatus.self], extras));
    this.ctx.events.emit('occupant-updated', this, occupant);
  }

  /** A groupchat message (without `to`) to every occupant, serialised once. */
  broadcastMessage(message: Element, sender?: Occupant): Outgoing {
    const out = new Outgoing(message);
    if (!sender) this.deliverToAll(out);
    else for (const occupant of this.byNick.values()) if (this.messageVisible(occupant, sender)) this.deliver(occupant.realJid.full, out);
    return out;
  }

  private deliverToAll(out: Outgoing): void {
    for (const occupant of this.byNick.values()) this.deliver(occupant.realJid.full, out);
  }

  /** §8.1: the new subject goes to everyone, and to every later newcomer. */
  setSubject(text: string, from: string): void {
    this.subjectText = text;
    this.subjectFrom = from;
    this.subjectOut = undefined;
    this.deliverToAll(this.subjectMessage());
  }

  /** §7.2.15: the subject, or an empty one, ends the join sequence. */
  subjectMessage(): Outgoing {
    if (!this.subjectOut) {
      const message = new Element('message', { xmlns: NS_CLIENT, type: 'groupchat', from: this.subjectFrom });
      const subject = message.c('subject');
      if (this.subjectText) subject.t(this.subjectText);
      this.subjectOut = new Outgoing(message);
    }
    return this.subjectOut;
  }

  /**
   * Removes an occupant and tells everyone (§7.14 leave, §8.2 kick 307, §9.1 ban 301, §9.4/§9.7
   * 321, §10.2 members-only 322). `clientPresence` is the client's own unavailable, if it left.
   */
  evict(occupant: Occupant, statuses: number[], extras: ItemExtras = {}, clientPresence?: Element): void {
    this.remove(occupant);
    const base = relayedPresence(occupant.occupantJid, clientPresence, 'unavailable');
    const variants = new PresenceVariants((withJid) => withMucUser(base, { items: [occupant.item(withJid, extras, 'none')], statuses }));
    this.broadcastPresence(occupant, variants, withMucUser(base, { items: [occupant.item(true, extras, 'none')], statuses: [...statuses, MucStatus.self] }, occupant.realJid.full));
    // Told before its role becomes 'none', so a feature still sees what the occupant was.
    if (statuses.length > 0) for (const extension of this.ctx.extensions) extension.removed?.(this, occupant, statuses, extras);
    occupant.setRole('none');
    this.ctx.events.emit('occupant-left', this, occupant);
  }

  /** §10.9: every occupant gets its own unavailable with `<destroy/>`; the room is then empty. */
  destroy(destroy: MucDestroy): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const left = [...this.byNick.values()];
    for (const occupant of left) {
      const presence = new Element('presence', { xmlns: NS_CLIENT, type: 'unavailable', from: occupant.occupantJid, to: occupant.realJid.full });
      presence.cnode(buildMucUser({ items: [{ affiliation: 'none', role: 'none' }], statuses: [MucStatus.self], destroy }));
      this.send(presence);
    }
    this.byNick.clear();
    this.byReal.clear();
    this.history.clear();
    for (const occupant of left) this.ctx.events.emit('occupant-left', this, occupant);
  }
}
