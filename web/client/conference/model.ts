/**
 * The conference as the user interface sees it: immutable state snapshots and the actions a user
 * can take. The signalling side (./conference-client.ts) implements `ConferenceController`; the
 * Preact views (../ui/) only read `ConferenceState` and call actions, so neither knows the other's
 * insides. Browser-only, no Node imports.
 */

/** A MUC role as XEP-0045 names it (§5.1). */
export type Role = 'moderator' | 'participant' | 'visitor' | 'none';

/** Connection quality derived from getStats (packet loss, round-trip time, bitrate). */
export type ConnectionQuality = 'good' | 'fair' | 'poor' | 'unknown';

export interface Participant {
  /** The endpoint id: the occupant's nickname in the room (what the bridge and Jingle call it). */
  readonly id: string;
  readonly displayName: string;
  readonly role: Role;
  readonly local: boolean;
  readonly audioMuted: boolean;
  readonly videoMuted: boolean;
  /** Time the hand was raised (ms since epoch), or undefined. */
  readonly raisedHandAt: number | undefined;
  /** Shares a screen or window (a `desktop` video source). */
  readonly screenSharing: boolean;
  readonly connectionQuality: ConnectionQuality;
  /** The service vouches for who this is (an agent signed in or holding a token); guests are not. */
  readonly verified?: boolean;
}

export interface ChatMessage {
  /** Unique within this conference on this client. */
  readonly id: string;
  /** The sender's participant id (endpoint id). */
  readonly from: string;
  /** The sender's display name when the message came. */
  readonly fromName: string;
  /** For a private message: the other party's participant id (recipient when sent by us). */
  readonly privateWith: string | undefined;
  /** Plain text. Never interpreted as HTML. */
  readonly text: string;
  readonly timestamp: number;
  readonly local: boolean;
}

/** One received media stream: a participant's camera, screen or microphone. */
export interface RemoteMedia {
  readonly participantId: string;
  readonly kind: 'audio' | 'camera' | 'screen';
  readonly stream: MediaStream;
}

export type ConferencePhase =
  | { readonly name: 'connecting' }
  /**
   * Only authenticated organisers start a meeting and none is there yet: the client asks again on
   * its own every few seconds and goes on joining when one arrives.
   */
  | { readonly name: 'waiting-for-host'; readonly signIn?: HostSignIn }
  /**
   * The room is members-only (its lobby is on): `knock` asks for our name and whether to ask to
   * join; `waiting` while we wait in the lobby room for a moderator's answer.
   */
  | { readonly name: 'lobby'; readonly step: 'knock' | 'waiting' }
  | { readonly name: 'joined' }
  /** The signalling connection dropped; the client is reconnecting on its own. */
  | { readonly name: 'reconnecting' }
  /** Left by the user, kicked, the conference ended, or a moderator refused us at the lobby. */
  | { readonly name: 'left'; readonly reason: LeaveReason }
  | { readonly name: 'failed'; readonly error: ConferenceErrorKind };

export type LeaveReason = 'hangup' | 'kicked' | 'ended' | 'denied';

/**
 * How an organiser waiting with the guests may sign in to start the meeting: through the
 * deployment's token service (config.js `tokenAuthUrl`, a page that comes back with `#jwt=`), or
 * with a username and password of the service's own accounts.
 */
export type HostSignIn =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'password' };

export type ConferenceErrorKind =
  | 'connection-failed' | 'focus-unavailable' | 'room-full' | 'password-required' | 'not-allowed' | 'media-failed';

export interface LocalMedia {
  readonly audio: MediaStreamTrack | undefined;
  readonly video: MediaStreamTrack | undefined;
  readonly screen: MediaStreamTrack | undefined;
}

export interface ConferenceState {
  readonly room: string;
  readonly phase: ConferencePhase;
  /** Our participant id once joined. */
  readonly localId: string | undefined;
  /** Everyone in the room, us included, in join order. */
  readonly participants: ReadonlyMap<string, Participant>;
  readonly messages: readonly ChatMessage[];
  readonly remoteMedia: readonly RemoteMedia[];
  readonly local: LocalMedia;
  readonly dominantSpeakerId: string | undefined;
  /** A short user-facing notice (someone joined, you were muted, …); the UI announces it politely. */
  readonly notices: readonly Notice[];
  readonly moderation: ModerationState;
}

/** Someone waiting in the lobby for a moderator to let them in. */
export interface Knocker {
  /** Its nick in the lobby room. */
  readonly id: string;
  readonly displayName: string;
}

