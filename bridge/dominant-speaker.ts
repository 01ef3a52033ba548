/**
 * Picks a conference's dominant speaker from the audio levels its endpoints send in the RFC 6464
 * `ssrc-audio-level` header extension (protocol notes §8.3; RFC 6464 §3: 0 = 0 dBov, the loudest,
 * 127 = −127 dBov, silence). Pure: time comes from an injected clock and nothing runs by itself;
 * decisions are taken as levels arrive, at most once per decision interval.
 *
 * The idea is jitsi-videobridge's (its DominantSpeakerIdentification, after Volfin and Cohen,
 * "Dominant Speaker Identification for Multipoint Videoconferencing"): a speaker is judged on how
 * much of a short and of a medium window it spent speaking, against its own noise floor, and a
 * challenger takes the floor only when clearly ahead in both and after the current speaker has
 * held it a minimum time. Unlike JVB's, the windows are time-weighted (a packet vouches for the
 * time since the previous one, at most {@link MAX_SAMPLE_MS}), so packet rate and floods change
 * nothing, and the noise floor is the quietest level of the last ten seconds, capped. Silence
 * (the event's `silence` flag) is nobody speaking for a few seconds; as decisions ride on arriving
 * packets, it is noticed while audio flows (clients keep sending packets for a muted microphone).
 * The V (voice activity) bit is not used: the level alone decides, as in JVB.
 */

/** A packet covers at most this much time (Opus packets last 10–60 ms; longer gaps are silence). */
export const MAX_SAMPLE_MS = 60;
/** The time a speaker's first packet covers. */
const FIRST_SAMPLE_MS = 20;
/** Window of immediate speech activity. */
export const SHORT_WINDOW_MS = 400;
/** Window of sustained speech activity: what challengers compete on. */
export const MEDIUM_WINDOW_MS = 1500;
/** Samples kept per speaker: more than a medium window holds at 20 ms, whatever the rate. */
const MAX_SAMPLES = 256;
/** A sample counts as speech this far (in dB) above the speaker's noise floor. */
const FLOOR_MARGIN = 10;
/** Loudness (127 − level) the floor never exceeds: −50 dBov, so −40 dBov is speech even in a noisy room. */
const HIGHEST_FLOOR = 77;
/** Quieter than this (−110 dBov, e.g. a muted track's digital silence) never lowers the floor. */
const LOWEST_FLOOR = 17;
/** The floor is the quietest level of the last FLOOR_BUCKETS × FLOOR_BUCKET_MS: it rises 10 s after the room got noisier. */
const FLOOR_BUCKET_MS = 1000;
const FLOOR_BUCKETS = 10;

/** A challenger needs this share of the short window spoken… */
const SHORT_SPEAKING = 0.5;
/** …and this share of the medium window… */
const MEDIUM_SPEAKING = 0.4;
/** …and this much more of the medium window than the dominant speaker. */
const MEDIUM_LEAD = 0.2;

export interface DominantSpeakerOptions {
  /** Monotonic milliseconds. */
  now(): number;
  /** How often a switch is considered. Default 300 ms (JVB's decision interval). */
  decisionIntervalMs?: number;
  /** The dominant speaker keeps the floor at least this long before another can take it. Default 1000 ms. */
  minHoldMs?: number;
  /** Nobody speaking this long turns `silence` on. Default 3000 ms. */
  silenceAfterMs?: number;
  /** Length of `previous`. Default 10 (JVB's recent speakers). */
  maxPreviousSpeakers?: number;
}

/** What DominantSpeakerEndpointChangeEvent carries. */
export interface SpeakerState {
  dominant: string;
  /** Earlier dominant speakers still present, most recent first. */
  previous: readonly string[];
  /** Nobody has spoken for a while; `dominant` is the last one who did. */
  silence: boolean;
}

