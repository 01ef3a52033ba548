/**
 * XMPP figures for /metrics. Hot-path counts are plain numbers read at scrape time (a labelled
 * prom-client counter costs a hash lookup per stanza; at tens of thousands of stanzas a second
 * that shows).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

const KINDS = ['message', 'presence', 'iq'] as const;
type Kind = (typeof KINDS)[number];

export class XmppCounters {
  readonly stanzasIn: Record<Kind, number> = { message: 0, presence: 0, iq: 0 };
  readonly stanzasOut: Record<Kind, number> = { message: 0, presence: 0, iq: 0 };
  logins = 0;
  loginFailures = 0;

  stanzaIn(kind: string): void {
    if (kind in this.stanzasIn) this.stanzasIn[kind as Kind]++;
  }

  stanzaOut(kind: string): void {
    if (kind in this.stanzasOut) this.stanzasOut[kind as Kind]++;
  }
}

export interface XmppGaugeSources {
  sessions(): number;
  connections(): Record<string, number>;
  rooms(): number;
  occupants(): number;
}

/** Registers the XMPP metrics (names prefixed `salon_xmpp_`) on `registry`. */
export function registerXmppMetrics(registry: Registry, counters: XmppCounters, sources: XmppGaugeSources): void {
  new Counter({
    name: 'salon_xmpp_stanzas_in_total', help: 'Stanzas received from clients', labelNames: ['kind'], registers: [registry],
    collect() {
      this.reset();
      for (const kind of KINDS) this.inc({ kind }, counters.stanzasIn[kind]);
    },
  });
  new Counter({
    name: 'salon_xmpp_stanzas_out_total', help: 'Stanzas delivered to sessions', labelNames: ['kind'], registers: [registry],
    collect() {
      this.reset();
      for (const kind of KINDS) this.inc({ kind }, counters.stanzasOut[kind]);
    },
  });
  new Gauge({ name: 'salon_xmpp_sessions', help: 'Bound client sessions (including hibernating ones)', registers: [registry], collect() { this.set(sources.sessions()); } });
  new Gauge({
    name: 'salon_xmpp_connections', help: 'Open client connections by transport', labelNames: ['transport'], registers: [registry],
    collect() {
      for (const [transport, n] of Object.entries(sources.connections())) this.set({ transport }, n);
    },
  });
  new Gauge({ name: 'salon_muc_rooms', help: 'Conference rooms', registers: [registry], collect() { this.set(sources.rooms()); } });
  new Gauge({ name: 'salon_muc_occupants', help: 'Occupants of conference rooms', registers: [registry], collect() { this.set(sources.occupants()); } });
}
