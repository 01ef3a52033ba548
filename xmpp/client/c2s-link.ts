/**
 * A client-to-server XMPP session kept up across network trouble, for Salon's roles running on
 * another machine than the XMPP server (a videobridge, as jitsi-videobridge's xmpp-client API
 * does): TCP to port 5222, STARTTLS whenever the server offers it (RFC 6120 §5) and required
 * unless the server is on loopback, SASL SCRAM-SHA-256 or SCRAM-SHA-1 (PLAIN only over TLS or
 * loopback), resource binding; then XEP-0199 pings to notice a dead connection, and
 * reconnection with exponential back-off until close().
 *
 * It is built from xmpp.js's parts (client-core, tcp, middleware, stream-features, iq,
 * resource-binding) rather than @xmpp/client, whose STARTTLS passes no TLS options (0.14): a CA
 * file, or the explicit "insecure" policy for self-signed test set-ups, could not be honoured.
 * STARTTLS and SASL are therefore this module's own stream-feature handlers, and SASL checks the
 * server's SCRAM signature (xmpp/sasl/client.ts). Stanzas from xmpp.js are ltx Elements of ltx's
 * CommonJS build; they are copied into Salon's (ESM) ltx Elements before anyone sees them.
 */
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { Client } from '@xmpp/client-core';
import iqCaller, { type IqCaller } from '@xmpp/iq/caller.js';
import middleware from '@xmpp/middleware';
import resourceBinding from '@xmpp/resource-binding';
import { upgrade } from '@xmpp/starttls/starttls.js';
import streamFeatures from '@xmpp/stream-features';
import tcp from '@xmpp/tcp';
import { parseJid } from '../jid.ts';
import { NS_PING } from '../protocol/ping.ts';
import { NS_SASL, NS_TLS } from '../protocol/stream-features.ts';
import { chooseMechanism, createSaslClient, type ClientMechanismName } from '../sasl/client.ts';
import { NS_CLIENT } from '../stanza.ts';
import { isLoopback } from '../transport/http-peer.ts';

/**
 * How the server's certificate is judged. `verify` checks the chain (against `ca`, PEM, when
 * given, else the system's CAs) and that it names the server host or the XMPP domain; `insecure`
 * accepts any certificate, for self-signed test set-ups only.
 */
export type TlsPolicy = { verify: true; ca?: string } | { verify: false };

export interface C2sLinkOptions {
  /** The server's host name or IP address. */
  host: string;
  port: number;
  /** The account's domain (stream `to`), e.g. `auth.meet.jitsi`. */
  domain: string;
  username: string;
  password: string;
  tls: TlsPolicy;
  log: Logger;
  /** Reconnection back-off: first delay and cap, in ms. Default 1000 and 30 000. */
  retry?: { firstMs: number; maxMs: number };
  /** Keep-alive pings (XEP-0199) to the domain: period and how long an answer may take, in ms. Default 30 000 and 20 000. */
  ping?: { intervalMs: number; timeoutMs: number };
  /** One attempt (TCP, TLS, SASL, bind) is abandoned after this long. Default 20 000 ms. */
  attemptTimeoutMs?: number;
}

/** What the current session negotiated. */
export interface C2sSessionInfo {
  jid: string;
  mechanism: ClientMechanismName;
  /** True when the stream runs over TLS. */
  encrypted: boolean;
}

export type C2sLinkState = 'idle' | 'connecting' | 'online' | 'waiting' | 'closed';

export interface C2sHandlers {
  stanza(stanza: Element): void;
  /** The session is (again) established; never called from inside `connect`. */
  online(): void;
}

/** One connection attempt and, once online, its session. */
interface Attempt {
  client: Client;
  iq: IqCaller;
  /** The TCP socket under everything (TLS included): destroying it ends the attempt at once. */
  socket?: Socket;
  mechanism?: ClientMechanismName;
  pings?: NodeJS.Timeout;
  deadline?: NodeJS.Timeout;
  /** Removes this module's listeners from the client. */
  unlisten: Array<() => void>;
}

/** Stream `<stream:error/>` conditions arrive as xmpp.js StreamErrors with a `condition`. */
function conditionOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'condition' in err && typeof err.condition === 'string' ? err.condition : undefined;
}

