/**
 * The focus's Jingle session with one participant (protocol notes §5): its sid, its state
 * (initiating → pending after session-initiate → active after session-accept → ended), and what the
 * client has been told of every other owner's sources, so that each later change is sent as the
 * difference (source-remove, then source-add) in the form the client understands.
 */
import type { Logger } from 'pino';
import { buildJingle, type Jingle } from '../xmpp/protocol/jingle.ts';
import type { IqCaller } from './iq-caller.ts';
import type { IceUdpTransport } from '../xmpp/protocol/jingle-ice.ts';
import type { ClientFeatures } from './offer.ts';
import { buildSourceChange, EMPTY_SOURCES, sourceUpdates, type OwnedSources, type ReceiverOptions, type SourceSet } from './sources.ts';

export type JingleSessionState = 'initiating' | 'pending' | 'active' | 'ended';

/** Transport-infos kept from before a session-accept: a client trickling more than this sends its credentials in the first ones anyway. */
const MAX_EARLY_TRANSPORTS = 32;

export class JingleSession {
  private stateValue: JingleSessionState = 'initiating';
  private acknowledgedValue = false;
  private features: ClientFeatures | undefined;
  /** Owner → the source set last signalled to this client (unstripped; the receiver view is derived). */
  private readonly signalled = new Map<string, SourceSet>();
  /** What the client's transport-infos said before its session-accept, newest first (ICE credentials, fingerprints, candidates). */
  private readonly early: IceUdpTransport[] = [];

  constructor(
    readonly sid: string,
    /** The participant's occupant JID. */
    readonly to: string,
    private readonly iq: IqCaller,
    private readonly log: Logger,
  ) {}

  get state(): JingleSessionState {
    return this.stateValue;
  }

  get ended(): boolean {
    return this.stateValue === 'ended';
  }

  private get receiver(): ReceiverOptions | undefined {
    const f = this.features;
    return f && { jsonSources: f.jsonSources, audio: f.audio, video: f.video };
  }

  /**
   * Sends the session-initiate; `included` are the sources it carries (so they are not signalled again).
   * Resolves when the client acknowledged it.
   */
  async initiate(offer: Jingle, features: ClientFeatures, included: readonly OwnedSources[]): Promise<void> {
    if (this.stateValue !== 'initiating') return;
    this.features = features;
    for (const owned of included) this.signalled.set(owned.owner, { sources: owned.sources, groups: owned.groups });
    this.stateValue = 'pending';
    await this.iq.request(this.to, 'set', buildJingle(offer));
    this.acknowledgedValue = true;
  }

  /** Whether the client acknowledged the session-initiate with a result (its session-accept may come before that). */
  get acknowledged(): boolean {
    return this.acknowledgedValue;
  }

  /** The client's session-accept arrived: from now on source changes are sent to it. */
  activate(): void {
    if (this.stateValue === 'pending') this.stateValue = 'active';
    this.early.length = 0;
  }

  /**
   * A transport-info from the client before its session-accept: Jigasi (jitsi-desktop's Jingle)
   * trickles its ICE credentials and candidates that way and accepts with a transport holding its
   * fingerprint alone (as Jicofo's Participant.onTransportInfo notes). At most a few are kept.
   */
  noteEarlyTransport(transport: IceUdpTransport): void {
    if (this.stateValue !== 'pending') return;
    this.early.unshift(transport);
    if (this.early.length > MAX_EARLY_TRANSPORTS) this.early.length = MAX_EARLY_TRANSPORTS;
  }

  /** The transport-infos of before the session-accept, newest first. */
  get earlyTransports(): readonly IceUdpTransport[] {
    return this.early;
  }

  /** Owners this client has been told about (some may have left since). */
  signalledOwners(): string[] {
    return [...this.signalled.keys()];
  }

  /**
   * Brings the client's view of `owner`'s sources to `current` (EMPTY_SOURCES when the owner left).
   * Only an active session is told; a pending one catches up when it becomes active.
   */
  syncSources(owner: string, current: SourceSet): void {
    const receiver = this.receiver;
    if (this.stateValue !== 'active' || !receiver) return;
    const before = this.signalled.get(owner) ?? EMPTY_SOURCES;
    if (current.sources.length === 0 && current.groups.length === 0) this.signalled.delete(owner);
    else this.signalled.set(owner, current);
    for (const update of sourceUpdates(owner, before, current, receiver)) {
      const jingle = buildSourceChange(update.action, this.sid, [update.sources], receiver);
      this.iq.request(this.to, 'set', buildJingle(jingle)).catch((err: unknown) => {
        if (this.stateValue !== 'ended') this.log.warn({ err, action: update.action, owner }, 'the client refused a source change');
      });
    }
  }

  /** Idempotent; the focus sends nothing more on this session. */
  close(): void {
    this.stateValue = 'ended';
    this.signalled.clear();
  }
}
