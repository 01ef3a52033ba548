/**
 * The bridge's figures for /metrics (names prefixed `salon_bridge_`, in the spirit of JVB's
 * `jitsi_jvb_` metrics). Every value is read from BridgeStats when Prometheus scrapes: nothing is
 * incremented per packet.
 *
 * The forwarding delay is a summary without quantiles (`_sum` in seconds and `_count` packets):
 * `rate(_sum[1m]) / rate(_count[1m])` gives the mean delay over any window Prometheus chooses and
 * adds up across bridges, which an average gauge over our 5 s sampling interval would not. The
 * largest delay is a gauge beside it (per live conference since it started), because a maximum
 * cannot be rebuilt from sums.
 */
import { Counter, Gauge, Histogram, Summary, type MetricType, type Registry } from 'prom-client';
import type { MediaSocketCounters, WireDelays } from './native/index.ts';
import { type BridgeSnapshot, type BridgeStats, type BridgeTotals } from './stats.ts';

/**
 * A summary whose sum and count are totals kept elsewhere. prom-client's Summary only takes
 * observations one by one, so `get` reports the totals itself, in the shape its Summary reports.
 */
class TotalsSummary extends Summary {
  readonly #read: () => { sum: number; count: number };
  readonly #name: string;
  readonly #help: string;

  constructor(name: string, help: string, registry: Registry, read: () => { sum: number; count: number }) {
    super({ name, help, percentiles: [], registers: [registry] });
    this.#name = name;
    this.#help = help;
    this.#read = read;
  }

  override async get(): ReturnType<Summary['get']> {
    const { sum, count } = this.#read();
    return {
      name: this.#name,
      help: this.#help,
      // prom-client's typings declare a numeric enum here; its registry prints the string.
      type: 'summary' as unknown as MetricType,
      aggregator: 'sum',
      collect: () => undefined,
      values: [
        { labels: {}, metricName: `${this.#name}_sum`, value: sum },
        { labels: {}, metricName: `${this.#name}_count`, value: count },
      ],
    };
  }
}

const COUNTERS: Array<[name: string, help: string, key: keyof BridgeTotals]> = [
  ['salon_bridge_conferences_created_total', 'Conferences created on the bridge', 'conferencesCreated'],
  ['salon_bridge_conferences_completed_total', 'Conferences ended on the bridge', 'conferencesCompleted'],
  ['salon_bridge_endpoints_created_total', 'Endpoints created on the bridge', 'endpointsCreated'],
  ['salon_bridge_packets_received_total', 'SRTP and SRTCP packets received and authenticated', 'packetsReceived'],
  ['salon_bridge_packets_sent_total', 'SRTP and SRTCP packets sent', 'packetsSent'],
  ['salon_bridge_bytes_received_total', 'Wire bytes of the packets received and authenticated', 'bytesReceived'],
  ['salon_bridge_bytes_sent_total', 'Wire bytes of the packets sent', 'bytesSent'],
  ['salon_bridge_rtp_packets_forwarded_total', 'RTP packet copies forwarded to receivers', 'rtpPacketsForwarded'],
  ['salon_bridge_rtp_packets_expected_total', 'RTP packets expected from senders (RFC 3550 A.3)', 'rtpPacketsExpected'],
  ['salon_bridge_rtp_packets_lost_total', 'RTP packets lost on the way from senders (RFC 3550 A.3)', 'rtpPacketsLost'],
  ['salon_bridge_srtp_auth_failures_total', 'Packets dropped because SRTP or SRTCP authentication failed', 'srtpAuthFailures'],
  ['salon_bridge_retransmissions_from_cache_total', 'Packets receivers NACKed that the bridge sent again from its packet cache', 'retransmissionsFromCache'],
  ['salon_bridge_retransmissions_requested_total', 'Packets receivers NACKed that were not in the bridge\'s cache (asked of their senders unless just asked)', 'retransmissionsRequested'],
  ['salon_bridge_own_retransmission_requests_total', 'Packets missing from senders that the bridge NACKed itself', 'ownRetransmissionRequests'],
  ['salon_bridge_tail_loss_probes_total', 'Requests the bridge made of senders for the next packet of a video stream gone silent within a frame, or a frame late', 'tailLossProbes'],
  ['salon_bridge_frame_ends_repeated_total', 'Last packets of video frames sent a second time to receivers losing packets without congestion', 'frameEndsRepeated'],
  ['salon_bridge_bandwidth_holds_total', 'Times a receiver\'s simulcast layer stopped until the keyframe of the lower one its bandwidth estimate moved it to, its path not carrying the layer', 'bandwidthHolds'],
  ['salon_bridge_bandwidth_suspensions_total', 'Times a receiver\'s bandwidth estimate no longer carried even the lowest layer of a video source, which it then stopped being sent (and was told so by ForwardedSources)', 'bandwidthSuspensions'],
  ['salon_bridge_probing_bytes_total', 'Bytes of packet copies sent to receivers to probe their bandwidth', 'probingBytes'],
  ['salon_bridge_srtp_replays_total', 'Packets dropped as SRTP or SRTCP replays', 'srtpReplays'],
];

