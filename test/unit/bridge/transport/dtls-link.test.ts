import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import pino from 'pino';
import { DtlsClient, DtlsServer } from 'werift';
import { generateCertificate, type DtlsCertificate } from '../../../../bridge/transport/certificate.ts';
import { DtlsLink, type SrtpKeyingMaterial } from '../../../../bridge/transport/dtls-link.ts';
import { ContentType, parseHandshakeFragments, parseRecords } from '../../../../bridge/transport/dtls-records.ts';
import { fingerprintMatches } from '../../../../bridge/transport/dtls-verify.ts';
import { memoryTransport } from './memory-transport.ts';

const log = pino({ level: 'silent' });

const CLIENT_HELLO = 1;

/** Whether a datagram holds a ClientHello (in a plaintext handshake record). */
function containsClientHello(datagram: Buffer): boolean {
  return (parseRecords(datagram) ?? []).some(
    (r) => r.contentType === ContentType.handshake && r.epoch === 0 && (parseHandshakeFragments(r.fragment) ?? []).some((f) => f.msgType === CLIENT_HELLO),
  );
}

function outcome(link: DtlsLink): Promise<string> {
  return new Promise((resolve) => {
    link.events.on('connected', (keys) => resolve(`connected profile ${keys.profile}`));
    link.events.on('failed', (error) => resolve(error.message));
  });
}

