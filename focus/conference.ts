/**
 * One conference as the focus sees it: the focus's own occupancy of the MUC room (nickname
 * `focus`, owner), the conference requests waiting for it, the participants it has seen, and the
 * conference's end when the last one leaves. Jingle sessions and bridge allocation attach here.
 */
import { randomUUID } from 'node:crypto';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from '../xmpp/errors.ts';
import { NS_MUC, NS_MUC_ADMIN, NS_MUC_USER } from '../xmpp/protocol/muc-user.ts';

export interface ConferenceLink {
  /** Sends a stanza as the focus's own session (from focus@auth/focus). */
  send(stanza: Element): void;
}

export interface ConferenceOptions {
  roomJid: string;
  focusVersion: string;
  /** A conference nobody joins within this time ends. */
  idleTimeoutMs: number;
  onEnded(conference: Conference, reason: string): void;
}

interface Participant {
  nick: string;
  realJid: string;
  affiliation: string;
}

type Waiter = { resolve(): void; reject(err: StanzaError): void };

export class Conference {
  private state: 'joining' | 'joined' | 'ended' = 'joining';
  private readonly waiters: Waiter[] = [];
  private readonly participants = new Map<string, Participant>();
  private idleTimer: NodeJS.Timeout | undefined;
  readonly createdAt = Date.now();
  readonly roomJid: string;

  constructor(private readonly link: ConferenceLink, private readonly log: Logger, private readonly options: ConferenceOptions) {
    this.roomJid = options.roomJid;
    this.armIdleTimer();
    this.link.send(this.focusPresence(true));
  }

  get participantCount(): number {
    return this.participants.size;
  }

  /** Resolves once the focus is in the room (the conference is ready for clients). */
  whenReady(): Promise<void> {
    if (this.state === 'joined') return Promise.resolve();
    if (this.state === 'ended') return Promise.reject(new StanzaError('wait', 'service-unavailable', 'conference ended'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** A presence from the room (addressed to the focus's session). */
  onPresence(presence: Element): void {
    if (this.state === 'ended') return;
    const from = presence.attrs.from as string;
    const nick = from.slice(this.roomJid.length + 1);
    const x = presence.getChild('x', NS_MUC_USER);
    const statuses = new Set(x?.getChildren('status').map((s) => s.attrs.code as string) ?? []);
    if (presence.attrs.type === 'error') {
      if (this.state === 'joining') {
        const condition = presence.getChild('error')?.children.find((c): c is Element => typeof c !== 'string')?.name ?? 'undefined-condition';
        this.log.warn({ room: this.roomJid, condition }, 'focus could not join the room');
        this.end(`join refused: ${condition}`, new StanzaError('wait', 'service-unavailable', `the focus could not join the room (${condition})`));
      }
      return;
    }
    if (statuses.has('110')) {
      if (presence.attrs.type === 'unavailable') return this.end('focus left the room');
      if (this.state === 'joining') {
        this.state = 'joined';
        this.log.info({ room: this.roomJid }, 'conference started');
        for (const w of this.waiters.splice(0)) w.resolve();
      }
      return;
    }
    const item = x?.getChild('item');
    if (presence.attrs.type === 'unavailable') {
      if (!this.participants.delete(nick)) return;
      // XEP-0045 §7.6: a nickname change; the available presence from the new nick follows at once.
      if (statuses.has('303')) return;
      if (this.participants.size === 0) this.end('last participant left');
      else this.ensureModerator();
      return;
    }
    const realJid = item?.attrs.jid as string | undefined;
    if (!realJid) return; // non-anonymous rooms always carry it; anything else is not ours to manage
    this.participants.set(nick, { nick, realJid, affiliation: (item?.attrs.affiliation as string) ?? 'none' });
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.ensureModerator();
  }

  /**
   * Jicofo's auto-owner rule (protocol reference §3.4): without authentication the oldest
   * participant is owner; when it leaves, the next oldest is granted ownership.
   */
  private ensureModerator(): void {
    for (const p of this.participants.values()) if (p.affiliation === 'owner') return;
    const first = this.participants.values().next().value;
    if (!first) return;
    first.affiliation = 'owner';
    const iq = new Element('iq', { type: 'set', to: this.roomJid, id: `owner-${randomUUID()}` });
    iq.c('query', { xmlns: NS_MUC_ADMIN }).c('item', { affiliation: 'owner', jid: first.realJid.split('/')[0]! });
    this.link.send(iq);
  }

  private armIdleTimer(): void {
    this.idleTimer = setTimeout(() => this.end('nobody joined'), this.options.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private focusPresence(join: boolean): Element {
    const presence = new Element('presence', { to: `${this.roomJid}/focus` });
    if (join) presence.c('x', { xmlns: NS_MUC }).c('history', { maxstanzas: '0' });
    presence.c('versions', { xmlns: 'http://jitsi.org/jitmeet' }).c('component', { type: 'focus' }).t(this.options.focusVersion);
    const properties = presence.c('conference-properties', { xmlns: 'http://jitsi.org/protocol/focus' });
    properties.c('property', { key: 'support-terminate-restart', value: 'true' });
    properties.c('property', { key: 'created-ms', value: String(this.createdAt) });
    return presence;
  }

  /** Ends the conference: the focus leaves (the room then empties and is destroyed). Idempotent. */
  end(reason: string, error?: StanzaError): void {
    if (this.state === 'ended') return;
    const wasIn = this.state === 'joined';
    this.state = 'ended';
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const err = error ?? new StanzaError('wait', 'service-unavailable', 'conference ended');
    for (const w of this.waiters.splice(0)) w.reject(err);
    if (wasIn) this.link.send(new Element('presence', { to: `${this.roomJid}/focus`, type: 'unavailable' }));
    this.participants.clear();
    this.log.info({ room: this.roomJid, reason }, 'conference ended');
    this.options.onEnded(this, reason);
  }
}
