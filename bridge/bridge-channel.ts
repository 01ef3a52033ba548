/**
 * The bridge channel over WebSocket (colibri-ws, protocol reference §7): one socket per endpoint
 * at /colibri-ws/<bridge id>/<meeting id>/<endpoint id>?pwd=<the endpoint's ICE password>.
 * The bridge greets with ServerHello and relays EndpointMessage and EndpointStats between the
 * endpoints of one conference, stamping `from` itself; the other client → bridge messages
 * (ReceiverVideoConstraints, ReceiverAudioSubscription, LastNChangedEvent, the video type ones) go
 * to the endpoint's conference through the directory. What is malformed or unknown is logged and
 * ignored, never fatal. A wrong bridge, conference, endpoint or password all get the same 403.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  BridgeChannelMessageError, MAX_BRIDGE_CHANNEL_MESSAGE_BYTES, isClientToBridgeMessage, parseBridgeChannelMessage,
  serialiseBridgeChannelMessage, type BridgeChannelMessage, type ClientToBridgeMessage,
} from '../xmpp/protocol/bridge-channel.ts';

/** What the channel needs of the conferences: finding an endpoint, and handing it what the endpoint says. */
export interface ChannelDirectory {
  /** The endpoint's ICE password, or undefined when there is no such endpoint. */
  passwordOf(meetingId: string, endpointId: string): string | undefined;
  /** A validated client → bridge message the channel does not handle itself; must not throw for its content. */
  onEndpointMessage(meetingId: string, endpointId: string, message: ClientToBridgeMessage): void;
  /** The endpoint's channel opened and was greeted: a chance to send it the current state. */
  onChannelOpened(meetingId: string, endpointId: string): void;
}

/** Sustained messages per second one endpoint may send on its channel, and the burst allowed. */
export const MESSAGES_PER_SECOND = 20;
export const MESSAGE_BURST = 60;
/**
 * Bytes a channel may have waiting to be written to its client before messages relayed from the
 * others (EndpointMessage, EndpointStats) to it are dropped, so that a client that stops reading
 * (its socket's window closed) holds at most this much of the bridge's memory, whatever the
 * others send it.
 */
export const MAX_BUFFERED_BYTES = 1 << 20;
/**
 * The bridge's own messages (forwarded sources, constraints, speakers) are state a client must
 * not miss: never dropped, they are small and few. A channel with this much waiting even so is
 * closed; its client opens a new one and is told the current state again.
 */
export const MAX_BUFFERED_STATE_BYTES = 4 * MAX_BUFFERED_BYTES;

/** An endpoint's allowance of messages: kept across its reconnections, so that reconnecting does not refill it. */
interface MessageBucket {
  tokens: number;
  refilled: number;
  dropped: number;
}

