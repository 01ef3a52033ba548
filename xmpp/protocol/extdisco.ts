/**
 * XEP-0215 External Service Discovery 1.0 (https://xmpp.org/extensions/xep-0215.html):
 * the TURN/STUN servers clients should use (§3.1, §3.2), and credentials for one of them (§3.3).
 * Jitsi clients ask `urn:xmpp:extdisco:2` first and fall back to `:1`.
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';

export const NS_EXTDISCO_2 = 'urn:xmpp:extdisco:2';
export const NS_EXTDISCO_1 = 'urn:xmpp:extdisco:1';

export interface ExternalService {
  type: 'stun' | 'turn' | 'turns';
  host: string;
  port?: number;
  transport?: 'udp' | 'tcp';
  username?: string;
  password?: string;
  /** When the credentials expire: XEP-0082 DateTime in UTC. */
  expires?: string;
  /** Credentials are needed (and, when absent, asked for with `<credentials/>`, §3.3). */
  restricted?: boolean;
}

/** `<services/>` (§3.1, §3.2): the list of services. */
export function buildExternalServices(ns: string, services: readonly ExternalService[]): Element {
  return buildServiceList('services', ns, services);
}

export function parseExternalServices(el: Element): ExternalService[] {
  return parseServiceList('services', el);
}

/**
 * `<credentials/>` (§3.3): in a request, the service wanted (host and type, port when several
 * share them); in the answer, the matching services with their username and password.
 */
export function buildCredentials(ns: string, services: readonly ExternalService[]): Element {
  return buildServiceList('credentials', ns, services);
}

export function parseCredentials(el: Element): ExternalService[] {
  return parseServiceList('credentials', el);
}

function buildServiceList(name: 'services' | 'credentials', ns: string, services: readonly ExternalService[]): Element {
  const el = new Element(name, { xmlns: ns });
  for (const s of services) {
    const attrs: Record<string, string> = { type: s.type, host: s.host };
    if (s.port !== undefined) attrs.port = String(s.port);
    if (s.transport) attrs.transport = s.transport;
    if (s.username) attrs.username = s.username;
    if (s.password) attrs.password = s.password;
    if (s.expires) attrs.expires = s.expires;
    if (s.restricted) attrs.restricted = '1';
    el.c('service', attrs);
  }
  return el;
}

function parseServiceList(name: 'services' | 'credentials', el: Element): ExternalService[] {
  if (el.name !== name || (el.attrs.xmlns !== NS_EXTDISCO_2 && el.attrs.xmlns !== NS_EXTDISCO_1)) throw StanzaError.badRequest(`not an extdisco ${name} element`);
  // XEP-0215 §3.1 lists services of any registered type (its own example has an ftp server); only
  // STUN and TURN are of use here, so the others are skipped rather than failing the whole list.
  const relevant = el.getChildren('service').filter((s) => s.attrs.type === undefined || ['stun', 'turn', 'turns'].includes(s.attrs.type as string));
  return relevant.map((s) => {
    const { type, host, port, transport, username, password, expires, restricted } = s.attrs as Record<string, string | undefined>;
    if ((type !== 'stun' && type !== 'turn' && type !== 'turns') || !host) throw StanzaError.badRequest('service lacks type or host');
    return {
      type, host,
      ...(port ? { port: Number(port) } : {}),
      ...(transport === 'udp' || transport === 'tcp' ? { transport } : {}),
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(expires ? { expires } : {}),
      ...(restricted === '1' || restricted === 'true' ? { restricted: true } : {}),
    };
  });
}
