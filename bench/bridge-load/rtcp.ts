// The RTCP a synthetic participant sends, as Chrome's does on a Jitsi call, so that the bridge does
// for the generator the feedback work it does for browsers:
// - transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) about every
//   packet received with a transport-wide sequence number, every 100 ms (libwebrtc's default
//   feedback interval), built by the bridge's own recorder (bridge/rtp/transport-cc.ts);
// - per received SSRC a receiver report (RFC 3550 §6.4.2) with SDES CNAME, every second for video
//   and every 5 s for audio (libwebrtc's RTCP report intervals), each receive stream its own;
// - per sent SSRC a sender report (§6.4.1) with SDES CNAME at the same intervals.
// Each participant's schedules start at its own phase, so that reports do not all leave together.
// What it does not send: NACKs and keyframe requests (the bridge loses nothing on loopback; a gap
// is counted as loss by ReceiveStats instead), REMB (transport-cc is negotiated).

import { RtpHeader, readTransportSequence } from '../../bridge/rtp/packet.ts';
import {
  RtcpWalker, buildReceiverReports, buildSdesCname, buildSenderReport, type ReportBlock,
} from '../../bridge/rtp/rtcp.ts';
import { TransportCcRecorder } from '../../bridge/rtp/transport-cc.ts';
import { OPUS_PT, VIDEO_CLOCK, VP8_PT, type ExtensionIds, type RtpStream } from './media.ts';

export const FEEDBACK_INTERVAL_MS = 100;
export const VIDEO_REPORT_INTERVAL_MS = 1000;
export const AUDIO_REPORT_INTERVAL_MS = 5000;
/** Seconds from 1900 (NTP's epoch) to 1970. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** The NTP timestamp (RFC 3550 §4) of wall-clock instant `epochMs`. */
export function ntpTime(epochMs: number): { seconds: number; fraction: number } {
  const whole = Math.floor(epochMs / 1000);
  return { seconds: (whole + NTP_UNIX_OFFSET_S) >>> 0, fraction: Math.floor(((epochMs - whole * 1000) / 1000) * 0x1_0000_0000) >>> 0 };
}

/** What RFC 3550 §6.4.1 and Appendix A.3/A.8 keep per received SSRC. */
class ReceivedStream {
  /** Extended highest sequence number, and the first. */
  highest = -1;
  base = 0;
  received = 0;
  expectedPrior = 0;
  receivedPrior = 0;
  /** Interarrival jitter in timestamp units (A.8), and the previous packet's transit. */
  jitter = 0;
  #transit = NaN;
  /** Middle 32 bits of the NTP timestamp of the last SR about it, and when it came (ms); 0: none. */
  lastSr = 0;
  lastSrAt = 0;
  nextReportAt: number;

  constructor(readonly ssrc: number, readonly video: boolean, now: number, phase: number) {
    this.nextReportAt = now + phase * (video ? VIDEO_REPORT_INTERVAL_MS : AUDIO_REPORT_INTERVAL_MS);
  }

