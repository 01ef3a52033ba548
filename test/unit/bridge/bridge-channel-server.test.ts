/**
 * BridgeChannelServer's sending side with stand-in sockets (the integration tests in
 * test/integration/bridge-channel.test.ts use real ones): a client that stops reading makes the
 * socket's bufferedAmount grow only once the kernel's buffers on both sides are full (megabytes on
 * loopback), which a unit test can set directly.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import pino from 'pino';
import {
  BridgeChannelServer, INPUT_BURST_BYTES, MAX_BUFFERED_BYTES, MAX_BUFFERED_STATE_BYTES, RELAY_BURST_BYTES, STATE_MESSAGE_BURST, type ChannelDirectory,
} from '../../../bridge/bridge-channel.ts';
import type { ClientToBridgeMessage } from '../../../xmpp/protocol/bridge-channel.ts';

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

/** A channel server with `n` endpoints ep0…; what the conference side hears, and a way to speak as an endpoint. */
function room(n: number, wantsStatsFrom?: ChannelDirectory['wantsStatsFrom']) {
  const heard: { from: string; message: ClientToBridgeMessage }[] = [];
  const directory: ChannelDirectory = {
    passwordOf: () => 'pwd', onEndpointMessage: (_m, from, message) => void heard.push({ from, message }), onChannelOpened: () => undefined,
    ...(wantsStatsFrom ? { wantsStatsFrom } : {}),
  };
  const server = new BridgeChannelServer('bridge', directory, pino({ level: 'silent' }));
  const attach = (server as unknown as { attach(ws: StandInSocket, meetingId: string, endpointId: string): void }).attach.bind(server);
  const sockets = Array.from({ length: n }, (_, i) => {
    const ws = new StandInSocket();
    attach(ws, 'm', `ep${i}`);
    return ws;
  });
  const say = (ws: StandInSocket, message: object) => ws.emit('message', Buffer.from(JSON.stringify(message)), false);
  return { server, sockets, heard, say };
}

