/**
 * The bridges the focus knows, from their presence in the brewery room (protocol reference §6.1,
 * as Jicofo reads it): draining, shutting-down, unhealthy and recently failed bridges skipped; then, as
 * Jicofo's RegionBasedBridgeSelectionStrategy does for a conference's first participant, a bridge
 * that is not overloaded in the participant's region, else one not overloaded anywhere, else the
 * least loaded. Load is the bridge's stress level corrected, as in Jicofo's Bridge.kt, for the
 * endpoints this focus put on it since (their media is not in the figure yet).
 */
import type { Element } from 'ltx';
import { parseColibriStats, readBridgeStatus } from '../xmpp/protocol/colibri2.ts';
import { NS_MUC_USER } from '../xmpp/protocol/muc-user.ts';

const NS_COLIBRI = 'http://jitsi.org/protocol/colibri';

export interface KnownBridge {
  /** The bridge's real JID (where Colibri2 requests go). */
  jid: string;
  stress: number;
  region?: string;
  draining: boolean;
  /** The stress one more endpoint adds, as the bridge announces it (`average_participant_stress`). */
  averageParticipantStress?: number;
  /** When this focus put each endpoint on it within the last ramp-up interval (selector clock). */
  recentEndpoints: number[];
  /** Sticky once seen (as in Jicofo). */
  shuttingDown: boolean;
  /** Its own health check, as its last presence that said (`healthy`); true until one says otherwise. */
  healthy: boolean;
  /** When a request to it last failed, or it last said it is unhealthy (selector clock); it is not operational for a while after. */
  failedAt?: number;
  /** When it joined the brewery this time (selector clock): a bridge that leaves and comes back starts again. */
  since: number;
}

export interface BridgeSelectorOptions {
  /**
   * A bridge a request failed on, or that said it is unhealthy, is not selected, nor kept, for this long (Jicofo
   * `bridge.failure-reset-threshold`, Bridge.isOperational). Default 60 000 ms.
   */
  failureResetMs?: number;
  /** Monotonic milliseconds. Default performance.now(). */
  now?(): number;
  /** Corrected stress at which a bridge is overloaded (Jicofo `bridge.stress-threshold`). Default 0.8. */
  stressThreshold?: number;
  /** Stress per recently added endpoint when the bridge announces none (Jicofo `bridge.average-participant-stress`). Default 0.01. */
  averageParticipantStress?: number;
  /** How long an added endpoint counts in the correction (Jicofo `bridge.participant-rampup-interval`). Default 20 000 ms. */
  rampUpMs?: number;
}

export class BridgeSelector {
  private readonly bridges = new Map<string, KnownBridge>();
  private readonly failureResetMs: number;
  private readonly now: () => number;
  private readonly stressThreshold: number;
  private readonly averageParticipantStress: number;
  private readonly rampUpMs: number;

  constructor(options: BridgeSelectorOptions = {}) {
    this.failureResetMs = options.failureResetMs ?? 60_000;
    this.now = options.now ?? (() => performance.now());
    this.stressThreshold = options.stressThreshold ?? 0.8;
    this.averageParticipantStress = options.averageParticipantStress ?? 0.01;
    this.rampUpMs = options.rampUpMs ?? 20_000;
  }

  /**
   * A presence from the brewery room. A bridge that leaves is forgotten (Jicofo's BridgeMucDetector).
   * True when what the conferences act on changed: a bridge came or went, or whether one may be used
   * (healthy, draining, shutting down, failed) — not for its load alone, which bridges send every few seconds.
   */
  onBreweryPresence(presence: Element): boolean {
    const occupant = presence.attrs.from as string;
    if (presence.attrs.type === 'unavailable' || presence.attrs.type === 'error') return this.bridges.delete(occupant);
    const jid = presence.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid as string | undefined;
    const statsEl = presence.getChild('stats', NS_COLIBRI);
    if (!jid || !statsEl) return false;
    const status = readBridgeStatus(parseColibriStats(statsEl));
    const previous = this.bridges.get(occupant);
    const region = status.region ?? previous?.region;
    const averageParticipantStress = status.averageParticipantStress ?? previous?.averageParticipantStress;
    const healthy = status.healthy ?? previous?.healthy ?? true;
    // A bridge that says it is unhealthy fails as in Jicofo's presence health check (JvbDoctor →
    // BridgeSelector.healthCheckFailed): not operational, so neither selected nor kept, and still
    // not for failureResetMs after it says it is healthy again.
    const failedAt = healthy && previous?.healthy !== false ? previous?.failedAt : this.now();
    const next = {
      jid,
      stress: status.stressLevel ?? previous?.stress ?? 0,
      ...(region ? { region } : {}),
      ...(averageParticipantStress !== undefined ? { averageParticipantStress } : {}),
      recentEndpoints: previous?.recentEndpoints ?? [],
      draining: status.drain ?? previous?.draining ?? true,
      shuttingDown: Boolean(previous?.shuttingDown || status.gracefulShutdown || status.shuttingDown),
      healthy,
      ...(failedAt !== undefined ? { failedAt } : {}),
      since: previous?.since ?? this.now(),
    };
    this.bridges.set(occupant, next);
    return previous === undefined || previous.jid !== next.jid || previous.healthy !== next.healthy || previous.draining !== next.draining
      || previous.shuttingDown !== next.shuttingDown || previous.failedAt !== next.failedAt;
  }

