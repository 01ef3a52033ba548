import assert from 'node:assert/strict';
import pino from 'pino';
import { DtlsClient, DtlsSocket } from 'werift';
import { generateCertificate, type DtlsCertificate } from '../../../../bridge/transport/certificate.ts';
import { DtlsLink } from '../../../../bridge/transport/dtls-link.ts';
import { memoryTransport } from './memory-transport.ts';

const log = pino({ level: 'silent' });
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const BUDGET = 64 * 1024;

interface Fragment {
  msgType: number;
  /** The whole message's length. */
  length: number;
  messageSeq: number;
  offset: number;
  body: Buffer;
}

/** A handshake fragment: its 12-byte header (RFC 6347 §4.2.2), then its bytes. */
function handshakeFragment(f: Fragment): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt8(f.msgType, 0);
  header.writeUIntBE(f.length, 1, 3);
  header.writeUInt16BE(f.messageSeq, 4);
  header.writeUIntBE(f.offset, 6, 3);
  header.writeUIntBE(f.body.length, 9, 3);
  return Buffer.concat([header, f.body]);
}

/** A DTLS 1.2 record (RFC 6347 §4.1). */
function record(contentType: number, epoch: number, sequenceNumber: number, fragment: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt8(contentType, 0);
  header.writeUInt8(0xfe, 1);
  header.writeUInt8(0xfd, 2);
  header.writeUInt16BE(epoch, 3);
  header.writeUIntBE(sequenceNumber, 5, 6);
  header.writeUInt16BE(fragment.length, 11);
  return Buffer.concat([header, fragment]);
}

/** The first 1 400 bytes of a Certificate (type 11) claiming `length` bytes, never completed: one datagram. */
function partialCertificate(messageSeq: number, length: number): Buffer {
  return record(22, 0, messageSeq, handshakeFragment({ msgType: 11, length, messageSeq, offset: 0, body: Buffer.alloc(1_400, 0xab) }));
}

/**
 * What werift's DTLS sockets do with handshake fragments, watched from its reassembly entry point
 * (DtlsSocket.handleFragmentHandshake): how many it holds, and which memory their bytes live in.
 */
class WeriftFragments {
  calls = 0;
  /** The most fragments one socket held at once. */
  mostHeld = 0;
  /** The largest ArrayBuffer behind a fragment werift was handed (a view keeps all of it alive). */
  largestBacking = 0;
  /** Every fragment body werift was handed, as werift holds it. */
  readonly bodies: Buffer[] = [];
  readonly #original = DtlsSocket.prototype.handleFragmentHandshake;

  install(): void {
    const watch = this;
    const original = this.#original;
    DtlsSocket.prototype.handleFragmentHandshake = function (this: DtlsSocket, messages) {
      watch.calls++;
      for (const message of messages) {
        watch.bodies.push(message.fragment);
        watch.largestBacking = Math.max(watch.largestBacking, message.fragment.buffer.byteLength);
      }
      const result = original.call(this, messages);
      const held = (this as unknown as { bufferFragmentedHandshakes: unknown[] }).bufferFragmentedHandshakes.length;
      watch.mostHeld = Math.max(watch.mostHeld, held);
      return result;
    };
  }

  uninstall(): void {
    DtlsSocket.prototype.handleFragmentHandshake = this.#original;
  }
}