/** One endpoint's recent audio: a ring of (arrival time, covered time, speaking) samples. */
class Speaker {
  private readonly at = new Float64Array(MAX_SAMPLES);
  private readonly span = new Float64Array(MAX_SAMPLES);
  private readonly speaking = new Uint8Array(MAX_SAMPLES);
  private count = 0;
  private next = 0;
  /** Quietest loudness of each floor bucket; the current one is `bucket`. */
  private readonly quietest = new Float64Array(FLOOR_BUCKETS).fill(Number.POSITIVE_INFINITY);
  private bucket = 0;
  private bucketStart: number;

  constructor(readonly id: string, now: number) {
    this.bucketStart = now;
  }

  /** Records a level octet; true when it counts as speech. */
  add(now: number, octet: number): boolean {
    const loudness = 127 - (octet & 0x7f);
    this.trackFloor(now, loudness);
    const last = this.count === 0 ? undefined : this.at[(this.next + MAX_SAMPLES - 1) % MAX_SAMPLES]!;
    const span = last === undefined ? FIRST_SAMPLE_MS : Math.min(Math.max(0, now - last), MAX_SAMPLE_MS);
    const speaking = loudness >= this.floor() + FLOOR_MARGIN;
    this.at[this.next] = now;
    this.span[this.next] = span;
    this.speaking[this.next] = speaking ? 1 : 0;
    this.next = (this.next + 1) % MAX_SAMPLES;
    this.count = Math.min(this.count + 1, MAX_SAMPLES);
    return speaking;
  }

  /** Share of the last `windowMs` spent speaking, 0–1. */
  activity(now: number, windowMs: number): number {
    let spoken = 0;
    for (let i = 1; i <= this.count; i++) {
      const slot = (this.next + MAX_SAMPLES - i) % MAX_SAMPLES;
      if (this.at[slot]! <= now - windowMs) break;
      if (this.speaking[slot]) spoken += this.span[slot]!;
    }
    return Math.min(1, spoken / windowMs);
  }

  /** The speaker's noise floor: it follows quieter levels at once and noisier surroundings within ten seconds. */
  private floor(): number {
    let floor = HIGHEST_FLOOR;
    for (const quietest of this.quietest) if (quietest < floor) floor = quietest;
    return floor;
  }

  private trackFloor(now: number, loudness: number): void {
    if (now - this.bucketStart >= FLOOR_BUCKETS * FLOOR_BUCKET_MS) {
      this.quietest.fill(Number.POSITIVE_INFINITY);
      this.bucketStart = now;
    }
    for (; now - this.bucketStart >= FLOOR_BUCKET_MS; this.bucketStart += FLOOR_BUCKET_MS) {
      this.bucket = (this.bucket + 1) % FLOOR_BUCKETS;
      this.quietest[this.bucket] = Number.POSITIVE_INFINITY;
    }
    if (loudness >= LOWEST_FLOOR && loudness < this.quietest[this.bucket]!) this.quietest[this.bucket] = loudness;
  }
}

