/**
 * Who may start a conference and who is made its moderator when authentication is on: agents
 * (authenticated accounts) start rooms and are owners, guests join rooms an agent started.
 *
 * The refusal a guest gets before any agent is there is Jicofo's, so stock clients react as they do
 * with Jicofo. jicofo ConferenceIqHandler.processExtensions: with an authentication authority, when
 * the room does not exist and `authAuthority.getUserIdentity(from)` is null, it answers
 * `ErrorFactory.createNotAuthorizedError(query, "not authorized user domain")`, that is an IQ error
 * `<error type="auth"><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text>not
 * authorized user domain</text></error>` with no application-specific child. lib-jitsi-meet
 * (modules/xmpp/moderator.js `_handleIqError`) looks only for `error>not-authorized`, emits
 * XMPPEvents.AUTHENTICATION_REQUIRED (conference failed with `conference.authenticationRequired`)
 * and does not retry by itself; jitsi-meet (react/features/authentication, `waitForOwner`) then shows
 * its "waiting for the host" dialog and re-sends the conference request every 5 s until it gets in.
 * `not-acceptable` would be taken for an invalid session and anything else for a fatal failure, so
 * the condition must be exactly `not-authorized`.
 */
import { StanzaError } from '../xmpp/errors.ts';

/** A conference request as the focus hands it to its policy. */
export interface RoomRequest {
  /** The room's bare JID. */
  readonly room: string;
  /** The requester's full JID (the session that sent the conference IQ). */
  readonly requester: string;
  /** The room's conference exists (an agent started it and it has not ended). */
  readonly exists: boolean;
  /**
   * An agent is in it now (with authentication: a conference whose agents all left lets no new
   * guest in, and ends a while later, Conference.agentlessTimeoutMs). Absent: taken as `exists`.
   */
  readonly agentPresent?: boolean;
}

/** Who a session is, as far as the room policy cares. */
export interface Identity {
  /** Authenticated as an agent (an account of the main domain, or a valid token). */
  readonly agent: boolean;
  /** Made owner in the room; default: `agent` (a token may say `moderator: false`). */
  readonly moderator?: boolean;
  /** Refused for this room, with the reason (a token for another room). */
  readonly refusal?: string;
}

export interface RoomPolicyOptions {
  /** ENABLE_AUTH: without it everyone may start a room and the oldest participant is owner. */
  readonly authEnabled: boolean;
  /** ENABLE_GUESTS: without it, non-agents are refused outright. */
  readonly guestsAllowed: boolean;
  /** Who the session with this full JID is, for the room with this bare JID when it matters. */
  identify(requesterFullJid: string, room?: string): Identity;
}

/** The text Jicofo puts in its refusal; jitsi-meet does not show it, logs and tests read it. */
export const WAIT_FOR_HOST_TEXT = 'not authorized user domain';

/** The refusal that makes Jitsi clients wait for the host (see the header). */
export function waitForHostError(): StanzaError {
  return new StanzaError('auth', 'not-authorized', WAIT_FOR_HOST_TEXT);
}

/**
 * The focus's room policy (`FocusOptions.policy`): throws the StanzaError the requester gets, or
 * returns to let the request through.
 */
export function createRoomPolicy(options: RoomPolicyOptions): (request: RoomRequest) => void {
  return (request) => {
    if (!options.authEnabled) return;
    const identity = options.identify(request.requester, request.room);
    // Prosody's token plugin refuses such a token at the room's door; the focus is that door here.
    if (identity.refusal) throw new StanzaError('cancel', 'not-allowed', identity.refusal);
    if (identity.agent) return;
    if (!options.guestsAllowed) {
      throw new StanzaError('cancel', 'not-allowed', 'guests are not allowed on this service: log in with an account to join');
    }
    if (!(request.agentPresent ?? request.exists)) throw waitForHostError();
  };
}

/**
 * Who the focus makes owner (`FocusOptions.isModerator`) with authentication on: every agent
 * (Jicofo grants owner to each authenticated participant, protocol reference §3.4), never a guest.
 * Undefined with authentication off, where the oldest participant is owner.
 */
export function createOwnerRule(options: RoomPolicyOptions): ((realJid: string, roomJid: string) => boolean) | undefined {
  if (!options.authEnabled) return undefined;
  return (realJid, roomJid) => {
    // For this room: a token for another room makes nobody owner here.
    const identity = options.identify(realJid, roomJid);
    if (identity.refusal) return false;
    return identity.moderator ?? identity.agent;
  };
}
