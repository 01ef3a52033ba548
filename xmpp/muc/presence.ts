/**
 * Occupant presence as the room relays it (XEP-0045 §7.2.3–§7.2.5): the client's own presence
 * children, intact (Jitsi's `<nick>`, `<SourceInfo>`, `<stats>`, unknown namespaces…), never its
 * join element nor a muc#user element it tried to forge, plus the room's muc#user `<x/>`.
 */
import { Element } from 'ltx';
import { Outgoing } from '../outgoing.ts';
import { NS_CLIENT } from '../stanza.ts';
import { buildMucUser, NS_MUC, NS_MUC_USER, type MucUser } from '../protocol/muc-user.ts';

/** The client's `<x xmlns="…muc"/>` (join) or a `<x xmlns="…muc#user"/>` only the room may write. */
export function isMucElement(child: Element): boolean {
  if (child.getName() !== 'x') return false;
  const ns = child.getNS();
  return ns === NS_MUC || ns === NS_MUC_USER;
}

/**
 * What the room keeps of a client's presence: its attributes except addressing, type and id, and
 * every child element except the MUC ones. Children are shared with `client`, not copied.
 */
export function relayedPresence(from: string, client: Element | undefined, type?: 'unavailable'): Element {
  const el = new Element('presence', { xmlns: NS_CLIENT, from });
  if (client) {
    for (const [name, value] of Object.entries(client.attrs)) {
      if (name !== 'to' && name !== 'from' && name !== 'xmlns' && name !== 'type' && name !== 'id') el.attrs[name] = value;
    }
    for (const child of client.children) {
      if (typeof child !== 'string' && !isMucElement(child)) el.children.push(child);
    }
  }
  if (type) el.attrs.type = type;
  return el;
}

/** `base` plus the room's muc#user element (and `to`, for unicast); `base` is not modified. */
export function withMucUser(base: Element, user: Partial<MucUser>, to?: string): Element {
  const el = new Element(base.name, to === undefined ? base.attrs : { ...base.attrs, to });
  el.children = [...base.children, buildMucUser(user)];
  return el;
}

/**
 * One presence in its two forms, with and without real JIDs (for semi-anonymous rooms, §7.2.4),
 * each built and serialised at most once however many occupants receive it.
 */
export class PresenceVariants {
  private full: Outgoing | undefined;
  private anonymous: Outgoing | undefined;

  constructor(private readonly build: (withJid: boolean) => Element) {}

  get(withJid: boolean): Outgoing {
    if (withJid) return (this.full ??= new Outgoing(this.build(true)));
    return (this.anonymous ??= new Outgoing(this.build(false)));
  }
}
