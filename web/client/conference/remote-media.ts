/**
 * The media the views show for other participants: each received track (a remote source in its
 * m-section) with its owner, as a camera, screen or microphone stream. A stream object is kept for as
 * long as its track is received, so `<video>` elements are not reset on every change.
 */
import type { ReceivedTrack } from '../media/jingle-peer.ts';
import type { RemoteMedia } from './model.ts';

export interface OwnerPresence {
  /** The occupant shares a screen per its presence (lib-jitsi-meet: `<videoType>desktop` on its camera source). */
  readonly screenSharing: boolean;
}

export class RemoteMediaView {
  private readonly streams = new Map<string, MediaStream>();

  /** The media of `received` whose owners are in the room. */
  update(received: readonly ReceivedTrack[], occupants: ReadonlyMap<string, OwnerPresence>): RemoteMedia[] {
    const media: RemoteMedia[] = [];
    const live = new Set<string>();
    for (const { source, track } of received) {
      const occupant = occupants.get(source.owner);
      if (!occupant) continue;
      const key = `${source.name}/${track.id}`;
      live.add(key);
      let stream = this.streams.get(key);
      if (!stream) this.streams.set(key, (stream = new MediaStream([track])));
      // lib-jitsi-meet shares a screen on its camera source (no second source) and says so in presence.
      const sharesOnCamera = source.name.endsWith('-v0') && occupant.screenSharing
        && !received.some((r) => r.source.owner === source.owner && r.source.videoType === 'desktop');
      const kind = source.media === 'audio' ? 'audio' : source.videoType === 'desktop' || sharesOnCamera ? 'screen' : 'camera';
      media.push({ participantId: source.owner, kind, stream });
    }
    for (const key of [...this.streams.keys()]) if (!live.has(key)) this.streams.delete(key);
    return media;
  }
}
