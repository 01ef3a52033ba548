/**
 * One browser's WebSocket to a shared document, adapted to sharedb's object stream: it meters what
 * the peer sends (messages, bytes and document reads per second, token buckets) and cuts off a
 * peer that floods or leaves what it asked for unread, pings to find dead peers, and closes with
 * the code that tells the editor why.
 */
import type { Logger } from 'pino';
import type ShareDB from 'sharedb';
import type { WebSocket } from 'ws';
import WebSocketJSONStream from '@teamwork/websocket-json-stream';
import type { AgentRequest, ClientBinding } from './access.ts';

export interface ConnectionLimits {
  /** Sustained messages per second a peer may send. */
  messagesPerSecond: number;
  /** Messages a peer may send at once above the sustained rate. */
  messageBurst: number;
  /** Sustained bytes per second. */
  bytesPerSecond: number;
  /** Bytes a peer may send at once (a large paste) above the sustained rate. */
  byteBurst: number;
  /**
   * Sustained document reads (fetch, subscribe) per second. A read is a small message whose answer
   * may be the whole document or the whole op log, so reads are counted apart.
   */
  readsPerSecond: number;
  /** Reads a peer may make at once above the sustained rate. */
  readBurst: number;
  /** WebSocket ping interval; a peer that misses one pong is dropped. */
  heartbeatMs: number;
  /**
   * Bytes queued to a peer that does not read them (ops and snapshots it asked for); beyond, it is
   * dropped rather than held in memory. Checked at each message it sends and each heartbeat.
   */
  maxBufferedBytes: number;
}

/** A token bucket: `take` fails once the burst is spent faster than the rate refills it. */
export class Bucket {
  private level: number;
  private at: number;

  constructor(private readonly rate: number, private readonly burst: number, private readonly now: () => number) {
    this.level = burst;
    this.at = now();
  }

  take(amount: number): boolean {
    const t = this.now();
    this.level = Math.min(this.burst, this.level + ((t - this.at) / 1000) * this.rate);
    this.at = t;
    this.level -= amount;
    return this.level >= 0;
  }
}

/**
 * What one holder (an occupant, or the capability) may send to a document, shared by all its
 * connections: a new connection does not start with a fresh allowance (a token opens connections
 * for as long as it lives, and each brought a new burst).
 */
export interface ConnectionBudget {
  messages: Bucket;
  bytes: Bucket;
}

export function connectionBudget(limits: ConnectionLimits, now: () => number = Date.now): ConnectionBudget {
  return { messages: new Bucket(limits.messagesPerSecond, limits.messageBurst, now), bytes: new Bucket(limits.bytesPerSecond, limits.byteBurst, now) };
}

export interface PadConnectionOptions {
  /** Its holder's allowance (SharedDocument.budgetOf); one of its own when absent. */
  budget?: ConnectionBudget;
  /** Binds a sharedb source id to its holder (SharedDocument.claimSource); false when another holder's. */
  claimSource(src: string): boolean;
  docId: string;
  /** The occupant's room JID for token access; undefined for the capability (jitsi-meet's page). */
  occupant: string | undefined;
  backend: ShareDB;
  limits: ConnectionLimits;
  log: Logger;
  onClosed(connection: PadConnection): void;
  now?: () => number;
}

export class PadConnection implements ClientBinding {
  readonly docId: string;
  readonly occupant: string | undefined;
  readonly log: Logger;
  private closing = false;
  private alive = true;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly reads: Bucket;
  readonly claimSource: (src: string) => boolean;

  constructor(private readonly ws: WebSocket, options: PadConnectionOptions) {
    this.claimSource = options.claimSource;
    this.docId = options.docId;
    this.occupant = options.occupant;
    this.log = options.log;
    const now = options.now ?? Date.now;
    const { messages, bytes } = options.budget ?? connectionBudget(options.limits, now);
    this.reads = new Bucket(options.limits.readsPerSecond, options.limits.readBurst, now);
    // Registered before the JSON stream's own listener, so a message over the limits finds the
    // connection already closing and the access middleware drops it unprocessed.
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      if (this.closing) return;
      const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
      if (isBinary) return this.close(1003, 'text frames only');
      if (!messages.take(1) || !bytes.take(size)) {
        this.log.warn({ docId: this.docId }, 'document connection over its rate limit: closed');
        this.close(1008, 'too many changes too fast');
        return;
      }
      this.checkBacklog(options.limits.maxBufferedBytes);
    });
    ws.on('error', (err) => {
      // ws reports oversized messages (then closes with 1009) and protocol errors here.
      this.log.debug({ err: err.message }, 'document WebSocket error');
    });
    ws.on('pong', () => (this.alive = true));
    this.heartbeat = setInterval(() => {
      if (!this.alive) return this.ws.terminate();
      if (this.checkBacklog(options.limits.maxBufferedBytes)) return;
      this.alive = false;
      this.ws.ping();
    }, options.limits.heartbeatMs);
    this.heartbeat.unref();
    ws.once('close', () => {
      this.closing = true;
      clearInterval(this.heartbeat);
      options.onClosed(this);
    });

    const stream = new WebSocketJSONStream(ws);
    // A malformed frame makes the stream destroy itself (closing the socket with 1011); the
    // error is the peer's, not ours.
    stream.on('error', (err: Error) => this.log.debug({ err: err.message }, 'document stream error'));
    const request: AgentRequest = { kind: 'client', binding: this };
    options.backend.listen(stream, request);
  }

  get admitted(): boolean {
    return !this.closing;
  }

  /**
   * Counts one document read; a peer over its read rate is closed (1008) and the read refused.
   * The reads admitted before it are still answered: their replies are on their way (sharedb
   * answers a fetch a tick later), and the close waits for them.
   */
  allowRead(): boolean {
    if (this.reads.take(1)) return true;
    this.log.warn({ docId: this.docId }, 'document connection over its read rate: closed');
    this.close(1008, 'too many reads too fast', { afterReplies: true });
    return false;
  }

  /** Drops a peer that lets more than `max` bytes queue up unread; true when it did. */
  private checkBacklog(max: number): boolean {
    if (this.ws.bufferedAmount <= max) return false;
    this.log.warn({ docId: this.docId, buffered: this.ws.bufferedAmount }, 'document connection not reading what it asked for: closed');
    // Nothing more can reach a peer that does not read, not even a close frame: cut it.
    this.closing = true;
    clearInterval(this.heartbeat);
    this.ws.terminate();
    return true;
  }

  /**
   * Closes with `code` (see PadCloseCode) and a reason the editor may show. Idempotent. From now
   * on nothing more is admitted; with `afterReplies`, the WebSocket closes once the replies already
   * under way (sent from process.nextTick callbacks) are written, at the event loop's next turn.
   */
  close(code: number, reason: string, options: { afterReplies?: boolean } = {}): void {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    if (options.afterReplies) setImmediate(() => this.ws.close(code, reason));
    else this.ws.close(code, reason);
  }
}
