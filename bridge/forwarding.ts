/**
 * Which sources each receiver of a conference gets, and what each video sender is asked to send
 * (protocol notes §7.2 and §8.4; jitsi-videobridge's AllocationSettings, Prioritize and
 * BandwidthAllocator for the ranking). Pure: the conference feeds it the receivers' requests,
 * the sources in join order and the speaker history, and applies the plan it returns.
 *
 * Per receiver, video sources are ranked: on-stage, then selected, then those of the dominant and
 * recent speakers, then the rest in join order; screen shares come before cameras within each of
 * these tiers. The first `lastN` (-1: all) are kept, and of those the ones whose effective maxHeight
 * is 0 are dropped. Bandwidth is not considered yet. Each receiver's heights (and frame rates)
 * choose the simulcast layer (and VP8 temporal layers) it is sent (bridge/video-projection.ts);
 * the tallest of them per source is what SenderSourceConstraints asks of the sender.
 *
 * Deviation from JVB: before a receiver's first ReceiverVideoConstraints, everything is forwarded
 * (JVB's initial-max-height-px is 0, forwarding nothing), so clients that never send constraints
 * still see video. Audio goes to everyone unless ReceiverAudioSubscription says otherwise.
 */
import type { BridgeChannelMessageOf } from '../xmpp/protocol/bridge-channel.ts';
import type { VideoSourceLayers } from './video-projection.ts';

/** What "no limit" stands for: a constraint of -1, or a receiver that sent none. */
export const UNLIMITED_HEIGHT = 2160;
/** JVB's default-max-height-px: the height of a source the receiver's constraints do not name. */
export const DEFAULT_MAX_HEIGHT = 180;
/** Most source names kept from one list or constraints map of a message (the rest is ignored). */
export const MAX_LISTED_SOURCES = 256;

export type SourceMedia = 'audio' | 'video';

/** One named source of an endpoint (a Colibri2 `<media-source>`), as signalling describes it. */
export interface NamedSource {
  name: string;
  media: SourceMedia;
  /** `videoType="desktop"` in signalling; a SourceVideoTypeMessage may say otherwise later. */
  desktop: boolean;
  /** The SSRC receivers know (the first of the SIM group): what keyframe requests name. */
  primarySsrc?: number;
  /** Of a video source: its simulcast layers and their RTX SSRCs (bridge/video-projection.ts). */
  layers?: VideoSourceLayers;
}

/** A source of the conference with its owner; the policy takes them in join order. */
export interface ConferenceSource {
  name: string;
  owner: string;
  media: SourceMedia;
  desktop: boolean;
  /** Its sender said it sends nothing (video type `none`/`disabled`: a camera muted): no receiver gets it, and it takes no last-N slot. */
  disabled?: boolean;
}

/** A receiver's video wishes, merged from its ReceiverVideoConstraints (and LastNChangedEvent). */
export interface VideoSettings {
  /** -1: no limit. */
  lastN: number;
  onStageSources: readonly string[];
  selectedSources: readonly string[];
  /** Height of sources `maxHeights` does not name; -1: no limit, 0: none. */
  defaultMaxHeight: number;
  maxHeights: ReadonlyMap<string, number>;
  /** Frame rate of sources `maxFrameRates` does not name; -1: no limit. */
  defaultMaxFrameRate: number;
  /** Source name (or endpoint id) → the frame rate wanted at most; -1: no limit. */
  maxFrameRates: ReadonlyMap<string, number>;
}

/** ReceiverAudioSubscription: names are source names or endpoint ids; `exclude` wins. */
export interface AudioSubscription {
  all: boolean;
  include: ReadonlySet<string>;
  exclude: ReadonlySet<string>;
}

/** What one receiver asked for; an absent part has not been asked yet. */
export interface ReceiverRequest {
  id: string;
  video?: VideoSettings;
  audio?: AudioSubscription;
  /** The endpoint has no video media (Colibri2 allocated it audio only: a SIP gateway): it is sent no video, and asks none of senders. */
  noVideo?: boolean;
}

const NO_VIDEO_SETTINGS: VideoSettings = {
  lastN: -1, onStageSources: [], selectedSources: [], defaultMaxHeight: DEFAULT_MAX_HEIGHT, maxHeights: new Map(),
  defaultMaxFrameRate: -1, maxFrameRates: new Map(),
};

