/**
 * Authentication sessions of jitsi-meet's "secure domain" login (protocol reference §3.4), as
 * Jicofo keeps them (jicofo auth/AbstractAuthAuthority, XMPPDomainAuthAuthority):
 *
 * 1. A guest waits for the host on the anonymous domain; the user says "I am the host" and logs in
 *    with a password on the main domain, on a second connection (lib-jitsi-meet
 *    authenticateAndUpgradeRole).
 * 2. That connection sends the conference request; the focus opens a session for the account and
 *    the browser's `machine-uid` and answers its `session-id` and `identity`. The client stores the
 *    id (Settings.sessionId) and closes the second connection.
 * 3. The first, anonymous, connection asks again with that `session-id` and the same machine-uid:
 *    the focus takes it for the account (it starts the room and is made owner).
 *
 * A session ends on logout, or `lifetimeMs` after it was last used. An unknown or expired id is
 * answered `not-acceptable` + `<session-invalid/>` (the client drops its id and asks again without
 * it), a machine-uid that differs `not-acceptable` "machine UID mismatch or empty", as Jicofo does.
 */
import { randomUUID } from 'node:crypto';
import { Element } from 'ltx';
import { StanzaError } from '../xmpp/errors.ts';
import { NS_FOCUS } from '../xmpp/protocol/conference-iq.ts';

export interface AuthenticationSession {
  readonly id: string;
  /** The account's bare JID (`alice@meet.jitsi`): the `identity` the focus answers. */
  readonly identity: string;
  readonly machineUid: string;
  /** Last use, ms since epoch. */
  usedAt: number;
  /** Full JIDs that presented this session (the anonymous connection that joins as host). */
  readonly jids: Set<string>;
}

export interface AuthenticationSessionsOptions {
  /** Jicofo's authentication-lifetime: 24 h by default. */
  lifetimeMs?: number;
  /** Sessions kept at most; the least recently used goes first. Default 10 000. */
  maxSessions?: number;
  /** Full JIDs one session vouches for at most (its reconnections); the oldest goes first. Default 16. */
  maxJidsPerSession?: number;
  now?: () => number;
}

/** `<not-acceptable/>` + Jitsi's `<session-invalid/>`: lib-jitsi-meet drops its session id and asks again. */
export function sessionInvalidError(): StanzaError {
  return new StanzaError('cancel', 'not-acceptable', 'invalid session', new Element('session-invalid', { xmlns: NS_FOCUS }));
}

export class AuthenticationSessions {
  /** By id; Map order is least recently used first (a use moves the session to the end). */
  private readonly sessions = new Map<string, AuthenticationSession>();
  private readonly byJid = new Map<string, AuthenticationSession>();
  /** By account and machine-uid: one session per account and browser. */
  private readonly byAccount = new Map<string, AuthenticationSession>();
  private readonly lifetimeMs: number;
  private readonly maxSessions: number;
  private readonly maxJids: number;
  private readonly now: () => number;

  constructor(options: AuthenticationSessionsOptions = {}) {
    this.lifetimeMs = options.lifetimeMs ?? 24 * 3600_000;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.maxJids = options.maxJidsPerSession ?? 16;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    this.expire();
    return this.sessions.size;
  }

  /**
   * A conference request from `requester`: `account` is the requester's own account when it
   * logged in with a password, `sessionId` / `machineUid` what the request carried. Returns the
   * session the request is vouched for by (opened for an account without one), or undefined for
   * a guest; throws the error Jicofo answers for a bad session id.
   */
  authenticate(requester: string, account: string | undefined, sessionId: string | undefined, machineUid: string | undefined): AuthenticationSession | undefined {
    this.expire();
    if (sessionId !== undefined) {
      const session = this.sessions.get(sessionId);
      if (!session) throw sessionInvalidError();
      // An id copied to another browser is worth nothing there (Jicofo checks the same).
      if (!machineUid || session.machineUid !== machineUid) throw new StanzaError('cancel', 'not-acceptable', 'machine UID mismatch or empty');
      // A password account presenting someone else's session stays itself.
      if (account !== undefined && account !== session.identity) throw sessionInvalidError();
      this.use(session, requester);
      return session;
    }
    if (account === undefined) return undefined;
    if (!machineUid) throw new StanzaError('cancel', 'not-acceptable', "Missing mandatory attribute 'machine-uid'");
    // The same account in the same browser asks again (another room, a reload): its session goes on.
    const existing = this.byAccount.get(`${account}\u0000${machineUid}`);
    if (existing) {
      this.use(existing, requester);
      return existing;
    }
    const session: AuthenticationSession = { id: randomUUID(), identity: account, machineUid, usedAt: 0, jids: new Set() };
    this.sessions.set(session.id, session);
    this.byAccount.set(`${account}\u0000${machineUid}`, session);
    while (this.sessions.size > this.maxSessions) this.remove(this.sessions.values().next().value!);
    this.use(session, requester);
    return session;
  }

  /** The account a full JID was vouched for by a session, if any and still valid. */
  identityOf(fullJid: string): string | undefined {
    const session = this.byJid.get(fullJid);
    if (!session) return undefined;
    if (this.now() - session.usedAt > this.lifetimeMs) {
      this.remove(session);
      return undefined;
    }
    return session.identity;
  }

  /**
   * `<logout session-id=…/>`: ends the session. Only a JID the session vouches for, or the
   * account itself, may end it.
   */
  logout(requester: string, sessionId: string): void {
    this.expire();
    const session = this.sessions.get(sessionId);
    if (!session) throw sessionInvalidError();
    if (!session.jids.has(requester) && requester.split('/')[0] !== session.identity) {
      throw new StanzaError('auth', 'forbidden', 'not your session');
    }
    this.remove(session);
  }

  clear(): void {
    this.sessions.clear();
    this.byJid.clear();
    this.byAccount.clear();
  }

  private use(session: AuthenticationSession, jid: string): void {
    session.usedAt = this.now();
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
    const previous = this.byJid.get(jid);
    if (previous && previous !== session) previous.jids.delete(jid);
    session.jids.delete(jid);
    session.jids.add(jid);
    this.byJid.set(jid, session);
    while (session.jids.size > this.maxJids) {
      const oldest = session.jids.values().next().value!;
      session.jids.delete(oldest);
      this.byJid.delete(oldest);
    }
  }

  /** Sessions are in least-recently-used order, so expired ones are at the front. */
  private expire(): void {
    const limit = this.now() - this.lifetimeMs;
    for (const session of this.sessions.values()) {
      if (session.usedAt >= limit) break;
      this.remove(session);
    }
  }

  private remove(session: AuthenticationSession): void {
    this.sessions.delete(session.id);
    const key = `${session.identity}\u0000${session.machineUid}`;
    if (this.byAccount.get(key) === session) this.byAccount.delete(key);
    for (const jid of session.jids) if (this.byJid.get(jid) === session) this.byJid.delete(jid);
  }
}
