/**
 * The client end of the bridge channel (colibri-ws, protocol notes §7): opens the WebSocket the
 * offer named, reads the bridge's messages through the shared parser (unknown classes and bad JSON are
 * dropped) and sends our receiver constraints and endpoint messages. Reopens after a drop while the
 * session lasts.
 */
import {
  parseBridgeChannelMessage, serialiseBridgeChannelMessage, type BridgeToClientMessage, type ClientToBridgeMessage,
  isBridgeToClientMessage,
} from '../../../xmpp/protocol/bridge-channel.ts';

export class BridgeChannelClient {
  private ws: WebSocket | undefined;
  private closed = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  /** The latest constraints, re-sent whenever the channel (re)opens. */
  private constraints: ClientToBridgeMessage | undefined;

  constructor(private readonly url: string, private readonly onMessage: (msg: BridgeToClientMessage) => void) {
    this.open();
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(msg: ClientToBridgeMessage): void {
    if (msg.colibriClass === 'ReceiverVideoConstraints') this.constraints = msg;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(serialiseBridgeChannelMessage(msg));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.ws?.close();
    this.ws = undefined;
  }

  private open(): void {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      if (this.constraints) ws.send(serialiseBridgeChannelMessage(this.constraints));
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      try {
        const msg = parseBridgeChannelMessage(event.data);
        if (isBridgeToClientMessage(msg)) this.onMessage(msg);
      } catch {
        // Not a message this client knows (§7: unknown classes are ignored).
      }
    };
    ws.onclose = () => {
      if (this.closed || this.ws !== ws) return;
      this.retry = setTimeout(() => this.open(), Math.min(5000, 250 * 2 ** this.attempts++));
    };
  }
}
