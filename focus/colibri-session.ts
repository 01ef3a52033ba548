/**
 * The focus's side of Colibri2 for one conference on one bridge (Jicofo's ColibriV2SessionManager
 * in small): allocate an endpoint per participant, pass on its transport and sources, expire it,
 * expire the conference. The conference is created by the first allocation; {@link colibriFailure}
 * says what a failed request means for the conference (Jicofo's ColibriV2SessionManager.handleResponse
 * and Colibri2Session.sendRequest).
 */
import type { Element } from 'ltx';
import { StanzaError } from '../xmpp/errors.ts';
import {
  buildConferenceModify, Colibri2Capability, parseColibri2Error, parseConferenceModified,
  type Colibri2Endpoint, type Colibri2ErrorReply, type Colibri2ForceMute, type ConferenceModified, type Colibri2Media, type Colibri2MediaSource,
} from '../xmpp/protocol/colibri2.ts';
import type { IqCaller } from './iq-caller.ts';

/**
 * What a failed Colibri2 request means (Jicofo's reading of the error, ColibriV2SessionManager.kt):
 * - `bridge-failed`: no answer, or an error only a broken bridge gives; the bridge is marked
 *   non-operational and the conference's participants move to another bridge.
 * - `session-lost`: the bridge lives but its conference is not ours any more (expired, replaced,
 *   shutting down); the participants are re-invited, the same bridge may be chosen again.
 * - `endpoint-lost`: the bridge expired this endpoint (unknown_endpoint): that participant alone is re-invited.
 * - `refused`: our request was wrong (bad-request) or the error did not come from the bridge;
 *   retrying would repeat it, so nothing moves.
 */
export type ColibriFailure =
  | { kind: 'bridge-failed'; reason: string }
  | { kind: 'session-lost'; reason: string; shuttingDown?: boolean }
  | { kind: 'endpoint-lost'; reason: string; endpointId: string }
  | { kind: 'refused'; reason: string };

/** The error reply behind a rejection of {@link IqCaller.request}; undefined when none came. */
function errorReply(err: unknown): Element | undefined {
  return err instanceof StanzaError ? (err as StanzaError & { reply?: Element }).reply : undefined;
}

/** Reads a rejection of {@link IqCaller.request} to a bridge. */
export function colibriFailure(err: unknown): ColibriFailure {
  if (!(err instanceof StanzaError)) return { kind: 'refused', reason: String(err) };
  const reply = errorReply(err);
  // IqCaller's own timeout (and its closing) have no reply: the bridge never answered.
  if (!reply) return err.condition === 'remote-server-timeout' ? { kind: 'bridge-failed', reason: 'no answer (timeout)' } : { kind: 'refused', reason: err.message };
  let error: Colibri2ErrorReply;
  try {
    error = parseColibri2Error(reply);
  } catch {
    return { kind: 'bridge-failed', reason: `unreadable error: ${err.message}` };
  }
  const reason = `${error.condition}${error.reason ? ` (${error.reason})` : ''}${error.text ? `: ${error.text}` : ''}`;
  if (error.reason === 'unknown_endpoint' && error.endpointId !== undefined) return { kind: 'endpoint-lost', reason, endpointId: error.endpointId };
  switch (error.condition) {
    case 'bad-request': return { kind: 'refused', reason };
    case 'item-not-found':
      // Not from the bridge (no reason): most likely the MUC, the occupant gone.
      return error.reason === 'conference_not_found' ? { kind: 'session-lost', reason } : { kind: 'refused', reason };
    case 'conflict': return { kind: 'session-lost', reason };
    case 'service-unavailable':
      return error.reason === 'graceful_shutdown' ? { kind: 'session-lost', reason, shuttingDown: true } : { kind: 'bridge-failed', reason };
    default: return { kind: 'bridge-failed', reason };
  }
}

export interface AllocatedEndpoint {
  /** The bridge's `<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1">` for this endpoint. */
  iceUdp: Element;
  /** The endpoint as the bridge answered it (transport with the SCTP port, if asked for). */
  endpoint: Colibri2Endpoint;
  /** The bridge's own feedback sources, when the answer carried them (§6.2). */
  feedbackSources?: Colibri2MediaSource[];
}

/**
 * One endpoint's allocation. Compared by identity: an allocation expired while it waited for the
 * conference's creation is not sent, and one made again under the same endpoint id (the
 * participant rejoined under its nick) is not taken for it.
 */
interface Allocation {
  /** Its create request went out, so the bridge must be told to expire it. */
  requested: boolean;
  /**
   * Settles true once the bridge has answered its create request, false when that failed or the
   * allocation was expired first: {@link ColibriSession.update} waits for it.
   */
  readonly answered: Promise<boolean>;
  /** Settles {@link answered}; later calls do nothing. */
  settle(answered: boolean): void;
}

function newAllocation(): Allocation {
  let settle!: (answered: boolean) => void;
  const answered = new Promise<boolean>((resolve) => {
    settle = resolve;
  });
  return { requested: false, answered, settle };
}

