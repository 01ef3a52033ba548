import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { ConferenceMediaStats } from '../../../bridge/conference.ts';
import type { EndpointStats } from '../../../bridge/endpoint.ts';
import { BridgeStats, LOAD_THRESHOLD, stressLevel, type StatsConference, type StatsEndpoint } from '../../../bridge/stats.ts';
import { registerBridgeMetrics } from '../../../bridge/stats-metrics.ts';
import type { WireDelays } from '../../../bridge/native/index.ts';

class FakeEndpoint implements StatsEndpoint {
  state = 'connected';
  readonly counters: EndpointStats = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, authFailures: 0, replays: 0, malformed: 0, droppedOut: 0 };
  stats(): EndpointStats {
    return { ...this.counters };
  }
  /** Receives `n` packets of `bytes` and sends `m` of `bytes`. */
  traffic(n: number, m: number, bytes = 100): void {
    this.counters.packetsIn += n;
    this.counters.bytesIn += n * bytes;
    this.counters.packetsOut += m;
    this.counters.bytesOut += m * bytes;
  }
}

class FakeConference implements StatsConference {
  readonly members = new Map<string, FakeEndpoint>();
  readonly media: ConferenceMediaStats = {
    rtpPacketsReceived: 0, rtpBytesReceived: 0, rtpPacketsForwarded: 0, rtpBytesForwarded: 0,
    packetsExpected: 0, packetsLost: 0, forwardingDelayNsTotal: 0, forwardingDelayNsMax: 0, forwardingDelaySamples: 0,
    retransmissionsFromCache: 0, retransmissionsRequested: 0, probingBytes: 0, ownRetransmissionRequests: 0, frameEndsRepeated: 0, bandwidthHolds: 0, bandwidthSuspensions: 0, tailLossProbes: 0,
  };
  get endpointCount(): number {
    return this.members.size;
  }
  endpointIds(): string[] {
    return [...this.members.keys()];
  }
  endpoint(id: string): FakeEndpoint | undefined {
    return this.members.get(id);
  }
  mediaStats(): ConferenceMediaStats {
    return { ...this.media };
  }
  add(id: string, endpoint = new FakeEndpoint()): FakeEndpoint {
    this.members.set(id, endpoint);
    return endpoint;
  }
  /** As BridgeConference.close: every endpoint closed and removed. */
  close(): void {
    for (const endpoint of this.members.values()) endpoint.state = 'closed';
    this.members.clear();
  }
}

/** A bridge of fake conferences, a manual monotonic clock and a captured sampling timer. */
function rig(options: { epochMs?: number; draining?: boolean } = {}) {
  const live: FakeConference[] = [];
  let now = 1000;
  let tick: (() => void) | undefined;
  let intervalMs = 0;
  let stopped = 0;
  const stats = new BridgeStats({
    conferences: () => live,
    version: '0.1.0',
    now: () => now,
    epochMs: () => options.epochMs ?? Date.UTC(2026, 0, 2, 3, 4, 5, 67),
    ...(options.draining !== undefined ? { draining: () => options.draining! } : {}),
    every: (ms, fn) => {
      intervalMs = ms;
      tick = fn;
      return () => stopped++;
    },
    // A loop that is never measured busy: the stress level is the endpoints'.
    eventLoopUtilization: () => ({ active: 0, idle: 0, utilization: 0 }),
  });
  return {
    stats,
    live,
    get intervalMs() { return intervalMs; },
    get stopped() { return stopped; },
    /** Advances the clock and runs the sampling timer once. */
    advance(ms: number): void {
      now += ms;
      tick!();
    },
    open(): FakeConference {
      const conference = new FakeConference();
      live.push(conference);
      return conference;
    },
    end(conference: FakeConference): void {
      conference.close();
      live.splice(live.indexOf(conference), 1);
    },
  };
}

