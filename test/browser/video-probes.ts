// What the bridge's browser tests read from lib-jitsi-meet pages (getStats, the Jingle session)
// and ask of them (jitsi-meet's receiver constraints), shared by those tests.
import type { Page } from 'playwright-core';

/** The remote video a receiver decodes: the inbound-rtp with the most frames decoded. */
export interface RemoteVideo { frameHeight: number; framesDecoded: number; freezeCount: number; totalFreezesDuration: number; bytesReceived: number }

export async function remoteVideo(page: Page): Promise<RemoteVideo | undefined> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const pc = w.salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    if (!pc) return undefined;
    let best: RemoteVideo | undefined;
    (await pc.getStats()).forEach((r: any) => {
      if (r.type !== 'inbound-rtp' || r.kind !== 'video' || !(r.framesDecoded > 0)) return;
      if (best && best.framesDecoded >= r.framesDecoded) return;
      best = { frameHeight: r.frameHeight ?? 0, framesDecoded: r.framesDecoded, freezeCount: r.freezeCount ?? 0, totalFreezesDuration: r.totalFreezesDuration ?? 0, bytesReceived: r.bytesReceived ?? 0 };
    });
    return best;
  });
}

/** jitsi-meet's receiver constraints for one remote source: on stage (or not) at `maxHeight`, others at 180. */
export async function constrain(page: Page, sourceName: string, maxHeight: number, onStage: boolean): Promise<void> {
  await page.evaluate(({ name, height, stage }) => {
    const w = window as unknown as Record<string, any>;
    w.salonTest.conference.setReceiverConstraints({
      lastN: -1,
      onStageSources: stage ? [name] : [],
      selectedSources: [],
      defaultConstraints: { maxHeight: 180 },
      constraints: { [name]: { maxHeight: height } },
    });
  }, { name: sourceName, height: maxHeight, stage: onStage });
}

/** Polls `probe` every 200 ms until `done` holds or `ms` pass; returns the last value either way. */
export async function pollUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What tells a reload or a new Jingle session apart: a marker the test set on the page, the session id, its ICE state. */
export async function sessionIdentity(page: Page, marker: string): Promise<{ marker: unknown; sid: string | undefined; ice: string | undefined }> {
  return page.evaluate((name) => {
    const w = window as unknown as Record<string, any>;
    const session = w.salonTest.conference?.jvbJingleSession;
    return { marker: w[name], sid: session?.sid, ice: session?.peerconnection?.peerconnection?.iceConnectionState };
  }, marker);
}

export interface VideoOut { ssrc: number; framesEncoded: number; frameHeight: number; packetsSent: number; limitation?: string; scalabilityMode?: string; mimeType?: string }

/** The sender's outgoing video encodings with frames encoded (one outbound-rtp per simulcast SSRC), lowest first. */
export async function videoOut(page: Page): Promise<VideoOut[]> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    // lib-jitsi-meet's connection to the bridge, or the last one Salon's page made (salon-page.ts records them).
    const pc = (w.salonTest?.conference?.jvbJingleSession?.peerconnection?.peerconnection
      ?? (w.__pcs as RTCPeerConnection[] | undefined)?.filter((p) => p.connectionState !== 'closed').at(-1)) as RTCPeerConnection | undefined;
    const out: VideoOut[] = [];
    const stats = (await pc?.getStats()) as (RTCStatsReport & Map<string, any>) | undefined;
    stats?.forEach((r: any) => {
      if (r.type !== 'outbound-rtp' || r.kind !== 'video' || !(r.framesEncoded > 0)) return;
      out.push({
        ssrc: r.ssrc, framesEncoded: r.framesEncoded, frameHeight: r.frameHeight ?? 0, packetsSent: r.packetsSent ?? 0, limitation: r.qualityLimitationReason,
        scalabilityMode: r.scalabilityMode, mimeType: stats.get(r.codecId)?.mimeType,
      });
    });
    return out.sort((x, y) => x.frameHeight - y.frameHeight);
  });
}

/** The codec of the remote video a receiver decodes most of. */
export async function inboundCodec(page: Page): Promise<string | undefined> {
  return page.evaluate(async () => {
    const w = window as unknown as Record<string, any>;
    const pc = w.salonTest.conference?.jvbJingleSession?.peerconnection?.peerconnection as RTCPeerConnection | undefined;
    const stats = (await pc?.getStats()) as (RTCStatsReport & Map<string, any>) | undefined;
    let best: { frames: number; mime?: string } = { frames: 0 };
    stats?.forEach((r: any) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video' && (r.framesDecoded ?? 0) > best.frames) best = { frames: r.framesDecoded, mime: stats.get(r.codecId)?.mimeType };
    });
    return best.mime;
  });
}

/**
 * The endpoint id of the one remote participant of `page` that sends video (its camera's source
 * name is `<id>-v0`), once `page` sees its track; fails after 20 s.
 */
export async function videoSenderId(page: Page): Promise<string> {
  const id = await pollUntil(() => page.evaluate(() => {
    const conference = (window as unknown as Record<string, any>).salonTest.conference;
    return conference.getParticipants().find((p: any) => p.getTracksByMediaType('video').length > 0)?.getId() as string | undefined;
  }), (found) => found !== undefined, 20_000);
  if (id === undefined) throw new Error('no remote participant with a video track within 20 s');
  return id;
}
