/**
 * On the native media path the socket's read forwards an endpoint's audio itself (conference.ts
 * refreshRoutes, Endpoint.setRoutes, salon_media.cc UdpSocket::Forward): a real MediaTransport on
 * loopback, a BridgeConference over its endpoints, and three clients of our own (scripted ICE,
 * werift's DTLS, SrtpProtection). What a receiver gets must be what JavaScript's forwarding would
 * have sent it — the sender's packet, sender-scoped extensions blanked, numbered on the receiver's
 * own transport, one numbering shared with what JavaScript sends it — while the sender's endpoint
 * is handed none of it; what depends on the packets (counters, speech) comes back from the
 * receive log; and force-muting, an impaired link or a receiver leaving take effect at once.
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import { BridgeConference } from '../../bridge/conference.ts';
import type { Endpoint } from '../../bridge/endpoint.ts';
import { MediaTransport, type RemoteAddress } from '../../bridge/transport/index.ts';
import type { BridgeToClientMessage } from '../../xmpp/protocol/bridge-channel.ts';
import { connectScriptedClient, waitFor, type ScriptedClient } from './scripted-client.ts';

const log = pino({ level: 'silent' });
const AUDIO_LEVEL_ID = 1;
const SENDER_SCOPED_ID = 3;
const TRANSPORT_CC_ID = 5;
const ALICE_AUDIO = 0x1111_0001;

interface Participant {
  endpoint: Endpoint;
  client: ScriptedClient;
  address: RemoteAddress;
  /** Plaintext RTP the bridge sent this client. */
  received: Buffer[];
  /** Plaintext RTCP compounds the bridge sent it. */
  rtcp: Buffer[];
}

/**
 * An Opus-like packet with a one-byte extension block: the audio level (`level`, -1: none), the
 * transport-wide sequence number (unless `transportCc` is false) and a sender-scoped 3-byte
 * element the bridge must blank.
 */
function audioPacket(sequence: number, options: { level?: number; transportCc?: boolean } = {}): Buffer {
  const elements: number[] = [];
  if ((options.level ?? 0x80 | 20) >= 0) elements.push(AUDIO_LEVEL_ID << 4, options.level ?? 0x80 | 20);
  if (options.transportCc !== false) elements.push((TRANSPORT_CC_ID << 4) | 1, 0xee, 0xee);
  elements.push((SENDER_SCOPED_ID << 4) | 2, 0xa1, 0xa2, 0xa3);
  while (elements.length % 4 !== 0) elements.push(0);
  const packet = Buffer.alloc(16 + elements.length + 60, sequence & 0xff);
  packet[0] = 0x90;
  packet[1] = 111;
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE((sequence * 960) >>> 0, 4);
  packet.writeUInt32BE(ALICE_AUDIO, 8);
  packet.writeUInt16BE(0xbede, 12);
  packet.writeUInt16BE(elements.length / 4, 14);
  Buffer.from(elements).copy(packet, 16);
  return packet;
}

/** The one-byte extension element `id` of a packet: its value's offset and length, or undefined. */
function element(packet: Buffer, id: number): { at: number; length: number } | undefined {
  const end = 16 + 4 * packet.readUInt16BE(14);
  for (let i = 16; i < end;) {
    const byte = packet[i]!;
    if (byte === 0) {
      i++;
      continue;
    }
    const length = (byte & 0x0f) + 1;
    if (byte >> 4 === id) return { at: i + 1, length };
    i += 1 + length;
  }
  return undefined;
}

const transportSequenceOf = (packet: Buffer): number => {
  const found = element(packet, TRANSPORT_CC_ID);
  return found ? packet.readUInt16BE(found.at) : -1;
};

/** The packet as JavaScript's forwarding sends it, but for the transport-wide number: the sender-scoped element zeroed. */
function asForwarded(sent: Buffer): Buffer {
  const expected = Buffer.from(sent);
  const scoped = element(expected, SENDER_SCOPED_ID)!;
  expected.fill(0, scoped.at - 1, scoped.at + scoped.length);
  return expected;
}

/** `received` with the transport-wide numbers zeroed, to compare with what was sent. */
const unnumbered = (packet: Buffer): Buffer => {
  const copy = Buffer.from(packet);
  const found = element(copy, TRANSPORT_CC_ID);
  if (found) copy.fill(0xee, found.at, found.at + 2);
  return copy;
};

