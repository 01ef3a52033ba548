/**
 * On the native media path, an endpoint's SRTP is unprotected by the media socket as it reads it
 * (NativeMediaSocket.bindReceiver, wired by MediaTransport into every endpoint): a real
 * MediaTransport on loopback, and a client of our own on a plain UDP socket (a scripted ICE
 * agent, werift's DTLS client through DtlsLink, SrtpProtection). What the client sends reaches the
 * endpoint as the packets it protected, the read's counter shows it did the unprotecting, a replay
 * is refused there, and once the endpoint closed the socket unprotects nothing from that address.
 * The read also notes each packet's receive-side facts in the endpoint's receive log, as the
 * TypeScript path reads them from the packet.
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import { MediaTransport } from '../../bridge/transport/index.ts';
import { nativeMedia, NOT_FORWARDED } from '../../bridge/native/index.ts';
import { readTransportSequence, RtpHeader } from '../../bridge/rtp/packet.ts';
import type { LoggedRtp } from '../../bridge/transport/receive-log.ts';
import { seededRandom } from '../unit/seeded-random.ts';
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

  it('notes in the endpoint\'s receive log what RtpHeader and readTransportSequence read of each packet, in order; a full log counts what it cannot keep', async function () {
    if (process.env.SALON_BRIDGE_NATIVE === 'off') this.skip();
    media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, native: 'on' });
    const endpoint = media.createEndpoint('alice', log);
    const receiveLog = endpoint.receiveLog(5); // before the session: kept on its transform once DTLS is done
    const logged: boolean[] = [];
    const arrivals: Array<number | undefined> = [];
    endpoint.events.on('rtp', (_packet, arrival, wasLogged) => {
      logged.push(wasLogged === true);
      arrivals.push(arrival);
    });
    client = await connectScriptedClient(media, endpoint, log, CLIENT_ICE);
    const { srtp, send } = client;
    const random = seededRandom(2026);
    const pick = (n: number): number => Math.floor(random() * n);
    /** A packet with a header extension block of a random form, often malformed, and sometimes padding. */
    const packet = (sequence: number): Buffer => {
      const csrcs = pick(3);
      const elements: number[] = [];
      const form = random();
      let profile = -1;
      if (form < 0.35) {
        profile = 0xbede;
        for (let n = pick(4); n >= 0; n--) {
          const r = random();
          if (r < 0.15) elements.push(0); // padding
          else if (r < 0.25) elements.push(0xf0 | pick(16), pick(256)); // id 15: reading stops
          else if (r < 0.4) elements.push(pick(15) + 1, pick(256)); // id 0 with a length: reading stops
          else {
            const id = random() < 0.5 ? 5 : 1 + pick(14);
            const length = random() < 0.7 ? 2 : 1 + pick(4);
            elements.push((id << 4) | (length - 1), ...Array.from({ length }, () => pick(256)));
          }
        }
      } else if (form < 0.6) {
        profile = 0x1000 | pick(16);
        for (let n = pick(4); n >= 0; n--) {
          if (random() < 0.15) {
            elements.push(0);
            continue;
          }
          const id = random() < 0.5 ? 5 : pick(256);
          const length = random() < 0.7 ? 2 : pick(5);
          elements.push(id, length, ...Array.from({ length }, () => pick(256)));
        }
      } else if (form < 0.7) {
        profile = pick(65536);
        elements.push(0x51, 1, 2, 3);
      }
      // A block cut short sometimes: its last element runs past it.
      const words = Math.ceil(elements.length / 4) - (elements.length > 4 && random() < 0.1 ? 1 : 0);
      const header = 12 + 4 * csrcs + (profile >= 0 ? 4 + 4 * words : 0);
      const padded = random() < 0.2;
      const paddingCount = padded ? (random() < 0.7 ? 1 + pick(4) : random() < 0.5 ? 0 : 250) : 0;
      const payload = 20 + pick(100);
      const data = Buffer.alloc(header + payload + (padded && paddingCount > 0 && paddingCount < 250 ? paddingCount : padded ? 1 : 0));
      data[0] = 0x80 | (padded ? 0x20 : 0) | (profile >= 0 ? 0x10 : 0) | csrcs;
      data[1] = [96, 100, 111, 0x80 | 100][pick(4)]!;
      data.writeUInt16BE(sequence, 2);
      data.writeUInt32BE((sequence * 3000) >>> 0, 4);
      data.writeUInt32BE(0x1000 + pick(3), 8);
      if (profile >= 0) {
        data.writeUInt16BE(profile, 12 + 4 * csrcs);
        data.writeUInt16BE(words, 14 + 4 * csrcs);
        Buffer.from(elements.slice(0, 4 * words)).copy(data, 16 + 4 * csrcs);
      }
      if (padded) data[data.length - 1] = paddingCount;
      return data;
    };
    const expected: Array<Parameters<LoggedRtp>> = [];
    const header = new RtpHeader();
    const sent: Buffer[] = [];
    /** Which datagram each record is of. */
    const readable: number[] = [];
    for (let sequence = 1; sequence <= 400; sequence++) {
      const plain = packet(sequence);
      const wire = srtp.protectRtp(plain);
      if (!wire) continue;
      sent.push(wire);
      if (header.parse(plain) !== 'ok') continue;
      readable.push(sent.length - 1);
      expected.push([readTransportSequence(header, 5), header.ssrc, header.sequenceNumber, header.timestamp, header.payloadType, 0, plain.length, NOT_FORWARDED]);
    }
    assert.ok(expected.length > 250 && expected.length < sent.length, `${expected.length} of ${sent.length} packets readable`);
    assert.ok(expected.filter((record) => record[0] >= 0).length > 50, 'transport-wide numbers among them');
    const startedAt = performance.now();
    for (const datagram of sent) send(datagram);
    await until('every packet handed on', () => endpoint.stats().packetsIn >= sent.length);
    const endedAt = performance.now();
    assert.ok(logged.length === sent.length && logged.every(Boolean), 'each rtp event says the read logged it');
    const records: Array<Parameters<LoggedRtp>> = [];
    assert.equal(receiveLog.waiting, expected.length);
    receiveLog.drain((...record) => records.push(record));
    records.forEach((record, k) => {
      assert.ok(record[5] >= startedAt - 1 && record[5] <= endedAt + 1, `arrival ${record[5]} within [${startedAt}, ${endedAt}] on the process clock`);
      // The kernel's time, as the packet's own event places it (NativeMediaSocket: which counts the
      // read's own time, up to 64 datagrams unprotected, as waiting).
      const told = arrivals[readable[k]!];
      assert.ok(told !== undefined && Math.abs(record[5] - told) < 2, `arrival ${record[5]} against ${told}`);
      record[5] = 0;
    });
    assert.deepEqual(records, expected);
    assert.equal(receiveLog.waiting, 0);

    // Full: what comes next is counted, not kept, until the log is read.
    const capacity = nativeMedia().native!.receiveLogRecords;
    for (let sequence = 1000; sequence < 1000 + capacity + 50; sequence++) send(srtp.protectRtp(rtp(sequence, 0x2000))!);
    await until('every packet handed on', () => endpoint.stats().packetsIn >= sent.length + capacity + 50);
    assert.equal(receiveLog.waiting, capacity);
    assert.equal(receiveLog.dropped, 50);
    assert.deepEqual(logged.slice(-capacity - 50).map((wasLogged, i) => wasLogged === i < capacity), Array.from({ length: capacity + 50 }, () => true), 'the 50 the log could not keep came with logged false, their facts to be read from them');
    const sequences: number[] = [];
    receiveLog.drain((_t, _ssrc, sequence) => sequences.push(sequence));
    assert.deepEqual(sequences, Array.from({ length: capacity }, (_, i) => 1000 + i), 'the first ones kept, in order');

    // While a link is impaired (a test hook), nothing is noted: what the impairment holds or drops did not arrive when read.
    const impairment = media.impair(media.endpointAddress('alice')!, { loss: 0 });
    assert.ok(impairment);
    const before = logged.length;
    for (let sequence = 3000; sequence < 3010; sequence++) send(srtp.protectRtp(rtp(sequence, 0x2000))!);
    await until('the impaired packets handed on', () => logged.length === before + 10);
    assert.deepEqual(logged.slice(before), Array.from({ length: 10 }, () => false));
    assert.equal(receiveLog.waiting, 0);
    media.impair(media.endpointAddress('alice')!, undefined);
    send(srtp.protectRtp(rtp(3010, 0x2000))!);
    await until('the next packet handed on', () => logged.length === before + 11);
    assert.equal(logged.at(-1), true, 'noted again once no link is impaired');
    assert.equal(receiveLog.waiting, 1);
  });

  it('lifts an impairment set on an address before an endpoint bound it (a test hook)', async function () {
    if (process.env.SALON_BRIDGE_NATIVE === 'off') this.skip();
    media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, native: 'on' });
    const endpoint = media.createEndpoint('alice', log);
    const arrivals: Array<number | undefined> = [];
    endpoint.events.on('rtp', (_packet, arrival) => arrivals.push(arrival));
    let address: { host: string; port: number } | undefined;
    client = await connectScriptedClient(media, endpoint, log, CLIENT_ICE, (bound) => {
      address = bound;
      media!.impair(bound, { loss: 0 }); // on the address: no endpoint has it yet
    });
    client.send(client.srtp.protectRtp(rtp(1))!);
    await until('the impaired packet handed on', () => arrivals.length === 1);
    assert.equal(arrivals[0], undefined, 'it came through the impairment');
    media.impair(address!, undefined); // the address is the endpoint's now
    client.send(client.srtp.protectRtp(rtp(2))!);
    await until('the next packet handed on', () => arrivals.length === 2);
    assert.equal(typeof arrivals[1], 'number', 'lifted: straight from the read, with the kernel\'s arrival time');
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

