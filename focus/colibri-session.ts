/**
 * The focus's side of Colibri2 for one conference on one bridge (Jicofo's ColibriV2SessionManager
 * in small): allocate an endpoint per participant, pass on its transport and sources, expire it,
 * expire the conference. The conference is created by the first allocation.
 */
import type { Element } from 'ltx';
import {
  buildConferenceModify, Colibri2Capability, parseConferenceModified, type Colibri2Endpoint, type Colibri2ForceMute, type ConferenceModified, type Colibri2Media, type Colibri2MediaSource,
} from '../xmpp/protocol/colibri2.ts';
import type { IqCaller } from './iq-caller.ts';

export interface AllocatedEndpoint {
  /** The bridge's `<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1">` for this endpoint. */
  iceUdp: Element;
  /** The endpoint as the bridge answered it (transport with the SCTP port, if asked for). */
  endpoint: Colibri2Endpoint;
  /** The bridge's own feedback sources, when the answer carried them (§6.2). */
  feedbackSources?: Colibri2MediaSource[];
}

export class ColibriSession {
  private created = false;
  private expired = false;
  private readonly endpoints = new Set<string>();

  constructor(
    private readonly iq: IqCaller,
    readonly bridgeJid: string,
    readonly meetingId: string,
    private readonly roomJid: string,
  ) {}

  get endpointCount(): number {
    return this.endpoints.size;
  }

  /** @param options.sctp ask for a data channel (the client supports SCTP). Default false. */
  async allocate(endpointId: string, options: { statsId?: string; media: Colibri2Media[]; capabilities?: string[]; sctp?: boolean; forceMute?: Colibri2ForceMute }): Promise<AllocatedEndpoint> {
    const create = !this.created;
    this.created = true;
    const endpoint: Colibri2Endpoint = {
      id: endpointId,
      create: true,
      ...(options.statsId ? { statsId: options.statsId } : {}),
      media: options.media,
      transport: { iceControlling: true, ...(options.sctp ? { sctp: {} } : {}) },
      capabilities: options.capabilities ?? [Colibri2Capability.sourceNames],
      ...(options.forceMute ? { forceMute: options.forceMute } : {}),
    };
    this.endpoints.add(endpointId);
    const answer = await this.modify([endpoint], create);
    const allocated = answer.endpoints.find((e) => e.id === endpointId);
    const iceUdp = allocated?.transport?.iceUdp;
    if (!allocated || !iceUdp) throw new Error(`the bridge gave no transport for ${endpointId}`);
    return { iceUdp, endpoint: allocated, ...(answer.feedbackSources ? { feedbackSources: answer.feedbackSources } : {}) };
  }

  /** The participant's own transport (from session-accept / transport-info) and complete sources. */
  async update(endpointId: string, change: { iceUdp?: Element; sources?: Colibri2MediaSource[]; forceMute?: Colibri2ForceMute }): Promise<void> {
    if (!this.endpoints.has(endpointId)) return;
    await this.modify([{
      id: endpointId,
      media: [],
      capabilities: [],
      ...(change.iceUdp ? { transport: { iceUdp: change.iceUdp } } : {}),
      ...(change.sources ? { sources: change.sources } : {}),
      ...(change.forceMute ? { forceMute: change.forceMute } : {}),
    }]);
  }

  async expireEndpoint(endpointId: string): Promise<void> {
    if (!this.endpoints.delete(endpointId) || this.expired) return;
    await this.modify([{ id: endpointId, expire: true, media: [], capabilities: [] }]);
  }

  async expire(): Promise<void> {
    if (this.expired || !this.created) return;
    this.expired = true;
    this.endpoints.clear();
    await this.iq.request(this.bridgeJid, 'set', buildConferenceModify({ meetingId: this.meetingId, expire: true, endpoints: [], relays: [] }));
  }

  private async modify(endpoints: Colibri2Endpoint[], create = false): Promise<ConferenceModified> {
    const payload = buildConferenceModify({
      meetingId: this.meetingId,
      ...(create ? { create: true, name: this.roomJid, rtcstatsEnabled: false } : {}),
      endpoints,
      relays: [],
    });
    const answer = await this.iq.request(this.bridgeJid, 'set', payload);
    return answer ? parseConferenceModified(answer) : { endpoints: [], relays: [] };
  }
}