/** Merges a ReceiverVideoConstraints into the receiver's settings: absent fields keep their value (as JVB does). */
export function withVideoConstraints(previous: VideoSettings | undefined, message: BridgeChannelMessageOf<'ReceiverVideoConstraints'>): VideoSettings {
  const settings = { ...(previous ?? NO_VIDEO_SETTINGS) };
  if (message.lastN !== undefined) settings.lastN = message.lastN;
  // Older clients name endpoints instead of sources (JVB accepts both): the lists and the
  // constraints' keys may hold either, resolved when ranking (an endpoint id means its video sources).
  if (message.onStageSources || message.onStageEndpoints) {
    settings.onStageSources = [...(message.onStageSources ?? []), ...(message.onStageEndpoints ?? [])].slice(0, MAX_LISTED_SOURCES);
  }
  if (message.selectedSources || message.selectedEndpoints) {
    settings.selectedSources = [...(message.selectedSources ?? []), ...(message.selectedEndpoints ?? [])].slice(0, MAX_LISTED_SOURCES);
  }
  if (message.defaultConstraints) {
    settings.defaultMaxHeight = message.defaultConstraints.maxHeight;
    settings.defaultMaxFrameRate = message.defaultConstraints.maxFrameRate ?? -1;
  }
  if (message.constraints) {
    const listed = Object.entries(message.constraints).slice(0, MAX_LISTED_SOURCES);
    settings.maxHeights = new Map(listed.map(([name, c]) => [name, c.maxHeight]));
    settings.maxFrameRates = new Map(listed.filter(([, c]) => c.maxFrameRate !== undefined).map(([name, c]) => [name, c.maxFrameRate!]));
  }
  return settings;
}

/** LastNChangedEvent, the legacy setter. */
export function withLastN(previous: VideoSettings | undefined, lastN: number): VideoSettings {
  return { ...(previous ?? NO_VIDEO_SETTINGS), lastN };
}

export function toAudioSubscription(message: BridgeChannelMessageOf<'ReceiverAudioSubscription'>): AudioSubscription {
  return {
    all: message.all,
    include: new Set(message.include.slice(0, MAX_LISTED_SOURCES)),
    exclude: new Set(message.exclude.slice(0, MAX_LISTED_SOURCES)),
  };
}

export function receivesAudio(subscription: AudioSubscription | undefined, source: ConferenceSource): boolean {
  if (!subscription) return true;
  const named = (set: ReadonlySet<string>) => set.has(source.name) || set.has(source.owner);
  if (named(subscription.exclude)) return false;
  return subscription.all || named(subscription.include);
}

/**
 * What every receiver's ranking shares, made once per plan (not once per receiver: a plan of a room
 * of 500 made it 500 times, with its maps and lists). `order` is the tail of every ranking: the
 * speakers' video sources, then the rest in join order, each part with screen shares first; a
 * receiver's own sources and those it put on stage or selected are skipped in it.
 */
export interface RankingIndex {
  /** Video sources by name. */
  readonly videoByName: ReadonlyMap<string, ConferenceSource>;
  /** Each owner's video sources, in join order. */
  readonly videoByOwner: ReadonlyMap<string, readonly ConferenceSource[]>;
  readonly order: readonly ConferenceSource[];
  readonly audio: readonly ConferenceSource[];
  /** Every source by name. */
  readonly byName: ReadonlyMap<string, ConferenceSource>;
}

/** Screen shares first, each kind in the order given. */
function desktopFirst(sources: readonly ConferenceSource[]): ConferenceSource[] {
  return [...sources.filter((s) => s.desktop), ...sources.filter((s) => !s.desktop)];
}

export function rankingIndex(sources: readonly ConferenceSource[], speakers: readonly string[]): RankingIndex {
  const videoByName = new Map<string, ConferenceSource>();
  const videoByOwner = new Map<string, ConferenceSource[]>();
  const audio: ConferenceSource[] = [];
  const byName = new Map<string, ConferenceSource>();
  for (const source of sources) {
    byName.set(source.name, source);
    if (source.media !== 'video') {
      audio.push(source);
      continue;
    }
    videoByName.set(source.name, source);
    const owned = videoByOwner.get(source.owner);
    if (owned) owned.push(source);
    else videoByOwner.set(source.owner, [source]);
  }
  const speaking: ConferenceSource[] = [];
  const heard = new Set<string>();
  for (const speaker of speakers) {
    if (heard.has(speaker)) continue;
    heard.add(speaker);
    speaking.push(...(videoByOwner.get(speaker) ?? []));
  }
  const rest = [...videoByName.values()].filter((s) => !heard.has(s.owner));
  return { videoByName, videoByOwner, order: [...desktopFirst(speaking), ...desktopFirst(rest)], audio, byName };
}

