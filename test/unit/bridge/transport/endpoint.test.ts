import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import pino from 'pino';
import { classes, DtlsClient, DtlsServer, type DtlsSocket, type Transport } from 'werift';
import { Endpoint, type EndpointContext, type EndpointState } from '../../../../bridge/endpoint.ts';
import { generateCertificate, type DtlsCertificate } from '../../../../bridge/transport/certificate.ts';
import { hostCandidates } from '../../../../bridge/transport/index.ts';
import { SrtpProtection } from '../../../../bridge/transport/srtp-protection.ts';
import { UdpMux, type RemoteAddress } from '../../../../bridge/transport/udp-mux.ts';
import { nativeMedia, UNPROTECT_AUTH, UNPROTECT_REPLAY, type NativeTransform, type UdpSendBatch } from '../../../../bridge/native/index.ts';
import { ManualClock } from './manual-clock.ts';
import { StunPeer, stun } from './stun-peer.ts';

const log = pino({ level: 'silent' });
const BROWSER: RemoteAddress = { host: '192.0.2.10', port: 50_000 };
const BROWSER_ICE = { ufrag: 'browserufrag', pwd: 'browserpassword012345678' };

/**
 * One endpoint on a socket-free mux, and a scripted browser: a controlled ICE agent answering our
 * checks, and werift's DTLS (client for setup=active, server for setup=passive) over the mux.
 */
function harness(bridge: DtlsCertificate, browser: DtlsCertificate, setup: 'active' | 'passive' = 'active', sendBatch?: () => UdpSendBatch | undefined, context: Partial<EndpointContext> = {}) {
  const clock = new ManualClock();
  const toBrowserMedia: Buffer[] = [];
  let peer: StunPeer | undefined;
  let browserTransport: Transport | undefined;
  const mux = new UdpMux({
    onClientError: (error) => assert.fail(String(error)),
    send: (data, to) => {
      if (to.host !== BROWSER.host || to.port !== BROWSER.port) return; // nobody there
      const first = data[0]!;
      if (first < 4) {
        const message = stun(data);
        if (message.messageClass === classes.REQUEST && peer) {
          const response = peer.respond(data, to);
          setImmediate(() => mux.receive(response, BROWSER));
        }
      } else if (first < 64) setImmediate(() => browserTransport?.onData(data, [BROWSER.host, BROWSER.port]));
      else toBrowserMedia.push(data);
    },
  });
  const endpoint = new Endpoint('alice', log, {
    mux,
    certificate: bridge,
    clock,
    candidates: hostCandidates(['203.0.113.1'], '0.0.0.0', 10_000, false),
    reachable: isIPv4,
    ...(sendBatch ? { sendBatch } : {}),
    ...context,
  });
  const states: EndpointState[] = [];
  endpoint.events.on('state', (state) => states.push(state));
  const local = endpoint.localTransport();
  peer = new StunPeer(BROWSER_ICE.ufrag, BROWSER_ICE.pwd, local);
  browserTransport = {
    type: 'memory',
    closed: false,
    address: { address: BROWSER.host, port: BROWSER.port, family: 'IPv4' },
    onData: () => undefined,
    send: async (data: Buffer) => void setImmediate(() => mux.receive(data, BROWSER)),
    close: async () => undefined,
  };
  const options = { transport: browserTransport, cert: browser.certPem, key: browser.keyPem, signatureHash: browser.signatureHash, srtpProfiles: [7, 1] as (1 | 7)[], extendedMasterSecret: true };
  const dtls: DtlsSocket = setup === 'active' ? new DtlsClient(options) : new DtlsServer({ ...options, certificateRequest: true });
  return {
    clock,
    mux,
    endpoint,
    states,
    dtls,
    toBrowserMedia,
    /** The browser's first check, before our answer reaches it (the usual order). */
    browserChecks: () => mux.receive(peer!.request().bytes, BROWSER),
    /** A check for the bridge's ufrag with a wrong password. */
    forgedCheck: () => peer!.request({ pwd: 'not-the-password-of-it' }).bytes,
    remote: (fingerprint = browser.fingerprint) =>
      endpoint.setRemoteTransport({ ...BROWSER_ICE, fingerprints: [{ ...fingerprint, setup }], candidates: [] }),
    waitFor: (state: EndpointState) =>
      new Promise<void>((resolve) => {
        if (endpoint.state === state) return resolve();
        const off = endpoint.events.on('state', (s) => {
          if (s !== state) return;
          off();
          resolve();
        });
      }),
    /** The browser's SRTP keyed from its DTLS session. */
    browserSrtp: () => {
      const keys = dtls.extractSessionKeys(16, dtls.srtp.srtpProfile === 7 ? 12 : 14) as Record<'localKey' | 'localSalt' | 'remoteKey' | 'remoteSalt', Buffer>;
      return new SrtpProtection({ profile: dtls.srtp.srtpProfile!, localMasterKey: keys.localKey, localMasterSalt: keys.localSalt, remoteMasterKey: keys.remoteKey, remoteMasterSalt: keys.remoteSalt });
    },
    close: () => {
      endpoint.close('test done');
      dtls.close();
    },
  };
}

