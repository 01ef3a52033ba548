/**
 * XEP-0114 Jabber Component Protocol 1.6 (https://xmpp.org/extensions/xep-0114.html), accept
 * side, on loopback port 5347: a component authenticates with the SHA-1 handshake and then owns
 * its domain on the router. As in Prosody's mod_component, `from` must be in that domain (else
 * `invalid-from`), a missing `from` is the domain itself, and a stanza without `to` is answered
 * with bad-request. Components are trusted: no read throttling, but the stanza size limit stays.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StanzaError, StreamError } from '../errors.ts';
import { tryParseJid } from '../jid.ts';
import type { DomainService, Router } from '../router.ts';
import { NS_CLIENT, errorReply, isStanza } from '../stanza.ts';
import type { XmlParserLimits } from '../xml-parser.ts';
import { closeListener, listen } from './listen.ts';
import { XmlSocket } from './xml-socket.ts';

export const NS_COMPONENT = 'jabber:component:accept';

export interface ComponentListenerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Component domain → shared secret. */
  secrets: Record<string, string>;
  parserLimits: XmlParserLimits;
  /** Time allowed from connection to a successful handshake. Default 30 s. */
  handshakeTimeoutSeconds?: number;
}

export class ComponentListener {
  private readonly server: Server;
  private readonly connections = new Set<ComponentConnection>();

  constructor(private readonly router: Router, private readonly log: Logger, private readonly options: ComponentListenerOptions) {
    this.server = createServer((socket) => this.accept(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return listen(this.server, this.options.port, this.options.host);
  }

  /** Ends every component stream with `system-shutdown` and stops listening. */
  async close(): Promise<void> {
    await closeListener(this.server, this.connections, (c) => c.end(new StreamError('system-shutdown')), (c) => c.whenClosed);
  }

  private accept(socket: Socket): void {
    const connection = new ComponentConnection(socket, this.router, this.log, this.options, () => this.connections.delete(connection));
    this.connections.add(connection);
  }
}

type State = 'wait-open' | 'wait-handshake' | 'ready' | 'closed';

class ComponentConnection {
  private state: State = 'wait-open';
  private readonly xml: XmlSocket;
  private readonly streamId = randomBytes(12).toString('hex');
  private domain = '';
  private log: Logger;
  private removeService: (() => void) | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;

  constructor(
    socket: Socket,
    private readonly router: Router,
    log: Logger,
    private readonly options: ComponentListenerOptions,
    private readonly onClosed: () => void,
  ) {
    this.log = log.child({ remote: socket.remoteAddress });
    this.xml = new XmlSocket(socket, {
      open: (attrs) => this.open(attrs),
      element: (el) => this.element(el),
      peerClose: () => this.end(),
      failed: (error) => this.end(error),
      closed: () => this.closed(),
    }, { limits: options.parserLimits, contentNs: NS_COMPONENT, log: this.log });
    this.handshakeTimer = setTimeout(
      () => this.end(new StreamError('connection-timeout', 'no handshake')),
      (options.handshakeTimeoutSeconds ?? 30) * 1000,
    );
    this.handshakeTimer.unref();
  }

  get whenClosed(): Promise<void> {
    return this.xml.whenClosed;
  }

  end(error?: StreamError): void {
    if (error) this.log.debug({ condition: error.condition, text: error.text }, 'component stream error');
    this.stop();
    this.xml.end(error);
  }

  private open(attrs: Record<string, string>): void {
    if (this.state !== 'wait-open') return this.end(new StreamError('not-well-formed', 'unexpected stream header'));
    const domain = attrs.to?.toLowerCase() ?? '';
    this.xml.sendHeader({ id: this.streamId, ...(domain ? { from: domain } : {}) });
    if (!Object.hasOwn(this.options.secrets, domain)) {
      return this.end(new StreamError('host-unknown', `no component is configured for ${domain || '(no domain)'}`));
    }
    this.domain = domain;
    this.log = this.log.child({ component: domain });
    this.state = 'wait-handshake';
  }

  private element(el: Element): void {
    if (this.state === 'wait-handshake') return this.handshake(el);
    if (this.state !== 'ready') return;
    try {
      this.fromComponent(el);
    } catch (err) {
      if (err instanceof StreamError) return this.end(err);
      this.log.error({ err }, 'component stanza handling failed');
      this.end(new StreamError('internal-server-error'));
    }
  }

  /** XEP-0114 §3: `<handshake>` holds hex(SHA-1(stream id + secret)). */
  private handshake(el: Element): void {
    if (el.name !== 'handshake') return this.end(new StreamError('not-authorized', 'handshake first'));
    const secret = this.options.secrets[this.domain] ?? '';
    const expected = Buffer.from(createHash('sha1').update(this.streamId + secret, 'utf8').digest('hex'));
    const given = Buffer.from(el.getText().trim().toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.log.warn('component handshake failed');
      return this.end(new StreamError('not-authorized', 'given token does not match calculated token'));
    }
    if (this.router.hasService(this.domain)) {
      this.log.warn('component domain already served');
      return this.end(new StreamError('conflict', `${this.domain} is already connected`));
    }
    const service: DomainService = { domain: this.domain, tracksPresence: true, receive: (stanza) => this.toComponent(stanza) };
    this.removeService = this.router.addService(service);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.state = 'ready';
    this.xml.write(new Element('handshake').toString());
    this.log.info('component connected');
  }

  private fromComponent(el: Element): void {
    if (!isStanza(el)) throw new StreamError('unsupported-stanza-type', `<${el.name}/> is not a stanza`);
    const ns = el.attrs.xmlns as string | undefined;
    if (ns !== NS_COMPONENT && ns !== NS_CLIENT) throw new StreamError('invalid-namespace', `stanzas are in ${NS_COMPONENT}`);
    el.attrs.xmlns = NS_CLIENT;
    const fromAttr = el.attrs.from as string | undefined;
    if (fromAttr === undefined) {
      el.attrs.from = this.domain;
    } else {
      const from = tryParseJid(fromAttr);
      if (!from || from.domain !== this.domain) {
        throw new StreamError('invalid-from', `the component may only send from ${this.domain}`);
      }
      el.attrs.from = from.full;
    }
    if (!el.attrs.to) {
      const reply = errorReply(el, StanzaError.badRequest("components must address stanzas with 'to'"));
      if (reply) this.toComponent(reply);
      return;
    }
    this.router.route(el);
  }

  /** A stanza for the component's domain, written in the component namespace (XEP-0114 §2). */
  private toComponent(stanza: Element): void {
    const copy = new Element(stanza.name, { ...stanza.attrs, xmlns: NS_COMPONENT });
    copy.children = stanza.children;
    this.xml.write(copy.toString());
  }

  /** Unregisters the domain and clears the timer; the socket may still be closing. */
  private stop(): void {
    if (this.state === 'closed') return;
    if (this.state === 'ready') this.log.info('component disconnected');
    this.state = 'closed';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.removeService?.();
    this.removeService = undefined;
  }

  private closed(): void {
    this.stop();
    this.onClosed();
  }
}