describe('bridge/stats BridgeStats', () => {
  it('counts the live conferences and endpoints and the largest conference', () => {
    const r = rig();
    r.open().add('a');
    const big = r.open();
    big.add('b');
    big.add('c');
    big.add('d');
    const s = r.stats.snapshot();
    assert.deepEqual([s.conferences, s.endpoints, s.largestConference], [2, 4, 3]);
    assert.deepEqual([s.totals.conferencesCreated, s.totals.endpointsCreated, s.totals.conferencesCompleted], [2, 4, 0]);
  });

  it('keeps a closed conference and its endpoints in the totals, and never counts them twice', () => {
    const r = rig();
    const first = r.open();
    first.add('a').traffic(10, 20);
    first.add('b').traffic(5, 0);
    Object.assign(first.media, { rtpPacketsReceived: 15, rtpPacketsForwarded: 15, packetsExpected: 16, packetsLost: 1, forwardingDelayNsTotal: 30_000, forwardingDelaySamples: 15 });
    const before = r.stats.snapshot().totals;
    assert.equal(before.packetsReceived, 15);
    assert.equal(before.bytesSent, 2000);

    r.end(first);
    const after = r.stats.snapshot();
    assert.equal(after.conferences, 0);
    assert.equal(after.endpoints, 0);
    assert.deepEqual({ ...after.totals, conferencesCompleted: 0 }, { ...before, conferencesCompleted: 0 });
    assert.equal(after.totals.conferencesCompleted, 1);

    const second = r.open();
    second.add('c').traffic(1, 1);
    second.media.packetsExpected = 4;
    const later = r.stats.snapshot().totals;
    assert.equal(later.packetsReceived, 16);
    assert.equal(later.rtpPacketsExpected, 20);
    assert.equal(later.rtpPacketsLost, 1);
    assert.equal(later.conferencesCreated, 2);
    assert.equal(later.endpointsCreated, 3);
    assert.equal(r.stats.snapshot().totals.packetsReceived, 16, 'a second read adds nothing');
  });

  it('counts an endpoint watched at creation that closes before any read', () => {
    const r = rig();
    const conference = r.open();
    const endpoint = r.stats.watchEndpoint(new FakeEndpoint());
    conference.add('short', endpoint);
    endpoint.traffic(7, 3);
    r.end(conference);
    const { totals } = r.stats.snapshot();
    assert.equal(totals.endpointsCreated, 1);
    assert.equal(totals.conferencesCreated, 1, 'its conference was seen when the endpoint was made');
    assert.equal(totals.conferencesCompleted, 1);
    assert.equal(totals.packetsReceived, 7);
    assert.equal(totals.packetsSent, 3);
  });

  it('does not count again an endpoint closed while still listed in its conference', () => {
    const r = rig();
    const conference = r.open();
    const endpoint = conference.add('a');
    endpoint.traffic(4, 0);
    r.stats.snapshot();
    endpoint.state = 'closed';
    assert.equal(r.stats.snapshot().totals.packetsReceived, 4);
    assert.equal(r.stats.snapshot().totals.endpointsCreated, 1);
  });

  it('reports each total at its high-water mark when RFC 3550 loss shrinks (duplicates)', () => {
    const r = rig();
    const conference = r.open();
    Object.assign(conference.media, { packetsExpected: 100, packetsLost: 5 });
    assert.equal(r.stats.snapshot().totals.rtpPacketsLost, 5);
    conference.media.packetsLost = 3;
    assert.equal(r.stats.snapshot().totals.rtpPacketsLost, 5);
    conference.media.packetsLost = 8;
    assert.equal(r.stats.snapshot().totals.rtpPacketsLost, 8);
  });

  it('computes rates over the interval between two samples, taken every 5 s by its own timer', () => {
    const r = rig();
    assert.equal(r.intervalMs, 5000);
    const conference = r.open();
    const a = conference.add('a');
    assert.deepEqual(r.stats.rates, { packetRateDownload: 0, packetRateUpload: 0, bitRateDownloadKbps: 0, bitRateUploadKbps: 0, lossRateDownload: 0, forwardingDelayMsAverage: 0 });

    r.advance(5000); // a sample with nothing sent yet
    a.traffic(1000, 2000, 125); // 1000 packets of 1000 bits in, 2000 out
    Object.assign(conference.media, { packetsExpected: 1000, packetsLost: 50, forwardingDelayNsTotal: 2_000_000_000, forwardingDelaySamples: 1000, forwardingDelayNsMax: 9_000_000 });
    assert.equal(r.stats.rates.packetRateDownload, 0, 'a read between samples does not change the rates');
    r.advance(5000);
    assert.deepEqual(r.stats.rates, {
      packetRateDownload: 200, packetRateUpload: 400, bitRateDownloadKbps: 200, bitRateUploadKbps: 400,
      lossRateDownload: 0.05, forwardingDelayMsAverage: 2,
    });

    // The conference ends: its traffic stays in the totals and is not a burst in the next interval.
    r.end(conference);
    r.advance(5000);
    assert.equal(r.stats.rates.packetRateDownload, 0);
    assert.equal(r.stats.rates.lossRateDownload, 0);
  });

  it('stops its timer on close, once', () => {
    const r = rig();
    r.stats.close();
    r.stats.close();
    assert.equal(r.stopped, 1);
  });

  it('writes /colibri/stats with JVB names and timestamp format', () => {
    const r = rig({ epochMs: Date.UTC(2026, 0, 2, 3, 4, 5, 67), draining: true });
    const conference = r.open();
    conference.add('a').traffic(10, 10);
    conference.add('b');
    conference.media.forwardingDelayNsMax = 1_234_567;
    const doc = r.stats.colibriStats();
    assert.equal(doc.current_timestamp, '2026-01-02 03:04:05.067');
    assert.equal(doc.version, '0.1.0');
    assert.equal('region' in doc, false, 'no region unless one is set');
    assert.equal(doc.conferences, 1);
    assert.equal(doc.participants, 2);
    assert.equal(doc.largest_conference, 2);
    assert.equal(doc.total_conferences_created, 1);
    assert.equal(doc.total_packets_received, 10);
    assert.equal(doc.total_bytes_sent, 1000);
    assert.equal(doc.stress_level, 0.004);
    assert.equal(doc.drain, true);
    assert.equal(doc.graceful_shutdown, false);
    assert.equal(doc.forwarding_delay_ms_max, 1.235);
    for (const key of ['packet_rate_download', 'packet_rate_upload', 'bit_rate_download', 'bit_rate_upload', 'loss_rate_download', 'rtp_loss', 'total_conferences_completed', 'total_packets_sent', 'total_bytes_received', 'forwarding_delay_ms_avg']) {
      assert.equal(typeof doc[key], 'number', key);
    }
  });

  it('calls 500 endpoints, or an event loop busy LOAD_THRESHOLD of the time, full load, and does not cap an overload', () => {
    assert.equal(stressLevel(0), 0);
    assert.equal(stressLevel(250), 0.5);
    assert.equal(stressLevel(900), 1.8);
    assert.equal(stressLevel(10, LOAD_THRESHOLD / 2), 0.5, 'the busy share, when it is the larger');
    assert.equal(stressLevel(250, 0.075), 0.5, 'the endpoints, when they are');
    assert.equal(stressLevel(0, 1), 1 / LOAD_THRESHOLD);
  });

  it('takes the event loop\'s busy share over each sampling interval into the stress level', () => {
    const loop = { active: 0, idle: 0 };
    const live: FakeConference[] = [];
    let tick: (() => void) | undefined;
    const stats = new BridgeStats({
      conferences: () => live,
      version: '0.1.0',
      every: (_ms, fn) => {
        tick = fn;
        return () => undefined;
      },
      eventLoopUtilization: () => ({ ...loop, utilization: 0 }),
    });
    assert.equal(stats.utilization, 0, 'nothing measured before the first interval ends');
    loop.active += 1500;
    loop.idle += 3500;
    tick!();
    assert.equal(stats.utilization, 0.3);
    assert.equal(stats.stress(0), 0.3 / LOAD_THRESHOLD);
    assert.equal(stats.colibriStats().stress_level, Number((0.3 / LOAD_THRESHOLD).toFixed(3)));
    assert.equal(stats.colibriStats().event_loop_utilization, 0.3);
    loop.active += 4900;
    loop.idle += 100;
    tick!();
    assert.equal(stats.utilization, 0.98, 'only the last interval counts');
    assert.ok(stats.stress(0) > 1, 'overloaded');
    tick!();
    assert.equal(stats.utilization, 0.98, 'an interval with no loop time at all (a stalled clock) keeps the last figure');
  });

  it('announces at least the floor it is given (a bridge holding video down is full)', () => {
    let floor = 0.8;
    const stats = new BridgeStats({
      conferences: () => [],
      version: '0.1.0',
      every: () => () => undefined,
      eventLoopUtilization: () => ({ active: 0, idle: 0, utilization: 0 }),
      stressFloor: () => floor,
    });
    assert.equal(stats.stress(0), 0.8);
    assert.equal(stats.stress(1000), 2, 'more load is announced as it is');
    floor = 0;
    assert.equal(stats.stress(100), 0.2);
  });
});

