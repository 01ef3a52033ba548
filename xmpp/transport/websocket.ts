/**
 * XMPP over WebSocket (RFC 7395): subprotocol `xmpp`, framing elements `<open/>`/`<close/>`.
 * The frames' bytes are one continuous input to the parser, so a stanza split over several
 * frames parses the same as in one.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Element } from 'ltx';
import { WebSocketServer, type WebSocket } from 'ws';
import { StreamError } from '../errors.ts';
import { NS_FRAMING } from '../protocol/stream-features.ts';
import { ClientStream, type ClientStreamContext, type Framing } from '../stream.ts';
import { XmlParser, type XmlParserLimits } from '../xml-parser.ts';
import { isOriginAllowed, isSecureRequest, queryOf, remoteAddressOf } from './http-peer.ts';
import { MAX_UNREAD_OUTPUT_BYTES } from './xml-socket.ts';

export interface WebSocketTransportOptions {
  parserLimits: XmlParserLimits;
  allowedOrigins: ReadonlySet<string>;
  trustedProxies: ReadonlySet<string>;
  /** WebSocket ping interval; a peer that misses one pong is dropped. Default 30 s. */
  heartbeatMs?: number;
}

export class WebSocketTransport {
  private readonly server: WebSocketServer;
  private readonly connections = new Set<WebSocketFraming>();

  constructor(private readonly ctx: ClientStreamContext, private readonly options: WebSocketTransportOptions) {
    this.server = new WebSocketServer({
      noServer: true,
      // Prosody caps the frame buffer at twice the stanza limit; the parser enforces the limit itself.
      maxPayload: options.parserLimits.maxStanzaBytes * 2,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has('xmpp') ? 'xmpp' : false),
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Handles an HTTP upgrade on the XMPP WebSocket path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!isOriginAllowed(req, this.options.allowedOrigins)) {
      this.ctx.log.warn({ origin: req.headers.origin }, 'cross-origin XMPP WebSocket refused');
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    if (!offered.includes('xmpp')) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 35\r\n\r\nWebSocket subprotocol xmpp required');
      return;
    }
    this.server.handleUpgrade(req, socket, head, (ws) => {
      try {
        const framing = new WebSocketFraming(ws, req, this.ctx, this.options);
        this.connections.add(framing);
        ws.once('close', () => this.connections.delete(framing));
      } catch (err) {
        this.ctx.log.error({ err }, 'WebSocket session setup failed');
        ws.terminate();
      }
    });
  }

  close(): void {
    for (const c of this.connections) c.end(new StreamError('system-shutdown'));
    this.server.close();
  }
}

class WebSocketFraming implements Framing {
  readonly kind = 'websocket' as const;
  readonly secure: boolean;
  readonly remoteAddress: string;
  readonly query: URLSearchParams;
  readonly canStartTls = false;
  private readonly stream: ClientStream;
  private readonly parser: XmlParser;
  private ended = false;
  private resumeTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private terminateTimer: NodeJS.Timeout | undefined;
  private alive = true;
  private readonly log: ClientStreamContext['log'];

  constructor(private readonly ws: WebSocket, req: IncomingMessage, ctx: ClientStreamContext, options: WebSocketTransportOptions) {
    this.secure = isSecureRequest(req, options.trustedProxies);
    this.remoteAddress = remoteAddressOf(req, options.trustedProxies);
    this.query = queryOf(req);
    this.parser = new XmlParser({
      streamOpen: () => undefined,
      streamClose: () => undefined,
      stanza: (el) => this.onTopLevel(el),
    }, { limits: options.parserLimits, rooted: false });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => this.onMessage(data));
    this.log = ctx.log;
    ws.on('close', () => {
      this.ended = true;
      this.clearTimers();
      this.stream.onTransportClosed();
    });
    // A half-open peer (lost network) is found by WebSocket pings, not left in its rooms for the
    // kernel's retransmission timeout (security.md §7 #50).
    ws.on('pong', () => (this.alive = true));
    this.heartbeat = setInterval(() => {
      if (!this.alive) {
        this.ws.terminate();
        return;
      }
      this.alive = false;
      this.ws.ping();
    }, options.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
    ws.on('error', (err) => {
      // ws reports oversized frames (1009) and protocol errors here, then closes the socket.
      ctx.log.debug({ err: err.message }, 'WebSocket error');
    });
    this.stream = new ClientStream(this, ctx);
  }

  private onMessage(data: Buffer | ArrayBuffer | Buffer[]): void {
    if (this.ended) return;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    this.stream.onBytes(bytes.length);
    try {
      this.parser.write(bytes);
    } catch (err) {
      if (err instanceof StreamError) return this.stream.fail(err);
      this.log.error({ err }, 'WebSocket input handling failed');
      this.stream.fail(new StreamError('internal-server-error'));
    }
  }

  private onTopLevel(el: Element): void {
    if (el.attrs.xmlns === NS_FRAMING) {
      if (el.name === 'open') return this.stream.onOpen(el.attrs as Record<string, string>);
      if (el.name === 'close') return this.stream.onPeerClose();
    }
    this.stream.onElement(el);
  }

  sendHeader(attrs: Record<string, string>): void {
    this.sendRaw(new Element('open', { xmlns: NS_FRAMING, ...attrs }).toString());
  }

  sendRaw(data: string): void {
    if (this.ended) return;
    this.ws.send(data);
    // A peer that stops reading is cut off once that much waits for it (its pings would end it
    // only at the next heartbeat, and a flood of its own making could fill memory meanwhile).
    if (this.ws.bufferedAmount > MAX_UNREAD_OUTPUT_BYTES) {
      this.log.warn({ buffered: this.ws.bufferedAmount }, 'peer does not read what it is sent: closed');
      this.ended = true;
      this.ws.terminate();
    }
  }

  end(error?: StreamError): void {
    if (this.ended) return;
    if (error) this.sendRaw(error.toElement().toString());
    this.sendRaw(new Element('close', { xmlns: NS_FRAMING }).toString());
    this.ended = true;
    this.clearTimers();
    this.ws.close(1000);
    // A peer that never answers the closing handshake is cut off.
    this.terminateTimer = setTimeout(() => this.ws.terminate(), 2000);
    this.terminateTimer.unref();
  }

  private clearTimers(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.terminateTimer) clearTimeout(this.terminateTimer);
    this.resumeTimer = this.heartbeat = this.terminateTimer = undefined;
  }

  pauseReading(ms: number): void {
    if (this.ended || this.resumeTimer) return;
    this.ws.pause();
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      if (!this.ended) this.ws.resume();
    }, ms);
  }

  async startTls(): Promise<void> {
    throw new StreamError('unsupported-feature');
  }
}
