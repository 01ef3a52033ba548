/**
 * One conference on the bridge: its endpoints, the sources each announced (from Colibri2), and
 * the forwarding between them. Forwarding is the first, fixed-layer policy of issue 3: audio to
 * everyone; of each video sender, the primary SSRC of each simulcast group (the first SSRC, which
 * receivers know, i.e. the lowest layer) and its RTX partner — so no re-stamping is needed yet.
 * RTCP: PLI/FIR go from a receiver to the sender of the media SSRC they name.
 */
import type { Logger } from 'pino';

/** What the conference needs of an endpoint (bridge/endpoint.ts Endpoint satisfies it). */
export interface ConferenceEndpoint {
  readonly id: string;
  readonly events: {
    on(name: 'rtp' | 'rtcp', fn: (packet: Buffer) => void): () => void;
  };
  sendRtp(packet: Buffer): void;
  sendRtcp(packet: Buffer): void;
  close(reason: string): void;
}

export interface EndpointSources {
  /** SSRCs whose packets are forwarded to the other endpoints. */
  forwarded: Set<number>;
  /** Every SSRC the endpoint announced. */
  all: Set<number>;
}

/** Counters of one conference's media path, read by bridge/stats.ts. */
export interface ConferenceMediaStats {
  /** RTP packets and bytes received from senders and accepted for forwarding. */
  rtpPacketsReceived: number;
  rtpBytesReceived: number;
  /** Copies sent to receivers (one per receiver) and their plaintext bytes. */
  rtpPacketsForwarded: number;
  rtpBytesForwarded: number;
  /** RFC 3550 A.3 over every received SSRC: packets expected and lost (cumulative). */
  packetsExpected: number;
  packetsLost: number;
  /** Time from a packet's arrival at the conference to its last copy handed to the socket. */
  forwardingDelayNsTotal: number;
  forwardingDelayNsMax: number;
  forwardingDelaySamples: number;
}

interface Member {
  endpoint: ConferenceEndpoint;
  sources: EndpointSources;
  unsubscribe: Array<() => void>;
}

/** Header extensions that name the SENDER's m-line: never forwarded (RFC 8843 §9.2, as JVB strips them). */
export const SENDER_SCOPED_EXTENSIONS: readonly string[] = [
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
];

/**
 * Blanks the given header extensions in place (RFC 8285 elements become padding bytes). A
 * receiver's browser would otherwise route the packet by the sender's MID to the receiver's own
 * m-line of that MID and latch its SSRC there, before signalling gives the SSRC its own m-line.
 */
export function blankExtensions(packet: Buffer, ids: ReadonlySet<number>): void {
  if (ids.size === 0 || packet.length < 12 || !(packet[0]! & 0x10)) return;
  const start = 12 + (packet[0]! & 0x0f) * 4;
  if (packet.length < start + 4) return;
  const profile = packet.readUInt16BE(start);
  const end = start + 4 + packet.readUInt16BE(start + 2) * 4;
  if (end > packet.length) return;
  let i = start + 4;
  if (profile === 0xbede) {
    while (i < end) {
      const byte = packet[i]!;
      if (byte === 0) {
        i++;
        continue;
      }
      const id = byte >> 4;
      if (id === 15) return;
      const next = i + 2 + (byte & 0x0f);
      if (ids.has(id)) packet.fill(0, i, Math.min(next, end));
      i = next;
    }
  } else if ((profile & 0xfff0) === 0x1000) {
    while (i + 1 < end) {
      const id = packet[i]!;
      if (id === 0) {
        i++;
        continue;
      }
      const next = i + 2 + packet[i + 1]!;
      if (ids.has(id)) packet.fill(0, i, Math.min(next, end));
      i = next;
    }
  }
}

export class BridgeConference {
  private readonly members = new Map<string, Member>();
  /** Ids of SENDER_SCOPED_EXTENSIONS as negotiated (the focus uses one table for everybody). */
  private readonly blanked = new Set<number>();
  /** SSRC → owning endpoint id, for RTCP feedback routing. */
  private readonly owners = new Map<number, string>();
  private closed = false;
  private readonly counters: ConferenceMediaStats = {
    rtpPacketsReceived: 0, rtpBytesReceived: 0, rtpPacketsForwarded: 0, rtpBytesForwarded: 0,
    packetsExpected: 0, packetsLost: 0, forwardingDelayNsTotal: 0, forwardingDelayNsMax: 0, forwardingDelaySamples: 0,
  };

