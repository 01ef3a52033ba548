/**
 * One BOSH session (XEP-0124 1.11 + XEP-0206 1.4): the rid window and its response cache, the
 * held request that carries server-to-client data, the wait and inactivity timers, and the
 * Framing its ClientStream writes to. Requests are processed strictly in rid order (§14.2);
 * anything the stream sends is batched into the next response.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { NS_STREAM, StreamError } from '../errors.ts';
import { ClientStream, type ClientStreamContext, type Framing } from '../stream.ts';
import { buildBoshBody, buildTerminateBody, NS_XBOSH, type BoshCondition, type BoshRequest } from './bosh-body.ts';

/** XEP-0124 §7.1 session parameters the connection manager fixes. */
const HOLD = 1;
const REQUESTS = HOLD + 1;
const POLLING_SECONDS = 5;
const VERSION = '1.11';
/**
 * How long a session whose stream ended with no request held keeps its terminal body for the
 * client's next request before it is dropped (it is dropped at once when a request collects it).
 */
const TERMINAL_GRACE_MS = 2000;

/** Writes a response body; set up by the transport with status, type and CORS headers. */
export type BoshReply = (res: ServerResponse, body: string, status?: number) => void;

export interface BoshSessionOptions {
  sid: string;
  ctx: ClientStreamContext;
  log: Logger;
  /** Seconds a request may be held (already the minimum of requested and allowed). */
  wait: number;
  inactivitySeconds: number;
  /**
   * Most bytes waiting in the outbox for the client's next request; past this the stream ends
   * with policy-violation (a client that stopped polling while data keeps coming).
   */
  maxOutboxBytes: number;
  secure: boolean;
  remoteAddress: string;
  query: URLSearchParams;
  reply: BoshReply;
  /** Called once when the session is gone. */
  onClosed(sid: string): void;
}

