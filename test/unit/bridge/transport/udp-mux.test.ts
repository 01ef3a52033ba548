import assert from 'node:assert/strict';
import { classes, Message, methods } from 'werift';
import { UdpMux, type MuxClient, type RemoteAddress } from '../../../../bridge/transport/udp-mux.ts';
import type { SentDatagram } from './stun-peer.ts';

const A: RemoteAddress = { host: '192.0.2.1', port: 40_000 };
const B: RemoteAddress = { host: '192.0.2.2', port: 40_000 };
const DTLS = Buffer.from([22, 0xfe, 0xfd, 0, 0]);
const SRTP = Buffer.from([0x80, 96, 0, 1]);

class RecordingClient implements MuxClient {
  readonly received: string[] = [];
  handleStunRequest(message: Message): void {
    this.received.push(`request ${String(message.getAttributeValue('USERNAME'))}`);
  }
  handleStunResponse(message: Message): void {
    this.received.push(`response ${message.transactionIdHex}`);
  }
  handleDatagram(kind: 'dtls' | 'media', data: Buffer, from: RemoteAddress): void {
    this.received.push(`${kind} ${data.length} from ${from.host}`);
  }
}

function request(username: string): Buffer {
  return new Message(methods.BINDING, classes.REQUEST).setAttribute('USERNAME', username).addFingerprint().bytes;
}

function setup(limits: ConstructorParameters<typeof UdpMux>[0]['limits'] = {}) {
  const sent: SentDatagram[] = [];
  const errors: unknown[] = [];
  const mux = new UdpMux({ send: (data, to) => sent.push({ data, to }), onClientError: (e) => errors.push(e), limits });
  return { mux, sent, errors };
}

describe('bridge/transport/udp-mux', () => {
  it('gives a request for an unknown ufrag no answer and keeps no state for it', () => {
    const { mux, sent } = setup();
    const client = new RecordingClient();
    mux.addClient('known', client);
    mux.receive(request('stranger:browser'), A);
    mux.receive(request(''), A);
    mux.receive(new Message(methods.BINDING, classes.REQUEST).bytes, A);
    assert.deepEqual(sent, []);
    assert.deepEqual(client.received, []);
    assert.deepEqual(mux.routes, { ufrags: 1, addresses: 0, transactions: 0 });
    assert.equal(mux.stats.dropped, 3);
  });

  it('routes requests by the ufrag before the colon in USERNAME, responses by transaction id', () => {
    const { mux } = setup();
    const [one, two] = [new RecordingClient(), new RecordingClient()];
    mux.addClient('one', one);
    mux.addClient('two', two);
    mux.receive(request('two:browser'), A);
    const response = new Message(methods.BINDING, classes.RESPONSE);
    assert.ok(mux.addTransaction(response.transactionIdHex, one));
    mux.receive(response.bytes, B);
    mux.receive(new Message(methods.BINDING, classes.RESPONSE).bytes, B); // unknown transaction
    assert.deepEqual(one.received, [`response ${response.transactionIdHex}`]);
    assert.deepEqual(two.received, ['request two:browser']);
    assert.equal(mux.stats.dropped, 1);
  });

  it('routes DTLS and SRTP only from an address a client bound, and never to a second client', () => {
    const { mux } = setup();
    const [one, two] = [new RecordingClient(), new RecordingClient()];
    mux.addClient('one', one);
    mux.addClient('two', two);
    mux.receive(DTLS, A);
    assert.deepEqual(one.received, [], 'unbound address: dropped');
    assert.ok(mux.bindAddress(A, one));
    assert.ok(mux.bindAddress(A, one), 'binding again is harmless');
    assert.equal(mux.bindAddress(A, two), false, 'the address belongs to the first client');
    mux.receive(DTLS, A);
    mux.receive(SRTP, A);
    mux.receive(Buffer.from([70, 1, 2]), A); // RFC 7983: 64-127 is no class we serve
    mux.receive(Buffer.alloc(0), A);
    assert.deepEqual(one.received, ['dtls 5 from 192.0.2.1', 'media 4 from 192.0.2.1']);
    assert.deepEqual(two.received, []);
    assert.deepEqual(mux.stats, { stunRequests: 0, stunResponses: 0, dtls: 1, media: 1, dropped: 3 });
  });

  it('caps clients, addresses per client, addresses in all and transactions', () => {
    const { mux } = setup({ maxClients: 2, maxAddressesPerClient: 2, maxAddresses: 3, maxTransactions: 2 });
    const clients = [new RecordingClient(), new RecordingClient(), new RecordingClient()] as const;
    mux.addClient('a', clients[0]);
    mux.addClient('b', clients[1]);
    assert.throws(() => mux.addClient('c', clients[2]), /full/);
    assert.throws(() => mux.addClient('a', clients[2]), /already registered/);
    const address = (port: number): RemoteAddress => ({ host: '192.0.2.9', port });
    assert.ok(mux.bindAddress(address(1), clients[0]));
    assert.ok(mux.bindAddress(address(2), clients[0]));
    assert.equal(mux.bindAddress(address(3), clients[0]), false, 'per-client cap');
    assert.ok(mux.bindAddress(address(4), clients[1]));
    assert.equal(mux.bindAddress(address(5), clients[1]), false, 'global cap');
    assert.ok(mux.addTransaction('t1', clients[0]));
    assert.ok(mux.addTransaction('t2', clients[1]));
    assert.equal(mux.addTransaction('t3', clients[1]), false);
    assert.equal(mux.bindAddress(address(6), clients[2]), false, 'an unregistered client binds nothing');
    assert.deepEqual(mux.routes, { ufrags: 2, addresses: 3, transactions: 2 });
  });

  it('removeClient removes its ufrag, addresses and transactions and leaves the maps empty', () => {
    const { mux } = setup();
    const client = new RecordingClient();
    mux.addClient('one', client);
    mux.bindAddress(A, client);
    mux.bindAddress(B, client);
    mux.addTransaction('t1', client);
    mux.removeTransaction('t1', client);
    mux.addTransaction('t2', client);
    mux.unbindAddress(B, client);
    mux.removeClient(client);
    mux.removeClient(client);
    assert.deepEqual(mux.routes, { ufrags: 0, addresses: 0, transactions: 0 });
    mux.receive(request('one:x'), A);
    mux.receive(SRTP, A);
    assert.deepEqual(client.received, []);
  });

  it('reports a throwing client as our bug and keeps serving the others', () => {
    const { mux, errors } = setup();
    const broken = new RecordingClient();
    broken.handleStunRequest = () => {
      throw new Error('bug');
    };
    mux.addClient('broken', broken);
    mux.receive(request('broken:x'), A);
    assert.equal(errors.length, 1);
  });

  it('after close drops every datagram and sends nothing', () => {
    const { mux, sent } = setup();
    const client = new RecordingClient();
    mux.addClient('one', client);
    mux.close();
    mux.receive(request('one:x'), A);
    mux.send(Buffer.from([1]), A);
    assert.deepEqual(client.received, []);
    assert.deepEqual(sent, []);
    assert.deepEqual(mux.routes, { ufrags: 0, addresses: 0, transactions: 0 });
    assert.throws(() => mux.addClient('two', client), /closed/);
  });
});