/**
 * Visits the other endpoints' video sources in the receiver's order of priority until `visit`
 * returns false: on-stage, selected (each with screen shares first), then {@link RankingIndex.order}.
 */
function visitRanked(receiver: ReceiverRequest, index: RankingIndex, visit: (source: ConferenceSource) => boolean): void {
  const placed = new Set<string>();
  for (const names of [receiver.video?.onStageSources ?? [], receiver.video?.selectedSources ?? []]) {
    const tier: ConferenceSource[] = [];
    for (const name of names) {
      // Older clients name endpoints instead of sources: an endpoint id means its video sources.
      const source = index.videoByName.get(name);
      for (const named of source ? [source] : index.videoByOwner.get(name) ?? []) {
        if (named.owner === receiver.id || placed.has(named.name)) continue;
        placed.add(named.name);
        tier.push(named);
      }
    }
    for (const source of desktopFirst(tier)) if (!visit(source)) return;
  }
  for (const source of index.order) {
    if (source.owner === receiver.id || placed.has(source.name)) continue;
    if (!visit(source)) return;
  }
}

/** The other endpoints' video sources in the receiver's order of priority. */
export function rankVideo(receiver: ReceiverRequest, sources: readonly ConferenceSource[], speakers: readonly string[]): ConferenceSource[] {
  const ranked: ConferenceSource[] = [];
  visitRanked(receiver, rankingIndex(sources, speakers), (source) => ranked.push(source) > 0);
  return ranked;
}

/** The video sources forwarded to a receiver, in rank order, each with the height it wants (> 0). */
export function selectVideo(
  receiver: ReceiverRequest, sources: readonly ConferenceSource[], speakers: readonly string[], cameraMaxHeight = UNLIMITED_HEIGHT,
): Map<string, number> {
  return selectRanked(receiver, rankingIndex(sources, speakers), cameraMaxHeight);
}

/** {@link selectVideo} over an index made once for all receivers; stops at last-N. */
function selectRanked(receiver: ReceiverRequest, index: RankingIndex, cameraMaxHeight: number): Map<string, number> {
  const chosen = new Map<string, number>();
  if (receiver.noVideo) return chosen;
  const settings = receiver.video;
  // A screen share is never capped: text shrunk to 360p is unreadable, and it is one source per room.
  const capped = (source: ConferenceSource, height: number): number => (source.desktop ? height : Math.min(height, cameraMaxHeight));
  if (!settings) {
    visitRanked(receiver, index, (source) => {
      if (!source.disabled) chosen.set(source.name, capped(source, UNLIMITED_HEIGHT));
      return true;
    });
    return chosen;
  }
  // Last-N counts the sources the receiver wants (as JVB's effective constraints): jitsi-meet's
  // tile view asks height 0 of every tile off screen, and those took the slots of the ones on it.
  visitRanked(receiver, index, (source) => {
    if (settings.lastN >= 0 && chosen.size >= settings.lastN) return false;
    if (source.disabled) return true;
    const height = settings.maxHeights.get(source.name) ?? settings.maxHeights.get(source.owner) ?? settings.defaultMaxHeight;
    if (height !== 0) chosen.set(source.name, capped(source, height < 0 ? UNLIMITED_HEIGHT : height));
    return true;
  });
  return chosen;
}

/**
 * The frame rate a receiver wants at most of a source (VideoConstraints' maxFrameRate, from the
 * source's own constraints else the default ones); -1: no limit.
 */
export function maxFrameRateOf(receiver: ReceiverRequest, source: ConferenceSource): number {
  const settings = receiver.video;
  if (!settings) return -1;
  return settings.maxFrameRates.get(source.name) ?? settings.maxFrameRates.get(source.owner) ?? settings.defaultMaxFrameRate;
}

