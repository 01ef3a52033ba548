/**
 * Test scaffolding for the transports: a minimal server (router, hosts, accounts, limits) and
 * raw clients that speak the wire formats themselves: an XML stream over TCP (optionally
 * upgraded to TLS), and BOSH over plain HTTP, all on loopback.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Element, parse } from 'ltx';
import { pino } from 'pino';
import { AccountStore, digest, hmac, saltedPassword, type PasswordStorage, type ScramHash } from '../../../../xmpp/accounts.ts';
import { ClientHost } from '../../../../xmpp/host.ts';
import { AddressLimiter } from '../../../../xmpp/limits.ts';
import { Router } from '../../../../xmpp/router.ts';
import { SessionRegistry, type ClientSession } from '../../../../xmpp/session.ts';
import type { ClientStreamContext, HostAuth } from '../../../../xmpp/stream.ts';
import { XmlParser, defaultClientLimits, type XmlParserLimits } from '../../../../xmpp/xml-parser.ts';

export const NS_STREAMS = 'http://etherx.jabber.org/streams';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_PING = 'urn:xmpp:ping';
export const NS_XMPP_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';

export const testLimits: XmlParserLimits = { ...defaultClientLimits, maxStanzaBytes: 65536 };

export interface TestServer {
  ctx: ClientStreamContext;
  router: Router;
  accounts: AccountStore;
  /** Sessions that were closed, with their reason, in order. */
  closedSessions: Array<{ jid: string; reason: string }>;
  /** Resolves when the next session closes. */
  nextSessionClosed(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A minimal c2s server: meet.jitsi (anonymous) and auth.meet.jitsi (accounts), each a ClientHost.
 * Accounts are kept as SCRAM keys unless asked otherwise, so SCRAM logins can be tested.
 */
export async function createTestServer(options: { passwordStorage?: PasswordStorage } = {}): Promise<TestServer> {
  const log = pino({ level: 'silent' });
  const router = new Router(log);
  const dir = await mkdtemp(join(tmpdir(), 'salon-transport-'));
  const accounts = await AccountStore.open(join(dir, 'accounts.json'), { storage: options.passwordStorage ?? 'scram' });
  const hosts = new Map<string, HostAuth>([['meet.jitsi', 'anonymous'], ['auth.meet.jitsi', 'internal']]);
  const removers = [...hosts.keys()].map((domain) => router.addService(new ClientHost(router, log, { domain, version: 'test' })));
  const closedSessions: Array<{ jid: string; reason: string }> = [];
  let waiters: Array<(reason: string) => void> = [];
  const ctx: ClientStreamContext = {
    log,
    router,
    accounts,
    registry: new SessionRegistry(),
    hosts,
    defaultHost: 'meet.jitsi',
    trustedDomain: 'auth.meet.jitsi',
    limits: {
      maxStanzaBytes: testLimits.maxStanzaBytes,
      c2sBytesPerSecond: 1024 * 1024,
      burstSeconds: 2,
      unauthenticatedTimeoutSeconds: 30,
      maxQueuedStanzas: 500,
      maxQueuedBytes: 1024 * 1024,
    },
    hibernationSeconds: 0,
    addressLimiter: new AddressLimiter(100, 100),
    onSessionClosed: (session: ClientSession, reason: string) => {
      closedSessions.push({ jid: session.jid.full, reason });
      const current = waiters;
      waiters = [];
      for (const w of current) w(reason);
    },
  };
  return {
    ctx,
    router,
    accounts,
    closedSessions,
    nextSessionClosed: () => new Promise((resolve) => waiters.push(resolve)),
    async close() {
      for (const remove of removers) remove();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type StreamEvent =
  | { kind: 'open'; attrs: Record<string, string> }
  | { kind: 'element'; el: Element }
  | { kind: 'close' }
  | { kind: 'gone' };

/** A raw XML stream client over TCP: sends text, reads server events in order. */
export class XmlStreamClient {
  private socket: Socket;
  private readonly parser: XmlParser;
  private readonly events: StreamEvent[] = [];
  private waiter: ((e: StreamEvent) => void) | undefined;
  private gone = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.parser = new XmlParser({
      streamOpen: (_name, attrs) => this.push({ kind: 'open', attrs }),
      stanza: (el) => this.push({ kind: 'element', el }),
      streamClose: () => this.push({ kind: 'close' }),
    }, { limits: { ...defaultClientLimits, maxStanzaBytes: 1 << 20 }, rooted: true });
    this.listen(socket);
  }

  static connect(port: number): Promise<XmlStreamClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new XmlStreamClient(socket));
      });
      socket.once('error', reject);
    });
  }

  send(data: string): void {
    this.socket.write(data);
  }

  /** Sends a stream header (RFC 6120 §4.7) for `to` in the given content namespace. */
  open(to: string, ns = 'jabber:client'): void {
    this.send(`<?xml version='1.0'?><stream:stream xmlns='${ns}' xmlns:stream='${NS_STREAMS}' to='${to}' version='1.0'>`);
  }

  /** Forgets the old stream: the server's next bytes are a new header (after TLS or SASL success). */
  restart(): void {
    this.parser.reset();
  }

  async next(): Promise<StreamEvent> {
    const queued = this.events.shift();
    if (queued) return queued;
    return new Promise((resolve) => (this.waiter = resolve));
  }

  async header(): Promise<Record<string, string>> {
    const e = await this.next();
    if (e.kind !== 'open') throw new Error(`expected a stream header, got ${describe(e)}`);
    return e.attrs;
  }

  async element(name?: string): Promise<Element> {
    const e = await this.next();
    if (e.kind !== 'element' || (name !== undefined && e.el.name !== name)) throw new Error(`expected <${name ?? 'element'}>, got ${describe(e)}`);
    return e.el;
  }

  /** Reads a stream error and the end of the stream; returns the error condition. */
  async streamError(): Promise<string> {
    const error = await this.element('stream:error');
    const condition = error.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === NS_XMPP_STREAMS && c.name !== 'text');
    const end = await this.next();
    if (end.kind !== 'close') throw new Error(`expected </stream:stream>, got ${describe(end)}`);
    return condition?.name ?? '(none)';
  }

  /** STARTTLS client side: wraps the socket, checks the certificate for `servername` against `ca`. */
  async startTls(ca: string, servername: string): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    const secure = await new Promise<Socket>((resolve, reject) => {
      const s = tlsConnect({ socket: raw, ca, servername }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.parser.reset();
    this.listen(secure);
  }

  /** Resolves once the connection is closed. */
  async closed(): Promise<void> {
    for (;;) {
      const e = await this.next();
      if (e.kind === 'gone') return;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      try {
        this.parser.write(chunk);
      } catch (err) {
        this.push({ kind: 'element', el: new Element('client-parse-error').t(String(err)) });
      }
    });
    socket.on('error', () => undefined); // the close that follows is what tests look at
    socket.once('close', () => {
      if (this.gone) return;
      this.gone = true;
      this.push({ kind: 'gone' });
    });
  }

  private push(e: StreamEvent): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(e);
    } else {
      this.events.push(e);
    }
  }
}

