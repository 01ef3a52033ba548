/**
 * The stanza router (RFC 6120 §10): delivers each stanza to a bound resource, to the service
 * that owns the destination domain (client hosts, MUC services, components), or bounces it.
 * It also remembers directed presence, so that a resource that goes away leaves every room
 * and component it announced itself to (RFC 6121 §4.6).
 */
import type { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from './errors.ts';
import { tryParseJid, type Jid } from './jid.ts';
import { Outgoing } from './outgoing.ts';
import { errorReply } from './stanza.ts';
import { Element as El } from 'ltx';

/** A bound resource: a client session (any transport) or an in-process session. */
export interface Recipient {
  readonly jid: Jid;
  deliver(out: Outgoing): void;
}

/** Whatever owns a domain: a client host, a MUC service, a component. */
export interface DomainService {
  readonly domain: string;
  /**
   * Whether directed presence to addresses of this domain is remembered, so that a vanishing
   * client's unavailable presence reaches it (MUC services, components). Default false.
   */
  readonly tracksPresence?: boolean;
  /** A stanza whose `to` is this domain or an address under it; `from` is already trusted. */
  receive(stanza: Element): void;
}

/** Addresses one resource's directed presence is remembered for (rooms it is in, peers). */
const MAX_DIRECTED = 256;

export interface RouterCounters {
  stanzaOut(kind: string): void;
}

export class Router {
  private readonly resources = new Map<string, Recipient>();
  private readonly byBare = new Map<string, Map<string, Recipient>>();
  private readonly services = new Map<string, DomainService>();
  /** full JID of a resource → full JIDs it sent available presence to. */
  private readonly directed = new Map<string, Set<string>>();

  constructor(private readonly log: Logger, private readonly counters?: RouterCounters) {}

  addService(service: DomainService): () => void {
    if (this.services.has(service.domain)) throw new Error(`domain ${service.domain} already served`);
    this.services.set(service.domain, service);
    return () => {
      if (this.services.get(service.domain) === service) this.services.delete(service.domain);
    };
  }

  hasService(domain: string): boolean {
    return this.services.has(domain);
  }

  bind(recipient: Recipient): void {
    const full = recipient.jid.full;
    if (this.resources.has(full)) throw new Error(`resource ${full} already bound`);
    this.resources.set(full, recipient);
    let resources = this.byBare.get(recipient.jid.bare);
    if (!resources) this.byBare.set(recipient.jid.bare, (resources = new Map()));
    resources.set(recipient.jid.resource, recipient);
  }

  /** Unbinds and sends unavailable presence wherever the resource had announced itself. */
  unbind(recipient: Recipient, status = 'Disconnected'): void {
    const full = recipient.jid.full;
    if (this.resources.get(full) !== recipient) return;
    this.resources.delete(full);
    const resources = this.byBare.get(recipient.jid.bare);
    resources?.delete(recipient.jid.resource);
    if (resources?.size === 0) this.byBare.delete(recipient.jid.bare);
    const targets = this.directed.get(full);
    this.directed.delete(full);
    for (const to of targets ?? []) {
      const presence = new El('presence', { xmlns: 'jabber:client', type: 'unavailable', from: full, to });
      presence.c('status').t(status);
      this.route(presence);
    }
  }

  /** Replaces the recipient of a bound full JID (stream resumption moves a session to a new transport). */
  rebind(recipient: Recipient): void {
    const full = recipient.jid.full;
    if (!this.resources.has(full)) throw new Error(`resource ${full} not bound`);
    this.resources.set(full, recipient);
    this.byBare.get(recipient.jid.bare)?.set(recipient.jid.resource, recipient);
  }

  resource(full: string): Recipient | undefined {
    return this.resources.get(full);
  }

  resourcesOf(bare: string): Iterable<Recipient> {
    return this.byBare.get(bare)?.values() ?? [];
  }

  get resourceCount(): number {
    return this.resources.size;
  }

  /** Routes a stanza whose `from` the caller has already stamped or verified. */
  route(stanza: Element): void {
    const to = stanza.attrs.to as string | undefined;
    const jid = tryParseJid(to);
    if (!jid) return this.bounce(stanza, new StanzaError('modify', 'jid-malformed', 'bad recipient address'));
    if (stanza.name === 'presence' && !this.trackDirectedPresence(stanza, jid)) {
      return this.bounce(stanza, new StanzaError('wait', 'resource-constraint', `presence sent to more than ${MAX_DIRECTED} addresses`));
    }
    if (jid.resource) {
      const recipient = this.resources.get(jid.full);
      if (recipient) {
        const { out } = Outgoing.of(stanza);
        this.deliver(recipient, out);
        return;
      }
    }
    const service = this.services.get(jid.domain);
    if (service) return service.receive(stanza);
    this.bounce(stanza, new StanzaError('cancel', 'remote-server-not-found', `no route to ${jid.domain}`));
  }

  /** Delivers a pre-serialised stanza to one full JID; false when nothing is bound there. */
  deliverTo(full: string, out: Outgoing): boolean {
    const recipient = this.resources.get(full);
    if (!recipient) return false;
    this.deliver(recipient, out);
    return true;
  }

  deliver(recipient: Recipient, out: Outgoing): void {
    this.counters?.stanzaOut(out.element.name);
    try {
      recipient.deliver(out);
    } catch (err) {
      this.log.error({ err, to: recipient.jid.full }, 'delivery failed');
    }
  }

  /** Sends the error reply to a stanza, unless it is one that must not be answered. */
  bounce(stanza: Element, error: StanzaError): void {
    if (stanza.name === 'presence' && stanza.attrs.type !== undefined && stanza.attrs.type !== 'probe') return;
    const reply = errorReply(stanza, error);
    if (!reply || !reply.attrs.to) return;
    const replyTo = tryParseJid(reply.attrs.to as string);
    if (!replyTo) return;
    this.log.debug({ to: reply.attrs.to, condition: error.condition }, 'bounced');
    this.route(reply);
  }

  /**
   * Remembers where a bound resource announced itself; false for an available presence that it
   * cannot remember (MAX_DIRECTED reached), which is then refused rather than routed: routed, it
   * could make the resource an occupant whose departure nobody would ever announce (a client that
   * filled its memory with presence to rooms it could not join, then joined a real one and
   * vanished, stayed in that room for good).
   */
  private trackDirectedPresence(presence: Element, to: Jid): boolean {
    const from = presence.attrs.from as string | undefined;
    if (!from) return true;
    const type = presence.attrs.type as string | undefined;
    if (type === 'error') {
      // A target that refused the presence (a room that could not be joined) holds nothing to leave.
      if (this.resources.has(to.full)) this.directed.get(to.full)?.delete(from);
      return true;
    }
    if (!this.resources.has(from) || !to.resource) return true;
    if (type === undefined) {
      // Only addresses that exist and care (bound resources, rooms, components) are remembered,
      // and at most MAX_DIRECTED per resource: a client cannot grow this map at will.
      if (!this.resources.has(to.full) && !this.services.get(to.domain)?.tracksPresence) return true;
      let set = this.directed.get(from);
      if (!set) this.directed.set(from, (set = new Set()));
      if (set.size >= MAX_DIRECTED && !set.has(to.full)) {
        this.log.warn({ from }, 'directed presence to too many addresses; refused');
        return false;
      }
      set.add(to.full);
    } else if (type === 'unavailable') {
      this.directed.get(from)?.delete(to.full);
    }
    return true;
  }
}