/** What every receiver gets and every video sender is asked for. */
export interface ForwardingPlan {
  /** Receiver id → forwarded video source → wanted height, in rank order. */
  video: Map<string, Map<string, number>>;
  /** Receiver id → forwarded video source → the frame rate wanted at most, for the sources with a limit only. */
  frameRates: Map<string, Map<string, number>>;
  /**
   * Receiver id → the sources it is sent: its video sources, and the audio ones it subscribed to.
   * A receiver without a ReceiverAudioSubscription (most) gets every other endpoint's audio: it
   * is in `allAudio` instead, so that a plan is not every receiver times every microphone (a room of
   * 500 made 250,000 entries at every join and speaker change). Read with {@link isSent}.
   */
  receiving: Map<string, Set<string>>;
  /** Receivers sent every audio source but their own. */
  allAudio: Set<string>;
  /** Audio source → its owner. */
  audioOwners: Map<string, string>;
  /** Video source → the greatest height a receiver it is forwarded to wants; 0 when none. */
  senderHeights: Map<string, number>;
  /**
   * Video source → height → how many receivers want it at that height (> 0): a receiver's replan
   * finds a source's new greatest height among a few heights, not by asking every receiver (which
   * made one receiver's message cost O(receivers × sources): 11 ms in a room of 500).
   */
  heightCounts: Map<string, Map<number, number>>;
}

/** Counts one receiver more (`delta` 1) or less (-1) wanting `name` at `height`. */
function countHeight(plan: ForwardingPlan, name: string, height: number, delta: number): void {
  if (height <= 0) return;
  let counts = plan.heightCounts.get(name);
  if (!counts) plan.heightCounts.set(name, (counts = new Map()));
  const count = (counts.get(height) ?? 0) + delta;
  if (count > 0) counts.set(height, count);
  else if (counts.delete(height) && counts.size === 0) plan.heightCounts.delete(name);
}

/** The greatest height some receiver wants `name` at; 0 when none. */
function greatestHeight(plan: ForwardingPlan, name: string): number {
  let greatest = 0;
  for (const height of plan.heightCounts.get(name)?.keys() ?? []) if (height > greatest) greatest = height;
  return greatest;
}

/** One receiver's part of a {@link ForwardingPlan}. */
export interface ReceiverPlan {
  /** Forwarded video source → wanted height, in rank order. */
  video: Map<string, number>;
  /** Forwarded video source → the frame rate wanted at most, for the sources with a limit only. */
  frameRates: Map<string, number>;
  /** Its video sources, and the audio ones it subscribed to (see ForwardingPlan.receiving). */
  receiving: Set<string>;
  /** Every other endpoint's audio (no subscription). */
  allAudio: boolean;
}

/** Whether the plan sends `receiverId` source `name`; undefined for a receiver it does not know. */
export function isSent(plan: ForwardingPlan, receiverId: string, name: string): boolean | undefined {
  const receiving = plan.receiving.get(receiverId);
  if (!receiving) return undefined;
  if (receiving.has(name)) return true;
  if (!plan.allAudio.has(receiverId)) return false;
  const owner = plan.audioOwners.get(name);
  return owner !== undefined && owner !== receiverId;
}

/** Every source the plan sends `receiverId`, video first. */
export function sentTo(plan: ForwardingPlan, receiverId: string): string[] {
  const sent = [...(plan.receiving.get(receiverId) ?? [])];
  if (plan.allAudio.has(receiverId)) for (const [name, owner] of plan.audioOwners) if (owner !== receiverId) sent.push(name);
  return sent;
}

/** What one receiver is sent (see {@link planForwarding}), from the index of the conference's sources and speakers. */
export function planReceiver(receiver: ReceiverRequest, index: RankingIndex, cameraMaxHeight: number): ReceiverPlan {
  const video = selectRanked(receiver, index, cameraMaxHeight);
  const receiving = new Set(video.keys());
  const allAudio = receiver.audio === undefined;
  if (!allAudio) {
    for (const source of index.audio) {
      if (source.owner !== receiver.id && receivesAudio(receiver.audio, source)) receiving.add(source.name);
    }
  }
  const frameRates = new Map<string, number>();
  for (const name of video.keys()) {
    const rate = maxFrameRateOf(receiver, index.byName.get(name)!);
    if (rate >= 0) frameRates.set(name, rate);
  }
  return { video, frameRates, receiving, allAudio };
}

/**
 * The plan for the whole conference. `sources` in join order (owners as they joined, then each
 * owner's sources in signalling order); `speakers` the dominant speaker first, then the recent ones;
 * `cameraMaxHeight` the bridge's cap on camera video while it is overloaded (bridge/load-reducer.ts).
 */
