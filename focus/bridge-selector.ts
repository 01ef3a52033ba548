/**
 * The bridges the focus knows, from their presence in the brewery room (protocol reference §6.1,
 * as Jicofo reads it): least stressed first, a participant's region preferred, draining,
 * shutting-down and recently failed bridges skipped.
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
  /** Sticky once seen (as in Jicofo). */
  shuttingDown: boolean;
  /** When a request to it last failed (selector clock); it is not operational for a while after. */
  failedAt?: number;
}

export interface BridgeSelectorOptions {
  /**
   * A bridge a request failed on is not selected, nor kept, for this long (Jicofo
   * `bridge.failure-reset-threshold`, Bridge.isOperational). Default 60 000 ms.
   */
  failureResetMs?: number;
  /** Monotonic milliseconds. Default performance.now(). */
  now?(): number;
}

export class BridgeSelector {
  private readonly bridges = new Map<string, KnownBridge>();
  private readonly failureResetMs: number;
  private readonly now: () => number;

  constructor(options: BridgeSelectorOptions = {}) {
    this.failureResetMs = options.failureResetMs ?? 60_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** A presence from the brewery room. A bridge that leaves is forgotten (Jicofo's BridgeMucDetector). */
  onBreweryPresence(presence: Element): void {
    const occupant = presence.attrs.from as string;
    if (presence.attrs.type === 'unavailable' || presence.attrs.type === 'error') {
      this.bridges.delete(occupant);
      return;
    }
    const jid = presence.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid as string | undefined;
    const statsEl = presence.getChild('stats', NS_COLIBRI);
    if (!jid || !statsEl) return;
    const status = readBridgeStatus(parseColibriStats(statsEl));
    const previous = this.bridges.get(occupant);
    const region = status.region ?? previous?.region;
    this.bridges.set(occupant, {
      jid,
      stress: status.stressLevel ?? previous?.stress ?? 0,
      ...(region ? { region } : {}),
      draining: status.drain ?? previous?.draining ?? true,
      shuttingDown: Boolean(previous?.shuttingDown || status.gracefulShutdown || status.shuttingDown),
      ...(previous?.failedAt !== undefined ? { failedAt: previous.failedAt } : {}),
    });
  }

  /**
   * A request to the bridge at `jid` timed out or failed as only a broken bridge fails (Jicofo's
   * ColibriV2SessionManager sets `isOperational = false`): it is neither selected nor kept for
   * `failureResetMs`, even while its presence stays in the brewery.
   */
  markFailed(jid: string): void {
    for (const bridge of this.bridges.values()) if (bridge.jid === jid) bridge.failedAt = this.now();
  }

  /** A bridge answered graceful_shutdown before its presence said so: no new conference goes there. */
  markShuttingDown(jid: string): void {
    for (const bridge of this.bridges.values()) if (bridge.jid === jid) bridge.shuttingDown = true;
  }

  /**
   * Whether conferences may stay on the bridge at `jid`: it is in the brewery and has not failed
   * recently. Draining or shutting down does not count: those keep their conferences.
   */
  isOperational(jid: string): boolean {
    for (const bridge of this.bridges.values()) if (bridge.jid === jid) return this.operational(bridge);
    return false;
  }

  /** The bridge to use for a new participant, or undefined when none is usable. */
  select(region?: string): KnownBridge | undefined {
    const usable = [...this.bridges.values()].filter((b) => !b.draining && !b.shuttingDown && this.operational(b));
    usable.sort((a, b) => Number(b.region === region && region !== undefined) - Number(a.region === region && region !== undefined) || a.stress - b.stress);
    return usable[0];
  }

  get count(): number {
    return this.bridges.size;
  }

  private operational(bridge: KnownBridge): boolean {
    return bridge.failedAt === undefined || this.now() - bridge.failedAt >= this.failureResetMs;
  }
}
