/**
 * Source bookkeeping for one conference: which endpoint owns which SSRCs and SSRC groups, the checks a
 * source-add, source-remove or session-accept must pass, and the per-receiver form those changes take
 * in Jingle (XEP-0339 `<source/>`/`<ssrc-group/>`, or Jicofo's compact JSON) and in Colibri2.
 * Rules (protocol notes §5.3, §5.4; jicofo ValidatingConferenceSourceMap, EndpointSourceSet, SourceSignaling,
 * reference.conf as of 2026-08):
 * - an SSRC is 1..2^32-1 and belongs to one endpoint; an MSID belongs to one endpoint;
 * - at most `max-ssrcs-per-user` = 20 SSRCs and `max-ssrc-groups-per-user` = 20 groups per endpoint;
 * - groups name only the endpoint's own SSRCs of the group's media; FID groups have exactly 2 SSRCs;
 *   grouped sources carry an MSID and the SSRCs of one group share it; two separate streams (extended
 *   groups: a SIM group with its FID partners, a lone FID group, a lone SSRC) of one media don't share one;
 * - empty groups and groups signalled again are ignored, not refused;
 * - removing an SSRC removes every group that names it;
 * - receivers get simulcast stripped (`strip-simulcast = true`): only the first SSRC of a SIM group and its
 *   RTX partner, no SIM group.
 * Salon's additions, which Jicofo does not check: SIM groups have at most 3 SSRCs, an endpoint has at most
 * 2 video sources (camera and screen share), and source names start with `<endpoint id>-` (the form
 * lib-jitsi-meet always uses and Jicofo generates, `Source.nameForIdAndMediaType`).
 * Jicofo answers every refusal with bad-request; Salon answers limit and policy refusals with not-acceptable.
 * Pure: no I/O, no clock.
 */
import { StanzaError, type StanzaErrorCondition } from '../xmpp/errors.ts';
import type { Colibri2MediaSource } from '../xmpp/protocol/colibri2.ts';
import type { Jingle, JingleContent, JsonSource, OwnerSources } from '../xmpp/protocol/jingle.ts';
import {
  buildRtpSource, buildSsrcGroup, sourceMsid, type RtpDescription, type RtpMedia, type RtpSource, type SsrcGroupSemantics, type VideoType,
} from '../xmpp/protocol/jingle-rtp.ts';

export type SourceMedia = 'audio' | 'video';

/** One SSRC with what lib-jitsi-meet signals about it (jicofo Source). */
export interface Source {
  ssrc: number;
  media: SourceMedia;
  /** The source (track) name, `<endpoint id>-<a|v><n>`; the SSRCs of one simulcast track share it. */
  name?: string;
  /** Video only. */
  videoType?: VideoType;
  /** `<stream id> <track id>`. */
  msid?: string;
}

/** An `a=ssrc-group` (jicofo SsrcGroup): SIM lists simulcast layers lowest first, FID pairs a stream with its RTX. */
export interface SourceGroup {
  semantics: SsrcGroupSemantics;
  media: SourceMedia;
  ssrcs: readonly number[];
}

/** An endpoint's sources and groups (jicofo EndpointSourceSet), in the order they were signalled. */
export interface SourceSet {
  sources: readonly Source[];
  groups: readonly SourceGroup[];
}

/** A source set with its owner: an endpoint ID, or `jvb` for the bridge's own feedback sources. */
export interface OwnedSources extends SourceSet {
  owner: string;
}

export const EMPTY_SOURCES: SourceSet = Object.freeze({ sources: Object.freeze([]), groups: Object.freeze([]) });

/** Per-endpoint limits. */
export interface SourceLimits {
  /** Jicofo `max-ssrcs-per-user`. Default 20. */
  maxSsrcs: number;
  /** Jicofo `max-ssrc-groups-per-user` (which defaults to max-ssrcs-per-user). Default 20. */
  maxGroups: number;
  /** Distinct video sources (by name): camera plus screen share. Default 2. */
  maxVideoSources: number;
  /** SSRCs in a SIM group (lib-jitsi-meet sends 3 layers). Default 3. */
  maxSimulcastLayers: number;
  /** Whether a source's name must start with `<endpoint id>-`. Default true. */
  requireNamePrefix: boolean;
}

