/**
 * An in-process XMPP session: how Salon's own focus and bridge talk to the router when they run
 * in the same process (ARCHITECTURE: the roles still speak XMPP, over memory instead of a socket).
 * The router sees an ordinary bound resource; delivery is asynchronous (a microtask) so that no
 * handler runs inside another one's send.
 */
import type { Element } from 'ltx';
import type { Logger } from 'pino';
import type { Jid } from './jid.ts';
import type { Outgoing } from './outgoing.ts';
import type { Recipient, Router } from './router.ts';
import { NS_CLIENT } from './stanza.ts';

export class LocalSession implements Recipient {
  private closed = false;

  constructor(
    readonly jid: Jid,
    private readonly router: Router,
    private readonly log: Logger,
    private readonly onStanza: (stanza: Element) => void,
    private readonly onClosed?: (session: LocalSession) => void,
  ) {
    router.bind(this);
  }

  deliver(out: Outgoing): void {
    const stanza = out.elementFor(this.jid.full);
    queueMicrotask(() => {
      if (this.closed) return;
      try {
        this.onStanza(stanza);
      } catch (err) {
        this.log.error({ err, jid: this.jid.full }, 'in-process stanza handler failed');
      }
    });
  }

  /** Sends a stanza as this session: `from` is stamped, as for any client. */
  send(stanza: Element): void {
    if (this.closed) return;
    stanza.attrs.from = this.jid.full;
    stanza.attrs.xmlns = NS_CLIENT;
    this.router.route(stanza);
  }

  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.router.unbind(this, reason);
    this.onClosed?.(this);
  }
}