interface Held {
  rid: number;
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

interface Queued {
  request: BoshRequest;
  res: ServerResponse;
}

export class BoshSession implements Framing {
  readonly kind = 'bosh' as const;
  readonly canStartTls = false;
  readonly secure: boolean;
  readonly remoteAddress: string;
  readonly query: URLSearchParams;
  readonly sid: string;
  private readonly stream: ClientStream;
  private readonly log: Logger;
  /** Highest rid processed; every rid up to it has a cached response or a held request. */
  private lastRid = 0;
  /** Requests that arrived ahead of a missing rid (§14.2), and requests waiting out a read pause. */
  private readonly queued = new Map<number, Queued>();
  private held: Held[] = [];
  /** rid → the response sent for it, for retransmission (§14.3). */
  private readonly responses = new Map<number, string>();
  private outbox: string[] = [];
  private outboxBytes = 0;
  /** The stream header attributes, once the stream sent its first header. */
  private header: Record<string, string> | undefined;
  /** Set when the stream ended: the body that ends the session. */
  private terminal: string | undefined;
  private processing = false;
  private destroyed = false;
  /** The outbox went past maxOutboxBytes: the stream is being ended. */
  private overflowed = false;
  private pausedUntil = 0;
  private flushTimer: NodeJS.Immediate | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private inactivityTimer: NodeJS.Timeout | undefined;
  /** Drops a session whose terminal body no request collected (see TERMINAL_GRACE_MS). */
  private terminalTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BoshSessionOptions) {
    this.sid = options.sid;
    this.secure = options.secure;
    this.remoteAddress = options.remoteAddress;
    this.query = options.query;
    this.log = options.log;
    this.stream = new ClientStream(this, options.ctx);
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Session creation request (§7.1): opens the stream and answers at once with the session attributes. */
  create(request: BoshRequest, res: ServerResponse): void {
    this.lastRid = request.rid;
    if (this.terminal === undefined) {
      // XEP-0206 §3: xmpp:version asks for XMPP 1.0; a client that leaves it out gets 1.0 anyway.
      this.stream.onOpen({ to: request.to, version: request.version ?? '1.0', ...(request.lang ? { 'xml:lang': request.lang } : {}) });
    }
    if (this.terminal !== undefined) return this.finish(request.rid, res, this.terminal);
    const header = this.header ?? {};
    const attrs: Record<string, string> = {
      sid: this.sid,
      wait: String(this.options.wait),
      requests: String(REQUESTS),
      hold: String(HOLD),
      inactivity: String(this.options.inactivitySeconds),
      polling: String(POLLING_SECONDS),
      ver: VERSION,
      ...(header.from ? { from: header.from } : {}),
      ...(header.id ? { authid: header.id } : {}),
      'xmlns:xmpp': NS_XBOSH,
      'xmpp:version': header.version ?? '1.0',
      'xmpp:restartlogic': 'true',
      'xmlns:stream': NS_STREAM,
    };
    this.respond(request.rid, res, buildBoshBody(attrs, this.takeOutbox()));
    this.armInactivity();
  }

  /** Any later request of this session. */
  handle(request: BoshRequest, res: ServerResponse, bytes: number): void {
    if (this.destroyed) return this.options.reply(res, buildTerminateBody('item-not-found'), 404);
    this.disarmInactivity();
    const { rid } = request;
    if (rid <= this.lastRid) return this.retransmit(rid, res);
    const queued = this.queued.get(rid);
    if (queued) {
      // The client gave up on the first copy (Strophe restarts slow requests with the same rid).
      this.options.reply(queued.res, buildBoshBody({}));
      queued.res = res;
      this.watchQueued(rid, res);
      return;
    }
    if (rid > this.lastRid + REQUESTS) {
      this.log.debug({ rid, lastRid: this.lastRid }, 'rid outside the window');
      return this.fail('item-not-found', rid, res);
    }
    this.stream.onBytes(bytes);
    this.queued.set(rid, { request, res });
    this.watchQueued(rid, res);
    this.drain();
  }

  /** A request whose payload broke the stream rules: the stream ends with that error, answered here. */
  refuse(error: StreamError, res: ServerResponse): void {
    this.stream.fail(error);
    this.options.reply(res, this.terminal ?? buildTerminateBody('remote-stream-error', error.toElement().toString(), { 'xmlns:stream': NS_STREAM }));
    this.destroy();
  }

  /** Ends the session with a stream error (shutdown); whatever is held gets the terminal body. */
  close(error: StreamError): void {
    this.stream.fail(error);
    this.destroy();
  }

  // --- Framing

  sendHeader(attrs: Record<string, string>): void {
    // XEP-0206 §5: after a restart the header is implicit; only the first one shapes the session.
    this.header ??= attrs;
  }

  sendRaw(data: string): void {
    if (this.terminal !== undefined || this.destroyed || this.overflowed) return;
    this.outboxBytes += Buffer.byteLength(data);
    // Only data nobody is about to take counts against the bound: a request being processed or
    // held carries the outbox away (a resumption may replay many stanzas at once).
    if (this.outboxBytes > this.options.maxOutboxBytes && !this.processing && !this.held.length) {
      // The client is not collecting its data: what waits is dropped and the stream ends. Failing
      // is deferred past the current delivery (which may be a broadcast to many sessions).
      this.log.debug({ bytes: this.outboxBytes }, 'BOSH outbox full');
      this.overflowed = true;
      this.outbox = [];
      this.outboxBytes = 0;
      queueMicrotask(() => this.stream.fail(new StreamError('policy-violation', 'too much data waiting for the client')));
      return;
    }
    this.outbox.push(data);
    if (!this.processing && !this.flushTimer) this.flushTimer = setImmediate(() => this.flush());
  }

  end(error?: StreamError): void {
    if (this.terminal !== undefined || this.destroyed) return;
    // XEP-0206 §4: a stream error travels inside a terminate body with condition remote-stream-error.
    this.terminal = error
      ? buildTerminateBody('remote-stream-error', this.takeOutbox() + error.toElement().toString(), { 'xmlns:stream': NS_STREAM })
      : buildTerminateBody(undefined, this.takeOutbox());
    // A request being processed (or the creation request) ends with the terminal body itself.
    if (this.processing) return;
    const held = this.held.shift();
    if (held) {
      clearTimeout(held.timer);
      return this.finish(held.rid, held.res, this.terminal);
    }
    // Nothing to send it on: the next request collects it (process(), create()); without one
    // the session is dropped after the grace period, whatever the inactivity timer says.
    this.terminalTimer ??= setTimeout(() => {
      this.terminalTimer = undefined;
      this.destroy();
    }, TERMINAL_GRACE_MS);
  }

  pauseReading(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, performance.now() + ms);
  }

  async startTls(): Promise<void> {
    throw new StreamError('unsupported-feature');
  }

  // --- internals

  /** Processes queued requests in rid order, honouring a read pause. */
  private drain(): void {
    while (!this.destroyed && !this.drainTimer) {
      const next = this.queued.get(this.lastRid + 1);
      if (!next) return;
      const delay = this.pausedUntil - performance.now();
      if (delay > 0) {
        this.drainTimer = setTimeout(() => {
          this.drainTimer = undefined;
          this.drain();
        }, Math.ceil(delay));
        return;
      }
      this.queued.delete(this.lastRid + 1);
      this.lastRid++;
      this.process(next.request, next.res);
    }
  }

