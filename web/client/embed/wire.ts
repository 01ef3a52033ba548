/**
 * The wire format of Jitsi Meet's iframe API, shared by the page inside the iframe (./endpoint.ts)
 * and the integrator's side (web/external-api/): envelopes, message kinds and the names of
 * events, commands and requests. Pure, browser-safe, no DOM.
 *
 * Facts from jitsi/js-utils `transport/postis.ts`, `transport/PostMessageTransportBackend.ts`,
 * `transport/Transport.ts`, jitsi/jitsi-meet `modules/API/API.js`,
 * `modules/API/external/apiNameMaps.js`, `modules/API/constants.js`, and the external_api.js
 * bundled by jitsi/jitsi-meet-electron (`app/features/conference/external_api.js`):
 *
 * - Each `window.postMessage` carries a JSON *string* (never an object):
 *   `{"postis":true,"scope":"jitsi_meet_external_api_<id>","method":<m>,"params":<p>}`.
 *   `<id>` is the API instance's counter (0 for the first iframe of a page); the iframe reads it
 *   from its URL hash `#jitsi_meet_external_api_id=<id>`.
 * - Readiness (postis): each side sends `method: "__ready__"` with a random id of its own every
 *   50 ms; it echoes any other id it receives, and is ready once its own id comes back. Messages
 *   sent before that are buffered and flushed in order.
 * - Everything else uses `method: "message"`, whose params are a transport message:
 *   `{type:"event", data}`, `{type:"request", id, data}` or `{type:"response", id, result, error}`.
 *   A response resolves the request when `result` is present, rejects it when only `error` is.
 * - Events from the iframe: `data = {name: "video-conference-joined", ...fields}`; the API emits
 *   them under camelCase names (`videoConferenceJoined`) with the fields minus `name`.
 * - Commands to the iframe are events too: `data = {name: "toggle-audio", data: [...args]}`.
 * - Requests to the iframe: `data = {name: "is-audio-muted", ...fields}`; requests from the
 *   iframe to the API (the desktop app's screen picker): `{name: "_request-desktop-sources", options}`.
 */

export const API_ID_PARAM = 'jitsi_meet_external_api_id';
export const READY_METHOD = '__ready__';
export const MESSAGE_METHOD = 'message';
/** postis pings every 50 ms until the other side answers. */
export const READY_PING_MS = 50;
/** A message string longer than this is dropped unread (no legitimate message comes near it). */
export const MAX_MESSAGE_CHARS = 1024 * 1024;

export function scopeFor(apiId: number): string {
  return `jitsi_meet_external_api_${apiId}`;
}

/** A postis envelope after validation. */
export interface Envelope {
  readonly method: string;
  readonly params: unknown;
}

/** The string a postis peer expects as `postMessage` data. */
export function encodeEnvelope(scope: string, method: string, params: unknown): string {
  return JSON.stringify({ postis: true, scope, method, params });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The envelope in `data` if it is a postis message of `scope`, else undefined (not ours: ignored). */
export function parseEnvelope(data: unknown, scope: string): Envelope | undefined {
  if (typeof data !== 'string' || data.length > MAX_MESSAGE_CHARS) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined; // other scripts' messages are often not JSON
  }
  if (!isRecord(parsed) || parsed.postis !== true || parsed.scope !== scope || typeof parsed.method !== 'string') return undefined;
  return { method: parsed.method, params: parsed.params };
}

export type TransportMessage =
  | { readonly type: 'event'; readonly data: unknown }
  | { readonly type: 'request'; readonly id: number; readonly data: unknown }
  | { readonly type: 'response'; readonly id: number; readonly result: unknown; readonly error: unknown };

/** The transport message in a `message` envelope's params, or undefined when malformed. */
export function parseTransportMessage(params: unknown): TransportMessage | undefined {
  if (!isRecord(params)) return undefined;
  switch (params.type) {
    case 'event':
      return { type: 'event', data: params.data };
    case 'request':
      return Number.isSafeInteger(params.id) ? { type: 'request', id: params.id as number, data: params.data } : undefined;
    case 'response':
      return Number.isSafeInteger(params.id)
        ? { type: 'response', id: params.id as number, result: params.result, error: params.error }
        : undefined;
    default:
      return undefined;
  }
}

/** A named payload (`{name, ...fields}`), as events and requests carry; undefined when unnamed. */
export function namedPayload(data: unknown): { readonly name: string; readonly fields: Record<string, unknown> } | undefined {
  if (!isRecord(data) || typeof data.name !== 'string') return undefined;
  const { name, ...fields } = data;
  return { name, fields };
}

