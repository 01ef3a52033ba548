/**
 * Pure layout decisions of the stage: which streams belong to whom, who is shown large in speaker
 * view, and how many columns the tile grid needs to make its tiles as large as possible.
 */
import type { Participant, RemoteMedia } from '../../conference/model.ts';

export interface ParticipantMedia {
  readonly camera: MediaStream | undefined;
  readonly screen: MediaStream | undefined;
}

export const NO_MEDIA: ParticipantMedia = { camera: undefined, screen: undefined };

/** Video streams by participant id; our own come from the local tracks, not from remoteMedia. */
export function collectMedia(
  remote: readonly RemoteMedia[],
  localId: string | undefined,
  local: ParticipantMedia,
): Map<string, ParticipantMedia> {
  const byId = new Map<string, ParticipantMedia>();
  for (const media of remote) {
    if (media.kind === 'audio' || media.participantId === localId) continue;
    const entry = byId.get(media.participantId) ?? NO_MEDIA;
    byId.set(media.participantId, media.kind === 'camera' ? { ...entry, camera: media.stream } : { ...entry, screen: media.stream });
  }
  if (localId !== undefined) byId.set(localId, local);
  return byId;
}

/**
 * Speaker view's large participant: the one the user pinned, else someone sharing a screen (the
 * last to start, since the list is in join order we take the last sharer), else the dominant
 * speaker, else the first other participant, else ourselves.
 */
export function chooseLarge(
  participants: readonly Participant[],
  pinnedId: string | undefined,
  dominantId: string | undefined,
  media: ReadonlyMap<string, ParticipantMedia>,
): Participant | undefined {
  const byId = (id: string | undefined): Participant | undefined => participants.find((p) => p.id === id);
  const sharers = participants.filter((p) => media.get(p.id)?.screen !== undefined && !p.local);
  return byId(pinnedId)
    ?? sharers[sharers.length - 1]
    ?? (byId(dominantId)?.local ? undefined : byId(dominantId))
    ?? participants.find((p) => !p.local)
    ?? participants[0];
}

/** Columns that make `count` tiles of ratio `aspect` (w/h) the largest inside width × height. */
export function gridColumns(count: number, width: number, height: number, aspect = 16 / 9): number {
  if (count <= 1 || width <= 0 || height <= 0) return 1;
  let best = 1;
  let bestArea = 0;
  for (let cols = 1; cols <= count; cols++) {
    const rows = Math.ceil(count / cols);
    const tileWidth = Math.min(width / cols, (height / rows) * aspect);
    const area = tileWidth * (tileWidth / aspect);
    if (area > bestArea) {
      bestArea = area;
      best = cols;
    }
  }
  return best;
}

/** One or two letters for the avatar: the initials of the first two words of the name. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/u).filter((w) => w.length > 0);
  const letters = words.slice(0, 2).map((w) => [...w][0]?.toUpperCase() ?? '');
  return letters.join('') || '?';
}

/** A stable avatar colour index from the participant id. */
export function avatarHue(id: string, palette: number): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % palette;
}
