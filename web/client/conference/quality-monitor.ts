/**
 * Our connection quality from RTCPeerConnection.getStats() every two seconds: round-trip time of the
 * selected candidate pair and the loss the bridge reports on what we send (remote-inbound-rtp), or
 * on what we receive when we send nothing. The score (0–100) is what lib-jitsi-meet puts in its
 * EndpointStats `connectionQuality`, so jitsi-meet shows ours the same way.
 */
import type { ConnectionQuality } from './model.ts';

const INTERVAL_MS = 2000;

export function qualityFromScore(score: number): ConnectionQuality {
  if (!Number.isFinite(score)) return 'unknown';
  return score >= 70 ? 'good' : score >= 30 ? 'fair' : 'poor';
}

/** 100 for a clean path, less with loss (each percent costs 4) and round-trip time above 150 ms. */
export function scoreOf(lossPercent: number, rttMs: number): number {
  const lossPenalty = Math.min(100, Math.max(0, lossPercent) * 4);
  const rttPenalty = Math.min(60, Math.max(0, rttMs - 150) / 10);
  return Math.round(Math.max(0, 100 - lossPenalty - rttPenalty));
}

export class QualityMonitor {
  private timer: ReturnType<typeof setInterval> | undefined;
  private previous = { lost: 0, received: 0 };

  constructor(private readonly report: (quality: ConnectionQuality, score: number) => void) {}

  start(pc: RTCPeerConnection): void {
    this.stop();
    this.previous = { lost: 0, received: 0 };
    this.timer = setInterval(() => {
      this.sample(pc).catch((err: unknown) => console.debug('getStats failed', err));
    }, INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sample(pc: RTCPeerConnection): Promise<void> {
    if (pc.connectionState !== 'connected') return;
    const stats = await pc.getStats();
    let rttMs = 0;
    let fractionLost: number | undefined;
    let lost = 0;
    let received = 0;
    stats.forEach((s: Record<string, unknown>) => {
      if (s.type === 'candidate-pair' && s.nominated && typeof s.currentRoundTripTime === 'number') rttMs = s.currentRoundTripTime * 1000;
      if (s.type === 'remote-inbound-rtp' && typeof s.fractionLost === 'number') fractionLost = Math.max(fractionLost ?? 0, s.fractionLost);
      if (s.type === 'inbound-rtp') {
        lost += typeof s.packetsLost === 'number' ? s.packetsLost : 0;
        received += typeof s.packetsReceived === 'number' ? s.packetsReceived : 0;
      }
    });
    const dLost = lost - this.previous.lost;
    const dReceived = received - this.previous.received;
    this.previous = { lost, received };
    const lossPercent = fractionLost !== undefined ? fractionLost * 100 : dLost + dReceived > 0 ? (100 * dLost) / (dLost + dReceived) : 0;
    const score = scoreOf(lossPercent, rttMs);
    this.report(qualityFromScore(score), score);
  }
}
