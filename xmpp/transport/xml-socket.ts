/**
 * One XML stream over a TCP socket (RFC 6120 §4), shared by client (5222) and component (5347)
 * listeners: the rooted parser and its restarts, the `<stream:stream>` header and its checks, the
 * closing sequence, read pauses, and the STARTTLS upgrade (§5.4.3.3).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { Element } from 'ltx';
import type { Logger } from 'pino';
import { NS_STREAM, StreamError } from '../errors.ts';
import { XmlParser, type XmlParserLimits } from '../xml-parser.ts';

export interface XmlSocketEvents {
  /** A stream header whose root and content namespace were checked. */
  open(attrs: Record<string, string>): void;
  element(el: Element, byteLength: number): void;
  /** The peer sent `</stream:stream>`. */
  peerClose(): void;
  /** The stream must end with this error (bad XML, bad header, limits). */
  failed(error: StreamError): void;
  /** The socket is gone; called once, whatever the cause. */
  closed(): void;
  /** Bytes read, before they are parsed (read-rate limiting). */
  bytes?(count: number): void;
}

export interface XmlSocketOptions {
  limits: XmlParserLimits;
  /** The stream's content namespace: `jabber:client` or `jabber:component:accept`. */
  contentNs: string;
  log: Logger;
  /** How long a closing peer gets to close its side before the socket is destroyed. Default 2000 ms. */
  closeGraceMs?: number;
}

/** Bytes sent to a peer and not yet taken by it beyond which the connection is closed (XmlSocket.write, WebSocketTransport.sendRaw). */
export const MAX_UNREAD_OUTPUT_BYTES = 8 * 1024 * 1024;

/** Grace for a peer that never answers our `</stream:stream>` (RFC 6120 §4.4). */
const DEFAULT_CLOSE_GRACE_MS = 2000;

/** Thrown from a parser event handler to stop a parser that was retired in the middle of a chunk. */
const RETIRED = Symbol('retired parser');

export class XmlSocket {
  private socket: Socket;
  /** Replaced (never reset) at STARTTLS: the plaintext parser must not see encrypted-stream bytes. */
  private parser: XmlParser;
  private tls = false;
  private headerSent = false;
  private ended = false;
  private closed = false;
  private resumeTimer: NodeJS.Timeout | undefined;
  private destroyTimer: NodeJS.Timeout | undefined;
  private markClosed!: () => void;
  /** Resolves once the socket is gone and `closed` was reported. */
  readonly whenClosed = new Promise<void>((resolve) => (this.markClosed = resolve));
  private readonly onData = (chunk: Buffer) => this.read(chunk);
  private readonly onClose = () => this.teardown();
  private readonly onError = (err: Error) => this.options.log.debug({ err: err.message }, 'socket error');

  constructor(socket: Socket, private readonly events: XmlSocketEvents, private readonly options: XmlSocketOptions) {
    this.socket = socket;
    this.parser = this.createParser();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    this.listen(socket);
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? 'unknown';
  }

  get encrypted(): boolean {
    return this.tls;
  }

  write(data: string): void {
    if (this.ended || this.closed) return;
    this.socket.write(data);
    // A peer that stops reading: what waits for it in memory is bounded. Over TCP nothing else
    // ends such a stream (a zero window is kept open by the kernel), and its rooms keep feeding it.
    if (this.socket.writableLength > MAX_UNREAD_OUTPUT_BYTES) {
      this.options.log.warn({ remote: this.remoteAddress, buffered: this.socket.writableLength }, 'peer does not read what it is sent: closed');
      this.socket.destroy();
    }
  }

  /** `<?xml version='1.0'?><stream:stream xmlns=… xmlns:stream=… …attrs>` (RFC 6120 §4.7). */
  sendHeader(attrs: Record<string, string>): void {
    this.headerSent = true;
    const empty = new Element('stream:stream', { xmlns: this.options.contentNs, 'xmlns:stream': NS_STREAM, ...attrs }).toString();
    // ltx writes the element as empty (`…/>`); a stream header stays open.
    this.write(`<?xml version='1.0'?>${empty.slice(0, -2)}>`);
  }