  /**
   * A request to the bridge at `jid` timed out or failed as only a broken bridge fails (Jicofo's
   * ColibriV2SessionManager sets `isOperational = false`): it is neither selected nor kept for
   * `failureResetMs`, even while its presence stays in the brewery.
   */
  markFailed(jid: string): void {
    for (const bridge of this.bridges.values()) if (bridge.jid === jid) bridge.failedAt = this.now();
  }

  /** The bridges in the brewery: real JIDs, and since when each is there (for the health checks). */
  present(): Array<{ jid: string; since: number }> {
    return [...this.bridges.values()].map((bridge) => ({ jid: bridge.jid, since: bridge.since }));
  }

  /** A bridge answered graceful_shutdown before its presence said so: no new conference goes there. */
  markShuttingDown(jid: string): void {
    for (const bridge of this.bridges.values()) if (bridge.jid === jid) bridge.shuttingDown = true;
  }

  /**
   * Whether conferences may stay on the bridge at `jid`: it is in the brewery, says it is healthy
   * and has not failed recently. Draining or shutting down does not count: those keep their conferences.
   */
  isOperational(jid: string): boolean {
    for (const bridge of this.bridges.values()) if (bridge.jid === jid) return this.operational(bridge);
    return false;
  }

  /** The focus put an endpoint on the bridge at `jid`: it counts in its load until the bridge's own figure can show it. */
  noteEndpoint(jid: string): void {
    for (const bridge of this.bridges.values()) {
      if (bridge.jid !== jid) continue;
      this.forgetOldEndpoints(bridge);
      bridge.recentEndpoints.push(this.now());
    }
  }

  /**
   * The bridge's announced stress plus, for each endpoint this focus put on it in the last
   * ramp-up interval, the stress one endpoint adds (Jicofo Bridge.kt `correctedStress`).
   */
  correctedStress(bridge: KnownBridge): number {
    this.forgetOldEndpoints(bridge);
    return bridge.stress + bridge.recentEndpoints.length * (bridge.averageParticipantStress ?? this.averageParticipantStress);
  }

  /**
   * The bridge to use for a new conference, or undefined when none is usable: the least loaded
   * that is not overloaded in the participant's region, else anywhere, else the least loaded.
   */
  select(region?: string): KnownBridge | undefined {
    const usable = [...this.bridges.values()]
      .filter((b) => !b.draining && !b.shuttingDown && this.operational(b))
      .map((bridge) => ({ bridge, load: this.correctedStress(bridge) }))
      .sort((a, b) => a.load - b.load);
    const notOverloaded = usable.filter((b) => b.load < this.stressThreshold);
    const choice = notOverloaded.find((b) => region !== undefined && b.bridge.region === region) ?? notOverloaded[0] ?? usable[0];
    return choice?.bridge;
  }

  get count(): number {
    return this.bridges.size;
  }

  private forgetOldEndpoints(bridge: KnownBridge): void {
    const since = this.now() - this.rampUpMs;
    while (bridge.recentEndpoints.length > 0 && bridge.recentEndpoints[0]! <= since) bridge.recentEndpoints.shift();
  }

  private operational(bridge: KnownBridge): boolean {
    if (!bridge.healthy) return false;
    return bridge.failedAt === undefined || this.now() - bridge.failedAt >= this.failureResetMs;
  }
}
