/**
 * The bridges the focus knows, from their presence in the brewery room (protocol reference §6.1,
 * as Jicofo reads it): least stressed first, a participant's region preferred, draining and
 * shutting-down bridges skipped.
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
}

export class BridgeSelector {
  private readonly bridges = new Map<string, KnownBridge>();

  /** A presence from the brewery room. */
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
    });
  }

  /** The bridge to use for a new participant, or undefined when none is usable. */
  select(region?: string): KnownBridge | undefined {
    const usable = [...this.bridges.values()].filter((b) => !b.draining && !b.shuttingDown);
    usable.sort((a, b) => Number(b.region === region && region !== undefined) - Number(a.region === region && region !== undefined) || a.stress - b.stress);
    return usable[0];
  }

  get count(): number {
    return this.bridges.size;
  }
}