/** A copy of an xmpp.js element as Salon's ltx Element (see the header). */
function toLtx(source: Element, top = true): Element {
  const copy = new Element(source.name, { ...source.attrs });
  if (top && copy.attrs.xmlns === undefined) copy.attrs.xmlns = NS_CLIENT;
  for (const child of source.children) {
    if (typeof child === 'string') copy.t(child);
    else copy.cnode(toLtx(child, false));
  }
  return copy;
}

function saslElement(name: 'auth' | 'response', data: Buffer, attrs: Record<string, string> = {}): Element {
  // RFC 6120 §6.4.2: an empty response is sent as "=".
  return new Element(name, { xmlns: NS_SASL, ...attrs }).t(data.length ? data.toString('base64') : '=');
}

function saslData(el: Element): Buffer {
  const text = el.getText().trim();
  return text === '=' || text === '' ? Buffer.alloc(0) : Buffer.from(text, 'base64');
}

export class C2sLink {
  readonly #options: C2sLinkOptions;
  readonly #log: Logger;
  #state: C2sLinkState = 'idle';
  #handlers: C2sHandlers | undefined;
  #resource = '';
  #attempt: Attempt | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #delayMs: number;
  #session: C2sSessionInfo | undefined;
  #sessions = 0;
  #lastError: string | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: C2sLinkOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#delayMs = options.retry?.firstMs ?? 1000;
  }

  get state(): C2sLinkState {
    return this.#state;
  }

  /** The current session, while online. */
  get session(): C2sSessionInfo | undefined {
    return this.#session;
  }

  /** Sessions established so far (1 after the first login; each reconnection adds one). */
  get sessionCount(): number {
    return this.#sessions;
  }

  /** Why the last attempt or session ended, if one did. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Starts the session as `jid` (`user@domain/resource`, matching the options) and keeps it up
   * until close(). Stanzas sent while the link is down are dropped; `online` tells the owner when
   * to announce itself again.
   */
  connect(jid: string, handlers: C2sHandlers): { send(stanza: Element): void; close(reason?: string): void } {
    if (this.#handlers) throw new Error('a C2sLink carries one session');
    const parsed = parseJid(jid);
    if (parsed.local !== this.#options.username || parsed.domain !== this.#options.domain || !parsed.resource) {
      throw new Error(`${jid} is not a full JID of ${this.#options.username}@${this.#options.domain}`);
    }
    this.#resource = parsed.resource;
    this.#handlers = handlers;
    this.#connectOnce();
    return {
      send: (stanza) => this.send(stanza),
      close: (reason) => {
        this.close(reason).catch((err: unknown) => this.#log.error({ err }, 'closing the XMPP link failed'));
      },
    };
  }

  /** Sends a stanza on the current session; dropped (logged at debug) while there is none. */
  send(stanza: Element): void {
    const attempt = this.#attempt;
    if (this.#state !== 'online' || !attempt) {
      this.#log.debug({ name: stanza.name, to: stanza.attrs.to }, 'not connected: stanza dropped');
      return;
    }
    attempt.client.send(stanza).catch((err: unknown) => this.#log.debug({ err }, 'sending a stanza failed'));
  }

  /**
   * Stops reconnecting and ends the session: the stream is closed politely, waiting at most 2 s
   * for the server's side, then the socket is destroyed. Idempotent.
   */
  close(reason = 'closed'): Promise<void> {
    this.#closing ??= (async () => {
      const attempt = this.#attempt;
      const wasOnline = this.#state === 'online';
      this.#state = 'closed';
      this.#session = undefined;
      this.#attempt = undefined;
      clearTimeout(this.#retryTimer);
      this.#log.info({ reason }, 'XMPP link closing');
      if (!attempt) return;
      this.#stopTimers(attempt);
      if (wasOnline) {
        // RFC 6120 §4.4: close the stream and wait a little for the server to close its side.
        let timer: NodeJS.Timeout | undefined;
        const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)));
        try {
          await Promise.race([attempt.client.stop(), patience]);
        } catch (err) {
          this.#log.debug({ err }, 'the server did not close the stream cleanly');
        } finally {
          clearTimeout(timer);
        }
      }
      this.#abandon(attempt);
    })();
    return this.#closing;
  }

  #connectOnce(): void {
    if (this.#state === 'closed') return;
    this.#state = 'connecting';
    const attempt = this.#createAttempt();
    this.#attempt = attempt;
    attempt.deadline = setTimeout(() => this.#lost(attempt, 'timed out connecting'), this.#options.attemptTimeoutMs ?? 20_000);
    attempt.client.start().catch((err: unknown) => this.#lost(attempt, err instanceof Error ? err.message : String(err)));
  }

  #createAttempt(): Attempt {
    const { host, port, domain } = this.#options;
    const client = new Client({ service: `xmpp://${isIP(host) === 6 ? `[${host}]` : host}:${port}`, domain, timeout: 10_000 });
    tcp({ entity: client });
    const pipeline = middleware({ entity: client });
    const features = streamFeatures({ middleware: pipeline });
    const attempt: Attempt = { client, iq: iqCaller({ entity: client, middleware: pipeline }), unlisten: [] };
    const on = <A extends unknown[]>(event: string, listener: (...args: A) => void): void => {
      const emitter = client as unknown as NodeJS.EventEmitter;
      emitter.on(event, listener as (...args: unknown[]) => void);
      attempt.unlisten.push(() => emitter.off(event, listener as (...args: unknown[]) => void));
    };
    // Feature handlers run in this order (XEP-0170): TLS, then SASL, then binding.
    features.use('starttls', NS_TLS, async () => {
      await this.#startTls(attempt);
    });
    features.use('mechanisms', NS_SASL, async (_ctx, _next, offer) => {
      await this.#authenticate(attempt, offer);
    });
    resourceBinding({ streamFeatures: features, iqCaller: attempt.iq }, this.#resource);

    on('status', (status: string) => {
      if (status === 'connect' && !attempt.socket) attempt.socket = client.socket as Socket;
    });
    on('error', (err: Error) => {
      if (attempt !== this.#attempt) return;
      this.#lastError = err.message;
      if (conditionOf(err) === 'conflict') {
        // Two bridges with one id would take the session from each other for ever: slow down.
        this.#delayMs = this.#options.retry?.maxMs ?? 30_000;
        this.#log.error({ resource: this.#resource }, 'the server replaced this session by another with the same resource: is another bridge using this id?');
      } else {
        this.#log.debug({ err }, 'XMPP client error');
      }
    });
    on('online', () => this.#online(attempt));
    on('disconnect', () => this.#lost(attempt, 'the connection closed'));
    on('stanza', (stanza: Element) => {
      if (attempt !== this.#attempt || this.#state !== 'online') return;
      try {
        this.#handlers?.stanza(toLtx(stanza));
      } catch (err) {
        this.#log.error({ err, name: stanza.name }, 'stanza handler failed');
      }
    });
    return attempt;
  }

  async #startTls(attempt: Attempt): Promise<void> {
    const { client } = attempt;
    const reply = await client.sendReceive(new Element('starttls', { xmlns: NS_TLS }));
    if (reply.name !== 'proceed' || reply.attrs.xmlns !== NS_TLS) throw new Error('the server refused STARTTLS');
    const secured = await upgrade(client.socket, this.#tlsOptions());
    client._attachSocket(secured);
    await client.restart();
  }

  #tlsOptions(): Omit<ConnectionOptions, 'socket'> {
    const { host, domain, tls } = this.#options;
    const names = [host, domain];
    return {
      host,
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: tls.verify,
      ...(tls.verify && tls.ca ? { ca: tls.ca } : {}),
      // RFC 6120 §13.7.2.1 checks the XMPP domain; operators name the host they connect to.
      // Either name in the certificate will do.
      checkServerIdentity: (_servername, certificate) => {
        const failures = names.map((name) => checkServerIdentity(name, certificate));
        return failures.every(Boolean) ? failures[0] : undefined;
      },
    };
  }

  async #authenticate(attempt: Attempt, offer: Element): Promise<void> {
    const { client } = attempt;
    const { username, password, domain, host } = this.#options;
    const encrypted = client.isSecure();
    const loopback = isLoopback(attempt.socket?.remoteAddress ?? '');
    if (!encrypted && !loopback) throw new Error(`${host} does not offer STARTTLS: not logging in over an unencrypted connection`);
    const offered = offer.getChildren('mechanism', NS_SASL).map((m) => m.getText().trim());
    const name = chooseMechanism(offered, encrypted || loopback);
    if (!name) throw new Error(`no usable SASL mechanism among: ${offered.join(', ') || 'none'}`);
    const sasl = createSaslClient(name, username, password);
    let reply = await client.sendReceive(saslElement('auth', sasl.initial(), { mechanism: name }));
    while (reply.name === 'challenge' && reply.attrs.xmlns === NS_SASL) {
      reply = await client.sendReceive(saslElement('response', await sasl.challenge(saslData(reply))));
    }
    if (reply.name === 'failure') {
      const condition = reply.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name ?? 'failure';
      const text = reply.getChildText('text');
      throw new Error(`${username}@${domain} may not log in (${name}): ${condition}${text ? ` — ${text}` : ''}`);
    }
    if (reply.name !== 'success') throw new Error(`unexpected <${reply.name}/> during SASL`);
    sasl.success(saslData(reply));
    attempt.mechanism = name;
    await client.restart();
  }

  #online(attempt: Attempt): void {
    if (attempt !== this.#attempt || this.#state === 'closed') return;
    clearTimeout(attempt.deadline);
    this.#state = 'online';
    this.#sessions++;
    this.#delayMs = this.#options.retry?.firstMs ?? 1000;
    this.#session = {
      jid: attempt.client.jid?.toString() ?? '',
      mechanism: attempt.mechanism ?? 'PLAIN',
      encrypted: attempt.client.isSecure(),
    };
    const ping = this.#options.ping ?? { intervalMs: 30_000, timeoutMs: 20_000 };
    attempt.pings = setInterval(() => this.#ping(attempt, ping.timeoutMs), ping.intervalMs);
    attempt.pings.unref();
    this.#log.info({ server: `${this.#options.host}:${this.#options.port}`, ...this.#session, session: this.#sessions }, 'XMPP session established');
    try {
      this.#handlers?.online();
    } catch (err) {
      this.#log.error({ err }, 'online handler failed');
    }
  }

  #ping(attempt: Attempt, timeoutMs: number): void {
    const iq = new Element('iq', { type: 'get', to: this.#options.domain });
    iq.c('ping', { xmlns: NS_PING });
    attempt.iq.request(iq, timeoutMs).catch((err: unknown) => {
      // An error reply is still an answer: only silence means the connection is dead.
      if (err instanceof Error && err.name === 'TimeoutError') this.#lost(attempt, `no answer to a ping in ${timeoutMs} ms`);
    });
  }

  /** The attempt or session ended: clean it up and try again after the back-off. */
  #lost(attempt: Attempt, reason: string): void {
    if (attempt !== this.#attempt || this.#state === 'closed') return;
    const wasOnline = this.#state === 'online';
    this.#attempt = undefined;
    this.#session = undefined;
    this.#lastError = reason;
    this.#stopTimers(attempt);
    this.#abandon(attempt);
    const delay = Math.round(this.#delayMs * (0.8 + Math.random() * 0.4));
    this.#delayMs = Math.min(this.#delayMs * 2, this.#options.retry?.maxMs ?? 30_000);
    const server = `${this.#options.host}:${this.#options.port}`;
    if (wasOnline) this.#log.warn({ server, reason, retryInMs: delay }, 'XMPP session lost; reconnecting');
    else this.#log.warn({ server, reason, retryInMs: delay }, 'could not connect to the XMPP server; retrying');
    this.#state = 'waiting';
    this.#retryTimer = setTimeout(() => this.#connectOnce(), delay);
  }

  #stopTimers(attempt: Attempt): void {
    clearTimeout(attempt.deadline);
    clearInterval(attempt.pings);
  }

  /** Forgets an attempt for good: no more events from it reach us, and its socket is gone. */
  #abandon(attempt: Attempt): void {
    const { client } = attempt;
    for (const unlisten of attempt.unlisten.splice(0)) unlisten();
    // xmpp.js may still report the socket's end; nobody listens any more.
    client.on('error', () => undefined);
    (attempt.socket ?? (client.socket as Socket | null))?.destroy?.();
    // What xmpp.js still awaits (stream open, a reply, the TLS handshake) waits for an element or an
    // error, with a timer: fail it now rather than leave the timers holding the process.
    client.emit('error', new Error('connection abandoned'));
  }
}