describe('bridge/transport/dtls-link: handshake fragments werift would keep', function () {
  this.timeout(20_000);
  let bridge: DtlsCertificate;
  let browser: DtlsCertificate;
  let werift: WeriftFragments;
  const cleanup: Array<() => void> = [];

  before(async () => {
    [bridge, browser] = await Promise.all([generateCertificate(), generateCertificate()]);
  });
  beforeEach(() => {
    werift = new WeriftFragments();
    werift.install();
  });
  afterEach(() => {
    werift.uninstall();
    for (const close of cleanup.splice(0)) close();
  });

  function serverLink() {
    const failures: string[] = [];
    const sent: Buffer[] = [];
    const link = new DtlsLink({ role: 'server', certificate: bridge, log, send: (data) => sent.push(data) });
    link.events.on('failed', (error) => failures.push(error.message));
    cleanup.push(() => link.close());
    return { link, failures, sent };
  }

  /** Our server link connected to werift's client; `fromClient`: every datagram the client sent. */
  async function connectedServerLink() {
    let toClient: (data: Buffer) => void = () => undefined;
    const sent: Buffer[] = [];
    const link = new DtlsLink({ role: 'server', certificate: bridge, log, send: (data) => {
      sent.push(data);
      setImmediate(() => toClient(data));
    } });
    const fromClient: Buffer[] = [];
    const transport = memoryTransport((data) => {
      fromClient.push(data);
      link.handle(data);
    });
    toClient = (data) => transport.onData(data, ['127.0.0.1', 0]);
    const client = new DtlsClient({ transport, cert: browser.certPem, key: browser.keyPem, signatureHash: browser.signatureHash, srtpProfiles: [7, 1], extendedMasterSecret: true });
    cleanup.push(() => link.close(), () => client.close());
    link.setRemoteFingerprints([browser.fingerprint]);
    const connected = new Promise<void>((resolve) => link.events.on('connected', () => resolve()));
    await client.connect();
    await connected;
    await turn();
    return { link, client, fromClient, sent };
  }

  it('before the handshake, fails the link once unfinished fragments would keep over 64 KiB, and werift keeps no more', async () => {
    const { link, failures } = serverLink();
    for (let seq = 0; seq < 5_000; seq++) {
      link.handle(partialCertificate(seq, 4_000));
      await turn();
    }
    assert.equal(link.state, 'failed');
    assert.equal(failures.length, 1);
    assert.equal(failures[0], "the DTLS peer's fragments of unfinished handshake messages would hold 65984 bytes (limit 65536)");
    // Each fragment keeps its 1 425-byte record and werift's objects (512) — 4 000 more for the
    // reassembly of its message type: 31 fit in 64 KiB, the 32nd fails the link.
    assert.equal(werift.mostHeld, 31, `werift held ${werift.mostHeld} fragments`);
    assert.ok(link.keptFragmentBytes <= BUDGET, `${link.keptFragmentBytes} bytes accounted`);
  });

  it('fails the link at the first fragment of a message werift would reassemble in more than 64 KiB', async () => {
    const { link, failures } = serverLink();
    for (let seq = 0; seq < 100; seq++) {
      link.handle(partialCertificate(seq, 1_000_000));
      await turn();
    }
    assert.equal(link.state, 'failed');
    assert.match(failures[0] ?? '', /fragments of unfinished handshake messages would hold 1001937 bytes/);
    assert.equal(werift.calls, 0, 'werift never saw it');
  });

  it('completes a handshake whose flights come in 100-byte fragments, each flight three times', async () => {
    // A path MTU that fragments every handshake message, and retransmissions (each copy of a
    // flight completes its messages again): what a legitimate peer costs stays far from the budget.
    let toClient: (data: Buffer) => void = () => undefined;
    const link = new DtlsLink({ role: 'server', certificate: bridge, log, send: (data) => setImmediate(() => toClient(data)) });
    let mostKept = 0;
    const transport = memoryTransport((data) => {
      for (let copy = 0; copy < 3; copy++) {
        for (const datagram of fragmented(data, 100)) {
          link.handle(datagram);
          mostKept = Math.max(mostKept, link.keptFragmentBytes);
        }
      }
    });
    toClient = (data) => transport.onData(data, ['127.0.0.1', 0]);
    const client = new DtlsClient({ transport, cert: browser.certPem, key: browser.keyPem, signatureHash: browser.signatureHash, srtpProfiles: [7, 1], extendedMasterSecret: true });
    cleanup.push(() => link.close(), () => client.close());
    link.setRemoteFingerprints([browser.fingerprint]);
    const result = new Promise<string>((resolve) => {
      link.events.on('connected', (keys) => resolve(`connected profile ${keys.profile}`));
      link.events.on('failed', (error) => resolve(error.message));
    });
    await client.connect();
    assert.equal(await result, 'connected profile 7');
    assert.ok(werift.mostHeld >= 3, 'werift did reassemble fragments');
    assert.ok(mostKept > 0 && mostKept < BUDGET / 4, `at most ${mostKept} bytes accounted`);
  });

  it('takes a 6 KB certificate chain in 1 200-byte fragments sent ten times, its last fragment lost three times in a row', async () => {
    const { link, failures } = serverLink();
    // certificate_list (RFC 5246 §7.4.2): three 2 000-byte certificates, each after its 3-byte length.
    const entries = [0, 1, 2].map(() => Buffer.concat([Buffer.from([0, 0x07, 0xd0]), Buffer.alloc(2_000, 0x30)]));
    const list = Buffer.concat(entries);
    const body = Buffer.concat([Buffer.from([list.length >> 16, (list.length >> 8) & 0xff, list.length & 0xff]), list]);
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < body.length; offset += 1_200) {
      pieces.push(record(22, 0, pieces.length, handshakeFragment({ msgType: 11, length: body.length, messageSeq: 2, offset, body: body.subarray(offset, offset + 1_200) })));
    }
    let mostKept = 0;
    for (let transmission = 0; transmission < 10; transmission++) {
      const lost = transmission < 3 || transmission === 5;
      for (const piece of lost ? pieces.slice(0, -1) : pieces) {
        link.handle(piece);
        mostKept = Math.max(mostKept, link.keptFragmentBytes);
        await turn();
      }
    }
    assert.deepEqual(failures, []);
    assert.equal(link.state, 'handshaking');
    assert.equal(link.keptFragmentBytes, 0, 'its last fragment came last: werift reassembled it and let the fragments go');
    assert.ok(mostKept < BUDGET * 0.75, `at most ${mostKept} bytes accounted`);
  });

  it('after the handshake, hands werift no handshake fragment, plaintext or encrypted, and still answers a retransmitted Finished', async () => {
    const { link, client, fromClient, sent } = await connectedServerLink();
    const callsAtConnect = werift.calls;
    // Plaintext (epoch 0): werift would keep every one of them.
    for (let seq = 0; seq < 5_000; seq++) link.handle(partialCertificate(seq, 1_000_000)), await turn();
    // Encrypted with the client's keys (epoch 1): the peer holds them, werift would decrypt and keep them.
    for (let seq = 0; seq < 200; seq++) {
      const partial = handshakeFragment({ msgType: 11, length: 4_000, messageSeq: seq, offset: 0, body: Buffer.alloc(1_000, 0xcd) });
      link.handle(encrypted(client, 22, 1_000 + seq, partial));
      await turn();
    }
    assert.equal(link.state, 'connected');
    assert.equal(werift.calls, callsAtConnect, 'werift saw none of them');
    assert.equal(link.lateHandshakeRecords, 5_200);
    // The client's Finished again (its last flight retransmitted: it did not get ours): werift resends its last flight.
    const finished = fromClient.flatMap(records).find((r) => r[0] === 22 && r.readUInt16BE(3) === 1);
    assert.ok(finished, 'the client sent its Finished at epoch 1');
    const sentBefore = sent.length;
    link.handle(Buffer.from(finished));
    for (let i = 0; i < 20 && sent.length === sentBefore; i++) await turn();
    assert.ok(sent.length > sentBefore, 'werift sent ChangeCipherSpec and Finished again');
    assert.equal(werift.mostHeld, 0);
  });

  it('hands werift copies: nothing it keeps is a view of the receive buffer, nor changes when the caller reuses it', async () => {
    const { link } = serverLink();
    // As the native socket reads them: datagrams end to end in one large buffer, handed on together.
    const receiveBuffer = new ArrayBuffer(1 << 20);
    const datagrams = [partialCertificate(0, 4_000), partialCertificate(1, 4_000)];
    let offset = 0;
    const views = datagrams.map((datagram) => {
      const view = Buffer.from(receiveBuffer, offset, datagram.length);
      datagram.copy(view);
      offset += datagram.length;
      return view;
    });
    for (const view of views) link.handle(view); // the second waits for the next turn
    new Uint8Array(receiveBuffer).fill(0); // handle() has returned: the buffer is the caller's again
    for (let i = 0; i < 5; i++) await turn();
    assert.ok(werift.largestBacking > 0 && werift.largestBacking < 4_096, `werift keeps views of ${werift.largestBacking}-byte buffers`);
    assert.equal(werift.bodies.length, 2, 'both reached werift');
    for (const body of werift.bodies) assert.ok(body.equals(Buffer.alloc(1_400, 0xab)), 'the bytes as received');
    assert.equal(link.state, 'handshaking');
  });
});

