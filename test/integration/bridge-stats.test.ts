/**
 * The bridge's statistics as operators scrape them: JVB's `/colibri/stats` JSON and the
 * `salon_bridge_*` Prometheus metrics, moved by a real Colibri2 allocation from the focus account,
 * and served to local scrapers only.
 */
import assert from 'node:assert/strict';
import { LOAD_THRESHOLD, type BridgeStats } from '../../bridge/stats.ts';
import { parseConferenceModified } from '../../xmpp/protocol/colibri2.ts';
import { connectClient, startTestServer, stopClient, xml, type TestServer } from './harness.ts';

describe('bridge statistics (/colibri/stats and /metrics)', function () {
  this.timeout(30_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  async function colibriStats(): Promise<Record<string, unknown>> {
    const res = await fetch(`${server.httpOrigin}/colibri/stats`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    return await res.json() as Record<string, unknown>;
  }

  /**
   * Sampling intervals in a row in which the event loop (the one thread every packet is forwarded
   * on) is kept busy throughout. The sampling timer is stopped first, so that the figures stay those
   * of the last interval while the test reads them.
   */
  async function busyIntervals(stats: BridgeStats, count = 1): Promise<void> {
    stats.close();
    // An idle interval first: what came before (a server starting) does not count.
    await new Promise((resolve) => setTimeout(resolve, 200));
    stats.sample();
    for (let i = 0; i < count; i++) {
      const until = performance.now() + 300;
      while (performance.now() < until) Math.sqrt(until);
      stats.sample();
    }
  }

  async function metric(name: string): Promise<number> {
    const text = await (await fetch(`${server.httpOrigin}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  }

  it('counts a conference and its endpoints allocated through Colibri2, and keeps the totals once it is expired', async () => {
    const before = await colibriStats();
    assert.equal(before.conferences, 0);
    assert.equal(before.participants, 0);
    assert.equal(before.version, '0.1.0');
    assert.match(String(before.current_timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    assert.equal(before.drain, false);
    const created = Number(before.total_conferences_created);

    const focus = await connectClient({ service: server.wsUrl, domain: 'auth.meet.jitsi', username: 'focus', password: server.salon.secrets.focusPassword, resource: 'stats-test' });
    try {
      const bridge = server.salon.bridge!.jid;
      const modify = (attrs: Record<string, string>, ...endpoints: ReturnType<typeof xml>[]) =>
        focus.client.iqCaller.request(xml('iq', { type: 'set', to: bridge }, xml('conference-modify', { xmlns: 'jitsi:colibri2', 'meeting-id': 'stats-meeting', ...attrs }, ...endpoints)));
      const answer = await modify({ create: 'true', name: 'stats@muc.meet.jitsi' },
        xml('endpoint', { id: 'aaaa1111', create: 'true' }, xml('transport', { 'ice-controlling': 'true' })),
        xml('endpoint', { id: 'bbbb2222', create: 'true' }, xml('transport', { 'ice-controlling': 'true' })));
      assert.equal(parseConferenceModified(answer.getChild('conference-modified', 'jitsi:colibri2')!).endpoints.length, 2);

      const during = await colibriStats();
      assert.equal(during.conferences, 1);
      assert.equal(during.participants, 2);
      assert.equal(during.largest_conference, 2);
      assert.equal(during.total_conferences_created, created + 1);
      assert.ok(Number(during.stress_level) >= 0.004, 'the brewery figure: at least 2 of 500 endpoints (more if the event loop was busy)');
      assert.equal(await metric('salon_bridge_conferences'), 1);
      assert.equal(await metric('salon_bridge_endpoints'), 2);
      assert.equal(await metric('salon_bridge_endpoints_created_total'), Number(during.total_participants));

      await modify({ expire: 'true' });
      const after = await colibriStats();
      assert.equal(after.conferences, 0);
      assert.equal(after.participants, 0);
      assert.equal(after.total_conferences_created, created + 1);
      assert.equal(after.total_conferences_completed, Number(before.total_conferences_completed) + 1);
      assert.equal(await metric('salon_bridge_conferences'), 0);
      assert.equal(await metric('salon_bridge_conferences_completed_total'), after.total_conferences_completed);
      for (const name of ['salon_bridge_packets_received_total', 'salon_bridge_bytes_sent_total', 'salon_bridge_rtp_packets_lost_total', 'salon_bridge_srtp_auth_failures_total', 'salon_bridge_forwarding_delay_seconds_count']) {
        assert.ok(Number.isFinite(await metric(name)), `${name} is exposed`);
      }
    } finally {
      await stopClient(focus.client);
    }
  });

  it('announces an event loop kept busy as stress over 1, in /colibri/stats and /metrics', async () => {
    const stats = server.salon.bridgeStats!;
    await busyIntervals(stats);
    assert.ok(stats.utilization > 0.9, `busy share ${stats.utilization}`);
    const doc = await colibriStats();
    assert.ok(Number(doc.event_loop_utilization) > 0.9);
    assert.ok(Number(doc.stress_level) > 0.9 / LOAD_THRESHOLD, 'overloaded');
    assert.ok(await metric('salon_bridge_event_loop_utilization') > 0.9);
    assert.ok(await metric('salon_bridge_stress') > 0.9 / LOAD_THRESHOLD);
  });

  it('caps camera video while the event loop stays busy, when the load reducer is on (SALON_BRIDGE_LOAD_REDUCER)', async () => {
    assert.equal(await metric('salon_bridge_camera_max_height'), NaN, 'the test servers run without it');
    const reducing = await startTestServer({ SALON_BRIDGE_LOAD_REDUCER: 'true' });
    try {
      const text = async () => (await fetch(`${reducing.httpOrigin}/metrics`)).text();
      assert.match(await text(), /^salon_bridge_camera_max_height 0$/m, 'no cap at first');
      await busyIntervals(reducing.salon.bridgeStats!);
      assert.match(await text(), /^salon_bridge_camera_max_height 0$/m, 'one busy interval is not an overload');
      await busyIntervals(reducing.salon.bridgeStats!, 2);
      assert.match(await text(), /^salon_bridge_camera_max_height 360$/m, 'two in a row are');
      assert.equal(reducing.salon.bridge!.colibri.cameraMaxHeightCap, 360, 'the conferences are capped');
      await new Promise((resolve) => setTimeout(resolve, 300));
      reducing.salon.bridgeStats!.sample();
      assert.ok(reducing.salon.bridgeStats!.utilization < 0.5, 'an idle interval next');
      assert.match(await text(), /^salon_bridge_camera_max_height 360$/m, 'still capped: lifting waits for a minute of low load');
      assert.match(await text(), /^salon_bridge_stress 0\.8$/m, 'a bridge holding video down announces itself full, whatever its load');
    } finally {
      await reducing.close();
    }
  });

  it('serves the statistics to local scrapers only, not through a proxy', async () => {
    const proxied = await fetch(`${server.httpOrigin}/colibri/stats`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(proxied.status, 403);
    assert.doesNotMatch(await proxied.text(), /conferences/);
  });
});
