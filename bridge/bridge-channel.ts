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
import { ReadRateLimiter } from '../xmpp/limits.ts';
import {
  BridgeChannelMessageError, MAX_BRIDGE_CHANNEL_MESSAGE_BYTES, isClientToBridgeMessage, parseBridgeChannelMessage,
  serialiseBridgeChannelMessage, type BridgeChannelMessage, type BridgeChannelMessageOf, type ClientToBridgeMessage,
} from '../xmpp/protocol/bridge-channel.ts';

/** What the channel needs of the conferences: finding an endpoint, and handing it what the endpoint says. */
export interface ChannelDirectory {
  /** The endpoint's ICE password, or undefined when there is no such endpoint. */
  passwordOf(meetingId: string, endpointId: string): string | undefined;
  /** A validated client → bridge message the channel does not handle itself; must not throw for its content. */
  onEndpointMessage(meetingId: string, endpointId: string, message: ClientToBridgeMessage): void;
  /** The endpoint's channel opened and was greeted: a chance to send it the current state. */
  onChannelOpened(meetingId: string, endpointId: string): void;
  /** Whether a receiver is to get a sender's EndpointStats (absent: every receiver is). */
  wantsStatsFrom?(meetingId: string, receiverId: string, senderId: string): boolean;
}

/**
 * What one endpoint's channel may cost the bridge, three ways (a flood from one is stopped before it
 * costs the others relayed copies or the conference re-planning its forwarding):
 * - bytes read, before they are parsed: over it, messages are dropped;
 * - bytes relayed to others, a message's length times its recipients (one 64 KiB broadcast in a
 *   room of 100 is 6.5 MB of writes): over it, messages to relay are dropped. A count of messages
 *   would not do: lib-jitsi-meet's end-to-end pings (one to and from each other endpoint every
 *   10 s) alone are 20 messages a second in a room of 100, each a few hundred bytes to one;
 * - state messages (constraints, last-N, audio subscription, video types), each a replan of the
 *   endpoint's forwarding: over it, they are never dropped but merged, the latest of each kind
 *   kept, and applied when the allowance is back (a client's layout must not be lost to its chatter).
 */
export const INPUT_BYTES_PER_SECOND = 128 * 1024;
export const INPUT_BURST_BYTES = 512 * 1024;
export const RELAY_BYTES_PER_SECOND = 1024 * 1024;
export const RELAY_BURST_BYTES = 4 * 1024 * 1024;
export const STATE_MESSAGES_PER_SECOND = 20;
export const STATE_MESSAGE_BURST = 60;
/** Video types of distinct sources waiting at once in a backlog (an endpoint has a few sources; a name is the client's to choose). */
const MAX_BACKLOG_VIDEO_TYPES = 8;

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

