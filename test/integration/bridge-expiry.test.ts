/**
 * The bridge's own expiry with real endpoints on a real UDP socket (bridge/colibri.ts
 * expireInactive, as jitsi-videobridge's VideobridgeExpireThread): an endpoint whose client never
 * shows up, whose transport failed, or whose client connected and then fell silent, is removed on
 * the next sweep with everything it held on the shared port, and its conference goes once empty.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { pino } from 'pino';
import { ColibriService } from '../../bridge/colibri.ts';
import { MediaTransport } from '../../bridge/transport/index.ts';
import { buildIceUdpTransport } from '../../xmpp/protocol/jingle-ice.ts';
import type { Endpoint } from '../../bridge/endpoint.ts';
import { until } from './channel-client.ts';
import { connectScriptedClient, scriptedRtp, type ScriptedClient } from './scripted-client.ts';

const log = pino({ level: 'silent' });

describe('bridge expiry of endpoints on the media transport', function () {
  this.timeout(20_000);
  let media: MediaTransport;
  let colibri: ColibriService;
  /** The endpoints the service made, by id (the last of an id). */
  const created = new Map<string, Endpoint>();
  const clients: ScriptedClient[] = [];

  beforeEach(async () => {
    media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, connectTimeoutMs: 300 });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    created.clear();
    colibri?.close('test over');
    await media.close();
  });

  function start(expiry: { neverHeardMs: number; inactivityMs: number; emptyConferenceMs: number; checkIntervalMs?: number }): void {
    colibri = new ColibriService({
      log,
      createEndpoint: (id, endpointLog) => {
        const endpoint = media.createEndpoint(id, endpointLog);
        created.set(id, endpoint);
        return endpoint;
      },
      webSocketUrl: () => 'ws://127.0.0.1/colibri-ws/x',
      refusingNewConferences: () => false,
      expiry: { checkIntervalMs: 50, ...expiry },
    });
  }

  const allocate = (id: string, create: boolean) =>
    colibri.modify({ meetingId: 'm-1', ...(create ? { create: true, name: 'room@muc.meet.jitsi' } : {}), endpoints: [{ id, create: true, media: [], capabilities: [] }], relays: [] });

  it('expires an endpoint never heard from, frees its routes on the shared port, then the empty conference', async () => {
    start({ neverHeardMs: 200, inactivityMs: 60_000, emptyConferenceMs: 400 });
    allocate('alice', true);
    assert.deepEqual([media.sizes.endpoints, media.sizes.ufrags], [1, 1]);
    await until(() => colibri.endpointCount === 0, 'the endpoint expired');
    assert.deepEqual(media.sizes, { endpoints: 0, ufrags: 0, addresses: 0, transactions: 0 }, 'nothing left on the shared port');
    assert.equal(colibri.conferenceCount, 1, 'the conference waits a while for the focus');
    await until(() => colibri.conferenceCount === 0, 'the empty conference expired');
  });

  it('expires an endpoint whose ICE failed (nobody answers its checks), keeping the others', async () => {
    start({ neverHeardMs: 60_000, inactivityMs: 60_000, emptyConferenceMs: 60_000 });
    allocate('alice', true);
    allocate('bob', false);
    // alice's client "answers" with a transport nobody listens on: ICE checks go unanswered until the connect timeout
    colibri.modify({ meetingId: 'm-1', endpoints: [{ id: 'alice', media: [], capabilities: [], transport: { iceUdp: remoteTransport() } }], relays: [] });
    await until(() => colibri.endpointCount === 1, 'alice expired');
    assert.equal(colibri.conferenceList()[0]!.endpointIds()[0], 'bob');
    assert.equal(media.sizes.endpoints, 1);
  });

  it('expires an endpoint whose client connected, sent media and fell silent, keeping the one still sending', async () => {
    // The sweep run by the test, to read its reasons; silence after 800 ms counts.
    start({ neverHeardMs: 60_000, inactivityMs: 800, emptyConferenceMs: 60_000, checkIntervalMs: 0 });
    allocate('alice', true);
    allocate('bob', false);
    const alice = await connectScriptedClient(media, created.get('alice')!, log, { ufrag: 'aliceufrag', pwd: 'alicepassword0123456789' });
    clients.push(alice);
    const bob = await connectScriptedClient(media, created.get('bob')!, log, { ufrag: 'bobufrag', pwd: 'bobpassword0123456789012' });
    clients.push(bob);
    assert.equal(media.sizes.addresses, 2, 'both clients\' addresses bound');
    // Both send SRTP media for a while; then bob's client vanishes (no goodbye), alice goes on.
    let sequence = 0;
    const ticker = setInterval(() => {
      sequence++;
      alice.send(alice.srtp.protectRtp(scriptedRtp(sequence, 0x1111))!);
      bob.send(bob.srtp.protectRtp(scriptedRtp(sequence, 0x2222))!);
    }, 100);
    const swept: Array<{ endpointId: string; reason: string }> = [];
    try {
      await until(() => created.get('bob')!.stats().packetsIn >= 5 && created.get('alice')!.stats().packetsIn >= 5, 'both heard');
      // Twice the inactivity time with media flowing: nobody expires.
      const steadyUntil = Date.now() + 1_600;
      while (Date.now() < steadyUntil) {
        swept.push(...colibri.expireInactive().endpoints);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(swept.length, 0, `an endpoint sending media is not expired: ${JSON.stringify(swept)}`);
      bob.close();
      const silentAt = Date.now();
      while (colibri.endpointCount === 2 && Date.now() - silentAt < 5_000) {
        swept.push(...colibri.expireInactive().endpoints);
        await new Promise((r) => setTimeout(r, 50));
      }
      const after = Date.now() - silentAt;
      assert.deepEqual(swept.map((e) => [e.endpointId, e.reason]), [['bob', 'expired: inactive']], 'bob expired for its silence');
      assert.ok(after >= 700, `not before the inactivity time (${after} ms)`);
      assert.deepEqual(colibri.conferenceList()[0]!.endpointIds(), ['alice']);
      assert.deepEqual({ endpoints: media.sizes.endpoints, ufrags: media.sizes.ufrags, addresses: media.sizes.addresses }, { endpoints: 1, ufrags: 1, addresses: 1 }, 'bob\'s routes freed, alice\'s kept');
      // Alice is still heard after bob's expiry.
      const heard = created.get('alice')!.stats().packetsIn;
      await until(() => created.get('alice')!.stats().packetsIn > heard + 3, 'alice still heard');
      assert.deepEqual(colibri.expireInactive().endpoints, []);
    } finally {
      clearInterval(ticker);
    }
  });

  it('gives two conferences each an endpoint of the same id (ids are unique within a conference only), and closes each alone', async () => {
    start({ neverHeardMs: 60_000, inactivityMs: 60_000, emptyConferenceMs: 60_000 });
    allocate('alice', true);
    colibri.modify({ meetingId: 'm-2', create: true, name: 'other@muc.meet.jitsi', endpoints: [{ id: 'alice', create: true, media: [], capabilities: [] }], relays: [] });
    assert.equal(colibri.endpointCount, 2);
    assert.deepEqual([media.sizes.endpoints, media.sizes.ufrags], [2, 2], 'two endpoints, each with its ufrag');
    colibri.modify({ meetingId: 'm-1', endpoints: [{ id: 'alice', expire: true, media: [], capabilities: [] }], relays: [] });
    assert.equal(colibri.endpointCount, 1);
    assert.deepEqual([media.sizes.endpoints, media.sizes.ufrags], [1, 1], 'the other conference\'s alice stays');
  });

  for (const native of ['off', 'auto'] as const) {
    it(`drops a datagram longer than 4,096 bytes unread (native ${native}), as nothing the bridge speaks is that long`, async () => {
      await media.close();
      media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, native });
      const sender = createSocket('udp4');
      try {
        // Media-looking junk from nobody's address: the mux drops what it reads.
        for (const length of [4_096, 5_000, 65_000]) await new Promise<void>((resolve, reject) => sender.send(Buffer.alloc(length, 0x80), media.port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
        await until(() => media.muxStats.dropped >= 1, 'the 4,096-byte datagram read and dropped');
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(media.muxStats.dropped, 1, 'the longer ones were not handed on');
      } finally {
        sender.close();
      }
    });

    it(`ignores a candidate on port 0 (native ${native}): its ICE checks would have nowhere to go`, async () => {
      await media.close();
      media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, connectTimeoutMs: 300, native });
      start({ neverHeardMs: 60_000, inactivityMs: 60_000, emptyConferenceMs: 60_000 });
      allocate('alice', true);
      colibri.modify({ meetingId: 'm-1', endpoints: [{ id: 'alice', media: [], capabilities: [], transport: { iceUdp: remoteTransport(0) } }], relays: [] });
      // The checks are paced for the connect timeout; the endpoint then fails as one whose checks go unanswered.
      await until(() => colibri.endpointCount === 0, 'alice expired at its connect timeout');
      assert.deepEqual(media.sizes, { endpoints: 0, ufrags: 0, addresses: 0, transactions: 0 });
    });
  }
});

function remoteTransport(port = 9) {
  // Built through the protocol module, as the focus sends it after session-accept.
  return buildIceUdpTransport({
    ufrag: 'nobody', pwd: 'nobodynobodynobodynobody', rtcpMux: true, extensions: [], webSockets: [],
    fingerprints: [{ hash: 'sha-256', value: 'AA:BB', setup: 'active' }],
    candidates: [{ component: 1, foundation: '1', generation: 0, id: 'c', ip: '127.0.0.1', port, priority: 1, protocol: 'udp', type: 'host', network: 0 }],
  });
}