const PATH = /^\/colibri-ws\/([^/?]+)\/([^/?]+)\/([^/?]+)(?:\?(.*))?$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class BridgeChannelServer {
  private readonly server = new WebSocketServer({ noServer: true, maxPayload: MAX_BRIDGE_CHANNEL_MESSAGE_BYTES, perMessageDeflate: false });
  /** meeting id → endpoint id → socket */
  private readonly sockets = new Map<string, Map<string, WebSocket>>();
  /** meeting id + NUL + endpoint id → its message allowance, until the endpoint goes. */
  private readonly buckets = new Map<string, MessageBucket>();
  /** Relayed messages not sent because their channel had MAX_BUFFERED_BYTES waiting. */
  droppedSends = 0;

  constructor(private readonly bridgeId: string, private readonly directory: ChannelDirectory, private readonly log: Logger) {}

  /** True when the request is for this bridge's channel path (the HTTP front asks before routing). */
  matches(url: string): boolean {
    const m = PATH.exec(url);
    return m !== null && safeDecode(m[1]!) === this.bridgeId;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const m = PATH.exec(req.url ?? '');
    const meetingId = m ? safeDecode(m[2]!) : undefined;
    const endpointId = m ? safeDecode(m[3]!) : undefined;
    const pwd = new URLSearchParams(m?.[4] ?? '').get('pwd') ?? '';
    const expected = meetingId && endpointId ? this.directory.passwordOf(meetingId, endpointId) : undefined;
    if (!m || !meetingId || !endpointId || expected === undefined || !sameSecret(pwd, expected)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.server.handleUpgrade(req, socket, head, (ws) => this.attach(ws, meetingId, endpointId));
  }

  /** Sends a message to one endpoint of a conference (when its channel is open). */
  send(meetingId: string, endpointId: string, message: BridgeChannelMessage): void {
    const ws = this.sockets.get(meetingId)?.get(endpointId);
    if (!ws || ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount >= MAX_BUFFERED_STATE_BYTES) {
      this.log.warn({ epId: endpointId, buffered: ws.bufferedAmount }, 'bridge channel not read: closed');
      ws.terminate();
      return;
    }
    ws.send(serialiseBridgeChannelMessage(message));
  }

  /** Closes an endpoint's channel (its endpoint expired): from now on nothing it sends is heard. */
  closeEndpoint(meetingId: string, endpointId: string): void {
    this.buckets.delete(bucketKey(meetingId, endpointId));
    const endpoints = this.sockets.get(meetingId);
    const ws = endpoints?.get(endpointId);
    if (!endpoints || !ws) return;
    endpoints.delete(endpointId);
    if (endpoints.size === 0) this.sockets.delete(meetingId);
    ws.close(1000, 'endpoint expired');
  }

  close(): void {
    for (const endpoints of this.sockets.values()) for (const ws of endpoints.values()) ws.terminate();
    this.sockets.clear();
    this.buckets.clear();
    this.server.close();
  }

  /** Relays unless the channel is not open, or MAX_BUFFERED_BYTES wait to be written to it already. */
  private relay(ws: WebSocket, endpointId: string, payload: string): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount >= MAX_BUFFERED_BYTES) {
      if (this.droppedSends++ % 100 === 0) this.log.warn({ epId: endpointId, dropped: this.droppedSends }, 'bridge channel not read: messages to it dropped');
      return;
    }
    ws.send(payload);
  }

  private attach(ws: WebSocket, meetingId: string, endpointId: string): void {
    let endpoints = this.sockets.get(meetingId);
    if (!endpoints) this.sockets.set(meetingId, (endpoints = new Map()));
    endpoints.get(endpointId)?.close(1000, 'replaced by a new channel');
    endpoints.set(endpointId, ws);
    ws.on('error', (err) => this.log.debug({ err: err.message, epId: endpointId }, 'bridge channel error'));
    ws.on('close', () => {
      const current = this.sockets.get(meetingId);
      if (current?.get(endpointId) !== ws) return;
      current.delete(endpointId);
      if (current.size === 0) this.sockets.delete(meetingId);
      if (this.directory.passwordOf(meetingId, endpointId) === undefined) this.buckets.delete(bucketKey(meetingId, endpointId));
    });
    // A token bucket per endpoint: a flood from one is dropped here, before it costs the others
    // relayed copies or the conference re-planning its forwarding. A new channel of the same
    // endpoint takes over its bucket.
    const key = bucketKey(meetingId, endpointId);
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = { tokens: MESSAGE_BURST, refilled: performance.now(), dropped: 0 }));
    const allowance = bucket;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // A socket replaced by a newer one, or whose endpoint expired, is closing: what it still
      // delivers meanwhile (until the client answers the close) is not the endpoint's any more.
      if (isBinary || this.sockets.get(meetingId)?.get(endpointId) !== ws) return;
      const now = performance.now();
      allowance.tokens = Math.min(MESSAGE_BURST, allowance.tokens + ((now - allowance.refilled) / 1000) * MESSAGES_PER_SECOND);
      allowance.refilled = now;
      if (allowance.tokens < 1) {
        if (allowance.dropped++ % 100 === 0) this.log.warn({ epId: endpointId, dropped: allowance.dropped }, 'bridge channel messages over the rate limit dropped');
        return;
      }
      allowance.tokens--;
      this.onMessage(meetingId, endpointId, data.toString('utf8'));
    });
    ws.send(serialiseBridgeChannelMessage({ colibriClass: 'ServerHello' }));
    this.toDirectory(endpointId, () => this.directory.onChannelOpened(meetingId, endpointId));
  }

  private onMessage(meetingId: string, from: string, text: string): void {
    let message: BridgeChannelMessage;
    try {
      message = parseBridgeChannelMessage(text);
    } catch (err) {
      if (!(err instanceof BridgeChannelMessageError)) throw err;
      this.log.debug({ epId: from, kind: err.kind }, 'bridge channel message ignored');
      return;
    }
    switch (message.colibriClass) {
      case 'EndpointMessage':
      case 'EndpointStats': {
        // The bridge says who sent it; a client's own `from` is never trusted.
        const stamped = { ...message, from } as BridgeChannelMessage;
        const to = message.colibriClass === 'EndpointMessage' ? message.to : '';
        const payload = serialiseBridgeChannelMessage(stamped);
        for (const [id, ws] of this.sockets.get(meetingId) ?? []) {
          if (id !== from && (to === '' || to === id)) this.relay(ws, id, payload);
        }
        return;
      }
      case 'ClientHello':
        this.send(meetingId, from, { colibriClass: 'ServerHello' });
        return;
      default:
        if (isClientToBridgeMessage(message)) this.toDirectory(from, () => this.directory.onEndpointMessage(meetingId, from, message));
        else this.log.debug({ epId: from, colibriClass: message.colibriClass }, 'bridge → client message from a client ignored');
    }
  }

  /** The one boundary for the conference side: a throw there is our bug, logged, and the socket stays. */
  private toDirectory(endpointId: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.log.error({ err, epId: endpointId }, 'bridge channel message handling failed');
    }
  }
}

function bucketKey(meetingId: string, endpointId: string): string {
  return `${meetingId}\u0000${endpointId}`;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined; // a malformed escape names no endpoint
  }
}