export const DEFAULT_SOURCE_LIMITS: Readonly<SourceLimits> = Object.freeze({
  maxSsrcs: 20,
  maxGroups: 20,
  maxVideoSources: 2,
  maxSimulcastLayers: 3,
  requireNamePrefix: true,
});

/** Why a change was refused; the focus answers the Jingle IQ with the {@link SourceError} carrying it. */
export type SourceRefusal =
  | { reason: 'invalid-ssrc'; ssrc: number }
  /** Owned already, by another endpoint or (a second add) by the same one. */
  | { reason: 'ssrc-in-use'; ssrc: number; owner: string }
  | { reason: 'msid-in-use'; msid: string; owner: string }
  | { reason: 'too-many-ssrcs'; limit: number }
  | { reason: 'too-many-groups'; limit: number }
  | { reason: 'too-many-video-sources'; limit: number }
  | { reason: 'group-unknown-ssrc'; group: SourceGroup; ssrc: number }
  | { reason: 'bad-fid-group'; group: SourceGroup }
  | { reason: 'bad-sim-group'; group: SourceGroup; limit: number }
  | { reason: 'missing-msid'; ssrc: number }
  | { reason: 'group-msid-mismatch'; group: SourceGroup }
  | { reason: 'bad-source-name'; ssrc: number; name: string }
  /** A removal names an SSRC the endpoint does not own (`owner` says who does, if anyone). */
  | { reason: 'unknown-source'; ssrc: number; owner?: string }
  | { reason: 'unknown-group'; group: SourceGroup };

const POLICY: ReadonlySet<SourceRefusal['reason']> = new Set([
  'too-many-ssrcs', 'too-many-groups', 'too-many-video-sources', 'bad-sim-group', 'bad-source-name',
]);

const groupText = (g: SourceGroup) => `${g.semantics}(${g.ssrcs.join(',')})`;

function refusalText(r: SourceRefusal): string {
  switch (r.reason) {
    case 'invalid-ssrc': return `invalid SSRC ${r.ssrc}`;
    case 'ssrc-in-use': return `SSRC ${r.ssrc} is already used by ${r.owner}`;
    case 'msid-in-use': return `MSID '${r.msid}' is already used by ${r.owner}`;
    case 'too-many-ssrcs': return `SSRC limit (${r.limit}) exceeded`;
    case 'too-many-groups': return `ssrc-group limit (${r.limit}) exceeded`;
    case 'too-many-video-sources': return `video source limit (${r.limit}) exceeded`;
    case 'group-unknown-ssrc': return `${groupText(r.group)} names SSRC ${r.ssrc}, which is not one of the endpoint's ${r.group.media} sources`;
    case 'bad-fid-group': return `invalid FID group ${groupText(r.group)}: it needs exactly 2 distinct SSRCs`;
    case 'bad-sim-group': return `invalid SIM group ${groupText(r.group)}: at most ${r.limit} distinct SSRCs`;
    case 'missing-msid': return `grouped source ${r.ssrc} has no msid`;
    case 'group-msid-mismatch': return `${groupText(r.group)} has sources with different MSIDs`;
    case 'bad-source-name': return `source name '${r.name}' of SSRC ${r.ssrc} does not start with the endpoint ID`;
    case 'unknown-source': return `source ${r.ssrc} is not owned by the endpoint`;
    case 'unknown-group': return `group ${groupText(r.group)} does not exist`;
  }
}

/** A refused source change: bad-request for malformed or conflicting sources, not-acceptable for limits and naming policy. */
export class SourceError extends StanzaError {
  constructor(readonly refusal: SourceRefusal) {
    const condition: StanzaErrorCondition = POLICY.has(refusal.reason) ? 'not-acceptable' : 'bad-request';
    super('modify', condition, refusalText(refusal));
    this.name = 'SourceError';
  }
}

const sameSource = (a: Source, b: Source) =>
  a.ssrc === b.ssrc && a.media === b.media && a.name === b.name && a.msid === b.msid && a.videoType === b.videoType;