describe('bridge/stats-metrics registerBridgeMetrics', () => {
  it('exposes the totals as counters, the delay as a summary, read at scrape time', async () => {
    const r = rig();
    const registry = new Registry();
    registerBridgeMetrics(registry, r.stats);
    const conference = r.open();
    const a = conference.add('a');
    a.traffic(3, 4);
    a.counters.authFailures = 2;
    Object.assign(conference.media, { packetsLost: 1, forwardingDelayNsTotal: 1_500_000, forwardingDelaySamples: 3, bandwidthHolds: 2 });
    const text = await registry.metrics();
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    assert.equal(value('salon_bridge_conferences'), 1);
    assert.equal(value('salon_bridge_endpoints'), 1);
    assert.equal(value('salon_bridge_packets_received_total'), 3);
    assert.equal(value('salon_bridge_packets_sent_total'), 4);
    assert.equal(value('salon_bridge_bytes_received_total'), 300);
    assert.equal(value('salon_bridge_srtp_auth_failures_total'), 2);
    assert.equal(value('salon_bridge_rtp_packets_lost_total'), 1);
    assert.equal(value('salon_bridge_bandwidth_holds_total'), 2);
    assert.match(text, /^# TYPE salon_bridge_packets_received_total counter$/m);
    assert.match(text, /^# TYPE salon_bridge_forwarding_delay_seconds summary$/m);
    assert.equal(value('salon_bridge_forwarding_delay_seconds_sum'), 0.0015);
    assert.equal(value('salon_bridge_forwarding_delay_seconds_count'), 3);

    r.end(conference);
    const after = await registry.metrics();
    assert.equal(Number(/^salon_bridge_packets_received_total (\S+)$/m.exec(after)?.[1]), 3, 'the counter survives the conference');
    assert.equal(Number(/^salon_bridge_conferences_completed_total (\S+)$/m.exec(after)?.[1]), 1);
  });
});

describe('bridge/stats-metrics: the wire delay histogram', () => {
  it('sums the media socket’s 50 µs buckets into its Prometheus buckets at scrape time, beside its counters', async () => {
    const r = rig();
    const registry = new Registry();
    const counts = new Float64Array(2000);
    counts[0] = 4; // [0, 0.05) ms
    counts[4] = 1; // [0.2, 0.25) ms: under le=0.00025
    counts[5] = 2; // [0.25, 0.3) ms: under le=0.0005
    counts[79] = 3; // [3.95, 4) ms: under le=0.004
    counts[1999] = 1; // 99.95 ms and later: +Inf only
    let delays: WireDelays | undefined = { bucketMs: 0.05, counts, sumMs: 130 };
    const readCounts = new Float64Array(2000);
    readCounts[30] = 6; // [1.5, 1.55) ms: under le=0.002
    const responseCounts = new Float64Array(2000);
    responseCounts[200] = 2; // [10, 10.05) ms: under le=0.02
    registerBridgeMetrics(registry, r.stats, {
      wireDelays: () => delays,
      readDelays: () => ({ bucketMs: 0.05, counts: readCounts, sumMs: 9.1 }),
      responseDelays: () => ({ bucketMs: 0.05, counts: responseCounts, sumMs: 24.2 }),
      socketCounters: () => ({ datagrams: 9, truncated: 2, errors: 1, lastError: 105, unprotected: 7, sent: { datagrams: 40, messages: 12, segmented: 31, refused: 2 } }),
    });
    const bucket = (text: string, le: string): number => Number(new RegExp(`^salon_bridge_wire_delay_seconds_bucket\\{le="${le.replace('+', '\\+')}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    let text = await registry.metrics();
    assert.match(text, /^# TYPE salon_bridge_wire_delay_seconds histogram$/m);
    assert.equal(bucket(text, '0.00025'), 5);
    assert.equal(bucket(text, '0.0005'), 7);
    assert.equal(bucket(text, '0.003'), 7);
    assert.equal(bucket(text, '0.004'), 10);
    assert.equal(bucket(text, '0.1'), 10);
    assert.equal(bucket(text, '+Inf'), 11);
    assert.equal(Number(/^salon_bridge_wire_delay_seconds_count (\S+)$/m.exec(text)?.[1]), 11);
    assert.equal(Number(/^salon_bridge_wire_delay_seconds_sum (\S+)$/m.exec(text)?.[1]), 0.13);

    // The part before the read, in a histogram of its own.
    assert.match(text, /^# TYPE salon_bridge_read_delay_seconds histogram$/m);
    assert.equal(Number(/^salon_bridge_read_delay_seconds_bucket\{le="0.001"\} (\S+)$/m.exec(text)?.[1]), 0);
    assert.equal(Number(/^salon_bridge_read_delay_seconds_bucket\{le="0.002"\} (\S+)$/m.exec(text)?.[1]), 6);
    assert.equal(Number(/^salon_bridge_read_delay_seconds_sum (\S+)$/m.exec(text)?.[1]), 0.0091);
    assert.equal(Number(/^salon_bridge_read_delay_seconds_count (\S+)$/m.exec(text)?.[1]), 6, 'the wire delay is not mixed with it');

    // What the bridge sent in answer to RTCP, apart from the forwarding.
    assert.match(text, /^# TYPE salon_bridge_response_delay_seconds histogram$/m);
    assert.equal(Number(/^salon_bridge_response_delay_seconds_bucket\{le="0.01"\} (\S+)$/m.exec(text)?.[1]), 0);
    assert.equal(Number(/^salon_bridge_response_delay_seconds_bucket\{le="0.02"\} (\S+)$/m.exec(text)?.[1]), 2);
    assert.equal(Number(/^salon_bridge_response_delay_seconds_sum (\S+)$/m.exec(text)?.[1]), 0.0242);
    assert.equal(Number(/^salon_bridge_response_delay_seconds_bucket\{le="\+Inf"\} (\S+)$/m.exec(text)?.[1]), 2);
    assert.equal(Number(/^salon_bridge_response_delay_seconds_count (\S+)$/m.exec(text)?.[1]), 2, 'apart from the wire delay\'s 11');

    assert.equal(Number(/^salon_bridge_media_socket_truncated_total (\S+)$/m.exec(text)?.[1]), 2);
    assert.equal(Number(/^salon_bridge_media_socket_errors_total (\S+)$/m.exec(text)?.[1]), 1);
    assert.equal(Number(/^salon_bridge_media_socket_unprotected_total (\S+)$/m.exec(text)?.[1]), 7);
    // What the batches sent, and how much of it as UDP GSO segments.
    assert.equal(Number(/^salon_bridge_media_socket_batch_datagrams_total (\S+)$/m.exec(text)?.[1]), 40);
    assert.equal(Number(/^salon_bridge_media_socket_batch_messages_total (\S+)$/m.exec(text)?.[1]), 12);
    assert.equal(Number(/^salon_bridge_media_socket_batch_segmented_total (\S+)$/m.exec(text)?.[1]), 31);
    assert.equal(Number(/^salon_bridge_media_socket_batch_refused_total (\S+)$/m.exec(text)?.[1]), 2);

    counts[0] = 10;
    text = await registry.metrics();
    assert.equal(bucket(text, '0.00025'), 11, 'read again at each scrape');
    delays = undefined;
    text = await registry.metrics();
    assert.equal(bucket(text, '+Inf'), 0, 'no media socket (TypeScript path): empty');
  });
});
