/**
 * A client virtual host (meet.jitsi, guest.meet.jitsi, auth.meet.jitsi): answers what the server
 * answers for the domain itself (disco, XEP-0199 ping, XEP-0215 external services, XEP-0092
 * version) and for accounts' bare JIDs (RFC 6121 §8.5), and delivers to their resources.
 */
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError } from './errors.ts';
import { parseJid, type Jid } from './jid.ts';
import { buildDiscoInfo, buildDiscoItems, NS_DISCO_INFO, NS_DISCO_ITEMS, type DiscoIdentity, type DiscoItem } from './protocol/disco.ts';
import { NS_PING } from './protocol/ping.ts';
import { buildCredentials, buildExternalServices, NS_EXTDISCO_1, NS_EXTDISCO_2, parseCredentials, type ExternalService } from './protocol/extdisco.ts';
import type { DomainService, Router } from './router.ts';
import { Outgoing } from './outgoing.ts';
import { iqPayload, iqResult } from './stanza.ts';

export const NS_VERSION = 'jabber:iq:version';
export const NS_ROSTER = 'jabber:iq:roster';

export interface ClientHostOptions {
  domain: string;
  /** Services listed in disco#items of this host (MUC, focus, components). */
  items?: () => DiscoItem[];
  /** Extra disco#info identities (Jitsi's `component` identities naming optional services). */
  identities?: () => DiscoIdentity[];
  /**
   * TURN/STUN services announced through XEP-0215 (may mint fresh credentials per request); throws
   * a StanzaError (forbidden) for a requester that may not have them.
   */
  externalServices?: (requester: Jid) => ExternalService[];
  version: string;
}

export class ClientHost implements DomainService {
  readonly domain: string;

  constructor(private readonly router: Router, private readonly log: Logger, private readonly options: ClientHostOptions) {
    this.domain = options.domain;
  }

  receive(stanza: Element): void {
    try {
      const to = parseJid(stanza.attrs.to as string);
      if (!to.local) return this.forDomain(stanza);
      if (to.resource) return this.forUnavailableResource(stanza, to);
      this.forAccount(stanza, to);
    } catch (err) {
      if (err instanceof StanzaError) return this.router.bounce(stanza, err);
      this.log.error({ err }, 'host handler failed');
      this.router.bounce(stanza, new StanzaError('cancel', 'internal-server-error'));
    }
  }

  private forDomain(stanza: Element): void {
    if (stanza.name !== 'iq') return; // messages and presence to the server itself are dropped
    const type = stanza.attrs.type;
    if (type !== 'get' && type !== 'set') return; // results and errors (replies to our pings)
    const payload = iqPayload(stanza);
    const ns = payload.attrs.xmlns as string | undefined;
    const from = parseJid(stanza.attrs.from as string);
    if (type === 'get' && ns === NS_PING && payload.name === 'ping') return this.reply(stanza);
    if (type === 'get' && ns === NS_DISCO_INFO) {
      if (payload.attrs.node) throw new StanzaError('cancel', 'item-not-found', 'no such node');
      return this.reply(stanza, buildDiscoInfo({
        identities: [{ category: 'server', type: 'im', name: 'Salon' }, ...(this.options.identities?.() ?? [])],
        features: [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION, NS_EXTDISCO_2, NS_EXTDISCO_1,
          'urn:xmpp:sm:3', 'urn:xmpp:stream-limits:0'],
      }));
    }
    if (type === 'get' && ns === NS_DISCO_ITEMS) {
      if (payload.attrs.node) throw new StanzaError('cancel', 'item-not-found', 'no such node');
      return this.reply(stanza, buildDiscoItems({ items: this.options.items?.() ?? [] }));
    }
    if (type === 'get' && (ns === NS_EXTDISCO_2 || ns === NS_EXTDISCO_1) && payload.name === 'services') {
      const services = this.options.externalServices?.(from) ?? [];
      const filter = payload.attrs.type as string | undefined;
      return this.reply(stanza, buildExternalServices(ns, filter ? services.filter((s) => s.type === filter) : services));
    }
    if (type === 'get' && (ns === NS_EXTDISCO_2 || ns === NS_EXTDISCO_1) && payload.name === 'credentials') {
      // §3.3: the request names a service by host and type, and by port when several share them.
      const wanted = parseCredentials(payload);
      if (wanted.length === 0) throw StanzaError.badRequest('the request names no STUN or TURN service');
      const services = this.options.externalServices?.(from) ?? [];
      const matching = services.filter((s) => wanted.some((w) => w.type === s.type && w.host === s.host && (w.port === undefined || w.port === s.port)));
      if (matching.length === 0) throw new StanzaError('cancel', 'item-not-found', 'no such service here');
      return this.reply(stanza, buildCredentials(ns, matching));
    }
    if (type === 'get' && ns === NS_VERSION) {
      const query = new Element('query', { xmlns: NS_VERSION });
      query.c('name').t('Salon');
      query.c('version').t(this.options.version);
      return this.reply(stanza, query);
    }
    throw new StanzaError('cancel', 'service-unavailable');
  }

  /** To a bare account JID (RFC 6121 §8.5.2). */
  private forAccount(stanza: Element, to: Jid): void {
    const from = parseJid(stanza.attrs.from as string);
    if (stanza.name === 'iq') {
      const type = stanza.attrs.type;
      if (type !== 'get' && type !== 'set') return;
      const payload = iqPayload(stanza);
      const self = from.bare === to.bare;
      // The server answers on the account's behalf; rosters are not kept, so they are empty.
      if (self && payload.attrs.xmlns === NS_ROSTER && type === 'get') return this.reply(stanza, new Element('query', { xmlns: NS_ROSTER }));
      if (payload.attrs.xmlns === NS_PING && type === 'get' && this.hasResources(to)) return this.reply(stanza);
      if (payload.attrs.xmlns === NS_DISCO_INFO && type === 'get' && (self || this.hasResources(to))) {
        return this.reply(stanza, buildDiscoInfo({ identities: [{ category: 'account', type: 'registered' }], features: [NS_DISCO_INFO] }));
      }
      throw new StanzaError('cancel', 'service-unavailable');
    }
    const resources = [...this.router.resourcesOf(to.bare)];
    if (stanza.name === 'message') {
      if (resources.length === 0) {
        if (stanza.attrs.type === 'groupchat' || stanza.attrs.type === 'headline') return;
        throw new StanzaError('cancel', 'service-unavailable', 'the recipient is not online');
      }
      const { out } = Outgoing.of(stanza);
      for (const r of resources) this.router.deliver(r, out);
      return;
    }
    // Directed presence to an account goes to all its resources; subscriptions are not kept.
    const type = stanza.attrs.type;
    if (type === undefined || type === 'unavailable') {
      const { out } = Outgoing.of(stanza);
      for (const r of resources) this.router.deliver(r, out);
    }
  }

  /** To a full JID with nothing bound there (RFC 6121 §8.5.3.2). */
  private forUnavailableResource(stanza: Element, to: Jid): void {
    if (stanza.name === 'message' && (stanza.attrs.type === 'chat' || stanza.attrs.type === 'normal' || stanza.attrs.type === undefined)) {
      return this.forAccount(stanza, to.toBare());
    }
    if (stanza.name === 'iq' || stanza.name === 'message') throw new StanzaError('cancel', 'service-unavailable');
    // presence to an unavailable resource is silently dropped
  }

  private hasResources(jid: Jid): boolean {
    for (const _ of this.router.resourcesOf(jid.bare)) return true;
    return false;
  }

  private reply(iq: Element, payload?: Element): void {
    this.router.route(iqResult(iq, payload));
  }
}