/** Upper bounds (seconds) of the wire-delay histogram's buckets. */
export const WIRE_DELAY_BUCKETS = [0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1];

/**
 * A histogram read from the media socket's own fine one (50 µs buckets, kept in the addon) when
 * Prometheus scrapes: prom-client's Histogram only takes observations one by one.
 */
class WireDelayHistogram extends Histogram {
  readonly #read: () => WireDelays | undefined;
  readonly #name: string;
  readonly #help: string;

  constructor(name: string, help: string, registry: Registry, read: () => WireDelays | undefined) {
    super({ name, help, buckets: WIRE_DELAY_BUCKETS, registers: [registry] });
    this.#name = name;
    this.#help = help;
    this.#read = read;
  }

  override async get(): ReturnType<Histogram['get']> {
    return this.getForPromString();
  }

  /** What the registry prints (prom-client asks a histogram for this rather than get()). */
  async getForPromString(): ReturnType<Histogram['get']> {
    const delays = this.#read();
    const values: Array<{ labels: { le?: number | string }; metricName: string; value: number }> = [];
    let count = 0;
    let fine = 0;
    for (const le of WIRE_DELAY_BUCKETS) {
      // Fine bucket i spans [i, i + 1) × bucketMs: it is under `le` when its upper end is.
      const end = delays ? Math.min(delays.counts.length - 1, Math.round((le * 1000) / delays.bucketMs)) : 0;
      for (; delays && fine < end; fine++) count += delays.counts[fine]!;
      values.push({ labels: { le }, metricName: `${this.#name}_bucket`, value: count });
    }
    for (; delays && fine < delays.counts.length; fine++) count += delays.counts[fine]!;
    values.push({ labels: { le: '+Inf' }, metricName: `${this.#name}_bucket`, value: count });
    values.push({ labels: {}, metricName: `${this.#name}_sum`, value: (delays?.sumMs ?? 0) / 1000 });
    values.push({ labels: {}, metricName: `${this.#name}_count`, value: count });
    // prom-client's typings declare a numeric enum for the type; its registry prints the string.
    return { name: this.#name, help: this.#help, type: 'histogram' as unknown as MetricType, aggregator: 'sum', values } as Awaited<ReturnType<Histogram['get']>>;
  }
}

/** What the media transport's own socket tells (MediaTransport; undefined on the TypeScript path). */
export interface MediaSocketFigures {
  wireDelays(): WireDelays | undefined;
  readDelays(): WireDelays | undefined;
  responseDelays(): WireDelays | undefined;
  socketCounters(): MediaSocketCounters | undefined;
}

/**
 * Registers the bridge metrics on `registry`; each scrape reads `stats` once per metric, and the
 * media socket's figures (the native path) when given.
 */
export function registerBridgeMetrics(registry: Registry, stats: BridgeStats, media?: MediaSocketFigures, reducer?: { readonly cameraMaxHeight: number | undefined }): void {
  const gauge = (name: string, help: string, value: (s: BridgeSnapshot) => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(value(stats.snapshot())); } });
  };
  gauge('salon_bridge_conferences', 'Conferences on the bridge', (s) => s.conferences);
  gauge('salon_bridge_endpoints', 'Endpoints on the bridge', (s) => s.endpoints);
  gauge('salon_bridge_largest_conference', 'Endpoints of the largest conference', (s) => s.largestConference);
  gauge('salon_bridge_stress', 'Load from 0 (idle) to 1 (full; over 1: overloaded), as announced to the focus', (s) => stats.stress(s.endpoints));
  new Gauge({
    name: 'salon_bridge_event_loop_utilization', help: 'Busy share of the event loop, which forwards every packet, over the last sampling interval (0 to 1)', registers: [registry],
    collect() { this.set(stats.utilization); },
  });
  if (reducer) {
    new Gauge({
      name: 'salon_bridge_camera_max_height', help: 'Height camera video is capped at while the bridge is overloaded; 0: no cap', registers: [registry],
      collect() { this.set(reducer.cameraMaxHeight ?? 0); },
    });
  }
  gauge('salon_bridge_forwarding_delay_max_seconds', 'Largest forwarding delay of the live conferences, each since it started', (s) => s.forwardingDelayNsMax / 1e9);
  for (const [name, help, key] of COUNTERS) {
    new Counter({
      name, help, registers: [registry],
      collect() {
        // The totals are cumulative already: the counter shows them rather than counting itself.
        this.reset();
        this.inc(stats.snapshot().totals[key]);
      },
    });
  }
  if (media) {
    new WireDelayHistogram(
      'salon_bridge_wire_delay_seconds',
      'Time from the kernel receiving an RTP packet to its copies leaving the media socket (native media path: forwarded copies)',
      registry, () => media.wireDelays(),
    );
    new WireDelayHistogram(
      'salon_bridge_response_delay_seconds',
      'Time from the kernel receiving RTCP to the RTP or RTCP the bridge sent in answer leaving the media socket (native media path: retransmissions for a NACK, probing, translated sender reports; and RTCP sent while RTP was handled)',
      registry, () => media.responseDelays(),
    );
    new WireDelayHistogram(
      'salon_bridge_read_delay_seconds',
      'Time from the kernel receiving a datagram (of any kind) to the bridge reading it from the media socket (native media path): the wait for the event loop, busy with earlier datagrams or timers',
      registry, () => media.readDelays(),
    );
    const socketCounter = (name: string, help: string, value: (counters: MediaSocketCounters) => number | undefined): void => {
      new Counter({
        name, help, registers: [registry],
        collect() {
          this.reset();
          const counters = media.socketCounters();
          this.inc((counters && value(counters)) ?? 0);
        },
      });
    };
    socketCounter('salon_bridge_media_socket_truncated_total', 'Datagrams dropped by the media socket for being longer than its 4 096-byte receive slots', (c) => c.truncated);
    socketCounter('salon_bridge_media_socket_errors_total', 'Errors reading the media socket (it goes on reading)', (c) => c.errors);
    socketCounter('salon_bridge_media_socket_unprotected_total', 'SRTP datagrams the media socket unprotected as it read them (replay check, authentication, decryption), whatever the outcome', (c) => c.unprotected);
    socketCounter('salon_bridge_media_socket_batch_datagrams_total', 'Datagrams the media socket sent in batches (sendmmsg): forwarded RTP and retransmissions', (c) => c.sent?.datagrams);
    socketCounter('salon_bridge_media_socket_batch_messages_total', 'Messages those batches were sent in: a UDP GSO message carries several datagrams of one length to one peer', (c) => c.sent?.messages);
    socketCounter('salon_bridge_media_socket_batch_segmented_total', 'Datagrams of those batches sent as segments of a UDP GSO message', (c) => c.sent?.segmented);
    socketCounter('salon_bridge_media_socket_batch_refused_total', 'UDP GSO messages the kernel refused (a path MTU below the segment, IPsec, an unreachable peer); their datagrams went one by one', (c) => c.sent?.refused);
  }
  new TotalsSummary('salon_bridge_forwarding_delay_seconds', 'Time from a packet reaching its conference to its last copy handed to the socket', registry, () => {
    const { totals } = stats.snapshot();
    return { sum: totals.forwardingDelayNsTotal / 1e9, count: totals.forwardingDelaySamples };
  });
}