const sameGroup = (a: SourceGroup, b: SourceGroup) =>
  a.semantics === b.semantics && a.media === b.media && a.ssrcs.length === b.ssrcs.length && a.ssrcs.every((s, i) => s === b.ssrcs[i]);

/** The stream an SSRC belongs to (jicofo groupBySimulcastGroup): its SIM group, else its FID group, else itself. */
function streamKey(ssrc: number, groups: readonly SourceGroup[]): string {
  const sim = (s: number) => groups.find((g) => g.semantics === 'SIM' && g.ssrcs.includes(s));
  const direct = sim(ssrc);
  if (direct) return groupText(direct);
  const fid = groups.find((g) => g.semantics === 'FID' && g.ssrcs.includes(ssrc));
  if (fid) {
    const primary = fid.ssrcs[0];
    const viaPrimary = fid.ssrcs[1] === ssrc && primary !== undefined ? sim(primary) : undefined;
    return groupText(viaPrimary ?? fid);
  }
  return String(ssrc);
}

/**
 * The sources of one conference by endpoint. Every mutation is checked first and applied whole or not at
 * all: a refusal throws a {@link SourceError} and leaves the state as it was.
 */
export class ConferenceSources {
  private readonly byEndpoint = new Map<string, { sources: Source[]; groups: SourceGroup[] }>();
  private readonly ssrcOwners = new Map<number, string>();
  /** The bridge's own SSRCs (jvb-a0, jvb-v0), which every offer carries: no endpoint may announce them. */
  private reserved: ReadonlySet<number> = new Set();
  private readonly limits: Readonly<SourceLimits>;

  /** @param limits overrides of {@link DEFAULT_SOURCE_LIMITS}. */
  constructor(limits: Partial<SourceLimits> = {}) {
    this.limits = { ...DEFAULT_SOURCE_LIMITS, ...limits };
  }

  /** Endpoints that own at least one source or group. */
  endpoints(): string[] {
    return [...this.byEndpoint.keys()];
  }

  get(endpoint: string): SourceSet {
    const entry = this.byEndpoint.get(endpoint);
    return entry ? { sources: [...entry.sources], groups: [...entry.groups] } : EMPTY_SOURCES;
  }

  ownerOf(ssrc: number): string | undefined {
    return this.ssrcOwners.get(ssrc);
  }

  /** Sets the bridge's own SSRCs (its feedback sources), refused to endpoints from now on; none while there is no bridge. */
  reserve(ssrcs: Iterable<number>): void {
    this.reserved = new Set(ssrcs);
  }

  /** Every endpoint's sources, in the order they first signalled some. */
  all(): OwnedSources[] {
    return [...this.byEndpoint.keys()].map((owner) => ({ owner, ...this.get(owner) }));
  }

  /** What an offer to `endpoint` carries: everyone else's sources. */
  others(endpoint: string): OwnedSources[] {
    return this.all().filter((o) => o.owner !== endpoint);
  }