  private process(request: BoshRequest, res: ServerResponse): void {
    // §11: with `hold` requests already waiting, the oldest is answered now to make room.
    while (this.held.length >= HOLD) {
      const oldest = this.held.shift()!;
      this.answer(oldest, this.takeOutbox());
    }
    this.processing = true;
    try {
      if (request.restart) {
        this.stream.onOpen({
          to: request.to ?? this.header?.from,
          version: request.version ?? '1.0',
          ...(request.lang ? { 'xml:lang': request.lang } : {}),
        });
      } else {
        for (const el of request.payload) this.stream.onElement(el);
        if (request.terminate) this.stream.onPeerClose();
      }
    } finally {
      this.processing = false;
    }
    if (this.terminal !== undefined) return this.finish(request.rid, res, this.terminal);
    if (this.outbox.length) return this.respond(request.rid, res, buildBoshBody({}, this.takeOutbox()));
    const held: Held = { rid: request.rid, res, timer: setTimeout(() => this.expire(held), this.options.wait * 1000) };
    this.held.push(held);
    res.once('close', () => this.abandoned(held, res));
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (!this.outbox.length) return;
    const held = this.held.shift();
    // With no request waiting, the data goes with the next one.
    if (held) this.answer(held, this.takeOutbox());
  }

  private expire(held: Held): void {
    const i = this.held.indexOf(held);
    if (i < 0) return;
    this.held.splice(i, 1);
    this.answer(held, this.takeOutbox());
  }

  /** The client closed a held request's connection: nothing can be sent on it any more. */
  private abandoned(held: Held, res: ServerResponse): void {
    const i = this.held.indexOf(held);
    if (i < 0 || held.res !== res) return;
    this.held.splice(i, 1);
    clearTimeout(held.timer);
    // Nothing was sent on it: an empty body is what a retransmission of this rid will get.
    this.responses.set(held.rid, buildBoshBody({}));
    this.armInactivity();
  }

  private answer(held: Held, payload: string): void {
    clearTimeout(held.timer);
    this.respond(held.rid, held.res, buildBoshBody({}, payload));
    this.armInactivity();
  }

  /** §14.3: a repeated rid gets the same response again; a request still held moves to the new connection. */
  private retransmit(rid: number, res: ServerResponse): void {
    const held = this.held.find((h) => h.rid === rid);
    if (held) {
      this.options.reply(held.res, buildBoshBody({}));
      held.res = res;
      res.once('close', () => this.abandoned(held, res));
      return;
    }
    const cached = this.responses.get(rid);
    if (cached === undefined) return this.fail('item-not-found', rid, res);
    this.options.reply(res, cached);
    this.armInactivity();
  }

  /** A terminal binding error (§17.2): the session ends. */
  private fail(condition: BoshCondition, rid: number, res: ServerResponse): void {
    this.terminal ??= buildTerminateBody(condition);
    this.stream.onTransportClosed();
    this.finish(rid, res, buildTerminateBody(condition));
  }

  /** Sends the last response and drops the session. */
  private finish(rid: number, res: ServerResponse, body: string): void {
    this.respond(rid, res, body);
    this.destroy();
  }

  private respond(rid: number, res: ServerResponse, body: string): void {
    this.responses.set(rid, body);
    // Only the window's responses can be asked for again (§14.3).
    for (const old of this.responses.keys()) if (old <= rid - REQUESTS) this.responses.delete(old);
    this.options.reply(res, body);
  }

  private takeOutbox(): string {
    const data = this.outbox.join('');
    this.outbox = [];
    this.outboxBytes = 0;
    return data;
  }

  /**
   * A request waiting in `queued` whose connection closes can never be answered: it leaves the
   * queue (unless a retransmission with the same rid took its place), so a rid the client skipped
   * does not keep the session alive forever, and inactivity counts again.
   */
  private watchQueued(rid: number, res: ServerResponse): void {
    res.once('close', () => {
      if (this.queued.get(rid)?.res === res) this.queued.delete(rid);
      this.armInactivity();
    });
  }

  /** §7.1 inactivity: counted while the client has no request at the connection manager. */
  private armInactivity(): void {
    if (this.destroyed || this.inactivityTimer || this.held.length || this.queued.size) return;
    this.inactivityTimer = setTimeout(() => {
      this.inactivityTimer = undefined;
      this.log.debug('BOSH session inactive');
      this.destroy();
    }, this.options.inactivitySeconds * 1000);
  }

  private disarmInactivity(): void {
    if (this.inactivityTimer) clearTimeout(this.inactivityTimer);
    this.inactivityTimer = undefined;
  }

  /** Drops the session: timers cleared, waiting requests answered, the stream told. Idempotent. */
  private destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.disarmInactivity();
    if (this.terminalTimer) clearTimeout(this.terminalTimer);
    this.terminalTimer = undefined;
    if (this.flushTimer) clearImmediate(this.flushTimer);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.flushTimer = undefined;
    this.drainTimer = undefined;
    const last = this.terminal ?? buildTerminateBody('item-not-found');
    for (const held of this.held) {
      clearTimeout(held.timer);
      this.options.reply(held.res, last);
    }
    this.held = [];
    for (const { res } of this.queued.values()) this.options.reply(res, last);
    this.queued.clear();
    this.responses.clear();
    this.outbox = [];
    this.outboxBytes = 0;
    this.stream.onTransportClosed();
    this.options.onClosed(this.sid);
  }
}