export class ColibriSession {
  private created = false;
  private expired = false;
  private readonly endpoints = new Map<string, Allocation>();
  /** The request creating the conference: later allocations wait for it, so none lands on a stale conference. */
  private creating: Promise<unknown> | undefined;

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
    const allocation = newAllocation();
    this.endpoints.set(endpointId, allocation);
    let answered = false;
    try {
      let answer: ConferenceModified;
      if (create) {
        allocation.requested = true;
        const creation = this.create(endpoint, allocation);
        this.creating = creation;
        answer = await creation;
        // Its participant left meanwhile (create expired it again on the bridge). A conference
        // expired whole meanwhile answers as before: its callers drop what it gave.
        if (!this.expired && this.endpoints.get(endpointId) !== allocation) throw new Error(`the allocation of ${endpointId} was expired while the conference was created`);
      } else {
        await this.creating;
        if (this.expired) throw new Error('the Colibri2 conference was expired');
        // Expired while it waited (the participant left): sent now, it would stay on the bridge
        // until the bridge's own expiry, as its expiry was not sent (see expireEndpoint).
        if (this.endpoints.get(endpointId) !== allocation) throw new Error(`the allocation of ${endpointId} was expired before it was sent`);
        allocation.requested = true;
        answer = await this.modify([endpoint]);
      }
      const allocated = answer.endpoints.find((e) => e.id === endpointId);
      const iceUdp = allocated?.transport?.iceUdp;
      if (!allocated || !iceUdp) throw new Error(`the bridge gave no transport for ${endpointId}`);
      answered = true;
      return { iceUdp, endpoint: allocated, ...(answer.feedbackSources ? { feedbackSources: answer.feedbackSources } : {}) };
    } finally {
      allocation.settle(answered);
    }
  }

  /**
   * The participant's own transport (from session-accept / transport-info), complete sources, or
   * force-mute. Sent once the bridge has answered the endpoint's allocation: sent before, it would
   * reach a bridge that does not know the endpoint yet (or the conference, while it is created)
   * and be refused, the change lost or the participant re-invited for it. Updates go out in the order they
   * were made: each waits for the same {@link Allocation.answered}, and a settled promise resumes
   * its waiters in the order they began to wait. They are not merged: a transport-info carries
   * only the candidates gathered since the last one. Jicofo needs no wait: it sends every request
   * of a conference, allocations included, as soon as it is made, under the conference's lock
   * (ColibriV2SessionManager.allocate, updateParticipant, mute), and the bridge handles one
   * conference's requests in order (its per-conference Colibri queue). Here an allocation waits
   * for the conference's creation, which may be retried (see create), so send order alone would
   * not do. An update of an allocation that fails or is expired meanwhile is dropped, without an
   * error.
   */
  async update(endpointId: string, change: { iceUdp?: Element; sources?: Colibri2MediaSource[]; forceMute?: Colibri2ForceMute }): Promise<void> {
    const allocation = this.endpoints.get(endpointId);
    if (!allocation || !(await allocation.answered)) return;
    // Expired (alone, or with the conference) after its answer, or allocated again since.
    if (this.endpoints.get(endpointId) !== allocation) return;
    await this.modify([{
      id: endpointId,
      media: [],
      capabilities: [],
      ...(change.iceUdp ? { transport: { iceUdp: change.iceUdp } } : {}),
      ...(change.sources ? { sources: change.sources } : {}),
      ...(change.forceMute ? { forceMute: change.forceMute } : {}),
    }]);
  }

  /**
   * Creates the conference with its first endpoint. A conference of this meeting id the bridge
   * still holds is ours from before (we left the bridge while it was unreachable, and it came
   * back): it is expired, then created again, once.
   */
  private async create(endpoint: Colibri2Endpoint, allocation: Allocation): Promise<ConferenceModified> {
    try {
      return await this.modify([endpoint], true);
    } catch (err) {
      const reply = errorReply(err);
      let exists = false;
      try {
        exists = reply !== undefined && parseColibri2Error(reply).reason === 'conference_already_exists';
      } catch {
        // an unreadable error is not that one
      }
      if (!exists) throw err;
      await this.iq.request(this.bridgeJid, 'set', buildConferenceModify({ meetingId: this.meetingId, expire: true, endpoints: [], relays: [] }));
      // close() or a move expired this session meanwhile; its expiry went out before this
      // create would, so the conference created now would stay on the bridge.
      if (this.expired) throw new Error('the Colibri2 conference was expired');
      const created = await this.modify([endpoint], true);
      // Its participant left while the stale conference was expired: its expiry went to that
      // conference, so it is expired again here, or it would stay on the bridge until the bridge's
      // own expiry (and a rejoin under its name would find it taken).
      // The conference itself stands: the allocations waiting for it go on.
      if (this.endpoints.get(endpoint.id) !== allocation && !this.expired) await this.modify([{ id: endpoint.id, expire: true, media: [], capabilities: [] }]);
      return created;
    }
  }

  /** Expires the endpoint; one whose allocation was not sent yet is only forgotten, and never sent. */
  async expireEndpoint(endpointId: string): Promise<void> {
    const allocation = this.endpoints.get(endpointId);
    if (!allocation) return;
    this.endpoints.delete(endpointId);
    allocation.settle(false);
    if (this.expired || !allocation.requested) return;
    await this.modify([{ id: endpointId, expire: true, media: [], capabilities: [] }]);
  }

  async expire(): Promise<void> {
    if (this.expired || !this.created) return;
    this.expired = true;
    for (const allocation of this.endpoints.values()) allocation.settle(false);
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
