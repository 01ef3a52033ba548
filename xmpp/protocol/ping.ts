/**
 * XEP-0199 XMPP Ping 2.0.1 (https://xmpp.org/extensions/xep-0199.html).
 */
import { Element } from 'ltx';

export const NS_PING = 'urn:xmpp:ping';

export function buildPing(): Element {
  return new Element('ping', { xmlns: NS_PING });
}