/** The room's moderation features as this client knows them. */
export interface ModerationState {
  /** The service has a lobby (members-only rooms with a lobby room). */
  readonly lobbySupported: boolean;
  /** The lobby is on: the room is members-only. */
  readonly lobbyEnabled: boolean;
  /** Seen by moderators: people knocking, oldest first. */
  readonly knockers: readonly Knocker[];
  /** The service can end a meeting for everyone (moderators only). */
  readonly canEndForEveryone: boolean;
  /** The service has A/V moderation. */
  readonly avModerationSupported: boolean;
  /** Microphones are moderated: only moderators and approved participants may unmute. */
  readonly audioModerated: boolean;
  /** We may unmute our microphone (always true when not moderated, or as moderator). */
  readonly mayUnmute: boolean;
  /** Seen by moderators while microphones are moderated: who was allowed to speak. */
  readonly allowedToSpeak: readonly string[];
}

export type Notice =
  | { readonly id: number; readonly kind: 'joined' | 'left'; readonly name: string }
  | { readonly id: number; readonly kind: 'muted-by-moderator' }
  | { readonly id: number; readonly kind: 'reconnected' }
  /** For moderators: someone asks to join from the lobby. */
  | { readonly id: number; readonly kind: 'knocking'; readonly name: string }
  | { readonly id: number; readonly kind: 'lobby-on' | 'lobby-off' }
  | { readonly id: number; readonly kind: 'audio-moderation-on' | 'audio-moderation-off' }
  /** A moderator lets us speak, or our unmute was refused (a request to speak was sent instead). */
  | { readonly id: number; readonly kind: 'may-unmute' | 'asked-to-speak' }
  | { readonly id: number; readonly kind: 'everyone-muted' };

export interface DeviceChoice {
  readonly audioInput: string | undefined;
  readonly videoInput: string | undefined;
  readonly audioOutput: string | undefined;
}

/** What the views may ask of the conference. Every action is safe to call in any phase. */
export interface ConferenceController {
  getState(): ConferenceState;
  /** Calls `listener` after each change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  setAudioMuted(muted: boolean): Promise<void>;
  setVideoMuted(muted: boolean): Promise<void>;
  /** Starts (getDisplayMedia) or stops sharing a screen or window. */
  setScreenSharing(on: boolean): Promise<void>;
  switchDevices(choice: Partial<DeviceChoice>): Promise<void>;
  /** A public message, or a private one to a participant id. */
  sendChatMessage(text: string, to?: string): void;
  setRaisedHand(raised: boolean): void;
  setDisplayName(name: string): void;
  /** Moderator actions; refused by the server when we are not a moderator. */
  muteParticipant(id: string): void;
  kickParticipant(id: string): void;
  grantModerator(id: string): void;
  /** Locks the room with a password (empty: unlocks). Moderators only. */
  setRoomPassword(password: string): void;
  /** Mutes every other participant's microphone (one request per person to the focus, as jitsi-meet does). */
  muteEveryone(): void;
  /** Turns the lobby on or off (the room becomes members-only). Moderators only. */
  /** Resolves true once the room took the change (its state follows), false when it was refused or could not be asked. */
  setLobbyEnabled(on: boolean): Promise<boolean>;
  /** Lets a knocker in, or refuses it. Moderators only. */
  admitKnocker(id: string): void;
  denyKnocker(id: string): void;
  /** Turns microphone moderation on (participants then ask to speak) or off. Moderators only. */
  setAudioModeration(on: boolean): void;
  /** Lets a participant unmute while microphones are moderated. Moderators only. */
  allowToSpeak(id: string): void;
  /** Ends the meeting for everyone (the room is destroyed). Moderators only. */
  endForEveryone(): void;
  /**
   * In the lobby's `knock` step: asks the moderators to let us in, with this display name.
   */
  knock(displayName: string): void;
  /**
   * While waiting for the host: signs in with an account of the service and asks again; rejects
   * with `'not-authorized'` for a wrong username or password.
   */
  signIn(username: string, password: string): Promise<void>;
  /** Address and token of the room's shared document (asked of the server each time). */
  openDocument(): Promise<{ readonly url: string; readonly token: string }>;
  leave(): Promise<void>;
}

/** What the pre-join screen hands to the conference. */
export interface JoinOptions {
  readonly room: string;
  /** The tenant the room's page is under (`/<tenant>/<Room>`); undefined for `/<Room>`. */
  readonly tenant: string | undefined;
  readonly displayName: string;
  readonly audioMuted: boolean;
  readonly videoMuted: boolean;
  readonly devices: DeviceChoice;
  /** A JWT from the URL (`?jwt=` or `#jwt=`), passed to the server as Jitsi clients do. */
  readonly jwt: string | undefined;
  /**
   * The room's password, sent in the join presence (XEP-0045 §7.2.6). Given when a locked room
   * refused an earlier join (phase `failed`, `password-required`); the room answers a wrong one
   * the same way. Default: none.
   */
  readonly password?: string;
}