  /**
   * Sends the error (after a header, if none was sent yet: RFC 6120 §4.9.1.2) and the closing tag,
   * half-closes the socket, and destroys it if the peer has not closed within the grace period.
   * Idempotent.
   */
  end(error?: StreamError): void {
    if (this.ended || this.closed) return;
    if (error && !this.headerSent) this.sendHeader({ id: randomBytes(8).toString('hex'), version: '1.0' });
    if (error) this.write(error.toElement().toString());
    if (this.headerSent) this.write('</stream:stream>');
    this.ended = true;
    this.clearResume();
    this.socket.end();
    this.destroyTimer = setTimeout(() => this.socket.destroy(), this.options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
    this.destroyTimer.unref();
  }

  /** Closes without a closing handshake (shutdown of the listener, lost peers). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Stops reading for `ms` (read-rate limiting); a pause already running is kept. */
  pause(ms: number): void {
    if (this.ended || this.closed || this.resumeTimer) return;
    this.socket.pause();
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      if (!this.ended && !this.closed) this.socket.resume();
    }, ms);
  }

  /** Stream restart (RFC 6120 §4.3.3): the next bytes are a new stream header. */
  restart(): void {
    this.parser.reset();
  }

  /**
   * STARTTLS (RFC 6120 §5.4.3.3): wraps the socket right after `<proceed/>` was written (those
   * bytes are already queued on the same handle, so they precede the handshake), waits for the
   * handshake, and restarts the stream. Rejects when the handshake fails.
   *
   * Nothing the client sent in plaintext after `<starttls/>` may count as part of the TLS stream
   * (the STARTTLS command injection): called, as it is, from the `<starttls/>` element's handler,
   * the plaintext parser is retired on the spot, so the rest of the current chunk is never parsed
   * and no further event of it fires; later plaintext is no longer read. A fresh parser is in place
   * before the TLS socket is listened to, so the first bytes it delivers are a new stream.
   */
  async startTls(context: SecureContext): Promise<void> {
    if (this.tls) throw new Error('TLS is already on');
    const raw = this.socket;
    raw.off('data', this.onData);
    this.clearResume();
    this.parser = this.createParser();
    const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
    this.socket = secure;
    this.tls = true;
    this.listen(secure);
    await new Promise<void>((resolve, reject) => {
      const ok = () => {
        secure.off('close', gone);
        resolve();
      };
      const gone = () => {
        secure.off('secure', ok);
        reject(new Error('connection closed during the TLS handshake'));
      };
      secure.once('secure', ok);
      secure.once('close', gone);
    });
  }

  /**
   * A rooted parser whose events go to this socket while it is the current one. Once replaced
   * (STARTTLS), the handler that replaced it stops it by throwing RETIRED, which read() swallows.
   */
  private createParser(): XmlParser {
    const parser: XmlParser = new XmlParser({
      streamOpen: (name, attrs) => {
        this.checkCurrent(parser);
        this.streamOpen(name, attrs);
        this.checkCurrent(parser);
      },
      stanza: (el, byteLength) => {
        this.checkCurrent(parser);
        this.events.element(el, byteLength);
        this.checkCurrent(parser);
      },
      streamClose: () => {
        this.checkCurrent(parser);
        this.events.peerClose();
      },
    }, { limits: this.options.limits, rooted: true });
    return parser;
  }

  private checkCurrent(parser: XmlParser): void {
    if (parser !== this.parser) throw RETIRED;
  }

  private listen(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.once('close', this.onClose);
  }

  private read(chunk: Buffer): void {
    if (this.ended || this.closed) return;
    this.events.bytes?.(chunk.length);
    const parser = this.parser;
    try {
      parser.write(chunk);
    } catch (err) {
      // The plaintext parser was retired mid-chunk (STARTTLS): the rest of the chunk is dropped.
      if (err === RETIRED || parser !== this.parser) return;
      if (err instanceof StreamError) return this.events.failed(err);
      this.options.log.error({ err }, 'stream event handler failed');
      this.events.failed(new StreamError('internal-server-error'));
    }
  }

  /** RFC 6120 §4.8: the root is `stream` in the streams namespace; the content namespace is ours. */
  private streamOpen(name: string, attrs: Record<string, string>): void {
    const colon = name.indexOf(':');
    const prefix = colon < 0 ? '' : name.slice(0, colon);
    const local = colon < 0 ? name : name.slice(colon + 1);
    const ns = prefix ? attrs[`xmlns:${prefix}`] : attrs.xmlns;
    if (local !== 'stream' || ns !== NS_STREAM) {
      return this.events.failed(new StreamError('invalid-namespace', `the root must be <stream> in ${NS_STREAM}`));
    }
    if (attrs.xmlns !== this.options.contentNs) {
      return this.events.failed(new StreamError('invalid-namespace', `the content namespace must be ${this.options.contentNs}`));
    }
    this.events.open(attrs);
  }

  private clearResume(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearResume();
    if (this.destroyTimer) clearTimeout(this.destroyTimer);
    this.destroyTimer = undefined;
    try {
      this.events.closed();
    } finally {
      this.markClosed();
    }
  }
}
