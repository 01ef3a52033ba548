/**
 * XEP-0030 Service Discovery (v2.5rc3, https://xmpp.org/extensions/xep-0030.html): build and
 * parse the disco#info and disco#items `<query/>` payloads, with XEP-0128 extended info forms.
 * The IQ envelope is the caller's. Pure and browser-safe.
 */
import { Element } from 'ltx';
import { StanzaError } from '../errors.ts';
import { buildDataForm, NS_DATA_FORMS, parseDataForm, type DataForm } from './dataform.ts';

export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
  lang?: string;
}

export interface DiscoInfo {
  node?: string;
  identities: DiscoIdentity[];
  features: string[];
  /** XEP-0128 extended information, one form per FORM_TYPE. */
  forms?: DataForm[];
}

export interface DiscoItem {
  jid: string;
  node?: string;
  name?: string;
}

export interface DiscoItems {
  node?: string;
  items: DiscoItem[];
}

/** `<query xmlns="…disco#info">` with identities, features and forms, in that order (§3.1). */
export function buildDiscoInfo(info: DiscoInfo): Element {
  const query = new Element('query', { xmlns: NS_DISCO_INFO, node: info.node });
  for (const id of info.identities) {
    query.c('identity', { category: id.category, type: id.type, name: id.name, 'xml:lang': id.lang });
  }
  for (const feature of info.features) query.c('feature', { var: feature });
  for (const form of info.forms ?? []) query.cnode(buildDataForm(form));
  return query;
}

/** Accepts the `<query/>` or the IQ carrying it; throws bad-request naming the bad part. */
export function parseDiscoInfo(el: Element): DiscoInfo {
  const query = queryOf(el, NS_DISCO_INFO);
  const info: DiscoInfo = { identities: [], features: [], forms: [] };
  if (typeof query.attrs.node === 'string') info.node = query.attrs.node;
  for (const child of query.getChildElements()) {
    if (child.name === 'identity') {
      const { category, type, name } = child.attrs as Record<string, unknown>;
      if (typeof category !== 'string' || typeof type !== 'string') throw StanzaError.badRequest('<identity/> lacks category or type');
      const identity: DiscoIdentity = { category, type };
      if (typeof name === 'string') identity.name = name;
      const lang = child.attrs['xml:lang'];
      if (typeof lang === 'string') identity.lang = lang;
      info.identities.push(identity);
    } else if (child.name === 'feature') {
      const feature = child.attrs.var;
      if (typeof feature !== 'string') throw StanzaError.badRequest("<feature/> lacks 'var'");
      info.features.push(feature);
    } else if (child.name === 'x' && child.attrs.xmlns === NS_DATA_FORMS) {
      info.forms?.push(parseDataForm(child));
    }
  }
  return info;
}

export function buildDiscoItems(items: DiscoItems): Element {
  const query = new Element('query', { xmlns: NS_DISCO_ITEMS, node: items.node });
  for (const item of items.items) query.c('item', { jid: item.jid, node: item.node, name: item.name });
  return query;
}

export function parseDiscoItems(el: Element): DiscoItems {
  const query = queryOf(el, NS_DISCO_ITEMS);
  const items: DiscoItems = { items: [] };
  if (typeof query.attrs.node === 'string') items.node = query.attrs.node;
  for (const child of query.getChildren('item')) {
    const { jid, node, name } = child.attrs as Record<string, unknown>;
    if (typeof jid !== 'string') throw StanzaError.badRequest("disco <item/> lacks 'jid'");
    const item: DiscoItem = { jid };
    if (typeof node === 'string') item.node = node;
    if (typeof name === 'string') item.name = name;
    items.items.push(item);
  }
  return items;
}

function queryOf(el: Element, xmlns: string): Element {
  const query = el.name === 'query' ? el : el.getChild('query', xmlns);
  if (!query || query.attrs.xmlns !== xmlns) throw StanzaError.badRequest(`no ${xmlns} query`);
  return query;
}
