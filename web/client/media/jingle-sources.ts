/**
 * Sources between Jingle and the client's model: the remote sources a session-initiate or
 * source-add/source-remove carries (XEP-0339 with Jitsi's names, owners and video types), and our
 * own sources, read from the local answer, as the contents of a session-accept or source-add. Jitsi
 * names a source `<endpoint>-<a|v><index>` (protocol notes §5.3). Pure.
 */
import type { JingleContent } from '../../../xmpp/protocol/jingle.ts';
import type { RtpDescription, RtpSource, SsrcGroup } from '../../../xmpp/protocol/jingle-rtp.ts';
import type { LocalSection, RemoteSource } from './session-description.ts';

/** The owner Jicofo gives the bridge's own feedback sources. */
export const BRIDGE_OWNER = 'jvb';

function msidOf(source: RtpSource): string | undefined {
  return source.parameters.find((p) => p.name === 'msid')?.value;
}

/**
 * The sources of some Jingle contents, one per source name (or per SSRC when unnamed), with the
 * groups whose first SSRC they own. Sources of the bridge are returned too, with owner `jvb`.
 */
export function remoteSourcesOf(contents: readonly JingleContent[]): RemoteSource[] {
  const byKey = new Map<string, RemoteSource>();
  for (const { description } of contents) {
    if (!description || (description.media !== 'audio' && description.media !== 'video')) continue;
    const media = description.media;
    const owned = new Map<number, RemoteSource>();
    for (const rtp of description.sources) {
      const msid = msidOf(rtp);
      const owner = rtp.owner ?? msid?.split(' ')[0] ?? 'unknown';
      // Older clients leave sources unnamed: their SSRCs of one track share an msid (Jitsi then names them `<owner>-a0`…).
      const key = rtp.name ?? (msid ? `${media} ${msid}` : `${media} ${rtp.ssrc}`);
      let source = byKey.get(key);
      if (!source) {
        const index = [...byKey.values()].filter((s) => s.owner === owner && s.media === media).length;
        const name = rtp.name ?? `${owner}-${media[0]}${index}`;
        source = { name, owner, media, ssrcs: [], groups: [], msid, videoType: media === 'video' ? rtp.videoType ?? 'camera' : undefined };
        byKey.set(key, source);
      }
      if (!source.ssrcs.includes(rtp.ssrc)) source.ssrcs.push(rtp.ssrc);
      owned.set(rtp.ssrc, source);
    }
    for (const group of description.ssrcGroups) {
      const source = owned.get(group.ssrcs[0] ?? -1);
      if (source) source.groups.push({ semantics: group.semantics, ssrcs: [...group.ssrcs] });
    }
  }
  for (const source of byKey.values()) orderPrimaryFirst(source);
  return [...byKey.values()];
}

/** Primary SSRC first: the first of a SIM group, else the first of an FID group, else as listed. */
function orderPrimaryFirst(source: RemoteSource): void {
  const primary = source.groups.find((g) => g.semantics === 'SIM')?.ssrcs[0] ?? source.groups.find((g) => g.semantics === 'FID')?.ssrcs[0];
  if (primary === undefined) return;
  source.ssrcs.sort((a, b) => (a === primary ? -1 : b === primary ? 1 : 0));
}

/**
 * What a receiver declares for a source: the primary SSRC and its retransmission SSRC. The bridge
 * forwards one simulcast layer re-stamped onto the primary SSRC, so further layers stay out of the
 * receiving m-section.
 */
export function receivedPart(source: RemoteSource): { ssrcs: number[]; groups: SsrcGroup[] } {
  const primary = source.ssrcs[0];
  if (primary === undefined) return { ssrcs: [], groups: [] };
  const fid = source.groups.find((g) => g.semantics === 'FID' && g.ssrcs[0] === primary);
  return fid ? { ssrcs: [...fid.ssrcs], groups: [fid] } : { ssrcs: [primary], groups: [] };
}

/** One of our own sources, read from the local answer. */
export interface LocalSource {
  name: string;
  media: 'audio' | 'video';
  videoType: 'camera' | 'desktop' | undefined;
  section: LocalSection;
}

/** A description carrying only sources: what a session-accept or source-add needs from us. */
export function localDescription(media: 'audio' | 'video', sources: readonly LocalSource[], base?: RtpDescription): RtpDescription {
  const description: RtpDescription = base
    ? { ...base, sources: [], ssrcGroups: [], extensions: [] }
    : { media, payloadTypes: [], feedback: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: true, sources: [], ssrcGroups: [], extensions: [] };
  for (const source of sources) {
    if (source.media !== media) continue;
    for (const { ssrc, msid } of source.section.ssrcs) {
      const rtp: RtpSource = { ssrc, name: source.name, parameters: msid ? [{ name: 'msid', value: msid }] : [] };
      if (media === 'video' && source.videoType === 'desktop') rtp.videoType = 'desktop';
      description.sources.push(rtp);
    }
    description.ssrcGroups.push(...source.section.groups);
  }
  return description;
}