/** The records of a datagram, each a copy. */
function records(datagram: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset + 13 <= datagram.length; ) {
    const end = offset + 13 + datagram.readUInt16BE(offset + 11);
    out.push(Buffer.from(datagram.subarray(offset, end)));
    offset = end;
  }
  return out;
}

/** The datagram with each plaintext handshake message cut into fragments of at most `size` bytes, one record per datagram. */
function fragmented(datagram: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (const r of records(datagram)) {
    if (r[0] !== 22 || r.readUInt16BE(3) !== 0) {
      out.push(r);
      continue;
    }
    const sequence = r.readUIntBE(5, 6);
    for (let at = 13; at < r.length; ) {
      const msgType = r.readUInt8(at);
      const length = r.readUIntBE(at + 1, 3);
      const messageSeq = r.readUInt16BE(at + 4);
      const body = r.subarray(at + 12, at + 12 + r.readUIntBE(at + 9, 3));
      for (let offset = 0; offset < body.length || offset === 0; offset += size) {
        out.push(record(22, 0, sequence, handshakeFragment({ msgType, length, messageSeq, offset, body: body.subarray(offset, offset + size) })));
        if (body.length === 0) break;
      }
      at += 12 + body.length;
    }
  }
  return out;
}

/** A record protected with the client's epoch-1 keys, as the client's own records after its ChangeCipherSpec. */
function encrypted(client: DtlsClient, contentType: number, sequenceNumber: number, plaintext: Buffer): Buffer {
  const header = { contentType, protocolVersion: { major: 0xfe, minor: 0xfd }, epoch: 1, sequenceNumber, contentLen: plaintext.length };
  const packet = client.cipher.encryptPacket({ recordLayerHeader: header, fragment: plaintext } as unknown as Parameters<DtlsClient['cipher']['encryptPacket']>[0]);
  return record(contentType, 1, sequenceNumber, packet.fragment);
}