  /**
   * Adds sources and groups (from a session-accept or source-add). Sources signalled twice in one request
   * count once; empty groups and groups already known are dropped (jicofo tryToAdd).
   * @returns what was accepted, to be signalled to the others.
   * @throws SourceError
   */
  add(endpoint: string, change: SourceSet): SourceSet {
    const existing = this.get(endpoint);
    const sources: Source[] = [];
    for (const signalled of change.sources) {
      const { ssrc, media, name, msid } = signalled;
      if (!Number.isInteger(ssrc) || ssrc <= 0 || ssrc > 0xffffffff) throw new SourceError({ reason: 'invalid-ssrc', ssrc });
      const owner = this.ssrcOwners.get(ssrc) ?? (this.reserved.has(ssrc) ? 'jvb' : undefined);
      if (owner !== undefined) throw new SourceError({ reason: 'ssrc-in-use', ssrc, owner });
      const source = compact({ ssrc, media, name, videoType: media === 'video' ? signalled.videoType : undefined, msid });
      const twin = sources.find((s) => s.ssrc === ssrc);
      if (twin && sameSource(twin, source)) continue;
      if (twin) throw new SourceError({ reason: 'ssrc-in-use', ssrc, owner: endpoint });
      const msidOwner = msid === undefined ? undefined : this.msidOwner(msid);
      if (msid !== undefined && msidOwner !== undefined && msidOwner !== endpoint) throw new SourceError({ reason: 'msid-in-use', msid, owner: msidOwner });
      // `<endpoint>-<media letter><index>` (abcd1234-v0), as clients name them: with the bare prefix
      // check, endpoint `ab` could claim `ab-cd-v0`, a name of endpoint `ab-cd`.
      if (this.limits.requireNamePrefix && name !== undefined && !(name.startsWith(`${endpoint}-`) && /^[a-z]+\d+$/.test(name.slice(endpoint.length + 1)))) {
        throw new SourceError({ reason: 'bad-source-name', ssrc, name });
      }
      sources.push(source);
    }
    const { maxSsrcs, maxGroups } = this.limits;
    if (existing.sources.length + sources.length > maxSsrcs) throw new SourceError({ reason: 'too-many-ssrcs', limit: maxSsrcs });
    const groups: SourceGroup[] = [];
    for (const group of change.groups) {
      if (group.ssrcs.length === 0) continue;
      if ([...existing.groups, ...groups].some((g) => sameGroup(g, group))) continue;
      groups.push({ semantics: group.semantics, media: group.media, ssrcs: [...group.ssrcs] });
    }
    if (existing.groups.length + groups.length > maxGroups) throw new SourceError({ reason: 'too-many-groups', limit: maxGroups });
    const result = { sources: [...existing.sources, ...sources], groups: [...existing.groups, ...groups] };
    this.validate(endpoint, result);
    this.store(endpoint, result);
    return { sources, groups };
  }

  /**
   * Removes sources (matched by SSRC alone, as Jicofo does) and groups, plus every group naming a removed SSRC.
   * @returns what was removed, with the sources as they were stored.
   * @throws SourceError
   */
  remove(endpoint: string, change: SourceSet): SourceSet {
    if (change.sources.length === 0 && change.groups.length === 0) return EMPTY_SOURCES;
    const existing = this.get(endpoint);
    const removed: Source[] = [];
    for (const { ssrc } of change.sources) {
      const source = existing.sources.find((s) => s.ssrc === ssrc);
      if (!source) {
        const owner = this.ssrcOwners.get(ssrc);
        throw new SourceError(owner === undefined ? { reason: 'unknown-source', ssrc } : { reason: 'unknown-source', ssrc, owner });
      }
      if (!removed.includes(source)) removed.push(source);
    }
    for (const group of change.groups) {
      if (!existing.groups.some((g) => sameGroup(g, group))) throw new SourceError({ reason: 'unknown-group', group });
    }
    const gone = new Set(removed.map((s) => s.ssrc));
    const removedGroups = existing.groups.filter((g) => change.groups.some((r) => sameGroup(r, g)) || g.ssrcs.some((s) => gone.has(s)));
    const result = { sources: existing.sources.filter((s) => !removed.includes(s)), groups: existing.groups.filter((g) => !removedGroups.includes(g)) };
    this.validate(endpoint, result);
    this.store(endpoint, result);
    return { sources: removed, groups: removedGroups };
  }

  /** Forgets an endpoint (it left). @returns its sources, to be removed from the others. */
  removeEndpoint(endpoint: string): SourceSet {
    const removed = this.get(endpoint);
    this.store(endpoint, EMPTY_SOURCES);
    return removed;
  }

  private msidOwner(msid: string): string | undefined {
    for (const [owner, set] of this.byEndpoint) if (set.sources.some((s) => s.msid === msid)) return owner;
    return undefined;
  }

  private store(endpoint: string, set: SourceSet): void {
    for (const source of this.byEndpoint.get(endpoint)?.sources ?? []) this.ssrcOwners.delete(source.ssrc);
    if (set.sources.length === 0 && set.groups.length === 0) {
      this.byEndpoint.delete(endpoint);
      return;
    }
    this.byEndpoint.set(endpoint, { sources: [...set.sources], groups: [...set.groups] });
    for (const source of set.sources) this.ssrcOwners.set(source.ssrc, endpoint);
  }