function describe(e: StreamEvent): string {
  if (e.kind === 'element') return e.el.toString().slice(0, 200);
  return e.kind;
}

/** The mechanisms offered in a features element. */
export function mechanismsOf(features: Element): string[] {
  return features.getChild('mechanisms', NS_SASL)?.getChildren('mechanism').map((m) => m.getText()) ?? [];
}

export function plainAuth(user: string, password: string): string {
  const payload = Buffer.from(`\u0000${user}\u0000${password}`, 'utf8').toString('base64');
  return `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${payload}</auth>`;
}

/** Client side of SCRAM (RFC 5802) without channel binding. */
export class ScramClient {
  private readonly nonce = randomBytes(18).toString('base64');
  private readonly clientFirstBare: string;
  private serverSignature: Buffer = Buffer.alloc(0);

  constructor(private readonly hash: ScramHash, user: string, private readonly password: string) {
    this.clientFirstBare = `n=${user},r=${this.nonce}`;
  }

  get mechanism(): string {
    return this.hash === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256';
  }

  auth(): string {
    return `<auth xmlns='${NS_SASL}' mechanism='${this.mechanism}'>${Buffer.from(`n,,${this.clientFirstBare}`).toString('base64')}</auth>`;
  }

  /** The `<response>` to the server-first challenge. */
  async response(challenge: Element): Promise<string> {
    const serverFirst = Buffer.from(challenge.getText(), 'base64').toString('utf8');
    const fields = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
    const nonce = fields.get('r') ?? '';
    if (!nonce.startsWith(this.nonce)) throw new Error('server nonce does not extend ours');
    const salted = await saltedPassword(this.password, Buffer.from(fields.get('s') ?? '', 'base64'), Number(fields.get('i')), this.hash);
    const clientKey = hmac(this.hash, salted, 'Client Key');
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(this.hash, digest(this.hash, clientKey), authMessage);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    this.serverSignature = hmac(this.hash, hmac(this.hash, salted, 'Server Key'), authMessage);
    return `<response xmlns='${NS_SASL}'>${Buffer.from(`${withoutProof},p=${proof.toString('base64')}`).toString('base64')}</response>`;
  }

