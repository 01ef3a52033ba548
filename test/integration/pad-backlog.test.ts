/**
 * The documents service on its own behind a bare HTTP server, with small limits, and a peer that
 * asks for the document over and over without ever reading the answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startPadService, type PadService } from '../../web/server/pad/index.ts';
import { TestEditor, waitFor } from './pad-client.ts';

const ROOM = 'backlog@muc.meet.jitsi';

/** One masked WebSocket text frame (RFC 6455 §5.2; a client must mask, §5.3). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  assert.ok(payload.length < 65536);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, masked]);
}

describe('shared document: a peer that does not read (integration)', function () {
  this.timeout(60_000);
  let http: Server;
  let pad: PadService;
  let origin: string;
  const warnings: string[] = [];
  const sockets: Socket[] = [];
  const editors: TestEditor[] = [];

  before(async () => {
    const sink = new Writable({ write(chunk: Buffer, _encoding, done) { warnings.push(chunk.toString()); done(); } });
    pad = startPadService({
      log: pino({ level: 'warn' }, sink),
      allowedOrigins: new Set(),
      // Reads and messages are left free here: what is measured is the backlog alone.
      limits: { maxBufferedBytes: 512 * 1024, readsPerSecond: 1000, readBurst: 1000, messagesPerSecond: 1000, messageBurst: 1000 },
    });
    http = createServer((_req, res) => res.writeHead(404).end());
    http.on('upgrade', (req, socket, head) => pad.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    origin = `127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const e of editors) e.close();
    for (const s of sockets) s.destroy();
    await pad.close();
    await new Promise((resolve) => http.close(resolve));
  });

  it('drops a connection that lets the answers to its reads pile up unread, and the document carries on', async () => {
    const document = pad.create(ROOM);
    const grant = document.grant(`${ROOM}/alice`);
    const writer = new TestEditor(`ws://${origin}${grant.path}`, grant.token);
    editors.push(writer);
    await writer.synced();
    writer.insert(0, 'x'.repeat(900_000));
    await waitFor(() => !writer.sync.hasPending && writer.text.length === 900_001, 'the large text to be stored');

    // A WebSocket by hand, so that its reading can be paused.
    const socket = connect({ host: '127.0.0.1', port: Number(origin.split(':')[1]) });
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write([
      `GET ${grant.path}?token=${encodeURIComponent(grant.token)} HTTP/1.1`, `Host: ${origin}`, 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', '',
    ].join('\r\n'));
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    await waitFor(() => pad.stats().connections === 2, 'the hand-made connection to be admitted');
    socket.pause();
    socket.write(textFrame(JSON.stringify({ a: 'hs', id: null, protocol: 1, protocolMinor: 2 })));

    // Each fetch answers the whole document (~900 kB); once the kernel's buffers are full, the
    // answers queue in the server until the connection is dropped.
    let fetches = 0;
    while (pad.stats().connections === 2 && fetches < 200) {
      socket.write(textFrame(JSON.stringify({ a: 'f', c: 'pad', d: document.id })));
      fetches += 1;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(pad.stats().connections, 1, `still connected after ${fetches} unread fetches`);
    assert.ok(warnings.some((line) => line.includes('not reading what it asked for')), warnings.join('\n'));

    writer.insert(0, 'still here ');
    await waitFor(() => !writer.sync.hasPending && writer.text.startsWith('still here '), 'the writer to keep editing');
    assert.equal(writer.status, 'synced');
    document.destroy();
  });
});