describe('media transport: the native read forwards audio itself (integration)', function () {
  this.timeout(30_000);
  let media: MediaTransport | undefined;
  let conference: BridgeConference | undefined;
  const participants = new Map<string, Participant>();
  const messages: Array<{ to: string; message: BridgeToClientMessage }> = [];

  beforeEach(async function () {
    if (process.env.SALON_BRIDGE_NATIVE === 'off') this.skip();
    media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, native: 'on' });
    conference = new BridgeConference('m', undefined, log, () => undefined, () => undefined, { feedbackSsrcs: { audio: 0xa0, video: 0xb0 } });
    conference.useBridgeChannel({ send: (to, message) => messages.push({ to, message }) });
    conference.setTransportCcExtensionId(TRANSPORT_CC_ID);
    conference.setAudioLevelExtensionId(AUDIO_LEVEL_ID);
    conference.setSenderScopedExtensionIds([SENDER_SCOPED_ID]);
    for (const [i, id] of ['alice', 'bob', 'carol'].entries()) {
      const endpoint = media.createEndpoint(id, log);
      let address: RemoteAddress | undefined;
      const client = await connectScriptedClient(media, endpoint, log, { ufrag: `forwardufrag${i}`, pwd: `forwardpassword0123456789${i}` }, (bound) => (address = bound));
      const received: Buffer[] = [];
      const rtcp: Buffer[] = [];
      client.socket.on('message', (data) => {
        if (data[0]! < 128 || data[0]! > 191) return;
        const isRtcp = data[1]! >= 192 && data[1]! <= 223;
        const result = isRtcp ? client.srtp.unprotectRtcp(Buffer.from(data)) : client.srtp.unprotectRtp(Buffer.from(data));
        if (result.ok) (isRtcp ? rtcp : received).push(Buffer.from(result.packet));
      });
      participants.set(id, { endpoint, client, address: address!, received, rtcp });
      conference.addEndpoint(endpoint);
    }
    const source = { name: 'alice-a0', media: 'audio' as const, desktop: false };
    conference.setSources('alice', { all: new Set([ALICE_AUDIO]), forwarded: new Set([ALICE_AUDIO]), sourceOf: new Map([[ALICE_AUDIO, source]]), named: [source] });
  });

  afterEach(async () => {
    conference?.close('done');
    for (const participant of participants.values()) participant.client.close();
    participants.clear();
    messages.length = 0;
    await media?.close();
  });

  const get = (id: string): Participant => participants.get(id)!;
  const sendAudio = (packets: Buffer[]): void => {
    const alice = get('alice').client;
    for (const packet of packets) alice.send(alice.srtp.protectRtp(packet)!);
  };

  it('sends each receiver the sender\'s audio from the read, blanked and numbered on the receiver\'s transport; JavaScript is handed none of it', async () => {
    let handed = 0;
    get('alice').endpoint.events.on('rtp', () => handed++);
    const before = media!.socketCounters()?.forwarded ?? 0;
    const sent = Array.from({ length: 50 }, (_, i) => audioPacket(100 + i, { level: 0x80 | (i % 30) }));
    for (let i = 0; i < sent.length; i += 10) {
      sendAudio(sent.slice(i, i + 10));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await waitFor('50 packets at bob and at carol', () => get('bob').received.length >= 50 && get('carol').received.length >= 50);
    assert.equal(media!.socketCounters()?.forwarded, before + 50, 'every packet forwarded by the read');
    assert.equal(handed, 0, 'the sender\'s endpoint was handed none of them');
    for (const id of ['bob', 'carol']) {
      const received = get(id).received;
      assert.equal(received.length, 50, `${id}: nothing twice`);
      assert.deepEqual(received.map(unnumbered), sent.map(asForwarded), `${id}: the packets as sent, the sender-scoped element blanked`);
      // The receiver's own numbering, one per packet in the order sent, from wherever it stood.
      const first = transportSequenceOf(received[0]!);
      assert.deepEqual(received.map(transportSequenceOf), received.map((_, i) => (first + i) & 0xffff), `${id}: numbered on its own transport`);
    }
    // The sender is sent transport-cc feedback about them (RTPFB, FMT 15): the feedback period's
    // tick runs, and reads the log, though no packet of the sender reached JavaScript.
    await waitFor('transport-cc feedback to alice', () => get('alice').rtcp.some((compound) => compound[1] === 205 && (compound[0]! & 0x1f) === 15));
    // What still depends on each packet comes back from the receive log too.
    await waitFor('the log read', () => conference!.mediaStats().rtpPacketsReceived === 50);
    const stats = conference!.mediaStats();
    assert.equal(stats.rtpPacketsForwarded, 100);
    assert.equal(stats.rtpBytesForwarded, 100 * sent[0]!.length);
    assert.ok(stats.forwardingDelaySamples === 50 && stats.forwardingDelayNsTotal > 0, 'the forwarding delay of each');
    assert.equal(get('alice').endpoint.stats().packetsIn, 50);
    assert.ok(get('bob').endpoint.stats().packetsOut >= 50, 'the receiver counts what the read sent it');
    // Speech, from the levels the log carries: the only one speaking is named dominant speaker.
    await waitFor('the dominant speaker told', () => messages.some(({ message }) => message.colibriClass === 'DominantSpeakerEndpointChangeEvent' && message.dominantSpeakerEndpoint === 'alice'));
  });

  it('numbers what JavaScript sends a receiver (a packet without the extension) and what the read sends it in one sequence, the stream in its order', async () => {
    // Negotiated: a packet that came without the extension is sent it with one added (ReceiverBandwidth.stamp).
    conference!.setTransportCcNegotiated('bob', true);
    let handed = 0;
    get('alice').endpoint.events.on('rtp', () => handed++);
    const before = media!.socketCounters()?.forwarded ?? 0;
    const sent = Array.from({ length: 120 }, (_, i) => audioPacket(200 + i, { transportCc: i % 3 !== 0 }));
    // One at a time, then in bursts that one read takes together (the read keeps a stream's order
    // behind a packet of it that JavaScript sends: those follow it there).
    for (let i = 0; i < 60; i++) {
      sendAudio([sent[i]!]);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    for (let i = 60; i < sent.length; i += 6) {
      sendAudio(sent.slice(i, i + 6));
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    await waitFor('120 packets at bob', () => get('bob').received.length >= 120);
    const byRead = (media!.socketCounters()?.forwarded ?? 0) - before;
    assert.ok(handed >= 40 && byRead > 0 && handed + byRead === 120, `both ways: ${handed} through JavaScript, ${byRead} by the read`);
    const received = get('bob').received;
    assert.deepEqual(received.map((p) => p.readUInt16BE(2)), sent.map((p) => p.readUInt16BE(2)), 'in the order sent');
    const sequences = received.map(transportSequenceOf);
    assert.ok(sequences.every((s) => s >= 0), 'every packet numbered');
    assert.deepEqual(sequences, sequences.map((_, i) => (sequences[0]! + i) & 0xffff), 'one numbering, no gap, nothing twice');
  });

  it('forwards nothing from a force-muted sender, hands everything to JavaScript while a link is impaired, and stops sending to a receiver that left', async () => {
    const before = media!.socketCounters()?.forwarded ?? 0;
    conference!.setForceMute('alice', { audio: true });
    sendAudio([audioPacket(1), audioPacket(2), audioPacket(3)]);
    await waitFor('the muted packets read', () => get('alice').endpoint.stats().packetsIn >= 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(get('bob').received.length, 0, 'nothing from a force-muted sender');
    assert.equal(media!.socketCounters()?.forwarded, before, 'nor by the read');

    conference!.setForceMute('alice', { audio: false });
    sendAudio([audioPacket(4), audioPacket(5)]);
    await waitFor('bob hears alice again', () => get('bob').received.length === 2);
    assert.equal(media!.socketCounters()?.forwarded, before + 2, 'by the read once unmuted');

    // A test impairment anywhere turns the read's logging off: what it forwarded goes through JavaScript.
    media!.impair(get('carol').address, { loss: 0 });
    let handed = 0;
    const off = get('alice').endpoint.events.on('rtp', () => handed++);
    sendAudio([audioPacket(6), audioPacket(7)]);
    await waitFor('bob gets the packets through JavaScript', () => get('bob').received.length === 4);
    assert.equal(handed, 2);
    assert.equal(media!.socketCounters()?.forwarded, before + 2);
    media!.impair(get('carol').address, undefined);
    off();
    const carolHad = get('carol').received.length;

    conference!.removeEndpoint('carol', 'left');
    sendAudio([audioPacket(8), audioPacket(9)]);
    await waitFor('bob gets them from the read', () => get('bob').received.length === 6);
    assert.equal(media!.socketCounters()?.forwarded, before + 4);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(get('carol').received.length, carolHad, 'nothing more to the receiver that left');
    const sequences = get('bob').received.map(transportSequenceOf);
    assert.deepEqual(sequences, sequences.map((_, i) => (sequences[0]! + i) & 0xffff), 'one numbering through all of it');
  });
});
