/**
 * On the native media path, an endpoint's SRTP is unprotected by the media socket as it reads it
 * (NativeMediaSocket.bindReceiver, wired by MediaTransport into every endpoint): a real
 * MediaTransport on loopback, and a client of our own on a plain UDP socket (a scripted ICE
 * agent, werift's DTLS client through DtlsLink, SrtpProtection). What the client sends reaches the
 * endpoint as the packets it protected, the read's counter shows it did the unprotecting, a replay
 * is refused there, and once the endpoint closed the socket unprotects nothing from that address.
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import { MediaTransport } from '../../bridge/transport/index.ts';
import { connectScriptedClient, scriptedRtp as rtp, waitFor as until, type ScriptedClient } from './scripted-client.ts';

const log = pino({ level: 'silent' });
const CLIENT_ICE = { ufrag: 'nativereadufrag', pwd: 'nativereadpassword0123456' };

describe('media transport: the native read unprotects an endpoint\'s SRTP (integration)', function () {
  this.timeout(30_000);
  let media: MediaTransport | undefined;
  let client: ScriptedClient | undefined;
  const others: ScriptedClient[] = [];

  afterEach(async () => {
    client?.close();
    for (const other of others.splice(0)) other.close();
    await media?.close();
  });

  it('hands the endpoint the packets its client protected, unprotected by the read; refuses a replay; stops at close', async function () {
    if (process.env.SALON_BRIDGE_NATIVE === 'off') this.skip();
    media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, native: 'on' });
    assert.equal(media.mediaPath, 'native');
    const endpoint = media.createEndpoint('alice', log);
    const received: Buffer[] = [];
    endpoint.events.on('rtp', (packet) => received.push(Buffer.from(packet)));
    client = await connectScriptedClient(media, endpoint, log, CLIENT_ICE);
    const { srtp, send } = client;

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
  });

  it('keeps an unimpaired endpoint on the native path (batched sends, kernel arrival times) while another\'s link is impaired (a test hook)', async function () {
    if (process.env.SALON_BRIDGE_NATIVE === 'off') this.skip();
    media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, native: 'on' });
    const alice = media.createEndpoint('alice', log);
    const bob = media.createEndpoint('bob', log);
    const arrivals = { alice: [] as Array<number | undefined>, bob: [] as Array<number | undefined> };
    alice.events.on('rtp', (_packet, arrival) => arrivals.alice.push(arrival));
    bob.events.on('rtp', (_packet, arrival) => arrivals.bob.push(arrival));
    client = await connectScriptedClient(media, alice, log, CLIENT_ICE);
    const bobClient = await connectScriptedClient(media, bob, log, { ufrag: 'nativereadbob', pwd: 'nativereadbobpassword0123' });
    others.push(bobClient);
    const toAlice: Buffer[] = [];
    const toBob: Buffer[] = [];
    client.socket.on('message', (data) => data[0]! >= 128 && data[0]! < 192 && toAlice.push(data));
    bobClient.socket.on('message', (data) => data[0]! >= 128 && data[0]! < 192 && toBob.push(data));
    // An impairment that drops nothing, on bob's link only.
    media.impair(media.endpointAddress('bob')!, { loss: 0 });

    const batched = () => media!.socketCounters()?.sent?.datagrams ?? 0;
    let before = batched();
    alice.sendRtp(rtp(1));
    await until('alice got her packet', () => toAlice.length === 1);
    assert.equal(batched(), before + 1, 'alice\'s packet left in the socket\'s batch');
    before = batched();
    bob.sendRtp(rtp(1));
    await until('bob got his packet', () => toBob.length === 1);
    assert.equal(batched(), before, 'bob\'s left through the impairment, one datagram at a time');

    client.send(client.srtp.protectRtp(rtp(20))!);
    bobClient.send(bobClient.srtp.protectRtp(rtp(20))!);
    await until('both endpoints heard their client', () => arrivals.alice.length === 1 && arrivals.bob.length === 1);
    assert.equal(typeof arrivals.alice[0], 'number', 'alice\'s packet carries the kernel\'s arrival time');
    assert.equal(arrivals.bob[0], undefined, 'bob\'s arrives when the impairment passes it');

    // Lifted: bob is back on the batch.
    media.impair(media.endpointAddress('bob')!, undefined);
    before = batched();
    bob.sendRtp(rtp(2));
    await until('bob got his second packet', () => toBob.length === 2);
    assert.equal(batched(), before + 1);
  });
});

