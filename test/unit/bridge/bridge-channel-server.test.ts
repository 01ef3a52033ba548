/**
 * BridgeChannelServer's sending side with stand-in sockets (the integration tests in
 * test/integration/bridge-channel.test.ts use real ones): a client that stops reading makes the
 * socket's bufferedAmount grow only once the kernel's buffers on both sides are full (megabytes on
 * loopback), which a unit test can set directly.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { BridgeChannelServer, MAX_BUFFERED_BYTES, MAX_BUFFERED_STATE_BYTES, type ChannelDirectory } from '../../../bridge/bridge-channel.ts';

/** What the server uses of a `ws` WebSocket. */
class StandInSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  send(payload: string): void {
    this.sent.push(payload);
  }
  close(): void {
    this.readyState = 2;
  }
  terminate(): void {
    this.readyState = 3;
  }
}

const directory: ChannelDirectory = { passwordOf: () => 'pwd', onEndpointMessage: () => undefined, onChannelOpened: () => undefined };

describe('bridge channel server: sending to a client that does not read', () => {
  it('drops what others relay to a channel with MAX_BUFFERED_BYTES waiting, and relays again once it drained', () => {
    const server = new BridgeChannelServer('bridge', directory, pino({ level: 'silent' }));
    const attach = (server as unknown as { attach(ws: StandInSocket, meetingId: string, endpointId: string): void }).attach.bind(server);
    const [a, b, c] = [new StandInSocket(), new StandInSocket(), new StandInSocket()];
    attach(a, 'm', 'a');
    attach(b, 'm', 'b');
    attach(c, 'm', 'c');
    const say = (from: StandInSocket, n: number) => from.emit('message', Buffer.from(JSON.stringify({ colibriClass: 'EndpointMessage', to: '', msgPayload: { n } })), false);
    say(a, 1);
    assert.equal(b.sent.length, 2, 'ServerHello, then the message');
    b.bufferedAmount = MAX_BUFFERED_BYTES; // b stopped reading
    say(a, 2);
    say(a, 3);
    assert.equal(b.sent.length, 2, 'nothing more relayed to b');
    assert.equal(c.sent.length, 4, 'c gets both');
    assert.equal(server.droppedSends, 2);
    b.bufferedAmount = MAX_BUFFERED_BYTES - 1;
    say(a, 4);
    assert.equal(b.sent.length, 3, 'relayed again under the cap');
    server.close();
  });

  it('never drops the bridge\'s own state messages, and closes a channel with MAX_BUFFERED_STATE_BYTES waiting', () => {
    const server = new BridgeChannelServer('bridge', directory, pino({ level: 'silent' }));
    const attach = (server as unknown as { attach(ws: StandInSocket, meetingId: string, endpointId: string): void }).attach.bind(server);
    const b = new StandInSocket();
    attach(b, 'm', 'b');
    b.bufferedAmount = MAX_BUFFERED_BYTES;
    server.send('m', 'b', { colibriClass: 'ForwardedSources', forwardedSources: [] });
    assert.equal(b.sent.length, 2, 'ServerHello, then the state, past the relay cap');
    b.bufferedAmount = MAX_BUFFERED_STATE_BYTES;
    server.send('m', 'b', { colibriClass: 'ForwardedSources', forwardedSources: ['x'] });
    assert.equal(b.sent.length, 2);
    assert.equal(b.readyState, 3, 'closed: its client opens a new channel and is told the state again');
    server.close();
  });
});
