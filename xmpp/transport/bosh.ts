/**
 * XMPP over BOSH (XEP-0124 1.11, XEP-0206 1.4) at `/http-bind`: reads each POSTed `<body/>` with
 * a fresh rootless parser, creates sessions and hands later requests to them, and answers CORS
 * preflights and the GET probe. Plain node req/res, so the HTTP front can delegate to it.
 *
 * Errors the HTTP way where Strophe (lib-jitsi-meet) expects them: an unknown sid is a 404, which
 * Strophe treats as fatal; a bad body is a 400 and an oversized one a 413, each with a terminate
 * body naming the XEP-0124 §17.2 condition for clients that read it.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { StreamError } from '../errors.ts';
import type { ClientStreamContext } from '../stream.ts';
import { XmlParser, type XmlParserLimits } from '../xml-parser.ts';
import { BoshBadRequest, NS_HTTPBIND, buildTerminateBody, parseBoshRequest, type BoshRequest } from './bosh-body.ts';
import { BoshSession } from './bosh-session.ts';
import { isOriginAllowed, isSecureRequest, queryOf, remoteAddressOf } from './http-peer.ts';

export interface BoshTransportOptions {
  parserLimits: XmlParserLimits;
  allowedOrigins: ReadonlySet<string>;
  trustedProxies: ReadonlySet<string>;
  /** Longest a request is held, in seconds; a client asking for more gets this. Default 60. */
  maxWaitSeconds?: number;
  /** Seconds without any request after which a session is dropped. Default 60. */
  inactivitySeconds?: number;
  /**
   * Most bytes a session keeps for a client that has no request at the server; past this its
   * stream ends with policy-violation. Default: two stanzas of the maximum size plus 1 MiB, room
   * for a burst (a conference join's presences) arriving between a response and the next request
   * or while a request waits out a read pause, yet a bound on a client that stopped polling.
   */
  maxOutboxBytes?: number;
}

/** Room for the `<body/>` wrapper around a stanza of the maximum size. */
const WRAPPER_BYTES = 8192;
/** Outbox room beyond two maximum-size stanzas (see BoshTransportOptions.maxOutboxBytes). */
const OUTBOX_SLACK_BYTES = 1024 * 1024;
const CONTENT_TYPE = 'text/xml; charset=utf-8';

export class BoshTransport {
  private readonly sessions = new Map<string, BoshSession>();
  private readonly log: Logger;
  private readonly maxBodyBytes: number;
  private readonly bodyLimits: XmlParserLimits;
  private closed = false;

  constructor(private readonly ctx: ClientStreamContext, private readonly options: BoshTransportOptions) {
    this.log = ctx.log.child({ transport: 'bosh' });
    this.maxBodyBytes = options.parserLimits.maxStanzaBytes + WRAPPER_BYTES;
    // The body is the parser's top-level element, so it gets the stanza budget plus the wrapper's.
    this.bodyLimits = { ...options.parserLimits, maxHeaderBytes: WRAPPER_BYTES };
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Requests currently held open for server-to-client data, over all sessions. */
  get heldRequestCount(): number {
    let n = 0;
    for (const session of this.sessions.values()) n += session.heldCount;
    return n;
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const allowed = isOriginAllowed(req, this.options.allowedOrigins);
    const origin = req.headers.origin;
    if (allowed && origin !== undefined) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    switch (req.method) {
      case 'OPTIONS':
        return this.preflight(allowed, res);
      case 'GET':
      case 'HEAD':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end(req.method === 'GET' ? 'This is the BOSH (XEP-0206) endpoint of this XMPP server; POST XMPP <body/> elements here.\n' : undefined);
        return;
      case 'POST':
        break;
      default:
        res.writeHead(405, { Allow: 'GET, POST, OPTIONS' });
        res.end();
        return;
    }
    if (!allowed) {
      this.log.warn({ origin }, 'cross-origin BOSH request refused');
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('origin not allowed\n');
      return;
    }
    this.readBody(req, res);
  }

  /** Ends every session with `system-shutdown`; held requests get the terminate body. */
  close(): void {
    this.closed = true;
    for (const session of [...this.sessions.values()]) session.close(new StreamError('system-shutdown'));
  }

  private preflight(allowed: boolean, res: ServerResponse): void {
    if (!allowed) {
      res.writeHead(403);
      res.end();
      return;
    }
    res.writeHead(200, {
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Content-Type',
      'Access-Control-Max-Age': '86400',
      'Content-Length': '0',
    });
    res.end();
  }

  private readBody(req: IncomingMessage, res: ServerResponse): void {
    const declared = Number(req.headers['content-length']);
    if (declared > this.maxBodyBytes) return this.tooLarge(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > this.maxBodyBytes) {
        failed = true;
        chunks.length = 0;
        return this.tooLarge(req, res);
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (failed) return;
      // The one boundary of this transport: our bugs become a 500, never an exception in the server.
      try {
        this.dispatch(req, Buffer.concat(chunks, size), res);
      } catch (err) {
        this.log.error({ err }, 'BOSH request handling failed');
        this.reply(res, buildTerminateBody('internal-server-error'), 500);
      }
    });
    req.once('error', (err) => this.log.debug({ err: err.message }, 'BOSH request failed'));
  }

