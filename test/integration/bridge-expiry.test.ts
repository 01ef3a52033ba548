/**
 * The bridge's own expiry with real endpoints on a real UDP socket (bridge/colibri.ts
 * expireInactive, as jitsi-videobridge's VideobridgeExpireThread): an endpoint whose client never
 * shows up, or whose transport failed, is removed on the next sweep with everything it held on the
 * shared port, and its conference goes once empty.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { pino } from 'pino';
import { ColibriService } from '../../bridge/colibri.ts';
import { MediaTransport } from '../../bridge/transport/index.ts';
import { buildIceUdpTransport } from '../../xmpp/protocol/jingle-ice.ts';
import { until } from './channel-client.ts';

const log = pino({ level: 'silent' });

describe('bridge expiry of endpoints on the media transport', function () {
  this.timeout(20_000);
  let media: MediaTransport;
  let colibri: ColibriService;

  beforeEach(async () => {
    media = await MediaTransport.start({ host: '127.0.0.1', port: 0, advertiseIps: [], log, connectTimeoutMs: 300 });
  });
  afterEach(async () => {
    colibri?.close('test over');
    await media.close();
  });

  function start(expiry: { neverHeardMs: number; inactivityMs: number; emptyConferenceMs: number }): void {
    colibri = new ColibriService({
      log,
      createEndpoint: (id, endpointLog) => media.createEndpoint(id, endpointLog),
      webSocketUrl: () => 'ws://127.0.0.1/colibri-ws/x',
      refusingNewConferences: () => false,
      expiry: { ...expiry, checkIntervalMs: 50 },
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