  /** The checks on an endpoint's whole resulting set (jicofo validateEndpointSourceSet, plus Salon's limits). */
  private validate(endpoint: string, set: SourceSet): void {
    for (const group of set.groups) {
      const distinct = new Set(group.ssrcs).size === group.ssrcs.length;
      if (group.semantics === 'FID' && (group.ssrcs.length !== 2 || !distinct)) throw new SourceError({ reason: 'bad-fid-group', group });
      if (group.semantics === 'SIM' && (group.ssrcs.length > this.limits.maxSimulcastLayers || !distinct)) {
        throw new SourceError({ reason: 'bad-sim-group', group, limit: this.limits.maxSimulcastLayers });
      }
      let msid: string | undefined;
      for (const ssrc of group.ssrcs) {
        const source = set.sources.find((s) => s.ssrc === ssrc && s.media === group.media);
        if (!source) throw new SourceError({ reason: 'group-unknown-ssrc', group, ssrc });
        if (source.msid === undefined) throw new SourceError({ reason: 'missing-msid', ssrc });
        msid ??= source.msid;
        if (source.msid !== msid) throw new SourceError({ reason: 'group-msid-mismatch', group });
      }
    }
    // One MSID per stream and media; audio and video may share one.
    for (const media of ['audio', 'video'] as const) {
      const msidByStream = new Map<string, string>();
      for (const source of set.sources) {
        if (source.media !== media || source.msid === undefined) continue;
        const key = streamKey(source.ssrc, set.groups.filter((g) => g.media === media));
        if (!msidByStream.has(key)) msidByStream.set(key, source.msid);
      }
      const msids = [...msidByStream.values()];
      const repeated = msids.find((msid, i) => msids.indexOf(msid) !== i);
      if (repeated !== undefined) throw new SourceError({ reason: 'msid-in-use', msid: repeated, owner: endpoint });
    }
    // A source name is one media's: the bridge is given each name's SSRCs as one Colibri2
    // media-source of that media (toColibri2Sources), so video named like an audio source would
    // be forwarded as audio, around last-N, constraints and force-mute of video.
    const mediaOfName = new Map<string, SourceMedia>();
    for (const source of set.sources) {
      const name = source.name ?? `${endpoint}-${source.media[0]}0`;
      const media = mediaOfName.get(name);
      if (media !== undefined && media !== source.media) throw new SourceError({ reason: 'bad-source-name', ssrc: source.ssrc, name });
      mediaOfName.set(name, source.media);
    }
    const video = set.sources.filter((s) => s.media === 'video');
    const { maxVideoSources } = this.limits;
    if (new Set(video.map((s) => s.name ?? streamKey(s.ssrc, set.groups))).size > maxVideoSources) {
      throw new SourceError({ reason: 'too-many-video-sources', limit: maxVideoSources });
    }
  }
}

/** Drops keys whose value is undefined, so a stored source compares equal to the one signalled. */
function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

/**
 * What receivers are told of a simulcast sender (jicofo EndpointSourceSet.stripSimulcast): the first SSRC
 * of each SIM group and its FID partner; the other layers, their RTX and the SIM group go.
 */
export function stripSimulcast(set: SourceSet): SourceSet {
  const dropped = new Set<number>();
  const droppedGroups = new Set<SourceGroup>();
  for (const group of set.groups) {
    if (group.semantics !== 'SIM') continue;
    droppedGroups.add(group);
    group.ssrcs.slice(1).forEach((s) => dropped.add(s));
  }
  for (const group of set.groups) {
    const [primary, rtx] = group.ssrcs;
    if (group.semantics !== 'FID' || primary === undefined || !dropped.has(primary)) continue;
    droppedGroups.add(group);
    if (rtx !== undefined) dropped.add(rtx);
  }
  return { sources: set.sources.filter((s) => !dropped.has(s.ssrc)), groups: set.groups.filter((g) => !droppedGroups.has(g)) };
}

