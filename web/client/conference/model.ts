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
  | { readonly name: 'waiting-for-host' }
  | { readonly name: 'joined' }
  /** The signalling connection dropped; the client is reconnecting on its own. */
  | { readonly name: 'reconnecting' }
  /** Left by the user, kicked, or the conference ended. */
  | { readonly name: 'left'; readonly reason: 'hangup' | 'kicked' | 'ended' }
  | { readonly name: 'failed'; readonly error: ConferenceErrorKind };

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
}

export type Notice =
  | { readonly id: number; readonly kind: 'joined' | 'left'; readonly name: string }
  | { readonly id: number; readonly kind: 'muted-by-moderator' }
  | { readonly id: number; readonly kind: 'reconnected' };

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
  /** Address and token of the room's shared document (asked of the server each time). */
  openDocument(): Promise<{ readonly url: string; readonly token: string }>;
  leave(): Promise<void>;
}

/** What the pre-join screen hands to the conference. */
export interface JoinOptions {
  readonly room: string;
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
