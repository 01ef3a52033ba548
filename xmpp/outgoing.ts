/**
 * A stanza serialised once and addressed many times: MUC fan-out, where every copy differs only
 * in its `to`, costs one serialisation per room instead of one per recipient.
 */
import { Element, escapeXML } from 'ltx';

export class Outgoing {
  private tail: string | undefined;

  /** `element` must not carry `to`; it is never mutated afterwards (recipients share it). */
  constructor(readonly element: Element) {}

  /** The serialised stanza addressed to `to` (`<name to="…"` + the rest, serialised once). */
  serialisedFor(to: string): string {
    if (this.tail === undefined) {
      const whole = this.element.toString();
      this.tail = whole.slice(this.element.name.length + 1);
    }
    return `<${this.element.name} to="${escapeXML(to)}"${this.tail}`;
  }

  /** A shallow copy with `to` set, for in-process recipients (children are shared: do not mutate). */
  elementFor(to: string): Element {
    const copy = new Element(this.element.name, { ...this.element.attrs, to });
    copy.children = this.element.children;
    return copy;
  }

  /** Wraps one stanza already carrying `to` (the common unicast case). */
  static of(stanza: Element): { out: Outgoing; to: string } {
    const { to, ...attrs } = stanza.attrs as Record<string, string>;
    const copy = new Element(stanza.name, attrs);
    copy.children = stanza.children;
    return { out: new Outgoing(copy), to: to ?? '' };
  }
}