/** Wire name → the name `JitsiMeetExternalAPI` emits (apiNameMaps.js `events`). */
export const EVENT_NAMES: Readonly<Record<string, string>> = {
  'avatar-changed': 'avatarChanged',
  'audio-availability-changed': 'audioAvailabilityChanged',
  'audio-mute-status-changed': 'audioMuteStatusChanged',
  'audio-only-changed': 'audioOnlyChanged',
  'breakout-rooms-updated': 'breakoutRoomsUpdated',
  'browser-support': 'browserSupport',
  'camera-error': 'cameraError',
  'chat-updated': 'chatUpdated',
  'content-sharing-participants-changed': 'contentSharingParticipantsChanged',
  'data-channel-closed': 'dataChannelClosed',
  'data-channel-opened': 'dataChannelOpened',
  'device-list-changed': 'deviceListChanged',
  'display-name-change': 'displayNameChange',
  'dominant-speaker-changed': 'dominantSpeakerChanged',
  'email-change': 'emailChange',
  'error-occurred': 'errorOccurred',
  'endpoint-text-message-received': 'endpointTextMessageReceived',
  'feedback-submitted': 'feedbackSubmitted',
  'filmstrip-display-changed': 'filmstripDisplayChanged',
  'incoming-message': 'incomingMessage',
  'knocking-participant': 'knockingParticipant',
  'log': 'log',
  'mic-error': 'micError',
  'moderation-participant-approved': 'moderationParticipantApproved',
  'moderation-participant-rejected': 'moderationParticipantRejected',
  'moderation-status-changed': 'moderationStatusChanged',
  'mouse-enter': 'mouseEnter',
  'mouse-leave': 'mouseLeave',
  'mouse-move': 'mouseMove',
  'notification-triggered': 'notificationTriggered',
  'outgoing-message': 'outgoingMessage',
  'p2p-status-changed': 'p2pStatusChanged',
  'participant-joined': 'participantJoined',
  'participant-kicked-out': 'participantKickedOut',
  'participant-left': 'participantLeft',
  'participant-muted': 'participantMuted',
  'participant-role-changed': 'participantRoleChanged',
  'participants-pane-toggled': 'participantsPaneToggled',
  'password-required': 'passwordRequired',
  'pip-entered': 'pipEntered',
  'pip-left': 'pipLeft',
  'prejoin-screen-loaded': 'prejoinScreenLoaded',
  'raise-hand-updated': 'raiseHandUpdated',
  'ready': 'ready',
  'recording-link-available': 'recordingLinkAvailable',
  'recording-status-changed': 'recordingStatusChanged',
  'video-ready-to-close': 'readyToClose',
  'video-conference-joined': 'videoConferenceJoined',
  'video-conference-left': 'videoConferenceLeft',
  'video-availability-changed': 'videoAvailabilityChanged',
  'video-mute-status-changed': 'videoMuteStatusChanged',
  'video-quality-changed': 'videoQualityChanged',
  'screen-sharing-status-changed': 'screenSharingStatusChanged',
  'subject-change': 'subjectChange',
  'suspend-detected': 'suspendDetected',
  'tile-view-changed': 'tileViewChanged',
  'toolbar-button-clicked': 'toolbarButtonClicked',
};

/** `executeCommand` name → wire name (apiNameMaps.js `commands`). */
export const COMMAND_NAMES: Readonly<Record<string, string>> = {
  answerKnockingParticipant: 'answer-knocking-participant',
  approveVideo: 'approve-video',
  askToUnmute: 'ask-to-unmute',
  avatarUrl: 'avatar-url',
  cancelPrivateChat: 'cancel-private-chat',
  displayName: 'display-name',
  email: 'email',
  endConference: 'end-conference',
  grantModerator: 'grant-moderator',
  hangup: 'video-hangup',
  hideNotification: 'hide-notification',
  initiatePrivateChat: 'initiate-private-chat',
  kickParticipant: 'kick-participant',
  localSubject: 'local-subject',
  muteEveryone: 'mute-everyone',
  overwriteConfig: 'overwrite-config',
  password: 'password',
  pinParticipant: 'pin-participant',
  rejectParticipant: 'reject-participant',
  resizeFilmStrip: 'resize-film-strip',
  resizeLargeVideo: 'resize-large-video',
  sendChatMessage: 'send-chat-message',
  sendEndpointTextMessage: 'send-endpoint-text-message',
  sendTones: 'send-tones',
  setAudioOnly: 'set-audio-only',
  setFollowMe: 'set-follow-me',
  setLargeVideoParticipant: 'set-large-video-participant',
  setNoiseSuppressionEnabled: 'set-noise-suppression-enabled',
  setParticipantVolume: 'set-participant-volume',
  setSubtitles: 'set-subtitles',
  setTileView: 'set-tile-view',
  setVideoQuality: 'set-video-quality',
  showNotification: 'show-notification',
  startRecording: 'start-recording',
  stopRecording: 'stop-recording',
  subject: 'subject',
  toggleAudio: 'toggle-audio',
  toggleCamera: 'toggle-camera',
  toggleCameraMirror: 'toggle-camera-mirror',
  toggleChat: 'toggle-chat',
  toggleFilmStrip: 'toggle-film-strip',
  toggleLobby: 'toggle-lobby',
  toggleModeration: 'toggle-moderation',
  toggleParticipantsPane: 'toggle-participants-pane',
  toggleRaiseHand: 'toggle-raise-hand',
  toggleShareScreen: 'toggle-share-screen',
  toggleSubtitles: 'toggle-subtitles',
  toggleTileView: 'toggle-tile-view',
  toggleVideo: 'toggle-video',
  toggleWhiteboard: 'toggle-whiteboard',
};

/** Requests the iframe answers (API.js `transport.on('request')`); wire names. */
export const REQUEST = {
  isAudioMuted: 'is-audio-muted',
  isVideoMuted: 'is-video-muted',
  isSharingScreen: 'is-sharing-screen',
  isAudioAvailable: 'is-audio-available',
  isVideoAvailable: 'is-video-available',
  roomsInfo: 'rooms-info',
} as const;

/** The request the iframe sends to the API for the desktop app's screen-source picker. */
export const REQUEST_DESKTOP_SOURCES = '_request-desktop-sources';
/** …and the event name the API emits for it (apiNameMaps.js `requests`). */
export const REQUEST_DESKTOP_SOURCES_EVENT = '_requestDesktopSources';

/** The error a request for a name the iframe does not know is rejected with. */
export const UNKNOWN_REQUEST = 'UnknownRequestError';
