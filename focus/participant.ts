/**
 * One occupant of a conference room as the focus sees it (protocol notes §4.4): endpoint id = nick,
 * stats id, region, MUC role, the client's disco#info features (asked once) and its Jingle session.
 */
import type { Element } from 'ltx';
import { NS_MUC_USER } from '../xmpp/protocol/muc-user.ts';
import type { JingleSession } from './jingle-session.ts';
import type { ClientFeatures } from './offer.ts';
import type { RestartRequestLimit } from './restart-requests.ts';

export interface Participant {
  /** The nickname, which is also the bridge endpoint id. */
  readonly nick: string;
  /** `room@muc/nick`: where the focus sends Jingle and disco#info (the MUC relays them). */
  readonly occupantJid: string;
  realJid: string;
  affiliation: string;
  role: string;
  statsId?: string;
  region?: string;
  /**
   * A Jitsi service, by the feature its presence shows (`<features><feature var=…/>`, as Jicofo's
   * ChatRoomMemberImpl reads it): a SIP gateway (Jigasi), a recorder (Jibri) or a transcriber. Never
   * made owner by the auto-owner rule. Self-declared: a client saying so only gives up ownership.
   */
  service?: 'jigasi' | 'jibri' | 'transcriber';
  /** Its presence shows the audio-mute feature (a Jigasi that mutes its SIP side when asked: Jicofo's Participant.hasAudioMuteSupport). */
  audioMute?: boolean;
  /** The client's features, asked once (disco#info to the occupant JID). */
  features?: Promise<ClientFeatures>;
  session?: JingleSession;
  /**
   * The participant ended its session itself, asking for no new one (§5.6), or its restart was
   * refused for its rate: Jicofo then forgets it as a participant, so it is not invited again until
   * it rejoins the room. After a refused restart Salon's focus clears this once its limit allows
   * (cancelDeferredRestart), and after a failed invitation once its wait is over.
   */
  sessionTerminated?: boolean;
  /** Its session restarts so far (./restart-requests.ts), from its first; a rejoin starts afresh, as in Jicofo. */
  restartRequests?: RestartRequestLimit;
  /** Invitations that failed in a row, since its last session-accept (conference-media.ts INVITATION_RETRY). */
  invitationFailures?: number;
  /** The new session it is owed later (a restart refused for its rate, an invitation that failed): cancels it. */
  cancelDeferredRestart?: () => void;
}

/** The presence features by which Jitsi's services say what they are (Jicofo's ChatRoomMemberImpl). */
const SERVICE_FEATURES: ReadonlyArray<readonly [string, NonNullable<Participant['service']>]> = [
  ['http://jitsi.org/protocol/jigasi', 'jigasi'],
  ['http://jitsi.org/protocol/jibri', 'jibri'],
  ['http://jitsi.org/protocol/transcriber', 'transcriber'],
];

/** The presence feature of a Jitsi service that mutes when asked (Jicofo's Features.AUDIO_MUTE). */
const AUDIO_MUTE_FEATURE = 'http://jitsi.org/protocol/audio-mute';

/**
 * Whether moderation leaves the participant's media alone (Jicofo's shouldSuppressForceMute): a
 * recorder, or a SIP gateway that cannot mute its caller when asked, is never muted, at the
 * bridge or by a request — trusted services with no one to unmute them — nor is a visitor.
 */
export function suppressesForceMute(p: Pick<Participant, 'service' | 'audioMute' | 'role'>): boolean {
  return p.service === 'jibri' || (p.service === 'jigasi' && p.audioMute !== true) || p.role === 'visitor';
}

/** The participant's fields from its MUC presence; undefined without a real JID (not ours to manage). */
export function readParticipantPresence(presence: Element): Omit<Participant, 'nick' | 'occupantJid'> | undefined {
  const item = presence.getChild('x', NS_MUC_USER)?.getChild('item');
  const realJid = item?.attrs.jid as string | undefined;
  if (!realJid) return undefined;
  const statsId = presence.getChildText('stats-id')?.trim();
  const region = presence.getChildText('jitsi_participant_region')?.trim();
  const features = new Set(presence.getChild('features')?.getChildren('feature').map((f) => f.attrs.var as unknown) ?? []);
  const service = SERVICE_FEATURES.find(([feature]) => features.has(feature))?.[1];
  return {
    realJid,
    affiliation: (item?.attrs.affiliation as string | undefined) ?? 'none',
    role: (item?.attrs.role as string | undefined) ?? 'participant',
    ...(statsId ? { statsId } : {}),
    ...(region ? { region } : {}),
    ...(service ? { service } : {}),
    ...(features.has(AUDIO_MUTE_FEATURE) ? { audioMute: true } : {}),
  };
}
