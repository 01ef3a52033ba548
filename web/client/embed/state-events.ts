/**
 * The iframe API events that one conference state change means, found by comparing two
 * successive `ConferenceState` snapshots (pure: no DOM, no postMessage). Payloads follow
 * jitsi/jitsi-meet `modules/API/API.js` (`notifyConferenceJoined`, `notifyUserJoined`, …), so
 * integrator code and the desktop app read them as they read Jitsi's.
 */
import type { ChatMessage, ConferenceState, Participant } from '../conference/model.ts';

/** One event as it goes on the wire: `{name: 'participant-joined', id, displayName, …}`. */
export type ApiEvent =
  | { readonly name: 'video-conference-joined'; readonly roomName: string; readonly id: string; readonly displayName: string; readonly formattedDisplayName: string; readonly breakoutRoom: false; readonly visitor: false }
  | { readonly name: 'video-conference-left'; readonly roomName: string }
  | { readonly name: 'password-required' }
  | { readonly name: 'participant-joined'; readonly id: string; readonly displayName: string; readonly formattedDisplayName: string }
  | { readonly name: 'participant-left'; readonly id: string }
  | { readonly name: 'display-name-change'; readonly id: string; readonly displayname: string; readonly formattedDisplayName: string }
  | { readonly name: 'participant-role-changed'; readonly id: string; readonly role: string }
  | { readonly name: 'raise-hand-updated'; readonly id: string; readonly handRaised: number }
  | { readonly name: 'audio-mute-status-changed'; readonly muted: boolean }
  | { readonly name: 'video-mute-status-changed'; readonly muted: boolean }
  | { readonly name: 'screen-sharing-status-changed'; readonly on: boolean; readonly details: Record<string, never> }
  | { readonly name: 'dominant-speaker-changed'; readonly id: string }
  | { readonly name: 'incoming-message'; readonly from: string; readonly nick: string; readonly message: string; readonly privateMessage: boolean; readonly stamp: number }
  | { readonly name: 'outgoing-message'; readonly message: string; readonly privateMessage: boolean };

/** The join was refused for want of the right password (none given, or a wrong one). */
function asksPassword(state: ConferenceState): boolean {
  return state.phase.name === 'failed' && state.phase.error === 'password-required';
}

/** In the conference for the API's purposes: a reconnection is not a leave. */
function inConference(state: ConferenceState): boolean {
  return state.phase.name === 'joined' || state.phase.name === 'reconnecting';
}

function localOf(state: ConferenceState): Participant | undefined {
  return state.localId === undefined ? undefined : state.participants.get(state.localId);
}

function remotesOf(state: ConferenceState): ReadonlyMap<string, Participant> {
  if (!inConference(state)) return new Map();
  return new Map([...state.participants].filter(([, p]) => !p.local));
}

/**
 * The state the first real snapshot is compared with, so that attaching to a conference already
 * under way announces it (joined, who is there, the chat so far) but not the settings it
 * started with (mute states, the current speaker), as Jitsi's own events do.
 */
export function baselineOf(state: ConferenceState): ConferenceState {
  const local = localOf(state);
  return {
    ...state,
    phase: { name: 'connecting' },
    participants: local ? new Map([[local.id, local]]) : new Map(),
    messages: [],
  };
}

function participantFields(p: Participant): { id: string; displayName: string; formattedDisplayName: string } {
  return { id: p.id, displayName: p.displayName, formattedDisplayName: p.displayName };
}

function messageEvent(m: ChatMessage): ApiEvent {
  const privateMessage = m.privateWith !== undefined;
  return m.local
    ? { name: 'outgoing-message', message: m.text, privateMessage }
    : { name: 'incoming-message', from: m.from, nick: m.fromName, message: m.text, privateMessage, stamp: m.timestamp };
}

/** Changes of one participant present in both states (display name, role, raised hand). */
function participantChanges(before: Participant, after: Participant): ApiEvent[] {
  const events: ApiEvent[] = [];
  if (before.displayName !== after.displayName) {
    events.push({ name: 'display-name-change', id: after.id, displayname: after.displayName, formattedDisplayName: after.displayName });
  }
  if (before.role !== after.role) events.push({ name: 'participant-role-changed', id: after.id, role: after.role });
  if (before.raisedHandAt !== after.raisedHandAt) {
    // 0 when lowered, else when it was raised (Jitsi's raisedHandTimestamp).
    events.push({ name: 'raise-hand-updated', id: after.id, handRaised: after.raisedHandAt ?? 0 });
  }
  return events;
}

function localChanges(before: Participant, after: Participant): ApiEvent[] {
  const events: ApiEvent[] = [];
  if (before.audioMuted !== after.audioMuted) events.push({ name: 'audio-mute-status-changed', muted: after.audioMuted });
  if (before.videoMuted !== after.videoMuted) events.push({ name: 'video-mute-status-changed', muted: after.videoMuted });
  if (before.screenSharing !== after.screenSharing) {
    events.push({ name: 'screen-sharing-status-changed', on: after.screenSharing, details: {} });
  }
  return events;
}

/** The events `next` means after `prev`, in the order Jitsi would send them. */
export function conferenceEvents(prev: ConferenceState, next: ConferenceState): ApiEvent[] {
  const events: ApiEvent[] = [];
  const wasIn = inConference(prev);
  const isIn = inConference(next);
  const local = localOf(next);
  const prevLocal = localOf(prev);

  if (!wasIn && next.phase.name === 'joined' && local) {
    events.push({ name: 'video-conference-joined', roomName: next.room, ...participantFields(local), breakoutRoom: false, visitor: false });
    // Jitsi reports a moderator role given on joining as a role change of the local participant.
    if (local.role === 'moderator') events.push({ name: 'participant-role-changed', id: local.id, role: local.role });
  }

  // Leaving reports no one else leaving, as in Jitsi: the API drops us alone on video-conference-left.
  if (isIn) {
    const before = remotesOf(prev);
    const after = remotesOf(next);
    for (const [id, p] of after) {
      const old = before.get(id);
      if (!old) events.push({ name: 'participant-joined', ...participantFields(p) });
      else events.push(...participantChanges(old, p));
    }
    for (const id of before.keys()) {
      if (!after.has(id)) events.push({ name: 'participant-left', id });
    }
  }

  if (local && prevLocal && local.id === prevLocal.id) {
    if (wasIn && isIn) events.push(...participantChanges(prevLocal, local));
    events.push(...localChanges(prevLocal, local));
  }

  if (isIn && next.dominantSpeakerId !== undefined && next.dominantSpeakerId !== prev.dominantSpeakerId) {
    events.push({ name: 'dominant-speaker-changed', id: next.dominantSpeakerId });
  }

  if (next.messages !== prev.messages) {
    const seen = new Set(prev.messages.map((m) => m.id));
    for (const m of next.messages) if (!seen.has(m.id)) events.push(messageEvent(m));
  }

  if (wasIn && !isIn) events.push({ name: 'video-conference-left', roomName: prev.room });
  // jitsi-meet's external-api middleware sends it on each PASSWORD_REQUIRED failure, a wrong
  // password's included; the embedder answers with the `password` command.
  if (asksPassword(next) && !asksPassword(prev)) events.push({ name: 'password-required' });
  return events;
}
