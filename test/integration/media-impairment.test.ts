/**
 * The test-only impairment sits on the media socket itself, both ways: a real MediaTransport on
 * loopback and a plain UDP socket as the remote. Datagrams from an impaired address never reach
 * the demultiplexer; datagrams to it (here the endpoint's ICE checks) never leave; lifting the
 * impairment restores both; other addresses are untouched throughout.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import pino from 'pino';
import { MediaTransport, type RemoteAddress } from '../../bridge/transport/index.ts';

/** RFC 7983: a first byte in 128-191 is RTP/RTCP; from an address no endpoint bound, the mux drops it. */
const MEDIA = Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);

async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function boundSocket(): Promise<{ socket: Socket; address: RemoteAddress; received: Buffer[] }> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (data) => received.push(data));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, address: { host: '127.0.0.1', port: socket.address().port }, received };
}

describe('media transport impairment on the socket (integration)', function () {
  this.timeout(30_000);
  let media: MediaTransport;
  const sockets: Socket[] = [];

  before(async () => {
    media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log: pino({ level: 'silent' }) });
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await media?.close();
  });

  it('drops what comes from the impaired address only, until lifted', async () => {
    const [impaired, other] = [await boundSocket(), await boundSocket()];
    sockets.push(impaired.socket, other.socket);
    const send = (from: Socket, n: number): void => { for (let i = 0; i < n; i++) from.send(MEDIA, media.port, '127.0.0.1'); };
    const start = media.muxStats.dropped;

    const link = media.impair(impaired.address, { loss: 1 })!;
    send(impaired.socket, 20);
    send(other.socket, 5);
    await until('20 datagrams lost and 5 others demultiplexed', () => link.counters('in').lost === 20 && media.muxStats.dropped === start + 5);

    media.impair(impaired.address, undefined);
    send(impaired.socket, 3);
    await until('the mux sees the impaired address again', () => media.muxStats.dropped === start + 8);
    assert.equal(link.counters('in').lost, 20, 'a lifted impairment sees nothing more');
  });

  it('holds back what the bridge sends to the impaired address (ICE checks) during a blackout', async () => {
    const remote = await boundSocket();
    sockets.push(remote.socket);
    const link = media.impair(remote.address, { blackoutMs: 60_000 })!;
    const endpoint = media.createEndpoint('impaired-endpoint', pino({ level: 'silent' }));
    try {
      endpoint.setRemoteTransport({
        ufrag: 'remoteufrag',
        pwd: 'remotepasswordremotepassword',
        fingerprints: [],
        candidates: [{ component: 1, foundation: '1', generation: 0, id: 'c1', ip: '127.0.0.1', port: remote.address.port, priority: 2_130_706_431, protocol: 'udp', type: 'host', network: 0 }],
      });
      await until('checks blacked out', () => link.counters('out').blackedOut >= 2);
      assert.equal(remote.received.length, 0, 'nothing reached the remote');
      media.impair(remote.address, undefined);
      // The check is retransmitted (RFC 8445 §14.3 back-off): the next one gets through.
      await until('a STUN binding request arrives', () => remote.received.some((d) => d[0]! < 4), 15_000);
    } finally {
      endpoint.close('test over');
    }
  });

  it('delays what exceeds the rate and hands on the queue when lifted', async () => {
    const remote = await boundSocket();
    sockets.push(remote.socket);
    const start = media.muxStats.dropped;
    // 8 kbit/s with a 1000-byte burst: 100 datagrams of 12 bytes (1200) go partly at once, the rest queue.
    const link = media.impair(remote.address, { rateBps: 8_000, burstBytes: 1000, queueBytes: 10_000 })!;
    for (let i = 0; i < 100; i++) remote.socket.send(MEDIA, media.port, '127.0.0.1');
    await until('100 datagrams offered', () => link.counters('in').passed + link.counters('in').delayed >= 100);
    assert.ok(link.counters('in').delayed > 0, 'some were queued');
    assert.equal(link.counters('in').queueDropped, 0);
    media.impair(remote.address, undefined);
    await until('all 100 handed on to the mux', () => media.muxStats.dropped === start + 100);
  });
});
