/**
 * The browser client's XMPP connection: RFC 7395 over the browser's WebSocket, SASL ANONYMOUS (a JWT,
 * when there is one, rides in the URL as `?token=`, as lib-jitsi-meet does) or, for an organiser
 * signing in with an account, SCRAM-SHA-1 or PLAIN, resource binding, and
 * XEP-0198 stream management with resumption so a network drop does not lose the conference.
 *
 * Written here rather than taken from StanzaJS: StanzaJS parses every stanza into JSON through its
 * registered definitions and drops what it does not define, while Jitsi's signalling is full of
 * elements no XEP defines (Jingle `<ssrc-info/>`, `<json-message/>`, `<bridge-session/>`, the
 * `<web-socket/>` of the transport, the presence extensions). Salon's own protocol modules
 * (xmpp/protocol/) already parse and build all of them as ltx elements, so the client only needs the
 * framing, SASL ANONYMOUS, bind and XEP-0198 around them: a few hundred lines instead of a second
 * model of the same stanzas.
 */
import { Element, parse } from 'ltx';
import { tryParseJid } from '../../../xmpp/jid.ts';
import { fromBase64, ScramSha1Client, toBase64 } from './scram.ts';

const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SM = 'urn:xmpp:sm:3';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** Default time an IQ waits for its answer. */
const IQ_TIMEOUT_MS = 15_000;

export interface ConnectionOptions {
  /** The WebSocket URL (`wss://host/xmpp-websocket`), from config.js. */
  url: string;
  /** The XMPP domain to authenticate on (config.hosts.anonymousdomain or hosts.domain). */
  domain: string;
  /** A JWT handed to the server as lib-jitsi-meet does (`?token=`). */
  token?: string;
  /** The room, added to the URL as jitsi-meet does (`?room=`): some components find the sender's room from it. */
  room?: string;
  /** An account of the service: logs in with SCRAM-SHA-1 (or PLAIN) instead of ANONYMOUS. */
  credentials?: { username: string; password: string };
  /** First resumption delay in ms, doubled per attempt up to 5 s. Default 500. */
  resumeDelayMs?: number;
}

/** An IQ error answer, with its RFC 6120 §8.3 condition. */
export class IqError extends Error {
  constructor(readonly condition: string, readonly stanza: Element | undefined, text?: string) {
    super(text ? `${condition}: ${text}` : condition);
  }
}

export type IqHandler = (iq: Element, payload: Element) => Element | undefined | Promise<Element | undefined>;

export type ConnectionStatus = 'connecting' | 'online' | 'reconnecting' | 'resumed' | 'closed';

interface Pending {
  /** Where the request went ('' for our own server/account): only that address may answer (RFC 6120 §8.1.2.1). */
  to: string;
  resolve(el: Element): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** One WebSocket: sends frames, hands parsed frames to `onFrame`, reports its end once. */
class Socket {
  private readonly ws: WebSocket;
  private closed = false;

  constructor(url: string, onFrame: (el: Element) => void, private readonly onEnd: (clean: boolean) => void) {
    this.ws = new WebSocket(url, 'xmpp');
    this.ws.onmessage = (event) => {
      let el: Element;
      try {
        el = parse(String(event.data));
      } catch {
        return this.close(false);
      }
      onFrame(el);
    };
    this.ws.onclose = () => this.end(false);
    this.ws.onerror = () => this.end(false);
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.addEventListener('open', () => resolve(), { once: true });
      this.ws.addEventListener('close', () => reject(new Error('the WebSocket closed')), { once: true });
    });
  }

  send(el: Element): void {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) this.ws.send(el.toString());
  }

  close(clean: boolean): void {
    if (clean && this.ws.readyState === WebSocket.OPEN) this.ws.send(new Element('close', { xmlns: NS_FRAMING }).toString());
    this.ws.close();
    this.end(clean);
  }

  private end(clean: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.onEnd(clean);
  }
}

/**
 * A logged-in XMPP session. `connect()` resolves once bound; afterwards a dropped WebSocket is
 * resumed (XEP-0198 §5) on a new one, and stanzas sent meanwhile are queued and replayed.
 */
export class XmppConnection {
  jid = '';
  status: ConnectionStatus = 'connecting';
  private socket: Socket | undefined;
  private frameWaiter: ((el: Element) => boolean) | undefined;
  private frameFail: ((err: Error) => void) | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly iqHandlers = new Map<string, IqHandler>();
  private readonly stanzaListeners = new Set<(el: Element) => void>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private nextId = 0;
  private smId: string | undefined;
  /** Stanzas received and handled (XEP-0198 `h`). */
  private inbound = 0;
  /** Stanzas sent and not yet acknowledged, oldest first; `outboundAcked` counts the acknowledged ones. */
  private readonly unacked: Element[] = [];
  private outboundAcked = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectAttempt = 0;
  /** The current socket carries the session (bound or resumed): stanzas may go out on it. */
  private live = false;
  /** A stream error after which resuming is pointless (conflict, policy-violation, …). */
  private finalError: string | undefined;