  private tooLarge(req: IncomingMessage, res: ServerResponse): void {
    this.log.debug('BOSH body too large');
    res.setHeader('Connection', 'close');
    this.reply(res, buildTerminateBody('policy-violation'), 413);
    // Whatever else arrives is discarded; the connection closes after the response.
    req.resume();
  }

  private dispatch(req: IncomingMessage, bytes: Buffer, res: ServerResponse): void {
    let request: BoshRequest;
    let sid: string | undefined;
    try {
      request = parseBoshRequest(this.parseBody(bytes, (attrs) => (sid = attrs.sid)));
    } catch (err) {
      if (!(err instanceof StreamError || err instanceof BoshBadRequest)) throw err;
      // A stanza of a live session broke the stream rules (size, restricted XML, ...): that
      // session ends with the stream error, as on the other transports.
      const session = err instanceof StreamError && sid !== undefined ? this.sessions.get(sid) : undefined;
      if (session) return session.refuse(err as StreamError, res);
      this.log.debug({ err: err.message }, 'bad BOSH body');
      return this.reply(res, buildTerminateBody('bad-request'), 400);
    }
    if (request.sid === undefined) return this.create(request, req, res);
    const session = this.sessions.get(request.sid);
    if (!session) return this.reply(res, buildTerminateBody('item-not-found'), 404);
    session.handle(request, res, bytes.length);
  }

  /**
   * The `<body>` is parsed as a stream root, so each stanza inside it is held to the same
   * limits (size, depth, attributes) as on the other transports.
   */
  private parseBody(bytes: Buffer, onBodyAttributes: (attrs: Record<string, string>) => void): Element {
    let body: Element | undefined;
    let ended = false;
    const parser = new XmlParser({
      streamOpen: (name, attrs) => {
        body = new Element(name, attrs);
        onBodyAttributes(attrs);
      },
      streamClose: () => {
        ended = true;
      },
      stanza: (el) => {
        // XEP-0206 §4: stanzas are qualified by jabber:client; an unqualified one inherits the
        // body's namespace from the parser, which is not the stanza's.
        if (el.attrs.xmlns === NS_HTTPBIND) el.attrs.xmlns = 'jabber:client';
        body!.cnode(el);
      },
    }, { limits: this.bodyLimits, rooted: true });
    parser.write(bytes);
    if (!body || !ended) throw new BoshBadRequest('exactly one <body/> expected');
    return body;
  }

  private create(request: BoshRequest, req: IncomingMessage, res: ServerResponse): void {
    if (this.closed) return this.reply(res, buildTerminateBody('system-shutdown'), 503);
    const sid = randomBytes(16).toString('hex');
    const maxWait = this.options.maxWaitSeconds ?? 60;
    const session = new BoshSession({
      sid,
      ctx: this.ctx,
      log: this.log.child({ sid }),
      wait: Math.max(1, Math.min(request.wait ?? maxWait, maxWait)),
      inactivitySeconds: this.options.inactivitySeconds ?? 60,
      maxOutboxBytes: this.options.maxOutboxBytes ?? 2 * this.options.parserLimits.maxStanzaBytes + OUTBOX_SLACK_BYTES,
      secure: isSecureRequest(req, this.options.trustedProxies),
      remoteAddress: remoteAddressOf(req, this.options.trustedProxies),
      query: queryOf(req),
      reply: (r, body, status) => this.reply(r, body, status),
      onClosed: (id) => this.sessions.delete(id),
    });
    this.sessions.set(sid, session);
    session.create(request, res);
  }

  private reply(res: ServerResponse, body: string, status = 200): void {
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    res.writeHead(status, {
      'Content-Type': CONTENT_TYPE,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    res.end(body);
  }
}