/** An endpoint's allowances: kept across its reconnections, so that reconnecting does not refill them. */
interface Allowance {
  readonly input: ReadRateLimiter;
  readonly relay: ReadRateLimiter;
  readonly state: ReadRateLimiter;
  /** State messages over their allowance, merged by kind (see {@link backlogKey}), in the order they last changed. */
  readonly backlog: Map<string, ClientToBridgeMessage>;
  /** Applies the backlog once the state allowance is back. */
  timer: ReturnType<typeof setTimeout> | undefined;
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
  /** meeting id + NUL + endpoint id → its allowances, until the endpoint goes. */
  private readonly allowances = new Map<string, Allowance>();
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
    this.forgetAllowance(bucketKey(meetingId, endpointId));
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
    for (const key of [...this.allowances.keys()]) this.forgetAllowance(key);
    this.server.close();
  }

  private forgetAllowance(key: string): void {
    const allowance = this.allowances.get(key);
    if (!allowance) return;
    clearTimeout(allowance.timer);
    this.allowances.delete(key);
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
      if (this.directory.passwordOf(meetingId, endpointId) === undefined) this.forgetAllowance(bucketKey(meetingId, endpointId));
    });
    // A new channel of the same endpoint takes over its allowances.
    const key = bucketKey(meetingId, endpointId);
    let allowance = this.allowances.get(key);
    if (!allowance) {
      allowance = {
        input: new ReadRateLimiter(INPUT_BYTES_PER_SECOND, INPUT_BURST_BYTES),
        relay: new ReadRateLimiter(RELAY_BYTES_PER_SECOND, RELAY_BURST_BYTES),
        state: new ReadRateLimiter(STATE_MESSAGES_PER_SECOND, STATE_MESSAGE_BURST),
        backlog: new Map(), timer: undefined, dropped: 0,
      };
      this.allowances.set(key, allowance);
    }
    const owned = allowance;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // A socket replaced by a newer one, or whose endpoint expired, is closing: what it still
      // delivers meanwhile (until the client answers the close) is not the endpoint's any more.
      if (isBinary || this.sockets.get(meetingId)?.get(endpointId) !== ws) return;
      if (owned.input.wait(data.length) > 0) return this.dropped(owned, endpointId, 'read');
      owned.input.take(data.length);
      this.onMessage(meetingId, endpointId, owned, data.toString('utf8'));
    });
    ws.send(serialiseBridgeChannelMessage({ colibriClass: 'ServerHello' }));
    this.toDirectory(endpointId, () => this.directory.onChannelOpened(meetingId, endpointId));
  }

  private onMessage(meetingId: string, from: string, allowance: Allowance, text: string): void {
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
        const stats = message.colibriClass === 'EndpointStats';
        const recipients = [...(this.sockets.get(meetingId) ?? [])].filter(([id]) => id !== from && (to === '' || to === id)
          && (!stats || this.directory.wantsStatsFrom?.(meetingId, id, from) !== false));
        if (recipients.length === 0) return;
        const payload = serialiseBridgeChannelMessage(stamped);
        const cost = payload.length * recipients.length;
        if (allowance.relay.wait(cost) > 0) return this.dropped(allowance, from, 'relay');
        allowance.relay.take(cost);
        for (const [id, ws] of recipients) this.relay(ws, id, payload);
        return;
      }
      case 'ClientHello':
        this.send(meetingId, from, { colibriClass: 'ServerHello' });
        return;
      default:
        if (!isClientToBridgeMessage(message)) {
          this.log.debug({ epId: from, colibriClass: message.colibriClass }, 'bridge → client message from a client ignored');
          return;
        }
        if (allowance.backlog.size === 0 && allowance.state.wait(1) === 0) {
          allowance.state.take(1);
          this.toDirectory(from, () => this.directory.onEndpointMessage(meetingId, from, message));
          return;
        }
        if (!addToBacklog(allowance.backlog, message)) return this.dropped(allowance, from, 'state');
        allowance.timer ??= setTimeout(() => this.applyBacklog(meetingId, from, allowance), allowance.state.wait(1));
    }
  }

  /** A state backlog's turn: applied, in order, as one message of the allowance (each entry is the latest of its kind). */
  private applyBacklog(meetingId: string, endpointId: string, allowance: Allowance): void {
    allowance.timer = undefined;
    if (this.allowances.get(bucketKey(meetingId, endpointId)) !== allowance) return;
    const wait = allowance.state.wait(1);
    if (wait > 0) {
      allowance.timer = setTimeout(() => this.applyBacklog(meetingId, endpointId, allowance), wait);
      return;
    }
    allowance.state.take(1);
    const messages = [...allowance.backlog.values()];
    allowance.backlog.clear();
    for (const message of messages) this.toDirectory(endpointId, () => this.directory.onEndpointMessage(meetingId, endpointId, message));
  }

  private dropped(allowance: Allowance, endpointId: string, budget: 'read' | 'relay' | 'state'): void {
    if (allowance.dropped++ % 100 === 0) this.log.warn({ epId: endpointId, dropped: allowance.dropped, budget }, 'bridge channel messages over the endpoint\'s allowance dropped');
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

/**
 * Merges a state message into a backlog, where it replaces the earlier one of its kind and moves to
 * the end: ReceiverVideoConstraints (whose absent fields keep their value, so the two are merged)
 * and LastNChangedEvent (the same as a constraints message with only lastN) are one kind, the
 * audio subscription another, each source's video type another. False when a video type of yet
 * another source would not fit.
 */
function addToBacklog(backlog: Map<string, ClientToBridgeMessage>, message: ClientToBridgeMessage): boolean {
  let key: string;
  let merged: ClientToBridgeMessage = message;
  switch (message.colibriClass) {
    case 'ReceiverVideoConstraints':
    case 'LastNChangedEvent': {
      key = 'video';
      const earlier = backlog.get(key) as BridgeChannelMessageOf<'ReceiverVideoConstraints'> | undefined;
      const later: BridgeChannelMessageOf<'ReceiverVideoConstraints'> = message.colibriClass === 'LastNChangedEvent'
        ? { colibriClass: 'ReceiverVideoConstraints', lastN: message.lastN }
        : message;
      const base = { ...(earlier ?? {}) };
      // Each of these pairs is one setting (withVideoConstraints): a later message naming either replaces both.
      if (later.onStageSources || later.onStageEndpoints) {
        delete base.onStageSources;
        delete base.onStageEndpoints;
      }
      if (later.selectedSources || later.selectedEndpoints) {
        delete base.selectedSources;
        delete base.selectedEndpoints;
      }
      const fields = Object.fromEntries(Object.entries(later).filter(([, value]) => value !== undefined));
      merged = { ...base, ...fields, colibriClass: 'ReceiverVideoConstraints' } as ClientToBridgeMessage;
      break;
    }
    case 'SourceVideoTypeMessage':
      key = `type ${message.sourceName}`;
      if (!backlog.has(key) && [...backlog.keys()].filter((k) => k.startsWith('type ')).length >= MAX_BACKLOG_VIDEO_TYPES) return false;
      break;
    default:
      key = message.colibriClass;
  }
  backlog.delete(key);
  backlog.set(key, merged);
  return true;
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
