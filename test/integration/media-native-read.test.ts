/**
 * On the native media path, an endpoint's SRTP is unprotected by the media socket as it reads it
 * (NativeMediaSocket.bindReceiver, wired by MediaTransport into every endpoint): a real
 * MediaTransport on loopback, and a client of our own on a plain UDP socket (a scripted ICE
 * agent, werift's DTLS client through DtlsLink, SrtpProtection). What the client sends reaches the
 * endpoint as the packets it protected, the read's counter shows it did the unprotecting, a replay
 * is refused there, and once the endpoint closed the socket unprotects nothing from that address.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import pino from 'pino';
import { classes } from 'werift';
import { generateCertificate } from '../../bridge/transport/certificate.ts';
import { DtlsLink, type SrtpKeyingMaterial } from '../../bridge/transport/dtls-link.ts';
import { MediaTransport, type RemoteAddress } from '../../bridge/transport/index.ts';
import { SrtpProtection } from '../../bridge/transport/srtp-protection.ts';
import { StunPeer, stun } from '../unit/bridge/transport/stun-peer.ts';

const log = pino({ level: 'silent' });
const CLIENT_ICE = { ufrag: 'nativereadufrag', pwd: 'nativereadpassword0123456' };

async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function rtp(sequence: number): Buffer {
  const packet = Buffer.alloc(12 + 200, sequence & 0xff);
  packet[0] = 0x80;
  packet[1] = 111;
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(sequence * 960, 4);
  packet.writeUInt32BE(0x9abc_def0, 8);
  return packet;
}

describe('media transport: the native read unprotects an endpoint\'s SRTP (integration)', function () {
  this.timeout(30_000);
  let media: MediaTransport | undefined;
  let socket: Socket | undefined;

  afterEach(async () => {
    socket?.close();
    await media?.close();
  });

  it('hands the endpoint the packets its client protected, unprotected by the read; refuses a replay; stops at close', async function () {
    if (process.env.SALON_BRIDGE_NATIVE === 'off') this.skip();
    media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, native: 'on' });
    assert.equal(media.mediaPath, 'native');
    const bridge: RemoteAddress = { host: '127.0.0.1', port: media.port };
    const endpoint = media.createEndpoint('alice', log);
    const received: Buffer[] = [];
    endpoint.events.on('rtp', (packet) => received.push(Buffer.from(packet)));
    const local = endpoint.localTransport();

    // The client: answers the bridge's checks, runs DTLS as client (setup=active), keys SRTP.
    const client = createSocket('udp4');
    socket = client;
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    const send = (data: Buffer): void => void client.send(data, bridge.port, bridge.host);
    const peer = new StunPeer(CLIENT_ICE.ufrag, CLIENT_ICE.pwd, local);
    const certificate = await generateCertificate();
    const dtls = new DtlsLink({ role: 'client', certificate, log, send });
    dtls.setRemoteFingerprints([local.fingerprint]);
    let keys: SrtpKeyingMaterial | undefined;
    dtls.events.on('connected', (k) => (keys = k));
    client.on('message', (data, from) => {
      const first = data[0]!;
      if (first < 4) {
        if (stun(data).messageClass === classes.REQUEST) send(peer.respond(data, { host: from.address, port: from.port }));
      } else if (first >= 20 && first < 64) {
        dtls.handle(data);
      }
    });
    send(peer.request().bytes);
    endpoint.setRemoteTransport({ ...CLIENT_ICE, fingerprints: [{ ...certificate.fingerprint, setup: 'active' }], candidates: [] });
    dtls.start();
    await until('the endpoint connected and the client keyed', () => endpoint.state === 'connected' && keys !== undefined);
    const srtp = new SrtpProtection(keys!);

    const before = media.socketCounters()?.unprotected ?? 0;
    const sent = [rtp(10), rtp(11), rtp(12)];
    const wire = sent.map((packet) => srtp.protectRtp(packet)!);
    for (const datagram of wire) send(datagram);
    send(wire[1]!); // a replay
    await until('three packets and the replay handled', () => endpoint.stats().packetsIn + endpoint.stats().replays >= 4);
    assert.deepEqual(received, sent);
    assert.equal(endpoint.stats().replays, 1);
    assert.equal(media.socketCounters()?.unprotected, before + 4, 'all four unprotected (or refused) by the socket\'s read');

    endpoint.close('done');
    send(srtp.protectRtp(rtp(13))!);
    // A datagram from an address nobody binds any more is dropped by the demultiplexer; the read left it alone.
    await until('the datagram read and dropped', () => media!.muxStats.dropped >= 1);
    assert.equal(media.socketCounters()?.unprotected, before + 4, 'nothing unprotected once the endpoint closed');
    dtls.close();
  });
});
