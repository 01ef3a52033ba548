/**
 * Discussion history sent to a joining occupant (XEP-0045 §7.2.15): the last groupchat messages
 * with a body, each stamped with an XEP-0203 `<delay/>` from the room and serialised once.
 */
import { Element } from 'ltx';
import { Outgoing } from '../outgoing.ts';
import type { MucHistoryRequest } from '../protocol/muc-user.ts';

export const NS_DELAY = 'urn:xmpp:delay';

interface Entry {
  out: Outgoing;
  at: number;
  chars: number;
}

export class RoomHistory {
  private readonly entries: Entry[] = [];

  /** @param limit most messages kept (0 keeps none). */
  constructor(private readonly limit: number) {}

  get size(): number {
    return this.entries.length;
  }

  /** Records a broadcast groupchat message (no `to`); only messages with a `<body/>` are history. */
  add(message: Element, roomJid: string, at: number): void {
    if (this.limit <= 0 || !message.getChild('body')) return;
    const stamped = new Element(message.name, message.attrs);
    stamped.children = [...message.children, new Element('delay', { xmlns: NS_DELAY, from: roomJid, stamp: new Date(at).toISOString() })];
    this.entries.push({ out: new Outgoing(stamped), at, chars: stamped.toString().length });
    while (this.entries.length > this.limit) this.entries.shift();
  }

  /** The messages a newcomer asked for, oldest first (`maxstanzas`, `maxchars`, `seconds`, `since`). */
  select(request: MucHistoryRequest | undefined, now: number): Outgoing[] {
    let since = request?.since ?? -Infinity;
    if (request?.seconds !== undefined) since = Math.max(since, now - request.seconds * 1000);
    const maxStanzas = request?.maxstanzas ?? Infinity;
    const maxChars = request?.maxchars ?? Infinity;
    const picked: Outgoing[] = [];
    let chars = 0;
    for (let i = this.entries.length - 1; i >= 0 && picked.length < maxStanzas; i--) {
      const entry = this.entries[i];
      if (!entry || entry.at < since) break;
      chars += entry.chars;
      if (chars > maxChars) break;
      picked.push(entry.out);
    }
    return picked.reverse();
  }

  clear(): void {
    this.entries.length = 0;
  }
}