  constructor(
    readonly meetingId: string,
    readonly name: string | undefined,
    private readonly log: Logger,
    private readonly onClosed: (c: BridgeConference) => void,
    private readonly onEndpointRemoved: (meetingId: string, endpointId: string) => void = () => undefined,
  ) {}

  get endpointCount(): number {
    return this.members.size;
  }

  /** Ids of the endpoints, in the order they were added. */
  endpointIds(): string[] {
    return [...this.members.keys()];
  }

  mediaStats(): ConferenceMediaStats {
    return { ...this.counters };
  }

  endpoint(id: string): ConferenceEndpoint | undefined {
    return this.members.get(id)?.endpoint;
  }

  addEndpoint(endpoint: ConferenceEndpoint): void {
    if (this.members.has(endpoint.id)) throw new Error(`endpoint ${endpoint.id} exists`);
    const member: Member = { endpoint, sources: { forwarded: new Set(), all: new Set() }, unsubscribe: [] };
    member.unsubscribe.push(endpoint.events.on('rtp', (packet) => this.forwardRtp(member, packet)));
    member.unsubscribe.push(endpoint.events.on('rtcp', (packet) => this.forwardRtcp(member, packet)));
    this.members.set(endpoint.id, member);
  }

  /** Learns the negotiated ids of the sender-scoped header extensions (from Colibri2 media). */
  setSenderScopedExtensionIds(ids: Iterable<number>): void {
    for (const id of ids) this.blanked.add(id);
  }

  /** Replaces an endpoint's announced sources (Colibri2 sends the complete set). */
  setSources(id: string, sources: EndpointSources): void {
    const member = this.members.get(id);
    if (!member) return;
    for (const ssrc of member.sources.all) if (this.owners.get(ssrc) === id) this.owners.delete(ssrc);
    member.sources = sources;
    for (const ssrc of sources.all) this.owners.set(ssrc, id);
  }

  removeEndpoint(id: string, reason: string): void {
    const member = this.members.get(id);
    if (!member) return;
    this.members.delete(id);
    for (const off of member.unsubscribe) off();
    for (const ssrc of member.sources.all) if (this.owners.get(ssrc) === id) this.owners.delete(ssrc);
    member.endpoint.close(reason);
    this.onEndpointRemoved(this.meetingId, id);
  }

  private forwardRtp(from: Member, packet: Buffer): void {
    if (packet.length < 12) return;
    const ssrc = packet.readUInt32BE(8);
    if (!from.sources.forwarded.has(ssrc)) return;
    const start = process.hrtime.bigint();
    this.counters.rtpPacketsReceived++;
    this.counters.rtpBytesReceived += packet.length;
    blankExtensions(packet, this.blanked);
    let copies = 0;
    for (const member of this.members.values()) {
      if (member === from) continue;
      member.endpoint.sendRtp(packet);
      copies++;
    }
    if (copies === 0) return;
    const delay = Number(process.hrtime.bigint() - start);
    this.counters.rtpPacketsForwarded += copies;
    this.counters.rtpBytesForwarded += copies * packet.length;
    this.counters.forwardingDelayNsTotal += delay;
    this.counters.forwardingDelaySamples++;
    if (delay > this.counters.forwardingDelayNsMax) this.counters.forwardingDelayNsMax = delay;
  }

  /** Feedback (PT 206 PSFB: PLI, FIR) is sent to the owner of its media SSRC; the rest is ours. */
  private forwardRtcp(from: Member, packet: Buffer): void {
    let offset = 0;
    while (offset + 12 <= packet.length) {
      const pt = packet[offset + 1]!;
      const length = (packet.readUInt16BE(offset + 2) + 1) * 4;
      if (offset + length > packet.length) return;
      if (pt === 206) {
        const mediaSsrc = packet.readUInt32BE(offset + 8);
        const owner = this.owners.get(mediaSsrc);
        const target = owner === undefined ? undefined : this.members.get(owner);
        if (target && target !== from) target.endpoint.sendRtcp(packet.subarray(offset, offset + length));
      }
      offset += length;
    }
  }

  /** Expires every endpoint; idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.members.keys()]) this.removeEndpoint(id, reason);
    this.log.info({ meetingId: this.meetingId, reason }, 'conference closed');
    this.onClosed(this);
  }
}