export function planForwarding(
  receivers: readonly ReceiverRequest[],
  sources: readonly ConferenceSource[],
  speakers: readonly string[],
  cameraMaxHeight = UNLIMITED_HEIGHT,
): ForwardingPlan {
  const index = rankingIndex(sources, speakers);
  const plan: ForwardingPlan = {
    video: new Map(), frameRates: new Map(), receiving: new Map(), allAudio: new Set(),
    audioOwners: new Map(index.audio.map((source) => [source.name, source.owner])), senderHeights: new Map(), heightCounts: new Map(),
  };
  for (const source of sources) if (source.media === 'video') plan.senderHeights.set(source.name, 0);
  for (const receiver of receivers) {
    const { video, frameRates, receiving, allAudio } = planReceiver(receiver, index, cameraMaxHeight);
    if (allAudio) plan.allAudio.add(receiver.id);
    for (const [name, height] of video) {
      plan.senderHeights.set(name, Math.max(plan.senderHeights.get(name) ?? 0, height));
      countHeight(plan, name, height, 1);
    }
    plan.video.set(receiver.id, video);
    if (frameRates.size > 0) plan.frameRates.set(receiver.id, frameRates);
    plan.receiving.set(receiver.id, receiving);
  }
  return plan;
}

/**
 * Puts one receiver's new part into `plan` (in place), as {@link planForwarding} would have with
 * only that receiver's request changed, at the cost of that receiver's sources rather than the
 * whole conference's. Returns what changed: the sources whose sender height moved (with the new
 * height), those that started going to it, and those it is now sent or no longer sent.
 */
export function replanReceiver(plan: ForwardingPlan, id: string, next: ReceiverPlan): { senderHeights: Map<string, number>; started: string[]; receivingChanged: string[] } {
  const before = plan.video.get(id);
  const receivingBefore = plan.receiving.get(id);
  plan.video.set(id, next.video);
  if (next.frameRates.size > 0) plan.frameRates.set(id, next.frameRates);
  else plan.frameRates.delete(id);
  plan.receiving.set(id, next.receiving);
  const senderHeights = new Map<string, number>();
  // In the sources' order (the plan's), as planForwarding's changes come.
  for (const name of plan.senderHeights.keys()) {
    const was = before?.get(name) ?? 0;
    const now = next.video.get(name) ?? 0;
    if (was === now) continue;
    countHeight(plan, name, was, -1);
    countHeight(plan, name, now, 1);
    const height = greatestHeight(plan, name);
    if (plan.senderHeights.get(name) !== height) {
      plan.senderHeights.set(name, height);
      senderHeights.set(name, height);
    }
  }
  const started = [...next.video.keys()].filter((name) => !before?.has(name));
  const allAudioBefore = receivingBefore !== undefined && plan.allAudio.has(id);
  if (next.allAudio) plan.allAudio.add(id);
  else plan.allAudio.delete(id);
  const othersAudio = (name: string): boolean => {
    const owner = plan.audioOwners.get(name);
    return owner !== undefined && owner !== id;
  };
  const candidates = new Set([...(receivingBefore ?? []), ...next.receiving]);
  // From every audio source to a subscription or back: each audio source may have changed.
  if (allAudioBefore !== next.allAudio) for (const name of plan.audioOwners.keys()) candidates.add(name);
  const receivingChanged = [...candidates].filter((name) => {
    const was = receivingBefore?.has(name) === true || (allAudioBefore && othersAudio(name));
    const is = next.receiving.has(name) || (next.allAudio && othersAudio(name));
    return was !== is;
  });
  return { senderHeights, started, receivingChanged };
}

/** What to tell endpoints after a new plan replaces `previous`. */
export interface ForwardingChanges {
  /** Receiver id → its forwarded video sources (ForwardedSources), for receivers whose set changed. */
  forwardedSources: Map<string, string[]>;
  /** Video source → its new SenderSourceConstraints height, for sources whose height changed. */
  senderHeights: Map<string, number>;
  /** Video sources that started going to some receiver: their senders owe a keyframe. */
  keyframes: Set<string>;
}

export function compareForwarding(previous: ForwardingPlan | undefined, next: ForwardingPlan): ForwardingChanges {
  const changes: ForwardingChanges = { forwardedSources: new Map(), senderHeights: new Map(), keyframes: new Set() };
  for (const [id, video] of next.video) {
    const before = previous?.video.get(id);
    for (const name of video.keys()) if (!before?.has(name)) changes.keyframes.add(name);
    // A receiver never told anything assumes everything is forwarded; nothing to say while there is nothing.
    const changed = before ? before.size !== video.size || [...video.keys()].some((name) => !before.has(name)) : video.size > 0;
    if (changed) changes.forwardedSources.set(id, [...video.keys()]);
  }
  for (const [name, height] of next.senderHeights) {
    if (previous?.senderHeights.get(name) !== height) changes.senderHeights.set(name, height);
  }
  return changes;
}