describe('bridge channel server: what one endpoint may cost', () => {
  const realNow = performance.now.bind(performance);
  let t = 0;
  beforeEach(() => {
    t = 1_000_000;
    (performance as { now(): number }).now = () => t;
  });
  afterEach(() => {
    (performance as { now(): number }).now = realNow;
  });

  for (const size of [150, 300]) {
    it(`keeps every ReceiverVideoConstraints of a client in a room of ${size}, among its end-to-end pings to everyone`, () => {
      const { server, sockets, heard, say } = room(2);
      // lib-jitsi-meet pings each other endpoint every 10 s and answers each one's ping: 2 × (size − 1) per 10 s.
      const pingsPerSecond = (2 * (size - 1)) / 10;
      let sent = 0;
      for (let ms = 0; ms < 10_000; ms++) {
        t += 1;
        if (Math.floor((ms * pingsPerSecond) / 1000) !== Math.floor(((ms + 1) * pingsPerSecond) / 1000)) {
          say(sockets[0]!, { colibriClass: 'EndpointMessage', to: 'ep1', msgPayload: { type: 'e2e-ping-request', id: ms } });
        }
        if (ms % 1000 === 500) {
          sent++;
          say(sockets[0]!, { colibriClass: 'ReceiverVideoConstraints', lastN: ms, defaultConstraints: { maxHeight: 180 } });
        }
      }
      const applied = heard.filter((h) => h.message.colibriClass === 'ReceiverVideoConstraints').map((h) => (h.message as { lastN?: number }).lastN);
      const pings = sockets[1]!.sent.filter((p) => p.includes('e2e-ping-request')).length;
      server.close();
      assert.equal(applied.length, sent);
      assert.equal(applied.at(-1), 9500);
      assert.equal(pings, Math.floor(pingsPerSecond * 10), 'every ping relayed');
    });
  }

  it('relays no more than its byte allowance of one endpoint\'s broadcasts (a message\'s length times its recipients)', () => {
    const { server, sockets, say } = room(100);
    const payload = { blob: 'x'.repeat(64 * 1024 - 200) };
    for (let ms = 0; ms < 1000; ms++) {
      t += 1;
      if (ms % 50 === 0) say(sockets[0]!, { colibriClass: 'EndpointMessage', to: '', msgPayload: payload });
    }
    const written = sockets.slice(1).reduce((n, ws) => n + ws.sent.slice(1).reduce((m, p) => m + p.length, 0), 0);
    // Small broadcasts still go: EndpointStats to the 99 others.
    say(sockets[1]!, { colibriClass: 'EndpointStats', bitrate: { upload: 1, download: 1 } });
    const stats = sockets.filter((ws) => ws.sent.some((p) => p.includes('EndpointStats'))).length;
    server.close();
    assert.ok(written <= RELAY_BURST_BYTES + 1024 * 1024, `${(written / 1e6).toFixed(1)} MB written for one endpoint in a second (it sent 1.3 MB to 99 others: 130 MB)`);
    assert.equal(stats, 99);
  });

  it('relays EndpointStats only to the receivers the conference says want them, other messages to all', () => {
    const { server, sockets, say } = room(5, (_m, receiver, sender) => sender === 'ep0' && receiver === 'ep3');
    say(sockets[0]!, { colibriClass: 'EndpointStats', connectionQuality: 100 });
    say(sockets[0]!, { colibriClass: 'EndpointMessage', to: '', msgPayload: { hello: 1 } });
    const got = (kind: string) => sockets.map((ws, i) => (ws.sent.some((p) => p.includes(kind)) ? i : -1)).filter((i) => i >= 0);
    server.close();
    assert.deepEqual(got('EndpointStats'), [3]);
    assert.deepEqual(got('hello'), [1, 2, 3, 4]);
  });

  it('reads no more than its byte allowance, before parsing', () => {
    const { server, sockets, heard, say } = room(1);
    const blob = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 200; i++) say(sockets[0]!, { colibriClass: 'ReceiverAudioSubscription', mode: 'Exclude', list: [blob.slice(0, 8)], padding: blob });
    server.close();
    const taken = heard.length;
    assert.ok(taken <= Math.ceil(INPUT_BURST_BYTES / (16 * 1024)), `${taken} of 200 messages of 16 KiB read at once`);
    assert.ok(taken >= Math.floor(INPUT_BURST_BYTES / (17 * 1024)) - 1, `${taken}: the burst is read`);
  });

  it('merges state messages over its allowance, the latest of each kind, and applies them once the allowance is back', async () => {
    const { server, sockets, heard, say } = room(1);
    const ws = sockets[0]!;
    for (let i = 0; i < STATE_MESSAGE_BURST; i++) say(ws, { colibriClass: 'LastNChangedEvent', lastN: i });
    assert.equal(heard.length, STATE_MESSAGE_BURST, 'the burst applied at once');
    say(ws, { colibriClass: 'ReceiverVideoConstraints', lastN: 5, onStageSources: ['a-v0'], defaultConstraints: { maxHeight: 180 } });
    say(ws, { colibriClass: 'LastNChangedEvent', lastN: 3 });
    say(ws, { colibriClass: 'ReceiverVideoConstraints', onStageEndpoints: ['b'] });
    say(ws, { colibriClass: 'ReceiverAudioSubscription', mode: 'All', list: [] });
    for (let i = 0; i < 20; i++) say(ws, { colibriClass: 'SourceVideoTypeMessage', sourceName: `ep0-v${i}`, videoType: 'camera' });
    say(ws, { colibriClass: 'SourceVideoTypeMessage', sourceName: 'ep0-v0', videoType: 'desktop' });
    assert.equal(heard.length, STATE_MESSAGE_BURST, 'nothing more while the allowance is spent');
    t += 1000;
    await new Promise((resolve) => setTimeout(resolve, 120));
    const later = heard.slice(STATE_MESSAGE_BURST).map((h) => h.message);
    server.close();
    assert.deepEqual(later[0], { colibriClass: 'ReceiverVideoConstraints', lastN: 3, onStageEndpoints: ['b'], defaultConstraints: { maxHeight: 180 } });
    assert.equal(later[1]!.colibriClass, 'ReceiverAudioSubscription');
    const types = later.slice(2) as { sourceName: string; videoType: string }[];
    assert.equal(types.length, 8, 'the video types of at most 8 sources wait');
    assert.deepEqual(types.at(-1), { colibriClass: 'SourceVideoTypeMessage', sourceName: 'ep0-v0', videoType: 'DESKTOP' }, 'the latest of a source, last');
  });
});