export class DominantSpeakerDetector {
  /** In the order they first sent a level. */
  private readonly speakers = new Map<string, Speaker>();
  private readonly decisionIntervalMs: number;
  private readonly minHoldMs: number;
  private readonly silenceAfterMs: number;
  private readonly maxPrevious: number;
  private dominant: string | undefined;
  private dominantSince = 0;
  private previous: string[] = [];
  private silence = false;
  private lastDecision = Number.NEGATIVE_INFINITY;
  private lastSpeechAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: DominantSpeakerOptions) {
    this.decisionIntervalMs = options.decisionIntervalMs ?? 300;
    this.minHoldMs = options.minHoldMs ?? 1000;
    this.silenceAfterMs = options.silenceAfterMs ?? 3000;
    this.maxPrevious = options.maxPreviousSpeakers ?? 10;
  }

  /** The dominant speaker's id, or undefined before anyone sent a level (read per audio packet: allocates nothing, unlike `state`). */
  get dominantId(): string | undefined {
    return this.dominant;
  }

  /** The current state, or undefined before anyone sent a level. */
  get state(): SpeakerState | undefined {
    return this.dominant === undefined ? undefined : { dominant: this.dominant, previous: [...this.previous], silence: this.silence };
  }

  /**
   * Records one audio packet's level octet (RFC 6464: V bit, then −dBov) from endpoint `id`, and
   * decides when the decision interval has passed. Returns the new state when it changed.
   */
  levelReceived(id: string, octet: number): SpeakerState | undefined {
    const now = this.options.now();
    let speaker = this.speakers.get(id);
    if (!speaker) {
      speaker = new Speaker(id, now);
      this.speakers.set(id, speaker);
      // Silence is measured from when there was someone to hear.
      if (this.speakers.size === 1 && this.lastSpeechAt === Number.NEGATIVE_INFINITY) this.lastSpeechAt = now;
    }
    if (speaker.add(now, octet)) this.lastSpeechAt = now;
    return now - this.lastDecision >= this.decisionIntervalMs ? this.decide() : undefined;
  }

  /** Decides now (levelReceived does it by itself); returns the new state when it changed. */
  decide(): SpeakerState | undefined {
    const now = this.options.now();
    this.lastDecision = now;
    if (this.speakers.size === 0) return undefined;
    const before = this.dominant;
    const wasSilent = this.silence;
    const next = this.dominant === undefined ? this.mostActive(now) : this.challenger(now);
    if (next !== undefined && next !== this.dominant) this.promote(next, now);
    const silentNow = now - this.lastSpeechAt >= this.silenceAfterMs;
    if (this.dominant !== before) this.silence = silentNow;
    else if (!this.silence) this.silence = silentNow;
    // Out of silence only by the dominant speaker talking again (or a switch, above): a cough elsewhere is not enough.
    else if (this.speakers.get(this.dominant!)!.activity(now, SHORT_WINDOW_MS) >= SHORT_SPEAKING) this.silence = false;
    return this.dominant !== before || this.silence !== wasSilent ? this.state : undefined;
  }

  /**
   * Forgets an endpoint that left. When it was the dominant speaker, the most recent previous one
   * (else the first remaining speaker) takes over, and the new state is returned.
   */
  remove(id: string): SpeakerState | undefined {
    if (!this.speakers.delete(id)) return undefined;
    this.previous = this.previous.filter((p) => p !== id);
    if (this.dominant !== id) return undefined;
    this.dominant = this.previous.shift() ?? this.speakers.keys().next().value;
    this.dominantSince = this.options.now();
    return this.state;
  }

  /** Nobody dominates yet: the most active over the medium window; the first speaker when all are quiet. */
  private mostActive(now: number): string | undefined {
    let best: string | undefined;
    let bestActivity = -1;
    for (const speaker of this.speakers.values()) {
      const activity = speaker.activity(now, MEDIUM_WINDOW_MS);
      if (activity > bestActivity) [best, bestActivity] = [speaker.id, activity];
    }
    return best;
  }

  /** The speaker who takes the floor from the dominant one, if any; among several, the most active. */
  private challenger(now: number): string | undefined {
    if (now - this.dominantSince < this.minHoldMs) return undefined;
    const dominant = this.speakers.get(this.dominant!);
    const dominantShort = dominant?.activity(now, SHORT_WINDOW_MS) ?? 0;
    const dominantMedium = dominant?.activity(now, MEDIUM_WINDOW_MS) ?? 0;
    let best: string | undefined;
    let bestMedium = 0;
    for (const speaker of this.speakers.values()) {
      if (speaker === dominant) continue;
      const short = speaker.activity(now, SHORT_WINDOW_MS);
      const medium = speaker.activity(now, MEDIUM_WINDOW_MS);
      const ahead = short >= SHORT_SPEAKING && short > dominantShort && medium >= MEDIUM_SPEAKING && medium >= dominantMedium + MEDIUM_LEAD;
      if (ahead && (best === undefined || medium > bestMedium)) [best, bestMedium] = [speaker.id, medium];
    }
    return best;
  }

  private promote(id: string, now: number): void {
    if (this.dominant !== undefined) this.previous = [this.dominant, ...this.previous.filter((p) => p !== this.dominant)];
    this.previous = this.previous.filter((p) => p !== id).slice(0, this.maxPrevious);
    this.dominant = id;
    this.dominantSince = now;
  }
}