describe('bridge/transport/dtls-link (two in-process peers)', function () {
  this.timeout(20_000);
  let bridge: DtlsCertificate;
  let browser: DtlsCertificate;
  let attacker: DtlsCertificate;
  const cleanup: Array<() => void> = [];

  before(async () => {
    [bridge, browser, attacker] = await Promise.all([generateCertificate(), generateCertificate(), generateCertificate()]);
  });
  afterEach(() => {
    for (const close of cleanup.splice(0)) close();
  });

  /** Our server link against werift's DtlsClient presenting `cert` signed with `key`. */
  function serverAgainstWeriftClient(options: { key?: string; fingerprints?: DtlsCertificate['fingerprint'][] } = {}) {
    let toClient: (data: Buffer) => void = () => undefined;
    const link = new DtlsLink({ role: 'server', certificate: bridge, log, send: (data) => setImmediate(() => toClient(data)) });
    const fromClient: Buffer[] = [];
    const transport = memoryTransport((data) => {
      fromClient.push(data);
      link.handle(data);
    });
    toClient = (data) => transport.onData(data, ['127.0.0.1', 0]);
    const client = new DtlsClient({ transport, cert: browser.certPem, key: options.key ?? browser.keyPem, signatureHash: browser.signatureHash, srtpProfiles: [7, 1], extendedMasterSecret: true });
    cleanup.push(() => link.close(), () => client.close());
    return { link, client, fromClient, fingerprints: options.fingerprints ?? [browser.fingerprint] };
  }

  it('as server, connects werift’s client, checks its fingerprint and exports matching SRTP keys', async () => {
    const { link, client, fingerprints } = serverAgainstWeriftClient();
    const result = outcome(link);
    let keys: SrtpKeyingMaterial | undefined;
    link.events.on('connected', (k) => (keys = k));
    link.setRemoteFingerprints(fingerprints);
    await client.connect();
    assert.equal(await result, 'connected profile 7', 'AEAD_AES_128_GCM is preferred');
    const theirs = client.extractSessionKeys(16, 12) as { localKey: Buffer; remoteKey: Buffer };
    assert.ok(keys?.remoteMasterKey.equals(theirs.localKey));
    assert.ok(keys?.localMasterKey.equals(theirs.remoteKey));
  });

  it('accepts the fingerprint after the handshake as well as before', async () => {
    const { link, client, fingerprints } = serverAgainstWeriftClient();
    const result = outcome(link);
    await client.connect();
    assert.equal(link.state, 'handshaking', 'no keys without a fingerprint to check');
    link.setRemoteFingerprints(fingerprints.map((f) => ({ hash: 'SHA-256', value: f.value.toLowerCase() })));
    assert.equal(await result, 'connected profile 7');
  });

  it('fails when the client certificate does not match the signalled fingerprint', async () => {
    const { link, client } = serverAgainstWeriftClient({ fingerprints: [attacker.fingerprint] });
    const result = outcome(link);
    link.setRemoteFingerprints([attacker.fingerprint]);
    await client.connect();
    assert.match(await result, /does not match the signalled fingerprint/);
    assert.equal(link.state, 'failed');
  });

  it('fails a client that presents the signalled certificate but signs CertificateVerify with another key', async () => {
    const { link, client, fingerprints } = serverAgainstWeriftClient({ key: attacker.keyPem });
    const result = outcome(link);
    link.setRemoteFingerprints(fingerprints);
    client.connect().catch(() => undefined); // werift's client believes it connected; our check decides
    assert.equal(await result, "the DTLS peer's CertificateVerify: bad signature");
  });

  it('drops a ClientHello that arrives after the handshake instead of restarting it', async () => {
    const { link, client, fingerprints, fromClient } = serverAgainstWeriftClient();
    const result = outcome(link);
    link.setRemoteFingerprints(fingerprints);
    await client.connect();
    await result;
    const firstHello = fromClient[0];
    assert.ok(firstHello && containsClientHello(firstHello));
    assert.equal(fromClient.filter(containsClientHello).length, 2, 'the first ClientHello and the one with the cookie');
    await new Promise((resolve) => setImmediate(resolve)); // a turn of its own
    link.handle(firstHello);
    assert.equal(link.lateHandshakeRecords, 1);
    assert.equal(link.state, 'connected');
  });

  it('drops datagrams that are not whole DTLS records, however many come in one read, and still completes the handshake', async () => {
    const { link, client, fingerprints } = serverAgainstWeriftClient();
    const result = outcome(link);
    link.setRemoteFingerprints(fingerprints);
    const header = (length: number) => Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, length >> 8, length & 0xff]);
    const broken = [
      Buffer.from([22]), // werift read a length past the end of these
      Buffer.from([22, 0xfe, 0xfd, 0, 0]),
      Buffer.concat([header(40), Buffer.alloc(3)]), // a record longer than the datagram
      Buffer.concat([header(2), Buffer.alloc(2), Buffer.from([22, 0xfe])]), // a whole record, then a cut one
    ];
    // Read together, as recvmmsg hands them on: all but the first wait for later turns, where nothing would catch a throw.
    for (let round = 0; round < 3; round++) for (const datagram of broken) link.handle(datagram);
    // Whole records whose content werift refuses.
    for (const datagram of [Buffer.concat([header(1), Buffer.from([0xff])]), Buffer.concat([header(12), Buffer.alloc(12, 0xff)])]) link.handle(datagram);
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.ok(link.malformedDatagrams >= 12, `the cut ones dropped: ${link.malformedDatagrams}`);
    assert.equal(link.state, 'handshaking');
    await client.connect();
    assert.equal(await result, 'connected profile 7');
  });

  it('hands werift datagrams received together one turn apart, in order, the first at once, and at most 32 waiting', async () => {
    const { link, client, fingerprints } = serverAgainstWeriftClient();
    const result = outcome(link);
    link.setRemoteFingerprints(fingerprints);
    await client.connect();
    await result;
    const hello = Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 12, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 40; i++) link.handle(hello); // a flood of late ClientHellos, read at once
    assert.equal(link.lateHandshakeRecords, 1, 'the first one is handed on at once');
    assert.equal(link.droppedDatagrams, 7, 'over 32 waiting: dropped');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(link.lateHandshakeRecords, 2, 'then one per turn');
    for (let turn = 0; turn < 40; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(link.lateHandshakeRecords, 33);
    assert.equal(link.state, 'connected');
  });

  it('as client (remote setup=passive), connects to werift’s server and checks its ServerKeyExchange signature', async () => {
    const results: string[] = [];
    for (const key of [browser.keyPem, attacker.keyPem]) {
      let toLink: (data: Buffer) => void = () => undefined;
      const transport = memoryTransport((data) => toLink(data));
      const link = new DtlsLink({ role: 'client', certificate: bridge, log, send: (data) => setImmediate(() => transport.onData(data, ['127.0.0.1', 0])) });
      toLink = (data) => link.handle(data);
      const server = new DtlsServer({ transport, cert: browser.certPem, key, signatureHash: browser.signatureHash, srtpProfiles: [1], extendedMasterSecret: true, certificateRequest: true });
      cleanup.push(() => link.close(), () => server.close());
      const result = outcome(link);
      link.setRemoteFingerprints([browser.fingerprint]);
      link.start();
      results.push(await result);
    }
    assert.deepEqual(results, ['connected profile 1', "the DTLS peer's ServerKeyExchange signature: bad signature"]);
  });

  it('as client, survives a HelloVerifyRequest that arrives twice (a retransmission under load)', async () => {
    let toLink: (data: Buffer) => void = () => undefined;
    let duplicated = 0;
    const transport = memoryTransport((data) => {
      toLink(data);
      // The server's first flight (HelloVerifyRequest: handshake record, message type 3) twice.
      if (data[0] === 22 && data[13] === 3 && duplicated++ === 0) toLink(Buffer.from(data));
    });
    const link = new DtlsLink({ role: 'client', certificate: bridge, log, send: (data) => setImmediate(() => transport.onData(data, ['127.0.0.1', 0])) });
    toLink = (data) => link.handle(data);
    const server = new DtlsServer({ transport, cert: browser.certPem, key: browser.keyPem, signatureHash: browser.signatureHash, srtpProfiles: [1], extendedMasterSecret: true, certificateRequest: true });
    cleanup.push(() => link.close(), () => server.close());
    const result = outcome(link);
    link.setRemoteFingerprints([browser.fingerprint]);
    link.start();
    assert.equal(await result, 'connected profile 1');
    assert.equal(duplicated, 1, 'the HelloVerifyRequest was delivered twice');
  });

  it('server and client links connect over a slow path that delivers every datagram twice (retransmissions crossing the replies)', async () => {
    // 600 ms each way, over werift's first retransmission timeout (500 ms): each side receives
    // the other's flights several times, some after it moved on (a loaded machine, a slow path).
    let server: DtlsLink | undefined;
    let client: DtlsLink | undefined;
    const delivered = { toServer: 0, toClient: 0 };
    const timers: NodeJS.Timeout[] = [];
    const path = (deliver: () => DtlsLink | undefined, counter: 'toServer' | 'toClient') => (data: Buffer): void => {
      for (const ms of [600, 610]) {
        timers.push(setTimeout(() => {
          delivered[counter]++;
          deliver()?.handle(Buffer.from(data));
        }, ms));
      }
    };
    server = new DtlsLink({ role: 'server', certificate: bridge, log, send: path(() => client, 'toClient') });
    client = new DtlsLink({ role: 'client', certificate: browser, log, send: path(() => server, 'toServer') });
    cleanup.push(() => server.close(), () => client.close(), () => timers.forEach(clearTimeout));
    server.setRemoteFingerprints([browser.fingerprint]);
    client.setRemoteFingerprints([bridge.fingerprint]);
    const results = Promise.all([outcome(server), outcome(client)]);
    client.start();
    assert.deepEqual(await results, ['connected profile 7', 'connected profile 7']);
    assert.ok(delivered.toServer > 10 && delivered.toClient > 10, `retransmissions crossed: ${JSON.stringify(delivered)}`);
  });

  it('close is idempotent and sends nothing afterwards', async () => {
    const sent: Buffer[] = [];
    const link = new DtlsLink({ role: 'client', certificate: bridge, log, send: (data) => sent.push(data) });
    link.start();
    await new Promise((resolve) => setImmediate(resolve));
    const before = sent.length;
    assert.ok(before >= 1, 'the ClientHello went out');
    link.close();
    link.close();
    link.handle(Buffer.from([22, 0xfe, 0xfd]));
    assert.equal(link.state, 'closed');
    assert.equal(sent.length, before);
  });

  it('matches fingerprints case-insensitively and ignores unknown hash names', () => {
    const der = new X509Certificate(browser.certPem).raw;
    assert.ok(fingerprintMatches(der, [{ hash: 'SHA-256', value: browser.fingerprint.value.toLowerCase() }]));
    assert.equal(fingerprintMatches(der, [{ hash: 'md5', value: browser.fingerprint.value }]), false);
    assert.equal(fingerprintMatches(der, []), false);
  });
});
