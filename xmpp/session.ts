/**
 * A bound client resource (RFC 6120 §7) and its XEP-0198 stream management state. The session
 * outlives its transport while it hibernates, so a client that lost its WebSocket resumes with
 * its MUC occupancy and unacknowledged stanzas intact.
 */
import { randomBytes } from 'node:crypto';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StreamError } from './errors.ts';
import type { Jid } from './jid.ts';
import type { Outgoing } from './outgoing.ts';
import { NS_SM } from './protocol/stream-features.ts';
import type { Recipient, Router } from './router.ts';

/** What a session needs of the connection currently carrying it. */
export interface SessionLink {
  sendRaw(data: string): void;
  /** Ends the connection (a stream error first when given); the session is told through detach. */
  end(error?: StreamError): void;
}

/** Stream management ids → sessions that can be resumed. */
export class SessionRegistry {
  private readonly bySmId = new Map<string, ClientSession>();

  add(session: ClientSession, smId: string): void {
    this.bySmId.set(smId, session);
  }

  remove(smId: string): void {
    this.bySmId.delete(smId);
  }

  get(smId: string): ClientSession | undefined {
    return this.bySmId.get(smId);
  }

  get size(): number {
    return this.bySmId.size;
  }
}

export interface SessionOptions {
  router: Router;
  registry: SessionRegistry;
  log: Logger;
  hibernationSeconds: number;
  /** Unacknowledged stanzas kept (sent, or waiting while hibernating) before the session is closed. */
  maxQueuedStanzas: number;
  /** The same bound in bytes (the serialised stanzas' length, a byte a character). */
  maxQueuedBytes: number;
  onClosed(session: ClientSession, reason: string): void;
}

/** How many unacknowledged stanzas trigger an `<r/>` (Prosody: smacks_max_unacked_stanzas). */
const ACK_REQUEST_THRESHOLD = 5;

interface StreamManagement {
  id: string;
  resumable: boolean;
  /** Stanzas received from the client (the `h` we report). */
  inbound: number;
  /** Stanzas the client has acknowledged. */
  acked: number;
  /** Sent and not yet acknowledged, oldest first. */
  queue: string[];
  /** The length of all of `queue`. */
  queuedBytes: number;
  ackRequested: boolean;
}

export class ClientSession implements Recipient {
  private link: SessionLink | undefined;
  private sm: StreamManagement | undefined;
  private hibernation: NodeJS.Timeout | undefined;
  private closed = false;
  readonly since = Date.now();
  /** Claims of the token the client logged in with (JWT), if any. */
  claims: Record<string, unknown> | undefined;
  /** The client's address (after trusted proxies), for limits keyed by address. */
  remoteAddress: string | undefined;
  /** Whether the client has sent its initial (broadcast) presence (RFC 6121 §4.2). */
  available = false;