/** How one receiver wants sources signalled (jicofo SourceSignaling and JingleSession.encodeSourcesAsJson). */
export interface ReceiverOptions {
  /** It advertised `http://jitsi.org/json-encoded-sources`: sources go in one `<json-message/>`. */
  jsonSources: boolean;
  /** Media types it receives; sources of the others are not signalled. Default: both. */
  audio?: boolean;
  video?: boolean;
  /** Jicofo `strip-simulcast`. Default true. */
  stripSimulcast?: boolean;
}

/** The sources as one receiver sees them: owners without any left are dropped. */
export function forReceiver(sources: readonly OwnedSources[], receiver: ReceiverOptions): OwnedSources[] {
  const keep = (media: SourceMedia) => (media === 'audio' ? receiver.audio : receiver.video) ?? true;
  return sources.flatMap((owned) => {
    let set: SourceSet = { sources: owned.sources.filter((s) => keep(s.media)), groups: owned.groups.filter((g) => keep(g.media)) };
    if (receiver.stripSimulcast ?? true) set = stripSimulcast(set);
    return set.sources.length === 0 && set.groups.length === 0 ? [] : [{ owner: owned.owner, ...set }];
  });
}

/** One Jingle source change for one receiver. */
export interface SourceUpdate {
  action: 'source-add' | 'source-remove';
  sources: OwnedSources;
}

/**
 * What a receiver must be told when `owner`'s sources go from `before` to `after`: the difference of what it
 * saw and what it should now see, removals first (jicofo SourceSignaling.update). Diffing the receiver's
 * views, not the raw change, keeps stripped simulcast layers out of both directions.
 */
export function sourceUpdates(owner: string, before: SourceSet, after: SourceSet, receiver: ReceiverOptions): SourceUpdate[] {
  const view = (set: SourceSet): SourceSet => forReceiver([{ owner, ...set }], receiver)[0] ?? EMPTY_SOURCES;
  const old = view(before);
  const now = view(after);
  const minus = (a: SourceSet, b: SourceSet): SourceSet => ({
    sources: a.sources.filter((s) => !b.sources.some((t) => sameSource(s, t))),
    groups: a.groups.filter((g) => !b.groups.some((h) => sameGroup(g, h))),
  });
  const updates: SourceUpdate[] = [];
  const removed = minus(old, now);
  if (removed.sources.length > 0 || removed.groups.length > 0) updates.push({ action: 'source-remove', sources: { owner, ...removed } });
  const added = minus(now, old);
  if (added.sources.length > 0 || added.groups.length > 0) updates.push({ action: 'source-add', sources: { owner, ...added } });
  return updates;
}

function toRtpSource(source: Source, owner: string | undefined): RtpSource {
  const parameters = source.msid === undefined ? [] : [{ name: 'msid', value: source.msid }];
  return compact({ ssrc: source.ssrc, name: source.name, videoType: source.videoType, parameters, owner });
}

/** An RTP description without codecs, for sources only (jicofo getOrCreateRtpDescription) or the data channel. */
export function emptyDescription(media: RtpMedia): RtpDescription {
  return { media, payloadTypes: [], feedback: [], headerExtensions: [], extmapAllowMixed: false, rtcpMux: false, sources: [], ssrcGroups: [], extensions: [] };
}

/**
 * Appends the sources, each with `<ssrc-info owner=…/>` (owner = endpoint ID, as Jicofo writes it), and
 * groups to the descriptions of the matching media, in owner order.
 */
export function addSourcesToDescriptions(descriptions: readonly RtpDescription[], sources: readonly OwnedSources[]): void {
  for (const owned of sources) {
    for (const source of owned.sources) descriptions.find((d) => d.media === source.media)?.sources.push(toRtpSource(source, owned.owner));
    for (const group of owned.groups) {
      descriptions.find((d) => d.media === group.media)?.ssrcGroups.push({ semantics: group.semantics, ssrcs: [...group.ssrcs] });
    }
  }
}

