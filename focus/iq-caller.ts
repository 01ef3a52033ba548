/**
 * Requests over the focus's XMPP session: ids, matching replies, timeouts. The one place the
 * focus builds IQ envelopes and waits for them.
 */
import { randomUUID } from 'node:crypto';
import { Element } from 'ltx';
import { StanzaError, parseStanzaError } from '../xmpp/errors.ts';

interface Pending {
  resolve(result: Element): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  to: string;
}

export class IqCaller {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(private readonly send: (stanza: Element) => void, private readonly timeoutMs = 15_000) {}

  /** Sends `<iq type=… to=…>payload</iq>`; resolves with the result's payload element (or undefined). */
  request(to: string, type: 'get' | 'set', payload: Element, timeoutMs = this.timeoutMs): Promise<Element | undefined> {
    if (this.closed) return Promise.reject(new StanzaError('wait', 'service-unavailable', 'the focus is stopping'));
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StanzaError('wait', 'remote-server-timeout', `no answer from ${to}`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, {
        to,
        timer,
        resolve: (result) => resolve(result.children.find((c): c is Element => typeof c !== 'string')),
        reject,
      });
      this.send(new Element('iq', { type, to, id }).cnode(payload).root());
    });
  }

  /** Offers a received IQ result/error; true when it answered one of ours. */
  handleReply(iq: Element): boolean {
    const id = iq.attrs.id as string | undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (!pending || iq.attrs.from !== pending.to) return false;
    this.pending.delete(id!);
    clearTimeout(pending.timer);
    if (iq.attrs.type === 'result') pending.resolve(iq);
    else {
      const e = parseStanzaError(iq);
      const err = new StanzaError('cancel', (e?.condition ?? 'undefined-condition') as StanzaError['condition'], e?.text);
      Object.assign(err, { reply: iq });
      pending.reject(err);
    }
    return true;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new StanzaError('wait', 'service-unavailable', 'the focus is stopping'));
      this.pending.delete(id);
    }
  }
}