  constructor(readonly jid: Jid, link: SessionLink, private readonly options: SessionOptions) {
    this.link = link;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get isHibernating(): boolean {
    return this.link === undefined && !this.closed;
  }

  get smId(): string | undefined {
    return this.sm?.resumable ? this.sm.id : undefined;
  }

  // --- outbound

  deliver(out: Outgoing): void {
    this.sendStanza(out.serialisedFor(this.jid.full));
  }

  /** Sends one serialised stanza, counted and kept for resumption when SM is on. */
  sendStanza(data: string): void {
    if (this.closed) return;
    const sm = this.sm;
    if (sm) {
      // Counted in bytes too: a count alone let a client that never acknowledges make the server
      // keep a thousand stanzas of any size, each relayed message up to the largest a client may send.
      const overCount = sm.queue.length >= this.options.maxQueuedStanzas;
      if (overCount || sm.queuedBytes + data.length > this.options.maxQueuedBytes) {
        this.options.log.warn({ jid: this.jid.full, queued: sm.queue.length, bytes: sm.queuedBytes }, 'client does not acknowledge stanzas; closing');
        this.link?.end(new StreamError('policy-violation', overCount ? 'too many unacknowledged stanzas' : 'too many unacknowledged bytes'));
        this.close('unacknowledged-stanzas');
        return;
      }
      sm.queue.push(data);
      sm.queuedBytes += data.length;
    }
    const link = this.link;
    if (!link) return;
    link.sendRaw(data);
    if (sm && !sm.ackRequested && sm.queue.length >= ACK_REQUEST_THRESHOLD) {
      sm.ackRequested = true;
      link.sendRaw(`<r xmlns="${NS_SM}"/>`);
    }
  }

  /** Sends a non-stanza element (not counted, not queued for resumption). */
  sendNonza(data: string): void {
    if (!this.closed) this.link?.sendRaw(data);
  }

  // --- stream management (XEP-0198)

  /** `<enable/>` (§3); returns the `<enabled/>` answer. */
  enableStreamManagement(resume: boolean): Element {
    if (this.sm) throw new StreamError('unsupported-feature', 'stream management already enabled');
    const resumable = resume && this.options.hibernationSeconds > 0;
    this.sm = { id: randomBytes(12).toString('base64url'), resumable, inbound: 0, acked: 0, queue: [], queuedBytes: 0, ackRequested: false };
    if (resumable) this.options.registry.add(this, this.sm.id);
    const attrs: Record<string, string> = { xmlns: NS_SM, id: this.sm.id };
    if (resumable) {
      attrs.resume = 'true';
      attrs.max = String(this.options.hibernationSeconds);
    }
    return new Element('enabled', attrs);
  }

  get streamManagementEnabled(): boolean {
    return this.sm !== undefined;
  }

  /** Counts one stanza received from the client. */
  countInbound(): void {
    if (this.sm) this.sm.inbound = (this.sm.inbound + 1) % 2 ** 32;
  }

  /** `<r/>` from the client: answer with our `<a h/>` (§4). */
  ackElement(): Element {
    return new Element('a', { xmlns: NS_SM, h: String(this.sm?.inbound ?? 0) });
  }

  /**
   * `<a h/>` from the client: drop what it has handled (§4); a count beyond what we sent is fatal
   * (§4). A count behind one it gave before acknowledges nothing and is ignored (Prosody's
   * mod_smacks does not close for it either; it takes the lower count as its new base): xmpp.js
   * (0.14) resets its counter when it reads `<enabled/>` in a later microtask than the stanzas
   * that came right after it, and may already have answered an `<r/>` with those counted; closing
   * its session for that would end its user's conference. The queue then holds the stanzas
   * counted twice until the client's count passes the old one (bounded).
   */
  acknowledge(h: number): void {
    const sm = this.sm;
    if (!sm) return;
    const newly = (h - sm.acked + 2 ** 32) % 2 ** 32;
    if (newly >= 2 ** 31) {
      this.options.log.debug({ jid: this.jid.full, h, acknowledged: sm.acked }, 'stale stream management acknowledgement ignored');
      sm.ackRequested = false;
      return;
    }
    if (newly > sm.queue.length) {
      const err = new StreamError('undefined-condition', `acknowledged ${h} stanzas but only ${sm.acked + sm.queue.length} were sent`);
      this.link?.end(err);
      this.close('bad-ack');
      return;
    }
    for (const data of sm.queue.splice(0, newly)) sm.queuedBytes -= data.length;
    sm.acked = h;
    sm.ackRequested = false;
  }

  // --- transport changes

  /**
   * The connection went away. With resumable SM the session hibernates (§5) for the configured
   * time; otherwise, or when the client closed cleanly, it ends now.
   */
  detach(link: SessionLink, clean: boolean): void {
    if (this.link !== link || this.closed) return;
    this.link = undefined;
    if (clean || !this.sm?.resumable) {
      this.close(clean ? 'closed by client' : 'connection lost');
      return;
    }
    this.options.log.debug({ jid: this.jid.full }, 'hibernating');
    this.hibernation = setTimeout(() => this.close('hibernation timed out'), this.options.hibernationSeconds * 1000);
    this.hibernation.unref();
  }

  /**
   * `<resume h previd/>` on a new connection (§5): moves the session to `link`, takes the client's
   * `h`, and answers `<resumed/>` followed by every unacknowledged stanza.
   */
  resume(link: SessionLink, h: number): void {
    const sm = this.sm;
    if (!sm || this.closed) throw new Error('not resumable');
    if (this.hibernation) clearTimeout(this.hibernation);
    this.hibernation = undefined;
    const previous = this.link;
    this.link = link;
    previous?.end(new StreamError('conflict', 'session resumed on another connection'));
    this.acknowledge(h);
    if (this.closed) return;
    link.sendRaw(new Element('resumed', { xmlns: NS_SM, h: String(sm.inbound), previd: sm.id }).toString());
    for (const data of sm.queue) link.sendRaw(data);
    if (sm.queue.length) {
      sm.ackRequested = true;
      link.sendRaw(`<r xmlns="${NS_SM}"/>`);
    }
  }

  /** Broadcast presence (no 'to'): there are no rosters, so it only records availability. */
  presenceBroadcast(presence: Element): void {
    this.available = presence.attrs.type === undefined;
  }

  /** Ends the session from the server side with a stream error (e.g. a resource conflict). */
  kick(error: StreamError): void {
    const link = this.link;
    this.close(error.condition);
    link?.end(error);
  }

  /** Ends the session: unbound, its rooms told it left; idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.hibernation) clearTimeout(this.hibernation);
    this.hibernation = undefined;
    if (this.sm?.resumable) this.options.registry.remove(this.sm.id);
    this.link = undefined;
    this.options.router.unbind(this, reason);
    this.options.onClosed(this, reason);
  }
}