/** Lets the setImmediate deliveries run and advances the ICE clock a little, until `done`. */
async function run(clock: ManualClock, done: () => boolean): Promise<void> {
  for (let i = 0; i < 2_000 && !done(); i++) {
    clock.advance(5);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A DTLS record (epoch 0) with the first 1 400 bytes of a Certificate claiming `length` bytes: never completed. */
function partialCertificate(messageSeq: number, length: number): Buffer {
  const record = Buffer.alloc(13 + 12 + 1_400, 0xab);
  record.writeUInt8(22, 0); // handshake
  record.writeUInt16BE(0xfefd, 1); // DTLS 1.2
  record.writeUInt16BE(0, 3); // epoch
  record.writeUIntBE(messageSeq, 5, 6);
  record.writeUInt16BE(12 + 1_400, 11);
  record.writeUInt8(11, 13); // certificate
  record.writeUIntBE(length, 14, 3);
  record.writeUInt16BE(messageSeq, 17);
  record.writeUIntBE(0, 19, 3); // fragment_offset
  record.writeUIntBE(1_400, 22, 3); // fragment_length
  return record;
}

function rtp(sequence: number, ssrc: number): Buffer {
  const packet = Buffer.alloc(12 + 50, 7);
  packet.writeUInt8(0x80, 0);
  packet.writeUInt8(111, 1);
  packet.writeUInt16BE(sequence, 2);
  packet.writeUInt32BE(sequence * 960, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

describe('bridge/endpoint (in-process ICE + DTLS + SRTP, no sockets)', function () {
  this.timeout(20_000);
  let bridge: DtlsCertificate;
  let browser: DtlsCertificate;
  const cleanup: Array<() => void> = [];
  before(async () => {
    [bridge, browser] = await Promise.all([generateCertificate(), generateCertificate()]);
  });
  afterEach(() => {
    for (const close of cleanup.splice(0)) close();
  });

  it('announces its ufrag, pwd, actpass fingerprint and host candidates', () => {
    const h = harness(bridge, browser);
    cleanup.push(h.close);
    const local = h.endpoint.localTransport();
    assert.ok(local.ufrag.length >= 8 && local.pwd.length >= 22);
    assert.deepEqual(local.fingerprint, { hash: 'sha-256', value: bridge.fingerprint.value, setup: 'actpass' });
    assert.equal(local.candidates.length, 1);
    assert.deepEqual({ ...local.candidates[0], id: '' }, {
      component: 1, foundation: '1', generation: 0, id: '', ip: '203.0.113.1', port: 10_000, priority: 2_130_706_431, protocol: 'udp', type: 'host', network: 0,
    });
    assert.equal(h.endpoint.state, 'new');
  });

  it('queues its RTCP, protected, into the media socket\'s batch when there is one (one sendmmsg per turn, not a send each)', async () => {
    const queued: Array<{ datagram: Buffer; to: RemoteAddress }> = [];
    let accepting = true;
    // Only the part of UdpSendBatch the endpoint uses for RTCP; queueRtp refuses (-1) as the batch does for a transform not native.
    const batch = {
      queue: (datagram: Buffer, to: RemoteAddress) => (accepting ? (queued.push({ datagram, to }), datagram.length) : -1),
      queueRtp: () => -1,
    } as unknown as UdpSendBatch;
    const h = harness(bridge, browser, 'active', () => batch);
    cleanup.push(h.close);
    h.browserChecks();
    h.remote();
    const client = h.dtls as DtlsClient;
    const browserConnected = client.connect();
    await run(h.clock, () => h.endpoint.state === 'connected');
    await browserConnected;
    const srtp = h.browserSrtp();
    const media = h.toBrowserMedia.length;
    const report = Buffer.from([0x80, 201, 0, 1, 0, 0, 0xbb, 0xbb]);
    h.endpoint.sendRtcp(report);
    assert.equal(queued.length, 1, 'queued in the batch');
    assert.equal(h.toBrowserMedia.length, media, 'not sent on its own');
    assert.deepEqual(queued[0]!.to, BROWSER);
    const back = srtp.unprotectRtcp(queued[0]!.datagram);
    assert.ok(back.ok);
    assert.deepEqual(back.packet, report);
    // A batch that refuses it (closed, or a datagram longer than its slots): sent on its own.
    accepting = false;
    h.endpoint.sendRtcp(report);
    assert.equal(h.toBrowserMedia.length, media + 1);
    assert.ok(srtp.unprotectRtcp(h.toBrowserMedia.at(-1)!).ok);
    assert.equal(h.endpoint.stats().packetsOut, 2);
  });

  it('connects as DTLS server (remote setup=active), passes SRTP both ways, drops a replay, and close leaves the mux empty', async () => {
    const h = harness(bridge, browser);
    cleanup.push(h.close);
    const received: Buffer[] = [];
    h.endpoint.events.on('rtp', (packet) => received.push(packet));
    h.endpoint.sendRtp(rtp(1, 1));
    h.browserChecks();
    h.remote();
    const connected = h.waitFor('connected');
    const client = h.dtls as DtlsClient;
    const browserConnected = client.connect();
    await run(h.clock, () => h.endpoint.state === 'connected');
    await connected;
    await browserConnected;
    assert.deepEqual(h.states, ['checking', 'connected']);
    assert.deepEqual(h.endpoint.selectedAddress, BROWSER);

    const srtp = h.browserSrtp();
    const sent = [rtp(100, 0xaaaa), rtp(101, 0xaaaa)];
    const wire = sent.map((p) => srtp.protectRtp(p)!);
    for (const packet of wire) h.mux.receive(packet, BROWSER);
    h.mux.receive(wire[0]!, BROWSER);
    h.mux.receive(Buffer.concat([rtp(102, 0xaaaa).subarray(0, 12), Buffer.alloc(60, 1)]), BROWSER); // forged
    assert.deepEqual(received, sent);

    h.endpoint.sendRtp(rtp(5, 0xbbbb));
    h.endpoint.sendRtcp(Buffer.from([0x80, 201, 0, 1, 0, 0, 0xbb, 0xbb]));
    assert.equal(h.toBrowserMedia.length, 2);
    const back = srtp.unprotectRtp(h.toBrowserMedia[0]!);
    assert.ok(back.ok);
    assert.deepEqual(back.packet, rtp(5, 0xbbbb));
    assert.ok(srtp.unprotectRtcp(h.toBrowserMedia[1]!).ok);

    const stats = h.endpoint.stats();
    assert.equal(stats.packetsIn, 2);
    assert.equal(stats.replays, 1);
    assert.equal(stats.authFailures, 1);
    assert.equal(stats.packetsOut, 2);
    assert.equal(stats.droppedOut, 1, 'the packet sent before connected was dropped');

    h.endpoint.close('bye');
    h.endpoint.close('again');
    assert.deepEqual(h.states, ['checking', 'connected', 'closed']);
    assert.deepEqual(h.mux.routes, { ufrags: 0, addresses: 0, transactions: 0 });
    assert.equal(h.clock.pending, 0, 'no ICE or connect timer left');
    assert.equal(h.endpoint.events.size, 0);
  });

  it('on the native path, has the socket unprotect what its address sends with its transform while it has one, takes the read\'s outcome, and stops it at close', async function () {
    const { native } = nativeMedia();
    if (process.env.SALON_BRIDGE_NATIVE === 'off') this.skip();
    assert.ok(native, 'the native media path is built');
    // What the media socket is told (NativeMediaSocket.bindReceiver), by address.
    const bindings: Array<[string, NativeTransform | undefined]> = [];
    const h = harness(bridge, browser, 'active', undefined, { native, bindReceiver: (from, transform) => bindings.push([`${from.host}:${from.port}`, transform]) });
    cleanup.push(h.close);
    const received: Buffer[] = [];
    h.endpoint.events.on('rtp', (packet) => received.push(packet));
    h.browserChecks();
    h.remote();
    const browserConnected = (h.dtls as DtlsClient).connect();
    await run(h.clock, () => h.endpoint.state === 'connected');
    await browserConnected;
    const where = `${BROWSER.host}:${BROWSER.port}`;
    assert.equal(bindings.at(-1)?.[0], where);
    const transform = bindings.at(-1)?.[1];
    assert.ok(transform, 'bound to its receiving transform once DTLS keyed it');

    // As the socket's read hands them on: unprotected by that transform, with the outcome.
    const srtp = h.browserSrtp();
    const by = (outcome: number, wireLength: number, handle = transform.handle) => ({ outcome, transform: handle, wireLength, logged: false });
    const read = (packet: Buffer, handle?: number): void => {
      const datagram = Buffer.from(srtp.protectRtp(packet)!);
      const outcome = transform.unprotectRtp(datagram);
      h.mux.receive(outcome >= 0 ? datagram.subarray(0, outcome) : datagram, BROWSER, undefined, by(outcome, datagram.length, handle));
    };
    read(rtp(200, 0xcccc));
    h.mux.receive(Buffer.alloc(100, 0x80), BROWSER, undefined, by(UNPROTECT_REPLAY, 100));
    h.mux.receive(Buffer.alloc(80, 0x80), BROWSER, undefined, by(UNPROTECT_AUTH, 80));
    // Unprotected by another transform (the address bound to another endpoint when the socket read it): refused, whatever the outcome.
    read(rtp(199, 0xcccc), transform.handle + 4);
    // What the read did not unprotect (sent before the binding reached it): unprotected here, same windows.
    const unread = srtp.protectRtp(rtp(201, 0xcccc))!;
    h.mux.receive(Buffer.from(unread), BROWSER);
    h.mux.receive(Buffer.from(unread), BROWSER); // replayed
    assert.deepEqual(received, [rtp(200, 0xcccc), rtp(201, 0xcccc)]);
    const stats = h.endpoint.stats();
    assert.equal(stats.packetsIn, 2);
    assert.equal(stats.replays, 2);
    assert.equal(stats.authFailures, 2);
    assert.equal(stats.bytesIn, 2 * (rtp(200, 0xcccc).length + (srtp.profile === 7 ? 16 : 10)), 'bytes as they came on the wire');

    h.endpoint.close('bye');
    assert.deepEqual(bindings.at(-1), [where, undefined], 'unbound at close');
  });

  it('connects as DTLS client when the remote answered setup=passive', async () => {
    const h = harness(bridge, browser, 'passive');
    cleanup.push(h.close);
    h.browserChecks();
    h.remote();
    await run(h.clock, () => h.endpoint.state === 'connected');
    assert.equal(h.endpoint.state, 'connected');
    const srtp = h.browserSrtp();
    h.endpoint.sendRtp(rtp(9, 3));
    const back = srtp.unprotectRtp(h.toBrowserMedia[0]!);
    assert.ok(back.ok);
  });

  it('fails, without keys, when the DTLS certificate does not match the signalled fingerprint', async () => {
    const h = harness(bridge, browser);
    cleanup.push(h.close);
    h.browserChecks();
    h.remote(bridge.fingerprint);
    (h.dtls as DtlsClient).connect().catch(() => undefined);
    await run(h.clock, () => h.endpoint.state === 'failed');
    assert.deepEqual(h.states, ['checking', 'failed']);
    h.endpoint.sendRtp(rtp(1, 1));
    assert.equal(h.toBrowserMedia.length, 0);
    assert.equal(h.clock.pending, 0, 'a failed endpoint runs no timer');
  });

  it('reports when it last heard from its client and whether it failed, for the bridge\'s expiry', () => {
    const h = harness(bridge, browser);
    cleanup.push(h.close);
    h.clock.advance(1_500);
    assert.deepEqual(h.endpoint.activity(), { failed: false, heard: false, idleMs: 1_500 }, 'never heard: idle since its creation');
    // Anyone who saw the bridge's ufrag on the wire can send checks for it: without the password, they are not the client.
    for (let i = 0; i < 3; i++) {
      h.mux.receive(h.forgedCheck(), BROWSER);
      h.clock.advance(50_000);
    }
    assert.deepEqual(h.endpoint.activity(), { failed: false, heard: false, idleMs: 151_500 }, 'checks failing MESSAGE-INTEGRITY are not the client');
    h.browserChecks();
    assert.deepEqual(h.endpoint.activity(), { failed: false, heard: true, idleMs: 0 }, 'a check for its ufrag with its password counts');
    h.remote();
    h.clock.advance(40_000); // no DTLS ever comes: the connect timeout fails it
    assert.equal(h.endpoint.state, 'failed');
    assert.deepEqual(h.endpoint.activity(), { failed: true, heard: true, idleMs: 40_000 });
  });

  it('fails at the connect timeout when its client checks and sends DTLS but never answers the offer', async () => {
    const h = harness(bridge, browser);
    cleanup.push(h.close);
    const reasons: string[] = [];
    h.endpoint.events.on('state', (state, reason) => state === 'failed' && reasons.push(reason));
    h.browserChecks(); // it knows the ICE password from the offer: its address is bound
    h.mux.receive(partialCertificate(0, 4_000), BROWSER);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(h.clock.pending, 1, 'the connect deadline runs');
    h.clock.advance(19_999);
    assert.notEqual(h.endpoint.state, 'failed');
    h.clock.advance(1);
    assert.equal(h.endpoint.state, 'failed');
    assert.deepEqual(reasons, ['not connected before the connect timeout']);
    assert.equal(h.endpoint.activity().failed, true, 'the bridge\'s expiry sweep removes it');
    assert.equal(h.clock.pending, 0);
  });

  it('fails, and keeps no more of them, when its client floods handshake fragments that complete no message', async () => {
    const h = harness(bridge, browser);
    cleanup.push(h.close);
    const reasons: string[] = [];
    h.endpoint.events.on('state', (state, reason) => state === 'failed' && reasons.push(reason));
    h.browserChecks();
    for (let seq = 0; seq < 10_000; seq++) {
      h.mux.receive(partialCertificate(seq, 4_000), BROWSER);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(h.endpoint.state, 'failed');
    assert.deepEqual(reasons, ["DTLS: the DTLS peer's fragments of unfinished handshake messages would hold 65984 bytes (limit 65536)"]);
    assert.equal(h.clock.pending, 0, 'nothing left running');
  });

  it('fails at the connect timeout when the browser never answers, and ignores a second set of credentials', () => {
    const h = harness(bridge, browser);
    cleanup.push(h.close);
    h.endpoint.setRemoteTransport({ ...BROWSER_ICE, fingerprints: [], candidates: [
      { component: 1, foundation: '1', generation: 0, id: 'x', ip: '198.51.100.7', port: 9, priority: 1, protocol: 'udp', type: 'host' },
      { component: 1, foundation: '2', generation: 0, id: 'y', ip: '2001:db8::1', port: 9, priority: 1, protocol: 'udp', type: 'host' },
      { component: 1, foundation: '3', generation: 0, id: 'z', ip: 'abc.local', port: 9, priority: 1, protocol: 'udp', type: 'host' },
    ] });
    h.endpoint.setRemoteTransport({ ufrag: 'other', pwd: 'otherpasswordotherpass', fingerprints: [], candidates: [] });
    h.clock.advance(30_000);
    assert.deepEqual(h.states, ['checking', 'failed']);
    assert.equal(h.clock.pending, 0);
  });
});