/** The XML form: one content per media (`audio`, then `video`), without creator as Jicofo sends them. */
export function toJingleContents(sources: readonly OwnedSources[]): JingleContent[] {
  const descriptions = (['audio', 'video'] as const).map(emptyDescription);
  addSourcesToDescriptions(descriptions, sources);
  return descriptions
    .filter((d) => d.sources.length > 0 || d.ssrcGroups.length > 0)
    .map((description) => ({ name: description.media, description, extensions: [] }));
}

/** The compact JSON form (jicofo ConferenceSourceMap.compactJson): camera is implied, only desktop is marked. */
export function toJsonSources(sources: readonly OwnedSources[]): OwnerSources[] {
  const json = (s: Source): JsonSource =>
    compact({ ssrc: s.ssrc, name: s.name, msid: s.msid, videoType: s.videoType === 'desktop' ? ('desktop' as const) : undefined });
  const of = (owned: OwnedSources, media: SourceMedia) => ({
    sources: owned.sources.filter((s) => s.media === media).map(json),
    groups: owned.groups.filter((g) => g.media === media).map((g) => ({ semantics: g.semantics, ssrcs: [...g.ssrcs] })),
  });
  return sources.map((owned) => {
    const video = of(owned, 'video');
    const audio = of(owned, 'audio');
    return { owner: owned.owner, video: video.sources, videoGroups: video.groups, audio: audio.sources, audioGroups: audio.groups };
  });
}

/**
 * The `<jingle action="source-add|source-remove"/>` for one receiver's session (no initiator, as Jicofo
 * sends it). The sources must already be the receiver's view (see {@link forReceiver}, {@link sourceUpdates}).
 */
export function buildSourceChange(action: SourceUpdate['action'], sid: string, sources: readonly OwnedSources[], receiver: Pick<ReceiverOptions, 'jsonSources'>): Jingle {
  const jingle: Jingle = { action, sid, contents: [], groups: [], extensions: [] };
  if (receiver.jsonSources) jingle.sources = toJsonSources(sources);
  else jingle.contents = toJingleContents(sources);
  return jingle;
}

/**
 * The sources and groups in Jingle contents (jicofo EndpointSourceSet.fromJingle), the media taken from
 * each RTP description; contents without one (the data channel) carry none. `<ssrc-info/>` owners are
 * ignored: the focus knows who sent them.
 */
export function sourcesFromContents(contents: readonly JingleContent[]): SourceSet {
  const sources: Source[] = [];
  const groups: SourceGroup[] = [];
  for (const { description } of contents) {
    if (!description || description.media === 'application') continue;
    const media = description.media;
    for (const rtp of description.sources) {
      const videoType = media === 'video' ? rtp.videoType : undefined;
      sources.push(compact({ ssrc: rtp.ssrc, media, name: rtp.name, videoType, msid: sourceMsid(rtp) }));
    }
    for (const group of description.ssrcGroups) groups.push({ semantics: group.semantics, media, ssrcs: [...group.ssrcs] });
  }
  return { sources, groups };
}

/**
 * An endpoint's complete source set as Colibri2 `<media-source/>`s (jicofo toColibriMediaSources): one per
 * source name (an unnamed source is `<endpoint>-a0`/`-v0`), sources without msid or owner, each group with
 * the source its first SSRC belongs to.
 */
export function toColibri2Sources(endpoint: string, set: SourceSet): Colibri2MediaSource[] {
  const byName = new Map<string, Colibri2MediaSource>();
  const entry = (name: string | undefined, media: SourceMedia) => {
    const id = name ?? `${endpoint}-${media[0]}0`;
    let ms = byName.get(id);
    if (!ms) byName.set(id, (ms = { type: media, id, sources: [], ssrcGroups: [] }));
    return ms;
  };
  for (const source of set.sources) {
    entry(source.name, source.media).sources.push(buildRtpSource(toRtpSource({ ...source, msid: undefined }, undefined)));
  }
  for (const group of set.groups) {
    const first = set.sources.find((s) => group.ssrcs.includes(s.ssrc));
    entry(first?.name, group.media).ssrcGroups.push(buildSsrcGroup({ semantics: group.semantics, ssrcs: [...group.ssrcs] }));
  }
  return [...byName.values()];
}