  add(sequence: number, timestamp: number, nowMs: number): void {
    if (this.highest < 0) {
      this.highest = this.base = sequence;
    } else {
      const diff = ((sequence - (this.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      if (diff > 0) this.highest += diff;
      else if (this.highest + diff < this.base) this.base = this.highest + diff;
    }
    this.received++;
    const transit = (nowMs * (this.video ? VIDEO_CLOCK : 48_000)) / 1000 - timestamp;
    if (!Number.isNaN(this.#transit)) {
      // A.8, with the wrap of the 32-bit timestamp taken out of the difference.
      let d = Math.abs(transit - this.#transit);
      if (d > 0x8000_0000) d = Math.abs(d - 0x1_0000_0000);
      this.jitter += (d - this.jitter) / 16;
    }
    this.#transit = transit;
  }

  /** This interval's report block (A.3), and the interval closed. */
  block(nowMs: number): ReportBlock {
    const expected = this.highest - this.base + 1;
    const lost = expected - this.received;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval << 8) / expectedInterval),
      cumulativeLost: Math.max(-0x80_0000, Math.min(0x7f_ffff, lost)),
      highestSequence: this.highest >>> 0,
      jitter: Math.floor(this.jitter) >>> 0,
      lastSr: this.lastSr,
      delaySinceLastSr: this.lastSr === 0 ? 0 : Math.floor(((nowMs - this.lastSrAt) * 65536) / 1000) >>> 0,
    };
  }
}

/** A stream the participant sends, for its sender reports. */
interface SentStream {
  rtp: RtpStream;
  video: boolean;
  nextReportAt: number;
}

export interface ParticipantRtcpOptions {
  /** SSRC of the RTCP it sends as a receiver (receive-only reports, transport-cc feedback). */
  localSsrc: number;
  cname: string;
  /** The negotiated extension ids (the transport-cc one read from received packets). */
  extensionIds: ExtensionIds;
  /** Where the schedules start within their interval, 0–1. */
  phase: number;
  /** Protects and sends one compound RTCP packet. */
  send: (compound: Buffer) => void;
}

export interface RtcpCounters {
  feedback: number;
  senderReports: number;
  receiverReports: number;
  /** SRs from the bridge about a stream received (its translation of the sender's). */
  senderReportsIn: number;
}

/** The RTCP of one participant's transport. */
export class ParticipantRtcp {
  readonly counters: RtcpCounters = { feedback: 0, senderReports: 0, receiverReports: 0, senderReportsIn: 0 };
  readonly #o: ParticipantRtcpOptions;
  readonly #transportCc = new TransportCcRecorder();
  readonly #received = new Map<number, ReceivedStream>();
  readonly #sent = new Map<number, SentStream>();
  readonly #header = new RtpHeader();
  readonly #walker = new RtcpWalker();
  #lastMediaSsrc = 0;
  #nextFeedbackAt = -1;

  constructor(options: ParticipantRtcpOptions) {
    this.#o = options;
  }

  /** A stream this participant sends from now on (its first sender report after a full interval's phase). */
  sending(rtp: RtpStream, video: boolean, nowMs: number): void {
    if (this.#sent.has(rtp.ssrc)) return;
    const interval = video ? VIDEO_REPORT_INTERVAL_MS : AUDIO_REPORT_INTERVAL_MS;
    this.#sent.set(rtp.ssrc, { rtp, video, nextReportAt: nowMs + this.#o.phase * interval });
  }

  /**
   * One SRTP (or RTP) packet received, as it came: its header and extensions are in the clear
   * (RFC 3711 §3.1). The padding count octet of an SRTP packet is encrypted, so a 'bad-padding'
   * verdict still leaves the header read.
   */
  rtpReceived(packet: Buffer, nowMs: number): void {
    const header = this.#header;
    const verdict = header.parse(packet);
    if (verdict !== 'ok' && verdict !== 'bad-padding') return;
    const id = this.#o.extensionIds.transportCc;
    if (id !== undefined) {
      const sequence = readTransportSequence(header, id);
      if (sequence >= 0) {
        this.#transportCc.record(sequence, Math.round(nowMs * 1000));
        this.#lastMediaSsrc = header.ssrc;
        if (this.#nextFeedbackAt < 0) this.#nextFeedbackAt = nowMs + this.#o.phase * FEEDBACK_INTERVAL_MS;
      }
    }
    const pt = header.payloadType;
    if (pt !== VP8_PT && pt !== OPUS_PT) return; // RTX and probes: reported as their own streams by no one here
    let stream = this.#received.get(header.ssrc);
    if (!stream) this.#received.set(header.ssrc, (stream = new ReceivedStream(header.ssrc, pt === VP8_PT, nowMs, this.#o.phase)));
    stream.add(header.sequenceNumber, header.timestamp, nowMs);
  }

  /** A decrypted compound from the bridge: SRs are noted for the LSR/DLSR of later reports. */
  rtcpReceived(compound: Buffer, nowMs: number): void {
    const walker = this.#walker;
    walker.reset(compound);
    while (walker.next() === 'ok') {
      if (walker.kind !== 'sr') continue;
      const stream = this.#received.get(walker.senderSsrc);
      if (!stream) continue;
      stream.lastSr = (((walker.ntpSeconds & 0xffff) << 16) | (walker.ntpFraction >>> 16)) >>> 0;
      stream.lastSrAt = nowMs;
      this.counters.senderReportsIn++;
    }
  }

  /** Sends what is due at `nowMs` (performance.now); `epochMs` is the same instant on the wall clock, for NTP times. */
  tick(nowMs: number, epochMs: number): void {
    if (this.#nextFeedbackAt >= 0 && nowMs >= this.#nextFeedbackAt) {
      this.#nextFeedbackAt += FEEDBACK_INTERVAL_MS * Math.max(1, Math.ceil((nowMs - this.#nextFeedbackAt) / FEEDBACK_INTERVAL_MS));
      for (const packet of this.#transportCc.takeFeedback(this.#o.localSsrc, this.#lastMediaSsrc, Math.round(nowMs * 1000))) {
        this.#o.send(packet);
        this.counters.feedback++;
      }
    }
    for (const stream of this.#received.values()) {
      if (nowMs < stream.nextReportAt) continue;
      stream.nextReportAt = nowMs + (stream.video ? VIDEO_REPORT_INTERVAL_MS : AUDIO_REPORT_INTERVAL_MS);
      this.#o.send(Buffer.concat([buildReceiverReports(this.#o.localSsrc, [stream.block(nowMs)]), buildSdesCname(this.#o.localSsrc, this.#o.cname)]));
      this.counters.receiverReports++;
    }
    for (const stream of this.#sent.values()) {
      if (nowMs < stream.nextReportAt) continue;
      stream.nextReportAt = nowMs + (stream.video ? VIDEO_REPORT_INTERVAL_MS : AUDIO_REPORT_INTERVAL_MS);
      // A layer the sender stopped (SenderSourceConstraints) reports nothing until it is back.
      if (stream.rtp.lastSentAt < 0 || nowMs - stream.rtp.lastSentAt > 2 * VIDEO_REPORT_INTERVAL_MS) continue;
      const rtpTimestamp = stream.rtp.timestampAt(nowMs);
      if (rtpTimestamp === undefined) continue;
      const ntp = ntpTime(epochMs);
      this.#o.send(buildSenderReport(stream.rtp.ssrc, {
        ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp, packetCount: stream.rtp.packets >>> 0, octetCount: stream.rtp.octets >>> 0,
      }, [], this.#o.cname));
      this.counters.senderReports++;
    }
  }
}