  /** Whether `<success>` carries the server signature we expect (mutual authentication). */
  verify(success: Element): boolean {
    return Buffer.from(success.getText(), 'base64').toString('utf8') === `v=${this.serverSignature.toString('base64')}`;
  }
}

export function bindIq(id: string, resource?: string): string {
  return `<iq xmlns='jabber:client' type='set' id='${id}'><bind xmlns='${NS_BIND}'>${resource ? `<resource>${resource}</resource>` : ''}</bind></iq>`;
}

export function pingIq(id: string, to: string): string {
  return `<iq xmlns='jabber:client' type='get' id='${id}' to='${to}'><ping xmlns='${NS_PING}'/></iq>`;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request to the loopback server, on its own connection. */
export function httpRequest(port: number, options: { method: string; path?: string; body?: string | Buffer; headers?: Record<string, string> }): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: options.method, path: options.path ?? '/http-bind', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(options.body);
  });
}

export interface BoshResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Element;
  text: string;
}

/** A BOSH client that keeps sid and rid and lets tests send bodies out of the usual order. */
export class BoshClient {
  sid: string | undefined;
  rid = 1000 + Math.floor(Math.random() * 1_000_000);

  constructor(private readonly port: number, private readonly path = '/http-bind') {}

  /** Posts a body with the given rid (default: the next one) around `payload`. */
  async post(payload = '', attrs: Record<string, string> = {}, rid?: number): Promise<BoshResponse> {
    const body = new Element('body', { xmlns: 'http://jabber.org/protocol/httpbind', rid: String(rid ?? this.rid++), ...(this.sid ? { sid: this.sid } : {}), ...attrs }).toString();
    const text = payload ? `${body.slice(0, -2)}>${payload}</body>` : body;
    return this.postRaw(text);
  }

  async postRaw(text: string, headers: Record<string, string> = {}): Promise<BoshResponse> {
    const res = await httpRequest(this.port, { method: 'POST', path: this.path, body: text, headers: { 'Content-Type': 'text/xml; charset=utf-8', ...headers } });
    return { status: res.status, headers: res.headers, text: res.text, body: parse(res.text) as Element };
  }

  /** Session creation request (XEP-0124 §7.1, XEP-0206 §3). */
  async create(to: string, wait = 60): Promise<BoshResponse> {
    const res = await this.post('', {
      to, 'xml:lang': 'en', wait: String(wait), hold: '1', ver: '1.6',
      'xmpp:version': '1.0', 'xmlns:xmpp': 'urn:xmpp:xbosh', content: 'text/xml; charset=utf-8',
    });
    this.sid = res.body.attrs.sid as string | undefined;
    return res;
  }

  /** XEP-0206 §5 stream restart. */
  restart(to: string): Promise<BoshResponse> {
    return this.post('', { to, 'xml:lang': 'en', 'xmpp:restart': 'true', 'xmlns:xmpp': 'urn:xmpp:xbosh' });
  }
}

/** The child elements of a BOSH response body. */
export function payloadOf(body: Element): Element[] {
  return body.children.filter((c): c is Element => typeof c !== 'string');
}
