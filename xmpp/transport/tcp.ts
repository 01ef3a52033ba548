/**
 * XMPP client-to-server over TCP (RFC 6120), port 5222, with STARTTLS (§5) when a certificate is
 * configured. Loopback connections count as secure, like the HTTP transports' (http-peer.ts).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { StreamError } from '../errors.ts';
import { closeListener, listen } from './listen.ts';
import { NS_SASL } from '../protocol/stream-features.ts';
import { NS_CLIENT } from '../stanza.ts';
import { ClientStream, type ClientStreamContext, type Framing } from '../stream.ts';
import type { XmlParserLimits } from '../xml-parser.ts';
import { isLoopback } from './http-peer.ts';
import { XmlSocket } from './xml-socket.ts';

export interface TcpC2sOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  parserLimits: XmlParserLimits;
  /** PEM key and certificate for STARTTLS; without them STARTTLS is not offered. */
  tls: { key: string | Buffer; cert: string | Buffer } | undefined;
  /**
   * Whether a loopback peer counts as secure without TLS (PLAIN offered, STARTTLS optional).
   * Default true; tests turn it off to play a remote client.
   */
  loopbackIsSecure?: boolean;
}

export class TcpC2sListener {
  private readonly server: Server;
  private readonly connections = new Set<TcpFraming>();
  private readonly secureContext: SecureContext | undefined;

  constructor(private readonly ctx: ClientStreamContext, private readonly options: TcpC2sOptions) {
    this.secureContext = options.tls ? createSecureContext({ key: options.tls.key, cert: options.tls.cert }) : undefined;
    this.server = createServer((socket) => this.accept(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return listen(this.server, this.options.port, this.options.host);
  }

  /** Ends every stream with `system-shutdown` and stops listening; resolves once all sockets are gone. */
  async close(): Promise<void> {
    await closeListener(this.server, this.connections, (c) => c.shutdown(), (c) => c.whenClosed);
  }

  private accept(socket: Socket): void {
    const framing = new TcpFraming(socket, this.ctx, this.options, this.secureContext, () => this.connections.delete(framing));
    this.connections.add(framing);
  }
}

class TcpFraming implements Framing {
  readonly kind = 'tcp' as const;
  readonly query = new URLSearchParams();
  readonly remoteAddress: string;
  private readonly xml: XmlSocket;
  private readonly stream: ClientStream;
  private readonly loopback: boolean;

  constructor(
    socket: Socket,
    ctx: ClientStreamContext,
    options: TcpC2sOptions,
    private readonly secureContext: SecureContext | undefined,
    onClosed: () => void,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.loopback = (options.loopbackIsSecure ?? true) && isLoopback(this.remoteAddress);
    this.xml = new XmlSocket(socket, {
      open: (attrs) => this.stream.onOpen(attrs),
      element: (el) => this.stream.onElement(el),
      peerClose: () => this.stream.onPeerClose(),
      failed: (error) => this.stream.fail(error),
      closed: () => {
        this.stream.onTransportClosed();
        onClosed();
      },
      bytes: (count) => this.stream.onBytes(count),
    }, { limits: options.parserLimits, contentNs: NS_CLIENT, log: ctx.log });
    this.stream = new ClientStream(this, ctx);
  }

  get secure(): boolean {
    return this.xml.encrypted || this.loopback;
  }

  /** Once TLS is on it is not offered again (RFC 6120 §5.3.1). */
  get canStartTls(): boolean {
    return this.secureContext !== undefined && !this.xml.encrypted;
  }

  sendHeader(attrs: Record<string, string>): void {
    this.xml.sendHeader(attrs);
  }

  sendRaw(data: string): void {
    this.xml.write(data);
  }

  /** RFC 6120 §6.4.6: after `<success/>` the client's next bytes are a new stream header. */
  streamRestarted(): void {
    this.xml.restart();
  }

  end(error?: StreamError): void {
    this.xml.end(error);
  }

  pauseReading(ms: number): void {
    this.xml.pause(ms);
  }

  startTls(): Promise<void> {
    if (!this.secureContext) return Promise.reject(new StreamError('unsupported-feature'));
    return this.xml.startTls(this.secureContext);
  }

  get whenClosed(): Promise<void> {
    return this.xml.whenClosed;
  }

  shutdown(): void {
    this.stream.fail(new StreamError('system-shutdown'));
    // A stream that never opened (or was already closing) has no handshake to wait for.
    if (this.stream.isClosed) this.xml.end();
  }
}