  constructor(private readonly options: ConnectionOptions) {}

  onStanza(listener: (el: Element) => void): () => void {
    this.stanzaListeners.add(listener);
    return () => this.stanzaListeners.delete(listener);
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Answers IQ get/set requests whose payload is `<name xmlns=ns>`; unknown ones get service-unavailable. */
  handleIq(ns: string, name: string, handler: IqHandler): () => void {
    const key = `${name} ${ns}`;
    this.iqHandlers.set(key, handler);
    return () => this.iqHandlers.delete(key);
  }

  async connect(): Promise<void> {
    await this.open(undefined);
    this.setStatus('online');
  }

  /** Sends a stanza (queued for replay until acknowledged). */
  send(stanza: Element): void {
    if (this.status === 'closed') return;
    // Held until the session is live, then kept until acknowledged (XEP-0198 §4) for a resumption.
    if (!this.live || this.smId) this.unacked.push(stanza);
    if (!this.live) return;
    this.socket?.send(stanza);
    if (this.smId && this.unacked.length % 5 === 0) this.socket?.send(new Element('r', { xmlns: NS_SM }));
  }

  /** Sends an IQ and resolves with its result; an error answer rejects with IqError. */
  iq(iq: Element, timeoutMs = IQ_TIMEOUT_MS): Promise<Element> {
    if (this.status === 'closed') return Promise.reject(new IqError('gone', undefined, 'the connection is closed'));
    // Unpredictable ids: an answer forged by another user would have to guess one.
    const id = iq.attrs.id ?? `${randomId()}${++this.nextId}`;
    iq.attrs.id = id;
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IqError('remote-server-timeout', undefined, 'no answer'));
      }, timeoutMs);
      this.pending.set(id, { to: String(iq.attrs.to ?? ''), resolve, reject, timer });
      this.send(iq);
    });
  }

  /** Ends the session (`</close>`); pending IQs fail. Idempotent. */
  close(): void {
    if (this.status === 'closed') return;
    this.setStatus('closed');
    clearTimeout(this.reconnectTimer);
    this.socket?.close(true);
    this.socket = undefined;
    this.frameFail?.(new Error('the connection closed'));
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new IqError('gone', undefined, 'the connection closed'));
      this.pending.delete(id);
    }
  }

  private setStatus(status: ConnectionStatus): void {
    this.status = status;
    for (const listener of this.statusListeners) safely(() => listener(status));
  }

  /** Opens a socket, authenticates, then binds (fresh) or resumes (`previd`). */
  private async open(previd: string | undefined): Promise<void> {
    const url = new URL(this.options.url);
    if (this.options.room && !url.searchParams.has('room')) url.searchParams.set('room', this.options.room);
    if (this.options.token) url.searchParams.set('token', this.options.token);
    if (previd) url.searchParams.set('previd', previd);
    const socket = new Socket(url.toString(), (el) => this.onFrame(el), (clean) => this.onSocketEnd(socket, clean));
    this.socket = socket;
    await socket.opened();
    const openStream = () => socket.send(new Element('open', { xmlns: NS_FRAMING, to: this.options.domain, version: '1.0' }));
    openStream();
    const features = await this.nextFrame((el) => el.name === 'features' || el.name === 'stream:features');
    const offered = features.getChild('mechanisms', NS_SASL)?.getChildren('mechanism').map((m) => m.getText().trim()) ?? [];
    await this.authenticate(socket, offered);
    openStream();
    await this.nextFrame((el) => el.name === 'features' || el.name === 'stream:features');
    if (previd) return this.resume(socket, previd);
    const bind = new Element('iq', { type: 'set', id: `bind${++this.nextId}` }).c('bind', { xmlns: NS_BIND }).root();
    socket.send(bind);
    const bound = await this.nextFrame((el) => el.name === 'iq' && el.attrs.id === bind.attrs.id);
    const jid = bound.getChild('bind', NS_BIND)?.getChildText('jid');
    if (bound.attrs.type !== 'result' || !jid) throw new Error('resource binding failed');
    this.jid = jid;
    socket.send(new Element('enable', { xmlns: NS_SM, resume: 'true' }));
    const enabled = await this.nextFrame((el) => el.getNS() === NS_SM && (el.name === 'enabled' || el.name === 'failed'));
    this.smId = enabled.name === 'enabled' && enabled.attrs.resume === 'true' ? enabled.attrs.id : undefined;
    this.live = true;
    for (const stanza of this.unacked) socket.send(stanza);
    if (!this.smId) this.unacked.length = 0;
  }

  /**
   * SASL (RFC 6120 §6): ANONYMOUS for guests and token holders; with an account, SCRAM-SHA-1
   * (RFC 5802) when offered, else PLAIN (the socket is TLS in production), the order Strophe prefers.
   */
  private async authenticate(socket: Socket, offered: readonly string[]): Promise<void> {
    const credentials = this.options.credentials;
    const outcomeOf = () => this.nextFrame((el) => el.getNS() === NS_SASL && ['success', 'failure', 'challenge'].includes(el.name));
    // The condition first (not-authorized: wrong credentials; temporary-auth-failure: try later), then the server's text.
    const refused = (failure: Element) => {
      const condition = failure.getChildElements().find((c) => c.name !== 'text')?.name ?? 'not-authorized';
      const text = failure.getChildText('text');
      return new Error(`login refused: ${condition}${text ? ` (${text})` : ''}`);
    };
    if (!credentials) {
      if (!offered.includes('ANONYMOUS')) throw new Error('the server offers no anonymous login');
      socket.send(new Element('auth', { xmlns: NS_SASL, mechanism: 'ANONYMOUS' }));
      const outcome = await outcomeOf();
      if (outcome.name !== 'success') throw refused(outcome);
      return;
    }
    if (offered.includes('SCRAM-SHA-1')) {
      const scram = new ScramSha1Client(credentials.username, credentials.password);
      socket.send(new Element('auth', { xmlns: NS_SASL, mechanism: 'SCRAM-SHA-1' }).t(toBase64(scram.first())));
      const challenge = await outcomeOf();
      if (challenge.name !== 'challenge') throw refused(challenge);
      const final = await scram.final(fromBase64(challenge.getText()));
      socket.send(new Element('response', { xmlns: NS_SASL }).t(toBase64(final)));
      const outcome = await outcomeOf();
      if (outcome.name !== 'success') throw refused(outcome);
      // The server proves it knows the password too (RFC 5802 §3, server signature).
      if (!(await scram.verify(fromBase64(outcome.getText())))) throw new Error('login refused: the server signature is wrong');
      return;
    }
    if (offered.includes('PLAIN')) {
      socket.send(new Element('auth', { xmlns: NS_SASL, mechanism: 'PLAIN' }).t(toBase64(`\0${credentials.username}\0${credentials.password}`)));
      const outcome = await outcomeOf();
      if (outcome.name !== 'success') throw refused(outcome);
      return;
    }
    throw new Error('the server offers no password login');
  }

  /** XEP-0198 §5: resumes; replays what the server has not acknowledged. */
  private async resume(socket: Socket, previd: string): Promise<void> {
    socket.send(new Element('resume', { xmlns: NS_SM, previd, h: String(this.inbound) }));
    const answer = await this.nextFrame((el) => el.getNS() === NS_SM && (el.name === 'resumed' || el.name === 'failed'));
    if (answer.name === 'failed') throw new Error('the session could not be resumed');
    this.acknowledge(Number(answer.attrs.h));
    this.live = true;
    for (const stanza of this.unacked) socket.send(stanza);
    if (!this.smId) this.unacked.length = 0;
  }

  private nextFrame(match: (el: Element) => boolean, timeoutMs = 10_000): Promise<Element> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.frameWaiter = undefined;
        reject(new Error('the server did not answer'));
      }, timeoutMs);
      this.frameFail = (err) => {
        clearTimeout(timer);
        this.frameWaiter = undefined;
        this.frameFail = undefined;
        reject(err);
      };
      this.frameWaiter = (el) => {
        if (el.name === 'error' || el.name === 'stream:error') {
          clearTimeout(timer);
          reject(new Error(`stream error: ${el.children.find((c): c is Element => typeof c !== 'string')?.name ?? 'unknown'}`));
          return true;
        }
        if (!match(el)) return false;
        clearTimeout(timer);
        resolve(el);
        return true;
      };
    });
  }

  private onFrame(el: Element): void {
    const waiter = this.frameWaiter;
    if (waiter && waiter(el)) {
      this.frameWaiter = undefined;
      this.frameFail = undefined;
      return;
    }
    if (el.getNS() === NS_SM) {
      if (el.name === 'r') this.socket?.send(new Element('a', { xmlns: NS_SM, h: String(this.inbound) }));
      else if (el.name === 'a') this.acknowledge(Number(el.attrs.h));
      return;
    }
    if (el.name === 'close' && el.getNS() === NS_FRAMING) return this.socket?.close(false);
    if (el.name === 'error' || el.name === 'stream:error') {
      // RFC 6120 §4.9: the stream ends. Some conditions mean a resumption would be refused too.
      const condition = el.children.find((c): c is Element => typeof c !== 'string')?.name ?? 'undefined-condition';
      this.finalError = FINAL_STREAM_ERRORS.has(condition) ? condition : undefined;
      return this.socket?.close(false);
    }
    if (el.name !== 'iq' && el.name !== 'message' && el.name !== 'presence') return;
    this.inbound = (this.inbound + 1) >>> 0;
    if (el.name === 'iq') return this.onIq(el);
    for (const listener of this.stanzaListeners) safely(() => listener(el));
  }

  private acknowledge(h: number): void {
    if (!Number.isFinite(h)) return;
    const count = (h - this.outboundAcked) >>> 0;
    if (count > this.unacked.length) return;
    this.unacked.splice(0, count);
    this.outboundAcked = h;
  }

  private onIq(iq: Element): void {
    const { type, id } = iq.attrs;
    if (type === 'result' || type === 'error') {
      const pending = this.pending.get(id);
      if (!pending || !this.isFromAddressee(String(iq.attrs.from ?? ''), pending.to)) return;
      this.pending.delete(id);
      clearTimeout(pending.timer);
      if (type === 'result') return pending.resolve(iq);
      const error = iq.getChild('error');
      const condition = error?.children.find((c): c is Element => typeof c !== 'string' && c.getNS() === NS_STANZAS && c.name !== 'text');
      return pending.reject(new IqError(condition?.name ?? 'undefined-condition', iq, error?.getChildText('text', NS_STANZAS) ?? undefined));
    }
    const payload = iq.children.find((c): c is Element => typeof c !== 'string');
    const handler = payload && this.iqHandlers.get(`${payload.name} ${payload.getNS()}`);
    const answer = (result: Element | undefined) => {
      const reply = new Element('iq', { type: 'result', id, to: iq.attrs.from });
      if (result) reply.cnode(result);
      this.send(reply);
    };
    const fail = (condition: string, text?: string) => {
      const reply = new Element('iq', { type: 'error', id, to: iq.attrs.from });
      const error = reply.c('error', { type: condition === 'service-unavailable' ? 'cancel' : 'modify' });
      error.c(condition, { xmlns: NS_STANZAS });
      if (text) error.c('text', { xmlns: NS_STANZAS }).t(text);
      this.send(reply);
    };
    if (!payload || !handler) return fail('service-unavailable');
    Promise.resolve()
      .then(() => handler(iq, payload))
      .then(answer, (err: unknown) => fail(err instanceof IqError ? err.condition : 'bad-request', err instanceof Error ? err.message : undefined));
  }

  /** RFC 6120 §8.1.2.1: the answer comes from where the request went (our server answers for our account). */
  private isFromAddressee(from: string, to: string): boolean {
    if (from === to) return true;
    if (to !== '') return false;
    const own = tryParseJid(this.jid);
    return from === this.jid || (own !== undefined && (from === own.bare || from === own.domain));
  }

  private onSocketEnd(socket: Socket, clean: boolean): void {
    if (socket !== this.socket || this.status === 'closed' || clean) return;
    this.socket = undefined;
    this.live = false;
    // A socket lost while logging in fails that attempt; its caller decides what next.
    this.frameFail?.(new Error('the WebSocket closed'));
    if (this.status === 'connecting' || this.status === 'reconnecting') return;
    if (this.finalError) return this.fail();
    this.setStatus('reconnecting');
    this.scheduleResume();
  }

  /** Tries to resume with backoff (0.5 s, 1 s, 2 s, then every 5 s; about 70 s in all) until the server forgets the session. */
  private scheduleResume(): void {
    const smId = this.smId;
    if (!smId) return this.fail();
    const delay = Math.min(5000, (this.options.resumeDelayMs ?? 500) * 2 ** this.reconnectAttempt++);
    this.reconnectTimer = setTimeout(() => {
      this.open(smId).then(
        () => {
          this.reconnectAttempt = 0;
          this.setStatus('resumed');
          this.setStatus('online');
        },
        (err: unknown) => {
          if (this.status === 'closed') return;
          // A refused resumption is final; a socket that could not open is retried for about 70 s.
          if (err instanceof Error && err.message.includes('could not be resumed')) return this.fail();
          if (this.reconnectAttempt > 16) return this.fail();
          this.socket?.close(false);
          this.scheduleResume();
        },
      );
    }, delay);
  }

  private fail(): void {
    this.close();
  }
}

/** Stream errors that end the session for good (RFC 6120 §4.9.3): no resumption is tried after them. */
const FINAL_STREAM_ERRORS = new Set(['conflict', 'policy-violation', 'not-authorized', 'host-unknown', 'invalid-from', 'see-other-host']);

function randomId(): string {
  return [...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Runs a listener; its exception is logged and does not stop the stanza's other listeners. */
function safely(run: () => void): void {
  try {
    run();
  } catch (err) {
    console.error('a connection listener failed', err);
  }
}
