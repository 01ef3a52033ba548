/**
 * A stand-in media endpoint for the bridge tests: the test injects its RTP/RTCP with `emit` and
 * reads what the conference handed it (copies, as the real endpoint encrypts at once).
 */
import { pino } from 'pino';
import { ColibriService, type ColibriEndpoint, type ColibriServiceOptions } from '../../../bridge/colibri.ts';

export class FakeEndpoint implements ColibriEndpoint {
  readonly sentRtp: Buffer[] = [];
  readonly sentRtcp: Buffer[] = [];
  remote: Parameters<ColibriEndpoint['setRemoteTransport']>[0] | undefined;
  closedWith: string | undefined;
  private readonly listeners = { rtp: new Set<(p: Buffer) => void>(), rtcp: new Set<(p: Buffer) => void>() };
  readonly events = {
    on: (name: 'rtp' | 'rtcp', fn: (p: Buffer) => void) => {
      this.listeners[name].add(fn);
      return () => this.listeners[name].delete(fn);
    },
  };

  constructor(readonly id: string) {}

  localTransport() {
    return {
      ufrag: `u-${this.id}`, pwd: 'p'.repeat(24),
      fingerprint: { hash: 'sha-256', value: 'AA:BB', setup: 'actpass' as const },
      candidates: [{ component: 1, foundation: '1', generation: 0, id: 'c1', ip: '127.0.0.1', port: 10000, priority: 2130706431, protocol: 'udp' as const, type: 'host' as const }],
    };
  }

  setRemoteTransport(info: Parameters<ColibriEndpoint['setRemoteTransport']>[0]) {
    this.remote = info;
  }

  sendRtp(p: Buffer, copies = 1) {
    for (let copy = 0; copy < copies; copy++) this.sentRtp.push(Buffer.from(p));
  }

  sendRtcp(p: Buffer) {
    this.sentRtcp.push(Buffer.from(p));
  }

  close(reason: string) {
    this.closedWith ??= reason;
  }

  emit(name: 'rtp' | 'rtcp', p: Buffer) {
    for (const fn of this.listeners[name]) fn(p);
  }

  /** SSRCs of the RTP handed to this endpoint since `from`. */
  ssrcsSince(from: number): number[] {
    return this.sentRtp.slice(from).map((p) => p.readUInt32BE(8));
  }
}

/** A ColibriService (silent log, process clock unless `overrides` say otherwise) whose endpoints are FakeEndpoints, by endpoint id. */
export function serviceWithFakeEndpoints(overrides: Partial<Omit<ColibriServiceOptions, 'createEndpoint'>> = {}): { svc: ColibriService; endpoints: Map<string, FakeEndpoint> } {
  const endpoints = new Map<string, FakeEndpoint>();
  const svc = new ColibriService({
    log: pino({ level: 'silent' }),
    createEndpoint: (id) => {
      const e = new FakeEndpoint(id);
      endpoints.set(id, e);
      return e;
    },
    webSocketUrl: (meeting, ep, pwd) => `wss://meet.example/colibri-ws/jvb1/${meeting}/${ep}?pwd=${pwd}`,
    refusingNewConferences: () => false,
    ...overrides,
  });
  return { svc, endpoints };
}
